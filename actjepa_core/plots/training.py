"""Seaborn figures of ACT-JEPA pretraining: loss, schedules, drift and collapse monitoring.

Every function takes the history ``DataFrame`` of ``methods.actjepa.train_jepa`` (one row per step;
the collapse columns are filled every ``monitor_every`` steps), or several of them stacked by
``analysis.stack_histories``, and returns a figure with a title, axis labels with units and a legend.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..analysis import check_columns
from ..monitor import ERANK_COLLAPSE, STD_COLLAPSE_FRACTION


def _smooth(values: pd.Series, window: int) -> pd.Series:
    return values.rolling(window, min_periods=1, center=True).mean()


def _hue_title(df: pd.DataFrame, hue: str) -> str:
    """Legend title; mentions the band only when some hue value has several runs per step."""
    several = df.groupby([hue, "step"], sort=False).size().max() > 1
    return f"{hue} (line: mean; band: range over runs)" if several else hue


def plot_loss(history: pd.DataFrame, hue: str | None = None, smooth: int | None = None,
              title: str = "ACT-JEPA latent loss during pretraining") -> plt.Figure:
    """Per-step loss on a log scale, with a rolling mean over ``smooth`` steps.

    With ``hue`` (a column of stacked histories) one line per value of that column; rows that
    share ``hue`` and ``step`` (e.g. several seeds) are averaged, with a band over them.
    """
    check_columns(history, ["step", "loss"] + ([hue] if hue else []), "plot_loss")
    n_steps = int(history["step"].max())
    window = smooth or max(1, n_steps // 50)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    if hue is None:
        ax.plot(history["step"], history["loss"], lw=0.6, alpha=0.35, label="per step")
        ax.plot(history["step"], _smooth(history["loss"], window), lw=2,
                label=f"rolling mean ({window} steps)")
    else:
        df = history.copy()
        keys = [c for c in ("run", "seed", hue) if c in df.columns]
        df["smoothed loss"] = df.groupby(keys, sort=False)["loss"].transform(
            lambda s: _smooth(s, window))
        sns.lineplot(df, x="step", y="smoothed loss", hue=hue, errorbar=("pi", 100), ax=ax)
        ax.legend(title=_hue_title(df, hue), loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yscale("log")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("latent loss (squared l2; log scale)")
    ax.set_title(title)
    if hue is None:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_schedules(history: pd.DataFrame,
                   title: str = "Learning-rate and EMA-momentum schedules") -> plt.Figure:
    """Two panels: the learning rate (warmup then cosine) and the EMA momentum tau."""
    check_columns(history, ("step", "lr", "tau"), "plot_schedules")
    fig, (ax_lr, ax_tau) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_lr.plot(history["step"], history["lr"], label="AdamW learning rate")
    ax_lr.set_xlabel("optimiser step")
    ax_lr.set_ylabel("learning rate (per step)")
    ax_lr.set_title("Linear warmup, then cosine decay")
    ax_lr.legend()
    tau = history["tau"]
    if tau.notna().any():
        ax_tau.plot(history["step"], tau, color="C1", label="tau (weight kept by the target)")
        ax_tau.ticklabel_format(axis="y", useOffset=False)
        ax_tau.set_title(f"EMA momentum: {tau.dropna().iloc[0]:.4g} -> {tau.dropna().iloc[-1]:.4g}")
    else:
        ax_tau.plot([], [], color="C1", label="tau undefined (no EMA)")
        ax_tau.set_title("No EMA: the target is the online encoder")
    ax_tau.set_xlabel("optimiser step")
    ax_tau.set_ylabel("momentum (dimensionless)")
    ax_tau.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_drift(history: pd.DataFrame, hue: str | None = None,
               title: str = "How far the target encoder lags behind the online encoder"
               ) -> plt.Figure:
    """Relative parameter distance ||theta - theta_bar|| / ||theta|| on the monitor steps."""
    check_columns(history, ["step", "drift"] + ([hue] if hue else []), "plot_drift")
    df = history[history["drift"].notna()]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    if hue is None:
        ax.plot(df["step"], df["drift"], marker="o", ms=3, label="online vs target (EMA)")
        ax.legend()
    else:
        sns.lineplot(df, x="step", y="drift", hue=hue, errorbar=("pi", 100), marker="o", ax=ax)
        ax.legend(title=_hue_title(df, hue), loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("relative parameter distance (ratio)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_collapse(history: pd.DataFrame, repr_dim: int, hue: str = "config",
                  encoder: str = "online",
                  title: str = "Collapse monitor: spread and effective rank of the embeddings",
                  name: str | None = None) -> plt.Figure:
    """Per-dimension std of l2-normalised embeddings and effective rank over training.

    One line per value of ``hue``: the mean over the runs (e.g. seeds) that share it, with a
    band from the smallest to the largest run. Dotted lines mark the collapse thresholds of
    ``monitor`` and, for the std, the value ``1/sqrt(D)`` of embeddings spread evenly over
    the sphere. ``name`` titles the panels (default "<encoder> encoder").
    """
    std_col, erank_col = f"{encoder}_std", f"{encoder}_erank"
    check_columns(history, ("step", std_col, erank_col, hue), "plot_collapse")
    df = history[history[std_col].notna()]
    fig, (ax_std, ax_rank) = plt.subplots(1, 2, figsize=(10, 4.4))
    marks = {"marker": "o", "ms": 4} if df["step"].nunique() <= 30 else {}
    sns.lineplot(df, x="step", y=std_col, hue=hue, errorbar=("pi", 100), ax=ax_std, **marks)
    sns.lineplot(df, x="step", y=erank_col, hue=hue, errorbar=("pi", 100), ax=ax_rank,
                 legend=False, **marks)
    healthy = 1.0 / math.sqrt(repr_dim)
    ax_std.axhline(healthy, color="0.4", ls="--", lw=1.2,
                   label=f"evenly spread: 1/sqrt(D) = {healthy:.3f}")
    ax_std.axhline(STD_COLLAPSE_FRACTION * healthy, color="black", ls=":", lw=1.8,
                   label=f"collapse threshold {STD_COLLAPSE_FRACTION:g}/sqrt(D)")
    ax_rank.axhline(ERANK_COLLAPSE, color="black", ls=":", lw=1.8,
                    label=f"collapse threshold {ERANK_COLLAPSE:g}")
    ax_std.set_ylim(bottom=0)
    ax_rank.set_ylim(bottom=0)
    ax_std.set_xlabel("optimiser step")
    ax_rank.set_xlabel("optimiser step")
    ax_std.set_ylabel("mean per-dimension std (unit-norm embeddings)")
    ax_rank.set_ylabel(f"effective rank (of at most D = {repr_dim})")
    name = name or f"{encoder} encoder"
    ax_std.set_title(f"{name}: spread across the batch")
    ax_rank.set_title(f"{name}: effective rank")
    ax_rank.legend(fontsize="small", loc="best")
    handles, labels = ax_std.get_legend_handles_labels()
    n_hue = history[hue].nunique()
    fig.suptitle(title)
    fig.legend(handles[:n_hue], labels[:n_hue], title=f"{hue} (line: mean; band: range over seeds)",
               loc="lower center", ncol=min(n_hue, 5), bbox_to_anchor=(0.5, -0.02), frameon=False)
    # keep only the reference lines in the std panel's own legend
    ax_std.legend(handles[n_hue:], labels[n_hue:], fontsize="small", loc="best")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
