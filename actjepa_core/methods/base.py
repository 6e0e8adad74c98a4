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

from dataclasses import dataclass
from typing import ClassVar

from ..training import TrainingConfig, positive_int

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


@dataclass(kw_only=True)
class PolicyConfig(TrainingConfig):
    """Fields every chunked policy config has: sizes of the task and the window of the data
    (the optimiser fields, the same for every method of a comparison, are
    ``training.TrainingConfig``'s). One peak learning rate for every method, 1e-3 by default
    (ACT's paper uses 1e-5 at batch 8 and Diffusion Policy's 1e-4 at batch 256, for far
    larger models; in a pilot, ACT on Push reached 4% success after 2000 steps at 1e-4 and
    76% at 1e-3); ``suites.TUNED`` holds the values the validation search chose."""

    name: ClassVar[str] = ""
    """Registry name of the method (set by each subclass)."""

    obs_dim: int
    """Width O of the flat, standardised observation (13 for Reach, 28 for Push/PickAndPlace)."""
    action_dim: int
    """Width A of the action (4 for the Fetch tasks), values in [-1, 1]."""
    warmup: float = 0.05
    """Fraction of the steps with linear learning-rate warmup (5 % here, before cosine decay)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("obs_dim", "action_dim", "obs_horizon", "chunk", "obs_chunk"):
            positive_int(self, name)
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
