"""Result tables shaped for the page: each cell stacks our rate, its interval and the claimed
number on short lines, so a table of five noise levels fits the book's content column instead
of running off it (one long line per cell, ``"87.9% [86.2, 89.5]  vs  54.1%"``, needs about
twice the column's width at five columns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from .gate import standing
from .verdicts import fmt_pct

CELL_CSS = [
    {"selector": "td", "props": "text-align: center; line-height: 1.25; padding: 0.3em 0.5em"},
    {"selector": "th.row_heading", "props": "text-align: left; max-width: 12em"},
    {"selector": "small", "props": "color: #555"},
]
"""One look for every stacked table: centred cells, grey small print for the second lines."""


def rate_cell(mean: float, lo: float | None = None, hi: float | None = None,
              claimed: float | None = None, claimed_by: str = "article",
              beside: str | None = None) -> str:
    """One cell: the rate in bold; under it the 95% CI; then ``beside`` (another measurement
    of the same cell, e.g. ``"states 54.1%"``); then the claimed number, where there is one
    (``claimed_by`` names whose). Missing values leave their line out."""
    if pd.isna(mean):
        return "—"
    lines = [f"<b>{fmt_pct(mean)}</b>"]
    if lo is not None and hi is not None and pd.notna(lo) and pd.notna(hi):
        lines.append(f"<small>[{100 * lo:.1f}, {100 * hi:.1f}]</small>")
    if beside:
        lines.append(f"<small>{beside}</small>")
    if claimed is not None and pd.notna(claimed):
        lines.append(f"<small>{claimed_by} {fmt_pct(claimed)}</small>")
    return "<br>".join(lines)


def wrapped(frame: pd.DataFrame) -> Styler:
    """``frame`` as the page shows a table of text: every cell whole, wrapping at its spaces
    and after the underscores of a name (``paper_metaworld_convergence``, which would
    otherwise widen its column past the page), left-aligned (a DataFrame's own HTML cuts a
    cell at 50 characters and ends it with "...", which would drop, say, why a claim is not
    testable)."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return (frame.style.set_table_styles(CELL_CSS).set_properties(**{"text-align": "left"})
            .format(_breakable, subset=text))


def _breakable(value: object) -> object:
    """A text cell with a line-break opportunity (``<wbr>``) after each underscore."""
    return value.replace("_", "_<wbr>") if isinstance(value, str) else value


def points_cell(d: float, lo: float, hi: float) -> str:
    """A difference in points in bold, its 95% CI under it."""
    if pd.isna(d):
        return "—"
    return f"<b>{100 * d:+.1f}</b><br><small>[{100 * lo:+.1f}, {100 * hi:+.1f}]</small>"


def stacked(frame: pd.DataFrame, index: str, columns: str | Sequence[str], cell: str = "cell",
            index_order: Sequence | None = None, column_order: Sequence | None = None,
            column_name=None, caption: str | None = None) -> Styler:
    """Pivot ``frame`` (one row per ``index`` x ``columns``, the HTML text in ``cell``) into a
    styled table; ``index_order`` and ``column_order`` fix the order (names absent from the
    data are skipped), ``column_name`` (a function) renames the column labels. Cells are HTML,
    which a Styler renders as written."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    table = frame.pivot(index=index, columns=cols if len(cols) > 1 else cols[0], values=cell)
    if index_order is not None:
        table = table.reindex(index=[i for i in index_order if i in table.index])
    if column_order is not None:
        table = table[[c for c in column_order if c in table.columns]]
    if column_name is not None:
        table = table.rename(columns=column_name)
    table = table.rename_axis(index=HEADERS.get(index, index))
    styler = table.style.set_table_styles(CELL_CSS).format(na_rep="—")
    return styler.set_caption(caption) if caption else styler


HEADERS = {"label": "method"}
"""What a reader sees over a column of rows: a row's ``label`` is the name of its method."""


def beside_claimed(summary: pd.DataFrame, index: str, columns: str, index_order: Sequence,
                   column_name=None, caption: str | None = None) -> Styler:
    """Our rate with its CI over the claimed rate (``verdicts.beside_claimed`` columns:
    ``success, ci_low, ci_high, claimed_success``), ``index`` x ``columns``."""
    cells = [rate_cell(m, lo, hi, c) for m, lo, hi, c in
             zip(summary.success, summary.ci_low, summary.ci_high, summary.claimed_success)]
    return stacked(summary.assign(cell=cells), index, columns, index_order=index_order,
                   column_name=column_name, caption=caption)


TASK_COLUMNS = ("reach", "push", "pick_place", "average")
"""Column order of a per-task table: the tasks, then their average."""


def success_table(summary: pd.DataFrame, order: Sequence[str]) -> Styler:
    """Methods (``order``) x tasks (then the average, where present), each cell the mean
    success over its 95% CI (columns of ``evaluate.summarize``)."""
    cells = [rate_cell(m, lo, hi) for m, lo, hi in
             zip(summary.success, summary.ci_low, summary.ci_high)]
    return stacked(summary.assign(cell=cells), "label", "task", index_order=order,
                   column_order=TASK_COLUMNS)


def sigma_label(sigma: float) -> str:
    """Column label of a noise level: ``"clean"`` for 0, ``"σ = 0.1"`` otherwise."""
    return "clean" if sigma == 0 else f"σ = {sigma:g}"


# ------------------------------------------------------------------- the sanity gate (10, 12)
def gate_mark(ok: bool | float | None, pending: bool = False) -> str:
    """A sanity-gate check's mark: ✓ passed, ✗ failed, … not run yet (``pending``), –
    not applicable (``ok`` None or NaN without ``pending``)."""
    if ok is None or (isinstance(ok, float) and math.isnan(ok)):
        return "…" if pending else "–"
    return "✓" if ok else "✗"


def gate_display(table: pd.DataFrame) -> Styler:
    """The sanity gate as the chapter shows it: one row per method, each check's mark
    (``gate_mark``; only convergence can be pending, collapse can be not applicable) over its
    figures, one clause per line, and the row's standing (``gate.standing``)."""
    def cell(ok, text: str, can_wait: bool) -> str:
        lines = _breakable(text).replace("; ", "<br>")  # an experiment's name may break
        return f"<b>{gate_mark(ok, can_wait)}</b><br><small>{lines}</small>"

    cols = {"solves Reach": ("solves reach", "reach", False),
            "converged": ("converged", "curve", True),
            "no collapse": ("no collapse", "collapse", False)}
    out = pd.DataFrame({name: [cell(ok, t, can_wait) for ok, t in zip(table[a], table[b])]
                        for name, (a, b, can_wait) in cols.items()},
                       index=pd.Index(table.label, name="method"))
    outcome = {"passes": True, "fails": False, "waits": None}
    out["passes"] = [f"<b>{gate_mark(outcome[s], pending=True)}</b>" for s in standing(table)]
    return out.style.set_table_styles(CELL_CSS)
