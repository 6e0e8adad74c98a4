"""One dataclass configures an ACT-JEPA model and its pretraining run.

CleanRL style: every field carries a one-line docstring right below it, so the config is its
own documentation, and ``__post_init__`` refuses bad values with a message that says what to
change. Defaults follow the hyperparameter table of the ACT-JEPA seed (section 5): D = 128,
encoder MLP 256-256, action encoder 2-layer MLP with 128 hidden units, predictor with a
bottleneck narrower than D, AdamW at 1e-3 with 10 % linear warmup then cosine decay, batch
256, EMA momentum annealed from 0.996 to 1 with a cosine schedule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

INJECTIONS = ("concat", "add", "film", "none")
"""Ways the action reaches the predictor; ``none`` is passive (V-JEPA-style) prediction."""


def check_optimiser(cfg: Any) -> None:
    """Validate the optimiser fields every training config has (``lr``, ``weight_decay``,
    ``warmup``, ``threads``, ``device``): pretraining and the BC head share them and one loop."""
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {cfg.lr}")
    if not (math.isfinite(cfg.weight_decay) and cfg.weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {cfg.weight_decay}")
    if not 0.0 <= cfg.warmup < 1.0:
        raise ValueError(f"warmup is a fraction of the steps in [0, 1), got {cfg.warmup}")
    if cfg.threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = torch's default), got {cfg.threads}")
    if not (cfg.device == "auto" or cfg.device.split(":")[0] in ("cpu", "cuda", "mps")):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda[:i]' or 'mps', got {cfg.device!r}")


@dataclass
class JEPAConfig:
    """Model and training hyperparameters of ACT-JEPA pretraining."""

    obs_dim: int
    """Width O of the flat, standardised observation (13 for Reach, 28 for Push/PickAndPlace)."""
    action_dim: int
    """Width A of the action vector (4 for the Fetch tasks), values in [-1, 1]."""
    repr_dim: int = 128
    """Representation width D produced by the encoder (and predicted by the predictor)."""
    enc_hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the observation encoder MLP f."""
    act_hidden: int = 128
    """Hidden width of the 2-layer action encoder MLP h."""
    pred_hidden: int | None = None
    """Predictor hidden width; None -> 64 with the bottleneck, max(enc_hidden, D) without."""
    pred_depth: int = 2
    """Number of hidden layers of the predictor g (the article says 2-3 layer MLP)."""
    bottleneck: bool = True
    """Predictor hidden width must be < D; False is the "no bottleneck" ablation (width >= D)."""
    action_injection: str = "concat"
    """How the action embedding enters g: concat, add, film, or none (no action: passive)."""
    normalize_loss: bool = False
    """Compare l2-normalised prediction and target (cosine-like loss) instead of raw vectors."""
    vc_weight: float = 0.0
    """Weight of the VICReg variance/covariance regulariser on the online embeddings (0 = off)."""
    ema: bool = True
    """EMA target encoder; False = target is the online encoder under stop-gradient (ablation)."""
    tau_start: float = 0.996
    """EMA momentum at the first step, in [0, 1)."""
    tau_end: float = 1.0
    """EMA momentum at the last step (cosine schedule), in [0, 1]."""
    tau_fixed: float | None = None
    """Constant EMA momentum in [0, 1) overriding the schedule (the tau=0.99 / 0.9999 ablations)."""
    view_noise: float = 0.1
    """Contrastive baseline: std of the Gaussian noise making each view, in standardised units."""
    temperature: float = 0.1
    """Contrastive baseline: temperature of the InfoNCE (NT-Xent) loss."""
    lr: float = 1e-3
    """Peak learning rate of AdamW."""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay."""
    warmup: float = 0.1
    """Fraction of the steps with linear learning-rate warmup, before cosine decay."""
    steps: int = 5000
    """Number of optimiser steps."""
    batch_size: int = 256
    """Transitions per optimiser step, drawn uniformly with replacement."""
    monitor_every: int = 250
    """Steps between collapse-monitor readings (and loss read-outs); 0 = only at the end."""
    seed: int = 0
    """Seed of the weight initialisation and of the batch sampler."""
    deterministic: bool = True
    """Ask torch for deterministic kernels during training (same seed -> same weights)."""
    device: str = "auto"
    """Torch device; "auto" picks cuda when available, else cpu."""
    threads: int = 1
    """CPU threads for torch during training (0 = leave torch's setting); see train.py."""

    def __post_init__(self) -> None:
        self.enc_hidden = tuple(int(w) for w in self.enc_hidden)
        if self.pred_hidden is None:
            self.pred_hidden = 64 if self.bottleneck else max(*self.enc_hidden, self.repr_dim)
        for name in ("obs_dim", "action_dim", "repr_dim", "act_hidden", "pred_hidden",
                     "pred_depth", "steps", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.enc_hidden or any(w <= 0 for w in self.enc_hidden):
            raise ValueError(
                f"enc_hidden must be a non-empty tuple of positive widths, got {self.enc_hidden!r}"
            )
        if self.action_injection not in INJECTIONS:
            raise ValueError(
                f"action_injection must be one of {INJECTIONS}, got {self.action_injection!r}"
            )
        if self.bottleneck and self.pred_hidden >= self.repr_dim:
            raise ValueError(
                f"with bottleneck=True the predictor hidden width must be narrower than "
                f"repr_dim={self.repr_dim}, got pred_hidden={self.pred_hidden}; lower "
                f"pred_hidden or set bottleneck=False for the no-bottleneck ablation"
            )
        if not self.bottleneck and self.pred_hidden < self.repr_dim:
            raise ValueError(
                f"with bottleneck=False the predictor must be at least as wide as "
                f"repr_dim={self.repr_dim}, got pred_hidden={self.pred_hidden}; raise "
                f"pred_hidden (e.g. {max(*self.enc_hidden, self.repr_dim)}) or leave it None"
            )
        if not 0.0 <= self.tau_start < 1.0:
            raise ValueError(f"tau_start must lie in [0, 1), got {self.tau_start}")
        if not 0.0 <= self.tau_end <= 1.0:
            raise ValueError(f"tau_end must lie in [0, 1], got {self.tau_end}")
        if self.tau_fixed is not None and not 0.0 <= self.tau_fixed < 1.0:
            raise ValueError(f"tau_fixed must be None or lie in [0, 1), got {self.tau_fixed}")
        if not (math.isfinite(self.vc_weight) and self.vc_weight >= 0):
            raise ValueError(f"vc_weight must be a finite number >= 0 (0 = off), got {self.vc_weight}")
        if not (math.isfinite(self.view_noise) and self.view_noise > 0):
            raise ValueError(f"view_noise must be positive (identical views make the contrastive "
                             f"task trivial), got {self.view_noise}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.monitor_every < 0:
            raise ValueError(f"monitor_every must be >= 0 (0 = off), got {self.monitor_every}")
        check_optimiser(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (tuples kept), e.g. to store in a checkpoint."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JEPAConfig:
        """Inverse of ``to_dict``; unknown keys are an error rather than silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown JEPAConfig fields {sorted(unknown)}")
        return cls(**d)
