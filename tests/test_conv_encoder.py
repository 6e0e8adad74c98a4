"""Pixel observations: the CNN encoder, its config fields, and every method and policy on
frames (tiny 16 x 16 random frames, a few steps: these prove the code paths, not learning)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.data import NormStats
from actjepa_core.envs import get_task
from actjepa_core.models import ConvEncoder, MLPEncoder, conv_out_size, make_encoder, random_shift
from actjepa_core.policies import (RAW_PIXEL_DIM, BCConfig, LatentMPC, LatentNN, embed_in_chunks,
                                   goal_observation, train_bc)
from actjepa_core.methods import registry
from actjepa_core.methods.registry import pretrain
from actjepa_core.methods.actjepa import build_model, load_checkpoint, train_jepa
from helpers import small_config

S = 16
O, A, N = 3 * S * S, 4, 64
TASK = f"push-pixels{S}"


def pixel_cfg(method: str = "actjepa", **kw) -> JEPAConfig:
    base = dict(obs_dim=O, action_dim=A, frame_size=S, steps=3, batch_size=16, monitor_every=0,
                device="cpu")
    return small_config(method, dict(repr_dim=32, pred_hidden=16), **{**base, **kw})


def frames(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, O)).astype(np.float32)
    act = rng.uniform(-1, 1, (n, A)).astype(np.float32)
    return obs, act, rng.standard_normal((n, O)).astype(np.float32)


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------------ the encoder
def test_shapes_follow_three_stride_two_convolutions():
    assert [conv_out_size(s) for s in (64, 16, 8, 15)] == [8, 2, 1, 2]
    enc = ConvEncoder(S, out_dim=32)
    assert enc.obs_shape == (O,) and enc.out_dim == 32
    assert enc.head.in_features == 32 * 2 * 2
    assert enc(torch.randn(5, O)).shape == (5, 32)
    assert ConvEncoder(64).head.in_features == 2048 and ConvEncoder(64).out_dim == 128


def test_wrong_shapes_are_refused_not_reshaped():
    enc = ConvEncoder(S, out_dim=8)
    with pytest.raises(ValueError, match=r"shape \(B, 768\).*flattened channels first"):
        enc(torch.randn(2, 3, S, S))
    with pytest.raises(ValueError, match="wrong observation width"):
        enc(torch.randn(4, 2 * O))  # would silently reshape into 8 frames without the check


def test_weights_are_set_by_the_seed():
    cfg = pixel_cfg()
    a, b, c = build_model(cfg), build_model(cfg), build_model(pixel_cfg(seed=1))
    assert isinstance(a.encoder, ConvEncoder) and isinstance(a.target_encoder, ConvEncoder)
    assert same(weights(a), weights(b)) and not same(weights(a), weights(c))
    x = torch.randn(3, O)
    assert torch.equal(a.encode(x), b.encode(x))


def test_random_shift_crops_a_window_of_the_border_padded_frame():
    x = torch.arange(6 * 3 * 8 * 8, dtype=torch.float32).view(6, 3, 8, 8)
    torch.manual_seed(0)
    y = random_shift(x, 2)
    torch.manual_seed(0)
    assert torch.equal(y, random_shift(x, 2))  # the global generator fixes the shifts
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
    found = []
    for b in range(6):
        hits = [(dy, dx) for dy in range(5) for dx in range(5)
                if torch.equal(y[b], padded[b, :, dy:dy + 8, dx:dx + 8])]
        assert len(hits) == 1
        found += hits
    assert len(set(found)) > 1  # shifts are drawn per frame


def test_augmentation_acts_in_training_mode_only():
    torch.manual_seed(3)
    enc = ConvEncoder(S, out_dim=8, augment=2)
    plain = ConvEncoder(S, out_dim=8)
    plain.load_state_dict(enc.state_dict())
    x = torch.randn(4, O)
    enc.eval()
    assert torch.equal(enc(x), plain(x))
    enc.train()
    plain.train()
    torch.manual_seed(0)
    y1 = enc(x)
    torch.manual_seed(0)
    assert torch.equal(y1, enc(x))
    assert not torch.allclose(y1, plain(x))  # the shift changed the input
    assert torch.equal(plain(x), plain.eval()(x))  # augment=0: no shift in training mode


def test_make_encoder_picks_the_architecture_from_the_config():
    assert isinstance(make_encoder(pixel_cfg(augment=3)), ConvEncoder)
    assert make_encoder(pixel_cfg(augment=3)).augment == 3
    state = make_encoder(JEPAConfig(obs_dim=13, action_dim=4))
    assert type(state) is MLPEncoder and state.obs_shape == (13,)


# ------------------------------------------------------------------------------ the config
def test_state_config_dict_keeps_its_keys_exactly():
    keys = ["obs_dim", "action_dim", "repr_dim", "enc_hidden", "act_hidden", "pred_hidden",
            "pred_depth", "bottleneck", "action_injection", "normalize_loss", "vc_weight", "ema",
            "tau_start", "tau_end", "tau_fixed", "view_noise", "temperature", "lr",
            "weight_decay", "warmup", "steps", "batch_size", "monitor_every", "seed",
            "deterministic", "device", "threads"]
    # the cache key hashes the dict with sorted keys: the set of names is what must not move;
    # every article method's key has the shape of the one config they once shared
    for method in registry.names("representation"):
        assert sorted(registry.article_key(registry.make_config(method, "reach"))) == sorted(keys)


def test_pixel_config_dict_roundtrips_and_omits_zero_fields():
    d = pixel_cfg().to_dict()
    assert d["frame_size"] == S and "augment" not in d
    assert JEPAConfig.from_dict(d) == pixel_cfg()
    cfg = pixel_cfg(augment=4)
    assert cfg.to_dict()["augment"] == 4 and JEPAConfig.from_dict(cfg.to_dict()) == cfg


def test_pixel_config_validation_names_the_fix():
    with pytest.raises(ValueError, match=r"obs_dim=13.*set obs_dim to the task's obs_dim"):
        JEPAConfig(obs_dim=13, action_dim=4, frame_size=16)
    with pytest.raises(ValueError, match="set augment=0"):
        JEPAConfig(obs_dim=13, action_dim=4, augment=2)
    with pytest.raises(ValueError, match=">= 8"):
        JEPAConfig(obs_dim=48, action_dim=4, frame_size=4)
    with pytest.raises(ValueError, match="augment must be an integer >= 0"):
        pixel_cfg(augment=-1)


# ------------------------------------------------------------------------------ pretraining
@pytest.mark.parametrize("method", registry.names("representation"))
def test_every_method_pretrains_a_conv_encoder_on_frames(method):
    before = torch.get_rng_state()
    model, hist = pretrain(pixel_cfg(method), *frames())
    assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left alone
    assert isinstance(model.encoder, ConvEncoder) and model.encoder.out_dim == 32
    assert list(hist.step) == [1, 2, 3] and np.isfinite(hist.loss).all()
    assert model.encoder(torch.randn(2, O)).shape == (2, 32)


@pytest.mark.parametrize("method", ["actjepa", "contrastive"])
def test_augmented_pretraining_is_set_by_the_seed(method):
    data = frames()
    a, _ = pretrain(pixel_cfg(method, augment=2), *data)
    torch.manual_seed(123)  # the caller's generator must not matter
    b, _ = pretrain(pixel_cfg(method, augment=2), *data)
    c, _ = pretrain(pixel_cfg(method), *data)
    assert same(weights(a.encoder), weights(b.encoder))
    assert not same(weights(a.encoder), weights(c.encoder))


def test_augmented_run_resumes_exactly_and_reloads_as_a_cnn(tmp_path):
    cfg, data = pixel_cfg(augment=2, steps=4), frames()
    whole, _ = train_jepa(cfg, *data, progress=False)
    path = tmp_path / "ckpt.pt"
    train_jepa(cfg, *data, progress=False, checkpoint_path=path, until=2)
    resumed, hist = train_jepa(cfg, *data, progress=False, checkpoint_path=path)
    assert list(hist.step) == [1, 2, 3, 4]
    assert same(weights(whole), weights(resumed))
    ckpt = load_checkpoint(path)
    assert isinstance(ckpt.model.encoder, ConvEncoder) and ckpt.model.encoder.augment == 2


# ------------------------------------------------------------------------------ policies
def pixel_bc_data() -> tuple[np.ndarray, np.ndarray, NormStats]:
    obs, act, _ = frames()
    return obs, act, NormStats(np.zeros(O, np.float32), np.ones(O, np.float32))


def test_raw_pixel_bc_trains_its_own_cnn_end_to_end():
    obs, act, stats = pixel_bc_data()
    cfg = BCConfig(steps=3, batch_size=16, seed=5, device="cpu")
    policy, losses = train_bc(None, obs, act, stats, get_task(TASK).layout, cfg)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        init = ConvEncoder(S, RAW_PIXEL_DIM)  # what train_bc initialised, before training
    assert isinstance(policy.encoder, ConvEncoder)
    assert policy.encoder.out_dim == RAW_PIXEL_DIM == 128
    assert policy.head.net[0].in_features == RAW_PIXEL_DIM
    trained = weights(policy.encoder)
    assert all(not torch.equal(p, q) for p, q in zip(weights(init), trained))
    # ... by a few AdamW steps of lr 1e-3 from that init (another init would be ~0.1 away)
    assert max(float((p - q).abs().max()) for p, q in zip(weights(init), trained)) < 0.01
    assert len(losses) == 3 and np.isfinite(losses).all()
    out = policy(obs[:5])  # raw flat frames in, through RolloutPolicy._obs
    assert out.shape == (5, A) and np.abs(out).max() <= 1


def test_frozen_bc_on_frames_leaves_the_encoder_alone():
    obs, act, stats = pixel_bc_data()
    model, _ = pretrain(pixel_cfg(), *frames())
    before = weights(model.encoder)
    policy, _ = train_bc(model.encoder, obs, act, stats, get_task(TASK).layout,
                         BCConfig(steps=3, batch_size=16, device="cpu"))
    assert same(before, weights(model.encoder)) and same(before, weights(policy.encoder))
    assert policy.head.net[0].in_features == 32


def test_features_in_chunks_match_one_pass():
    enc = ConvEncoder(S, out_dim=8).eval()
    x = torch.randn(20, O)
    with torch.no_grad():
        torch.testing.assert_close(embed_in_chunks(enc, x, rows=7), enc(x))
    obs, act, stats = pixel_bc_data()
    nn_policy = LatentNN(enc, obs, act, stats, device="cpu")
    np.testing.assert_array_equal(nn_policy(obs[:4]), act[:4])


def test_goal_based_tools_refuse_pixel_tasks():
    obs, act, stats = pixel_bc_data()
    layout = get_task(TASK).layout
    with pytest.raises(ValueError, match="goal_input=True.*pixel task.*set goal_input=False"):
        train_bc(None, obs, act, stats, layout, BCConfig(steps=1, goal_input=True))
    with pytest.raises(ValueError, match="latent MPC.*pixel task"):
        LatentMPC(build_model(pixel_cfg()), stats, layout)
    with pytest.raises(ValueError, match="goal_observation.*pixel task"):
        goal_observation(obs[:2], layout)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pixel_path_runs_on_cuda():
    model, _ = pretrain(pixel_cfg(device="cuda", augment=2), *frames())
    assert next(model.encoder.parameters()).is_cuda
    obs, act, stats = pixel_bc_data()
    policy, _ = train_bc(None, obs, act, stats, get_task(TASK).layout,
                         BCConfig(steps=2, batch_size=16, device="cuda"))
    frozen, _ = train_bc(model.encoder, obs, act, stats, get_task(TASK).layout,
                         BCConfig(steps=2, batch_size=16, device="cuda"))
    assert policy(obs[:3]).shape == frozen(obs[:3]).shape == (3, A)
