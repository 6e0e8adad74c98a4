"""What every chunked policy method shares: the training fields of its config, the batch it
trains on, and the interface the one training loop and the rollout wrapper call.

A method is one unit (LeRobot's split of ``configuration_*.py`` and ``modeling_*.py``): a
config dataclass holding only the fields it uses, validated in ``__post_init__``, and an
``nn.Module`` with

- ``forward(batch) -> (loss, logs)``: the training loss of one batch (a dict of tensors, see
  ``BATCH_KEYS``) and a dict of detached scalars to log;
- ``after_step() -> dict[str, float]``: called by ``training.fit`` right after every
  optimiser step (the EMA updates live here, I-JEPA style); returns values to log;
- ``trainable_parameters()``: what the optimiser updates (never an EMA copy);
- ``predict_chunk(obs, generator) -> (B, H, A)``: the action chunk for a batch of standardised
  observation histories ``(B, To, O)``; ``chunked.ChunkedPolicy`` turns chunks into one
  action per step (temporal ensembling or receding horizon, as the config says).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from ..config import check_optimiser

BATCH_KEYS = ("obs", "actions", "action_pad", "future_obs", "future_pad")
"""Keys of a training batch of chunks (all float32 tensors, observations standardised):

- ``obs`` (B, To, O): ``o_{t-To+1} .. o_t``; before the episode's start, ``o_0`` repeated;
- ``actions`` (B, H, A): ``a_t .. a_{t+H-1}``; past the episode's end, its last action repeated;
- ``action_pad`` (B, H): 1.0 where that action lies past the end (ACT masks its loss there);
- ``future_obs`` (B, N, O): ``o_{t+1} .. o_{t+N}``; past the end, the last observation repeated;
- ``future_pad`` (B, N): 1.0 where that observation lies past the end.
"""

EXECUTIONS = ("ensemble", "receding")
"""How a chunk becomes actions: ACT's temporal ensembling (query every step, average the
overlapping chunks with exponential weights) or a receding horizon (execute the first
``action_steps`` actions of each chunk, then predict again; Diffusion Policy)."""


def _positive_int(cfg: Any, name: str) -> None:
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{type(cfg).__name__}.{name} must be a positive integer, got {value!r}")


@dataclass(kw_only=True)
class PolicyConfig:
    """Fields every chunked policy config has: sizes of the task, the window of the data,
    and the optimiser budget (the same for every method of a comparison)."""

    name: ClassVar[str] = ""
    """Registry name of the method (set by each subclass)."""

    obs_dim: int
    """Width O of the flat, standardised observation (13 for Reach, 28 for Push/PickAndPlace)."""
    action_dim: int
    """Width A of the action (4 for the Fetch tasks), values in [-1, 1]."""
    steps: int = 2000
    """Optimiser steps (the same budget for every method of a comparison)."""
    batch_size: int = 256
    """Windows per optimiser step, drawn uniformly with replacement."""
    lr: float = 1e-3
    """Peak learning rate of AdamW, one value for every method (ours: ACT's paper uses 1e-5 at
    batch 8 and Diffusion Policy's 1e-4 at batch 256, for far larger models; in a pilot, ACT
    on Push reached 4% success after 2000 steps at 1e-4 and 76% at 1e-3)."""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay."""
    warmup: float = 0.05
    """Fraction of the steps with linear learning-rate warmup, before cosine decay."""
    monitor_every: int = 100
    """Steps between loss read-outs (and monitor readings); 0 = only at the end."""
    seed: int = 0
    """Seed of the weight initialisation, the batch sampler and the model's own noise."""
    deterministic: bool = True
    """Ask torch for deterministic kernels during training (same seed -> same weights)."""
    device: str = "auto"
    """Torch device; "auto" picks cuda when available, else cpu."""
    threads: int = 1
    """CPU threads for torch during training (0 = leave torch's setting)."""

    def __post_init__(self) -> None:
        for name in ("obs_dim", "action_dim", "steps", "batch_size"):
            _positive_int(self, name)
        for name in ("lr", "weight_decay", "warmup"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if self.monitor_every < 0:
            raise ValueError(f"monitor_every must be >= 0 (0 = only at the end), got {self.monitor_every}")
        check_optimiser(self)
        for name in ("obs_horizon", "chunk", "obs_chunk"):
            _positive_int(self, name)
        if self.execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {EXECUTIONS}, got {self.execution!r}")

    # -- what the data and the rollout wrapper read -----------------------------------
    @property
    def obs_horizon(self) -> int:
        """To: observations the policy is conditioned on (1 unless the method says more)."""
        return 1

    @property
    def chunk(self) -> int:
        """H: actions predicted per query."""
        raise NotImplementedError

    @property
    def obs_chunk(self) -> int:
        """N: future observations the training batch carries (1 when the method uses none)."""
        return 1

    @property
    def execution(self) -> str:
        """One of ``EXECUTIONS``."""
        raise NotImplementedError

    def check_episode(self, episode_len: int) -> None:
        """Refuse windows longer than an episode: they would be mostly padding."""
        for what, n in (("action chunk", self.chunk), ("observation chunk", self.obs_chunk),
                        ("observation horizon", self.obs_horizon)):
            if n > episode_len:
                raise ValueError(f"{type(self).__name__}: the {what} ({n} steps) is longer than "
                                 f"an episode ({episode_len} steps); shorten it")

    # -- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, e.g. to store in a checkpoint or a spec."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PolicyConfig:
        """Inverse of ``to_dict``; a field the method does not have is an error naming it."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"method {cls.name!r} has no config field(s) {unknown}; "
                             f"its fields are {known}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
