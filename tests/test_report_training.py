"""Chapters 3 and 4's tables and sentences from small hand-made histories whose answers are
known, and their training calls on a toy system."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from actjepa_core import claims, monitor, report_training as rt, training
from actjepa_core.methods import actjepa
from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.profiles import get_profile
from actjepa_core.report_article import FULL, NO_EMA
from helpers import A, O, toy_data

NAN = math.nan


def history(loss: list[float], every: int, erank: list[float] | None = None,
            drift: list[float] | None = None, collapsed: list[float] | None = None
            ) -> pd.DataFrame:
    """A history shaped like ``actjepa.train_jepa``'s: one row per step from 1, the monitor's
    columns only on every ``every``-th step (and the last), given there in order."""
    n = len(loss)
    steps = np.arange(1, n + 1)
    read = (steps % every == 0) | (steps == n)
    k = int(read.sum())

    def on_reads(values: list[float] | None, default: float) -> np.ndarray:
        col = np.full(n, NAN)
        col[read] = values if values is not None else [default] * k
        return col

    return pd.DataFrame({
        "step": steps, "loss": loss, "lr": 1e-3, "tau": 0.996,
        "online_std": on_reads(None, 0.05), "online_erank": on_reads(erank, 40.0),
        "online_collapsed": on_reads(collapsed, 0.0), "target_erank": on_reads(None, 30.0),
        "drift": on_reads(drift, 0.1),
    })


def run(hist: pd.DataFrame, seconds: float = 2.0, transitions: int = 50) -> rt.Run:
    cfg = JEPAConfig(obs_dim=O, action_dim=A, steps=len(hist), device="cpu")
    return rt.Run(cfg, None, hist, seconds, transitions)


# ------------------------------------------------------------------------------- chapter 3
def test_initial_and_final_loss_average_the_first_percent_and_the_last_tenth():
    loss = list(np.arange(200, 0, -1, dtype=float))          # 200, 199, ..., 1
    h = history(loss, every=50)
    assert rt.initial_loss(h) == 199.5                        # first 2 steps: 200, 199
    assert rt.final_loss(h) == 10.5                           # last 20 steps: 20 .. 1
    short = history([4.0, 2.0, 6.0], every=3)                 # at least one step each
    assert rt.initial_loss(short) == 4.0 and rt.final_loss(short) == 6.0


def test_smoothed_loss_is_a_centred_mean_over_a_fiftieth_of_each_run():
    loss = [0.0] * 150
    loss[10] = 3.0                                            # window 150 // 50 = 3
    s = rt.smoothed_loss(history(loss, every=50))
    assert list(s.iloc[8:13]) == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert s.iloc[0] == 0.0 and s.iloc[-1] == 0.0             # edges: what the window holds
    edge = [9.0, 3.0] + [0.0] * 148
    assert rt.smoothed_loss(history(edge, every=50)).iloc[0] == 6.0
    # stacked runs are smoothed one by one, each with its own window (100 // 50 = 2 here)
    a, b = history(loss, every=50), history([5.0] * 100, every=50)
    stacked = pd.concat([a.assign(run="a"), b.assign(run="b")], ignore_index=True)
    s2 = rt.smoothed_loss(stacked, by=("run",))
    assert list(s2.iloc[:150]) == list(s)
    assert (s2.iloc[150:] == 5.0).all()                      # no leak from run "a" into "b"


def test_training_sentence_gives_time_speed_device_and_direction():
    loss = list(np.linspace(2.0, 1.0, 100))
    text = rt.training_sentence(run(history(loss, every=20), seconds=2.0, transitions=50))
    assert text == ("100 steps on 50 transitions took 2.0 s (50 steps/s on `cpu`). The loss fell "
                    "from 2 (first 1 % of the steps) to 1.05 (mean of the last 10 %).")
    rising = rt.training_sentence(run(history(loss[::-1], every=20)))
    assert "The loss rose from 1 (first 1 % of the steps) to 1.95" in rising


def test_smoothed_loss_sentence_finds_the_minimum_and_explains_a_rise():
    falling = list(np.linspace(3.0, 1.0, 50))                 # window 1: no smoothing
    text = rt.smoothed_loss_sentence(history(falling, every=10))
    assert text == ("The smoothed loss reaches its lowest value, 1, at step 50, and ends at 1. "
                    "Over this run it decreases nearly monotonically.")
    dip = [3.0] * 20 + [1.0] + [2.0] * 29                     # lowest at step 21, ends 2 > 1.2
    text = rt.smoothed_loss_sentence(history(dip, every=10))
    assert text.startswith("The smoothed loss reaches its lowest value, 1, at step 21, and ends "
                           "at 2. It is not monotone.")
    slight = [3.0] * 20 + [1.0] + [1.2] * 29                  # 1.2 is not above 1.2 x 1
    assert rt.smoothed_loss_sentence(history(slight, every=10)).endswith("nearly monotonically.")


def test_drift_sentence_reads_peak_and_end_on_the_monitor_steps():
    h = history([1.0] * 40, every=10, drift=[0.02, 0.31, 0.2, 0.15])
    assert rt.drift_sentence(h).startswith("The drift peaks at 0.310 (step 20) and ends at 0.150:")


def test_task_table_rows_come_from_each_runs_history():
    reach = history([4.0] * 100 + [2.0] * 100, every=100, erank=[50.0, 60.0], drift=[0.3, 0.2])
    push = history([8.0] * 50, every=25, erank=[10.0, 12.5], drift=[0.1, 0.05])
    table = rt.task_table({"reach": run(reach, 1.5, 30), "push": run(push, 3.0, 70)})
    assert list(table.index) == ["reach", "push"]
    assert table.loc["reach"].to_dict() == {
        "transitions": 30, "initial loss": 4.0, "final loss": 2.0, "final effective rank": 60.0,
        "final drift": 0.2, "seconds": 1.5}
    assert table.loc["push", "final effective rank"] == 12.5
    assert table.loc["push", "final drift"] == 0.05
    assert set(rt.TASK_FORMAT) <= set(table.columns)


def small_cfg(**kw) -> JEPAConfig:
    base = dict(obs_dim=O, action_dim=A, repr_dim=16, enc_hidden=(32, 32), act_hidden=16,
                pred_hidden=8, steps=4, batch_size=32, monitor_every=2, device="cpu")
    return JEPAConfig(**{**base, **kw})


def test_gradient_and_ema_checks_count_the_parameters_and_catch_a_wrong_update(monkeypatch):
    obs, act, nxt = toy_data()
    cfg = small_cfg()
    fresh = actjepa.build_model(cfg)
    n_online = len(list(fresh.trainable_parameters()))
    n_target = len(list(fresh.target_encoder.parameters()))
    table = rt.gradient_and_ema_checks(cfg, obs, act, nxt)["result"]
    assert list(table)[:3] == [f"{n_online} of {n_online}", f"0 of {n_target}",
                                f"0 of {n_target}"]
    assert float(table.iloc[3]) < 1e-7
    # an EMA that leaves the target where it was is caught by the formula check (after one
    # step of lr 1e-3 the online weights have moved by about 1e-3; tau = 0.5 keeps half of it)
    assert float(rt.gradient_and_ema_checks(cfg, obs, act, nxt, tau=0.5)["result"].iloc[3]) < 1e-7
    monkeypatch.setattr(training, "ema_update", lambda target, online, tau: None)
    broken = rt.gradient_and_ema_checks(cfg, obs, act, nxt, tau=0.5)["result"]
    assert float(broken.iloc[3]) > 1e-4


def test_timed_training_and_checkpoint_roundtrip_on_a_toy_run():
    obs, act, nxt = toy_data()
    r = rt.timed_training(small_cfg(), obs, act, nxt)
    assert r.transitions == len(obs) and r.seconds > 0 and len(r.history) == 4
    table = rt.checkpoint_roundtrip(r)["result"]
    n = len(r.model.state_dict())
    assert list(table.iloc[:5]) == [f"{n} / {n}", f"{n} of {n}", True, True, 4]
    assert table.iloc[5].endswith(" KiB")


def test_jepa_config_takes_the_profiles_sizes_and_the_runs_switches():
    P = get_profile("smoke")
    obs, act = np.zeros((3, 7), np.float32), np.zeros((3, 2), np.float32)
    cfg = rt.jepa_config(P, obs, act, seed=3, ema=False)
    assert (cfg.obs_dim, cfg.action_dim, cfg.steps, cfg.monitor_every) == (7, 2, 40, 10)
    assert cfg.seed == 3 and cfg.ema is False
    assert rt.jepa_config(P, obs, act, monitor_every=2).monitor_every == 2


# ------------------------------------------------------------------------------- chapter 4
def test_toy_table_flags_the_line_and_the_repeated_vector_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", monitor.CollapseWarning)
        toy = rt.toy_table(32)
    assert list(toy.index) == ["Gaussian, all directions", "on a line (offset + t v)",
                               "one repeated vector"]
    assert list(toy["collapsed"]) == [0.0, 1.0, 1.0]
    assert toy.loc["Gaussian, all directions", "erank"] > 20
    assert toy.loc["on a line (offset + t v)", "erank"] == pytest.approx(1.0, abs=1e-3)
    assert toy.loc["one repeated vector", "std"] == 0.0
    assert toy.loc["one repeated vector", "cos"] == pytest.approx(1.0)
    assert set(rt.TOY_FORMAT) == set(toy.columns)
    assert rt.default_repr_dim() == JEPAConfig(obs_dim=1, action_dim=1).repr_dim


def test_thresholds_paragraph_puts_numbers_on_the_monitors_thresholds():
    toy = pd.DataFrame({"erank": [95.34, 1.004, 0.0]},
                       index=["Gaussian, all directions", "on a line (offset + t v)",
                              "one repeated vector"])
    text = rt.thresholds_paragraph(toy, 100)
    assert text.startswith("With D = 100, the healthy std is about 1/sqrt(D) = 0.1000.")
    assert "`STD_COLLAPSE_FRACTION` / sqrt(D) = 0.1 / sqrt(100) = 0.0100, a tenth" in text
    assert "`ERANK_COLLAPSE` = 2 (the embeddings lie near a line)" in text
    assert text.endswith("an effective rank of 95.3 (not 100: the singular values of a finite "
                         "random matrix are not all equal), the line 1.00, the repeated vector 0.")


def stacked(runs: dict[tuple[str, int], pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([h.assign(config=c, seed=s) for (c, s), h in runs.items()],
                     ignore_index=True)


def test_runs_sentence_counts_runs_and_steps():
    h = stacked({(c, s): history([1.0] * 10, every=5) for c in (FULL, NO_EMA) for s in (0, 1)})
    assert rt.runs_sentence(h, 56.6, 123) == "4 runs of 10 steps on 123 Push transitions took 57 s."


def test_no_ema_loss_sentence_compares_the_peaks_of_the_smoothed_loss():
    h = stacked({(FULL, 0): history([2.0, 1.5, 1.0, 0.5], every=2),
                 (FULL, 1): history([4.0, 1.0, 1.0, 0.5], every=2),
                 (NO_EMA, 0): history([3.0, 9.0, 2.0, 1.0], every=2),
                 (NO_EMA, 1): history([3.0, 2.0, 7.0, 1.0], every=2)})
    # start: mean of the per-configuration means at step 1, (3 + 3) / 2 = 3; window 1
    assert rt.no_ema_loss_sentence(h).startswith(
        "Starting from a loss of about 3, the smoothed loss of the no-EMA runs peaks at 9 (the "
        "default EMA runs: 4).")


def test_flagged_readings_count_the_online_encoders_flags_per_configuration():
    h = stacked({(FULL, 0): history([1.0] * 6, every=2, collapsed=[0, 0, 0]),
                 (NO_EMA, 0): history([1.0] * 6, every=2, collapsed=[0, 1, 1]),
                 (NO_EMA, 1): history([1.0] * 6, every=2, collapsed=[1, 0, 0])})
    flagged = rt.flagged_readings(h)
    assert flagged.to_dict() == {FULL: 0, NO_EMA: 3}
    assert flagged.dtype == np.int64 and list(flagged.index) == [FULL, NO_EMA]
    summary = rt.collapse_summary(h)
    assert list(summary.index) == [FULL, NO_EMA]
    assert summary["flagged readings"].to_dict() == {FULL: 0, NO_EMA: 3}
    assert summary.loc[NO_EMA, "collapsed"] == 0.5            # seed 0 ends flagged, seed 1 not
    assert summary.loc[NO_EMA, "seeds"] == 2
    shown = rt.summary_display(summary).data
    assert list(shown.columns) == ["seeds", "online std", "online erank", "target erank",
                                   "seeds collapsed", "final loss", "flagged readings"]
    assert shown.loc[NO_EMA, "seeds collapsed"] == "50%"
    assert shown.loc[NO_EMA, "flagged readings"] == "3"
    r = summary.loc[NO_EMA]
    assert shown.loc[NO_EMA, "online erank"] == (
        f"<b>{r.online_erank:.1f}</b><br><small>± {r.online_erank_sd:.1f}</small>"
        f"<br><small>lowest {r.online_erank_lowest:.1f}</small>")


def test_the_articles_claims_come_from_its_ablation_table():
    assert set(claims.TARGET_ABLATIONS) <= set(rt.TARGET_CONFIGS)
    assert claims.TARGET_ABLATIONS[FULL] == "full" and claims.TARGET_ABLATIONS[NO_EMA] == "no_ema"
    assert [rt.article_claim(c) for c in rt.TARGET_CONFIGS] == [
        "75.3 % avg success (full ACT-JEPA)", "Collapsed", "72.1 % avg success", "(no row)",
        "73.8 % avg success"]


def test_claims_table_puts_the_article_beside_the_monitor():
    summary = pd.DataFrame({"collapsed": [0.0, 0.6], "online_erank": [41.26, 3.04],
                            "online_erank_lowest": [39.0, 1.5], "online_std": [0.031234, 0.00512],
                            "flagged readings": [0, 7]}, index=[FULL, "τ = 0.996"])
    table = rt.claims_table(summary)
    assert table.index.name == "configuration" and list(table.index) == [FULL, "τ = 0.996"]
    assert table.loc["τ = 0.996"].to_dict() == {
        "article's claim": "(no row)", "seeds flagged collapsed": "60%",
        "effective rank at the end": "3.0", "lowest effective rank": "1.5",
        "std at the end": "0.0051", "flagged readings": 7}
    assert table.loc[FULL, "article's claim"] == "75.3 % avg success (full ACT-JEPA)"


def test_train_target_configs_trains_every_configuration_and_seed_with_a_finer_monitor():
    obs, act, nxt = toy_data()
    P = dataclasses.replace(get_profile("smoke"), pretrain_steps=6, monitor_every=10,
                            train_seeds=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", monitor.CollapseWarning)   # none may escape
        h, seconds = rt.train_target_configs(P, obs, act, nxt)
    assert seconds > 0
    runs = h[["config", "seed"]].drop_duplicates()
    assert list(runs.itertuples(index=False, name=None)) == [
        (c, s) for c in rt.TARGET_CONFIGS for s in (0, 1)]
    read = h[h["online_std"].notna()]
    assert set(read["step"]) == {2, 4, 6}                     # every 10 // 5 = 2 steps
    assert h[h["config"] == NO_EMA]["tau"].isna().all()
    assert (h[h["config"] == "τ = 0.99"]["tau"] == 0.99).all()
    assert rt.runs_sentence(h, seconds, len(obs)).startswith("10 runs of 6 steps on 512 Push")


def test_train_tasks_trains_on_each_tasks_demonstrations():
    P = dataclasses.replace(get_profile("smoke"), n_demos=1, pretrain_steps=4, monitor_every=2)
    runs = rt.train_tasks(P, tasks=("reach",))
    obs, act, _ = rt.transitions(P, "reach")
    (r,) = runs.values()
    assert list(runs) == ["reach"] and r.transitions == len(obs) == 50   # one 50-step episode
    assert (r.cfg.obs_dim, r.cfg.action_dim, r.cfg.steps, r.cfg.seed) == (13, 4, 4, 0)
    assert list(r.history["step"]) == [1, 2, 3, 4]
    stacked_runs = rt.stack_runs(runs, names=("task",))
    assert list(stacked_runs["task"].unique()) == ["reach"] and len(stacked_runs) == 4
    assert list(rt.task_table(runs).index) == ["reach"]
