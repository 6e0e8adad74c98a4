"""The process pool against local Ray: wall time and parallel efficiency on the same runs.

Both executors compute one fixed subset of a profile's main-table runs (seed 0, in the
suite's order), each from its own empty scratch cache, in one invocation; the demonstrations
are collected once before either is timed. Printed per executor:

- wall: from the first submission to the last result, executor start included (the pool
  spawns its workers on first use; Ray's start is also shown on its own: ``ray.init``);
- worker CPU: CPU seconds of the processes that computed the runs (pool workers, Ray's
  ``ray::`` workers), read from /proc every 0.2 s;
- other CPU: this process plus the executor's own daemons (Ray's raylet, GCS, ...);
- efficiency: worker CPU / (wall x workers), 1.0 when every worker computed all the time.

The results of both are compared row for row. The machine's load average is printed before
and after: the figures only mean something next to it.

    python benchmarks/bench_executors.py --profile quick --runs 6 --workers 2 [--order ray pool]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from actjepa_core.experiments import Runner, RunSpec
from actjepa_core.profiles import get_profile
from actjepa_core.suites import EXPERIMENTS

TICK = os.sysconf("SC_CLK_TCK")


def subset(profile: str, runs: int) -> list[RunSpec]:
    """The first ``runs`` main-table runs of seed 0: the fixed workload of both executors."""
    return [s for s in EXPERIMENTS["main"](get_profile(profile)) if s.seed == 0][:runs]


def process_table() -> dict[int, tuple[int, float, str]]:
    """Every live process: pid -> (parent pid, CPU seconds used, command line)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, cmd)
    return table


class CpuSampler(threading.Thread):
    """Keeps the last CPU reading of every descendant of this process, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (CPU seconds, command line)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            table = process_table()
            family, new = {os.getpid()}, {os.getpid()}
            while new:  # children, grandchildren (Ray's workers are the raylet's), ...
                new = {p for p, (ppid, _, _) in table.items() if ppid in new}
                family |= new
            for pid in family - {os.getpid()}:
                _, cpu, cmd = table[pid]
                # a zombie's command line reads empty: keep the last one it had
                self.seen[pid] = (cpu, cmd or self.seen.get(pid, (0.0, ""))[1])

    def split(self) -> tuple[float, float]:
        """(worker CPU, other descendants' CPU) in seconds."""
        worker = sum(cpu for cpu, cmd in self.seen.values() if is_worker(cmd))
        return worker, sum(cpu for cpu, _ in self.seen.values()) - worker


def is_worker(cmd: str) -> bool:
    """A process that computes runs: a spawned pool worker or a Ray worker (``ray::...``)."""
    return "multiprocessing.spawn" in cmd or cmd.startswith("ray::")


def timed_run(executor: str, specs: list[RunSpec], workers: int, cache: Path) -> dict:
    """Compute ``specs`` with ``executor`` into the empty ``cache``; its figures and rows."""
    start_s = 0.0
    if executor == "ray":  # started here, timed on its own; the runner uses this instance
        import ray

        t = time.perf_counter()
        ray.init(address="local", num_cpus=workers, include_dashboard=False)
        start_s = time.perf_counter() - t
    sampler = CpuSampler()
    sampler.start()
    own = time.process_time()
    t = time.perf_counter()
    rows = Runner(cache, progress=False, workers=workers, executor=executor).run(specs)
    runs_s = time.perf_counter() - t
    own = time.process_time() - own
    sampler.stop.set()
    sampler.join()
    worker_cpu, daemons_cpu = sampler.split()
    if executor == "ray":
        import ray

        ray.shutdown()
    wall = start_s + runs_s
    return dict(executor=executor, wall_s=wall, start_s=start_s, runs_s=runs_s,
                worker_cpu_s=worker_cpu, other_cpu_s=own + daemons_cpu,
                efficiency=worker_cpu / (wall * workers), rows=rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--runs", type=int, default=6, help="first runs of the main table, seed 0")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--order", nargs=2, default=["pool", "ray"], choices=["pool", "ray"],
                    help="which executor goes first (the load may drift between the two)")
    args = ap.parse_args()
    if sorted(args.order) != ["pool", "ray"]:
        ap.error("--order names each executor once")
    specs = subset(args.profile, args.runs)
    print(f"{len(specs)} runs of profile {args.profile!r}: "
          + ", ".join(f"{s.task} {s.method}" for s in specs) + f"; {args.workers} workers")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as tmp:
        os.environ["ACTJEPA_DATA"] = str(Path(tmp) / "data")  # Ray's workers inherit it
        collector = Runner(Path(tmp) / "demos", progress=False)
        for spec in specs:  # collected once, untimed: both executors then read them
            collector.demos(spec)
        results = {e: timed_run(e, specs, args.workers, Path(tmp) / e) for e in args.order}
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "rows"} for r in results.values()])
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    pool, ray = results["pool"], results["ray"]
    print(f"ray / pool wall: {ray['wall_s'] / pool['wall_s']:.3f} (without Ray's start: "
          f"{ray['runs_s'] / pool['wall_s']:.3f}); target <= 1.10")
    print(f"results identical: {pool['rows'].equals(ray['rows'])}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
