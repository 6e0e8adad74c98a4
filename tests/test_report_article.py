"""Chapter 7's tables and paragraphs from synthetic summaries whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actjepa_core import claims, report_article
from actjepa_core.suites import BASELINES

METHODS = ("raw", "autoencoder", "passive", "actjepa")


def ret_rows(clean: dict[str, float], noisy: dict[str, float]) -> pd.DataFrame:
    """Retention rows at sigma 0 and 0.3 with our success and the article's."""
    rows = []
    for m in METHODS:
        for sigma, success in ((0.0, clean[m]), (0.3, noisy[m])):
            rows.append({"method": m, "label": BASELINES[m], "sigma": sigma,
                         "success": success, "ci_low": success - 0.05, "ci_high": success + 0.05,
                         "retention": success / clean[m] if clean[m] > 0 else np.nan,
                         "claimed_success": claims.NOISE[m][0 if sigma == 0 else -1]})
    return pd.DataFrame(rows)


def test_the_articles_retention_agrees_with_its_prose_and_a_disagreement_is_an_error(monkeypatch):
    ret = report_article.claimed_retention()
    at = ret[ret.sigma == 0.3].set_index("method").claimed_retention
    assert at["actjepa"] == pytest.approx(0.554, abs=5e-4)
    monkeypatch.setitem(claims.RETENTION_AT_030, "raw", 0.2)
    with pytest.raises(ValueError, match="disagree on retention"):
        report_article.claimed_retention()


def test_retention_paragraph_ranks_and_compares_with_raw_bc():
    ret = ret_rows({"raw": 0.8, "autoencoder": 0.8, "passive": 0.8, "actjepa": 0.5},
                   {"raw": 0.4, "autoencoder": 0.2, "passive": 0.3, "actjepa": 0.45})
    text = report_article.retention_paragraph(ret)
    assert text.startswith("Ranked by retention at σ = 0.3: ACT-JEPA + BC (90.0%), raw BC")
    assert "ACT-JEPA + BC retains the **largest** share" in text
    assert "ACT-JEPA is 5.0 percentage points higher than raw BC (the article: +34.9 points)" in text
    assert "Clean, it is 30.0 percentage points lower than raw BC" in text
    assert "from -30.0 points clean to +5.0 at σ = 0.3" in text
    flipped = ret_rows({m: 0.8 for m in METHODS},
                       {"raw": 0.6, "autoencoder": 0.2, "passive": 0.3, "actjepa": 0.4})
    assert "does **not** retain the largest share" in report_article.retention_paragraph(flipped)
    none = ret_rows({m: 0.0 for m in METHODS}, {m: 0.0 for m in METHODS})
    assert report_article.retention_paragraph(none).startswith("No method has a clean success")


def test_retention_table_puts_ours_beside_the_articles():
    ret = ret_rows({m: 0.8 for m in METHODS}, {m: 0.4 for m in METHODS})
    ret["claimed_retention"] = 0.25
    table = report_article.retention_table(ret, [BASELINES[m] for m in METHODS])
    assert list(table.data.columns) == ["σ = 0.3"]
    assert table.data.loc["ACT-JEPA + BC", "σ = 0.3"] == "<b>50.0%</b><br><small>article 25.0%</small>"


def test_noisy_demo_paragraph_counts_the_changes_per_sigma():
    rows = []
    for m, test_only, both in (("raw", 0.5, 0.6), ("autoencoder", 0.5, 0.4),
                               ("passive", 0.5, 0.5), ("actjepa", 0.5, 0.7)):
        rows += [{"sigma": 0.1, "method": m, "condition": report_article.TEST_ONLY,
                  "success": test_only},
                 {"sigma": 0.1, "method": m, "condition": report_article.DEMOS_TOO,
                  "success": both}]
    text = report_article.noisy_demo_paragraph(pd.DataFrame(rows))
    assert "+10.0 points for raw BC (no pretraining), -10.0 points for autoencoder + BC" in text
    assert "higher for 2 of 4 methods, lower for 1, unchanged for 1." in text
    assert "ACT-JEPA + BC is then at 70.0% and raw BC at 60.0%." in text


