"""The probes' scores on cases whose answer is known."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from actjepa_core.data import Demonstrations
from actjepa_core.probes import action_fit, r2_score


def linear_demos(episodes: int, seed: int) -> Demonstrations:
    """Fake Push demonstrations whose action is a fixed linear map of the observation."""
    rng = np.random.default_rng(seed)
    T = 50
    obs = rng.standard_normal((episodes, T + 1, 28)).astype(np.float32)
    actions = np.tanh(obs[:, :-1, :4] * 0.5).astype(np.float32)
    return Demonstrations("push", obs, actions, np.zeros((episodes, T), np.float32),
                          np.ones(episodes, bool), np.arange(episodes))


class StandIn(nn.Module):
    """A chunked policy that either recomputes the demonstrator (raw observation) or
    ignores its input and returns ``constant``."""

    def __init__(self, stats, constant: np.ndarray | None = None):
        super().__init__()
        self.cfg = SimpleNamespace(obs_horizon=1, chunk=3, obs_chunk=1)
        self.w = nn.Parameter(torch.zeros(1))
        self.stats, self.constant = stats, constant

    def predict_chunk(self, obs: torch.Tensor) -> torch.Tensor:
        assert not self.training, "the policy is scored as it acts, in eval mode"
        if self.constant is not None:
            return torch.as_tensor(self.constant).expand(obs.shape[0], 3, 4)
        raw = obs[:, -1].numpy() * self.stats.std + self.stats.mean
        a = torch.as_tensor(np.tanh(raw[:, :4] * 0.5), dtype=torch.float32)
        return a[:, None].expand(-1, 3, -1)


def test_action_fit_is_one_for_the_demonstrator_and_zero_for_a_blind_policy():
    train, test = linear_demos(4, 0), linear_demos(2, 1)
    seeing = StandIn(train.stats)
    assert action_fit(seeing, train, test) == pytest.approx(1.0, abs=1e-5)
    assert seeing.training, "the caller's mode is restored"
    mean = train.actions.reshape(-1, 4).mean(0)
    assert action_fit(StandIn(train.stats, mean), train, test) == pytest.approx(0.0, abs=0.05)


def test_r2_score_against_a_given_baseline():
    y = np.array([[0.0], [2.0]])
    assert r2_score(y, y, np.array([1.0])) == 1.0
    assert r2_score(y, np.full_like(y, 1.0), np.array([1.0])) == 0.0
    assert r2_score(y, np.full_like(y, 3.0), np.array([1.0])) == pytest.approx(-4.0)
