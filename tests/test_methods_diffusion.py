"""Unit tests of Diffusion Policy: the noise schedule and DDIM, training on a toy mapping,
FiLM conditioning, the EMA, reproducible sampling and config validation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from actjepa_core.methods.base import BATCH_KEYS
from actjepa_core.methods.diffusion_policy import (DiffusionConfig, DiffusionPolicy,
                                                   NoiseSchedule, Normalizer,
                                                   squared_cosine_betas)

O, A, TO, TP = 6, 2, 2, 8


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread, as training runs: tiny convolutions are slower split over threads
    (and much slower when the cores are shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_cfg(**kw) -> DiffusionConfig:
    base = dict(obs_dim=O, action_dim=A, obs_horizon=TO, chunk=TP, action_steps=4,
                down_dims=(16, 32), kernel_size=3, step_embed_dim=16, steps=10, batch_size=8)
    base.update(kw)
    return DiffusionConfig(**base)


def build(cfg: DiffusionConfig) -> DiffusionPolicy:
    """As the caller does: weights from a forked, seeded global RNG."""
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        return DiffusionPolicy(cfg)


def make_batch(b: int = 8, seed: int = 0, cfg: DiffusionConfig | None = None
               ) -> dict[str, torch.Tensor]:
    """A batch with every key of ``BATCH_KEYS``; actions uniform in [-1, 1]."""
    cfg = cfg or small_cfg()
    g = torch.Generator().manual_seed(seed)
    h = cfg.chunk
    return {"obs": torch.randn(b, cfg.obs_horizon, cfg.obs_dim, generator=g),
            "actions": torch.rand(b, h, cfg.action_dim, generator=g) * 2 - 1,
            "action_pad": torch.zeros(b, h),
            "future_obs": torch.randn(b, 1, cfg.obs_dim, generator=g),
            "future_pad": torch.zeros(b, 1)}


# -- the noise schedule ----------------------------------------------------------------------


def test_schedule_is_a_decreasing_cumprod_in_the_unit_interval():
    s = NoiseSchedule(100)
    ab = s.alphas_cumprod
    assert ab.shape == (100,)
    assert bool(((ab > 0) & (ab < 1)).all())
    assert bool((ab[1:] < ab[:-1]).all())
    assert ab[0] > 0.999 and ab[-1] < 1e-3  # nearly clean at k=0, nearly pure noise at K-1
    betas = squared_cosine_betas(100)
    assert float(betas.max()) <= 0.999 and float(betas.min()) > 0
    torch.testing.assert_close(ab, torch.cumprod(1 - betas, 0).float())


def test_ddim_step_inverts_the_forward_noising():
    s = NoiseSchedule(100, clip_sample=True)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(5, TP, A, generator=g) * 2 - 1
    eps = torch.randn(5, TP, A, generator=g)
    for k in (0, 11, 55, 99):
        xk = s.add_noise(x0, eps, torch.full((5,), k))
        # with the true noise, one step to "clean" returns x0 (float32 rounding is amplified
        # by 1 / sqrt(alpha_bar), about 2000 at k = 99) ...
        torch.testing.assert_close(s.ddim_step(xk, eps, k, -1), x0, atol=2e-3, rtol=0)
        # ... and a step to a lower level lands on the forward process at that level
        if k >= 11:
            torch.testing.assert_close(s.ddim_step(xk, eps, k, k - 11),
                                       s.add_noise(x0, eps, torch.full((5,), k - 11)),
                                       atol=1e-4, rtol=0)


def test_ddim_visits_evenly_spaced_steps_down_to_zero():
    s = NoiseSchedule(100)
    assert s.ddim_timesteps(10) == [99, 88, 77, 66, 55, 44, 33, 22, 11, 0]
    assert s.ddim_timesteps(100) == list(range(99, -1, -1))
    assert s.ddim_timesteps(1) == [99]


def test_add_noise_uses_each_rows_own_step():
    s = NoiseSchedule(100)
    x0, eps = torch.ones(2, TP, A), torch.zeros(2, TP, A)
    out = s.add_noise(x0, eps, torch.tensor([0, 99]))
    torch.testing.assert_close(out[0], torch.full((TP, A), float(s.alphas_cumprod[0].sqrt())))
    torch.testing.assert_close(out[1], torch.full((TP, A), float(s.alphas_cumprod[99].sqrt())))


# -- the model -------------------------------------------------------------------------------


def test_default_config_follows_the_paper_windows_and_builds():
    cfg = DiffusionConfig(obs_dim=28, action_dim=4)
    assert (cfg.obs_horizon, cfg.chunk, cfg.action_steps, cfg.execution) == (2, 16, 8, "receding")
    assert (cfg.train_timesteps, cfg.inference_steps, cfg.kernel_size) == (100, 10, 5)
    assert DiffusionConfig.name == "diffusion_policy"
    model = build(cfg)
    assert model.encoder is None and model.cfg is cfg
    chunk = model.predict_chunk(torch.randn(3, 2, 28), torch.Generator().manual_seed(0))
    assert chunk.shape == (3, 16, 4)
    loss, logs = model(make_batch(4, cfg=cfg))
    assert loss.ndim == 0 and set(logs) == {"loss"}
    assert set(make_batch(1)) == set(BATCH_KEYS)


def test_config_roundtrips_through_a_dict():
    cfg = small_cfg(down_dims=[16, 32])
    assert cfg.down_dims == (16, 32)
    assert DiffusionConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("kw, match", [
    (dict(action_steps=9), "action_steps .* must be <= chunk"),
    (dict(action_steps=0), "action_steps must be a positive integer"),
    (dict(obs_horizon=0), "obs_horizon must be a positive integer"),
    (dict(down_dims=()), "down_dims is empty"),
    (dict(down_dims=(16, 12)), "multiple of n_groups"),
    (dict(kernel_size=4), "kernel_size must be odd"),
    (dict(step_embed_dim=15), "step_embed_dim must be even"),
    (dict(chunk=6, action_steps=4, down_dims=(8, 16, 32)),
     r"divisible by 2 \*\* \(len\(down_dims\) - 1\) = 4"),
    (dict(inference_steps=101), "inference_steps .* must be <= train_timesteps"),
    (dict(train_timesteps=0), "train_timesteps must be a positive integer"),
    (dict(ema_max=1.0), "ema_max"),
    (dict(ema_min=0.5, ema_max=0.4), "ema_min"),
    (dict(ema_power=0.0), "ema_power"),
    (dict(execution="chunk"), "execution must be one of"),
])
def test_bad_configs_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        small_cfg(**kw)


def test_bad_shapes_raise():
    model = build(small_cfg())
    with pytest.raises(ValueError, match="obs must be"):
        model.predict_chunk(torch.randn(3, TO + 1, O))
    batch = make_batch()
    batch["actions"] = batch["actions"][:, :-1]
    with pytest.raises(ValueError, match="actions must be"):
        model(batch)


def test_training_noise_is_the_models_own():
    """Same seed -> same loss, whatever the global RNG did in between; the batch sampler's
    draws cannot shift the diffusion noise."""
    batch = make_batch()
    a, b = build(small_cfg()), build(small_cfg())
    torch.manual_seed(123)
    la = a(batch)[0]
    torch.manual_seed(456)
    torch.rand(1000)
    lb = b(batch)[0]
    assert torch.equal(la, lb)
    assert not torch.equal(a(batch)[0], la)  # the generator moves on: fresh noise next step
    state = torch.random.get_rng_state()
    b(batch)
    assert torch.equal(torch.random.get_rng_state(), state)  # and the global RNG is untouched


def test_padding_flags_do_not_change_the_loss():
    """DP trains on the repeated last action past an episode's end, like any other action."""
    batch = make_batch()
    padded = dict(batch, action_pad=torch.ones_like(batch["action_pad"]))
    assert torch.equal(build(small_cfg())(batch)[0], build(small_cfg())(padded)[0])


