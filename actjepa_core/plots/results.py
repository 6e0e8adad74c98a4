"""Success figures of the result chapters: bars, curves (noise, data), retention, probes.

Each ``plot_*`` function takes a summary frame (columns of ``evaluate.summarize``: ``success,
ci_low, ci_high``, plus ``claimed_success`` where the article has a number) and returns a figure
with a title, axis labels with units and a legend, so a notebook cell is one call.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from ..analysis import check_columns
from ..tables import HEADERS
from .style import palette, panel_grid


def plot_success(summary: pd.DataFrame, x: str = "task", hue: str = "label",
                 title: str = "Success rate on held-out episodes") -> plt.Figure:
    """Bars of mean success with their 95% CI (columns of ``evaluate.summarize``).

    With a ``claimed_success`` column (``verdicts.beside_claimed``), the article's claimed number is
    drawn on each bar as a black diamond.
    """
    xs, hues = list(dict.fromkeys(summary[x])), list(dict.fromkeys(summary[hue]))
    width = 0.8 / len(hues)
    colors = palette(hues)
    fig, ax = plt.subplots(figsize=(min(10.0, max(6.0, 1.6 * len(xs) * max(1, len(hues) / 3))), 4.2))
    for j, h in enumerate(hues):
        part = summary[summary[hue] == h].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
        err = np.vstack([part["success"] - part["ci_low"], part["ci_high"] - part["success"]])
        ax.bar(pos, 100 * part["success"], width, yerr=100 * err, capsize=3, label=h,
               color=colors[h])
        if "claimed_success" in part:
            ax.plot(pos, 100 * part["claimed_success"], "D", color="black", ms=5,
                    label="article's claim" if j == 0 else None)
    ax.set_xticks(np.arange(len(xs)), [textwrap.fill(str(v), 12) for v in xs], fontsize="small")
    ax.set_ylim(0, 105)
    ax.set_ylabel("success rate (%)")
    ax.set_xlabel(x)
    ax.set_title(title)
    ax.legend(title=HEADERS.get(hue, hue), bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


OURS_STYLE, CLAIMED_STYLE = {"ls": "-", "marker": "o"}, {"ls": "--", "marker": "o", "mfc": "none"}
"""How every curve tells ours from a claimed number: solid with filled markers against dashed
with open markers, in the method's colour."""


def has_claims(frame: pd.DataFrame, column: str = "claimed_success") -> bool:
    """Whether ``frame`` carries at least one claimed number to draw."""
    return column in frame and bool(frame[column].notna().any())


def draw_curve(ax: plt.Axes, part: pd.DataFrame, x: str, color: tuple,
               band_alpha: float = 0.2) -> None:
    """One method's mean success against ``x`` (sorted) with its 95% CI band, and the article's
    claims, where ``part`` has a ``claimed_success`` column with numbers, dashed with open
    markers in the same colour. The one way every success curve of the book is drawn; the
    legend comes from ``curve_legend``."""
    part = part.sort_values(x)
    ax.plot(part[x], 100 * part["success"], color=color, **OURS_STYLE)
    ax.fill_between(part[x], 100 * part["ci_low"], 100 * part["ci_high"], color=color,
                    alpha=band_alpha, lw=0)
    if has_claims(part):
        ax.plot(part[x], 100 * part["claimed_success"], color=color, **CLAIMED_STYLE)


