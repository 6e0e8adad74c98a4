"""The noise-robustness and data-efficiency figures, each on a tiny synthetic frame."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from actjepa_core.plots import results as pr
from actjepa_core.evaluate import summarize
from helpers import episodes

TASKS = ("reach", "push")
METHODS = {"raw": "raw BC", "actjepa": "ACT-JEPA + BC"}

@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _labelled(ax: plt.Axes, title: bool = True) -> None:
    if title:
        assert ax.get_title(), "panel has no title"
    assert ax.get_xlabel() and ax.get_ylabel(), "panel lacks axis labels"


def test_plot_curves_by_task_one_panel_per_task_with_shared_legend() -> None:
    summary = summarize(episodes("sigma", (0.0, 0.1, 0.3)), by=("task", "label", "sigma"))
    summary["claimed_success"] = np.nan
    fig = pr.plot_curves_by_task(summary, x="sigma", title="per task", xlabel="σ (standardised)")
    assert [ax.get_title() for ax in fig.axes] == list(TASKS)
    _labelled(fig.axes[0])
    assert fig._suptitle.get_text() == "per task"
    (legend,) = fig.legends  # one per figure, one entry per method, no line-style key
    assert [t.get_text() for t in legend.get_texts()] == list(METHODS.values())
    assert sorted(fig.axes[0].get_xticks()) == pytest.approx([0.0, 0.1, 0.3])


def test_plot_curves_by_task_log_x() -> None:
    summary = summarize(episodes("n_demos", (2, 4, 8)), by=("task", "label", "n_demos"))
    fig = pr.plot_curves_by_task(summary, x="n_demos", logx=True)
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert fig.axes[1].get_xlabel() == "n_demos"


def styles(ax: plt.Axes) -> list[str]:
    """Line style of each curve drawn (bands and reference lines are not Line2D curves here)."""
    return [line.get_linestyle() for line in ax.lines]


def legend_texts(fig: plt.Figure) -> list[str]:
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()]


def test_three_panels_fill_a_two_by_two_grid() -> None:
    rows = pd.concat([episodes("sigma", (0.0, 0.1)).assign(task=t) for t in ("a", "b", "c")])
    summary = summarize(rows, by=("task", "label", "sigma"))
    fig = pr.plot_curves_by_task(summary, x="sigma")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["a", "b", "c"] and len(fig.axes) == 4
    assert fig.get_figwidth() <= 10  # legible at page width, not a 15-inch strip


def test_plot_noise_curves_and_data_efficiency_show_the_claims() -> None:
    s = summarize(episodes("sigma", (0.0, 0.3)), by=("label", "sigma"))
    s["claimed_success"] = [0.5, 0.3, 0.6, 0.4]
    fig = pr.plot_noise_curves(s, title="noise")
    (ax,) = fig.axes
    _labelled(ax)
    assert legend_texts(fig) == [*METHODS.values(), "ours (band: 95% CI)", "the article's claim"]
    assert styles(ax) == ["-", "--", "-", "--"]
    assert "σ" in ax.get_xlabel()

    d = summarize(episodes("n_demos", (10, 25)), by=("label", "n_demos"))
    d["claimed_success"] = [0.2, 0.3, np.nan, np.nan]
    fig = pr.plot_data_efficiency(d, title="data")
    (ax,) = fig.axes
    _labelled(ax)
    assert ax.get_xscale() == "log"
    assert styles(ax).count("--") == 1  # the one method with claimed numbers


def test_plot_budget_curves_ticks_each_budget_on_a_log_axis_cut_to_ylim() -> None:
    s = summarize(episodes("steps", (20000, 40000, 80000)), by=("label", "steps"))
    fig = pr.plot_budget_curves(s, title="budget", ylim=(60, 101))
    (ax,) = fig.axes
    _labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_ylim() == (60, 101)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20,000", "40,000", "80,000"]


def test_plot_retention_skips_undefined_and_draws_the_claim() -> None:
    ret = pd.DataFrame({"label": ["a", "a", "b", "b"], "sigma": [0.0, 0.3, 0.0, 0.3],
                        "retention": [1.0, 0.5, np.nan, np.nan],
                        "claimed_retention": [1.0, 0.4, 1.0, 0.2]})
    fig = pr.plot_retention(ret, title="ret")
    (ax,) = fig.axes
    _labelled(ax)
    assert legend_texts(fig) == ["a", "b", "ours", "the article's"]
    assert styles(ax)[:3] == ["-", "--", "--"]  # a ours, a claimed, b claimed (b has no retention)
    assert "%" in ax.get_ylabel()


def test_plot_noise_conditions_panels_bars_and_legend() -> None:
    rows = episodes("sigma", (0.1, 0.3))
    both = pd.concat([rows.assign(condition="test only"), rows.assign(condition="train and test")])
    table = summarize(both, by=("label", "sigma", "condition"))
    fig = pr.plot_noise_conditions(table, title="conditions")
    assert [ax.get_title() for ax in fig.axes] == ["σ = 0.1", "σ = 0.3"]
    _labelled(fig.axes[0])
    assert len(fig.axes[0].patches) == len(METHODS) * 2
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["test only", "train and test"]
    with pytest.raises(ValueError, match="needs the columns"):
        pr.plot_noise_conditions(table.drop(columns="condition"))


def test_success_bars_name_their_legend_for_a_reader() -> None:
    summary = summarize(episodes("sigma", (0.0,)), by=("task", "label"))
    ax = pr.plot_success(summary).axes[0]
    assert ax.get_legend().get_title().get_text() == "method"  # not the column's name, label
    _labelled(ax)


def test_a_method_keeps_its_colour_whichever_others_a_figure_shows() -> None:
    """The bar chart of five methods and the noise curves of four must agree on each one's
    colour; keys that are no method still take the palette in order."""
    from actjepa_core.plots.style import palette
    from actjepa_core.suites import BASELINES

    five = palette(list(BASELINES.values()))
    four = palette([BASELINES[m] for m in ("raw", "autoencoder", "passive", "actjepa")])
    assert all(four[k] == five[k] for k in four)
    assert len(set(five.values())) == 5
    mixed = palette(["ACT", BASELINES["actjepa"], "Diffusion Policy"])
    assert mixed[BASELINES["actjepa"]] == five[BASELINES["actjepa"]]
    assert len({*mixed.values(), *five.values()}) == 7  # the others take unused colours
    assert list(palette(["a", "b"]).values()) == list(five.values())[:2]