def test_state_dict_carries_the_ema_counter_and_noise_generator():
    a = build(small_cfg())
    a(make_batch())
    a.after_step()
    a.after_step()
    b = build(small_cfg(seed=5))
    b.load_state_dict(a.state_dict())
    assert b.ema_updates == 2
    assert torch.equal(a(make_batch())[0], b(make_batch())[0])


# -- the EMA -----------------------------------------------------------------------------------


def test_ema_gets_no_gradient_and_moves_only_in_after_step():
    model = build(small_cfg())
    trainable = {id(p) for p in model.trainable_parameters()}
    assert trainable == {id(p) for p in model.unet.parameters()}
    assert not trainable & {id(p) for p in model.ema.parameters()}
    assert all(not p.requires_grad for p in model.ema.parameters())

    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.1)
    before = [p.clone() for p in model.ema.parameters()]
    loss, _ = model(make_batch())
    loss.backward()
    assert all(p.grad is None for p in model.ema.parameters())
    opt.step()
    for b, p in zip(before, model.ema.parameters()):
        assert torch.equal(b, p)

    # first update copies the online weights (decay 0), later ones follow the formula
    assert model.after_step() == {"ema_decay": 0.0}
    for p, o in zip(model.ema.parameters(), model.unet.parameters()):
        torch.testing.assert_close(p, o)
    for p in model.unet.parameters():  # move the online weights, then one more EMA update
        p.data.add_(1.0)
    old = [p.clone() for p in model.ema.parameters()]
    d = model.after_step()["ema_decay"]
    assert d == pytest.approx(1 - 2 ** -0.75)
    for b, p, o in zip(old, model.ema.parameters(), model.unet.parameters()):
        torch.testing.assert_close(p, d * b + (1 - d) * o)


