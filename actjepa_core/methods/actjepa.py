"""The article's ACT-JEPA (seeds 001/003): a next-step, action-conditioned latent model.

``ACTJEPA`` holds the online encoder f, its EMA copy f_bar, the action encoder h and the
predictor g (``models``), with the loss ``|| g(f(o_t), h(a_t)) - sg[f_bar(o_{t+1})] ||^2``
(``objectives.latent_loss``); ``train_jepa`` trains it (the EMA target step around
``training.fit``); checkpoints resume a run exactly. ``passive`` is the same model with
``action_injection="none"``.

- The transitions live on the device as ONE tensor ``[obs | actions | next_obs]``; the
  column blocks of a batch are views.
- The EMA target moves right after each optimiser step (I-JEPA style), its momentum from a
  plain generator (``training.cosine_tau_schedule``).
- A checkpoint holds the optimiser, the scheduler, the sampler's generator and the
  augmentation stream, so an interrupted run resumes bit-identical to an uninterrupted one.
- Pixels: a frame is a flat row of ``3 * S * S`` values like any observation, so the data
  tensor, the batches and the checkpoints are the same; only the encoder (``ConvEncoder``,
  chosen by ``cfg.frame_size``) differs. Frames shifted by a pixel encoder's ``augment``
  draw from torch's global CPU generator, forked and seeded from ``cfg.seed`` for the run
  (``training.augment_rng``) and saved in checkpoints.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import PredictorConfig, check_bottleneck
from ..models import ActionEncoder, Encoder, Predictor, check_transitions, make_encoder
from ..monitor import CollapseMonitor
from ..objectives import latent_loss, variance_covariance_loss
from ..runtime import resolve_device, torch_settings
from ..training import (ResumeError, augment_rng, cosine_tau_schedule, ema_update, fit,
                       history_dict, loop_state, make_optimizer, read_payload, restore_loop,
                       stop_at, write_payload)

MONITOR_BATCH = 1024
"""Observations in the fixed batch the collapse monitor reads (fewer if the data is smaller)."""


@dataclass(kw_only=True)
class JEPAConfig(PredictorConfig):
    """ACT-JEPA pretraining: the predictor's fields (``config.PredictorConfig``) and the
    target's, with the EMA momentum annealed from 0.996 to 1 by a cosine schedule (the seed's
    section 5)."""

    name: ClassVar[str] = "actjepa"

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

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.tau_start < 1.0:
            raise ValueError(f"tau_start must lie in [0, 1), got {self.tau_start}")
        if not 0.0 <= self.tau_end <= 1.0:
            raise ValueError(f"tau_end must lie in [0, 1], got {self.tau_end}")
        if self.tau_fixed is not None and not 0.0 <= self.tau_fixed < 1.0:
            raise ValueError(f"tau_fixed must be None or lie in [0, 1), got {self.tau_fixed}")
        if not (math.isfinite(self.vc_weight) and self.vc_weight >= 0):
            raise ValueError(f"vc_weight must be a finite number >= 0 (0 = off), got {self.vc_weight}")


@dataclass(kw_only=True)
class PassiveConfig(JEPAConfig):
    """Passive latent prediction (V-JEPA style): ACT-JEPA without the action, so the
    predictor sees ``f(o_t)`` alone (ACT-JEPA with ``action_injection="none"`` is the same
    model, the "no action conditioning" ablation)."""

    name: ClassVar[str] = "passive"

    action_injection: str = "none"
    """Always "none": the predictor gets no action."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.action_injection != "none":
            raise ValueError(f"passive prediction has no action to inject; action_injection "
                             f"must be 'none', got {self.action_injection!r} (use method "
                             f"'actjepa' for an action-conditioned predictor)")



# ---------------------------------------------------------------------------- helpers
def _as_tensor(name: str, x: Any, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-d array (N, width), got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float32)


