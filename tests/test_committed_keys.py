"""Guard of the committed results: every run in ``results/full/*.specs.csv`` (and in the
partial files of unfinished experiments, ``results/full/partial/``) is one that today's code
still specifies, by the same cache key. A change that moves code without meaning to change a
run (a refactor, a renamed default) would otherwise silently orphan hours of
committed runs: chapters would call them stale and ``reproduce`` would compute them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from actjepa_core.profiles import get_profile
from actjepa_core.results import committed_keys, partial_file, run_keys, stale_runs
from actjepa_core.suites import EXPERIMENTS

RESULTS = Path(__file__).resolve().parents[1] / "results" / "full"
COMMITTED = sorted(p.name.removesuffix(".specs.csv") for p in RESULTS.glob("*.specs.csv")
                   if p.name.removesuffix(".specs.csv") in EXPERIMENTS)


@pytest.mark.parametrize("name", COMMITTED)
def test_every_committed_run_is_still_specified_by_today_s_code(name):
    extra, _ = stale_runs(name, "full")
    assert not extra, (f"{name}: {len(extra)} committed run(s) no longer specified by today's "
                       f"code, e.g. {sorted(extra)[:3]}; a change altered their cache keys")


def test_the_guard_covers_every_committed_experiment():
    names = {p.name.removesuffix(".specs.csv") for p in RESULTS.glob("*.specs.csv")}
    assert names == set(COMMITTED), f"specs files of unknown experiments: {names - set(COMMITTED)}"


PARTIAL = sorted(p.name.removesuffix(".specs.csv")
                 for p in (RESULTS / "partial").glob("*.specs.csv"))


@pytest.mark.parametrize("name", PARTIAL)
def test_every_run_of_a_partial_file_is_one_today_s_code_still_asks_for(name):
    assert name in EXPERIMENTS, f"partial results of an unknown experiment: {name}"
    extra = committed_keys(partial_file(name, "full")) - run_keys(name, get_profile("full"))
    assert not extra, (f"{name}: {len(extra)} run(s) of its partial file no longer specified by "
                       f"today's code, e.g. {sorted(extra)[:3]}; a change altered their cache keys")
