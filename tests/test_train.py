"""Tests of schedules, EMA, the training loop and checkpoints (small and fast)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.methods.actjepa import load_checkpoint, save_checkpoint, train_jepa
from actjepa_core.training import cosine_tau_schedule, ema_update, lr_factor, make_optimizer
from helpers import A, O, toy_data


def cfg(**kw) -> JEPAConfig:
    base = dict(obs_dim=O, action_dim=A, repr_dim=16, enc_hidden=(32, 32), act_hidden=16,
                pred_hidden=8, steps=40, batch_size=32, monitor_every=20, device="cpu")
    base.update(kw)
    return JEPAConfig(**base)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_tau_schedule_endpoints_and_monotone():
    taus = list(cosine_tau_schedule(0.996, 1.0, 101))
    assert len(taus) == 101
    assert taus[0] == 0.996 and taus[-1] == 1.0
    assert all(b >= a for a, b in zip(taus, taus[1:]))
    assert list(cosine_tau_schedule(0.99, 0.999, 50, start=30)) == list(
        cosine_tau_schedule(0.99, 0.999, 50))[30:]
    with pytest.raises(ValueError, match=r"tau_start must lie in \[0, 1\)"):
        next(cosine_tau_schedule(1.0, 1.0, 10))
    with pytest.raises(ValueError, match="tau_end"):
        next(cosine_tau_schedule(0.9, 1.1, 10))


def test_ema_update_matches_formula():
    t = [torch.tensor([1.0, 2.0]), torch.tensor([[4.0]])]
    o = [torch.tensor([3.0, -2.0]), torch.tensor([[0.0]])]
    ema_update(t, o, 0.75)
    assert torch.equal(t[0], torch.tensor([1.5, 1.0]))   # 0.75*1+0.25*3, 0.75*2-0.25*2
    assert torch.equal(t[1], torch.tensor([[3.0]]))
    ema_update(t, o, 1.0)
    assert torch.equal(t[0], torch.tensor([1.5, 1.0]))
    ema_update(t, o, 0.0)
    assert torch.equal(t[0], o[0])
    with pytest.raises(ValueError, match="tau"):
        ema_update(t, o, 1.5)


def test_lr_schedule_warmup_then_cosine():
    f = [lr_factor(s, 100, 0.1) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(b <= a for a, b in zip(f[10:], f[11:])) and f[-1] < 0.01
    opt, sched = make_optimizer([torch.nn.Parameter(torch.zeros(2))], cfg(lr=0.5), steps=100)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


def test_training_lowers_loss_on_toy_linear_system():
    obs, act, nxt = toy_data()
    model, hist = train_jepa(cfg(steps=150, monitor_every=50), obs, act, nxt, progress=False)
    assert isinstance(hist, pd.DataFrame) and len(hist) == 150
    assert list(hist["step"]) == list(range(1, 151))
    early, late = hist["loss"].iloc[:10].mean(), hist["loss"].iloc[-10:].mean()
    assert late < 0.5 * early, (early, late)
    mon = hist.dropna(subset=["online_std"])
    assert list(mon["step"]) == [50, 100, 150]
    assert (mon["online_collapsed"] == 0).all()
    assert hist["tau"].iloc[0] == 0.996 and hist["tau"].iloc[-1] == 1.0
    assert not model.training


def test_same_seed_bit_identical_and_other_seed_differs():
    obs, act, nxt = toy_data()
    m1, h1 = train_jepa(cfg(), obs, act, nxt, progress=False)
    m2, h2 = train_jepa(cfg(), obs, act, nxt, progress=False)
    assert_same_weights(m1, m2)
    assert h1["loss"].tolist() == h2["loss"].tolist()
    m3, _ = train_jepa(cfg(seed=1), obs, act, nxt, progress=False)
    assert not torch.equal(m1.encoder.net[0].weight, m3.encoder.net[0].weight)


def test_global_state_restored():
    obs, act, nxt = toy_data()
    torch.set_num_threads(2)  # not the run's 1, so that a missing restore shows
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_jepa(cfg(steps=5, threads=1), obs, act, nxt, progress=False)
    assert torch.equal(torch.rand(3), expected)  # the global RNG was not consumed
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("kw", [dict(ema=False), dict(tau_fixed=0.99),
                                dict(action_injection="none", normalize_loss=True),
                                dict(action_injection="film"),
                                dict(bottleneck=False, pred_hidden=None)])
def test_ablation_variants_train(kw):
    obs, act, nxt = toy_data()
    model, hist = train_jepa(cfg(steps=20, **kw), obs, act, nxt, progress=False)
    assert np.isfinite(hist["loss"]).all()
    if kw.get("ema") is False:
        assert hist["tau"].isna().all() and hist["drift"].iloc[-1] == 0.0
    if "tau_fixed" in kw:
        assert (hist["tau"] == 0.99).all()


def test_checkpoint_round_trip_exact(tmp_path):
    obs, act, nxt = toy_data()
    c = cfg(steps=10)
    model, hist = train_jepa(c, obs, act, nxt, progress=False)
    path = save_checkpoint(tmp_path / "ck.pt", model, c, hist, step=10)
    assert not list(tmp_path.glob("*.tmp"))  # atomic: no temporary left behind
    ck = load_checkpoint(path)
    assert ck.cfg == c and ck.step == 10
    assert_same_weights(model, ck.model)
    pd.testing.assert_frame_equal(ck.history, hist)


def test_resume_continues_same_run(tmp_path):
    obs, act, nxt = toy_data()
    c = cfg(steps=40, monitor_every=10)
    straight, h_straight = train_jepa(c, obs, act, nxt, progress=False)
    path = tmp_path / "run.pt"
    _, h_part = train_jepa(c, obs, act, nxt, progress=False, checkpoint_path=path, until=25)
    assert len(h_part) == 25 and load_checkpoint(path).step == 25
    assert load_checkpoint(path).history["step"].tolist() == list(range(1, 26)), \
        "the checkpoint holds every step's row, not only those up to the last monitor reading"
    resumed, h_res = train_jepa(c, obs, act, nxt, progress=False, checkpoint_path=path)
    assert_same_weights(straight, resumed)
    assert h_res["loss"].tolist() == h_straight["loss"].tolist()
    assert h_res["tau"].tolist() == h_straight["tau"].tolist()
    with pytest.raises(ValueError, match="different config"):
        train_jepa(cfg(steps=40, lr=0.1), obs, act, nxt, progress=False, checkpoint_path=path)


def test_training_rejects_bad_data():
    obs, act, nxt = toy_data()
    with pytest.raises(ValueError, match="wrong observation width"):
        train_jepa(cfg(), obs[:, :-1], act, nxt, progress=False)
    with pytest.raises(ValueError, match="wrong action width"):
        train_jepa(cfg(), obs, act[:, :1], nxt, progress=False)
    bad = nxt.copy()
    bad[7, 0] = math.nan
    with pytest.raises(ValueError, match="next_obs contains NaN"):
        train_jepa(cfg(), obs, act, bad, progress=False)
    with pytest.raises(ValueError, match="rows"):
        train_jepa(cfg(), obs, act[:100], nxt, progress=False)


def test_torch_settings_zero_threads_leaves_the_count_and_restores_it():
    from actjepa_core.runtime import torch_settings

    torch.set_num_threads(2)
    with torch_settings(0, deterministic=False):
        assert torch.get_num_threads() == 2
    with torch_settings(1, deterministic=False):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_tau_schedule_of_one_step_and_of_none():
    assert len(list(cosine_tau_schedule(0.9, 1.0, 1))) == 1
    with pytest.raises(ValueError, match="steps must be positive"):
        next(cosine_tau_schedule(0.9, 1.0, 0))


def test_empty_training_data_is_refused():
    obs, act, nxt = toy_data()
    with pytest.raises(ValueError, match="no transitions|empty|0 rows"):
        train_jepa(cfg(), obs[:0], act[:0], nxt[:0], progress=False)


def test_every_checkpoint_holds_the_history_up_to_its_step(tmp_path, monkeypatch):
    """A checkpoint between two monitor readings must still carry every step's row: a run
    killed right after it resumes with its whole history."""
    import actjepa_core.methods.actjepa as train_module

    seen = []
    real = train_module.save_checkpoint

    def recording(path, model, c, history, step, *args, **kwargs):
        seen.append((step, len(history["step"])))
        return real(path, model, c, history, step, *args, **kwargs)

    monkeypatch.setattr(train_module, "save_checkpoint", recording)
    obs, act, nxt = toy_data()
    train_jepa(cfg(steps=30, monitor_every=10), obs, act, nxt, progress=False,
               checkpoint_path=tmp_path / "run.pt", checkpoint_every=7)
    assert [s for s, _ in seen] == [7, 14, 21, 28, 30]
    assert all(rows == step for step, rows in seen), seen


def test_tau_schedule_from_zero_and_of_two_steps_hits_both_ends():
    """Catches ``tau_start = 0`` refused (0 is a valid momentum: the target copies the online
    encoder) and a two-step schedule that never reaches ``tau_end``."""
    assert list(cosine_tau_schedule(0.0, 1.0, 3)) == pytest.approx([0.0, 0.5, 1.0])
    assert list(cosine_tau_schedule(0.5, 1.0, 2)) == [0.5, 1.0]


def test_lr_factor_stays_at_zero_past_the_end_of_the_schedule():
    """Catches the cosine's progress clamped above 1: past ``steps`` the factor must stay 0,
    not climb back up the cosine (at 150 of 100 steps it would be 0.42)."""
    assert lr_factor(100, 100, 0.1) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(150, 100, 0.1) == pytest.approx(0.0, abs=1e-12)


def test_ema_update_copies_buffers_and_averages_parameters():
    """Catches buffers (BatchNorm statistics) averaged or left behind: they are copied."""
    online, target = torch.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        online.weight.fill_(3.0)
        target.weight.fill_(1.0)
        online.running_mean.fill_(5.0)
        online.num_batches_tracked.fill_(7)
    ema_update(target, online, 0.5)
    assert torch.equal(target.weight, torch.full((2,), 2.0))
    assert torch.equal(target.running_mean, torch.full((2,), 5.0))
    assert int(target.num_batches_tracked) == 7


def test_checkpoints_are_flushed_to_disk_before_they_replace_the_old_one(tmp_path, monkeypatch):
    """Catches the ``fsync`` dropped: after a power cut, ``os.replace`` alone can leave an
    empty file under the checkpoint's name."""
    import os

    from actjepa_core.training import write_payload

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_size),
                                                 real_fsync(fd)))
    path = write_payload(tmp_path / "a.pt", {"x": torch.zeros(3)})
    assert len(synced) == 1 and synced[0] == path.stat().st_size > 0


