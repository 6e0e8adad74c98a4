"""Command line: ``python -m actjepa_core {collect,check-experts,reproduce} ...``.

* ``collect``: collect (or load) and store the demonstrations of a task as a Minari dataset.
* ``check-experts``: the scripted experts' success rate on held-out seeds.
* ``reproduce``: run the book's experiments for a profile and write ``results/<name>.csv``;
  finished runs come from the cache, so a second call only reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .envs import TASKS
from .profiles import PROFILES, get_profile


def _collect(args: argparse.Namespace) -> None:
    from .data import data_root, dataset_id, demonstrations

    for task in args.tasks:
        start = time.perf_counter()
        d = demonstrations(task, args.episodes, seed=args.seed, action_noise=args.action_noise)
        ds = dataset_id(task, args.seed, args.action_noise)
        print(f"{task}: {d.n_episodes} episodes in {data_root() / ds} "
              f"({time.perf_counter() - start:.1f} s)")


def _check_experts(args: argparse.Namespace) -> None:
    from .experts import check_expert

    for task in args.tasks:
        r = check_expert(task, args.episodes)
        print(f"{task}: {r['success']:.1%} of {r['episodes']} episodes "
              f"(95% CI [{r['ci_low']:.1%}, {r['ci_high']:.1%}]), {r['eps_per_s']:.1f} episodes/s")


def _reproduce(args: argparse.Namespace) -> None:
    from .experiments import Runner, compute, default_cache_dir, write_results

    P = get_profile(args.profile)
    runner = Runner(args.cache or default_cache_dir() / P.name, workers=args.workers)
    for name in args.experiments:
        start = time.perf_counter()
        rows = compute(name, runner, P)
        path = write_results(rows, args.out / P.name / f"{name}.csv")
        print(f"{name}: {len(rows)} rows -> {path} ({time.perf_counter() - start:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    from .suites import EXPERIMENTS

    ap = argparse.ArgumentParser(prog="python -m actjepa_core", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="collect and store demonstrations")
    c.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    c.add_argument("--episodes", type=int, default=100)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--action-noise", type=float, default=0.1)
    c.set_defaults(func=_collect)
    e = sub.add_parser("check-experts", help="success rate of the scripted experts")
    e.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    e.add_argument("--episodes", type=int, default=200)
    e.set_defaults(func=_check_experts)
    r = sub.add_parser("reproduce", help="run the experiments and write results/<profile>/*.csv")
    r.add_argument("--profile", default="full", choices=list(PROFILES))
    r.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    r.add_argument("--workers", type=int, default=2, help="processes side by side")
    r.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    r.add_argument("--cache", type=Path, default=None, help="run cache (default: ~/.cache/actjepa/cache/<profile>, or $ACTJEPA_CACHE/<profile>)")
    r.set_defaults(func=_reproduce)
    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
