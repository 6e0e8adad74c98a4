"""Training, one module for every model of the book: the fields every training config
shares, the optimiser and its schedules, the EMA update, the one loop (``fit``) and the one
way a model is written to and read from disk (``write_payload`` / ``read_payload``).

What a method adds lives with the method: its config subclasses ``TrainingConfig`` with the
fields it uses, its model computes ``(loss, logs)`` of a batch, and ``methods.registry.train``
hands both to ``fit`` (through ``registry.pretrain`` for the article's representations, and
``methods.actjepa.train_jepa`` for ACT-JEPA's EMA target); ``policies.train_bc`` fits a BC
head the same way.

Why the loop looks the way it does (CPU first, where the book is built):

- The whole dataset lives on the device (one tensor, or a dict of tensors with the same
  rows); a batch is one ``index_select`` with indices from a seeded ``torch.Generator`` (no
  DataLoader, no numpy round trip, and the batch order depends only on the seed).
- No host sync per step: losses are written into a preallocated tensor and read every
  ``monitor_every`` steps; ``zero_grad(set_to_none=True)``; AdamW with ``foreach``;
  the EMA is two ``torch._foreach_*`` calls over all target parameters.
- Threads: these models are small (batch 256, widths <= 256), so a second intra-op thread
  gains little, and when other processes share the 2 cores of the build machine, two
  threads per process oversubscribe them and every op waits at an OpenMP barrier for a
  descheduled thread. Measured with ``benchmarks/bench_training.py`` on that machine under
  load (load average ~3): 1 thread 130-230 steps/s, 2 threads 3-18 steps/s. Hence
  ``threads = 1`` by default (0 keeps torch's setting, e.g. on a big idle machine).
- Determinism: models are initialised inside ``torch.random.fork_rng`` seeded with the
  config's seed (the caller's global RNG is left alone), batches come from a dedicated
  generator, and ``deterministic`` turns on ``torch.use_deterministic_algorithms`` for the
  duration of training. Same seed, same thread count -> bit-identical weights on CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import torch
from torch import nn

CHECKPOINT_VERSION = 1

AUGMENT_SEED_OFFSET = 3
"""``augment_rng`` seeds with ``seed + 3``: +0 draws the batches, +1 the monitor batch,
+2 the contrastive views, so the frames' shifts are a stream of their own."""


# ---------------------------------------------------------------------------- the fields
@dataclass(kw_only=True)
class TrainingConfig:
    """The fields every training config has, declared and checked here once: the budget,
    the optimiser, the seed and where torch runs. A method's config subclasses it, adds the
    fields it uses and may give a field another default (its source's value)."""

    omit_at_default: ClassVar[tuple[str, ...]] = ()
    """Fields ``to_dict`` leaves out while they hold their default: fields a config gained
    after runs were cached under its dict, so those runs' keys and checkpoints still match."""

    steps: int = 2000
    """Optimiser steps (the same budget for every method of a comparison)."""
    batch_size: int = 256
    """Rows (transitions or windows) per optimiser step, drawn uniformly with replacement."""
    lr: float = 1e-3
    """Peak learning rate of AdamW."""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay."""
    warmup: float = 0.1
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
    """CPU threads for torch during training (0 = leave torch's setting); see above."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            positive_int(self, name)
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite positive number, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        if not isinstance(self.monitor_every, int) or self.monitor_every < 0:
            raise ValueError(f"monitor_every must be an integer >= 0 (0 = only at the end), "
                             f"got {self.monitor_every!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0 = torch's default), got {self.threads}")
        if not (self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps")):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda[:i]' or 'mps', got {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (tuples kept), e.g. to store in a checkpoint or a spec;
        a field of ``omit_at_default`` is left out while at its default (``from_dict`` fills
        it back in)."""
        d = asdict(self)
        if self.omit_at_default:
            defaults = {f.name: f.default for f in fields(self)}
            for name in self.omit_at_default:
                if d[name] == defaults[name]:
                    del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Inverse of ``to_dict``; a field the config does not have is an error naming it
        and the fields it has."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {unknown}; its fields are {known}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def positive_int(cfg: Any, name: str) -> None:
    """Refuse a config field that is not a positive integer (``True`` is not one)."""
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{type(cfg).__name__}.{name} must be a positive integer, got {value!r}")


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


def make_optimizer(params: Iterable[nn.Parameter], cfg: TrainingConfig, steps: int | None = None
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


# ---------------------------------------------------------------------------- seeded streams
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


# ---------------------------------------------------------------------------- saving and loading
def history_dict(history: pd.DataFrame | dict | None) -> dict[str, list]:
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


def stop_at(steps: int, until: int | None) -> int:
    """The step a run stops after: ``until`` of a ``steps`` schedule (to train in chunks), or
    the whole schedule when None."""
    stop = steps if until is None else until
    if not 0 < stop <= steps:
        raise ValueError(f"until must lie in [1, cfg.steps={steps}], got {until}")
    return stop


class ResumeError(ValueError):
    """A checkpoint that cannot resume the run asked for (unreadable, another config, a
    finished model): the caller deletes it or sets it aside and trains from the start."""


def loop_state(step: int, optimizer: torch.optim.Optimizer | None = None,
               scheduler: Any = None, generator: torch.Generator | None = None
               ) -> dict[str, Any]:
    """What a checkpoint needs besides the model's weights to resume ``fit`` exactly: the
    steps taken, the optimiser's moments, the scheduler's position and the batch sampler's
    state (each None where not given). Every resumable checkpoint of the package carries
    these keys (``methods.actjepa.save_checkpoint``, ``methods.registry.save``)."""
    return {"step": int(step),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "generator": generator.get_state() if generator is not None else None}


def restore_loop(payload: dict[str, Any], optimizer: torch.optim.Optimizer, scheduler: Any,
                 generator: torch.Generator) -> int:
    """Put ``loop_state``'s figures of ``payload`` back into a fresh optimiser, scheduler
    and sampler; return the steps already taken (``fit``'s ``start``)."""
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    generator.set_state(payload["generator"])
    return int(payload["step"])


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


# ---------------------------------------------------------------------------- the loop
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


def fit(model: nn.Module, cfg: TrainingConfig, data: Batch,
        batch_loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]],
        opt: torch.optim.Optimizer, sched: Any, gen: torch.Generator, *,
        monitor: Callable[[nn.Module], dict[str, float]], history: dict[str, list] | None = None,
        start: int = 0, stop: int | None = None,
        after_step: Callable[[], dict[str, float]] | None = None,
        checkpoint: Callable[[int, dict[str, list]], None] | None = None,
        checkpoint_every: int = 0, progress: bool = False, desc: str = "train"
        ) -> dict[str, list]:
    """The one training loop: every pretraining method and every chunked policy.

    ``cfg`` is the run's ``TrainingConfig`` (``steps``, ``batch_size``, ``monitor_every``). ``data`` is one tensor or a dict of tensors (a batch of windows).
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
