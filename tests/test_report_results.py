"""Chapters 5 and 6's sentences and rules, on hand-made probes and summaries."""

from __future__ import annotations

import pandas as pd

from actjepa_core import report_results as rr


def probes(r2: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"task": t, "target": g, "label": m, "r2": v}
                         for (t, g, m), v in r2.items()])


ENC, RAW = "ACT-JEPA encoder", "raw observation"


def test_goal_input_follows_the_threshold() -> None:
    p = probes({("reach", "goal", ENC): 0.99, ("push", "goal", ENC): 0.96,
                ("push", "goal", RAW): 0.10})
    needed, text = rr.needs_goal_input(p)
    assert not needed and "**0.960** (push)" in text and "representation alone" in text
    needed, text = rr.needs_goal_input(p.assign(r2=p.r2 - 0.02))
    assert needed and "also receives the goal directly" in text


def test_most_lost_skips_the_expert_action() -> None:
    p = probes({("push", "goal", RAW): 1.0, ("push", "goal", ENC): 0.9,
                ("push", "object_pos", RAW): 0.9, ("push", "object_pos", ENC): 0.3,
                ("reach", "expert action", RAW): 0.9, ("reach", "expert action", ENC): -1.0})
    assert rr.most_lost(p, ENC, RAW) == ("push", "object_pos")


def summary(rates: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"task": t, "label": m, "success": v} for (t, m), v in rates.items()])


def test_best_protocol_and_extraction_paragraph() -> None:
    s = summary({("reach", "raw + BC"): 0.9, ("reach", "ACT-JEPA + BC"): 0.95,
                 ("push", "raw + BC"): 0.6, ("push", "ACT-JEPA + BC"): 0.4})
    assert rr.best_protocol_sentence(s) == (
        "Best protocol per task: **push**: raw + BC (60.0%); **reach**: ACT-JEPA + BC (95.0%).")
    p = probes({("push", "goal", RAW): 1.0, ("push", "goal", ENC): 0.25})
    text = rr.extraction_paragraph(s, p)
    assert text.startswith("ACT-JEPA + BC is below raw BC on **1 of 2** tasks "
                           "(reach: +5.0 points, push: -20.0 points).")
    assert "loses most of the goal of push (R² 0.25, against 1.00" in text


def test_ranking_paragraph_counts_the_verdicts() -> None:
    table = pd.DataFrame({
        "task": ["average", "average", "reach"], "method": ["raw", "actjepa", "raw"],
        "label": ["raw BC", "ACT-JEPA + BC", "raw BC"], "success": [0.8, 0.6, 0.9],
        "position": ["below our CI", "above our CI", "inside our CI"]})
    text = rr.ranking_paragraph(table)
    assert text.startswith("Ranked by average success: raw BC (80.0%), ACT-JEPA + BC (60.0%). "
                           "ACT-JEPA + BC is **not first**")
    assert text.endswith("within our 95% CI in 1, above it in 1 and below it in 1.")


def test_lost_paragraph_names_the_quantity_and_both_policies() -> None:
    act, raw, passive = "ACT-JEPA + BC", "raw BC (no pretraining)", "passive latent prediction + BC"
    p = probes({("push", "object_pos", raw): 0.9, ("push", "object_pos", act): 0.2,
                ("push", "object_pos", passive): 0.5})
    table = pd.DataFrame({"task": ["push", "push"], "method": ["actjepa", "raw"],
                          "success": [0.3, 0.7]})
    text = rr.lost_paragraph(p, table, [raw, passive, act])
    assert "on the object_pos of push: a linear read-out recovers it with R² 0.20" in text
    assert "(the other representations: raw BC (no pretraining) 0.90, passive latent prediction 0.50)" in text
    assert "ACT-JEPA + BC reaches 30.0%, against 70.0% for raw BC" in text
    assert text.endswith("keeps more of it here.")


def test_probe_table_uses_short_labels_in_the_given_order() -> None:
    p = probes({("push", "goal", "raw BC (no pretraining)"): 0.98765,
                ("push", "goal", "ACT-JEPA + BC"): 0.5})
    table = rr.probe_table(p, ["ACT-JEPA + BC", "raw BC (no pretraining)"])
    assert list(table.columns) == ["ACT-JEPA", "raw BC"] and table.columns.name == "method"
    assert table.loc[("push", "goal"), "raw BC"] == 0.988
