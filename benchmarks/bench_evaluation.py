"""Evaluation throughput: env-steps/s with a learned policy in the loop vs the bare env.

Both sides run in this one process on the same episodes: the bare side steps the same
vectorised envs with a constant action (simulation cost only), the other side runs a BC
policy (encoder + head), the latent nearest neighbour and latent MPC through
``evaluate.evaluate_policy``. Target: the BC and nearest-neighbour policies keep at least 80%
of the bare rate, i.e. they are not the bottleneck of evaluation; MPC plans with hundreds of
latent rollouts per step and is shown for scale.

    python benchmarks/bench_evaluation.py --task push --episodes 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.data import collect
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.policies import BCConfig, LatentMPC, LatentNN, train_bc
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.methods.actjepa import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="push")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--num-envs", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    spec = get_task(args.task)
    demos = collect(args.task, 10, seed=0, action_noise=0.1)
    o, a, _ = demos.transitions()
    model = build_model(JEPAConfig(obs_dim=spec.obs_dim, action_dim=spec.action_dim))
    policies = {
        "BC head on encoder": train_bc(model.encoder, o, a, demos.stats, spec.layout,
                                       BCConfig(steps=50))[0],
        "latent nearest neighbour": LatentNN(model.encoder, o, a, demos.stats),
        "latent MPC (CEM)": LatentMPC(model, demos.stats, spec.layout),
    }
    steps = args.episodes * spec.max_episode_steps
    zero = np.zeros(spec.action_dim, np.float32)

    def bare(obs: np.ndarray) -> np.ndarray:
        return np.broadcast_to(zero, (len(obs), spec.action_dim))

    sides = {"bare environment": lambda: run_episodes(
        args.task, bare, episode_seeds("evaluation", args.episodes), args.num_envs)}
    for name, policy in policies.items():
        sides[name] = lambda p=policy: evaluate_policy(args.task, p, args.episodes, demos.stats,
                                                      num_envs=args.num_envs)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):  # interleaved rounds: background load hits every side alike
        for name, run in sides.items():
            t = time.perf_counter()
            run()
            rates[name].append(steps / (time.perf_counter() - t))
    print(f"task {args.task}, {args.episodes} episodes x {spec.max_episode_steps} steps, "
          f"{args.num_envs} envs per batch, median of {args.rounds} interleaved rounds")
    bare_rate = float(np.median(rates["bare environment"]))
    for name, r in rates.items():
        rate = float(np.median(r))
        print(f"{name:>28}: {rate:8.0f} env-steps/s  ({rate / bare_rate:.0%} of bare)")


if __name__ == "__main__":
    main()
