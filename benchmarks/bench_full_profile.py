"""Where the full profile's time goes: simulation, policy inference, pretraining, BC training.

The full profile is a few hundred runs; timing them all again is what ``reproduce`` does. This
script times each *kind* of work once, on one task, exactly as the runner does it (same
configs, steps, episodes and thread settings), counts how often each kind occurs in the four
experiments' specs (duplicates and shared pretrained models counted once, as the cache does),
and prints the CPU time each kind accounts for and its share:

- pretraining, per method (``pretrain``, the profile's steps);
- BC training (``train_bc``, the profile's steps, frozen encoder or raw);
- evaluation, split into the bare simulator (``run_episodes`` with a constant action on the
  same episodes) and the rest (policy inference, noise, bookkeeping). The vector env is made
  once per worker process and task and reused (``rollout.shared_vector_env``), so its ~0.6 s
  set-up is left out.

Run it on an idle machine: ``reproduce`` itself uses every core.

    python benchmarks/bench_full_profile.py --task push
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter

import numpy as np

from actjepa_core.data import demonstrations
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.experiments import RunSpec
from actjepa_core.policies import BCConfig, train_bc
from actjepa_core.methods.registry import pretrain
from actjepa_core.profiles import get_profile
from actjepa_core.rollout import shared_vector_env, run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.suites import EXPERIMENTS


ARTICLE_EXPERIMENTS = ("main", "noisy_demos", "ablations", "data_efficiency")


def workload(profile: str) -> tuple[Counter, int, int]:
    """Pretrainings per method, BC heads, and evaluation episodes in the profile's four
    experiments of the article's reading (the chunked ones: ``bench_chunked.py``)."""
    P = get_profile(profile)
    specs: dict[str, RunSpec] = {}
    for name in ARTICLE_EXPERIMENTS:
        specs.update({s.key(): s for s in EXPERIMENTS[name](P)})
    pretrains = Counter({s.pretrain_key(): s.method for s in specs.values()
                         if s.method != "raw"}.values())
    bc = sum(s.protocol == "bc" for s in specs.values())
    episodes = sum(s.eval_episodes * len(s.sigmas) for s in specs.values())
    return pretrains, bc, episodes


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="push")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--workers", type=int, default=2, help="processes reproduce runs side by side")
    args = ap.parse_args()
    P = get_profile(args.profile)
    spec = get_task(args.task)
    pretrains, n_bc, n_episodes = workload(args.profile)
    d = demonstrations(args.task, P.n_demos, seed=0, action_noise=P.demo_action_noise)
    o, a, o_next = d.transitions()
    probe = RunSpec(task=args.task, method="actjepa", seed=0, pretrain_steps=P.pretrain_steps,
                    bc_steps=P.bc_steps, eval_episodes=P.eval_episodes, n_demos=P.n_demos,
                    demo_action_noise=P.demo_action_noise)

    seconds: dict[str, float] = {}
    model = None
    pretrain(dataclasses.replace(probe, pretrain_steps=5).method_config(), o, a, o_next)  # warm-up
    for method, count in pretrains.items():
        cfg = dataclasses.replace(probe, method=method).method_config()
        (m, _), t = timed(pretrain, cfg, o, a, o_next)
        model = m if method == "actjepa" else model
        seconds[f"pretraining: {method}"] = t * count
        print(f"pretrain {method:>12}: {t:6.1f} s x {count}")
    (policy, _), t_bc = timed(train_bc, model.encoder, o, a, d.stats, spec.layout,
                              BCConfig(steps=P.bc_steps))
    seconds["BC training"] = t_bc * n_bc
    print(f"train_bc            : {t_bc:6.1f} s x {n_bc}")

    n = P.eval_episodes
    shared_vector_env(args.task, 25)  # made once per worker process and task, then reused
    _, t_eval = timed(evaluate_policy, args.task, policy, n, d.stats, sigma=0.1)
    zero = np.zeros((1, spec.action_dim), np.float32)
    _, t_bare = timed(run_episodes, args.task, lambda obs: np.repeat(zero, len(obs), 0),
                      episode_seeds("evaluation", n), num_envs=25)
    per_episode_bare, per_episode_rest = t_bare / n, max(0.0, t_eval - t_bare) / n
    seconds["evaluation: simulator"] = per_episode_bare * n_episodes
    seconds["evaluation: policy, noise, bookkeeping"] = per_episode_rest * n_episodes
    print(f"evaluate {n} episodes: {t_eval:6.1f} s (bare simulator {t_bare:.1f} s) x "
          f"{n_episodes / n:.0f} batches ({n_episodes:,} episodes, "
          f"{n_episodes * spec.max_episode_steps:,} env steps)")

    total = sum(seconds.values())
    print(f"\nprofile {P.name}, timed on {args.task} (every task counted at its rate):")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<45} {s / 60:7.1f} CPU-min  {s / total:6.1%}")
    sim = seconds["evaluation: simulator"]
    train = total - sim - seconds["evaluation: policy, noise, bookkeeping"]
    print(f"  {'total':<45} {total / 60:7.1f} CPU-min")
    print(f"simulation {sim / total:.0%}, training {train / total:.0%}; with {args.workers} "
          f"workers the wall time is at least {total / 60 / args.workers:.0f} min")


if __name__ == "__main__":
    main()