def test_ema_decay_follows_the_warmup_formula_and_its_clamps():
    model = build(small_cfg())
    for step in (1, 10, 1000):
        assert model.ema_decay(step) == pytest.approx(1 - (1 + step) ** -0.75)
    assert model.ema_decay(10**9) == pytest.approx(0.9999)
    other = build(small_cfg(ema_power=2 / 3, ema_inv_gamma=2.0, ema_min=0.5, ema_max=0.9))
    assert other.ema_decay(1) == pytest.approx(0.5)  # 1 - 1.5 ** (-2/3) = 0.237, clamped up
    assert other.ema_decay(10) == pytest.approx(1 - 6 ** (-2 / 3))
    assert other.ema_decay(10**6) == pytest.approx(0.9)


# -- sampling -----------------------------------------------------------------------------------


def test_predict_chunk_is_reproducible_in_range_and_uses_the_ema():
    model = build(small_cfg())
    obs = torch.randn(4, TO, O, generator=torch.Generator().manual_seed(1)) * 5
    a = model.predict_chunk(obs, torch.Generator().manual_seed(7))
    b = model.predict_chunk(obs, torch.Generator().manual_seed(7))
    c = model.predict_chunk(obs, torch.Generator().manual_seed(8))
    assert a.shape == (4, TP, A)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.abs().max()) <= 1.0 and float(c.abs().max()) <= 1.0
    with torch.no_grad():  # the online weights do not enter the sampler, the EMA ones do
        for p in model.unet.parameters():
            p.add_(1.0)
        assert torch.equal(model.predict_chunk(obs, torch.Generator().manual_seed(7)), a)
        for p in model.ema.parameters():
            p.add_(0.1)
        assert not torch.equal(model.predict_chunk(obs, torch.Generator().manual_seed(7)), a)


def test_fits_a_toy_mapping_and_the_observation_conditions_the_chunk():
    """Four fixed observation histories, each with its own ramp of actions: the loss halves,
    and the sampled chunks land near their own targets, far from the others' (so FiLM
    carries the observation). Judged on the median over 8 noise draws per observation: a
    model this briefly trained still sends the odd draw astray."""
    model = build(small_cfg(lr=3e-3))
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(4, TO, O, generator=g)
    t = torch.linspace(-1, 1, TP)[:, None]
    slopes = torch.tensor([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]])
    targets = 0.2 * torch.tensor([1.0, -1.0, -1.0, 1.0])[:, None, None] + slopes[:, None] * t
    opt = torch.optim.AdamW(model.trainable_parameters(), lr=3e-3, weight_decay=1e-4, foreach=True)
    losses = []
    for _ in range(300):
        idx = torch.randint(4, (64,), generator=g)
        loss, _ = model({"obs": obs[idx], "actions": targets[idx]})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.after_step()
        losses.append(loss.item())
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)

    pred = model.predict_chunk(obs.repeat(8, 1, 1), torch.Generator().manual_seed(0))
    err = (pred.view(8, 4, 1, TP, A) - targets).pow(2).mean(dim=(3, 4)).median(dim=0).values
    assert float(err.diagonal().max()) < 0.05, err  # (pred i, target j), median over draws
    assert float((err + torch.eye(4)).min()) > 0.1, err


# -- normalisation (the authors' limits) -----------------------------------------------------


def test_the_normaliser_maps_the_training_limits_to_the_unit_interval():
    x = torch.tensor([[0.0, 5.0, -2.0], [4.0, 5.0, 2.0], [2.0, 5.0, 0.0]])
    norm = Normalizer(3)
    torch.testing.assert_close(norm(x), x)  # identity until fitted
    norm.fit(x)
    y = norm(x)
    torch.testing.assert_close(y[:, 0], torch.tensor([-1.0, 1.0, 0.0]))
    torch.testing.assert_close(y[:, 1], torch.zeros(3))  # a constant dimension maps to 0
    torch.testing.assert_close(norm.inverse(y), x)


def test_fit_normalizer_follows_the_config_and_travels_with_the_weights():
    b = make_batch()
    b["obs"] = b["obs"] * 3.0 - 2.0
    on, off = build(small_cfg()), build(small_cfg(normalize=False))
    on.fit_normalizer(b)
    off.fit_normalizer(b)
    flat = on._normalised_obs(b["obs"]).reshape(-1, O)
    torch.testing.assert_close(flat.min(0).values, -torch.ones(O))
    torch.testing.assert_close(flat.max(0).values, torch.ones(O))
    torch.testing.assert_close(off._normalised_obs(b["obs"]), b["obs"])
    fresh = build(small_cfg())
    fresh.load_state_dict(on.state_dict())
    torch.testing.assert_close(fresh.obs_norm.scale, on.obs_norm.scale)
    torch.testing.assert_close(fresh.action_norm.offset, on.action_norm.offset)
