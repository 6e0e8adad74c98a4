"""Every method of the book by name: make, build, train, save and load any of them the same way.

Two kinds of method, one registry:

- ``representation``: the article's methods (chapters 2-10, 13): an encoder pretrained on
  transitions ``(o_t, a_t, o_{t+1})``, then frozen under an extraction protocol (a BC head,
  latent nearest neighbour, latent MPC; ``policies``). Their configs subclass
  ``config.RepresentationConfig``.
- ``policy``: the paper's chunked policies (chapters 11-14), trained end to end on windows
  of the demonstrations and run as they are (``chunked``). Their configs subclass
  ``base.PolicyConfig``.

Adding a method is one module under ``methods`` (a config subclassing one of those two and
a model; see ``methods/README.md``), one line of ``METHODS`` and, for the book, one spec in
``suites``. Names and row labels are resolved here, once: ``make_config("act", task)``
returns the config object every other function takes.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import RepresentationConfig
from ..data import Demonstrations
from ..envs import TaskSpec, get_task
from ..monitor import check_collapse
from ..runtime import resolve_device, torch_settings
from ..training import (ResumeError, TrainingConfig, augment_rng, fit, history_dict,
                        loop_state, make_optimizer, read_payload, restore_loop, stop_at,
                        write_payload)
from .actjepa import JEPAConfig, monitor_batch, train_jepa, transition_tensors
from .base import BATCH_KEYS, PolicyConfig

KINDS = ("representation", "policy")
"""A method is pretrained then frozen under a protocol, or a policy trained end to end."""


@dataclass(frozen=True)
class Method:
    """Where a method lives and how the book names it."""

    module: str
    """Module under ``actjepa_core.methods`` holding the config and the model."""
    config: str
    """Name of its config class (a ``config.RepresentationConfig`` or ``base.PolicyConfig``)."""
    model: str
    """Name of its model class (an ``nn.Module`` with ``forward -> (loss, logs)`` and
    ``trainable_parameters``)."""
    label: str
    """How tables and figures name it."""
    paper: str
    """Where it comes from."""
    kind: str = "policy"
    """One of ``KINDS``."""
    has_encoder: bool = True
    """Whether the model has an observation encoder (``model.encoder``) to probe or to put a
    frozen BC head on; Diffusion Policy's low-dim variant has none."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def config_class(self) -> type[TrainingConfig]:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.config)

    def model_class(self) -> type[nn.Module]:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.model)


ARTICLE = "Vujinovic & Kovacevic, the ACT-JEPA article (seeds 001/003)"

METHODS: dict[str, Method] = {
    "actjepa": Method("actjepa", "JEPAConfig", "ACTJEPA", "ACT-JEPA", ARTICLE,
                      kind="representation"),
    "passive": Method("actjepa", "PassiveConfig", "ACTJEPA", "passive latent prediction",
                      "the article's V-JEPA-style baseline (Bardes et al. 2024)",
                      kind="representation"),
    "autoencoder": Method("autoencoder", "AutoencoderConfig", "Autoencoder", "autoencoder",
                          "the article's reconstruction baseline", kind="representation"),
    "contrastive": Method("contrastive", "ContrastiveConfig", "ContrastiveModel", "contrastive",
                          "the article's SimCLR-style baseline (Chen et al. 2020)",
                          kind="representation"),
    "recon": Method("recon", "ReconConfig", "ActionConditionedAE",
                    "reconstruction in input space", "the article's ablation table",
                    kind="representation"),
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
"""Every trained method: name -> where it lives. ``raw`` (the BC head on the observation
itself) trains no method of its own and so is not here; ``RAW_LABEL`` names its row."""

RAW_LABEL = "raw BC (no pretraining)"
"""The row label of ``raw``: a BC head on the standardised observation, no pretraining."""


def names(kind: str) -> tuple[str, ...]:
    """The registered methods of one kind, in registry order."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return tuple(n for n, m in METHODS.items() if m.kind == kind)


def get_method(name: str) -> Method:
    """The registry entry of ``name``; an unknown name fails with the known ones."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {list(METHODS)}")
    return METHODS[name]


def row_label(name: str) -> str:
    """How a table names the row of ``name`` under its usual protocol: a representation
    under the BC head ("ACT-JEPA + BC"), a policy as itself ("ACT"), ``raw`` as
    ``RAW_LABEL``."""
    if name == "raw":
        return RAW_LABEL
    method = get_method(name)
    return f"{method.label} + BC" if method.kind == "representation" else method.label