def collapse_summary(collapsed: float, flagged: int, erank: float) -> pd.DataFrame:
    """A ``summarize_final``-like table: the default EMA, no EMA, one fixed momentum."""
    idx = [report_article.FULL, report_article.NO_EMA, "τ = 0.99"]
    return pd.DataFrame({"seeds": 4, "collapsed": [0.0, collapsed, 0.0],
                         "online_erank": [40.0, erank, 39.0], "online_std": [0.03, 0.01, 0.03],
                         "online_erank_lowest": [38.0, erank - 1, 37.0],
                         "flagged readings": [0, flagged, 0]}, index=idx)


@pytest.mark.parametrize("collapsed, flagged, erank, what, verdict", [
    (0.75, 9, 3.0, "collapsed** in 75% of the seeds", "holds"),
    (0.25, 9, 10.0, "collapsed** in 25% of the seeds", "partly"),
    (0.0, 3, 30.0, "collapsed during training and recovered", "does not hold"),
    (0.0, 0, 30.0, "did not collapse here", "does not hold"),
])
def test_no_ema_paragraph_tells_what_happened_and_judges_by_the_audits_rule(
        collapsed, flagged, erank, what, verdict):
    text = report_article.no_ema_paragraph(collapse_summary(collapsed, flagged, erank), "full", 2000)
    assert what in text and f"“Collapsed” **{verdict}**" in text
    assert "The fixed momenta end at 39.0 (τ = 0.99)." in text


def test_no_ema_note_follows_the_flags():
    assert "were **not** enough" in report_article.no_ema_note(collapse_summary(0.0, 2, 30.0))
    assert "**were** enough" in report_article.no_ema_note(collapse_summary(0.0, 0, 30.0))


def advantage(diffs: dict[int, tuple[float, float, float]]) -> pd.DataFrame:
    """A task-average ``paired_difference`` indexed by n_demos: (difference, low, high)."""
    return pd.DataFrame({"difference": [d for d, _, _ in diffs.values()],
                         "ci_low": [lo for _, lo, _ in diffs.values()],
                         "ci_high": [hi for _, _, hi in diffs.values()], "units": 5},
                        index=pd.Index(list(diffs), name="n_demos"))


def test_advantage_paragraph_locates_the_largest_advantage_and_the_evidence():
    adv = advantage({10: (0.10, 0.02, 0.18), 25: (0.05, -0.01, 0.11), 50: (0.0, -0.05, 0.05),
                     100: (-0.08, -0.12, -0.04)})
    text = report_article.advantage_paragraph(adv)
    assert "mean is above raw BC's at 2 of 4 demonstration counts" in text
    assert "largest at **10 demonstrations**, one of the smaller counts" in text
    assert "lies wholly above zero at 10 demonstrations and lies wholly below zero at 100" in text
    none = advantage({10: (-0.1, -0.2, 0.0), 100: (-0.02, -0.1, 0.06)})
    text = report_article.advantage_paragraph(none)
    assert "has no advantage to locate: at every count its mean is at or below raw BC's, by 2.0 to 10.0" in text
    assert "contains zero at every count" in text


def test_advantage_table_puts_the_articles_advantage_beside_ours():
    table = report_article.advantage_table(advantage({10: (0.1, 0.02, 0.18), 7: (0.0, -0.1, 0.1)}))
    assert table.loc[10, "ours (points)"] == "+10.0" and table.loc[10, "95% CI"] == "[+2.0, +18.0]"
    claimed = report_article.claimed_advantage()
    assert table.loc[10, "article (points)"] == f"{100 * claimed[10]:+.1f}"
    assert table.loc[7, "article (points)"] == "—"  # a count the article did not run


