"""``reproduce --verify``: recomputed runs compared episode by episode with committed ones."""

from __future__ import annotations

import pandas as pd
import pytest

from actjepa_core.experiments import Runner
from actjepa_core.results import write_results
from actjepa_core.profiles import get_profile
from actjepa_core.suites import EXPERIMENTS
from actjepa_core.verify import sample_specs, verify


def test_verify_finds_no_difference_on_the_same_machine_and_a_planted_one(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path / "results"))
    P = get_profile("smoke")
    specs = EXPERIMENTS["data_efficiency"](P)[:2]
    rows = Runner(tmp_path / "cache", progress=False).run(specs)
    path = write_results(rows, tmp_path / "results" / "smoke" / "data_efficiency.csv")
    chosen = sample_specs("data_efficiency", P, 0, keys=[s.key() for s in specs])
    report = verify("data_efficiency", P, chosen, tmp_path / "scratch")
    assert list(report["differ"]) == [0, 0] and report.inside.all()
    assert (report.committed == report.recomputed).all()

    committed = pd.read_csv(path, dtype={"spec_key": str})
    first = committed.index[committed.spec_key == specs[0].key()][0]
    committed.loc[first, "success"] = 1.0 - committed.loc[first, "success"]
    committed.to_csv(path, index=False)
    report = verify("data_efficiency", P, chosen, tmp_path / "scratch")
    assert list(report["differ"]) == [1, 0]


def test_sample_specs_is_seeded_and_refuses_unknown_keys():
    P = get_profile("smoke")
    a, b = sample_specs("main", P, 3, seed=1), sample_specs("main", P, 3, seed=1)
    assert [s.key() for s in a] == [s.key() for s in b] and len({s.key() for s in a}) == 3
    with pytest.raises(ValueError, match="no run of 'main' has key"):
        sample_specs("main", P, 0, keys=["0123456789abcdef"])
    with pytest.raises(ValueError, match="probe scores"):
        sample_specs("paper_world_model", P, 1)
