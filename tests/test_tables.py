"""Stacked result tables: what each cell says, and that the rows and columns land in place."""

from __future__ import annotations

import math

import pandas as pd

from actjepa_core import tables


def test_rate_cell_stacks_rate_interval_and_claim() -> None:
    assert tables.rate_cell(0.879, 0.862, 0.895, 0.541) == (
        "<b>87.9%</b><br><small>[86.2, 89.5]</small><br><small>article 54.1%</small>")


def test_rate_cell_leaves_out_what_is_missing() -> None:
    assert tables.rate_cell(0.5) == "<b>50.0%</b>"
    assert tables.rate_cell(0.5, 0.4, 0.6, math.nan) == "<b>50.0%</b><br><small>[40.0, 60.0]</small>"
    assert tables.rate_cell(0.5, claimed=0.25, claimed_by="paper") == (
        "<b>50.0%</b><br><small>paper 25.0%</small>")
    assert tables.rate_cell(math.nan, 0.1, 0.2, 0.3) == "—"


def summary() -> pd.DataFrame:
    return pd.DataFrame({
        "label": ["B", "B", "A", "A"], "sigma": [0.0, 0.1, 0.0, 0.1],
        "success": [0.5, 0.4, 0.9, 0.8], "ci_low": [0.4, 0.3, 0.8, 0.7],
        "ci_high": [0.6, 0.5, 1.0, 0.9], "claimed_success": [0.55, math.nan, 0.95, 0.85]})


def test_beside_claimed_orders_rows_and_names_columns() -> None:
    styler = tables.beside_claimed(summary(), "label", "sigma", ["A", "B", "C"],
                                   column_name=tables.sigma_label)
    table = styler.data
    assert list(table.index) == ["A", "B"]  # the order given; names not in the data dropped
    assert list(table.columns) == ["clean", "σ = 0.1"]
    assert table.loc["A", "σ = 0.1"] == tables.rate_cell(0.8, 0.7, 0.9, 0.85)
    assert table.loc["B", "σ = 0.1"] == "<b>40.0%</b><br><small>[30.0, 50.0]</small>"
    html = styler.to_html()
    assert "<br><small>article 95.0%</small>" in html  # rendered as written, not escaped


def test_stacked_takes_two_column_levels() -> None:
    frame = summary().assign(cond=["x", "y", "x", "y"], cell=list("pqrs"))
    table = tables.stacked(frame, "label", ["sigma", "cond"]).data
    assert table.loc["A", (0.0, "x")] == "r" and table.loc["B", (0.1, "y")] == "q"
    assert table.index.name == "method"  # the reader's word over the rows, not the column's


def test_sigma_label() -> None:
    assert [tables.sigma_label(s) for s in (0.0, 0.05, 0.3)] == ["clean", "σ = 0.05", "σ = 0.3"]


def test_success_table_orders_rows_and_task_columns() -> None:
    summary = pd.DataFrame({"task": ["average", "push", "reach", "push"],
                            "label": ["m", "m", "m", "n"], "success": [0.5, 0.4, 0.6, 0.1],
                            "ci_low": [0.4, 0.3, 0.5, 0.0], "ci_high": [0.6, 0.5, 0.7, 0.2]})
    table = tables.success_table(summary, ["n", "m"]).data
    assert list(table.index) == ["n", "m"]
    assert list(table.columns) == ["reach", "push", "average"]
    assert table.loc["n", "push"] == "<b>10.0%</b><br><small>[0.0, 20.0]</small>"
    assert pd.isna(table.loc["n", "reach"])
