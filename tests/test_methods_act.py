"""ACT and our first build of the paper's ACT-JEPA, the per-state MLP target variant
(``methods.act``, ``methods.actjepa_mlp_target``): shapes, the loss and its masking, the KL
term, the EMA target, config validation, and that the variant with jepa_weight = 0 is bit for
bit ACT. The paper's model as its public implementation builds it is tested in
``test_methods_actjepa_paper.py``."""

from __future__ import annotations

import math

import pytest
import torch

from actjepa_core.methods.act import (ACTConfig, ACTPolicy, cls_readout, gaussian_kl,
                                      masked_mean)
from actjepa_core.methods.actjepa_mlp_target import ACTJEPAMLPTargetConfig, ACTJEPAMLPTargetPolicy
from actjepa_core.models import MLPEncoder
from actjepa_core.objectives import latent_loss

O, A, H, N, B = 6, 2, 4, 3, 16
TINY = dict(obs_dim=O, action_dim=A, chunk=H, d_model=16, n_heads=2, dim_feedforward=32,
            latent_dim=8, encoder_hidden=(32,))
"""A model small enough for many optimiser steps in a test."""


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread, as training runs: tiny ops on a shared 2-core machine are much
    slower with two threads waiting on each other."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def act_cfg(**kw) -> ACTConfig:
    return ACTConfig(**{**TINY, **kw})


def jepa_cfg(**kw) -> ACTJEPAMLPTargetConfig:
    return ACTJEPAMLPTargetConfig(**{**TINY, "obs_chunk": N, "predictor_ff": 32, **kw})


def build(cls, cfg):
    """Construct as the training code does: inside a forked RNG seeded with cfg.seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return cls(cfg)


def make_batch(n: int = B, seed: int = 0, pad_last: int = 1) -> dict[str, torch.Tensor]:
    """Random standardised observations and actions in [-1, 1]; the last ``pad_last``
    steps of the chunks of every other window are padding."""
    g = torch.Generator().manual_seed(seed)
    action_pad = torch.zeros(n, H)
    future_pad = torch.zeros(n, N)
    if pad_last:
        action_pad[::2, -pad_last:] = 1.0
        future_pad[::2, -pad_last:] = 1.0
    return {"obs": torch.randn(n, 1, O, generator=g),
            "actions": torch.rand(n, H, A, generator=g) * 2 - 1,
            "action_pad": action_pad,
            "future_obs": torch.randn(n, N, O, generator=g),
            "future_pad": future_pad}


def seeded_forward(model, batch, seed: int = 0):
    """Forward with the model's noise stream (CVAE noise, dropout) reset, for comparisons."""
    model.noise_gen.manual_seed(seed)
    return model(batch)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("cls,cfg_fn", [(ACTPolicy, act_cfg), (ACTJEPAMLPTargetPolicy, jepa_cfg)])
def test_shapes_and_logs(cls, cfg_fn):
    cfg = cfg_fn()
    model = build(cls, cfg)
    batch = make_batch()
    loss, logs = model(batch)
    assert loss.dim() == 0 and loss.requires_grad
    expected = {"loss", "l1", "kl"} | ({"latent"} if cls is ACTJEPAMLPTargetPolicy else set())
    assert set(logs) == expected
    assert all(v.dim() == 0 and not v.requires_grad for v in logs.values())
    assert torch.equal(logs["loss"], loss.detach())
    model.eval()
    chunk = model.predict_chunk(batch["obs"])
    assert chunk.shape == (B, H, A)
    assert isinstance(model.encoder, MLPEncoder)
    assert model.encoder(batch["obs"][:, 0]).shape == (B, cfg.d_model)
    expected_after = set() if cls is ACTPolicy else {"tau"}
    assert set(model.after_step()) == expected_after


def test_jepa_extra_shapes():
    model = build(ACTJEPAMLPTargetPolicy, jepa_cfg()).eval()
    batch = make_batch()
    assert model.predict_future(batch["obs"]).shape == (B, N, 16)
    assert model.predict_future(batch["obs"], batch["actions"], batch["action_pad"]).shape \
        == (B, N, 16)
    target = model.target_latents(batch["future_obs"])
    assert target.shape == (B, N, 16) and not target.requires_grad


