"""Three ways to get a policy out of a pretrained encoder (the article's section 8).

1. ``BCPolicy``: a small head trained by behaviour cloning on the *frozen* encoder.
2. ``LatentNN``: the action of the demonstration state nearest in representation space.
3. ``LatentMPC``: cross-entropy-method search over action sequences, rolled out in latent
   space by the predictor, toward the representation of a goal observation.

All three are rollout policies: they take *raw* flat observations (numpy, a batch) and
standardise them with the statistics of their training data, so ``rollout.run_episodes``
and ``evaluate.evaluate_policy`` can run any of them.

How the goal reaches each policy. The goal is part of the flat observation, so the encoder
sees it, but nothing forces a representation trained to predict the next latent to *keep*
it: the goal never changes within an episode, so it is trivially predictable and could be
kept, or be drowned out by the dynamics of the gripper. Chapter 5 measures with linear
probes how much of the goal the frozen representation keeps, and ``BCConfig.goal_input``
hands the (standardised) goal to the head directly when it does not.

On a pixel task the observation is a flat RGB frame (``layout`` has one part, ``pixels``)
that shows the goal rather than listing it: there is no goal part to hand to the head, and
no "task done" observation can be written by editing numbers, so ``goal_input`` and latent
MPC refuse pixel layouts. Raw BC on pixels trains a fresh ``ConvEncoder`` with the head.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .config import RepresentationConfig
from .data import NormStats
from .envs import ObsLayout, check_flat_obs
from .models import BCHead, ConvEncoder, Encoder
from .runtime import resolve_device, torch_settings
from .training import TrainingConfig, fit, make_optimizer


FEATURE_ROWS = 1024
"""Frames a frozen pixel encoder embeds at once: the features of a whole dataset are computed
in chunks of this many rows, so memory stays bounded whatever the number of demonstrations."""

RAW_PIXEL_DIM = next(f.default for f in fields(RepresentationConfig) if f.name == "repr_dim")
"""Output width of raw pixel BC's own ``ConvEncoder``: the D of the pretrained encoders
(``RepresentationConfig.repr_dim``'s default, 128), so the raw row differs from them only by training."""


def is_pixel_layout(layout: ObsLayout) -> bool:
    """Whether observations of this layout are RGB frames (one ``pixels`` part)."""
    return "pixels" in layout.slices


def frame_size(layout: ObsLayout) -> int:
    """Side S of the frames of a pixel layout (its ``pixels`` part has 3 * S * S values)."""
    part = layout["pixels"]
    size = math.isqrt((part.stop - part.start) // 3)
    if 3 * size * size != part.stop - part.start:
        raise ValueError(f"a pixels part of {part.stop - part.start} values is not 3 * S * S")
    return size


def refuse_pixels(layout: ObsLayout, what: str, fix: str) -> None:
    """Raise ValueError if ``layout`` is a frame's: ``what`` needs a separate goal part."""
    if is_pixel_layout(layout):
        raise ValueError(f"{what} needs the goal as a separate part of the observation, but "
                         f"this is a pixel task (the goal is drawn in the frame); {fix}")


@torch.no_grad()
def embed_in_chunks(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                    rows: int = FEATURE_ROWS) -> torch.Tensor:
    """``fn(x)`` computed ``rows`` rows at a time and concatenated (bounded memory for CNNs)."""
    return torch.cat([fn(x[i:i + rows]) for i in range(0, len(x), rows)], dim=0)


class RolloutPolicy:
    """Standardise raw numpy observations, run a torch function, return numpy actions."""

    def __init__(self, stats: NormStats, device: torch.device) -> None:
        self.stats = stats
        self.device = device

    def _obs(self, obs: np.ndarray) -> torch.Tensor:
        obs = check_flat_obs(obs, len(self.stats.mean))
        return torch.from_numpy(self.stats.standardize(obs)).to(self.device)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.act(self._obs(obs)).cpu().numpy()

    def act(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


# ------------------------------------------------------------------------------ 1. BC head
@dataclass(kw_only=True)
class BCConfig(TrainingConfig):
    """Behaviour cloning of a policy head on top of a (frozen) encoder; the optimiser fields
    are ``training.TrainingConfig``'s (AdamW, warmup then cosine, as in pretraining)."""

    omit_at_default: ClassVar[tuple[str, ...]] = ("monitor_every", "deterministic")
    """The head's configs were cached before it read these two fields."""

    hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of the head MLP (the article: a linear layer or a 1-2 layer MLP)."""
    goal_input: bool = False
    """Concatenate the standardised goal to the representation at the head's input."""
    finetune: bool = False
    """Train the encoder with the head (a remedy row, not the article's frozen protocol)."""
    steps: int = 3000
    """Optimiser steps of the head."""
    monitor_every: int = 0
    """The head has no monitor: its loss curve is read out once, at the end."""


class BCPolicy(RolloutPolicy, nn.Module):
    """``a = head([f(o) ; goal?])`` with ``f`` frozen unless the config fine-tunes it."""

    def __init__(self, encoder: Encoder | None, head: BCHead, stats: NormStats,
                 goal: slice | None, device: torch.device) -> None:
        nn.Module.__init__(self)
        RolloutPolicy.__init__(self, stats, device)
        self.encoder, self.head, self.goal = encoder, head, goal

    def features(self, z: torch.Tensor) -> torch.Tensor:
        s = self.encoder(z) if self.encoder is not None else z
        return torch.cat([s, z[:, self.goal]], dim=1) if self.goal is not None else s

    def act(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(z))

    forward = act


def train_bc(encoder: Encoder | None, obs: np.ndarray, actions: np.ndarray, stats: NormStats,
             layout: ObsLayout, cfg: BCConfig = BCConfig(), progress: bool = False
             ) -> tuple[BCPolicy, np.ndarray]:
    """Fit a BC head to (standardised ``obs``, ``actions``); return the policy and the loss curve.

    ``encoder=None`` is raw BC: on states the head sees the standardised observation itself,
    trained end to end (its "encoder" is its own first layers); on frames a fresh
    ``ConvEncoder`` (the pretrained encoders' architecture, D = ``RAW_PIXEL_DIM``) is
    initialised from ``cfg.seed`` and trained end to end with the head (the article's "raw
    pixel BC"). A given encoder is frozen (a copy of it is fine-tuned if ``cfg.finetune``),
    so the same pretrained encoder can serve several heads; its features are computed once
    (in chunks of ``FEATURE_ROWS`` frames for a CNN).
    """
    device = resolve_device(cfg.device)
    O = obs.shape[1]
    if obs.ndim != 2 or actions.shape != (len(obs), actions.shape[1]) or O != layout.dim:
        raise ValueError(f"obs must be (N, {layout.dim}) and actions (N, A); got {obs.shape}, "
                         f"{actions.shape}")
    if cfg.goal_input:
        refuse_pixels(layout, "BCConfig.goal_input=True", "set goal_input=False")
    with torch_settings(cfg.threads, cfg.deterministic), torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        enc, trained = None, False  # trained: the encoder's weights are optimised
        if encoder is not None:
            enc, trained = copy.deepcopy(encoder).to(device), cfg.finetune
        elif is_pixel_layout(layout):  # raw pixel BC: a CNN of its own, trained with the head
            enc, trained = ConvEncoder(frame_size(layout), RAW_PIXEL_DIM).to(device), True
        if enc is not None:
            enc.requires_grad_(trained)
            enc.train(trained)
        in_dim = (enc.out_dim if enc is not None else O) + (
            layout["goal"].stop - layout["goal"].start if cfg.goal_input else 0)
        head = BCHead(in_dim, actions.shape[1], cfg.hidden).to(device)
        policy = BCPolicy(enc, head, stats, layout["goal"] if cfg.goal_input else None, device)
        params = list(head.parameters()) + (list(enc.parameters()) if trained else [])
        opt, sched = make_optimizer(params, cfg, cfg.steps)
        X = torch.as_tensor(obs, dtype=torch.float32, device=device)
        Y = torch.as_tensor(actions, dtype=torch.float32, device=device)
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        if enc is not None and not trained:
            # the frozen encoder's features never change: compute them once
            if isinstance(enc, ConvEncoder):
                X = embed_in_chunks(policy.features, X)
            else:  # states: one pass, as the cached state runs were computed
                with torch.no_grad():
                    X = policy.features(X)
            features = nn.Identity()
        else:
            features = policy.features

        def batch_loss(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
            return ((head(features(batch["x"])) - batch["y"]) ** 2).sum(1).mean(), {}

        history = fit(policy, cfg, {"x": X, "y": Y}, batch_loss, opt, sched, gen,
                      monitor=lambda m: {}, progress=progress, desc="BC head")
    return policy, np.asarray(history["loss"], dtype=np.float32)


# ------------------------------------------------------------------------- 2. nearest neighbour
class LatentNN(RolloutPolicy):
    """The action of the demonstration state whose representation is nearest (l2).

    Non-parametric: nothing is trained. ``encoder=None`` searches the standardised
    observation space itself, the baseline the representation should beat.
    """

    def __init__(self, encoder: Encoder | None, obs: np.ndarray, actions: np.ndarray,
                 stats: NormStats, device: str = "auto") -> None:
        super().__init__(stats, resolve_device(device))
        self.encoder = encoder.to(self.device).eval() if encoder is not None else None
        x = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if isinstance(self.encoder, ConvEncoder):
            self.memory = embed_in_chunks(self._embed, x)
        else:
            with torch.no_grad():
                self.memory = self._embed(x)
        self.actions = torch.as_tensor(actions, dtype=torch.float32, device=self.device)

    def _embed(self, z: torch.Tensor) -> torch.Tensor:
        return self.encoder(z) if self.encoder is not None else z

    def act(self, z: torch.Tensor) -> torch.Tensor:
        nearest = torch.cdist(self._embed(z), self.memory).argmin(dim=1)
        return self.actions[nearest]


# ----------------------------------------------------------------------------- 3. latent MPC
@dataclass
class MPCConfig:
    """Cross-entropy-method planning in latent space."""

    horizon: int = 5
    """Actions per candidate sequence H."""
    population: int = 128
    """Candidate sequences per CEM iteration."""
    elites: int = 16
    """Best candidates refitting the sampling distribution."""
    iterations: int = 3
    """CEM iterations per control step."""
    init_std: float = 0.5
    """Std of the first sampling distribution (actions live in [-1, 1])."""
    seed: int = 0
    """Seed of the candidate sampler."""

    def __post_init__(self) -> None:
        if not 1 <= self.elites <= self.population:
            raise ValueError(f"elites must be in [1, population={self.population}], got {self.elites}")
        if self.horizon < 1 or self.iterations < 1:
            raise ValueError("horizon and iterations must be >= 1")


def goal_observation(obs: np.ndarray, layout: ObsLayout) -> np.ndarray:
    """The observation of "the task done", built from the current one.

    What is achieved moves to the goal and stops: for Reach the gripper is at the goal;
    with a block, block *and* gripper are at the goal (the gripper ends next to the block
    in every demonstration), their offset is zero, and all velocities are zero. The
    gripper's opening and the block's rotation are kept as they are now. A frame cannot be
    edited this way: a pixel layout is refused.
    """
    refuse_pixels(layout, "goal_observation", "there is no state vector to edit")
    g = np.array(obs, dtype=np.float32, copy=True)
    goal = g[:, layout["goal"]]
    g[:, layout["grip_pos"]] = goal
    for part in ("grip_velp", "gripper_vel", "object_velp", "object_velr"):
        if part in layout.slices:
            g[:, layout[part]] = 0.0
    if "object_pos" in layout.slices:
        g[:, layout["object_pos"]] = goal
        g[:, layout["object_rel_pos"]] = 0.0
    return g


class LatentMPC(RolloutPolicy):
    """Receding-horizon CEM: pick the action sequence whose latent rollout ends nearest the
    goal representation, execute its first action, replan at the next step."""

    def __init__(self, model: nn.Module, stats: NormStats, layout: ObsLayout,
                 cfg: MPCConfig = MPCConfig(), device: str = "auto") -> None:
        super().__init__(stats, resolve_device(device))
        refuse_pixels(layout, "latent MPC (its goal representation is the encoding of "
                      "goal_observation)", "use a BC head or nearest neighbour on pixel tasks")
        if getattr(model, "action_encoder", None) is None:
            raise ValueError("latent MPC needs an action-conditioned predictor; this model has none")
        self.model, self.layout, self.cfg = model.to(self.device).eval(), layout, cfg
        self.gen = torch.Generator(device="cpu").manual_seed(cfg.seed)

    def reset(self, n: int) -> None:
        """Start every episode batch from the same sampler state: runs are reproducible."""
        self.gen.manual_seed(self.cfg.seed)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        goal = self.stats.standardize(goal_observation(np.asarray(obs, np.float32), self.layout))
        with torch.no_grad():
            s_goal = self.model.encode(torch.from_numpy(goal).to(self.device))
            return self._plan(self.model.encode(self._obs(obs)), s_goal).cpu().numpy()

    def _plan(self, s0: torch.Tensor, s_goal: torch.Tensor) -> torch.Tensor:
        c, n = self.cfg, len(s0)
        A = self.model.cfg.action_dim
        mean = torch.zeros(n, c.horizon, A, device=self.device)
        std = torch.full_like(mean, c.init_std)
        for _ in range(c.iterations):
            eps = torch.randn(n, c.population, c.horizon, A, generator=self.gen).to(self.device)
            cand = (mean[:, None] + std[:, None] * eps).clamp(-1, 1)  # (n, P, H, A)
            cost = self._cost(s0, s_goal, cand)  # (n, P)
            elite = cand.gather(1, cost.topk(c.elites, dim=1, largest=False).indices[
                :, :, None, None].expand(-1, -1, c.horizon, A))
            mean, std = elite.mean(1), elite.std(1) + 1e-3
        return mean[:, 0]

    def _cost(self, s0: torch.Tensor, s_goal: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """Squared distance to the goal representation at the end of each latent rollout."""
        n, P, H, A = cand.shape
        s = s0[:, None].expand(n, P, -1).reshape(n * P, -1)
        for t in range(H):
            s = self.model.predict(s, cand[:, :, t].reshape(n * P, A))
        return ((s.view(n, P, -1) - s_goal[:, None]) ** 2).sum(-1)