def curve_legend(fig: plt.Figure, colors: dict[str, tuple], claimed: bool, title: str | None = None,
                 ours: str = "ours (band: 95% CI)", claim: str = "the article's claim") -> None:
    """One legend under the plot: an entry per method (its colour), then, where claimed numbers
    are drawn, the two line styles once — not "(ours)" and "(claimed)" per method, which
    doubles a legend of five methods to ten entries."""
    handles = [Line2D([], [], color=c, lw=2.5, label=name) for name, c in colors.items()]
    if claimed:
        handles += [Line2D([], [], color="0.3", label=ours, **OURS_STYLE),
                    Line2D([], [], color="0.3", label=claim, **CLAIMED_STYLE)]
    ncol = min(3, len(handles))
    rows = -(-len(handles) // ncol)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize="small", title=title,
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout(rect=(0, (0.06 + 0.055 * rows) * 4.5 / fig.get_figheight(), 1, 1))


def plot_curves(summary: pd.DataFrame, x: str, hue: str = "label", title: str = "",
                xlabel: str = "") -> plt.Figure:
    """Mean success against ``x`` per ``hue`` with a 95% CI band; the article's claims, where a
    ``claimed_success`` column has them, as dashed lines with open markers in the same colour."""
    hues = list(dict.fromkeys(summary[hue]))
    colors = palette(hues)
    fig, ax = plt.subplots(figsize=(8, 5.6))
    for h in hues:
        draw_curve(ax, summary[summary[hue] == h], x, colors[h])
    ax.set_ylim(0, 105)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel("success rate (%)")
    ax.set_title(title)
    curve_legend(fig, colors, has_claims(summary))
    return fig


def plot_probes(probes: pd.DataFrame, hue_order: list[str] | None = None,
                title: str = "What a linear read-out recovers from each frozen representation"
                ) -> plt.Figure:
    """Held-out R^2 of each probe target (mean over tasks) per representation."""
    mean_r2 = probes.groupby(["label", "target"], as_index=False)["r2"].mean()
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.barplot(mean_r2, x="target", y="r2", hue="label", hue_order=hue_order, ax=ax)
    ax.set_ylim(min(0.0, float(mean_r2.r2.min())) - 0.05, 1.05)
    ax.set_ylabel("held-out R² (mean over tasks)")
    ax.set_xlabel("probe target")
    ax.tick_params(axis="x", labelrotation=20)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_title(title)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_curves_by_task(summary: pd.DataFrame, x: str, hue: str = "label", panel: str = "task",
                        title: str = "", xlabel: str = "", logx: bool = False,
                        hue_order: Sequence[str] | None = None) -> plt.Figure:
    """Small multiples: one panel per ``panel`` value, mean success against ``x`` per ``hue``
    with a 95% CI band; the article's claims (a ``claimed_success`` column, where not NaN) dashed
    with open markers in the same colour. The y axis is shared so panels compare directly."""
    check_columns(summary, [x, hue, panel, "success", "ci_low", "ci_high"], "plot_curves_by_task")
    panels = list(dict.fromkeys(summary[panel]))
    hues = list(hue_order) if hue_order else list(dict.fromkeys(summary[hue]))
    colors = palette(hues)
    fig, axes = panel_grid(len(panels))
    xs = sorted(summary[x].unique())
    for ax, p in zip(axes, panels):
        sub = summary[summary[panel] == p]
        for h in hues:
            part = sub[sub[hue] == h]
            if not part.empty:
                draw_curve(ax, part, x, colors[h], band_alpha=0.15)
        if logx:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.set_ylim(-3, 105)
        ax.set_title(str(p))
        ax.set_xlabel(xlabel or x)
    for ax in axes[::2]:
        ax.set_ylabel("success rate (%)")
    fig.suptitle(title or f"Success against {xlabel or x}, one panel per {panel}")
    curve_legend(fig, colors, has_claims(summary))
    return fig


def plot_noise_curves(summary: pd.DataFrame, hue: str = "label",
                      title: str = "Success under test-time sensor noise") -> plt.Figure:
    """``plot_curves`` against ``sigma``, wide enough for a long legend beside it, with
    ticks at the noise levels run."""
    fig = plot_curves(summary, x="sigma", hue=hue, title=title,
                      xlabel="test-time sensor noise σ (standardised units)")
    fig.axes[0].set_xticks(sorted(summary["sigma"].unique()))
    return fig


def plot_budget_curves(summary: pd.DataFrame, hue: str = "label",
                       title: str = "Validation success against the budget",
                       ylim: tuple[float, float] = (50, 101)) -> plt.Figure:
    """``plot_curves`` against the optimiser budget (``steps``; log scale, a tick at each
    budget run), the y axis cut to ``ylim`` (in %): methods that all solve most episodes,
    whose differences a 0-100 axis would flatten."""
    fig = plot_curves(summary, x="steps", hue=hue, title=title,
                      xlabel="optimiser steps (log scale)")
    ax = fig.axes[0]
    ax.set_xscale("log")
    ax.minorticks_off()
    budgets = sorted(summary["steps"].unique())
    ax.set_xticks(budgets, [f"{b:,}" for b in budgets])
    ax.set_ylim(*ylim)
    return fig


def plot_data_efficiency(summary: pd.DataFrame, hue: str = "label",
                         title: str = "Success against the number of demonstrations"
                         ) -> plt.Figure:
    """Mean success against ``n_demos`` (log scale, ticks at the counts run) per ``hue`` with a
    95% CI band, and the article's claims dashed where a ``claimed_success`` column has them."""
    check_columns(summary, ["n_demos", hue, "success", "ci_low", "ci_high"], "plot_data_efficiency")
    fig = plot_curves(summary, x="n_demos", hue=hue, title=title,
                      xlabel="demonstrations per task (log scale)")
    ax = fig.axes[0]
    xs = sorted(summary["n_demos"].unique())
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(int(v)) for v in xs])
    ax.minorticks_off()
    ax.set_ylim(-3, 105)
    return fig


