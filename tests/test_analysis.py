"""From episode rows to the result tables: task averages, paired differences, the article's
numbers beside ours, retention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actjepa_core import analysis, verdicts
from actjepa_core.data import Demonstrations
from actjepa_core.envs import get_task
from actjepa_core.evaluate import summarize
from helpers import episodes


def test_paired_difference_equals_difference_of_means_and_covers_it() -> None:
    rows = episodes("n_demos", (2, 4), seeds=3)
    adv = analysis.paired_difference(rows, "actjepa", "raw", by=("task", "n_demos"))
    means = summarize(rows, by=("task", "method", "n_demos")).set_index(
        ["task", "n_demos", "method"]).success
    for r in adv.itertuples():
        expected = means[(r.task, r.n_demos, "actjepa")] - means[(r.task, r.n_demos, "raw")]
        assert r.difference == pytest.approx(expected)
        assert r.ci_low <= r.difference <= r.ci_high
        assert -1 <= r.ci_low and r.ci_high <= 1
        assert r.units == 3


def test_paired_difference_is_never_zero_width_and_pairs_by_seed() -> None:
    # Both seeds: treatment 10/10, control 5/10, so the per-seed differences are identical.
    rows = pd.DataFrame({
        "task": "reach", "method": np.repeat(["actjepa", "raw"], 20),
        "seed": np.tile(np.repeat([0, 1], 10), 2),
        "success": np.r_[np.ones(20), np.tile(np.r_[np.ones(5), np.zeros(5)], 2)],
    })
    (r,) = analysis.paired_difference(rows, "actjepa", "raw").itertuples()
    assert r.difference == pytest.approx(0.5)
    assert r.ci_low < 0.5 < r.ci_high
    # A seed that only one side has is dropped, not paired with anything.
    extra = pd.DataFrame({"task": "reach", "method": "actjepa", "seed": 7, "success": [0.0] * 10})
    (r2,) = analysis.paired_difference(pd.concat([rows, extra]), "actjepa", "raw").itertuples()
    assert r2.units == 2 and r2.difference == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no rows"):
        analysis.paired_difference(rows, "passive", "raw")


def test_task_average_pools_the_tasks_episodes():
    rows = episodes("sigma", (0.0,), seeds=2)
    s = analysis.summarize_with_average(rows, by=("task", "method")).set_index(["task", "method"])
    for key in ("raw", "actjepa"):
        mine = rows[rows.method == key].success.mean()
        assert s.loc[("average", key), "success"] == pytest.approx(mine)
        assert s.loc[("average", key), "episodes"] == len(rows[rows.method == key])


def test_a_claimed_number_gets_a_verdict_and_a_position_against_our_interval():
    assert verdicts.claim_position(0.5, 0.4, 0.6) == "inside our CI"
    assert verdicts.claim_position(0.75, 0.4, 0.6) == "above our CI"
    assert verdicts.claim_position(0.3, 0.4, 0.6) == "below our CI"
    summary = pd.DataFrame({"label": ["a", "b", "c"], "success": [0.5, 0.2, 0.5],
                            "ci_low": [0.4, 0.1, 0.4], "ci_high": [0.6, 0.3, 0.6]})
    seed = pd.DataFrame({"label": ["a", "c"], "claimed_success": [0.9, 0.55]})
    out = verdicts.beside_claimed(summary, seed, on=("label",)).set_index("label")
    assert (out.loc["a", "verdict"], out.loc["a", "position"]) == ("does not hold", "above our CI")
    assert (out.loc["c", "verdict"], out.loc["c", "position"]) == ("holds", "inside our CI")
    assert out.loc["a", "claimed"] == "90.0%" and out.loc["a", "ours"] == "50.0% [40.0, 60.0]"
    assert (out.loc["b", "verdict"], out.loc["b", "position"], out.loc["b", "claimed"]) == ("—",) * 3
    assert set(out.verdict) - {"—"} <= set(verdicts.VERDICTS)


def test_retention_divides_by_the_clean_success():
    summary = pd.DataFrame({"method": ["a"] * 3 + ["b"] * 2, "sigma": [0, 0.1, 0.3, 0, 0.3],
                            "success": [0.8, 0.4, 0.2, 0.0, 0.0]})
    r = analysis.retention(summary).set_index(["method", "sigma"])["retention"]
    assert r[("a", 0.1)] == pytest.approx(0.5) and r[("a", 0.3)] == pytest.approx(0.25)
    assert np.isnan(r[("b", 0.3)])  # nothing to retain: undefined, not 0 or inf


# ------------------------------------------------ exact values on hand-made inputs
def _paired(treatment: list[int], control: list[int], n: int = 10) -> pd.DataFrame:
    """Episode rows of task reach: seed i has ``treatment[i]`` / ``control[i]`` successes of n."""
    rows = []
    for key, successes in (("actjepa", treatment), ("raw", control)):
        for seed, s in enumerate(successes):
            rows += [{"task": "reach", "method": key, "seed": seed, "success": float(e < s)}
                     for e in range(n)]
    return pd.DataFrame(rows)


def test_paired_difference_of_one_unit_is_newcombes_interval() -> None:
    """Catches a slip in Newcombe's interval (each side's Wilson half-widths combined in
    quadrature): 8/10 against 4/10 gives 0.4 with Wilson (0.4902, 0.9433) and (0.1682, 0.6873),
    so 0.4 - sqrt(0.3098² + 0.2873²) and 0.4 + sqrt(0.1433² + 0.2318²)."""
    (r,) = analysis.paired_difference(_paired([8], [4]), "actjepa", "raw").itertuples()
    assert r.units == 1 and r.difference == pytest.approx(0.4)
    assert (r.ci_low, r.ci_high) == pytest.approx((-0.0225655, 0.6725472), abs=1e-6)


def test_paired_difference_over_three_seeds_uses_their_t_interval_clamped() -> None:
    """Catches a wrong t half-width (ddof, t divided by the std): differences (1, 0.5, 0) have
    sd 0.5, so 0.5 -+ 4.303 * 0.5 / sqrt(3) = (-0.742, 1.742), wider than Newcombe's
    (0.297, 0.668); the upper end is clamped to 1."""
    (r,) = analysis.paired_difference(_paired([10, 5, 0], [0, 0, 0]), "actjepa", "raw").itertuples()
    assert r.units == 3 and r.difference == pytest.approx(0.5)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.5 - 4.303 * 0.5 / np.sqrt(3), 1.0))


@pytest.mark.parametrize("x, expected", [(0.4, True), (0.6, True), (0.3995, True), (0.6004, True),
                                         (0.3994, False), (0.6006, False)])
def test_inside_tolerates_half_a_tenth_of_a_point_on_both_sides(x, expected) -> None:
    """Catches the tolerance moved or dropped on either end of [0.4, 0.6]: a claim rounded to
    0.1 point may lie up to 0.0005 outside our interval and still be "within"."""
    assert analysis.inside(x, 0.4, 0.6) is expected


def test_task_average_appends_an_average_copy_with_a_fresh_index() -> None:
    """Catches the concatenation keeping the old index: every row label must be unique, or
    ``.loc`` on a label returns two rows (one task row, one average row)."""
    rows = pd.DataFrame({"task": ["reach", "push"], "success": [1.0, 0.0]})
    out = analysis.with_task_average(rows)
    assert list(out.task) == ["reach", "push", "average", "average"]
    assert list(out.index) == [0, 1, 2, 3]


def _demos(rewards: np.ndarray) -> Demonstrations:
    e, t = rewards.shape
    spec = get_task("reach")
    actions = np.arange(e * t * 4, dtype=np.float32).reshape(e, t, 4) / (e * t * 4)
    return Demonstrations("reach", np.zeros((e, t + 1, spec.obs_dim), np.float32), actions,
                          rewards.astype(np.float32), np.zeros(e, bool), np.arange(e))


def test_first_success_step_is_the_first_zero_reward_counted_from_one() -> None:
    """Catches the reward test inverted or the "never reached" mask taken on the wrong axis:
    Fetch's reward is 0 at the goal and -1 elsewhere."""
    d = _demos(np.array([[-1, -1, 0, 0], [0, -1, -1, -1], [-1, -1, -1, -1]]))
    np.testing.assert_array_equal(analysis.first_success_steps(d), [3.0, 1.0, np.nan])


