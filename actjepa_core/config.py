"""The fields the article's representation methods share, as two config bases.

``RepresentationConfig`` is what every one of them has: the task's widths, the encoder
(an MLP on states, a CNN on frames) and, from ``training.TrainingConfig``, the optimiser.
``PredictorConfig`` adds the action encoder h and the predictor g of the methods that
predict from an action (ACT-JEPA, passive prediction, the reconstruction ablation). Each
method's own config subclasses one of them in its module under ``methods`` and adds only
the fields it uses.

CleanRL style: every field carries a one-line docstring right below it, and
``__post_init__`` refuses bad values with a message that says what to change. Defaults
follow the hyperparameter table of the ACT-JEPA seed (section 5): D = 128, encoder MLP
256-256, action encoder 2-layer MLP with 128 hidden units, predictor with a bottleneck
narrower than D, AdamW at 1e-3 with 10 % linear warmup then cosine decay, batch 256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .training import TrainingConfig, positive_int

INJECTIONS = ("concat", "add", "film", "none")
"""Ways the action reaches the predictor; ``none`` is passive (V-JEPA-style) prediction."""

MIN_FRAME_SIZE = 8
"""Smallest frame side a pixel config accepts: ``ConvEncoder``'s three stride-2 convolutions
shrink a side 8-fold, so 8 pixels is the least that still leaves a 1 x 1 map (``envs``
reads it for the pixel tasks)."""

PIXEL_FIELDS = ("frame_size", "augment")
"""Fields left out of ``to_dict`` at 0 (``omit_at_default``): every state run's results-cache
key and checkpoint were written before they existed and must keep matching."""


@dataclass(kw_only=True)
class RepresentationConfig(TrainingConfig):
    """A representation pretrained on transitions, then frozen under a policy head: the
    task's widths and the encoder (the optimiser fields are ``training.TrainingConfig``'s)."""

    name: ClassVar[str] = ""
    """Registry name of the method (set by each subclass)."""
    omit_at_default: ClassVar[tuple[str, ...]] = PIXEL_FIELDS

    obs_dim: int
    """Width O of the flat, standardised observation (13 for Reach, 28 for Push/PickAndPlace)."""
    action_dim: int
    """Width A of the action vector (4 for the Fetch tasks), values in [-1, 1]."""
    repr_dim: int = 128
    """Representation width D produced by the encoder."""
    enc_hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the observation encoder MLP f."""
    steps: int = 5000
    """Optimiser steps (the article's pretraining budget)."""
    monitor_every: int = 250
    """Steps between collapse-monitor readings (and loss read-outs); 0 = only at the end."""
    frame_size: int = 0
    """0: state observations, MLP encoder; else the encoder is ``ConvEncoder`` over 3 x
    frame_size x frame_size frames, and obs_dim must then equal 3 * frame_size**2."""
    augment: int = 0
    """DrQ-style random shift of the frames by up to this many pixels, in the online encoder's
    training passes only; pixel encoders only (must be 0 for states). 0 = off, the article's
    protocol (it does not mention augmentation)."""

    def __post_init__(self) -> None:
        self.enc_hidden = tuple(int(w) for w in self.enc_hidden)
        super().__post_init__()
        for name in ("obs_dim", "action_dim", "repr_dim"):
            positive_int(self, name)
        if not self.enc_hidden or any(w <= 0 for w in self.enc_hidden):
            raise ValueError(
                f"enc_hidden must be a non-empty tuple of positive widths, got {self.enc_hidden!r}"
            )
        self._check_pixels()

    def _check_pixels(self) -> None:
        """``frame_size`` and ``augment`` must agree with each other and with ``obs_dim``."""
        for name in PIXEL_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.frame_size == 0:
            if self.augment:
                raise ValueError(f"augment={self.augment} shifts frames, but this config has "
                                 f"state observations (frame_size=0); set augment=0, or set "
                                 f"frame_size for a pixel task")
            return
        if self.frame_size < MIN_FRAME_SIZE:
            raise ValueError(f"frame_size must be 0 (states) or >= {MIN_FRAME_SIZE} (the CNN "
                             f"halves the frame three times), got {self.frame_size}")
        if self.obs_dim != 3 * self.frame_size ** 2:
            raise ValueError(f"frame_size={self.frame_size} means RGB frames of 3 * "
                             f"{self.frame_size}**2 = {3 * self.frame_size ** 2} values, but "
                             f"obs_dim={self.obs_dim}; set obs_dim to the task's obs_dim and "
                             f"frame_size to its frame_size (frame_size=0 for a state task)")


@dataclass(kw_only=True)
class PredictorConfig(RepresentationConfig):
    """A representation method that predicts from an action: the action encoder h and the
    predictor g on top of the encoder."""

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

    def __post_init__(self) -> None:
        if self.pred_hidden is None:
            self.pred_hidden = 64 if self.bottleneck else max(*self.enc_hidden, self.repr_dim)
        super().__post_init__()
        for name in ("act_hidden", "pred_hidden", "pred_depth"):
            positive_int(self, name)
        if self.action_injection not in INJECTIONS:
            raise ValueError(
                f"action_injection must be one of {INJECTIONS}, got {self.action_injection!r}"
            )
        check_bottleneck(self)


def check_bottleneck(cfg: PredictorConfig) -> None:
    """The predictor's hidden width must be narrower than D with the bottleneck and at least
    D without it; the config checks it when made and the model again when built (a config
    changed in place after ``__post_init__`` would otherwise train the wrong ablation)."""
    if cfg.bottleneck and cfg.pred_hidden >= cfg.repr_dim:
        raise ValueError(
            f"with bottleneck=True the predictor hidden width must be narrower than "
            f"repr_dim={cfg.repr_dim}, got pred_hidden={cfg.pred_hidden}; lower "
            f"pred_hidden or set bottleneck=False for the no-bottleneck ablation"
        )
    if not cfg.bottleneck and cfg.pred_hidden < cfg.repr_dim:
        raise ValueError(
            f"with bottleneck=False the predictor must be at least as wide as "
            f"repr_dim={cfg.repr_dim}, got pred_hidden={cfg.pred_hidden}; raise "
            f"pred_hidden (e.g. {max(*cfg.enc_hidden, cfg.repr_dim)}) or leave it None"
        )
