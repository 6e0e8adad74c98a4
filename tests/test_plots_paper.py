"""The paper chapters' probe figure: one panel per task, legible at page width."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from actjepa_core.plots import paper


def test_plot_probe_curves_one_panel_per_task_and_a_legend_below() -> None:
    summary = pd.DataFrame([{"task": t, "label": m, "j": j, "success": 0.5, "ci_low": 0.4,
                             "ci_high": 0.6}
                            for t in ("reach", "push", "pick_place") for m in ("ACT", "ACT-JEPA")
                            for j in (1, 2, 3)])
    fig = paper.plot_probe_curves(summary)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["reach", "push", "pick_place"]
    assert all(len(ax.lines) == 2 for ax in visible)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["ACT", "ACT-JEPA"]
    assert fig.get_figwidth() <= 10
    plt.close(fig)
