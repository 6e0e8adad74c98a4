"""The chunked policies (ACT, Diffusion Policy, ACT-JEPA as the paper trains it): training
steps/s, inference time per action, evaluation env-steps/s against the bare env, the cost
of saving an unfinished run every ``experiments.RESUME_EVERY`` steps, and the CPU-minutes the
chunked experiments add to the full profile.

Every side runs in this one process on the same data and episodes. Training: the one loop
(``registry.train``'s ``fit``) for ``--steps`` steps at the profile's batch size.
Inference: ``ChunkedPolicy`` on a batch of ``--num-envs`` observations, one call per env step
(ACT and ACT-JEPA query every step and ensemble; Diffusion Policy samples every
``action_steps``). Evaluation: ``evaluate_policy`` against ``run_episodes`` with a constant
action on the same episodes. Targets: ACT and ACT-JEPA keep >= 80% of the bare rate,
Diffusion Policy >= 50%.

    python benchmarks/bench_chunked.py --task push
    python benchmarks/bench_chunked.py --task push --device cuda   # on a GPU machine
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from actjepa_core.chunked import ChunkedPolicy
from actjepa_core.data import collect
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.experiments import RESUME_EVERY
from actjepa_core.methods import registry
from actjepa_core.profiles import get_profile
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.suites import EXPERIMENTS
from actjepa_core.training import loop_state, make_optimizer


def time_training(name: str, demos, steps: int, batch: int, device: str) -> float:
    """Training steps/s of method ``name`` (model build and data excluded)."""
    cfg = registry.make_config(name, demos.task, steps=steps, batch_size=batch, device=device)
    registry.train(registry.make_config(name, demos.task, steps=2, batch_size=batch,
                                        device=device), demos)  # warm-up
    t = time.perf_counter()
    registry.train(cfg, demos)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


def time_save(name: str, task: str, folder: Path, saves: int = 5) -> tuple[float, float]:
    """Milliseconds per save of an unfinished run of ``name`` at full size (weights, Adam's
    moments, scheduler, sampler: what ``registry.train`` writes every ``RESUME_EVERY`` steps
    under the runner), and the file's size in MB."""
    cfg = registry.make_config(name, task)
    model = registry.build(cfg)
    opt, sched = make_optimizer(model.trainable_parameters(), cfg)
    for p in model.trainable_parameters():  # one step, so the moments exist
        p.grad = torch.zeros_like(p)
    opt.step()
    path, loop = folder / f"{name}.unfinished.pt", loop_state(1, opt, sched, torch.Generator())
    t = time.perf_counter()
    for _ in range(saves):
        registry.save(path, model, {"step": list(range(cfg.steps))}, loop)
    return 1e3 * (time.perf_counter() - t) / saves, path.stat().st_size / 1e6


def time_inference(policy: ChunkedPolicy, obs: np.ndarray, calls: int = 50) -> float:
    """Milliseconds per action (one call for a batch of envs) over ``calls`` consecutive steps."""
    policy.reset(len(obs))
    t = time.perf_counter()
    for _ in range(calls):
        policy(obs)
    return 1e3 * (time.perf_counter() - t) / calls


POLICIES = registry.names("policy")
"""The chunked methods (the registry's policy kind): the ones this benchmark times."""
CHUNKED_EXPERIMENTS = tuple(n for n in EXPERIMENTS if n.startswith("paper_"))
"""Every experiment of chapters 11-12 and the audit's paper rows: the comparison, its
learning curves, the search, the gate's convergence runs and the diagnosis."""