def test_wrong_shapes_raise():
    model = build(ACTPolicy, act_cfg())
    batch = make_batch()
    with pytest.raises(ValueError, match="obs must have shape"):
        model.predict_chunk(batch["obs"][:, 0])
    with pytest.raises(ValueError, match="check the chunk"):
        model({**batch, "actions": batch["actions"][:, :-1]})
    jepa = build(ACTJEPAMLPTargetPolicy, jepa_cfg())
    with pytest.raises(ValueError, match="obs_chunk"):
        jepa({**batch, "future_obs": batch["future_obs"][:, :-1]})


# ---------------------------------------------------------------------------- the loss
def test_loss_decreases_on_a_fixed_mapping():
    """200 AdamW steps fit a fixed obs -> action-chunk mapping: the loss, and its L1 part
    alone (the KL part falls fast by itself), end below half their start, and the chunks
    predicted with z = 0 beat the all-zero guess by more than half."""
    model = build(ACTPolicy, act_cfg(dropout=0.0))
    n = 32
    g = torch.Generator().manual_seed(1)
    obs = torch.randn(n, 1, O, generator=g)
    W = torch.randn(O, H * A, generator=g) / math.sqrt(O)
    batch = {"obs": obs, "actions": torch.tanh(obs[:, 0] @ W).view(n, H, A),
             "action_pad": torch.zeros(n, H)}
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-3)
    torch.manual_seed(0)
    losses, l1s = [], []
    for _ in range(200):
        loss, logs = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        l1s.append(logs["l1"].item())
    assert sum(losses[-5:]) < 0.5 * sum(losses[:5]), (losses[:5], losses[-5:])
    assert sum(l1s[-5:]) < 0.5 * sum(l1s[:5]), (l1s[:5], l1s[-5:])
    model.eval()
    l1 = (model.predict_chunk(obs) - batch["actions"]).abs().mean().item()
    assert l1 < 0.5 * batch["actions"].abs().mean().item()


@pytest.mark.parametrize("cls,cfg_fn", [(ACTPolicy, act_cfg), (ACTJEPAMLPTargetPolicy, jepa_cfg)])
def test_padded_steps_do_not_count(cls, cfg_fn):
    """ACT masks its loss past the episode's end (and the CVAE encoder's attention to those
    actions); ACT-JEPA masks the latent loss likewise: what lies there changes nothing."""
    model = build(cls, cfg_fn())
    batch = make_batch(pad_last=2)
    changed = dict(batch)
    keep_a = (1 - batch["action_pad"])[..., None]
    changed["actions"] = batch["actions"] * keep_a + 7.0 * (1 - keep_a)
    keep_o = (1 - batch["future_pad"])[..., None]
    changed["future_obs"] = batch["future_obs"] * keep_o - 5.0 * (1 - keep_o)
    assert not torch.equal(changed["actions"], batch["actions"])
    _, logs = seeded_forward(model, batch)
    _, logs2 = seeded_forward(model, changed)
    for k in logs:
        torch.testing.assert_close(logs[k], logs2[k], rtol=0, atol=1e-6)
    # ...while changing a valid action does change the loss
    moved = dict(batch, actions=batch["actions"] + 0.5 * keep_a)
    assert not torch.allclose(seeded_forward(model, moved)[1]["l1"], logs["l1"])


def test_masked_mean_and_latent_loss_convention():
    values = torch.tensor([[1.0, 2.0, 100.0], [3.0, 4.0, 5.0]])
    pad = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert masked_mean(values, pad).item() == pytest.approx(15.0 / 5)
    assert masked_mean(values, torch.ones_like(pad)).item() == 0.0  # all padded: 0, no NaN
    # "l2_sum": the book's latent_loss over the valid future steps; "l1": V-JEPA's mean |.|
    batch = make_batch()
    memory = torch.randn(B, 2, 16)
    valid = batch["future_pad"] == 0
    for kind in ("l2_sum", "l1"):
        model = build(ACTJEPAMLPTargetPolicy, jepa_cfg(latent_loss=kind))
        got = model.latent_term(memory, batch["future_obs"], batch["future_pad"])
        pred = model.predict_latents(memory)[valid]
        target = model.target_latents(batch["future_obs"])[valid]
        want = latent_loss(pred, target) if kind == "l2_sum" else (pred - target).abs().mean()
        torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="latent_loss must be one of"):
        jepa_cfg(latent_loss="cosine")