def test_actions_frame_has_one_row_per_action_component() -> None:
    """Catches components mislabelled or values taken from the wrong column."""
    d = _demos(np.zeros((2, 3)))
    out = analysis.actions_frame({"reach": d})
    assert len(out) == 2 * 3 * 4 and set(out.task) == {"reach"}
    for j, name in enumerate(analysis.ACTION_NAMES):
        np.testing.assert_array_equal(out[out.component == name].value,
                                      d.actions.reshape(-1, 4)[:, j])


def _history(losses: list[float], erank: list[float], config: str = "c", seed: int = 0
             ) -> pd.DataFrame:
    """A history of len(losses) steps with monitor readings every 5 steps, ``erank[i]`` on the
    (i + 1)-th."""
    steps = np.arange(1, len(losses) + 1)
    mon = steps % 5 == 0
    h = pd.DataFrame({"step": steps, "loss": losses, "config": config, "seed": seed})
    h["online_std"] = np.where(mon, 0.1, np.nan)
    h["online_erank"] = np.where(mon, np.resize(np.repeat(erank, 5), len(steps)), np.nan)
    h["online_collapsed"] = np.where(mon, 0.0, np.nan)
    h["target_erank"] = np.where(mon, 3.0, np.nan)
    return h


def test_summarize_final_loss_is_the_mean_over_the_last_tenth_of_steps() -> None:
    """Catches the default fraction or the tail's bound changed: of 20 steps with losses
    1..20 the last tenth is steps 19 and 20 (mean 19.5); ``>=`` would add step 18, a
    hundredth would keep step 20 alone. Also the final and the lowest effective rank."""
    h = _history([float(v) for v in range(1, 21)], [4.0, 1.0, 3.0, 2.0])
    out = analysis.summarize_final(h)
    assert out.loc["c", "final_loss"] == 19.5
    assert analysis.summarize_final(h, last_fraction=0.3).loc["c", "final_loss"] == 17.5
    assert out.loc["c", "online_erank"] == 2.0 and out.loc["c", "online_erank_lowest"] == 1.0


def test_stack_histories_gives_a_fresh_index() -> None:
    """Catches the stacked histories keeping their own indexes (labels repeated per run)."""
    h = _history([1.0] * 10, [4.0, 2.0])
    out = analysis.stack_histories({("a", 0): h, ("b", 1): h}, names=("config", "seed"))
    assert list(out.index) == list(range(20))


@pytest.mark.parametrize("call, missing", [
    (lambda h: analysis.monitor_rows(h.drop(columns="online_std")), "online_std"),
    (lambda h: analysis.final_monitor(h.drop(columns="seed")), "seed"),
    (lambda h: analysis.summarize_final(h.drop(columns="loss")), "loss"),
])
def test_history_helpers_name_the_missing_column(call, missing) -> None:
    """Catches a helper's column check removed: a frame of the wrong shape must be refused with
    the helper's name and the missing column, not a bare KeyError deep inside pandas."""
    with pytest.raises(ValueError, match=f"needs the columns \\['{missing}'\\]"):
        call(_history([1.0] * 10, [4.0, 2.0]))
