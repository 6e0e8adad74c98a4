"""One look for every figure of the book: the theme and the colour of each key."""

from __future__ import annotations

from collections.abc import Sequence

import seaborn as sns


def set_style() -> None:
    """One look for every figure of the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def palette(keys: Sequence[str]) -> dict[str, tuple]:
    """One colour per key, from the book's colour-blind palette, in the order given."""
    return dict(zip(keys, sns.color_palette("colorblind", len(keys))))
