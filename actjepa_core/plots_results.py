"""Figures (and the small frames behind them) of the noise-robustness and data-efficiency
chapters.

Each ``plot_*`` function takes a summary frame (columns of ``evaluate.summarize``: ``success,
ci_low, ci_high``, plus ``claimed_success`` where the article has a number) and returns a figure
with a title, axis labels with units and a legend, so a notebook cell is one call.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .plots import check_columns, draw_curve, palette, plot_curves


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
    """``plots.plot_curves`` against ``sigma``, wide enough for a long legend beside it, with
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
