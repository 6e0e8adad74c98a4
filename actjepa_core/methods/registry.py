"""The chunked policy methods by name: build, train, save and load any of them the same way.

Adding a method is one module (a config subclassing ``base.PolicyConfig`` and a model), one
line of ``METHODS`` and, for the book, one spec in ``suites``. Names are resolved here, once:
``make_config("act", task)`` returns the config object every other function takes.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data import Demonstrations
from ..envs import TaskSpec, get_task
from ..runtime import resolve_device, torch_settings
from ..training import fit, make_optimizer, read_payload, write_payload
from .base import BATCH_KEYS, PolicyConfig


@dataclass(frozen=True)
class Method:
    """Where a method lives and how the book names it."""

    module: str
    """Module under ``actjepa_core.methods`` holding the config and the model."""
    config: str
    """Name of its config class (a ``base.PolicyConfig``)."""
    model: str
    """Name of its model class (an ``nn.Module`` with the ``base`` interface)."""
    label: str
    """How tables and figures name it."""
    paper: str
    """Where it comes from."""
    has_encoder: bool = True
    """Whether the model has an observation encoder (``model.encoder``) to probe or to put a
    frozen BC head on; Diffusion Policy's low-dim variant has none."""

    def config_class(self) -> type[PolicyConfig]:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.config)

    def model_class(self) -> type[nn.Module]:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.model)


METHODS: dict[str, Method] = {
    "act": Method("act", "ACTConfig", "ACTPolicy", "ACT",
                  "Zhao et al. 2023, arXiv 2304.13705"),
    "diffusion_policy": Method("diffusion_policy", "DiffusionConfig", "DiffusionPolicy",
                               "Diffusion Policy", "Chi et al. 2023, arXiv 2303.04137",
                               has_encoder=False),
    "actjepa_paper": Method("actjepa_paper", "ACTJEPAPaperConfig", "ACTJEPAPaperPolicy",
                            "ACT-JEPA (paper)", "Vujinovic & Kovacevic 2025, arXiv 2501.14622"),
    "actjepa_mlp_target": Method("actjepa_mlp_target", "ACTJEPAMLPTargetConfig",
                                 "ACTJEPAMLPTargetPolicy", "ACT-JEPA, per-state MLP target",
                                 "our first build of arXiv 2501.14622 (chapter 12's ablation)"),
}
"""Chunked policy methods trained end to end: name -> where it lives."""


def get_method(name: str) -> Method:
    """The registry entry of ``name``; an unknown name fails with the known ones."""
    if name not in METHODS:
        raise ValueError(f"unknown policy method {name!r}; choose one of {list(METHODS)}")
    return METHODS[name]


def make_config(name: str, task: str | TaskSpec, **overrides: Any) -> PolicyConfig:
    """The config of method ``name`` for ``task``, with ``overrides`` of its fields.

    A field the method does not have is an error naming the method and its fields.
    """
    spec = get_task(task) if isinstance(task, str) else task
    cls = get_method(name).config_class()
    return cls.from_dict({"obs_dim": spec.obs_dim, "action_dim": spec.action_dim, **overrides})


