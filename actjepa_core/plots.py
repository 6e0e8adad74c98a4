"""Seaborn figures the notebooks show. Each function takes data, returns the figure, and
sets titles, axis labels with units, and a legend, so a notebook cell is one call."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .data import Demonstrations
from .envs import get_task

ACTION_NAMES = ("dx", "dy", "dz", "fingers")
"""The four action components of the Fetch tasks."""


def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Fail with the missing column names when a figure gets a frame of the wrong shape."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {missing}; got {list(df.columns)}")


def set_style() -> None:
    """One look for every figure of the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def plot_frames(frames: dict[str, np.ndarray]) -> plt.Figure:
    """A row of rendered frames, one per task."""
    fig, axes = plt.subplots(1, len(frames), figsize=(4 * len(frames), 4), squeeze=False)
    for ax, (task, frame) in zip(axes[0], frames.items()):
        ax.imshow(frame)
        ax.set_title(f"{task} ({get_task(task).env_id})")
        ax.axis("off")
    fig.suptitle("The three Fetch tasks at their first step (seed 0)")
    fig.tight_layout()
    return fig


def plot_paths(demos: dict[str, Demonstrations], n_episodes: int = 12) -> plt.Figure:
    """Top-down (x, y) paths of the gripper, and of the block where there is one.

    A circle marks where a path starts, a star the episode's goal.
    """
    fig, axes = plt.subplots(1, len(demos), figsize=(5 * len(demos), 4.6), squeeze=False)
    palette = sns.color_palette("husl", n_episodes)
    for ax, (task, d) in zip(axes[0], demos.items()):
        lay = get_task(task).layout
        for i in range(min(n_episodes, d.n_episodes)):
            grip = d.obs[i, :, lay["grip_pos"]]
            ax.plot(grip[:, 0], grip[:, 1], color=palette[i], lw=1.2, alpha=0.8)
            ax.plot(grip[0, 0], grip[0, 1], "o", color=palette[i], ms=4)
            if "object_pos" in lay.slices:
                obj = d.obs[i, :, lay["object_pos"]]
                ax.plot(obj[:, 0], obj[:, 1], color=palette[i], lw=2.5, ls="--", alpha=0.9)
            goal = d.obs[i, 0, lay["goal"]]
            ax.plot(goal[0], goal[1], "*", color=palette[i], ms=12, mec="k", mew=0.5)
        parts = "gripper (solid), block (dashed)" if "object_pos" in lay.slices else "gripper"
        ax.set_title(f"{task}: {parts}, goal (star)")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(f"Demonstrated paths seen from above, first {n_episodes} episodes per task")
    fig.tight_layout()
    return fig


def actions_frame(demos: dict[str, Demonstrations]) -> pd.DataFrame:
    """Tidy table of every demonstrated action: task, component, value."""
    rows = []
    for task, d in demos.items():
        acts = d.actions.reshape(-1, d.actions.shape[-1])
        for j, name in enumerate(ACTION_NAMES):
            rows.append(pd.DataFrame({"task": task, "component": name, "value": acts[:, j]}))
    return pd.concat(rows, ignore_index=True)


def plot_action_distributions(demos: dict[str, Demonstrations]) -> plt.Figure:
    """Histogram of each action component per task (actions are clipped to [-1, 1])."""
    df = actions_frame(demos)
    g = sns.displot(df, x="value", col="component", hue="task", kind="hist", bins=41,
                    stat="density", common_norm=False, element="step", height=3, aspect=1.1,
                    facet_kws={"sharey": False})
    g.set_axis_labels("action value (clipped to [-1, 1])", "density")
    g.set_titles("{col_name}")
    g.figure.suptitle("Distribution of demonstrated actions", y=1.04)
    return g.figure


def first_success_steps(d: Demonstrations) -> np.ndarray:
    """Per episode, the first step whose reward says the goal is reached (NaN if never).

    Fetch episodes all last 50 steps, so the length of an episode says nothing; the step at
    which the expert first reaches the goal is the informative "length".
    """
    reached = d.rewards == 0
    first = reached.argmax(axis=1).astype(float) + 1
    first[~reached.any(axis=1)] = np.nan
    return first


def plot_time_to_success(demos: dict[str, Demonstrations]) -> plt.Figure:
    """Distribution of the step at which each demonstration first reaches its goal."""
    df = pd.concat([pd.DataFrame({"task": t, "step": first_success_steps(d)})
                    for t, d in demos.items()], ignore_index=True)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    sns.histplot(df, x="step", hue="task", bins=np.arange(0.5, 51.5, 1), element="step", ax=ax)
    ax.set_xlabel("first step at the goal (of 50)")
    ax.set_ylabel("episodes")
    ax.set_title("How long the expert takes to reach the goal")
    fig.tight_layout()
    return fig


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


def palette(keys: Sequence[str]) -> dict[str, tuple]:
    """One colour per key, from the book's colour-blind palette, in the order given."""
    return dict(zip(keys, sns.color_palette("colorblind", len(keys))))


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