def test_fit_without_monitor_steps_reads_the_monitor_once_at_the_end():
    """Catches ``monitor_every = 0`` taken as "every step" (a division by zero) and an
    incomplete starting history: every step gets a row with its loss and lr, and the
    monitor's columns hold one value, on the last step."""
    from actjepa_core.training import TrainingConfig, fit

    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    x = torch.randn(64, 2)
    data = {"x": x, "y": x @ torch.tensor([[1.0], [-1.0]])}
    loop = TrainingConfig(steps=6, batch_size=8, monitor_every=0)
    opt, sched = make_optimizer(model.parameters(), cfg(lr=0.1, warmup=0.0), steps=6)
    reads = []

    def monitor(m):
        reads.append(m.training)
        return {"mon": float(len(reads))}

    history = fit(model, loop, data, lambda b: (((model(b["x"]) - b["y"]) ** 2).mean(), {}),
                  opt, sched, torch.Generator().manual_seed(0), monitor=monitor, history={})
    assert history["step"] == [1, 2, 3, 4, 5, 6]
    assert len(history["loss"]) == 6 and all(math.isfinite(v) for v in history["loss"])
    assert history["lr"][0] == pytest.approx(0.1) and history["lr"][-1] < history["lr"][0]
    assert reads == [False]  # once, in eval mode
    assert all(math.isnan(v) for v in history["mon"][:5])
    assert history["mon"][5] == 1.0 and not model.training
