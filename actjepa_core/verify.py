"""Does this machine reproduce the committed results? ``reproduce --verify N``.

The guarantee the book can give: a run is bit-identical on one machine (seeded, one torch
thread, deterministic kernels), but across machines the CPU's floating-point kernels may
differ in the last bits, and 2,000 steps of training amplify that into other weights, other
actions and, in some episodes, another outcome. What must hold across machines is agreement
within the intervals. ``verify`` recomputes sampled committed runs from a scratch cache and
reports both: the episodes whose outcome differs, and whether the recomputed success lies
inside the 95% interval of the committed cell the run belongs to.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from .analysis import inside
from .evaluate import summarize
from .experiments import Runner, RunSpec
from .profiles import Profile
from .suites import EXPERIMENTS, PROBE_EXPERIMENTS
from .results import experiment_results


def sample_specs(name: str, P: Profile, n: int, seed: int = 0,
                 keys: list[str] | None = None) -> list[RunSpec]:
    """``n`` distinct runs of experiment ``name`` drawn with ``seed``, or those of ``keys``."""
    if name in PROBE_EXPERIMENTS:
        raise ValueError(f"{name!r} holds probe scores, not runs; verify another experiment")
    if n < 1 and not keys:
        raise ValueError(f"verify needs at least one run, got {n}")
    specs = list({s.key(): s for s in EXPERIMENTS[name](P)}.values())
    if keys:
        chosen = [s for s in specs if s.key() in set(keys)]
        unknown = set(keys) - {s.key() for s in chosen}
        if unknown:
            raise ValueError(f"no run of {name!r} has key(s) {sorted(unknown)}")
        return chosen
    return random.Random(seed).sample(specs, min(n, len(specs)))


def verify(name: str, P: Profile, specs: list[RunSpec], scratch: Path,
           workers: int = 1) -> pd.DataFrame:
    """One row per recomputed run: task, method, seed, key, episodes that differ from the
    committed rows, committed and recomputed clean success, the committed cell's interval
    (task, method, sigma = 0 over every seed) and whether the recomputed success is inside."""
    committed = experiment_results(name, P.name, recompute=False)
    cells = summarize(committed[committed.sigma == 0], by=("task", "label"))
    fresh = Runner(scratch, workers=workers).run(specs)
    rows = []
    for spec in specs:
        old = committed[(committed.spec_key == spec.key()) & (committed.label == spec.label)]
        new = fresh[(fresh.spec_key == spec.key()) & (fresh.label == spec.label)]
        both = old.merge(new, on=["sigma", "episode"], suffixes=("_old", "_new"))
        if len(both) != len(new):
            raise ValueError(f"run {spec.key()} ({spec.label}, {spec.task}, seed {spec.seed}) "
                             f"is not in the committed {name} results")
        cell = cells[(cells.task == spec.task) & (cells.label == spec.label)].iloc[0]
        clean = new[new.sigma == 0].success.mean()
        rows.append({
            "task": spec.task, "label": spec.label, "seed": spec.seed, "spec_key": spec.key(),
            "episodes": len(both),
            "differ": int((both.success_old != both.success_new).sum()),
            "committed": old[old.sigma == 0].success.mean(), "recomputed": clean,
            "cell_low": cell.ci_low, "cell_high": cell.ci_high,
            "inside": inside(clean, cell.ci_low, cell.ci_high),
        })
    return pd.DataFrame(rows)