def test_worst_task_sentence_names_the_deficit_or_the_smallest_lead():
    adv = pd.DataFrame({"task": ["push", "reach", "average"], "n_demos": [10, 25, 10],
                        "difference": [-0.2, 0.1, -0.05], "ci_low": [-0.3, 0.0, -0.1],
                        "ci_high": [-0.1, 0.2, 0.0]})
    assert report_article.worst_task_sentence(adv).startswith(
        "ACT-JEPA + BC's largest deficit against raw BC is on **push** at 10 demonstrations: "
        "-20.0 points [-30.0, -10.0]")
    adv.loc[0, "difference"] = 0.05
    assert "its smallest lead is on **push**" in report_article.worst_task_sentence(adv)
    table = report_article.advantage_by_task_table(adv)
    assert table.loc["reach", "25 demos"] == "+10.0 [+0.0, +20.0]"


def ablation_rows(drop: dict[str, float]) -> pd.DataFrame:
    """Task-averaged episode rows: every ablation and remedy succeeds in 60% of 100 episodes
    per seed, except those in ``drop`` (their success rate)."""
    from actjepa_core.suites import ABLATIONS, REMEDIES

    rows = []
    for method in [*ABLATIONS, *REMEDIES]:
        for seed in range(3):
            rate = drop.get(method, 0.6)
            success = (np.arange(100) < round(100 * rate)).astype(float)
            rows.append(pd.DataFrame({"task": "average", "label": method, "seed": seed,
                                      "episode": np.arange(100), "success": success}))
    return pd.concat(rows, ignore_index=True)


def test_ablation_table_and_paragraph_name_only_the_separated_differences():
    table = report_article.ablation_table(ablation_rows({"no_action": 0.3}))
    by = table.set_index("label")
    assert by.loc["no_action", "Δ vs full (ours)"].startswith("-30.0")
    assert by.loc["no_ema", "claimed"] == "collapsed"
    assert by.loc["full", "Δ vs full (article)"] == "—"
    text = report_article.ablation_paragraph(table)
    assert text.startswith("Against the full model, the differences whose 95% interval excludes "
                           "zero are: no_action -30.0 points")
    assert "no_bottleneck -" not in text.split(". The article")[0]
    flat = report_article.ablation_paragraph(report_article.ablation_table(ablation_rows({})))
    assert "excludes zero are: **none**" in flat


def test_ablation_display_stacks_ours_over_the_articles():
    from actjepa_core.claims import ABLATIONS as CLAIMED

    table = report_article.ablation_table(ablation_rows({"no_action": 0.3}))
    shown = report_article.ablation_display(table, ["full", "no_action", "no_ema"]).data
    assert list(shown.columns) == ["success", "Δ vs full (points)", "article's success"]
    row = table.set_index("label").loc["no_action"]
    assert shown.loc["no_action", "success"] == (
        f"<b>30.0%</b><br><small>[{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]</small>"
        f"<br><small>article {100 * CLAIMED['no_action']:.1f}%</small>")
    assert shown.loc["no_action", "Δ vs full (points)"].startswith("<b>-30.0</b><br><small>[")
    assert shown.loc["no_action", "Δ vs full (points)"].endswith(
        f"<br><small>article {100 * (CLAIMED['no_action'] - CLAIMED['full']):+.1f}</small>")
    assert shown.loc["full", "Δ vs full (points)"] == "—"
    assert shown.loc["no_ema", "success"].endswith("<br><small>article collapsed</small>")
    assert shown.loc["no_ema", "article's success"] == table.set_index("label").loc["no_ema", "verdict"]


def test_no_ema_runs_sentence_counts_collapsed_runs():
    collapse = pd.DataFrame({"collapsed": [3, 0], "runs": [5, 5], "erank": [1.26, 40.04]},
                            index=["no_ema", "full"])
    assert report_article.no_ema_runs_sentence(collapse) == (
        "Without the EMA, **3 of 5** runs end collapsed (mean effective rank 1.3 against 40.0 "
        "for the full model); the article says the model collapses.")