def test_kl_term():
    mu, logvar = torch.randn(5, 8), torch.randn(5, 8)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)
    ).sum(-1).mean()
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref)
    zero = torch.zeros(5, 8)
    assert gaussian_kl(zero, zero).item() == 0.0  # posterior = prior
    assert gaussian_kl(mu, logvar).item() > 0.0


def test_kl_weight_enters_the_loss_and_trains_the_cvae_encoder():
    batch = make_batch()
    for w in (0.0, 10.0):
        model = build(ACTPolicy, act_cfg(kl_weight=w))
        loss, logs = seeded_forward(model, batch)
        torch.testing.assert_close(loss.detach(), logs["l1"] + w * logs["kl"])
        loss.backward()
        assert model.latent_proj.weight.grad.abs().sum() > 0  # via the sampled z and/or KL
    # the KL alone pulls the posterior toward the prior: its gradient reaches latent_proj
    model = build(ACTPolicy, act_cfg())
    mu, logvar = model.posterior(batch["obs"][:, 0], batch["actions"], batch["action_pad"])
    gaussian_kl(mu, logvar).backward()
    assert model.latent_proj.weight.grad.abs().sum() > 0
    assert model.action_head.weight.grad is None  # the decoder takes no part in the KL


def test_training_samples_z_from_the_posterior():
    """Reparameterisation (Sec. IV-B): in training z = mu + sigma * eps, so with dropout off
    the loss still depends on the noise draw; at test time z = 0."""
    model = build(ACTPolicy, act_cfg()).eval()
    batch = make_batch()
    l1 = [seeded_forward(model, batch, seed=s)[1]["l1"] for s in (0, 0, 1)]
    assert torch.equal(l1[0], l1[1]) and not torch.equal(l1[0], l1[2])
    o_t = batch["obs"][:, -1]
    with torch.no_grad():
        at_prior_mean = model.decode(model.context(o_t, torch.zeros(B, 8))).clamp(-1, 1)
    assert torch.equal(model.predict_chunk(batch["obs"]), at_prior_mean)


def test_cls_readout_equals_the_full_layer():
    model = build(ACTPolicy, act_cfg()).eval()
    layer = model.vae_layers[-1]
    x = torch.randn(4, 2 + H, 16)
    mask = torch.zeros(4, 2 + H, dtype=torch.bool)
    mask[0, -2:] = True
    with torch.no_grad():
        full = layer(x, src_key_padding_mask=mask)[:, 0]
        torch.testing.assert_close(cls_readout(layer, x, mask)[:, 0], full)


