"""Every pretraining method of the comparison, under one protocol.

``pretrain(method, cfg, obs, actions, next_obs)`` trains one representation and returns
``(model, history)``; ``model.encoder`` is the representation handed to the BC head.
All methods share, from the same ``JEPAConfig``:

- the encoder: ``models.make_encoder(cfg)``, an ``MLPEncoder(cfg.obs_dim, cfg.repr_dim,
  cfg.enc_hidden)`` on states, a ``ConvEncoder(cfg.frame_size, cfg.repr_dim, cfg.augment)``
  on frames, initialised inside ``torch.random.fork_rng`` seeded with ``cfg.seed``;
- the data: the same standardised transitions, the same batches (a ``torch.Generator``
  seeded with ``cfg.seed`` draws ``cfg.batch_size`` rows with replacement per step), the
  same ``cfg.steps``;
- the optimiser: AdamW (``cfg.lr``, ``cfg.weight_decay``) with ``cfg.warmup`` linear warmup
  then cosine decay (``training.make_optimizer``), under ``runtime.torch_settings(cfg.threads,
  cfg.deterministic)``;
- the loop: ``training.fit`` (no per-step host sync; collapse figures of the online encoder,
  ``online_std/erank/cos/collapsed``, every ``cfg.monitor_every`` steps), under
  ``training.augment_rng(cfg.seed)`` (the stream of the frames' random shifts, if any).

On frames the decoders of ``autoencoder`` and ``recon`` are still MLPs to the flat frame and
the contrastive views still Gaussian noise per value (see ``models``): the methods differ
only by their objective, on states and on pixels alike.

Methods (rows of the article's main table, plus the reconstruction ablation):

=============  ============================================================================
``actjepa``    ``train_jepa(cfg)``: ``|| g(f(o_t), h(a_t)) - sg[f_bar(o_{t+1})] ||^2``, EMA target
``passive``    the same with ``action_injection="none"``: V-JEPA-style, no action
``autoencoder``  ``MSE(dec(f(o_t)), o_t)``
``contrastive``  SimCLR: two views ``o_t + view_noise * eps``, projection head, InfoNCE
``recon``      ``MSE(dec(g(f(o_t), h(a_t))), o_{t+1})``: the "reconstruction in input space
               instead of the latent loss" ablation, an action-conditioned autoencoder
=============  ============================================================================

Config rules (``method_config``), so that no inconsistent combination trains silently:

- ``passive`` always trains with ``action_injection="none"``, whatever ``cfg`` says; the
  returned ``model.cfg`` is the config actually trained (save that one).
  ``actjepa`` with ``action_injection="none"`` is the same model (the "no action
  conditioning" ablation), allowed under either name.
- a field that a method does not use must keep its default: e.g. ``autoencoder`` with
  ``ema=False`` or ``vc_weight=0.1``, or ``actjepa`` with ``view_noise=0.2``, raises
  ValueError naming the field (see ``METHOD_FIELDS``). Sizes (``act_hidden``,
  ``pred_hidden``, ``pred_depth``) are not checked.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pandas as pd
import torch
from torch import nn

from .config import JEPAConfig
from .methods.actjepa import load_checkpoint, monitor_batch, train_jepa, transition_tensors
from .methods.autoencoder import Autoencoder
from .methods.contrastive import ContrastiveModel
from .methods.recon import ActionConditionedAE
from .monitor import check_collapse
from .runtime import resolve_device, torch_settings
from .training import augment_rng, fit, make_optimizer, read_payload

METHODS = ("actjepa", "passive", "autoencoder", "contrastive", "recon")
"""Pretraining methods ``pretrain`` knows."""

_JEPA = ("actjepa", "passive")
METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "ema": _JEPA,
    "tau_start": _JEPA,
    "tau_end": _JEPA,
    "tau_fixed": _JEPA,
    "normalize_loss": _JEPA,
    "vc_weight": _JEPA,
    "action_injection": ("actjepa", "passive", "recon"),
    "bottleneck": ("actjepa", "passive", "recon"),
    "view_noise": ("contrastive",),
    "temperature": ("contrastive",),
}
"""Method-specific switches of ``JEPAConfig`` -> the methods that use them; any other method
refuses a non-default value."""

_BASELINES = {"autoencoder": Autoencoder, "contrastive": ContrastiveModel,
              "recon": ActionConditionedAE}


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown pretraining method {method!r}; choose one of {METHODS}")


def method_config(method: str, cfg: JEPAConfig) -> JEPAConfig:
    """The config ``method`` actually trains with (see the module docstring's rules).

    ``passive`` -> ``action_injection="none"``; a non-default value of a field the method
    does not use -> ValueError. Other configs come back unchanged (the same object).
    """
    _check_method(method)
    defaults = {f.name: f.default for f in dataclasses.fields(JEPAConfig)}
    for name, users in METHOD_FIELDS.items():
        if method in users or name == "action_injection" and method == "passive":
            continue
        if getattr(cfg, name) != defaults[name]:
            raise ValueError(
                f"method {method!r} does not use JEPAConfig.{name} (only {', '.join(users)} "
                f"do), but it is set to {getattr(cfg, name)!r} instead of the default "
                f"{defaults[name]!r}; leave it at its default or choose another method"
            )
    if method == "passive" and cfg.action_injection != "none":
        # pred_hidden was already resolved from bottleneck; the predictor keeps its width
        return dataclasses.replace(cfg, action_injection="none")
    return cfg


def build_pretrain_model(method: str, cfg: JEPAConfig) -> nn.Module:
    """The untrained model of a baseline method, initialised from ``cfg.seed`` inside
    ``fork_rng`` (the global RNG is left alone). ``actjepa``/``passive`` use
    ``methods.actjepa.build_model``."""
    _check_method(method)
    if method not in _BASELINES:
        raise ValueError(f"{method!r} is built by methods.actjepa.build_model, not here")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return _BASELINES[method](cfg)


def online_monitor(obs: torch.Tensor) -> Any:
    """Monitor of models without a target encoder: ``online_std/erank/cos/collapsed`` of
    ``model.encoder`` on the fixed batch ``obs`` (the same figures as ``CollapseMonitor``)."""

    @torch.no_grad()
    def read(model: nn.Module) -> dict[str, float]:
        stats = check_collapse(model.encoder(obs), "online encoder")
        return {f"online_{k}": v for k, v in stats.items()}

    return read


def pretrain(method: str, cfg: JEPAConfig, obs: Any, actions: Any, next_obs: Any,
             progress: bool = False) -> tuple[nn.Module, pd.DataFrame]:
    """Pretrain the representation of ``method`` (one of ``METHODS``) under the shared protocol.

    ``obs``, ``actions``, ``next_obs``: float32 ``(N, O)``, ``(N, A)``, ``(N, O)`` standardised
    transitions (every method gets all three; the autoencoder and contrastive methods use
    ``obs`` only). ``cfg`` is checked and resolved by ``method_config`` first.

    Returns ``(model, history)``: ``model.encoder`` is an ``MLPEncoder`` (a ``ConvEncoder``
    when ``cfg.frame_size > 0``) of output width ``cfg.repr_dim``, ``model.cfg`` the config
    trained with; the model is on ``cfg.device`` in eval mode. ``history`` has one row per
    step: ``step``, ``loss``, ``lr`` (and ``tau``, the target figures and ``drift`` for the
    JEPA methods, as in ``train_jepa``) and the collapse figures ``online_std``,
    ``online_erank``, ``online_cos``, ``online_collapsed`` on every ``cfg.monitor_every``-th
    step and the last. Same seed -> identical weights.
    """
    cfg = method_config(method, cfg)
    if method in _JEPA:
        return train_jepa(cfg, obs, actions, next_obs, progress=progress)

    data_o, data_a, data_n = transition_tensors(cfg, obs, actions, next_obs)
    device = data_o.device
    with torch_settings(cfg.threads, cfg.deterministic):
        model = build_pretrain_model(method, cfg).to(device)
        model.check_inputs(data_o, data_a, data_n)  # once, up front
        monitor = online_monitor(monitor_batch(data_o, cfg.seed))
        opt, sched = make_optimizer(model.trainable_parameters(), cfg)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        data = torch.cat([data_o, data_a, data_n], dim=1)
        del data_o, data_a, data_n
        o_w, a_w = cfg.obs_dim, cfg.action_dim
        extra: dict[str, Any] = {}
        if method == "contrastive":  # view noise from its own stream: batches stay shared
            extra["generator"] = torch.Generator(device=device).manual_seed(cfg.seed + 2)

        def batch_loss(batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return model(batch[:, :o_w], batch[:, o_w:o_w + a_w], batch[:, o_w + a_w:],
                         check=False, **extra)

        with augment_rng(cfg.seed):
            history = fit(model, cfg, data, batch_loss, opt, sched, gen, monitor=monitor,
                          progress=progress, desc=method)
    return model, pd.DataFrame(history)


def load_pretrained(path: str | os.PathLike, method: str) -> tuple[nn.Module, pd.DataFrame]:
    """Rebuild a model of ``method`` and its training history from a checkpoint written by
    ``methods.actjepa.save_checkpoint``.

    ``methods.actjepa.load_checkpoint`` rebuilds the JEPA models (actjepa, passive); for the other
    methods this builds the right module from the saved config, then loads the weights.
    """
    _check_method(method)
    if method not in _BASELINES:
        ckpt = load_checkpoint(path)
        return ckpt.model.eval(), ckpt.history
    payload = read_payload(path)
    cfg = JEPAConfig.from_dict(payload["cfg"])
    model = build_pretrain_model(method, cfg)
    model.load_state_dict(payload["model"])
    return model.to(resolve_device(cfg.device)).eval(), pd.DataFrame(payload["history"])
