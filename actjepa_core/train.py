"""ACT-JEPA pretraining: schedules, EMA target, a fast training loop, checkpoints.

Why the loop looks the way it does (CPU first, where the book is built):

- The whole dataset lives on the device as ONE tensor ``[obs | actions | next_obs]``; a batch
  is one ``index_select`` with indices from a seeded ``torch.Generator`` (no DataLoader, no
  numpy round trip, and the batch order depends only on ``cfg.seed``).
- No host sync per step: losses are written into a preallocated tensor and read every
  ``monitor_every`` steps; ``zero_grad(set_to_none=True)``; AdamW with ``foreach``;
  the EMA is two ``torch._foreach_*`` calls over all target parameters.
- Threads: these MLPs are small (batch 256, widths <= 256), so a second intra-op thread
  gains little, and when other processes share the 2 cores of the build machine, two
  threads per process oversubscribe them and every op waits at an OpenMP barrier for a
  descheduled thread. Measured with ``benchmarks/bench_training.py`` on that machine under
  load (load average ~3): 1 thread 130-230 steps/s, 2 threads 3-18 steps/s. Hence
  ``cfg.threads = 1`` by default (0 keeps torch's setting, e.g. on a big idle machine).
  At equal thread count the loop itself is compute-bound (~4-7 ms of forward/backward
  per step), so the other tricks here add only a few percent; the setting is restored
  when training returns.
- Determinism: the model is initialised inside ``torch.random.fork_rng`` seeded with
  ``cfg.seed`` (the caller's global RNG is left alone), batches come from a dedicated
  generator, and ``cfg.deterministic`` turns on ``torch.use_deterministic_algorithms``
  for the duration of training. Same seed, same thread count -> bit-identical weights on CPU.
  Frames shifted by a pixel encoder's ``augment`` draw from torch's global CPU generator,
  forked and seeded from ``cfg.seed`` for the run (``augment_rng``) and saved in checkpoints.
- Pixels: a frame is a flat row of ``3 * S * S`` values like any observation, so the data
  tensor, the batches and the checkpoints are the same; only the encoder (``ConvEncoder``,
  chosen by ``cfg.frame_size``) differs.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import JEPAConfig
from .models import ACTJEPA, Encoder
from .monitor import CollapseMonitor
from .runtime import resolve_device, torch_settings

MONITOR_BATCH = 1024
"""Observations in the fixed batch the collapse monitor reads (fewer if the data is smaller)."""

CHECKPOINT_VERSION = 1

AUGMENT_SEED_OFFSET = 3
"""``augment_rng`` seeds with ``cfg.seed + 3``: +0 draws the batches, +1 the monitor batch,
+2 the contrastive views, so the shifts are a stream of their own."""


# ---------------------------------------------------------------------------- schedules
def _check_tau(name: str, tau: float, allow_one: bool) -> None:
    upper_ok = tau <= 1.0 if allow_one else tau < 1.0
    if not (0.0 <= tau and upper_ok):
        raise ValueError(f"{name} must lie in [0, 1{']' if allow_one else ')'}, got {tau}")


def tau_at(step: int, tau_start: float, tau_end: float, steps: int) -> float:
    """EMA momentum at ``step`` of a cosine schedule from ``tau_start`` (step 0) to
    ``tau_end`` (step ``steps - 1``): ``tau_end - (tau_end - tau_start)(1 + cos(pi t))/2``."""
    if steps <= 1:
        return tau_start
    t = step / (steps - 1)
    return tau_end - (tau_end - tau_start) * (1.0 + math.cos(math.pi * t)) / 2.0


def cosine_tau_schedule(tau_start: float, tau_end: float, steps: int, start: int = 0
                        ) -> Iterator[float]:
    """Generator of the EMA momentum for steps ``start .. steps - 1`` (I-JEPA style).

    The first value (step 0) is exactly ``tau_start`` and the last (step ``steps - 1``) is
    exactly ``tau_end``; in between it follows a half cosine, monotone from one to the other.
    ``start`` lets a resumed run pick the schedule up where it stopped.
    """
    _check_tau("tau_start", tau_start, allow_one=False)
    _check_tau("tau_end", tau_end, allow_one=True)
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    for step in range(start, steps):
        yield tau_at(step, tau_start, tau_end, steps)


def lr_factor(step: int, steps: int, warmup: float) -> float:
    """Learning-rate multiplier: linear warmup over ``round(warmup * steps)`` steps up to 1,
    then cosine decay toward 0 at ``steps``."""
    n_warm = int(round(warmup * steps))
    if step < n_warm:
        return (step + 1) / n_warm
    progress = (step - n_warm) / max(1, steps - n_warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def lr_schedule(optimizer: torch.optim.Optimizer, steps: int, warmup: float
                ) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` applying ``lr_factor``; call ``.step()`` after every optimiser step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, steps, warmup))


def make_optimizer(params: Iterable[nn.Parameter], cfg: JEPAConfig, steps: int | None = None
                   ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (``cfg.lr``, ``cfg.weight_decay``, foreach kernels) and its warmup-cosine schedule.

    Reusable by other trainers (e.g. the BC head): pass their parameters and step count.
    """
    opt = torch.optim.AdamW(list(params), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    return opt, lr_schedule(opt, steps if steps is not None else cfg.steps, cfg.warmup)


# ---------------------------------------------------------------------------- EMA
def _tensors(x: nn.Module | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return list(x.parameters()) if isinstance(x, nn.Module) else list(x)


@torch.no_grad()
def ema_update(target: nn.Module | Sequence[torch.Tensor],
               online: nn.Module | Sequence[torch.Tensor], tau: float) -> None:
    """In place ``theta_bar <- tau * theta_bar + (1 - tau) * theta`` for all parameters.

    Call it right after ``optimizer.step()``. Two fused ``torch._foreach_*`` kernels over the
    whole parameter list instead of a Python loop over tensors. Buffers of modules (e.g.
    BatchNorm statistics of a future CNN) are copied, not averaged.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"EMA momentum tau must lie in [0, 1], got {tau}")
    tp, op = _tensors(target), _tensors(online)
    if len(tp) != len(op):
        raise ValueError(f"target has {len(tp)} parameter tensors, online has {len(op)}")
    torch._foreach_mul_(tp, tau)
    torch._foreach_add_(tp, op, alpha=1.0 - tau)
    if isinstance(target, nn.Module) and isinstance(online, nn.Module):
        for bt, bo in zip(target.buffers(), online.buffers()):
            bt.copy_(bo)


# ---------------------------------------------------------------------------- helpers
def _as_tensor(name: str, x: Any, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-d array (N, width), got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float32)


@contextlib.contextmanager
def augment_rng(seed: int, state: torch.Tensor | None = None) -> Iterator[None]:
    """Fork torch's global CPU generator for a training run and seed it with
    ``seed + AUGMENT_SEED_OFFSET`` (or restore ``state``, saved by a checkpoint).

    ``models.random_shift`` draws its shifts there: under this block the same seed gives the
    same shifts whatever ran before, and the caller's generator is left as it was. Runs
    without augmentation draw nothing from it, so their weights do not depend on it.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + AUGMENT_SEED_OFFSET)
        if state is not None:
            torch.set_rng_state(state)
        yield


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


def _history_dict(history: pd.DataFrame | dict | None) -> dict[str, list]:
    if history is None:
        return {}
    if isinstance(history, pd.DataFrame):
        return {c: history[c].tolist() for c in history.columns}
    return {k: list(v) for k, v in history.items()}


def write_payload(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write a checkpoint dict atomically (a temporary file in the same folder, then
    ``os.replace``), stamped with ``CHECKPOINT_VERSION``: every model of the package is saved
    through here, so an interrupted write never leaves half a checkpoint under ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "version": CHECKPOINT_VERSION}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict written by ``write_payload``: a file that is not one, or of
    another version, is an error naming the file (every loader of the package reads here)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, unreadable
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        version = payload.get("version") if isinstance(payload, dict) else None
        raise ValueError(f"{path}: checkpoint version {version} is not {CHECKPOINT_VERSION}; "
                         f"delete it and train again")
    return payload


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
        "history": _history_dict(history),
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


Batch = torch.Tensor | dict[str, torch.Tensor]
"""What ``fit`` draws rows from: one tensor, or a dict of tensors with the same first axis."""


def _rows(data: Batch) -> int:
    if isinstance(data, dict):
        sizes = {k: v.shape[0] for k, v in data.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the tensors of a training set must have the same rows, got {sizes}")
        return next(iter(sizes.values()))
    return data.shape[0]


def _take(data: Batch, idx: torch.Tensor) -> Batch:
    if isinstance(data, dict):
        return {k: v.index_select(0, idx) for k, v in data.items()}
    return data.index_select(0, idx)


def check_finite(data: Batch) -> None:
    """Refuse training data holding NaN or inf (one bad observation turns a whole model into
    NaN, and its rollouts into a silent 0% success), naming the entry and the count."""
    for name, t in (data.items() if isinstance(data, dict) else [("data", data)]):
        if t.is_floating_point():
            bad = int((~torch.isfinite(t)).sum())
            if bad:
                raise ValueError(f"training data {name!r} holds {bad} non-finite value(s) "
                                 f"(NaN or inf) among {t.numel()}: clean the demonstrations")


def fit(model: nn.Module, cfg: Any, data: Batch,
        batch_loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]],
        opt: torch.optim.Optimizer, sched: Any, gen: torch.Generator, *,
        monitor: Callable[[nn.Module], dict[str, float]], history: dict[str, list] | None = None,
        start: int = 0, stop: int | None = None,
        after_step: Callable[[], dict[str, float]] | None = None,
        checkpoint: Callable[[int, dict[str, list]], None] | None = None,
        checkpoint_every: int = 0, progress: bool = False, desc: str = "train"
        ) -> dict[str, list]:
    """The one training loop: every pretraining method and every chunked policy.

    ``cfg`` is any config with ``steps``, ``batch_size`` and ``monitor_every`` (``JEPAConfig``,
    a ``methods`` config). ``data`` is one tensor or a dict of tensors (a batch of windows).
    Runs the steps ``start .. stop - 1`` of a ``cfg.steps`` schedule. Each step draws
    ``cfg.batch_size`` rows of ``data`` with ``gen`` (uniform, with replacement), calls
    ``batch_loss(rows) -> (loss, logs)``, and takes one optimiser and scheduler step; then
    ``after_step()`` (e.g. the EMA update) may return host-side values to log for the step
    (e.g. ``tau``). No host sync per step: the loss and the other entries of ``logs`` are
    written into preallocated device tensors and moved to ``history`` (columns ``step``,
    ``loss``, ``lr``, the after-step and log keys, then the monitor's) every
    ``cfg.monitor_every`` steps and at ``stop``; ``monitor(model)`` is read on those steps
    (and at the end of the schedule) into the row of that step. ``checkpoint(done,
    history)`` is called every ``checkpoint_every`` steps (if > 0) and at ``stop``.
    The model is left in eval mode; the (column -> list) history is returned.
    """
    stop = cfg.steps if stop is None else stop
    check_finite(data)
    n = _rows(data)
    device = next(iter(data.values())).device if isinstance(data, dict) else data.device
    bs = cfg.batch_size
    history = history if history is not None else {"step": [], "loss": [], "lr": []}
    for k in ("step", "loss", "lr"):
        history.setdefault(k, [])
    losses = torch.zeros(cfg.steps, device=device)
    log_bufs: dict[str, torch.Tensor] = {}
    pending: dict[str, list[float]] = {"lr": []}
    read_from = start

    def read_out(step_done: int) -> None:
        """Move the values of steps [read_from, step_done) to the history (one sync)."""
        nonlocal read_from
        if step_done == read_from:
            return
        history["step"] += list(range(read_from + 1, step_done + 1))
        values = losses[read_from:step_done].tolist()
        history["loss"] += values
        bad = next((read_from + 1 + i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            raise FloatingPointError(f"{desc}: the loss is {values[bad - read_from - 1]} at step "
                                     f"{bad} of {cfg.steps}: training diverged; lower lr "
                                     f"(now {getattr(cfg, 'lr', '?')}) or check the data")
        for k, vals in pending.items():
            history.setdefault(k, [math.nan] * (len(history["step"]) - len(vals))).extend(vals)
            pending[k] = []
        for k, buf in log_bufs.items():
            vals = buf[read_from:step_done].tolist()
            history.setdefault(k, [math.nan] * (len(history["step"]) - len(vals))).extend(vals)
        for k in history:  # columns without values in this stretch (e.g. the monitor's)
            if len(history[k]) < len(history["step"]):
                history[k] += [math.nan] * (len(history["step"]) - len(history[k]))
        read_from = step_done

    def record_monitor() -> None:
        model.eval()
        stats = monitor(model)
        model.train()
        for k, v in stats.items():
            col = history.setdefault(k, [math.nan] * len(history["step"]))
            col[-1] = v

    model.train()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=stop, initial=start, desc=desc, unit="step", leave=False)
    for step in range(start, stop):
        idx = torch.randint(n, (bs,), generator=gen, device=device)
        loss, logs = batch_loss(_take(data, idx))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        pending["lr"].append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        if after_step is not None:
            for k, v in after_step().items():
                pending.setdefault(k, []).append(v)
        losses[step] = loss.detach()
        for k, v in logs.items():
            if k != "loss":
                if k not in log_bufs:
                    log_bufs[k] = torch.full((cfg.steps,), math.nan, device=device)
                log_bufs[k][step] = v
        done = step + 1
        if bar is not None:
            bar.update(1)
        monitor_now = cfg.monitor_every > 0 and done % cfg.monitor_every == 0
        if monitor_now or done == stop:
            read_out(done)
            if monitor_now or done == cfg.steps:
                record_monitor()
            if bar is not None:
                bar.set_postfix(loss=f"{history['loss'][-1]:.4g}")
        if checkpoint is not None and (
            (checkpoint_every > 0 and done % checkpoint_every == 0) or done == stop
        ):
            read_out(done)
            checkpoint(done, history)
    if bar is not None:
        bar.close()
    model.eval()
    return history


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
            history = _history_dict(ckpt.history)
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
