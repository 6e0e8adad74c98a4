"""Disjoint ranges of environment seeds, one per use, so no evaluation episode is ever a
demonstration episode (or a check of the experts) in disguise.

An environment seed fixes the initial gripper, object and goal positions of one episode.
Each use owns a block of ``BLOCK`` consecutive seeds; ``episode_seeds(use, n, offset)``
hands out ``n`` of them starting ``offset`` into the block and refuses to cross its end.
"""

from __future__ import annotations

import numpy as np

BLOCK = 1_000_000
USES: dict[str, int] = {
    "demonstrations": 0,
    "evaluation": 1,
    "expert_check": 2,
    "tests": 3,
    "validation": 4,
}
"""Each use's block: ``evaluation`` holds the test episodes every reported number comes from;
``validation`` the episodes that choose budgets and hyperparameters (learning curves and the
search of chapter 12), never a test episode."""

SPLITS: dict[str, str] = {"test": "evaluation", "validation": "validation"}
"""Where a learned policy is evaluated -> the seed use its episodes come from."""


def episode_seeds(use: str, n: int, offset: int = 0) -> np.ndarray:
    """``n`` environment seeds reserved for ``use``, starting ``offset`` into its block."""
    if use not in USES:
        raise ValueError(f"unknown seed use {use!r}; known uses are {sorted(USES)}")
    if n < 0 or offset < 0 or offset + n > BLOCK:
        raise ValueError(f"seeds [{offset}, {offset + n}) do not fit in a block of {BLOCK}")
    start = USES[use] * BLOCK + offset
    return np.arange(start, start + n, dtype=np.int64)