# ---------------------------------------------------------------------------- inference
@pytest.mark.parametrize("cls,cfg_fn", [(ACTPolicy, act_cfg), (ACTJEPAMLPTargetPolicy, jepa_cfg)])
def test_predict_chunk_clipped_and_deterministic(cls, cfg_fn):
    model = build(cls, cfg_fn()).eval()
    with torch.no_grad():
        model.action_head.weight.mul_(100.0)  # push raw outputs far outside [-1, 1]
    obs = make_batch()["obs"]
    a = model.predict_chunk(obs)
    torch.randn(10)  # consuming the global RNG changes nothing: z = 0, no dropout
    b = model.predict_chunk(obs, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert a.abs().max().item() == 1.0 and a.min() >= -1.0


@pytest.mark.parametrize("cls,cfg_fn", [(ACTPolicy, act_cfg), (ACTJEPAMLPTargetPolicy, jepa_cfg)])
def test_training_noise_is_the_models_own(cls, cfg_fn):
    """Dropout and the CVAE sample come from cfg.seed (the shared loop seeds only its batch
    sampler): the global RNG neither decides them nor is consumed; the stream is saved."""
    batch = make_batch()
    a, b = build(cls, cfg_fn(seed=4)), build(cls, cfg_fn(seed=4))
    torch.manual_seed(0)
    loss_a = a(batch)[0]
    state = torch.get_rng_state()
    torch.manual_seed(123)
    assert torch.equal(b(batch)[0], loss_a)
    torch.manual_seed(0)
    a(batch)
    assert torch.equal(torch.get_rng_state(), state)  # forward consumed nothing global
    assert not torch.equal(a(batch)[0], loss_a)  # the stream moves on from step to step
    c = build(cls, cfg_fn(seed=4))
    c.load_state_dict(a.state_dict())  # weights and noise stream: c continues where a is
    assert torch.equal(c(batch)[0], a(batch)[0])
    assert not torch.equal(build(cls, cfg_fn(seed=5))(batch)[0], loss_a)


def test_encoder_is_the_observation_token():
    """The probed ``encoder`` is what the policy sees of o_t: changing it changes the chunk."""
    model = build(ACTPolicy, act_cfg()).eval()
    obs = make_batch()["obs"]
    before = model.predict_chunk(obs)
    with torch.no_grad():
        model.encoder.net[-1].bias.add_(1.0)
    assert not torch.allclose(model.predict_chunk(obs), before)


# ---------------------------------------------------------------------------- lambda = 0
def train_steps(model, batches, seed: int = 0):
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-3, weight_decay=1e-4,
                            foreach=True)
    torch.manual_seed(seed)
    for batch in batches:
        loss, _ = model(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.after_step()
    return model.eval()


def test_zero_jepa_weight_is_exactly_act():
    act = build(ACTPolicy, act_cfg(seed=3))
    # predictor dropout on: a branch that ran anyway would shift the dropout draws of ACT
    jepa = build(ACTJEPAMLPTargetPolicy, jepa_cfg(seed=3, jepa_weight=0.0, predictor_dropout=0.1))
    jepa_sd = jepa.state_dict()
    for k, v in act.state_dict().items():  # same initial ACT weights and noise stream
        if k == "_extra_state":
            assert torch.equal(v["noise_gen"], jepa_sd[k]["noise_gen"])
        else:
            assert torch.equal(v, jepa_sd[k]), k
    batches = [make_batch(seed=s) for s in range(4)]
    obs = make_batch(seed=99)["obs"]
    a = train_steps(act, batches).predict_chunk(obs)
    b = train_steps(jepa, batches).predict_chunk(obs)
    assert torch.equal(a, b)
    assert "latent" not in jepa(make_batch())[1]  # the branch is skipped, not multiplied by 0
    # the test can fail: with lambda > 0 the shared weights move differently
    other = build(ACTJEPAMLPTargetPolicy, jepa_cfg(seed=3, jepa_weight=1.0))
    assert not torch.equal(train_steps(other, batches).predict_chunk(obs), a)


def test_zero_jepa_weight_is_exactly_act_in_the_shared_loop():
    """The same through ``registry.train`` (the one loop: seeded sampler, warmup-cosine
    AdamW, deterministic kernels, ``after_step``) on a tiny fake Push dataset."""
    import numpy as np

    from actjepa_core.data import Demonstrations
    from actjepa_core.methods import registry

    rng = np.random.default_rng(0)
    E, T = 2, 50
    demos = Demonstrations("push", rng.standard_normal((E, T + 1, 28)).astype(np.float32),
                           rng.uniform(-1, 1, (E, T, 4)).astype(np.float32),
                           np.zeros((E, T), np.float32), np.ones(E, bool), np.arange(E))
    small = {k: v for k, v in TINY.items() if k not in ("obs_dim", "action_dim")}
    small.update(steps=4, batch_size=16, device="cpu", seed=5)
    act, _ = registry.train(registry.make_config("act", "push", **small), demos)
    jepa, hist = registry.train(
        registry.make_config("actjepa_mlp_target", "push", jepa_weight=0.0, obs_chunk=N,
                             predictor_dropout=0.1, **small), demos)
    obs = torch.as_tensor(demos.windows(1, H, 1)["obs"][:20])
    assert torch.equal(act.predict_chunk(obs), jepa.predict_chunk(obs))
    assert "latent" not in hist and "tau" in hist
    _, hist = registry.train(
        registry.make_config("actjepa_mlp_target", "push", obs_chunk=N, **small), demos)
    assert {"l1", "kl", "latent", "tau"} <= set(hist.columns)
    assert np.isfinite(hist["latent"]).all() and hist["tau"].iloc[0] == pytest.approx(0.996)


# ---------------------------------------------------------------------------- EMA target
def test_ema_target_gets_no_gradient_and_moves_only_in_after_step():
    model = build(ACTJEPAMLPTargetPolicy, jepa_cfg(tau_start=0.9, steps=10))
    target = model.target_encoder
    assert target is model.ema_encoder and target is not model.encoder
    target_ids = {id(p) for p in target.parameters()}
    assert not target_ids & {id(p) for p in model.trainable_parameters()}
    assert all(not p.requires_grad for p in target.parameters())
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=1e-2)
    before = [p.clone() for p in target.parameters()]
    loss, _ = model(make_batch())
    loss.backward()
    assert all(p.grad is None for p in target.parameters())
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    opt.step()
    for p, q in zip(target.parameters(), before):
        assert torch.equal(p, q)  # the optimiser step leaves the target alone
    online = [p.detach().clone() for p in model.encoder.parameters()]
    assert model.after_step() == {"tau": pytest.approx(0.9)}  # first tau = tau_start
    for p, q, o in zip(target.parameters(), before, online):
        torch.testing.assert_close(p, 0.9 * q + 0.1 * o)
    # the schedule reaches tau_end on the last step and the counter is in the state_dict
    taus = [model.after_step()["tau"] for _ in range(9)]
    assert taus[-1] == pytest.approx(1.0) and taus == sorted(taus)
    fresh = build(ACTJEPAMLPTargetPolicy, jepa_cfg(tau_start=0.9, steps=10))
    fresh.load_state_dict(model.state_dict())
    assert fresh._ema_steps == 10