def build(cfg: PolicyConfig) -> nn.Module:
    """The untrained model of ``cfg``, initialised from ``cfg.seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return get_method(cfg.name).model_class()(cfg)


def window_tensors(cfg: PolicyConfig, demos: Demonstrations, device: torch.device
                   ) -> dict[str, torch.Tensor]:
    """The training windows ``cfg`` asks for, as tensors on ``device`` (finite, checked)."""
    cfg.check_episode(demos.episode_len)
    windows = demos.windows(cfg.obs_horizon, cfg.chunk, cfg.obs_chunk)
    for key in BATCH_KEYS:
        if not np.isfinite(windows[key]).all():
            raise ValueError(f"the {key} of the {demos.task} training windows hold NaN or inf")
    return {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in windows.items()}


def train_policy(cfg: PolicyConfig, demos: Demonstrations, progress: bool = False
                 ) -> tuple[nn.Module, pd.DataFrame]:
    """Train method ``cfg.name`` on ``demos`` with the one loop (``training.fit``).

    Same budget for every method: ``cfg.steps`` AdamW steps (``cfg.lr``, warmup then cosine)
    of ``cfg.batch_size`` windows drawn uniformly with replacement by a generator seeded with
    ``cfg.seed``; ``model.after_step()`` right after each optimiser step (the EMAs). Returns
    the model in eval mode on ``cfg.device`` and its history (``step``, ``loss``, ``lr``, the
    model's logs).
    """
    device = resolve_device(cfg.device)
    if demos.obs.shape[-1] != cfg.obs_dim or demos.actions.shape[-1] != cfg.action_dim:
        raise ValueError(f"{cfg.name} was configured for observations of width {cfg.obs_dim} and "
                         f"actions of width {cfg.action_dim}, but the {demos.task} demonstrations "
                         f"have {demos.obs.shape[-1]} and {demos.actions.shape[-1]}")
    data = window_tensors(cfg, demos, device)
    with torch_settings(cfg.threads, cfg.deterministic):
        model = build(cfg).to(device)
        if hasattr(model, "fit_normalizer"):  # Diffusion Policy's limits, from its training data
            model.fit_normalizer(data)
        opt, sched = make_optimizer(model.trainable_parameters(), cfg)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        history = fit(model, cfg, data, model, opt, sched, gen, monitor=latent_monitor(model, data),
                      after_step=model.after_step, progress=progress,
                      desc=get_method(cfg.name).label)
    return model, pd.DataFrame(history)


MONITOR_WINDOWS = 512
"""Training windows the collapse monitor reads at every reading (a fixed sample)."""


def latent_monitor(model: nn.Module, data: dict[str, torch.Tensor]
                   ) -> Callable[[nn.Module], dict[str, float]]:
    """The collapse monitor of a method with a latent target: every ``monitor_every`` steps,
    ``model.latent_readings(batch)`` on one fixed sample of the training windows (the same
    windows at every reading, drawn from a generator seeded with the config's seed), so its
    ``target_*`` and ``predictor_*`` figures are comparable across steps. Methods without a
    latent target log nothing."""
    if not hasattr(model, "latent_readings"):
        return lambda m: {}
    n = next(iter(data.values())).shape[0]
    gen = torch.Generator().manual_seed(model.cfg.seed + 7)
    idx = torch.randperm(n, generator=gen)[:MONITOR_WINDOWS].to(next(iter(data.values())).device)
    batch = {k: v[idx] for k, v in data.items()}
    return lambda m: m.latent_readings(batch)


def save_policy(path: str | os.PathLike, model: nn.Module, history: pd.DataFrame | None = None
                ) -> Path:
    """Save a trained method (its name, config, weights and history), atomically."""
    return write_payload(path, {
        "method": model.cfg.name, "cfg": model.cfg.to_dict(),
        "model": {k: v.detach().cpu() if torch.is_tensor(v) else v  # extra state: EMA step...
                  for k, v in model.state_dict().items()},
        "history": {c: history[c].tolist() for c in history.columns} if history is not None else {},
    })


def load_policy(path: str | os.PathLike) -> tuple[nn.Module, pd.DataFrame]:
    """Rebuild a method saved by ``save_policy``: the model in eval mode on its config's device,
    and its training history. A file of another kind or version is an error naming it."""
    payload = read_payload(path)
    if "method" not in payload:
        raise ValueError(f"{path} holds no chunked policy (no 'method' entry); pretrained "
                         f"encoders load with pretrain.load_pretrained")
    cfg = get_method(payload["method"]).config_class().from_dict(payload["cfg"])
    model = build(cfg)
    model.load_state_dict(payload["model"])
    return model.to(resolve_device(cfg.device)).eval(), pd.DataFrame(payload["history"])
