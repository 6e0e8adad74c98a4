"""The claims audit: its verdict rules, and a table with one row per claim of the article, built from rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actjepa_core import audit, claims, verdicts
from actjepa_core.suites import BASELINES


def test_number_verdict_is_inside_or_not() -> None:
    assert verdicts.number_verdict(0.5, 0.4, 0.6) == "holds"
    assert verdicts.number_verdict(0.7, 0.4, 0.6) == "does not hold"
    assert verdicts.number_verdict(0.3, 0.4, 0.6) == "does not hold"
    # The article rounds to 0.1 point: 40.0% against a bound of 40.04% still counts as inside.
    assert verdicts.number_verdict(0.400, 0.4004, 0.6) == "holds"


def test_difference_verdict_separates_size_from_direction() -> None:
    assert verdicts.difference_verdict(-0.10, -0.15, -0.05) == "holds"
    assert verdicts.difference_verdict(-0.03, -0.20, -0.13) == "partly"  # same sign, other size
    assert verdicts.difference_verdict(-0.10, 0.05, 0.20) == "does not hold"  # opposite sign
    assert verdicts.difference_verdict(-0.20, -0.10, 0.05) == "does not hold"  # ours contains zero


def test_direction_and_equivalence_verdicts() -> None:
    assert verdicts.direction_verdict(-1, -0.1, -0.2, -0.01) == "holds"
    assert verdicts.direction_verdict(-1, -0.1, -0.2, 0.05) == "partly"
    assert verdicts.direction_verdict(-1, 0.1, 0.05, 0.2) == "does not hold"
    assert verdicts.direction_verdict(1, 0.1, 0.05, 0.2) == "holds"
    assert verdicts.equivalence_verdict(-0.03, 0.04) == "holds"
    assert verdicts.equivalence_verdict(-0.03, 0.09) == "partly"
    assert verdicts.equivalence_verdict(0.01, 0.09) == "does not hold"


def _episodes(p: dict[str, float], key: str, values: dict[str, tuple], seeds: int = 3,
              n_eps: int = 40, seed: int = 0) -> pd.DataFrame:
    """Rows for every combination of ``values`` (column -> values), success with probability
    ``p[row[key]]`` (default 0.5); the episode index doubles as the common random number."""
    rng = np.random.default_rng(seed)
    grid = pd.MultiIndex.from_product([*values.values(), claims.TASKS, range(seeds)],
                                      names=[*values, "task", "seed"]).to_frame(index=False)
    rows = grid.loc[grid.index.repeat(n_eps)].reset_index(drop=True)
    rows["episode"] = np.tile(np.arange(n_eps), len(grid))
    prob = rows[key].map(p).fillna(0.5).to_numpy()
    if "sigma" in rows:
        prob = prob * (1 - rows.sigma.to_numpy())  # noise lowers success, the same share for all
    rows["success"] = (rng.random(len(rows)) < prob).astype(float)
    return rows


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    main = _episodes({"actjepa": 0.9, "raw": 0.3}, "pretraining",
                     {"pretraining": list(BASELINES), "sigma": claims.CLAIMED_SIGMAS})
    main["method"] = main.pretraining.map(BASELINES)
    abl = _episodes({"no_action": 0.2}, "method",
                    {"method": list(claims.ABLATIONS) + ["film"], "sigma": (0.0,)})
    abl["pretraining"] = "actjepa"
    abl["encoder_erank"] = np.where(abl.method == "no_ema", 1.0, 30.0)
    abl["encoder_std"] = 0.05
    data = _episodes({"actjepa": 0.8, "raw": 0.4}, "pretraining",
                     {"pretraining": ["raw", "actjepa"], "n_demos": claims.DEMO_COUNTS, "sigma": (0.0,)})
    return audit.audit(main, abl, data)


def test_audit_has_one_row_per_article_claim(table: pd.DataFrame) -> None:
    counts = table.groupby("section").size()
    assert counts["main table"] == 20 + 3  # cells, ranking, lead over passive, where largest
    assert counts["noise"] == 16 + 4 + 1  # noisy cells, retentions, "most graceful"
    assert counts["ablations"] == 6 + 3  # six rows with a number, collapse, bottleneck, concat~add
    assert counts["data efficiency"] == 8 + 4 + 1
    assert counts["paper"] == 5  # the paper's five claims, not testable without their results
    assert (table[table.section == "paper"].verdict == "not testable yet").all()
    assert table.verdict.isin(verdicts.VERDICTS).all()
    assert set(table.kind) <= set(verdicts.RULES)
    assert audit.verdict_counts(table).sum() == len(table)


def test_audit_verdicts_follow_the_rows(table: pd.DataFrame) -> None:
    by_claim = table.set_index("claim")
    # ACT-JEPA succeeds at 0.9 against 0.5 or less for the others: it ranks first, clearly.
    assert by_claim.loc["ACT-JEPA + BC has the highest task-average success of the five", "verdict"] == "holds"
    # Every method loses the same share to noise, so ACT-JEPA is not clearly the most graceful.
    graceful = table[table.claim.str.startswith("ACT-JEPA + BC degrades")].iloc[0]
    assert graceful.verdict in ("partly", "does not hold")
    # no_ema's encoders all end with effective rank 1: collapsed by the monitor's threshold.
    assert by_claim.loc["without the EMA target the representation collapses", "verdict"] == "holds"
    # no_action succeeds at 0.2 against 0.5: lower, as the article says, but by far more than 13.9 points.
    no_action = table[table.claim.str.startswith("no_action")].iloc[0]
    assert no_action.value < -0.2 and no_action.verdict == "partly"
    # The on-par claim cannot be tested here.
    assert table[table.section == "paper"].verdict.eq("not testable yet").all()


def test_retention_bootstrap_brackets_its_point_estimate() -> None:
    main = _episodes({"actjepa": 0.9}, "pretraining",
                     {"pretraining": list(BASELINES), "sigma": (0.0, 0.3)}, n_eps=50)
    boot = audit.retention_bootstrap(main, 0.3, resamples=500)
    for m, point in boot["point"].items():
        lo, hi = np.nanpercentile(boot["samples"][m], [2.5, 97.5])
        assert lo < point < hi
        assert point == pytest.approx(0.7, abs=0.15)


def test_retention_bootstrap_refuses_mismatched_rows() -> None:
    main = _episodes({}, "pretraining", {"pretraining": list(BASELINES), "sigma": (0.0,)})
    with pytest.raises(ValueError, match="do not match"):
        audit.retention_bootstrap(main, 0.3, resamples=10)


def test_article_tables_agree_with_one_another() -> None:
    checks = audit.article_consistency()
    assert len(checks) == 6
    assert checks["agrees to rounding"].all(), checks[~checks["agrees to rounding"]].check.tolist()


def test_hyperparameter_table_puts_our_value_beside_each_article_row() -> None:
    hp = audit.hyperparameters(pretrain_steps=123)
    assert len(hp) == len(claims.HYPERPARAMETERS)
    assert set(hp.source) == {"Paper", "Inferred"}
    assert hp.ours.notna().all() and (hp.ours != "").all()
    assert hp.set_index("hyperparameter").loc["steps", "ours"].startswith("123")


def test_audit_figures_have_titles_and_refuse_wrong_frames(table: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from actjepa_core.plots import audit as plots_audit

    fig = plots_audit.plot_verdicts(table, title="verdicts")
    assert fig.axes[0].get_title() == "verdicts"
    fig2 = plots_audit.plot_claimed_vs_measured(table, title="claims")
    assert fig2._suptitle.get_text() == "claims" and len(fig2.axes) == 2
    plt.close("all")
    with pytest.raises(ValueError, match="needs the columns"):
        plots_audit.plot_verdicts(table.drop(columns="verdict"))


def test_collapse_verdict_one_rule_for_chapter_4_and_the_audit():
    assert verdicts.collapse_verdict(3, 5, 2.0, 40.0) == "holds"
    assert verdicts.collapse_verdict(2, 4, 10.0, 40.0) == "partly"  # half is not most
    assert verdicts.collapse_verdict(0, 4, 25.0, 40.0) == "does not hold"
    with pytest.raises(ValueError, match="at least one run"):
        verdicts.collapse_verdict(0, 0, 1.0, 1.0)
