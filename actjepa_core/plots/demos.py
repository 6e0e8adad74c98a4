"""Figures of chapter 1: the tasks, and what the scripted experts demonstrate."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..analysis import actions_frame, first_success_steps
from ..data import Demonstrations
from ..envs import get_task


def plot_frames(frames: dict[str, np.ndarray]) -> plt.Figure:
    """A row of rendered frames, one per task."""
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 3.5), squeeze=False)
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
    fig, axes = plt.subplots(1, len(demos), figsize=(3.4 * len(demos), 3.8), squeeze=False)
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
        ax.set_title(task)
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_aspect("equal", adjustable="datalim")
    fig.suptitle(f"Demonstrated paths from above, first {n_episodes} episodes per task:\n"
                 "gripper solid, block dashed (Push, Pick-and-Place), goal a star")
    fig.tight_layout()
    return fig


def plot_action_distributions(demos: dict[str, Demonstrations]) -> plt.Figure:
    """Histogram of each action component per task (actions are clipped to [-1, 1])."""
    df = actions_frame(demos)
    g = sns.displot(df, x="value", col="component", col_wrap=2, hue="task", kind="hist",
                    bins=41, stat="density", common_norm=False, element="step", height=2.6,
                    aspect=1.5, facet_kws={"sharey": False})
    g.set_axis_labels("action value (clipped to [-1, 1])", "density")
    g.set_titles("{col_name}")
    g.figure.suptitle("Distribution of demonstrated actions", y=1.04)
    return g.figure


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
