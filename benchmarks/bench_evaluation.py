"""Evaluation throughput: env-steps/s with a learned policy in the loop vs the bare env.

Both sides run in this one process on the same episodes: the bare side steps the same
vectorised envs with a constant action (simulation cost only), the other side runs a BC
policy (encoder + head) through ``evaluate.evaluate_policy``. Target: the policy side keeps
at least 80% of the bare rate, i.e. the policy is not the bottleneck of evaluation.

    python benchmarks/bench_evaluation.py --task push --episodes 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from actjepa_core.config import JEPAConfig
from actjepa_core.data import collect
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.policies import BCConfig, LatentNN, train_bc
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.train import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="push")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--num-envs", type=int, default=25)
    args = ap.parse_args()
    spec = get_task(args.task)
    demos = collect(args.task, 10, seed=0, action_noise=0.1)
    o, a, _ = demos.transitions()
    model = build_model(JEPAConfig(obs_dim=spec.obs_dim, action_dim=spec.action_dim))
    policies = {
        "BC head on encoder": train_bc(model.encoder, o, a, demos.stats, spec.layout,
                                       BCConfig(steps=50))[0],
        "latent nearest neighbour": LatentNN(model.encoder, o, a, demos.stats),
    }
    steps = args.episodes * spec.max_episode_steps
    zero = np.zeros(spec.action_dim, np.float32)

    def bare(obs: np.ndarray) -> np.ndarray:
        return np.broadcast_to(zero, (len(obs), spec.action_dim))

    t = time.perf_counter()
    run_episodes(args.task, bare, episode_seeds("evaluation", args.episodes), args.num_envs)
    bare_rate = steps / (time.perf_counter() - t)
    print(f"task {args.task}, {args.episodes} episodes x {spec.max_episode_steps} steps, "
          f"{args.num_envs} envs per batch")
    print(f"{'bare environment':>28}: {bare_rate:8.0f} env-steps/s")
    for name, policy in policies.items():
        t = time.perf_counter()
        evaluate_policy(args.task, policy, args.episodes, demos.stats, num_envs=args.num_envs)
        rate = steps / (time.perf_counter() - t)
        print(f"{name:>28}: {rate:8.0f} env-steps/s  ({rate / bare_rate:.0%} of bare)")


if __name__ == "__main__":
    main()
