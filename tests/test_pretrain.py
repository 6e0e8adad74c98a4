"""Tests of the pretraining methods under one protocol, and of the VC regulariser (fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from actjepa_core.config import RepresentationConfig
from actjepa_core.methods import registry
from actjepa_core.models import MLPEncoder
from actjepa_core.objectives import variance_covariance_loss
from actjepa_core.methods.registry import pretrain
from helpers import A, O, small_config, toy_data

METHODS = registry.names("representation")
SIZES = dict(repr_dim=16, enc_hidden=(32, 32), act_hidden=16, pred_hidden=8)


def cfg(method: str = "actjepa", **kw) -> RepresentationConfig:
    """A small config of ``method``."""
    return small_config(method, SIZES, **{**dict(obs_dim=O, action_dim=A, steps=20, batch_size=32,
                                                 monitor_every=10, lr=3e-3, device="cpu"), **kw})


DATA = toy_data()


@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_and_returns_encoder(method):
    model, hist = pretrain(cfg(method, steps=30), *DATA)
    assert isinstance(model.encoder, MLPEncoder) and model.encoder.out_dim == 16
    with torch.no_grad():
        z = model.encoder(torch.as_tensor(DATA[0][:5]))
    assert z.shape == (5, 16) and not model.training
    assert list(hist["step"]) == list(range(1, 31))
    assert np.isfinite(hist["loss"]).all() and np.isfinite(hist["lr"]).all()
    mon = hist.dropna(subset=["online_std"])
    assert list(mon["step"]) == [10, 20, 30]
    assert {"online_erank", "online_cos", "online_collapsed"} <= set(hist.columns)
    if method in ("autoencoder", "contrastive", "recon"):  # fixed targets: loss must fall
        early, late = hist["loss"].iloc[:5].mean(), hist["loss"].iloc[-5:].mean()
        assert late < early, (early, late)
        assert "tau" not in hist.columns
    else:
        assert "tau" in hist.columns and "drift" in hist.columns


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_identical_weights(method):
    m1, h1 = pretrain(cfg(method, steps=8), *DATA)
    m2, h2 = pretrain(cfg(method, steps=8), *DATA)
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k], s2[k]), k
    assert h1["loss"].tolist() == h2["loss"].tolist()
    if method == "contrastive":
        m3, _ = pretrain(cfg(method, steps=8, seed=1), *DATA)
        assert not torch.equal(m1.encoder.net[0].weight, m3.encoder.net[0].weight)


def test_unknown_method_and_fields_a_method_does_not_have():
    with pytest.raises(ValueError, match="unknown method 'byol'.*actjepa"):
        registry.make_config("byol", "reach")
    with pytest.raises(ValueError, match=r"AutoencoderConfig has no field\(s\) \['ema'\]"):
        registry.make_config("autoencoder", "reach", ema=False)
    with pytest.raises(ValueError, match="vc_weight"):
        registry.make_config("recon", "reach", vc_weight=0.1)
    with pytest.raises(ValueError, match="view_noise"):
        registry.make_config("actjepa", "reach", view_noise=0.2)
    with pytest.raises(ValueError, match="is a policy trained end to end"):
        pretrain(registry.make_config("act", "reach"), *DATA)
    with pytest.raises(ValueError, match="wrong observation width"):
        pretrain(cfg("contrastive"), DATA[0][:, :-1], DATA[1], DATA[2])
    bad = DATA[2].copy()
    bad[3, 1] = math.nan
    with pytest.raises(ValueError, match="next_obs contains NaN"):
        pretrain(cfg("recon"), DATA[0], DATA[1], bad)


def test_passive_has_no_action():
    with pytest.raises(ValueError, match="passive prediction has no action to inject"):
        cfg("passive", action_injection="film")
    model, _ = pretrain(cfg("passive", steps=5), *DATA)
    assert model.cfg.action_injection == "none" and model.action_encoder is None


@pytest.mark.parametrize("method,kw", [
    ("actjepa", dict(ema=False)),
    ("actjepa", dict(tau_fixed=0.99)),
    ("actjepa", dict(tau_fixed=0.9999)),
    ("actjepa", dict(action_injection="none")),
    ("actjepa", dict(action_injection="add")),
    ("actjepa", dict(action_injection="film")),
    ("actjepa", dict(bottleneck=False, pred_hidden=None)),
    ("actjepa", dict(normalize_loss=True)),
    ("recon", dict(action_injection="add")),
    ("recon", dict(bottleneck=False, pred_hidden=None)),
])
def test_ablation_switches_end_to_end(method, kw):
    model, hist = pretrain(cfg(method, steps=6, monitor_every=3, **kw), *DATA)
    assert np.isfinite(hist["loss"]).all()
    for k, v in kw.items():
        if v is not None:
            assert getattr(model.cfg, k) == v
    if kw.get("ema") is False:
        assert hist["tau"].isna().all() and hist["drift"].iloc[-1] == 0.0
    if "tau_fixed" in kw:
        assert (hist["tau"] == kw["tau_fixed"]).all()
    if kw.get("bottleneck") is False:
        assert model.predictor.hidden >= 16


def test_vc_loss_hand_built():
    # N=2, D=2: centred rows +-(0.5, 0.1); C = z^T z / (N-1) = [[0.5, 0.1], [0.1, 0.02]]
    z = torch.tensor([[0.5, 0.1], [-0.5, -0.1]], dtype=torch.float64)
    eps = 1e-4
    v = ((1 - math.sqrt(0.5 + eps)) + (1 - math.sqrt(0.02 + eps))) / 2
    c = (0.1 ** 2 + 0.1 ** 2) / 2
    assert variance_covariance_loss(z, eps=eps).item() == pytest.approx(v + c, rel=1e-9)
    # large variance: no hinge, only covariance: C = [[2, 4], [4, 8]] -> (16 + 16) / 2
    z2 = torch.tensor([[1.0, 2.0], [-1.0, -2.0]])
    assert variance_covariance_loss(z2).item() == pytest.approx(16.0)
    with pytest.raises(ValueError, match="N >= 2"):
        variance_covariance_loss(torch.ones(1, 3))


def test_vc_loss_zero_for_whitened_batch():
    # columns 2-4 of a 4x4 Hadamard matrix: zero mean, orthogonal; x2 -> variance 16/3 >= 1
    h = torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    z = 2.0 * h[:, 1:]
    cov = torch.cov(z.T)
    assert torch.equal(cov - torch.diag(torch.diagonal(cov)), torch.zeros(3, 3))
    assert (torch.diagonal(cov) >= 1).all()
    assert variance_covariance_loss(z).item() == 0.0
    assert variance_covariance_loss(0.1 * z).item() > 0.5  # shrunk: the hinge bites


def test_vc_weight_in_training_and_validation():
    with pytest.raises(ValueError, match="vc_weight"):
        cfg(vc_weight=-0.1)
    with pytest.raises(ValueError, match="view_noise"):
        cfg("contrastive", view_noise=0.0)
    with pytest.raises(ValueError, match="temperature"):
        cfg("contrastive", temperature=-1.0)
    model, hist = pretrain(cfg(steps=10, vc_weight=0.5), *DATA)
    assert (hist["vc"] >= 0).all()
    np.testing.assert_allclose(hist["loss"], hist["latent"] + 0.5 * hist["vc"], rtol=1e-5)
    # the logs dict of the model carries the terms
    o, a, n = (torch.as_tensor(x[:64]) for x in DATA)
    with torch.no_grad():
        loss, logs = model(o, a, n)
        vc = variance_covariance_loss(model.encode(o))
    assert set(logs) == {"loss", "latent", "vc"}
    assert float(logs["vc"]) == pytest.approx(float(vc))
    assert float(loss) == pytest.approx(float(logs["latent"]) + 0.5 * float(vc))


# -------------------------------------------------- tests that catch bugs once missed
def test_train_jepa_moves_the_target_toward_the_online_encoder():
    """Swapping ``ema_update``'s arguments in ``train_jepa`` (the online encoder pulled to the
    target) passed every test before this one.

    One step from the same start with tau = 1/2 and tau = 1/4: the online step is the same
    (the target enters only the loss, identical at step 1), and the EMA gives
    t = tau * o0 + (1 - tau) * o1 with o0 the shared initial weights, so o0 recovered from
    either run must agree, and the target must differ from the online encoder.
    """
    from actjepa_core.methods.actjepa import train_jepa

    runs = {tau: train_jepa(cfg(steps=5, tau_fixed=tau), *DATA, progress=False, until=1)[0]
            for tau in (0.5, 0.25)}
    for (t_a, o_a, t_b, o_b) in zip(runs[0.5].target_encoder.parameters(),
                                    runs[0.5].encoder.parameters(),
                                    runs[0.25].target_encoder.parameters(),
                                    runs[0.25].encoder.parameters()):
        assert torch.equal(o_a, o_b), "the online step does not depend on tau"
        torch.testing.assert_close((t_a - 0.5 * o_a) / 0.5, (t_b - 0.75 * o_b) / 0.25)
    assert any(not torch.equal(t, o) for t, o in zip(runs[0.5].target_encoder.parameters(),
                                                    runs[0.5].encoder.parameters()))


def test_collapse_rule_is_a_tenth_of_the_healthy_std():
    """Lowering ``STD_COLLAPSE_FRACTION`` from 0.1 to 0.01 passed every test before this one."""
    from actjepa_core.monitor import is_collapsed

    D = 64
    healthy = 1 / math.sqrt(D)
    for fraction, flagged in ((0.05, True), (0.099, True), (0.101, False), (0.5, False)):
        reasons = is_collapsed({"std": fraction * healthy, "erank": 10.0}, D)
        assert bool(reasons) is flagged, (fraction, reasons)
    assert is_collapsed({"std": healthy, "erank": 1.9}, D), "rank below 2 is collapse"
    assert not is_collapsed({"std": healthy, "erank": 2.1}, D)


@pytest.mark.parametrize("method", METHODS)
def test_a_reloaded_model_computes_what_the_saved_one_did(method, tmp_path):
    """A loader skipping ``load_state_dict`` passed every test before this one (the reload
    test compared shapes only). Both files a cache holds load: ``registry.save``'s, and the
    article's older ``save_checkpoint`` (no method name: the caller gives it)."""
    from actjepa_core.methods.actjepa import save_checkpoint

    model, hist = pretrain(cfg(method, steps=5), *DATA)
    old = save_checkpoint(tmp_path / f"{method}-old.pt", model, model.cfg, hist, 5)
    registry.load(old, method)
    path = registry.save(tmp_path / f"{method}.pt", model, hist)
    back, back_hist = registry.load(path)
    x = torch.as_tensor(DATA[0][:16])
    with torch.no_grad():
        assert torch.equal(model.encoder(x), back.encoder(x))
    pd_equal = back_hist["loss"].to_numpy()
    np.testing.assert_array_equal(pd_equal, hist["loss"].to_numpy())
