"""How fast are pixel observations? Prints figures; not a test.

(a) the bare rate of one env stepping and rendering each step through a plain
    ``mujoco.Renderer`` on the env's own data: the most a pixel loop can do here;
(b) the frames per second of the pixel evaluation loop (``rollout.run_episodes`` on a
    pixel task, a trivial numpy policy) and its ratio to (a) (target: at least 80%); (a) and
    (b) alternate ``--repeats`` times and the medians are printed;
(c) the bare step rate without rendering, to show what rendering costs;
(d) the seconds to render the pixel demonstrations of one task by replay, the bytes they
    take in memory (float32) and on disk (Minari, raw uint8);
(e) training steps per second of every pixel model of the suite at the profile's batch (the
    CNN's pretraining under each objective; raw pixel BC, CNN and head end to end), one
    torch thread as in the runner;
(f) the CPU-hours of the profile's pixel suite projected from (a)-(e), split into rendering,
    simulation and training, and the wall-clock hours with two workers.

    MUJOCO_GL=egl python benchmarks/bench_pixels.py --size 64 --episodes 20 --demos 100

Numbers depend on the OpenGL renderer (software llvmpipe on a CPU-only machine, the GPU
with EGL on one) and on what else runs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from actjepa_core import data, pixels, rollout
from actjepa_core.envs import get_task, make_env, pixel_task, state_spec
from actjepa_core.policies import BCConfig, train_bc
from actjepa_core.methods import registry
from actjepa_core.methods.registry import pretrain
from actjepa_core.profiles import get_profile
from actjepa_core.seeds import episode_seeds
from actjepa_core.suites import BASELINES, pixel_specs


def bare_rate(task: str, size: int, steps: int, render: bool) -> float:
    """Steps per second of one env, rendering each step when asked."""
    import mujoco

    env = make_env(task)
    env.reset(seed=0)
    u = env.unwrapped
    u.model.vis.quality.offsamples = pixels.OFFSCREEN_SAMPLES  # as FrameRenderer draws
    renderer = mujoco.Renderer(u.model, size, size) if render else None
    camera = pixels._free_camera(pixels.CAMERA)
    action = np.zeros(4, np.float32)
    try:
        for _ in range(5 if renderer is not None else 0):  # the first frames compile shaders
            renderer.update_scene(u.data, camera=camera)
            renderer.render()
        start = time.perf_counter()
        for t in range(steps):
            if t % 50 == 49:
                env.reset(seed=t)
            env.step(action)
            if renderer is not None:
                renderer.update_scene(u.data, camera=camera)
                renderer.render()
        return steps / (time.perf_counter() - start)
    finally:
        if renderer is not None:
            renderer.close()
        env.close()


def loop_rate(task: str, episodes: int, num_envs: int) -> tuple[float, float]:
    """Frames per second of run_episodes on a pixel task, warm (pool and renderer made),
    and the seconds the first call took to make them."""
    policy = lambda obs: np.zeros((len(obs), 4), np.float32)  # noqa: E731
    start = time.perf_counter()
    rollout.run_episodes(task, policy, episode_seeds("evaluation", num_envs), num_envs)
    first = time.perf_counter() - start
    start = time.perf_counter()
    rollout.run_episodes(task, policy, episode_seeds("evaluation", episodes), num_envs)
    return episodes * 50 / (time.perf_counter() - start), first


def paired_rates(task: str, size: int, args: argparse.Namespace) -> dict[str, float]:
    """(a) and (b), measured in ``args.repeats`` alternating pairs: on a shared host the
    speed drifts by up to 2x within minutes, so a single (a) then (b) can show almost any
    ratio. The medians of (a), of (b) and of the pairs' ratios, and the seconds of the first
    call (the env pool and renderer are made once per process)."""
    bare, loop, made = [], [], []
    for _ in range(args.repeats):
        bare.append(bare_rate(task, size, args.steps, render=True))
        rate, seconds = loop_rate(pixel_task(task, size), args.episodes, args.num_envs)
        loop.append(rate)
        made.append(seconds)
    return {"bare": float(np.median(bare)), "loop": float(np.median(loop)),
            "ratio": float(np.median(np.divide(loop, bare))), "first": made[0],
            "spread": max(bare) / min(bare)}


def demo_cost(task: str, n: int) -> dict[str, float]:
    """Seconds to render ``n`` demonstrations by replay; their size in memory and on disk."""
    states = data.collect(state_spec(task).name, n, seed=0, action_noise=0.1, progress=True)
    start = time.perf_counter()
    demos = data.render_demonstrations(task, states, progress=True)
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as root:
        folder = data.save_minari(demos, data.dataset_id(task, 0, 0.1), Path(root))
        disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {"seconds": seconds, "frames": demos.obs.shape[0] * demos.obs.shape[1],
            "memory_mb": demos.obs.nbytes / 1e6, "disk_mb": disk / 1e6}


def train_rates(size: int, batch: int, steps: int) -> dict[str, float]:
    """Optimiser steps per second of each method of the pixel suite on random frames of
    ``size`` (the cost of a step does not depend on what the pixels show)."""
    task = get_task(pixel_task("push", size))
    rng = np.random.default_rng(0)
    n = max(4 * batch, 512)
    o, o2 = (rng.standard_normal((n, task.obs_dim)).astype(np.float32) for _ in range(2))
    a = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
    rates = {}
    for method in BASELINES:
        start = time.perf_counter()
        if method == "raw":  # the CNN and the head, end to end
            stats = data.NormStats(np.zeros(task.obs_dim, np.float32), np.ones(task.obs_dim, np.float32))
            train_bc(None, o, a, stats, task.layout, BCConfig(steps=steps, batch_size=batch, device="cpu"))
        else:
            cfg = registry.make_config(method, task, steps=steps, batch_size=batch,
                                       monitor_every=0, device="cpu")
            pretrain(cfg, o, a, o2)
        rates[method] = steps / (time.perf_counter() - start)
    return rates


def suite_hours(profile: str, render_fps: float, step_rate: float, demo_fps: float,
                rates: dict[str, float]) -> dict[str, float]:
    """CPU-hours of the pixel suite of ``profile``: rendering (evaluation frames and the
    demonstrations' replay), simulation (the evaluation steps) and training (pretraining or
    raw BC; the frozen BC heads train on features computed once and are left out)."""
    P = get_profile(profile)
    specs = pixel_specs(P)
    frames = sum(s.eval_episodes * 50 * len(s.sigmas) for s in specs)
    demo_frames = 3 * P.n_demos * 51
    training = sum((P.bc_steps if s.method == "raw" else P.pretrain_steps) / rates[s.method]
                   for s in specs)
    hours = {"rendering": (frames / render_fps + demo_frames / demo_fps) / 3600,
             "simulation": frames / step_rate / 3600, "training": training / 3600}
    hours["total"] = sum(hours.values())
    hours["wall, 2 workers"] = hours["total"] / 2
    return hours


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=64, help="frame side in pixels")
    p.add_argument("--episodes", type=int, default=20, help="episodes of the evaluation loop (b)")
    p.add_argument("--num-envs", type=int, default=10, help="vector env size of (b)")
    p.add_argument("--demos", type=int, default=100, help="demonstrations rendered in (d)")
    p.add_argument("--steps", type=int, default=300, help="steps of the bare loops (a), (c)")
    p.add_argument("--repeats", type=int, default=3, help="alternating (a)/(b) pairs; medians")
    p.add_argument("--task", default="reach", help="state task of (a)-(c)")
    p.add_argument("--demo-task", default="push", help="state task of (d)")
    p.add_argument("--train-steps", type=int, default=20, help="optimiser steps timed in (e)")
    p.add_argument("--profile", default="full", help="profile whose pixel suite (e)-(f) costs")
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1, got {args.repeats}")
    P = get_profile(args.profile)
    print(f"MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}  load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs  frames {args.size}x{args.size}")
    stepped = bare_rate(args.task, args.size, args.steps, render=False)
    paired = paired_rates(args.task, args.size, args)
    bare = paired["bare"]
    demo = demo_cost(pixel_task(args.demo_task, args.size), args.demos)
    if args.size != P.pixel_size:
        print(f"note: (e)-(f) use the profile's {P.pixel_size}x{P.pixel_size} frames")
    rows = [
        (f"(a) bare step + render, 1 env, median of {args.repeats}",
         f"{bare:8.1f} frames/s  (max/min {paired['spread']:.2f})"),
        (f"(b) run_episodes {args.task} pixels, {args.episodes} ep x {args.num_envs} envs",
         f"{paired['loop']:8.1f} frames/s"),
        ("    (b) / (a), median over the pairs", f"{paired['ratio']:8.1%}  (target >= 80%)"),
        ("    first call (env pool + renderer)", f"{paired['first']:8.1f} s"),
        ("(c) bare step, no render, 1 env", f"{stepped:8.1f} steps/s"),
        (f"(d) render {args.demos} {args.demo_task} demos by replay",
         f"{demo['seconds']:8.1f} s  ({demo['frames'] / demo['seconds']:.0f} frames/s)"),
        ("    in memory (float32) / on disk (Minari)",
         f"{demo['memory_mb']:8.1f} MB / {demo['disk_mb']:.1f} MB"),
    ]
    rates = train_rates(P.pixel_size, P.pixel_batch, args.train_steps)
    rows += [(f"(e) train {BASELINES[m]}, batch {P.pixel_batch}", f"{r:8.2f} steps/s")
             for m, r in rates.items()]
    render_fps = 1 / max(1 / bare - 1 / stepped, 1e-9)  # the render part of (a)
    hours = suite_hours(args.profile, render_fps, stepped, demo["frames"] / demo["seconds"], rates)
    rows += [(f"(f) {args.profile} pixel suite, {k}", f"{v:8.2f} h") for k, v in hours.items()]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
