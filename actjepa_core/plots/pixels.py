"""Chapter 13's figure of what a pixel policy sees."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np


def plot_frames(frames: Mapping[str, Mapping[float, np.ndarray]], title: str) -> plt.Figure:
    """Tasks (rows) x test-noise levels (columns) of (H, W, 3) uint8 frames, shown at their
    own pixels (nearest-neighbour, no smoothing), so the reader sees the policy's input."""
    tasks = list(frames)
    sigmas = list(next(iter(frames.values())))
    fig, axes = plt.subplots(len(tasks), len(sigmas), figsize=(1.9 * len(sigmas), 2.0 * len(tasks)),
                             squeeze=False)
    for i, task in enumerate(tasks):
        for j, s in enumerate(sigmas):
            ax = axes[i, j]
            ax.imshow(frames[task][s], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("clean" if s == 0 else f"σ = {s:g}")
            if j == 0:
                ax.set_ylabel(task)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
