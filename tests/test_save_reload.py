"""Every registered method survives save and load: the reloaded model computes exactly what
the saved one did (a load that skipped the weights would fail here)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from actjepa_core.data import demonstrations
from actjepa_core.methods import registry
from actjepa_core.methods.registry import pretrain
from actjepa_core.training import ResumeError, read_payload
from helpers import A, O, small_config, toy_data

SMALL = {"act": dict(d_model=16, n_heads=2, dim_feedforward=32, latent_dim=4, encoder_hidden=(16,)),
         "diffusion_policy": dict(down_dims=(8, 16), step_embed_dim=8, n_groups=4),
         "actjepa_paper": dict(d_model=16, n_heads=2, dim_feedforward=32, encoder_hidden=(16,),
                               predictor_dim=8, predictor_heads=2, predictor_ff=16),
         "actjepa_mlp_target": dict(d_model=16, n_heads=2, dim_feedforward=32, latent_dim=4,
                                    encoder_hidden=(16,), predictor_ff=16)}


@pytest.mark.parametrize("name", registry.names("policy"))
def test_a_chunked_method_reloads_to_the_same_chunks(name, tmp_path):
    assert set(SMALL) == set(registry.names("policy"))  # a new method needs its small config here
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    cfg = registry.make_config(name, "reach", steps=6, batch_size=8, device="cpu", **SMALL[name])
    trained, history = registry.train(cfg, demos)
    loaded, loaded_history = registry.load(registry.save(tmp_path / "m.pt", trained, history))
    fresh = registry.build(cfg).eval()
    obs = torch.as_tensor(demos.windows(cfg.obs_horizon, 1, 1)["obs"][:16])
    chunks = [m.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
              for m in (trained, loaded, fresh)]
    torch.testing.assert_close(chunks[1], chunks[0], rtol=0, atol=0)
    assert not torch.equal(chunks[2], chunks[0])  # the weights, not the init, make the chunk
    assert loaded_history.equals(history)


@pytest.mark.parametrize("method", registry.names("representation"))
def test_a_pretrained_encoder_reloads_to_the_same_embeddings(method, tmp_path):
    o, a, o_next = toy_data()
    cfg = small_config(method, dict(repr_dim=8, enc_hidden=(16,), act_hidden=8, pred_hidden=4),
                       obs_dim=O, action_dim=A, steps=5, batch_size=16, device="cpu")
    model, history = pretrain(cfg, o, a, o_next)
    loaded, _ = registry.load(registry.save(tmp_path / "enc.pt", model, history))
    x = torch.as_tensor(o[:16])
    torch.testing.assert_close(loaded.encoder(x), model.encoder(x), rtol=0, atol=0)


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Every weight, buffer and extra state (noise streams, EMA counters) equal, exactly."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if torch.is_tensor(sa[k]):
            assert torch.equal(sa[k], sb[k]), k
        else:  # get_extra_state's dict
            assert sa[k].keys() == sb[k].keys(), k
            for field in sa[k]:
                va, vb = sa[k][field], sb[k][field]
                assert torch.equal(va, vb) if torch.is_tensor(va) else va == vb, (k, field)


@pytest.mark.parametrize("name", registry.names("policy"))
def test_a_policy_run_cut_short_resumes_to_the_run_never_cut(name, tmp_path):
    """A run stopped after 7 of 12 steps (the file written at its last save) and started
    again ends with the weights, noise streams and history of the run never stopped: the
    unfinished file carries the optimiser, scheduler, sampler and the model's own streams."""
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    cfg = registry.make_config(name, "reach", steps=12, batch_size=8, monitor_every=5,
                               device="cpu", **SMALL[name])
    straight, history = registry.train(cfg, demos)
    path = tmp_path / "run.unfinished.pt"
    _, part = registry.train(cfg, demos, checkpoint_path=path, checkpoint_every=4, until=7)
    assert len(part) == 7 and read_payload(path)["step"] == 7
    resumed, resumed_history = registry.train(cfg, demos, checkpoint_path=path,
                                              checkpoint_every=4)
    assert_same_state(resumed, straight)
    pd.testing.assert_frame_equal(resumed_history, history)
    other = registry.make_config(name, "reach", steps=12, batch_size=8, monitor_every=5,
                                 device="cpu", lr=cfg.lr / 2, **SMALL[name])
    with pytest.raises(ResumeError, match="different config"):
        registry.train(other, demos, checkpoint_path=path)
    finished = registry.save(tmp_path / "done.pt", straight, history)
    with pytest.raises(ResumeError, match="finished run"):  # a cached model is not a run to go on
        registry.train(cfg, demos, checkpoint_path=finished)


def test_only_resumable_methods_take_a_checkpoint(tmp_path):
    cfg = registry.make_config("autoencoder", "reach", steps=5, batch_size=16, device="cpu")
    assert not registry.resumable(cfg) and registry.resumable("act")
    assert registry.resumable("actjepa")
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    with pytest.raises(ValueError, match="cannot be checkpointed.*drop checkpoint_path"):
        registry.train(cfg, demos, checkpoint_path=tmp_path / "x.pt")
