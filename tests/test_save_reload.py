"""Every registered method survives save and load: the reloaded model computes exactly what
the saved one did (a load that skipped the weights would fail here)."""

from __future__ import annotations

import pytest
import torch

from actjepa_core.config import JEPAConfig
from actjepa_core.data import demonstrations
from actjepa_core.methods import registry
from actjepa_core.pretrain import METHODS, load_pretrained, method_config, pretrain
from actjepa_core.methods.actjepa import save_checkpoint
from helpers import A, O, toy_data

SMALL = {"act": dict(d_model=16, n_heads=2, dim_feedforward=32, latent_dim=4, encoder_hidden=(16,)),
         "diffusion_policy": dict(down_dims=(8, 16), step_embed_dim=8, n_groups=4),
         "actjepa_paper": dict(d_model=16, n_heads=2, dim_feedforward=32, encoder_hidden=(16,),
                               predictor_dim=8, predictor_heads=2, predictor_ff=16),
         "actjepa_mlp_target": dict(d_model=16, n_heads=2, dim_feedforward=32, latent_dim=4,
                                    encoder_hidden=(16,), predictor_ff=16)}


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_a_chunked_method_reloads_to_the_same_chunks(name, tmp_path):
    assert set(SMALL) == set(registry.METHODS)  # a new method needs its small config here
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    cfg = registry.make_config(name, "reach", steps=6, batch_size=8, device="cpu", **SMALL[name])
    trained, history = registry.train_policy(cfg, demos)
    loaded, loaded_history = registry.load_policy(registry.save_policy(tmp_path / "m.pt", trained, history))
    fresh = registry.build(cfg).eval()
    obs = torch.as_tensor(demos.windows(cfg.obs_horizon, 1, 1)["obs"][:16])
    chunks = [m.predict_chunk(obs, generator=torch.Generator().manual_seed(0))
              for m in (trained, loaded, fresh)]
    torch.testing.assert_close(chunks[1], chunks[0], rtol=0, atol=0)
    assert not torch.equal(chunks[2], chunks[0])  # the weights, not the init, make the chunk
    assert loaded_history.equals(history)


@pytest.mark.parametrize("method", METHODS)
def test_a_pretrained_encoder_reloads_to_the_same_embeddings(method, tmp_path):
    o, a, o_next = toy_data()
    cfg = method_config(method, JEPAConfig(obs_dim=O, action_dim=A, repr_dim=8, enc_hidden=(16,),
                                           act_hidden=8, pred_hidden=4, steps=5, batch_size=16,
                                           device="cpu"))
    model, history = pretrain(method, cfg, o, a, o_next)
    path = tmp_path / "enc.pt"
    save_checkpoint(path, model, model.cfg, history, cfg.steps)
    loaded, _ = load_pretrained(path, method)
    x = torch.as_tensor(o[:16])
    torch.testing.assert_close(loaded.encoder(x), model.encoder(x), rtol=0, atol=0)