def chunked_workload(profile: str, names: tuple[str, ...] = CHUNKED_EXPERIMENTS
                     ) -> dict[str, dict[str, int]]:
    """Per experiment: trainings and optimiser steps per method, evaluation episodes, the env
    steps they take at most (each task's step limit: 50 on Fetch, 200 on Meta-World) and BC
    heads, counting the cache's sharing (one training per distinct model, one evaluation per
    distinct run, each counted in the first experiment that needs it)."""
    P = get_profile(profile)
    seen_models: set[str] = set()
    seen_runs: set[str] = set()
    out: dict[str, dict[str, int]] = {}
    for name in names:
        work: dict[str, int] = {"episodes": 0, "env steps": 0, "bc heads": 0}
        for s in EXPERIMENTS[name](P):
            if not s.is_chunked or s.key() in seen_runs:
                continue
            seen_runs.add(s.key())
            work["episodes"] += s.eval_episodes * len(s.sigmas)
            work["env steps"] += (s.eval_episodes * len(s.sigmas)
                                  * get_task(s.task).max_episode_steps)
            work["bc heads"] += s.protocol == "bc"
            if s.pretrain_key() not in seen_models:
                seen_models.add(s.pretrain_key())
                work[s.method] = work.get(s.method, 0) + 1
                work[f"{s.method} steps"] = work.get(f"{s.method} steps", 0) + s.method_config().steps
        out[name] = work
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="push")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--steps", type=int, default=30, help="training steps timed per method")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--num-envs", type=int, default=25)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    P, spec = get_profile(args.profile), get_task(args.task)
    demos = collect(args.task, 10, seed=0, action_noise=0.1)
    steps_per_s, ms_per_action, rates = {}, {}, {}
    zero = np.zeros(spec.action_dim, np.float32)
    def bare() -> None:
        run_episodes(args.task, lambda o: np.broadcast_to(zero, (len(o), spec.action_dim)),
                     episode_seeds("evaluation", args.episodes), args.num_envs)

    bare()  # makes the shared vector env, which every later side reuses: not timed
    t = time.perf_counter()
    bare()
    env_steps = args.episodes * spec.max_episode_steps
    rates["bare environment"] = env_steps / (time.perf_counter() - t)
    obs = demos.obs[:, 0].repeat(int(np.ceil(args.num_envs / demos.n_episodes)), 0)[:args.num_envs]
    for name in POLICIES:
        steps_per_s[name] = time_training(name, demos, args.steps, P.policy_batch, args.device)
        cfg = registry.make_config(name, args.task, steps=2, batch_size=8, device=args.device)
        policy = ChunkedPolicy(registry.train(cfg, demos)[0], demos.stats)
        ms_per_action[name] = time_inference(policy, obs)
        t = time.perf_counter()
        evaluate_policy(args.task, policy, args.episodes, demos.stats, num_envs=args.num_envs)
        rates[name] = env_steps / (time.perf_counter() - t)
    print(f"task {args.task}, device {args.device}, one torch thread, batch {P.policy_batch}")
    w = max(len(registry.row_label(m)) for m in POLICIES)
    with tempfile.TemporaryDirectory() as tmp:
        saves = {name: time_save(name, args.task, Path(tmp)) for name in POLICIES}
    for name in POLICIES:
        ms, mb = saves[name]
        print(f"{registry.row_label(name):>{w}}: {steps_per_s[name]:6.1f} training steps/s, "
              f"{ms_per_action[name]:6.2f} ms per action ({args.num_envs} envs), "
              f"{ms:.0f} ms per save of the unfinished run ({mb:.1f} MB; every {RESUME_EVERY} "
              f"steps: {ms / 1e3 / (RESUME_EVERY / steps_per_s[name]):.2%} of training)")
    bare = rates["bare environment"]
    for name, r in rates.items():
        label = registry.row_label(name) if name in POLICIES else name
        print(f"{label:>{w}}: {r:8.0f} env-steps/s ({r / bare:.0%} of bare)")
    slowest = min(rates[m] for m in POLICIES)
    print(f"profile {args.profile}, CPU-minutes per experiment (training at the rates above; "
          f"evaluation at the slowest policy's rate on {args.task}, every episode to its "
          f"task's step limit, an upper bound); runs shared with an "
          f"earlier experiment are counted there:")
    total = 0.0
    for name, work in chunked_workload(args.profile).items():
        train_min = sum(work.get(f"{m} steps", 0) / steps_per_s[m] / 60 for m in POLICIES)
        eval_min = work["env steps"] / slowest / 60
        total += train_min + eval_min
        trainings = ", ".join(f"{m} {work[m]}" for m in POLICIES if work.get(m))
        print(f"{name:>30}: {train_min + eval_min:6.0f} ({train_min:.0f} training, "
              f"{eval_min:.0f} evaluation; trainings {trainings or 'none new'})")
    print(f"{'all':>30}: {total:6.0f} CPU-min, about {total / 60 / 2:.1f} h of wall time with "
          f"2 workers")


if __name__ == "__main__":
    main()
