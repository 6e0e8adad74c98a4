"""How a chunked policy acts: one action per step out of predicted chunks of H actions.

Two executions, each as its paper describes it:

- ``ensemble`` (ACT, Zhao et al. 2023, section 3.3 "temporal ensembling"): query the policy at
  every step; the action for step t is the weighted mean of every chunk that covers t, with
  weights ``w_i = exp(-m i)`` where ``w_0`` belongs to the *oldest* prediction, so a larger m
  trusts new observations more;
- ``receding`` (Diffusion Policy, Chi et al. 2023, section 3.1): predict a chunk, execute its
  first ``action_steps`` actions open loop, then predict again from the newest observations.

``ChunkedPolicy`` is a rollout policy like those of ``policies`` (raw flat observations in,
actions out, ``reset(n)`` before each batch of episodes), so ``evaluate.evaluate_policy``
runs it unchanged. It keeps the observation history the method is conditioned on.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .data import NormStats
from .policies import RolloutPolicy


class ChunkedPolicy(RolloutPolicy):
    """Acts with a trained chunked method (``methods``), one step at a time."""

    def __init__(self, model: nn.Module, stats: NormStats, seed: int = 0,
                 device: torch.device | None = None) -> None:
        super().__init__(stats, device or next(model.parameters()).device)
        self.model = model.eval()
        self.cfg = model.cfg
        self.seed = seed
        self.gen = torch.Generator(device="cpu")
        self.reset(0)

    def reset(self, n: int) -> None:
        """Forget the episode: history, pending chunks, the sampler's state (reproducible runs)."""
        self.gen.manual_seed(self.seed)
        self.t = 0
        self.history: torch.Tensor | None = None  # (n, To, O)
        self.chunks: list[tuple[int, torch.Tensor]] = []  # (start step, (n, H, A))

    def select_action(self, obs: np.ndarray) -> np.ndarray:
        """The action of every env of the batch for this step (LeRobot's name for ``__call__``)."""
        return self(obs)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        self._observe(z)
        if self.cfg.execution == "ensemble":
            action = self._ensembled()
        else:
            action = self._receding()
        self.t += 1
        if not bool(torch.isfinite(action).all()):
            raise ValueError(f"{self.cfg.name} produced a NaN or inf action at step {self.t - 1} "
                             f"of the episode batch; the model's weights or inputs are broken")
        return action

    def _observe(self, z: torch.Tensor) -> None:
        if self.history is None or self.t == 0:
            self.history = z[:, None].repeat(1, self.cfg.obs_horizon, 1)
        else:
            self.history = torch.cat([self.history[:, 1:], z[:, None]], dim=1)

    def _predict(self) -> torch.Tensor:
        return self.model.predict_chunk(self.history, generator=self.gen)

    def _ensembled(self) -> torch.Tensor:
        H = self.cfg.chunk
        self.chunks = [(s, c) for s, c in self.chunks if self.t - s < H]
        self.chunks.append((self.t, self._predict()))
        # oldest first: chunk started at s predicts step t at index t - s
        preds = torch.stack([c[:, self.t - s] for s, c in self.chunks])  # (K, n, A)
        w = torch.exp(-self.cfg.temporal_ensemble_m * torch.arange(len(preds), dtype=preds.dtype,
                                                                    device=preds.device))
        return (w[:, None, None] * preds).sum(0) / w.sum()

    def _receding(self) -> torch.Tensor:
        if not self.chunks or self.t - self.chunks[0][0] >= self.cfg.action_steps:
            self.chunks = [(self.t, self._predict())]
        start, chunk = self.chunks[0]
        return chunk[:, self.t - start]
