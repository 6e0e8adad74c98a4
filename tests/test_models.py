"""Unit tests of the ACT-JEPA networks and config validation."""

from __future__ import annotations

import math

import pytest
import torch

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.models import BCHead, MLPEncoder, Predictor
from actjepa_core.methods.actjepa import ACTJEPA, build_model
from actjepa_core.training import ema_update

O, A, D = 28, 4, 32


def small_cfg(**kw) -> JEPAConfig:
    base = dict(obs_dim=O, action_dim=A, repr_dim=D, enc_hidden=(64, 64), act_hidden=32,
                pred_hidden=16, steps=10, batch_size=16)
    base.update(kw)
    return JEPAConfig(**base)


def batch(b: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, O, generator=g), torch.rand(b, A, generator=g) * 2 - 1,
            torch.randn(b, O, generator=g))


def test_no_gradient_reaches_target_encoder():
    model = build_model(small_cfg())
    assert all(not p.requires_grad for p in model.target_encoder.parameters())
    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    before = [p.clone() for p in model.target_encoder.parameters()]
    loss, logs = model(*batch())
    loss.backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    assert all(p.grad is not None for p in model.encoder.parameters())
    opt.step()
    # the optimiser step leaves the target untouched ...
    for b, p in zip(before, model.target_encoder.parameters()):
        assert torch.equal(b, p)
    # ... and only the EMA moves it, by exactly the formula
    online = [p.detach().clone() for p in model.encoder.parameters()]
    ema_update(model.target_encoder, model.encoder, 0.9)
    for b, o, p in zip(before, online, model.target_encoder.parameters()):
        torch.testing.assert_close(p, 0.9 * b + 0.1 * o)
    assert set(logs) == {"loss"} and float(logs["loss"]) == pytest.approx(float(loss.detach()))


@pytest.mark.parametrize("injection", ["concat", "add", "film", "none"])
def test_injection_modes_shape(injection):
    model = build_model(small_cfg(action_injection=injection))
    obs, act, nxt = batch()
    s = model.encode(obs)
    out = model.predict(s, act)
    assert out.shape == (8, D)
    loss, _ = model(obs, act, nxt)
    assert loss.dim() == 0 and torch.isfinite(loss)
    # the action matters except for the passive predictor
    other = model.predict(s, -act)
    if injection == "none":
        assert torch.equal(out, other)
        assert model.action_encoder is None
    else:
        assert not torch.allclose(out, other)


def test_injection_modes_differ_for_same_inputs():
    torch.manual_seed(0)
    s, e = torch.randn(8, D), torch.randn(8, D)
    outs = {}
    for inj in ["concat", "add", "film", "none"]:
        torch.manual_seed(1)
        outs[inj] = Predictor(D, 16, 2, inj)(s, e)
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not torch.allclose(outs[a], outs[b]), (a, b)


def test_multistep_rollout_shape():
    model = build_model(small_cfg())
    s = model.encode(batch()[0])
    for _ in range(5):
        s = model.predict(s, torch.zeros(8, A))
    assert s.shape == (8, D)


def test_bad_inputs_raise_clear_errors():
    model = build_model(small_cfg())
    obs, act, nxt = batch()
    with pytest.raises(ValueError, match="wrong observation width"):
        model(obs[:, :-1], act, nxt)
    with pytest.raises(ValueError, match="next_obs.*wrong observation width"):
        model(obs, act, nxt[:, :5])
    with pytest.raises(ValueError, match="wrong action width"):
        model(obs, act[:, :3], nxt)
    bad = obs.clone()
    bad[3, 2] = math.nan
    with pytest.raises(ValueError, match="obs contains NaN"):
        model(bad, act, nxt)
    bad_a = act.clone()
    bad_a[0, 0] = math.inf
    with pytest.raises(ValueError, match="actions contains NaN or inf"):
        model(obs, bad_a, nxt)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="narrower than repr_dim"):
        small_cfg(pred_hidden=D)
    with pytest.raises(ValueError, match="narrower than repr_dim"):
        small_cfg(pred_hidden=2 * D)
    with pytest.raises(ValueError, match=r"tau_start must lie in \[0, 1\)"):
        small_cfg(tau_start=1.0)
    with pytest.raises(ValueError, match="tau_start"):
        small_cfg(tau_start=-0.1)
    with pytest.raises(ValueError, match="tau_end"):
        small_cfg(tau_end=1.5)
    with pytest.raises(ValueError, match="tau_fixed"):
        small_cfg(tau_fixed=1.0)
    with pytest.raises(ValueError, match="action_injection"):
        small_cfg(action_injection="multiply")
    with pytest.raises(ValueError, match="obs_dim must be a positive integer"):
        small_cfg(obs_dim=0)
    with pytest.raises(ValueError, match="action_dim"):
        small_cfg(action_dim=-4)
    with pytest.raises(ValueError, match="at least as wide"):
        small_cfg(bottleneck=False, pred_hidden=16)
    # no-bottleneck ablation: predictor as wide as the encoder by default
    cfg = small_cfg(bottleneck=False, pred_hidden=None)
    assert cfg.pred_hidden == 64 >= cfg.repr_dim
    assert build_model(cfg).predictor.hidden == 64


def test_model_refuses_a_wide_bottleneck_even_if_config_was_mutated():
    cfg = small_cfg()
    cfg.pred_hidden = D  # bypasses __post_init__
    with pytest.raises(ValueError, match="must be narrower than repr_dim"):
        ACTJEPA(cfg)


def test_bc_head_output_range_and_encoder_protocol():
    head = BCHead(D, A, hidden=(32,))
    out = head(torch.randn(64, D) * 100)
    assert out.shape == (64, A) and out.abs().max() <= 1.0
    enc = MLPEncoder(13, out_dim=D)
    assert enc.out_dim == D and enc.obs_shape == (13,)


def test_config_roundtrip():
    cfg = small_cfg(action_injection="film", tau_fixed=0.99)
    assert JEPAConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="JEPAConfig has no field"):
        JEPAConfig.from_dict({**cfg.to_dict(), "colour": 1})
