"""From episode rows to the result tables: task averages, paired differences, the article's
numbers beside ours, retention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actjepa_core import analysis
from actjepa_core.evaluate import summarize
from helpers import episodes


def test_paired_difference_equals_difference_of_means_and_covers_it() -> None:
    rows = episodes("n_demos", (2, 4), seeds=3)
    adv = analysis.paired_difference(rows, "actjepa", "raw", by=("task", "n_demos"))
    means = summarize(rows, by=("task", "pretraining", "n_demos")).set_index(
        ["task", "n_demos", "pretraining"]).success
    for r in adv.itertuples():
        expected = means[(r.task, r.n_demos, "actjepa")] - means[(r.task, r.n_demos, "raw")]
        assert r.difference == pytest.approx(expected)
        assert r.ci_low <= r.difference <= r.ci_high
        assert -1 <= r.ci_low and r.ci_high <= 1
        assert r.units == 3


def test_paired_difference_is_never_zero_width_and_pairs_by_seed() -> None:
    # Both seeds: treatment 10/10, control 5/10, so the per-seed differences are identical.
    rows = pd.DataFrame({
        "task": "reach", "pretraining": np.repeat(["actjepa", "raw"], 20),
        "seed": np.tile(np.repeat([0, 1], 10), 2),
        "success": np.r_[np.ones(20), np.tile(np.r_[np.ones(5), np.zeros(5)], 2)],
    })
    (r,) = analysis.paired_difference(rows, "actjepa", "raw").itertuples()
    assert r.difference == pytest.approx(0.5)
    assert r.ci_low < 0.5 < r.ci_high
    # A seed that only one side has is dropped, not paired with anything.
    extra = pd.DataFrame({"task": "reach", "pretraining": "actjepa", "seed": 7, "success": [0.0] * 10})
    (r2,) = analysis.paired_difference(pd.concat([rows, extra]), "actjepa", "raw").itertuples()
    assert r2.units == 2 and r2.difference == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no rows"):
        analysis.paired_difference(rows, "passive", "raw")


def test_task_average_pools_the_tasks_episodes():
    rows = episodes("sigma", (0.0,), seeds=2)
    s = analysis.summarize_with_average(rows, by=("task", "pretraining")).set_index(["task", "pretraining"])
    for key in ("raw", "actjepa"):
        mine = rows[rows.pretraining == key].success.mean()
        assert s.loc[("average", key), "success"] == pytest.approx(mine)
        assert s.loc[("average", key), "episodes"] == len(rows[rows.pretraining == key])


def test_verdicts_place_the_claim_against_our_interval():
    assert analysis.verdict(0.5, 0.4, 0.6) == "within our CI"
    assert analysis.verdict(0.75, 0.4, 0.6) == "claim higher than ours"
    assert analysis.verdict(0.3, 0.4, 0.6) == "claim lower than ours"
    assert analysis.verdict(None, 0.4, 0.6) == "no number claimed"
    summary = pd.DataFrame({"method": ["a", "b"], "success": [0.5, 0.2], "ci_low": [0.4, 0.1],
                            "ci_high": [0.6, 0.3]})
    seed = pd.DataFrame({"method": ["a"], "claimed_success": [0.9]})
    out = analysis.beside_claimed(summary, seed, on=("method",)).set_index("method")
    assert out.loc["a", "verdict"] == "claim higher than ours" and out.loc["a", "claimed"] == "90.0%"
    assert out.loc["b", "verdict"] == "no number claimed" and out.loc["a", "ours"] == "50.0% [40.0, 60.0]"


def test_retention_divides_by_the_clean_success():
    summary = pd.DataFrame({"method": ["a"] * 3 + ["b"] * 2, "sigma": [0, 0.1, 0.3, 0, 0.3],
                            "success": [0.8, 0.4, 0.2, 0.0, 0.0]})
    r = analysis.retention(summary).set_index(["method", "sigma"])["retention"]
    assert r[("a", 0.1)] == pytest.approx(0.5) and r[("a", 0.3)] == pytest.approx(0.25)
    assert np.isnan(r[("b", 0.3)])  # nothing to retain: undefined, not 0 or inf
