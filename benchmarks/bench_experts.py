"""Check and time the scripted experts: success rate with a 95% Wilson interval.

Runs ``experts.check_expert`` for each task (the seeds reserved for checking experts,
through the same ``run_episodes`` loop that collects demonstrations) and prints one table
row per task. Wall time is measured with ``time.perf_counter`` (env creation included).

    python benchmarks/bench_experts.py --episodes 200 --tasks reach push pick_place
"""

from __future__ import annotations

import argparse

from actjepa_core.envs import TASKS
from actjepa_core.experts import check_expert


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options: number of episodes, tasks and vector-env width."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200, help="episodes per task")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=sorted(TASKS),
                        help="short task names")
    parser.add_argument("--num-envs", type=int, default=16, help="envs stepped in lock-step")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be at least 1, got {args.episodes}")
    return args


def format_table(rows: list[dict[str, float | int | str]]) -> str:
    """Fixed-width text table of the benchmark rows."""
    header = f"{'task':<11} {'episodes':>8} {'success':>8} {'95% Wilson CI':>16} {'episodes/s':>11} {'env-steps/s':>12}"
    lines = [header, "-" * len(header)]
    for r in rows:
        ci = f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        lines.append(f"{r['task']:<11} {r['episodes']:>8d} {r['success']:>8.1%} {ci:>16} "
                     f"{r['eps_per_s']:>11.1f} {r['steps_per_s']:>12.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rows = [check_expert(task, args.episodes, args.num_envs) for task in args.tasks]
    print(format_table(rows))
    for r in rows:
        if r["failed_seeds"]:
            print(f"{r['task']}: failed seeds {r['failed_seeds']}")


if __name__ == "__main__":
    main()
