"""One look for every figure of the book: the theme and the colour of each key."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import matplotlib.pyplot as plt
import seaborn as sns

from ..suites import BASELINES


def set_style() -> None:
    """One look for every figure of the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def panel_grid(n_panels: int, width: float = 4.6, height: float = 3.4, sharey: bool = True
               ) -> tuple[plt.Figure, list[plt.Axes]]:
    """Small multiples at a size the page can show: two columns (a 2x2 grid for three or four
    panels, the spare one hidden), room under them for a legend. A row of three panels plus a
    legend beside it is over 15 inches wide and the page shrinks its text to a third."""
    ncols = 2 if n_panels > 2 else n_panels
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 1.2),
                             sharey=sharey, squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n_panels])


def palette(keys: Sequence[str]) -> dict[str, tuple]:
    """One colour per key, from the book's colour-blind palette.

    The main table's five methods keep one colour each in every figure (raw BC blue, ACT-JEPA
    + BC pink, whichever others a figure shows), so a reader can follow a method from the bars
    of one chapter to the curves of the next; any other key takes the next unused colour, in
    the order given (keys that are no method at all start from the first colour)."""
    colours = sns.color_palette("colorblind", 10)
    methods = list(BASELINES.values())
    fixed = {k: colours[methods.index(k)] for k in keys if k in methods}
    free = itertools.cycle([c for i, c in enumerate(colours) if not fixed or i >= len(methods)])
    return {k: fixed[k] if k in fixed else next(free) for k in keys}
