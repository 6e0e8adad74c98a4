"""Success figures of the result chapters: bars, curves (noise, data), retention, probes.

Each ``plot_*`` function takes a summary frame (columns of ``evaluate.summarize``: ``success,
ci_low, ci_high``, plus ``claimed_success`` where the article has a number) and returns a figure
with a title, axis labels with units and a legend, so a notebook cell is one call.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..analysis import check_columns
from .style import palette


def plot_success(summary: pd.DataFrame, x: str = "task", hue: str = "method",
                 title: str = "Success rate on held-out episodes") -> plt.Figure:
    """Bars of mean success with their 95% CI (columns of ``evaluate.summarize``).

    With a ``claimed_success`` column (``analysis.beside_claimed``), the article's claimed number is
    drawn on each bar as a black diamond.
    """
    xs, hues = list(dict.fromkeys(summary[x])), list(dict.fromkeys(summary[hue]))
    width = 0.8 / len(hues)
    colors = sns.color_palette("colorblind", len(hues))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(xs) * max(1, len(hues) / 3)), 4))
    for j, h in enumerate(hues):
        part = summary[summary[hue] == h].set_index(x).reindex(xs)
        pos = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
        err = np.vstack([part["success"] - part["ci_low"], part["ci_high"] - part["success"]])
        ax.bar(pos, 100 * part["success"], width, yerr=100 * err, capsize=3, label=h,
               color=colors[j])
        if "claimed_success" in part:
            ax.plot(pos, 100 * part["claimed_success"], "D", color="black", ms=5,
                    label="article's claim" if j == 0 else None)
    ax.set_xticks(np.arange(len(xs)), xs)
    ax.set_ylim(0, 105)
    ax.set_ylabel("success rate (%)")
    ax.set_xlabel(x)
    ax.set_title(title)
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def draw_curve(ax: plt.Axes, part: pd.DataFrame, x: str, color: tuple, name: str,
               band_alpha: float = 0.2) -> None:
    """One method's mean success against ``x`` (sorted) with its 95% CI band, and the article's
    claims, where ``part`` has a ``claimed_success`` column with numbers, dashed with open
    markers in the same colour. The one way every success curve of the book is drawn."""
    part = part.sort_values(x)
    ax.plot(part[x], 100 * part["success"], "o-", color=color, label=f"{name} (ours)")
    ax.fill_between(part[x], 100 * part["ci_low"], 100 * part["ci_high"], color=color,
                    alpha=band_alpha, lw=0)
    if "claimed_success" in part and part["claimed_success"].notna().any():
        ax.plot(part[x], 100 * part["claimed_success"], "o--", mfc="none", color=color,
                label=f"{name} (article's claim)")


def plot_curves(summary: pd.DataFrame, x: str, hue: str = "method", title: str = "",
                xlabel: str = "") -> plt.Figure:
    """Mean success against ``x`` per ``hue`` with a 95% CI band; the article's claims, where a
    ``claimed_success`` column has them, as dashed lines with open markers in the same colour."""
    hues = list(dict.fromkeys(summary[hue]))
    colors = palette(hues)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for h in hues:
        draw_curve(ax, summary[summary[hue] == h], x, colors[h], h)
    ax.set_ylim(0, 105)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel("success rate (%)")
    ax.set_title(title)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_probes(probes: pd.DataFrame, hue_order: list[str] | None = None,
                title: str = "What a linear read-out recovers from each frozen representation"
                ) -> plt.Figure:
    """Held-out R^2 of each probe target (mean over tasks) per representation."""
    mean_r2 = probes.groupby(["method", "target"], as_index=False)["r2"].mean()
    fig, ax = plt.subplots(figsize=(9, 4))
    sns.barplot(mean_r2, x="target", y="r2", hue="method", hue_order=hue_order, ax=ax)
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


def plot_curves_by_task(summary: pd.DataFrame, x: str, hue: str = "method", panel: str = "task",
                        title: str = "", xlabel: str = "", logx: bool = False,
                        hue_order: Sequence[str] | None = None) -> plt.Figure:
    """Small multiples: one panel per ``panel`` value, mean success against ``x`` per ``hue``
    with a 95% CI band; the article's claims (a ``claimed_success`` column, where not NaN) dashed
    with open markers in the same colour. The y axis is shared so panels compare directly."""
    check_columns(summary, [x, hue, panel, "success", "ci_low", "ci_high"], "plot_curves_by_task")
    panels = list(dict.fromkeys(summary[panel]))
    hues = list(hue_order) if hue_order else list(dict.fromkeys(summary[hue]))
    colors = palette(hues)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 2.5, 4.0),
                             sharey=True, squeeze=False)
    xs = sorted(summary[x].unique())
    for ax, p in zip(axes[0], panels):
        sub = summary[summary[panel] == p]
        for h in hues:
            part = sub[sub[hue] == h]
            if not part.empty:
                draw_curve(ax, part, x, colors[h], h, band_alpha=0.15)
        if logx:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.set_ylim(-3, 105)
        ax.set_title(str(p))
        ax.set_xlabel(xlabel or x)
    axes[0][0].set_ylabel("success rate (%)")
    handles, labels = {}, []
    for ax in axes[0]:
        for hnd, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = hnd
                labels.append(lab)
    fig.legend([handles[lab] for lab in labels], labels, loc="upper left",
               bbox_to_anchor=(1.0, 0.9), fontsize="small", title=hue)
    fig.suptitle(title or f"Success against {xlabel or x}, one panel per {panel}")
    fig.tight_layout()
    return fig


def plot_noise_curves(summary: pd.DataFrame, hue: str = "method",
                      title: str = "Success under test-time sensor noise") -> plt.Figure:
    """``plot_curves`` against ``sigma``, wide enough for a long legend beside it, with
    ticks at the noise levels run."""
    fig = plot_curves(summary, x="sigma", hue=hue, title=title,
                      xlabel="test-time sensor noise σ (standardised units)")
    fig.set_size_inches(11, 4.6)
    fig.axes[0].set_xticks(sorted(summary["sigma"].unique()))
    fig.tight_layout()
    return fig


def plot_data_efficiency(summary: pd.DataFrame, hue: str = "method",
                         title: str = "Success against the number of demonstrations"
                         ) -> plt.Figure:
    """Mean success against ``n_demos`` (log scale, ticks at the counts run) per ``hue`` with a
    95% CI band, and the article's claims dashed where a ``claimed_success`` column has them."""
    check_columns(summary, ["n_demos", hue, "success", "ci_low", "ci_high"], "plot_data_efficiency")
    fig = plot_curves(summary, x="n_demos", hue=hue, title=title,
                      xlabel="demonstrations per task (log scale)")
    fig.set_size_inches(10, 4.4)
    ax = fig.axes[0]
    xs = sorted(summary["n_demos"].unique())
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(int(v)) for v in xs])
    ax.minorticks_off()
    ax.set_ylim(-3, 105)
    fig.tight_layout()
    return fig


