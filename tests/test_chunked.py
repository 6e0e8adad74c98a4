"""Chunk execution (temporal ensembling, receding horizon), the method registry and checkpoints."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from actjepa_core.chunked import ChunkedPolicy
from actjepa_core.data import NormStats
from actjepa_core.methods import registry
from actjepa_core.training import read_payload, write_payload


class FakeChunker(nn.Module):
    """Predicts, at its k-th query, the chunk whose i-th action is ``100 k + i`` (every dim)."""

    def __init__(self, execution: str, chunk: int = 4, obs_horizon: int = 2, m: float = 0.5,
                 action_steps: int = 3) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.cfg = SimpleNamespace(name="fake", execution=execution, chunk=chunk,
                                   obs_horizon=obs_horizon, temporal_ensemble_m=m,
                                   action_steps=action_steps)
        self.queries = 0
        self.seen: list[torch.Tensor] = []

    def predict_chunk(self, obs: torch.Tensor, generator=None) -> torch.Tensor:
        self.seen.append(obs.clone())
        k, self.queries = self.queries, self.queries + 1
        vals = 100.0 * k + torch.arange(self.cfg.chunk, dtype=torch.float32)
        return vals[None, :, None].expand(obs.shape[0], -1, 2).clone()


STATS = NormStats(np.zeros(3, np.float32), np.ones(3, np.float32))


def run(policy: ChunkedPolicy, steps: int, n: int = 2) -> list[float]:
    policy.reset(n)
    return [float(policy(np.full((n, 3), t, np.float32))[0, 0]) for t in range(steps)]


def test_temporal_ensembling_weights_oldest_first():
    model = FakeChunker("ensemble", chunk=4, m=0.5)
    acts = run(ChunkedPolicy(model, STATS), 3)
    assert acts[0] == 0.0  # only the first chunk covers step 0
    w = np.exp(-0.5 * np.arange(2))  # oldest prediction gets w_0
    assert acts[1] == pytest.approx((w[0] * 1 + w[1] * 100) / w.sum())
    w = np.exp(-0.5 * np.arange(3))
    assert acts[2] == pytest.approx((w[0] * 2 + w[1] * 101 + w[2] * 200) / w.sum())
    assert model.queries == 3  # queried at every step


def test_temporal_ensembling_forgets_chunks_that_ended():
    model = FakeChunker("ensemble", chunk=2, m=0.0)
    acts = run(ChunkedPolicy(model, STATS), 4)
    assert acts[3] == pytest.approx((201 + 300) / 2)  # the chunk of step 1 no longer covers 3


def test_receding_horizon_executes_action_steps_then_replans():
    model = FakeChunker("receding", chunk=4, action_steps=3)
    acts = run(ChunkedPolicy(model, STATS), 7)
    assert acts == [0, 1, 2, 100, 101, 102, 200]
    assert model.queries == 3


def test_history_repeats_first_observation_then_slides_and_resets():
    model = FakeChunker("ensemble", obs_horizon=2)
    policy = ChunkedPolicy(model, STATS)
    run(policy, 3)
    assert model.seen[0][0, :, 0].tolist() == [0, 0]
    assert model.seen[2][0, :, 0].tolist() == [1, 2]
    run(policy, 1)  # a new batch of episodes starts afresh
    assert model.seen[3][0, :, 0].tolist() == [0, 0]


def test_nan_action_is_an_error_naming_the_method():
    model = FakeChunker("receding")
    model.predict_chunk = lambda obs, generator=None: torch.full((obs.shape[0], 4, 2), math.nan)
    with pytest.raises(ValueError, match="fake produced a NaN"):
        run(ChunkedPolicy(model, STATS), 1)


def test_registry_names_and_fields_fail_clearly():
    with pytest.raises(ValueError, match="unknown method 'acts'"):
        registry.get_method("acts")
    with pytest.raises(ValueError, match="has no field"):
        registry.make_config("act", "reach", not_a_field=1)


def test_checkpoint_payload_checks_version_and_names_the_file(tmp_path):
    path = write_payload(tmp_path / "m.pt", {"x": torch.ones(2)})
    assert read_payload(path)["x"].sum() == 2
    path.write_bytes(path.read_bytes()[:20])  # truncated
    with pytest.raises(ValueError, match="m.pt: not a readable checkpoint"):
        read_payload(path)
    torch.save({"version": 99}, path)
    with pytest.raises(ValueError, match="version 99"):
        read_payload(path)


def test_registry_says_which_methods_have_an_encoder():
    for name, method in registry.METHODS.items():
        cfg = registry.make_config(name, "reach", steps=1)
        assert (registry.build(cfg).encoder is not None) == method.has_encoder
