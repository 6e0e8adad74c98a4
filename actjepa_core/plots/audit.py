"""Figures of the claims-audit chapter: the verdicts per section, and each claimed number
against ours.

Both take the table of ``audit.audit`` and return a titled, labelled figure.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..analysis import check_columns
from ..verdicts import VERDICTS
from .style import palette

VERDICT_COLORS = dict(zip(VERDICTS, ("#1b9e77", "#e6ab02", "#d95f02", "#7570b3", "#999999")))
"""One colour per verdict, the same in every figure and table of the chapter."""

LEGEND_COLUMNS = 4
"""Legend entries a row under the claimed-vs-measured figure (seven sections in one row run
past the page's column)."""


def plot_verdicts(table: pd.DataFrame, title: str = "Verdicts on the article's claims, per section"
                  ) -> plt.Figure:
    """Stacked horizontal bars: for each section of the article's results, how many of its claims
    got each verdict, sections in table order."""
    check_columns(table, ["section", "verdict"], "plot_verdicts")
    sections = list(dict.fromkeys(table.section))
    counts = (table.groupby(["section", "verdict"]).size().unstack(fill_value=0)
              .reindex(index=sections, columns=list(VERDICTS), fill_value=0))
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(sections) + 1.6))
    left = np.zeros(len(sections))
    for v in VERDICTS:
        ax.barh(sections, counts[v], left=left, color=VERDICT_COLORS[v], label=v)
        for y, (x0, n) in enumerate(zip(left, counts[v])):
            if n:
                ax.text(x0 + n / 2, y, str(n), ha="center", va="center", fontsize="small")
        left += counts[v].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("number of claims")
    ax.set_title(title)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small", title="verdict")
    fig.tight_layout()
    return fig


def _scatter(ax: plt.Axes, part: pd.DataFrame, scale: float, sections: list[str]) -> None:
    colors = palette(sections)
    for (section, kind), g in part.groupby(["section", "kind"], sort=False):
        err = np.vstack([g.value - g.ci_low, g.ci_high - g.value]) * scale
        retention = kind == "retention"
        ax.errorbar(g.claimed_value * scale, g.value * scale, yerr=np.abs(err),
                    fmt="D" if retention else "o", ms=5, capsize=2, color=colors[section],
                    mfc="white" if retention else colors[section],
                    label=f"{section}: retention" if retention else section)
    lo = scale * float(np.nanmin(np.r_[part.claimed_value, part.ci_low]))
    hi = scale * float(np.nanmax(np.r_[part.claimed_value, part.ci_high]))
    pad = 0.05 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", lw=1, ls="--",
            label="ours = the claim")


def plot_claimed_vs_measured(table: pd.DataFrame,
                             title: str = "Each claimed number against ours (95% CI)") -> plt.Figure:
    """Two panels. Left: every claimed success rate and retention (x, as the article or the
    paper states it) against ours (y, with its 95% CI). Right: every claimed difference the
    same way, in points. On the dashed diagonal the two agree; a CI that crosses it is a
    claim that holds."""
    check_columns(table, ["section", "kind", "claimed_value", "value", "ci_low", "ci_high"],
                  "plot_claimed_vs_measured")
    numbers = table[table.kind.isin(["success rate", "retention"])].dropna(subset=["value", "ci_low"])
    diffs = table[table.kind == "difference"].dropna(subset=["value", "ci_low"])
    sections = list(dict.fromkeys(table.section))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.8))
    _scatter(left, numbers, 100, sections)
    left.set(xlabel="the claimed number (%), the article's or the paper's", ylabel="ours (%)",
             title="success rates and retentions")
    _scatter(right, diffs, 100, sections)
    right.axhline(0, color="black", lw=0.6)
    right.axvline(0, color="black", lw=0.6)
    right.set(xlabel="the claimed difference (points)", ylabel="ours (points)",
              title="differences between methods")
    handles, labels = left.get_legend_handles_labels()
    more = [(h, l) for h, l in zip(*right.get_legend_handles_labels()) if l not in labels]
    handles, labels = handles + [h for h, _ in more], labels + [l for _, l in more]
    # At most LEGEND_COLUMNS entries a row: one row of every section ran past the page.
    ncol = max(1, min(len(labels), LEGEND_COLUMNS))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.04 + 0.04 * math.ceil(len(labels) / ncol), 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize="small")
    return fig