def plot_retention(ret: pd.DataFrame, hue: str = "method",
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
    fig, ax = plt.subplots(figsize=(11, 4.6))
    top = 105.0
    for h in hues:
        part = ret[ret[hue] == h].sort_values("sigma")
        if part["retention"].notna().any():
            ax.plot(part["sigma"], 100 * part["retention"], "o-", color=colors[h],
                    label=f"{h} (ours)")
            top = max(top, 105 * float(part["retention"].max()))
        if "claimed_retention" in part and part["claimed_retention"].notna().any():
            ax.plot(part["sigma"], 100 * part["claimed_retention"], "o--", mfc="none",
                    color=colors[h], label=f"{h} (article's)")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    ax.set_xticks(sorted(ret["sigma"].unique()))
    ax.set_ylim(-3, top)
    ax.set_xlabel("test-time sensor noise σ (standardised units)")
    ax.set_ylabel("retention (% of clean success)")
    ax.set_title(title)
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_noise_conditions(table: pd.DataFrame, x: str = "method", condition: str = "condition",
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
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 1.3 * len(xs)) * len(panels) + 2, 4.6),
                             sharey=True, squeeze=False)
    for ax, p in zip(axes[0], panels):
        sub = table[table[panel] == p]
        for j, c in enumerate(conds):
            part = sub[sub[condition] == c].set_index(x).reindex(xs)
            pos = np.arange(len(xs)) + (j - (len(conds) - 1) / 2) * width
            err = np.vstack([part["success"] - part["ci_low"], part["ci_high"] - part["success"]])
            ax.bar(pos, 100 * part["success"], width, yerr=100 * np.nan_to_num(err), capsize=3,
                   color=colors[c], label=c if ax is axes[0][0] else None)
        ax.set_xticks(np.arange(len(xs)), [str(v).replace(" + ", "\n+ ") for v in xs],
                      fontsize="small")
        ax.set_ylim(0, 105)
        ax.set_title(f"{panel_label} = {p:g}" if isinstance(p, (int, float, np.number))
                     else f"{panel_label} = {p}")
        ax.set_xlabel(x)
    axes[0][0].set_ylabel("success rate (%)")
    fig.legend(loc="upper left", bbox_to_anchor=(1.0, 0.9), fontsize="small", title=condition)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