def make_config(name: str, task: str | TaskSpec, **overrides: Any) -> TrainingConfig:
    """The config of method ``name`` for ``task``, with ``overrides`` of its fields.

    The task gives the widths (and, for a pixel task, the frame size); a field the method
    does not have is an error naming the method and its fields.
    """
    spec = get_task(task) if isinstance(task, str) else task
    cls = get_method(name).config_class()
    if "frame_size" in overrides:
        raise ValueError(f"frame_size={overrides['frame_size']} is not an override: the frame "
                         f"size comes from the task name (e.g. 'push-pixels32')")
    frames = {"frame_size": spec.frame_size} if spec.is_pixels else {}
    return cls.from_dict({"obs_dim": spec.obs_dim, "action_dim": spec.action_dim, **frames,
                          **overrides})


def build(cfg: TrainingConfig) -> nn.Module:
    """The untrained model of ``cfg``, initialised from ``cfg.seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return get_method(cfg.name).model_class()(cfg)


def train(cfg: TrainingConfig, demos: Demonstrations, progress: bool = False, *,
          checkpoint_path: str | os.PathLike | None = None, checkpoint_every: int = 0,
          until: int | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Train method ``cfg.name`` on ``demos``; return the model (eval mode, on ``cfg.device``)
    and its history (``step``, ``loss``, ``lr``, the model's logs and monitor readings).

    Both kinds run the one loop, ``training.fit``, with ``cfg.steps`` AdamW steps (``cfg.lr``,
    warmup then cosine) of ``cfg.batch_size`` rows drawn uniformly with replacement by a
    generator seeded with ``cfg.seed``. What differs is the data: a representation trains on
    the standardised transitions (``pretrain``), a policy on windows (``BATCH_KEYS``).

    A run that may be cut short (a 40,000-step policy is a quarter of an hour on one core)
    passes ``checkpoint_path``: the unfinished run is written there every
    ``checkpoint_every`` steps (if > 0) and at the end, and a run that finds the file
    resumes from it, bit-identical to one never interrupted (a file that does not fit is a
    ``training.ResumeError``). ``until`` stops after that many steps of the ``cfg.steps``
    schedule. Only the methods of ``resumable`` take them.
    """
    if demos.obs.shape[-1] != cfg.obs_dim or demos.actions.shape[-1] != cfg.action_dim:
        raise ValueError(f"{cfg.name} was configured for observations of width {cfg.obs_dim} and "
                         f"actions of width {cfg.action_dim}, but the {demos.task} demonstrations "
                         f"have {demos.obs.shape[-1]} and {demos.actions.shape[-1]}")
    resume = dict(checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                  until=until)
    if get_method(cfg.name).kind == "representation":
        return pretrain(cfg, *demos.transitions(), progress=progress, **resume)
    return _train_policy(cfg, demos, progress, **resume)


def resumable(method: str | TrainingConfig) -> bool:
    """Whether ``train`` can checkpoint and resume ``method`` (a name or a config): every
    policy, and the article's methods with an EMA target (ACT-JEPA, passive); the other
    representations are minutes of training, whose augmentation streams are not saved."""
    name = method if isinstance(method, str) else method.name
    return get_method(name).kind == "policy" or issubclass(get_method(name).config_class(),
                                                           JEPAConfig)


# ---------------------------------------------------------------------- the two set-ups
CONTRASTIVE_SEED_OFFSET = 2
"""The contrastive views draw from a generator seeded with ``cfg.seed + 2``, a stream of
their own, so the batches stay the ones every other method draws."""


def online_monitor(obs: torch.Tensor) -> Any:
    """Monitor of models without a target encoder: ``online_std/erank/cos/collapsed`` of
    ``model.encoder`` on the fixed batch ``obs`` (the same figures as ``CollapseMonitor``)."""

    @torch.no_grad()
    def read(model: nn.Module) -> dict[str, float]:
        stats = check_collapse(model.encoder(obs), "online encoder")
        return {f"online_{k}": v for k, v in stats.items()}

    return read


