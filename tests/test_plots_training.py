"""The training figures: each returns a figure with the expected panels, titles, labels, legends."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from actjepa_core import analysis
from actjepa_core.plots import training as pt
from actjepa_core.monitor import ERANK_COLLAPSE, STD_COLLAPSE_FRACTION

D = 16


def fake_history(steps: int = 30, every: int = 10, ema: bool = True, shrink: float = 0.0,
                 seed: int = 0) -> pd.DataFrame:
    """A history shaped like ``train_jepa``'s: per-step columns, monitor columns every ``every``."""
    rng = np.random.default_rng(seed)
    step = np.arange(1, steps + 1)
    df = pd.DataFrame({
        "step": step,
        "loss": np.exp(-step / steps) + 0.01 * rng.random(steps),
        "lr": np.linspace(1e-3, 0, steps),
        "tau": np.linspace(0.996, 1.0, steps) if ema else np.full(steps, np.nan),
    })
    mon = step % every == 0
    for enc in ("online", "target"):
        df[f"{enc}_std"] = np.where(mon, 0.05 * (1 - shrink * step / steps), np.nan)
        df[f"{enc}_erank"] = np.where(mon, 10.0 * (1 - shrink * step / steps) + 1, np.nan)
        df[f"{enc}_cos"] = np.where(mon, 0.5, np.nan)
        df[f"{enc}_collapsed"] = np.where(mon, 0.0, np.nan)
    df["drift"] = np.where(mon, step / steps / 10, np.nan)
    return df


@pytest.fixture
def stacked() -> pd.DataFrame:
    runs = {(name, s): fake_history(ema=name != "no EMA", shrink=0.9 if name == "no EMA" else 0.0,
                                    seed=s)
            for name in ("EMA", "no EMA") for s in range(2)}
    return analysis.stack_histories(runs, names=("config", "seed"))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _labelled(ax: plt.Axes) -> None:
    assert ax.get_title(), "panel has no title"
    assert ax.get_xlabel() and ax.get_ylabel(), "panel lacks axis labels"


def test_stack_histories_adds_key_columns(stacked: pd.DataFrame) -> None:
    assert set(stacked["config"]) == {"EMA", "no EMA"}
    assert set(stacked["seed"]) == {0, 1}
    assert len(stacked) == 4 * 30


def test_stack_histories_rejects_mismatched_keys() -> None:
    with pytest.raises(ValueError, match="does not match"):
        analysis.stack_histories({("a", 0): fake_history()}, names=("config",))
    with pytest.raises(ValueError, match="no histories"):
        analysis.stack_histories({})


def test_plot_loss_single_run_is_log_scale() -> None:
    fig = pt.plot_loss(fake_history(), title="my loss")
    (ax,) = fig.axes
    _labelled(ax)
    assert ax.get_title() == "my loss"
    assert ax.get_yscale() == "log"
    assert "step" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "per step" and labels[1].startswith("rolling mean")


def test_plot_loss_with_hue_has_one_entry_per_config(stacked: pd.DataFrame) -> None:
    fig = pt.plot_loss(stacked, hue="config")
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["EMA", "no EMA"]


def test_plot_schedules_two_panels_with_tau_range() -> None:
    fig = pt.plot_schedules(fake_history(), title="schedules")
    ax_lr, ax_tau = fig.axes
    for ax in (ax_lr, ax_tau):
        _labelled(ax)
        assert ax.get_legend() is not None
    assert "0.996" in ax_tau.get_title() and "1" in ax_tau.get_title()
    assert fig._suptitle.get_text() == "schedules"
    tau_line = ax_tau.get_lines()[0]
    assert tau_line.get_ydata()[0] == pytest.approx(0.996)


def test_plot_schedules_without_ema_says_so() -> None:
    fig = pt.plot_schedules(fake_history(ema=False))
    assert "No EMA" in fig.axes[1].get_title()


def test_plot_drift_uses_monitor_steps_only() -> None:
    fig = pt.plot_drift(fake_history())
    (ax,) = fig.axes
    _labelled(ax)
    assert list(ax.get_lines()[0].get_xdata()) == [10, 20, 30]
    assert ax.get_legend() is not None


def test_plot_collapse_panels_thresholds_and_legend(stacked: pd.DataFrame) -> None:
    fig = pt.plot_collapse(stacked, repr_dim=D, hue="config", title="collapse")
    ax_std, ax_rank = fig.axes
    for ax in (ax_std, ax_rank):
        _labelled(ax)
    assert "std" in ax_std.get_ylabel() and "effective rank" in ax_rank.get_ylabel()
    assert fig._suptitle.get_text() == "collapse"
    flat = {round(float(line.get_ydata()[0]), 6) for line in ax_std.get_lines()
            if len(set(np.asarray(line.get_ydata(), dtype=float))) == 1}
    assert round(1 / math.sqrt(D), 6) in flat
    assert round(STD_COLLAPSE_FRACTION / math.sqrt(D), 6) in flat
    assert any(np.allclose(line.get_ydata(), ERANK_COLLAPSE) for line in ax_rank.get_lines())
    (fig_legend,) = fig.legends
    assert [t.get_text() for t in fig_legend.get_texts()] == ["EMA", "no EMA"]


def test_plot_collapse_needs_the_hue_column() -> None:
    with pytest.raises(ValueError, match="config"):
        pt.plot_collapse(fake_history(), repr_dim=D)


def test_summarize_final_reads_last_monitor_row(stacked: pd.DataFrame) -> None:
    summary = analysis.summarize_final(stacked)
    assert list(summary.index) == ["EMA", "no EMA"]
    assert summary.loc["EMA", "seeds"] == 2
    # shrink=0.9 leaves 10% of the std at the last step
    assert summary.loc["no EMA", "online_std"] == pytest.approx(0.005)
    assert summary.loc["EMA", "online_erank"] == pytest.approx(11.0)
    assert summary.loc["EMA", "collapsed"] == 0.0
    assert summary.loc["EMA", "final_loss"] < 1.0
    # lowest reading during training: the last one for the shrinking run
    assert summary.loc["no EMA", "online_erank_lowest"] == pytest.approx(2.0)


def test_summarize_final_keeps_first_appearance_order() -> None:
    runs = {(name, 0): fake_history() for name in ("zeta", "alpha", "mid")}
    summary = analysis.summarize_final(analysis.stack_histories(runs, names=("config", "seed")))
    assert list(summary.index) == ["zeta", "alpha", "mid"]
