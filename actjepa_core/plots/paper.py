"""Figures of chapters 11 and 12: the paper's ACT-JEPA, its losses, its forecasts, its probes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..analysis import check_columns
from .style import palette, panel_grid


def plot_loss_terms(terms: pd.DataFrame, title: str = "The loss terms of ACT-JEPA (paper)"
                    ) -> plt.Figure:
    """Each logged loss term (``report_paper.loss_terms``) against the step, log scale."""
    check_columns(terms, ["step", "term", "value"], "plot_loss_terms")
    fig, ax = plt.subplots(figsize=(7.5, 4))
    sns.lineplot(terms, x="step", y="value", hue="term", ax=ax, errorbar=None)
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss term (log scale)")
    ax.set_title(title)
    ax.legend(title="term", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_future_errors(errors: pd.DataFrame,
                       title: str = "Latent forecast error against the best constant guess"
                       ) -> plt.Figure:
    """Squared latent error per target step j (``report_paper.future_errors``): the
    predictor's, and the best constant guess's (the mean target token of step j)."""
    check_columns(errors, ["j", "predictor", "mean guess"], "plot_future_errors")
    fig, ax = plt.subplots(figsize=(7, 4))
    for col, style in (("predictor", "o-"), ("mean guess", "s--")):
        ax.plot(errors["j"], errors[col], style, label=col)
    ax.set_xlabel("target step j (0: o_t itself)")
    ax.set_ylabel("squared l2 error in latent space")
    ax.set_xticks(errors["j"])
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_probe_curves(summary: pd.DataFrame, title: str = "What the encoder knows of the future"
                      ) -> plt.Figure:
    """Held-out R^2 of the future probes against j, one panel per task, a 95% band over seeds."""
    check_columns(summary, ["task", "label", "j", "success", "ci_low", "ci_high"],
                  "plot_probe_curves")
    tasks = list(dict.fromkeys(summary.task))
    colors = palette(list(dict.fromkeys(summary.label)))
    fig, axes = panel_grid(len(tasks))
    for ax, task in zip(axes, tasks):
        for label, part in summary[summary.task == task].groupby("label", sort=False):
            part = part.sort_values("j")
            ax.plot(part.j, part.success, "o-", color=colors[label], label=label)
            ax.fill_between(part.j, part.ci_low, part.ci_high, color=colors[label], alpha=0.2, lw=0)
        ax.set_title(task)
        ax.set_xlabel("future step j")
    for ax in axes[::2]:
        ax.set_ylabel("held-out R² of o_{t+j} − o_t")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), title="method (band: 95% CI)",
               frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
