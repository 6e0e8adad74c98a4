"""The book's figures. Each ``plot_*`` function takes data (a tidy frame from ``analysis`` or a
report module), returns the figure with a title, axis labels with units and a legend, so a
notebook cell is one call. The look (theme, palette) is set once, in ``style``.

``demos``: chapter 1; ``training``: pretraining and collapse (3-4); ``results``: success bars and
curves (5-9, 12); ``audit``: the claims audit (10); ``paper``: the paper's ACT-JEPA (11-12); ``pixels``: what a pixel policy sees (13).
"""

from . import audit, demos, paper, pixels, results, training
from .style import palette, set_style

__all__ = ["audit", "demos", "paper", "pixels", "results", "training", "palette", "set_style"]
