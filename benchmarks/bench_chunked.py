"""The chunked policies (ACT, Diffusion Policy, ACT-JEPA as the paper trains it): training
steps/s, inference time per action, evaluation env-steps/s against the bare env, and the
CPU-minutes the chunked experiments add to the full profile.

Every side runs in this one process on the same data and episodes. Training: the one loop
(``registry.train_policy``'s ``fit``) for ``--steps`` steps at the profile's batch size.
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
import time

import numpy as np
import torch

from actjepa_core.chunked import ChunkedPolicy
from actjepa_core.data import collect
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.experiments import RunSpec
from actjepa_core.methods import registry
from actjepa_core.profiles import get_profile
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.suites import EXPERIMENTS


def time_training(name: str, demos, steps: int, batch: int, device: str) -> float:
    """Training steps/s of method ``name`` (model build and data excluded)."""
    cfg = registry.make_config(name, demos.task, steps=steps, batch_size=batch, device=device)
    registry.train_policy(registry.make_config(name, demos.task, steps=2, batch_size=batch,
                                               device=device), demos)  # warm-up
    t = time.perf_counter()
    registry.train_policy(cfg, demos)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


def time_inference(policy: ChunkedPolicy, obs: np.ndarray, calls: int = 50) -> float:
    """Milliseconds per action (one call for a batch of envs) over ``calls`` consecutive steps."""
    policy.reset(len(obs))
    t = time.perf_counter()
    for _ in range(calls):
        policy(obs)
    return 1e3 * (time.perf_counter() - t) / calls


def chunked_workload(profile: str) -> dict[str, int]:
    """Trainings per method and evaluation episodes in the chunked experiments (the cache's
    sharing counted: one training per distinct model, one evaluation per distinct run)."""
    P = get_profile(profile)
    specs: dict[str, RunSpec] = {}
    for name in ("paper_main", "paper_data_efficiency", "paper_ablations", "paper_frozen_encoder",
                 "paper_world_model"):
        specs.update({s.key(): s for s in EXPERIMENTS[name](P)})
    chunked = [s for s in specs.values() if s.is_chunked]
    out: dict[str, int] = {}
    for key, method in {s.pretrain_key(): s.method for s in chunked}.items():
        out[method] = out.get(method, 0) + 1
    out["episodes"] = sum(s.eval_episodes * len(s.sigmas) for s in chunked)
    out["bc heads"] = sum(s.protocol == "bc" for s in chunked)
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
    for name in registry.METHODS:
        steps_per_s[name] = time_training(name, demos, args.steps, P.policy_batch, args.device)
        cfg = registry.make_config(name, args.task, steps=2, batch_size=8, device=args.device)
        policy = ChunkedPolicy(registry.train_policy(cfg, demos)[0], demos.stats)
        ms_per_action[name] = time_inference(policy, obs)
        t = time.perf_counter()
        evaluate_policy(args.task, policy, args.episodes, demos.stats, num_envs=args.num_envs)
        rates[name] = env_steps / (time.perf_counter() - t)
    print(f"task {args.task}, device {args.device}, one torch thread, batch {P.policy_batch}")
    for name in registry.METHODS:
        print(f"{registry.METHODS[name].label:>18}: {steps_per_s[name]:6.1f} training steps/s, "
              f"{ms_per_action[name]:6.2f} ms per action ({args.num_envs} envs)")
    bare = rates["bare environment"]
    for name, r in rates.items():
        label = registry.METHODS[name].label if name in registry.METHODS else name
        print(f"{label:>18}: {r:8.0f} env-steps/s ({r / bare:.0%} of bare)")
    work = chunked_workload(args.profile)
    train_min = sum(work.get(m, 0) * P.policy_steps / steps_per_s[m] / 60 for m in registry.METHODS)
    slowest = min(rates[m] for m in registry.METHODS)
    eval_min = work["episodes"] * spec.max_episode_steps / slowest / 60
    print(f"profile {args.profile}: trainings {', '.join(f'{m} {work.get(m, 0)}' for m in registry.METHODS)}; "
          f"{work['episodes']:,} evaluation episodes; {work['bc heads']} BC heads")
    print(f"adds about {train_min:.0f} CPU-min of training and at most {eval_min:.0f} of "
          f"evaluation (at the slowest policy's rate), {train_min + eval_min:.0f} in all")


if __name__ == "__main__":
    main()