class ACTJEPA(nn.Module):
    """Online encoder, EMA target encoder, action encoder and predictor, with the loss.

    ``forward(obs, actions, next_obs)`` returns ``(loss, logs)``; the caller runs the
    optimiser and then ``training.ema_update(model.target_encoder, model.encoder, tau)``.
    The target encoder starts as a deep copy of the encoder, has ``requires_grad=False`` and
    is only evaluated under ``torch.no_grad``: it never receives gradients, it moves only by
    the EMA. With ``cfg.ema=False`` the target is the online encoder under stop-gradient.
    """

    def __init__(self, cfg: JEPAConfig, encoder: Encoder | None = None):
        super().__init__()
        if encoder is None:
            encoder = make_encoder(cfg)
        if encoder.out_dim != cfg.repr_dim:
            raise ValueError(
                f"encoder.out_dim={encoder.out_dim} differs from cfg.repr_dim={cfg.repr_dim}"
            )
        check_bottleneck(cfg)
        self.cfg = cfg
        self.encoder = encoder
        self.target_encoder = copy.deepcopy(encoder)
        self.target_encoder.requires_grad_(False)
        self.target_encoder.eval()
        self.action_encoder = (
            ActionEncoder(cfg.action_dim, cfg.repr_dim, cfg.act_hidden)
            if cfg.action_injection != "none" else None
        )
        self.predictor = Predictor(cfg.repr_dim, cfg.pred_hidden, cfg.pred_depth,
                                   cfg.action_injection)

    # -- parameters -------------------------------------------------------------------
    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters the optimiser updates (everything but the target encoder)."""
        for module in (self.encoder, self.action_encoder, self.predictor):
            if module is not None:
                yield from module.parameters()

    @property
    def target_net(self) -> Encoder:
        """The encoder producing targets: the EMA copy, or the online one when ema=False."""
        return self.target_encoder if self.cfg.ema else self.encoder

    def train(self, mode: bool = True) -> ACTJEPA:
        super().train(mode)
        self.target_encoder.eval()  # the target is never in training mode (matters for BN)
        return self

    # -- checks ----------------------------------------------------------------------
    def check_inputs(self, obs: torch.Tensor, actions: torch.Tensor | None = None,
                     next_obs: torch.Tensor | None = None) -> None:
        """Raise ValueError on wrong widths, mismatched batch sizes or NaN/inf values."""
        check_transitions(self.encoder, self.cfg.action_dim, obs, actions, next_obs)

    # -- the model -------------------------------------------------------------------
    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Online representation ``s = f(obs)``, shape (B, D)."""
        return self.encoder(obs)

    def predict(self, s: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        """One latent step ``g(s, h(a))``; apply repeatedly for multi-step rollouts (MPC)."""
        e = self.action_encoder(actions) if self.action_encoder is not None else None
        return self.predictor(s, e)

    @torch.no_grad()
    def target(self, next_obs: torch.Tensor) -> torch.Tensor:
        """Prediction target ``sg[f_bar(next_obs)]``."""
        return self.target_net(next_obs)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor,
                check: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Latent prediction loss of a batch of transitions, and detached logs.

        With ``cfg.vc_weight > 0`` the loss is ``latent + vc_weight * vc`` where ``vc`` is
        ``variance_covariance_loss`` of the online embeddings ``f(obs)``; the logs then hold
        ``loss`` (the total), ``latent`` and ``vc``.

        ``check=False`` skips the input checks (the training loop checks the whole dataset
        once instead of every batch).
        """
        if check:
            self.check_inputs(obs, actions, next_obs)
        s = self.encode(obs)
        loss = latent_loss(self.predict(s, actions), self.target(next_obs),
                           normalize=self.cfg.normalize_loss)
        if self.cfg.vc_weight <= 0:
            return loss, {"loss": loss.detach()}
        vc = variance_covariance_loss(s)
        total = loss + self.cfg.vc_weight * vc
        return total, {"loss": total.detach(), "latent": loss.detach(), "vc": vc.detach()}


def build_model(cfg: JEPAConfig, encoder: Encoder | None = None) -> ACTJEPA:
    """``ACTJEPA(cfg)`` initialised from ``cfg.seed`` without touching the global RNG; its
    encoder is ``models.make_encoder(cfg)`` (MLP for states, CNN for frames) unless given."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return ACTJEPA(cfg, encoder)


# ---------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    """What ``load_checkpoint`` restores."""

    model: ACTJEPA
    cfg: JEPAConfig
    history: pd.DataFrame
    step: int
    """Number of optimiser steps already taken."""
    optimizer: dict | None = None
    scheduler: dict | None = None
    generator: torch.Tensor | None = None
    """State of the batch sampler's generator."""
    rng: torch.Tensor | None = None
    """State of the augmentation stream (``augment_rng``); None in older checkpoints."""


def save_checkpoint(path: str | os.PathLike, model: ACTJEPA, cfg: JEPAConfig,
                    history: pd.DataFrame | dict | None, step: int,
                    optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, generator: torch.Generator | None = None,
                    rng: torch.Tensor | None = None) -> Path:
    """Write a checkpoint atomically: a temporary file in the same folder, then ``os.replace``.

    An interrupted write never leaves a half checkpoint under ``path``. With the optimiser,
    scheduler, sampler generator and augmentation stream (``rng``) included, ``train_jepa``
    resumes the exact run.
    """
    payload = {
        "cfg": cfg.to_dict(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history_dict(history),
        **loop_state(step, optimizer, scheduler, generator),
        "rng": rng,
    }
    return write_payload(path, payload)


def load_checkpoint(path: str | os.PathLike, encoder: Encoder | None = None) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; the model comes back on the CPU.

    Pass ``encoder`` (an untrained instance of the same architecture) if the model was built
    with a custom encoder instead of the one ``make_encoder`` builds from the saved config
    (MLP, or CNN for a config with ``frame_size``).
    """
    payload = read_payload(path)
    cfg = JEPAConfig.from_dict(payload["cfg"])
    model = build_model(cfg, encoder)  # init is overwritten; fork_rng spares the global RNG
    model.load_state_dict(payload["model"])
    return Checkpoint(model=model, cfg=cfg, history=pd.DataFrame(payload["history"]),
                      step=payload["step"], optimizer=payload["optimizer"],
                      scheduler=payload["scheduler"], generator=payload["generator"],
                      rng=payload.get("rng"))


# ---------------------------------------------------------------------------- training
def transition_tensors(cfg: JEPAConfig, obs: Any, actions: Any, next_obs: Any
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three arrays as float32 tensors on ``cfg.device`` (2-d and non-empty checked)."""
    device = resolve_device(cfg.device)
    data_o = _as_tensor("obs", obs, device)
    data_a = _as_tensor("actions", actions, device)
    data_n = _as_tensor("next_obs", next_obs, device)
    if data_o.shape[0] == 0:
        raise ValueError("no transitions to train on")
    return data_o, data_a, data_n


def monitor_batch(data_o: torch.Tensor, seed: int, monitor_obs: Any = None) -> torch.Tensor:
    """The fixed batch the collapse monitor reads: ``monitor_obs`` if given, else
    ``MONITOR_BATCH`` rows of ``data_o`` chosen by ``seed + 1`` (independently of the
    training batches, which use ``seed``)."""
    if monitor_obs is not None:
        return _as_tensor("monitor_obs", monitor_obs, data_o.device)
    n = data_o.shape[0]
    pick = torch.Generator().manual_seed(seed + 1)
    idx = torch.randperm(n, generator=pick)[:MONITOR_BATCH].to(data_o.device)
    return data_o[idx]


def train_jepa(cfg: JEPAConfig, obs: Any, actions: Any, next_obs: Any, progress: bool = True,
               *, monitor_obs: Any = None, checkpoint_path: str | os.PathLike | None = None,
               checkpoint_every: int = 0, until: int | None = None,
               encoder: Encoder | None = None) -> tuple[ACTJEPA, pd.DataFrame]:
    """Pretrain ACT-JEPA on transitions ``(obs, actions, next_obs)``; return model and history.

    Arrays are float32 ``(N, O)``, ``(N, A)``, ``(N, O)``, already standardised (on a pixel
    task ``O = 3 * S * S``, frames flattened channels first, with ``cfg.frame_size = S``).
    ``history`` has one row per step (``step`` counted from 1, ``loss``, ``lr``, ``tau``; tau
    is NaN without EMA; ``latent`` and ``vc`` too when ``cfg.vc_weight > 0``) and, on every
    ``cfg.monitor_every``-th step and the last, the collapse figures of ``CollapseMonitor``
    (online/target std, erank, cos, collapsed, drift) on a fixed batch: ``monitor_obs`` if
    given, else ``MONITOR_BATCH`` observations of ``obs`` chosen by ``cfg.seed``.

    With ``checkpoint_path``, a checkpoint is written every ``checkpoint_every`` steps (if >0)
    and at the end; if the file exists, training resumes from it (same schedules, same
    batches, bit-identical to an uninterrupted run). ``until`` stops after that many steps
    of the ``cfg.steps`` schedule (e.g. to train in chunks). The model is returned on
    ``cfg.device`` in eval mode. The loop itself is ``fit``, shared with the baselines of
    ``registry.pretrain``; what is ACT-JEPA's own here is the EMA step and the checkpoints.
    """
    data_o, data_a, data_n = transition_tensors(cfg, obs, actions, next_obs)
    device = data_o.device
    stop = stop_at(cfg.steps, until)

    with torch_settings(cfg.threads, cfg.deterministic):
        ckpt = None
        if checkpoint_path is not None and Path(checkpoint_path).exists():
            try:
                ckpt = load_checkpoint(checkpoint_path, encoder)
            except (ValueError, RuntimeError, KeyError) as e:
                raise ResumeError(f"{checkpoint_path} cannot resume this run ({e}); delete it "
                                  f"to train from the start") from e
            if ckpt.cfg.to_dict() != cfg.to_dict():
                raise ResumeError(f"{checkpoint_path} was written with a different config; "
                                  f"delete it or pass the config it was trained with")
            model = ckpt.model
        else:
            model = build_model(cfg, encoder)
        model.to(device)
        model.check_inputs(data_o, data_a, data_n)  # widths, row counts, NaN: once, up front
        mon_obs = monitor_batch(data_o, cfg.seed, monitor_obs)
        if monitor_obs is not None:
            model.encoder.check_obs(mon_obs, "monitor_obs")
        monitor = CollapseMonitor(mon_obs)

        opt, sched = make_optimizer(model.trainable_parameters(), cfg)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        history: dict[str, list] = {"step": [], "loss": [], "lr": [], "tau": []}
        start = 0
        if ckpt is not None:
            start = restore_loop(vars(ckpt), opt, sched, gen)
            history = history_dict(ckpt.history)

        # one tensor, one gather per batch; column blocks are views
        data = torch.cat([data_o, data_a, data_n], dim=1)
        del data_o, data_a, data_n
        o_w, a_w = cfg.obs_dim, cfg.action_dim
        if cfg.tau_fixed is not None:
            taus: Iterator[float] = iter([cfg.tau_fixed] * (cfg.steps - start))
        else:
            taus = cosine_tau_schedule(cfg.tau_start, cfg.tau_end, cfg.steps, start=start)
        target_params = list(model.target_encoder.parameters())
        online_params = list(model.encoder.parameters())

        def batch_loss(batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return model(batch[:, :o_w], batch[:, o_w:o_w + a_w], batch[:, o_w + a_w:],
                         check=False)

        def ema_step() -> dict[str, float]:
            if not cfg.ema:
                return {"tau": math.nan}
            tau = next(taus)
            ema_update(target_params, online_params, tau)
            return {"tau": tau}

        def write_checkpoint(done: int, hist: dict[str, list]) -> None:
            save_checkpoint(checkpoint_path, model, cfg, hist, done, opt, sched, gen,
                            rng=torch.get_rng_state())  # the augmentation stream, see below

        with augment_rng(cfg.seed, ckpt.rng if ckpt is not None else None):
            history = fit(model, cfg, data, batch_loss, opt, sched, gen, monitor=monitor,
                          history=history, start=start, stop=stop, after_step=ema_step,
                          checkpoint=write_checkpoint if checkpoint_path is not None else None,
                          checkpoint_every=checkpoint_every, progress=progress, desc="ACT-JEPA")
    return model, pd.DataFrame(history)
