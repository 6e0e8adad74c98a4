"""The paper's ACT-JEPA as its public implementation builds it (``methods.actjepa_paper``):
the target encoder is a copy of the context encoder, gets no gradient, reads the state
sequence and moves only by EMA; the losses leave padding out; the monitor reads both outputs."""

from __future__ import annotations

import pytest
import torch

from actjepa_core.data import demonstrations
from actjepa_core.methods import registry
from actjepa_core.methods.actjepa_paper import (ACTJEPAPaperConfig, ACTJEPAPaperPolicy,
                                                StateTransformer)

O, A, H, N, B = 6, 2, 4, 3, 16
TINY = dict(obs_dim=O, action_dim=A, chunk=H, obs_chunk=N, d_model=16, n_heads=2,
            dim_feedforward=32, encoder_hidden=(32,), predictor_dim=8, predictor_heads=2,
            predictor_ff=16, steps=10)


def cfg(**kw) -> ACTJEPAPaperConfig:
    return ACTJEPAPaperConfig(**{**TINY, **kw})


def model(**kw) -> ACTJEPAPaperPolicy:
    return registry.build(cfg(**kw))


def batch(seed: int = 0, pad_last: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    future_pad, action_pad = torch.zeros(B, N), torch.zeros(B, H)
    future_pad[::2, -pad_last:] = 1.0
    action_pad[::2, -pad_last:] = 1.0
    return {"obs": torch.randn(B, 1, O, generator=g), "actions": torch.rand(B, H, A, generator=g) * 2 - 1,
            "action_pad": action_pad, "future_obs": torch.randn(B, N, O, generator=g),
            "future_pad": future_pad}


def test_the_target_encoder_is_a_copy_of_the_context_encoder_without_gradient():
    m = model()
    assert type(m.target_encoder) is type(m.encoder) is StateTransformer
    ctx, tgt = m.encoder.state_dict(), m.target_encoder.state_dict()
    assert ctx.keys() == tgt.keys() and all(torch.equal(ctx[k], tgt[k]) for k in ctx)
    assert not any(p.requires_grad for p in m.target_encoder.parameters())
    trainable = {id(p) for p in m.trainable_parameters()}
    assert not trainable & {id(p) for p in m.target_encoder.parameters()}
    m.train()
    loss, logs = m(batch())
    loss.backward()
    assert all(p.grad is None for p in m.target_encoder.parameters())
    assert m.encoder.state_emb.net[0].weight.grad is not None  # the context encoder learns
    assert not m.target_encoder.training  # no dropout in the targets, even in training


def test_the_targets_are_contextual_tokens_of_the_state_sequence():
    m = model().eval()
    b = batch()
    o_t = b["obs"][:, -1]
    targets = m.target_latents(o_t, b["future_obs"], b["future_pad"])
    assert targets.shape == (B, N + 1, 16)
    # each target token has seen the rest of the sequence: changing a future state moves o_t's
    later = b["future_obs"].clone()
    later[:, 0] += 1.0
    moved = m.target_latents(o_t, later, torch.zeros(B, N))
    assert not torch.allclose(moved[:, 0], m.target_latents(o_t, b["future_obs"], torch.zeros(B, N))[:, 0])
    # ...but not a padded one (masked as a key), nor, with a causal mask, a later one
    padded = torch.zeros(B, N)
    padded[:, -1] = 1.0
    last = b["future_obs"].clone()
    last[:, -1] += 5.0
    same = [m.target_latents(o_t, f, padded)[:, :-1] for f in (b["future_obs"], last)]
    torch.testing.assert_close(same[0], same[1])
    causal = model(causal=True).eval()
    first = [causal.target_latents(o_t, f, torch.zeros(B, N))[:, 0] for f in (b["future_obs"], later)]
    torch.testing.assert_close(first[0], first[1])


def test_ema_moves_the_target_only_after_the_step_and_hard_copy_without_ema():
    m = model(ema_start=0.5, ema_end=0.5)
    before = [p.clone() for p in m.target_encoder.parameters()]
    opt = torch.optim.SGD(m.trainable_parameters(), lr=0.1)
    m.train()
    m(batch())[0].backward()
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(before, m.target_encoder.parameters()))
    assert m.after_step() == {"tau": 0.5}
    for old, new, online in zip(before, m.target_encoder.parameters(), m.encoder.parameters()):
        torch.testing.assert_close(new, 0.5 * old + 0.5 * online)
    hard = model(ema=False)
    with torch.no_grad():
        for p in hard.encoder.parameters():
            p.add_(1.0)
    hard.after_step()
    assert all(torch.equal(a, b) for a, b in zip(hard.target_encoder.parameters(), hard.encoder.parameters()))


def test_the_momentum_schedule_is_linear_over_the_steps():
    m = model(ema_start=0.9, ema_end=1.0, steps=10)
    assert [round(m.momentum(s), 6) for s in (0, 5, 10, 20)] == [0.9, 0.95, 1.0, 1.0]


def test_padding_is_left_out_of_both_losses():
    m = model().eval()
    b = batch(pad_last=1)
    loss, _ = m(b)
    changed = {**b, "actions": b["actions"].clone(), "future_obs": b["future_obs"].clone()}
    changed["actions"][::2, -1] += 3.0
    changed["future_obs"][::2, -1] += 3.0
    torch.testing.assert_close(m(changed)[0], loss)


def test_the_latent_weight_and_the_logs():
    b = batch()
    with_latent = model().eval()
    loss, logs = with_latent(b)
    assert set(logs) == {"loss", "l1", "latent"}
    torch.testing.assert_close(loss, logs["l1"] + logs["latent"])
    assert set(model(jepa_weight=0.0).eval()(b)[1]) == {"loss", "l1"}


def test_predictions_shapes_and_the_monitor():
    m = model().eval()
    b = batch()
    assert m.predict_chunk(b["obs"]).shape == (B, H, A)
    assert m.predict_latents(b["obs"]).shape == (B, N + 1, 16)
    assert m.encoder(b["obs"][:, -1]).shape == (B, 16)
    readings = m.latent_readings(b)
    assert set(readings) == {"target_std", "target_erank", "predictor_std", "predictor_erank"}
    assert all(v > 0 for v in readings.values())


@pytest.mark.parametrize("kw,field", [({"predictor_dim": 9}, "predictor_dim"),
                                      ({"ema_start": 1.2}, "ema_start"),
                                      ({"jepa_weight": -1.0}, "jepa_weight"),
                                      ({"dropout": 1.0}, "dropout")])
def test_bad_configs_name_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        cfg(**kw)


def test_training_logs_the_collapse_monitor_and_reloads_identically(tmp_path):
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    c = registry.make_config("actjepa_paper", "reach", steps=4, batch_size=8, monitor_every=2,
                             d_model=16, n_heads=2, dim_feedforward=32, encoder_hidden=(16,),
                             predictor_dim=8, predictor_heads=2, predictor_ff=16, device="cpu")
    trained, history = registry.train(c, demos)
    assert history.dropna(subset=["target_erank"]).step.tolist() == [2, 4]
    path = registry.save(tmp_path / "m.pt", trained, history)
    loaded, _ = registry.load(path)
    obs = torch.as_tensor(demos.windows(1, 1, 1)["obs"][:32])
    torch.testing.assert_close(loaded.predict_chunk(obs), trained.predict_chunk(obs), rtol=0, atol=0)