def pretrain(cfg: RepresentationConfig, obs: Any, actions: Any, next_obs: Any,
             progress: bool = False, *, checkpoint_path: str | os.PathLike | None = None,
             checkpoint_every: int = 0, until: int | None = None
             ) -> tuple[nn.Module, pd.DataFrame]:
    """Pretrain the representation of method ``cfg.name`` under the article's one protocol.

    ``obs``, ``actions``, ``next_obs``: float32 ``(N, O)``, ``(N, A)``, ``(N, O)`` standardised
    transitions (every method gets all three; the autoencoder and contrastive methods use
    ``obs`` only). Every method shares, each from its own config:

    - the encoder, ``models.make_encoder(cfg)`` (MLP on states, CNN on frames), initialised
      from ``cfg.seed`` (``build``);
    - the data: the same transitions and the same batches (a generator seeded with
      ``cfg.seed`` draws ``cfg.batch_size`` rows with replacement per step), ``cfg.steps``;
    - the optimiser (``training.make_optimizer``) under ``runtime.torch_settings``, and the
      loop ``training.fit`` under ``training.augment_rng(cfg.seed)`` (the frames' shifts);
    - the collapse figures of the online encoder every ``cfg.monitor_every`` steps.

    On frames the decoders of ``autoencoder`` and ``recon`` are still MLPs to the flat frame
    and the contrastive views still Gaussian noise per value: the methods differ only by
    their objective, on states and on pixels alike. ACT-JEPA and passive prediction train
    with ``methods.actjepa.train_jepa`` (the EMA target step after each optimiser step).

    Returns ``(model, history)``: ``model.encoder`` is an ``MLPEncoder`` (a ``ConvEncoder``
    when ``cfg.frame_size > 0``) of output width ``cfg.repr_dim``, ``model.cfg`` is ``cfg``;
    the model is on ``cfg.device`` in eval mode. ``history`` has one row per step: ``step``,
    ``loss``, ``lr`` (and ``tau``, the target figures and ``drift`` for the JEPA methods, as
    in ``train_jepa``) and the collapse figures ``online_std``, ``online_erank``,
    ``online_cos``, ``online_collapsed`` on every ``cfg.monitor_every``-th step and the last.
    Same seed -> identical weights. ``checkpoint_path``, ``checkpoint_every`` and ``until``
    are ``train``'s, for ACT-JEPA and passive only (``resumable``).
    """
    if get_method(cfg.name).kind != "representation":
        raise ValueError(f"{cfg.name!r} is a policy trained end to end, not a representation: "
                         f"train it with train()")
    if isinstance(cfg, JEPAConfig):  # ACT-JEPA and passive: the EMA target and checkpoints
        return train_jepa(cfg, obs, actions, next_obs, progress=progress,
                          checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                          until=until)
    if checkpoint_path is not None or until is not None:
        raise ValueError(f"{cfg.name} cannot be checkpointed or stopped early (only "
                         f"{', '.join(n for n in METHODS if resumable(n))} can); drop "
                         f"checkpoint_path and until")

    data_o, data_a, data_n = transition_tensors(cfg, obs, actions, next_obs)
    device = data_o.device
    with torch_settings(cfg.threads, cfg.deterministic):
        model = build(cfg).to(device)
        model.check_inputs(data_o, data_a, data_n)  # once, up front
        monitor = online_monitor(monitor_batch(data_o, cfg.seed))
        opt, sched = make_optimizer(model.trainable_parameters(), cfg)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        data = torch.cat([data_o, data_a, data_n], dim=1)
        del data_o, data_a, data_n
        o_w, a_w = cfg.obs_dim, cfg.action_dim
        extra: dict[str, Any] = {}
        if getattr(model, "draws_views", False):  # view noise from its own stream
            extra["generator"] = torch.Generator(device=device).manual_seed(
                cfg.seed + CONTRASTIVE_SEED_OFFSET)

        def batch_loss(batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return model(batch[:, :o_w], batch[:, o_w:o_w + a_w], batch[:, o_w + a_w:],
                         check=False, **extra)

        with augment_rng(cfg.seed):
            history = fit(model, cfg, data, batch_loss, opt, sched, gen, monitor=monitor,
                          progress=progress, desc=cfg.name)
    return model, pd.DataFrame(history)


def window_tensors(cfg: PolicyConfig, demos: Demonstrations, device: torch.device
                   ) -> dict[str, torch.Tensor]:
    """The training windows ``cfg`` asks for, as tensors on ``device`` (finite, checked)."""
    cfg.check_episode(demos.episode_len)
    windows = demos.windows(cfg.obs_horizon, cfg.chunk, cfg.obs_chunk)
    for key in BATCH_KEYS:
        if not np.isfinite(windows[key]).all():
            raise ValueError(f"the {key} of the {demos.task} training windows hold NaN or inf")
    return {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in windows.items()}


def _train_policy(cfg: PolicyConfig, demos: Demonstrations, progress: bool,
                  checkpoint_path: str | os.PathLike | None = None, checkpoint_every: int = 0,
                  until: int | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """A policy's set-up around ``fit``: its windows, its normaliser if it has one, and
    ``model.after_step()`` right after each optimiser step (the EMAs); resumed from and
    written to ``checkpoint_path`` as ``train`` says. The model's own noise streams and EMA
    counters are in its state dict (``get_extra_state``), the rest in ``loop_state``."""
    device = resolve_device(cfg.device)
    data = window_tensors(cfg, demos, device)
    stop = stop_at(cfg.steps, until)
    with torch_settings(cfg.threads, cfg.deterministic):
        model = build(cfg).to(device)
        if hasattr(model, "fit_normalizer"):  # Diffusion Policy's limits, from its training data
            model.fit_normalizer(data)
        opt, sched = make_optimizer(model.trainable_parameters(), cfg)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        history, start = _resume(checkpoint_path, model, opt, sched, gen)

        def write(done: int, hist: dict[str, list]) -> None:
            save(checkpoint_path, model, hist, loop_state(done, opt, sched, gen))

        history = fit(model, cfg, data, model, opt, sched, gen, monitor=latent_monitor(model, data),
                      history=history, start=start, stop=stop, after_step=model.after_step,
                      checkpoint=write if checkpoint_path is not None else None,
                      checkpoint_every=checkpoint_every, progress=progress,
                      desc=get_method(cfg.name).label)
    return model, pd.DataFrame(history)


def _resume(path: str | os.PathLike | None, model: nn.Module, opt: torch.optim.Optimizer,
            sched: Any, gen: torch.Generator) -> tuple[dict[str, list] | None, int]:
    """Load the unfinished run at ``path`` (written by ``_train_policy``) into the fresh
    ``model``, optimiser, scheduler and sampler; return its history and steps taken, or
    ``(None, 0)`` when there is no file. A file that does not load or was written for
    another config is a ``ResumeError``: resuming it would silently train another run."""
    if path is None or not Path(path).exists():
        return None, 0
    try:
        payload = read_payload(path)
        if payload.get("cfg") != model.cfg.to_dict() or "step" not in payload:
            raise ValueError("it was written with a different config, or by a finished run")
        model.load_state_dict(payload["model"])
        start = restore_loop(payload, opt, sched, gen)
    except (ValueError, RuntimeError, KeyError) as e:
        raise ResumeError(f"{path} cannot resume this {model.cfg.name} run ({e}); delete it "
                          f"to train from the start") from e
    return history_dict(payload["history"]), start


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


# ---------------------------------------------------------------------- saving and loading
def save(path: str | os.PathLike, model: nn.Module,
         history: pd.DataFrame | dict[str, list] | None = None,
         loop: dict[str, Any] | None = None) -> Path:
    """Save a trained method (its name, config, weights and history), atomically; with
    ``loop`` (``training.loop_state``), an unfinished run that ``train`` resumes."""
    return write_payload(path, {
        "method": model.cfg.name, "cfg": model.cfg.to_dict(),
        "model": {k: v.detach().cpu() if torch.is_tensor(v) else v  # extra state: EMA step...
                  for k, v in model.state_dict().items()},
        "history": history_dict(history),
        **(loop or {}),
    })


def load(path: str | os.PathLike, method: str | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Rebuild a method saved by ``save``: the model in eval mode on its config's device, and
    its training history. ``method`` names it for files written before checkpoints did
    (the article's pretrained encoders, ``methods.actjepa.save_checkpoint``); a file of
    another method, kind or version is an error naming it."""
    payload = read_payload(path)
    name = payload.get("method", method)
    if name is None:
        raise ValueError(f"{path} does not say which method it holds; pass method=...")
    if method is not None and name != method:
        raise ValueError(f"{path} holds a {name!r} model, not a {method!r} one")
    cfg = config_from_dict(name, payload["cfg"])
    model = build(cfg)
    model.load_state_dict(payload["model"])
    return model.to(resolve_device(cfg.device)).eval(), pd.DataFrame(payload["history"])


# ---------------------------------------------------------------------- the article's cache keys
@functools.cache
def _article_defaults() -> Mapping[str, Any]:
    """Every field of the one config the article's five methods shared until they had one
    each (ACT-JEPA's fields and the contrastive views'), at its default: built once, read by
    every cache key and every old checkpoint."""
    out: dict[str, Any] = {}
    for name in ("contrastive", "actjepa"):
        out.update(make_config(name, "reach").to_dict())
    return MappingProxyType(out)


def article_key(cfg: TrainingConfig) -> dict[str, Any]:
    """The dict that names a representation's run in a cache key: its config's fields over
    the shared config's defaults, the shape every article run was cached under (a field a
    method does not have sits at the default it always had there)."""
    return {**_article_defaults(), **cfg.to_dict()}


def config_from_dict(name: str, d: dict[str, Any]) -> TrainingConfig:
    """``name``'s config from a stored dict. A checkpoint of an article method written while
    the five shared one config also holds that config's fields the method lacks; the method
    never read them, so they are dropped."""
    cls = get_method(name).config_class()
    if get_method(name).kind == "representation":
        own = {f.name for f in fields(cls)}
        shared = _article_defaults()
        d = {k: v for k, v in d.items() if k in own or k not in shared}
    return cls.from_dict(d)
