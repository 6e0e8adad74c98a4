"""Check and time the scripted experts: success rate with a 95% Wilson interval.

Runs each task's expert on the seeds reserved for checking experts
(``episode_seeds("expert_check", episodes)``) through the same ``run_episodes`` loop that
collects demonstrations, and prints one table row per task. Wall time is measured with
``time.perf_counter`` around ``run_episodes`` (env creation included).

    python benchmarks/bench_experts.py --episodes 200 --tasks reach push pick_place
"""

from __future__ import annotations

import argparse
import time

from actjepa_core.envs import TASKS, get_task
from actjepa_core.experts import make_expert
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.stats import wilson_interval


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


def bench_task(task: str, episodes: int, num_envs: int) -> dict[str, float | int | str]:
    """Run the expert of ``task`` on the expert-check seeds and return one table row."""
    seeds = episode_seeds("expert_check", episodes)
    start = time.perf_counter()
    rollouts = run_episodes(task, make_expert(task), seeds, num_envs=num_envs)
    wall = time.perf_counter() - start
    wins = int(rollouts.success.sum())
    low, high = wilson_interval(wins, episodes)
    return {
        "task": task,
        "episodes": episodes,
        "success": wins / episodes,
        "ci_low": low,
        "ci_high": high,
        "eps_per_s": episodes / wall,
        "steps_per_s": episodes * get_task(task).max_episode_steps / wall,
        "failed_seeds": " ".join(str(s) for s in rollouts.seeds[~rollouts.success]),
    }


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
    rows = [bench_task(task, args.episodes, args.num_envs) for task in args.tasks]
    print(format_table(rows))
    for r in rows:
        if r["failed_seeds"]:
            print(f"{r['task']}: failed seeds {r['failed_seeds']}")


if __name__ == "__main__":
    main()
