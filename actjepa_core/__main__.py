"""Command line: ``python -m actjepa_core {collect,check-experts,reproduce} ...``.

* ``collect``: collect (or load) and store the demonstrations of a task as a Minari dataset.
* ``check-experts``: the scripted experts' success rate on held-out seeds.
* ``reproduce``: run the book's experiments for a profile and write ``results/<name>.csv``;
  finished runs come from the cache, so a second call only reads. ``reproduce --verify N``
  instead recomputes N sampled committed runs per experiment in a scratch cache and reports
  the episodes that differ and whether each run lies inside its committed cell's interval;
  ``reproduce --status`` prints how many runs of each experiment are committed (in its file
  or saved in another), cached and left, and computes nothing; ``reproduce --save-partial``
  writes the runs an unfinished experiment has in the cache to ``results/<profile>/partial/``,
  where a fresh machine's ``reproduce`` resumes.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from .envs import META_WORLD, TASKS
from .executors import EXECUTORS
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


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_value(text: str) -> int:
    """An argparse type: an integer >= 0 (a seed)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def noise_level(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _verify(args: argparse.Namespace) -> None:
    from .verify import sample_specs, verify

    P = get_profile(args.profile)
    with tempfile.TemporaryDirectory(prefix="actjepa-verify-") as tmp:
        for name in args.experiments:
            specs = sample_specs(name, P, args.verify, args.seed, args.keys)
            start = time.perf_counter()
            report = verify(name, P, specs, args.cache or Path(tmp) / name, args.workers)
            print(f"{name}: {len(report)} run(s) recomputed ({time.perf_counter() - start:.0f} s)")
            print(report.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            print(f"{name}: {int(report.inside.sum())} of {len(report)} inside their committed "
                  f"cell's 95% interval; {int(report['differ'].sum())} of "
                  f"{int(report.episodes.sum())} episodes differ")


def _status(args: argparse.Namespace) -> None:
    from .cache import default_cache_dir
    from .results import progress

    P = get_profile(args.profile)
    cache = args.cache or default_cache_dir() / P.name
    table = progress(args.experiments, P, cache, args.out)
    print(f"profile {P.name}, cache {cache}, results {args.out / P.name}")
    print(table.to_string(index=False))
    total = table.iloc[-1]
    print(f"{total.left} of {total.runs} runs left to compute (a run two experiments share "
          f"counts once in 'all')")


def _save_partial(args: argparse.Namespace) -> None:
    from .cache import default_cache_dir
    from .experiments import Runner
    from .results import partial_file, run_keys, save_partial

    P = get_profile(args.profile)
    runner = Runner(args.cache or default_cache_dir() / P.name, progress=False)
    for name in args.experiments:
        saved = save_partial(name, P, runner, args.out)
        print(f"{name}: {saved} of {len(run_keys(name, P))} runs finished and not yet in its "
              f"results file" + (f" -> {partial_file(name, P.name, args.out)}" if saved else ""))


def _reproduce(args: argparse.Namespace) -> None:
    from .cache import default_cache_dir
    from .experiments import Runner
    from .results import compute, drop_partial, results_file, seed_cache, write_results
    from .suites import EXPERIMENTS

    if args.status:
        return _status(args)
    if args.save_partial:
        return _save_partial(args)
    if args.verify or args.keys:
        if args.executor != "pool":
            raise SystemExit("reproduce --verify recomputes on the process pool; drop --executor")
        return _verify(args)
    P = get_profile(args.profile)
    runner = Runner(args.cache or default_cache_dir() / P.name, workers=args.workers,
                    executor=args.executor, address=args.address, gpus_per_run=args.gpus_per_run)
    for name in args.experiments:
        if not EXPERIMENTS[name](P):  # a longer check while no method trains longer, say
            print(f"{name}: today's specs hold no run under profile {P.name}; nothing written")
            continue
        start = time.perf_counter()
        seeded = seed_cache(name, P, runner, args.out)
        if seeded:
            print(f"{name}: {seeded} committed run(s) written into the cache, not recomputed")
        rows = compute(name, runner, P)
        path = write_results(rows, results_file(name, P.name, args.out))
        drop_partial(name, P.name, args.out)
        print(f"{name}: {len(rows)} rows -> {path} ({time.perf_counter() - start:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    from .suites import EXPERIMENTS

    ap = argparse.ArgumentParser(prog="python -m actjepa_core", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="collect and store demonstrations")
    c.add_argument("--tasks", nargs="+", default=list(TASKS), choices=[*TASKS, *META_WORLD])
    c.add_argument("--episodes", type=positive_int, default=100)
    c.add_argument("--seed", type=seed_value, default=0)
    c.add_argument("--action-noise", type=noise_level, default=0.1)
    c.set_defaults(func=_collect)
    e = sub.add_parser("check-experts", help="success rate of the scripted experts")
    e.add_argument("--tasks", nargs="+", default=list(TASKS), choices=[*TASKS, *META_WORLD])
    e.add_argument("--episodes", type=positive_int, default=200)
    e.set_defaults(func=_check_experts)
    r = sub.add_parser("reproduce", help="run the experiments and write results/<profile>/*.csv")
    r.add_argument("--profile", default="full", choices=list(PROFILES))
    r.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    r.add_argument("--workers", type=positive_int, default=2,
                   help="runs side by side: processes, or the CPUs of a local Ray instance")
    r.add_argument("--executor", default="pool", choices=list(EXECUTORS),
                   help="where missing runs are computed: this machine's process pool, or Ray "
                        "(pip install -e \".[cluster]\"; one task per run)")
    r.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="with --executor ray: an existing Ray cluster (default: start a local "
                        "one of --workers CPUs); --cache must then be a folder every node sees")
    r.add_argument("--gpus-per-run", type=noise_level, default=0.0, metavar="G",
                   help="with --executor ray: GPUs each run asks for (default 0: CPU only)")
    r.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    r.add_argument("--cache", type=Path, default=None, help="run cache (default: ~/.cache/actjepa/cache/<profile>, or $ACTJEPA_CACHE/<profile>)")
    r.add_argument("--verify", type=positive_int, default=0, metavar="N",
                   help="recompute N sampled committed runs per experiment in a scratch cache "
                        "(or --cache) and compare them with the committed rows")
    r.add_argument("--keys", nargs="+", default=None, metavar="KEY",
                   help="with --verify: recompute these runs (spec_key) instead of a sample")
    r.add_argument("--seed", type=seed_value, default=0, help="with --verify: the sample's seed")
    r.add_argument("--status", action="store_true",
                   help="print how many runs of each experiment are committed (in its file, or "
                        "saved in another), cached and left; compute nothing")
    r.add_argument("--save-partial", action="store_true",
                   help="write each experiment's runs finished in the cache to "
                        "results/<profile>/partial/<name>.csv (commit it: on a fresh machine "
                        "reproduce resumes from it); compute nothing")
    r.set_defaults(func=_reproduce)
    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
