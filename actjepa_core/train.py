"""The article's ACT-JEPA: its trainer (the EMA target step around ``training.fit``), its
resumable checkpoints and its model builder.

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

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import JEPAConfig
from .models import ACTJEPA, Encoder
from .monitor import CollapseMonitor
from .runtime import resolve_device, torch_settings
from .training import (augment_rng, cosine_tau_schedule, ema_update, fit, history_dict,
                       make_optimizer, read_payload, write_payload)

MONITOR_BATCH = 1024
"""Observations in the fixed batch the collapse monitor reads (fewer if the data is smaller)."""


# ---------------------------------------------------------------------------- helpers
def _as_tensor(name: str, x: Any, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-d array (N, width), got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float32)


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
        "step": int(step),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "generator": generator.get_state() if generator is not None else None,
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
    ``pretrain``; what is ACT-JEPA's own here is the EMA step and the checkpoints.
    """
    data_o, data_a, data_n = transition_tensors(cfg, obs, actions, next_obs)
    device = data_o.device
    stop = cfg.steps if until is None else until
    if not 0 < stop <= cfg.steps:
        raise ValueError(f"until must lie in [1, cfg.steps={cfg.steps}], got {until}")

    with torch_settings(cfg.threads, cfg.deterministic):
        ckpt = None
        if checkpoint_path is not None and Path(checkpoint_path).exists():
            ckpt = load_checkpoint(checkpoint_path, encoder)
            if ckpt.cfg.to_dict() != cfg.to_dict():
                raise ValueError(f"{checkpoint_path} was written with a different config; "
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
            opt.load_state_dict(ckpt.optimizer)
            sched.load_state_dict(ckpt.scheduler)
            gen.set_state(ckpt.generator)
            history = history_dict(ckpt.history)
            start = ckpt.step

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