def test_fixed_tau_and_no_ema():
    model = build(ACTJEPAMLPTargetPolicy, jepa_cfg(tau_fixed=0.5))
    assert model.after_step() == {"tau": 0.5} and model.after_step() == {"tau": 0.5}
    plain = build(ACTJEPAMLPTargetPolicy, jepa_cfg(ema=False))
    assert plain.target_encoder is plain.encoder and plain.ema_encoder is None
    assert len(plain.trainable_parameters()) == len(list(plain.parameters()))
    assert math.isnan(plain.after_step()["tau"])
    # stop-gradient: the latent loss reaches the encoder only through the prediction
    batch = make_batch()
    target = plain.target_latents(batch["future_obs"])
    assert not target.requires_grad
    torch.testing.assert_close(target, plain.encoder(batch["future_obs"]).detach())


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("kw,field", [
    ({"chunk": 0}, "chunk"),
    ({"chunk": -3}, "chunk"),
    ({"kl_weight": -1.0}, "kl_weight"),
    ({"kl_weight": math.inf}, "kl_weight"),
    ({"d_model": 30, "n_heads": 4}, "divisible"),
    ({"dropout": 1.0}, "dropout"),
    ({"latent_dim": 0}, "latent_dim"),
    ({"temporal_ensemble_m": -0.1}, "temporal_ensemble_m"),
    ({"execution": "sometimes"}, "execution"),
    ({"encoder_hidden": (0,)}, "encoder_hidden"),
])
def test_bad_act_config(kw, field):
    with pytest.raises(ValueError, match=field):
        act_cfg(**kw)


@pytest.mark.parametrize("kw,field", [
    ({"jepa_weight": -0.5}, "jepa_weight"),
    ({"jepa_weight": math.nan}, "jepa_weight"),
    ({"jepa_weight": math.inf}, "jepa_weight"),
    ({"tau_start": 1.0}, "tau_start"),
    ({"tau_start": -0.1}, "tau_start"),
    ({"tau_end": 1.5}, "tau_end"),
    ({"tau_fixed": 1.0}, "tau_fixed"),
    ({"obs_chunk": 0}, "obs_chunk"),
    ({"predictor_layers": 0}, "predictor_layers"),
    ({"kl_weight": -1.0}, "kl_weight"),  # ACT's checks hold too
])
def test_bad_jepa_config(kw, field):
    with pytest.raises(ValueError, match=field):
        jepa_cfg(**kw)


def test_config_fields_and_round_trip():
    cfg = jepa_cfg()
    assert (ACTConfig.name, ACTJEPAMLPTargetConfig.name) == ("act", "actjepa_mlp_target")
    assert (cfg.chunk, cfg.obs_chunk, cfg.obs_horizon, cfg.execution) == (H, N, 1, "ensemble")
    assert act_cfg().obs_chunk == 1 and act_cfg().temporal_ensemble_m == 0.01
    d = cfg.to_dict()
    d["encoder_hidden"] = list(d["encoder_hidden"])  # as read back from JSON
    assert ACTJEPAMLPTargetConfig.from_dict(d) == cfg
    with pytest.raises(ValueError, match="jepa_weight"):
        ACTConfig.from_dict(d)  # ACT has no JEPA fields
    with pytest.raises(ValueError, match="longer than an episode"):
        jepa_cfg(obs_chunk=60).check_episode(50)