def plot_retention(ret: pd.DataFrame, hue: str = "label",
                   title: str = "Retention: success under noise as a share of clean success"
                   ) -> plt.Figure:
    """Retention ``success(sigma) / success(0)`` against sigma per ``hue``: ours solid, and the
    article's (a ``claimed_retention`` column, where not NaN) dashed with open markers.

    Retention is a ratio of two estimates and is drawn as a point estimate, without a band;
    a method with no clean success has no retention and is left out of the panel.
    """
    check_columns(ret, ["sigma", hue, "retention"], "plot_retention")
    hues = list(dict.fromkeys(ret[hue]))
    colors = palette(hues)
    fig, ax = plt.subplots(figsize=(8, 5.6))
    top = 105.0
    for h in hues:
        part = ret[ret[hue] == h].sort_values("sigma")
        if part["retention"].notna().any():
            ax.plot(part["sigma"], 100 * part["retention"], color=colors[h], **OURS_STYLE)
            top = max(top, 105 * float(part["retention"].max()))
        if has_claims(part, "claimed_retention"):
            ax.plot(part["sigma"], 100 * part["claimed_retention"], color=colors[h],
                    **CLAIMED_STYLE)
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    ax.set_xticks(sorted(ret["sigma"].unique()))
    ax.set_ylim(-3, top)
    ax.set_xlabel("test-time sensor noise σ (standardised units)")
    ax.set_ylabel("retention (% of clean success)")
    ax.set_title(title)
    curve_legend(fig, colors, has_claims(ret, "claimed_retention"), ours="ours",
                 claim="the article's")
    return fig


def plot_noise_conditions(table: pd.DataFrame, x: str = "label", condition: str = "condition",
                          panel: str = "sigma", panel_label: str = "σ",
                          title: str = "Noise at test time only, or in the demonstrations too"
                          ) -> plt.Figure:
    """Grouped bars of mean success with 95% CI: for each ``x`` one bar per ``condition``, one
    panel per ``panel`` value (the noise level), titled ``"<panel_label> = <value>"``."""
    check_columns(table, [x, condition, panel, "success", "ci_low", "ci_high"],
                   "plot_noise_conditions")
    panels = sorted(table[panel].unique())
    xs = list(dict.fromkeys(table[x]))
    conds = list(dict.fromkeys(table[condition]))
    colors = palette(conds)
    width = 0.8 / len(conds)
    fig, axes = plt.subplots(1, len(panels), figsize=(min(10.0, max(5.0, 1.0 * len(xs)) * len(panels)),
                                                      5.2), sharey=True, squeeze=False)
    for ax, p in zip(axes[0], panels):
        sub = table[table[panel] == p]
        for j, c in enumerate(conds):
            part = sub[sub[condition] == c].set_index(x).reindex(xs)
            pos = np.arange(len(xs)) + (j - (len(conds) - 1) / 2) * width
            err = np.vstack([part["success"] - part["ci_low"], part["ci_high"] - part["success"]])
            ax.bar(pos, 100 * part["success"], width, yerr=100 * np.nan_to_num(err), capsize=3,
                   color=colors[c], label=c if ax is axes[0][0] else None)
        ax.set_xticks(np.arange(len(xs)), [textwrap.fill(str(v), 12) for v in xs],
                      fontsize="small")
        ax.set_ylim(0, 105)
        ax.set_title(f"{panel_label} = {p:g}" if isinstance(p, (int, float, np.number))
                     else f"{panel_label} = {p}")
        ax.set_xlabel(x)
    axes[0][0].set_ylabel("success rate (%)")
    fig.legend(loc="lower center", ncol=len(conds), fontsize="small", title=condition,
               frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
