"""Diffusion Policy, low-dimensional state, CNN variant (Chi et al. 2023, "Diffusion Policy:
Visuomotor Policy Learning via Action Diffusion", arXiv 2303.04137).

The policy is a conditional denoiser of action sequences: starting from Gaussian noise, it
refines a whole chunk of ``Tp`` actions in a few denoising steps, conditioned on the last
``To`` observations. What follows the paper, by section (titles, as numbering differs
between the conference and journal versions):

- "Diffusion Policy Formulation", DDPM and DDPM training: the network ``eps(A^k, O, k)``
  predicts the noise added to a clean action sequence ``A^0`` at diffusion step ``k``,
  trained with the MSE to the true noise (``DiffusionPolicy.forward``).
- Same section, closed-loop action-sequence prediction: condition on ``To`` observations,
  predict ``Tp`` actions, execute ``Ta`` of them, then query again (receding horizon). The
  paper's hyperparameter tables use To=2, Tp=16, Ta=8 and we keep them: our Fetch episodes
  are 50 steps at 25 Hz, so one query covers 8 steps (0.32 s). The observations condition
  the denoiser globally; they are not part of the denoised sequence.
- "Key Design Decisions", network architecture, CNN-based: a 1-D temporal U-Net over the
  action sequence, Conv1d + GroupNorm + Mish residual blocks, each FiLM-modulated (Perez et
  al. 2018) by ``[step embedding, flattened observation history]`` (``ConditionalUnet1D``).
- Same section, noise schedule: the squared cosine schedule of iDDPM (Nichol & Dhariwal
  2021), 100 training steps, predicted samples clipped to [-1, 1] (``NoiseSchedule``).
- Same section, accelerating inference: deterministic DDIM (Song et al. 2021, eta = 0) with
  10 steps decouples inference from the 100 training steps (``predict_chunk``).
- Normalisation (the authors' ``LinearNormalizer`` in its "limits" mode, fitted on the
  training data; LeRobot's ``min_max``): every dimension of the observations and of the
  actions is mapped affinely from its training range to [-1, 1], the range the clipping of
  the denoised sample assumes; a dimension whose range is under ``RANGE_EPS`` maps to 0
  (``Normalizer``). This matters more than it looks: the conditioning vector goes through a
  Mish before the FiLM projection, and Mish is monotonic only above -1.19, so z-scored
  observations (which reach -3) fold distinct states onto one feature. With our earlier
  z-scored inputs DP reached 6% on Reach; with the limits it solves it (chapter 12 shows the
  diagnosis, one change at a time).
- The authors' released code: the weights used at inference are an exponential moving
  average with the warm-up decay ``1 - (1 + step / inv_gamma) ** -power``, power 0.75,
  clamped to [0, 0.9999] (``DiffusionPolicy.after_step``).

Sizes are ours, chosen for one CPU core (see ``DiffusionConfig``); each field's docstring
says what the paper uses. The low-dim variant has no observation encoder (``encoder = None``):
the standardised observations go straight into the conditioning vector.

Data layout (ours, from ``base.BATCH_KEYS``): the training chunk is ``a_t .. a_{t+Tp-1}``,
all in the future of the last observation ``o_t``; the paper's window instead starts at
``t - To + 1`` and executes from its ``To - 1``-th action. Executing the first ``Ta`` actions
of our chunk is the same thing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import PolicyConfig


@dataclass(kw_only=True)
class DiffusionConfig(PolicyConfig):
    """Diffusion Policy (CNN, low-dim state): windows, denoiser sizes, schedule and EMA."""

    name: ClassVar[str] = "diffusion_policy"
    """Registry name of the method."""

    obs_horizon: int = 2
    """To: observations conditioned on (paper: 2)."""
    chunk: int = 16
    """Tp: actions predicted per query, the denoised sequence length (paper: 16)."""
    action_steps: int = 8
    """Ta: actions executed per query under the receding horizon (paper: 8)."""
    execution: str = "receding"
    """How chunks become actions; Diffusion Policy executes ``action_steps`` then replans."""
    down_dims: tuple[int, ...] = (16, 32, 64)
    """Channels of the U-Net levels, one halving of the sequence between levels (paper:
    (256, 512, 1024); ours is 16x narrower: on one CPU core a training step at batch 256
    takes ~0.15 s here, ~0.3 s with (32, 64, 128) and ~0.7 s with (64, 128, 256))."""
    kernel_size: int = 5
    """Temporal kernel of every Conv1d in the residual blocks, odd (paper: 5)."""
    n_groups: int = 8
    """GroupNorm groups; every entry of ``down_dims`` must divide by it (paper: 8)."""
    step_embed_dim: int = 64
    """Width of the diffusion-step embedding, sinusoidal then MLP, even (paper: 256)."""
    train_timesteps: int = 100
    """K: diffusion steps of the DDPM training schedule (paper: 100)."""
    inference_steps: int = 10
    """DDIM steps at inference, at most ``train_timesteps`` (paper, real-world setting: 10)."""
    clip_sample: bool = True
    """Clip the predicted clean sequence to [-1, 1] at every denoising step (paper: yes)."""
    ema_power: float = 0.75
    """Power of the EMA warm-up decay ``1 - (1 + step / inv_gamma) ** -power`` (authors'
    code: 0.75)."""
    ema_inv_gamma: float = 1.0
    """inv_gamma of the EMA warm-up decay (authors' code: 1.0)."""
    ema_min: float = 0.0
    """Lower clamp of the EMA decay (authors' code: 0.0)."""
    ema_max: float = 0.9999
    """Upper clamp of the EMA decay (authors' code: 0.9999)."""
    normalize: bool = True
    """Map observations and actions to [-1, 1] by their training limits, as the authors' code
    (True); False feeds the z-scored observations and raw actions (our first build, kept for
    the diagnosis of chapter 12)."""

    def __post_init__(self) -> None:
        self.down_dims = tuple(self.down_dims)
        super().__post_init__()
        self._check_sizes()
        self._check_diffusion()

    def _check_sizes(self) -> None:
        """The U-Net's constraints: GroupNorm widths, odd kernels, halvable sequence."""
        for name in ("action_steps", "kernel_size", "n_groups", "step_embed_dim"):
            _positive(self, name)
        if self.action_steps > self.chunk:
            raise ValueError(f"action_steps ({self.action_steps}) must be <= chunk "
                             f"({self.chunk}): a query cannot execute more actions than it "
                             "predicts")
        if not self.down_dims:
            raise ValueError("down_dims is empty; give at least one U-Net level, e.g. (16, 32, 64)")
        for d in self.down_dims:
            if not isinstance(d, int) or isinstance(d, bool) or d <= 0 or d % self.n_groups:
                raise ValueError(f"every entry of down_dims must be a positive multiple of "
                                 f"n_groups ({self.n_groups}), got {self.down_dims}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd so that the convolutions keep the sequence "
                             f"length, got {self.kernel_size}; use e.g. 5")
        if self.step_embed_dim % 2:
            raise ValueError(f"step_embed_dim must be even (sine and cosine halves), "
                             f"got {self.step_embed_dim}")
        factor = 2 ** (len(self.down_dims) - 1)
        if self.chunk % factor:
            raise ValueError(f"chunk ({self.chunk}) must be divisible by 2 ** (len(down_dims) - 1) "
                             f"= {factor}: the U-Net halves the sequence between its "
                             f"{len(self.down_dims)} levels; change chunk or use fewer down_dims")

    def _check_diffusion(self) -> None:
        """The schedule's and the EMA's ranges."""
        for name in ("train_timesteps", "inference_steps"):
            _positive(self, name)
        if self.inference_steps > self.train_timesteps:
            raise ValueError(f"inference_steps ({self.inference_steps}) must be <= "
                             f"train_timesteps ({self.train_timesteps}): DDIM visits a subset of "
                             "the training steps")
        if not (self.ema_power > 0 and self.ema_inv_gamma > 0):
            raise ValueError(f"ema_power and ema_inv_gamma must be > 0, got "
                             f"{self.ema_power} and {self.ema_inv_gamma}")
        if not 0.0 <= self.ema_min <= self.ema_max < 1.0:
            raise ValueError(f"need 0 <= ema_min <= ema_max < 1, got ema_min={self.ema_min}, "
                             f"ema_max={self.ema_max}")


def _positive(cfg: Any, name: str) -> None:
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{type(cfg).__name__}.{name} must be a positive integer, got {value!r}")


# -- normalisation (the authors' LinearNormalizer, "limits" mode) ---------------------------

RANGE_EPS = 1e-4
"""A dimension whose training range is narrower than this is constant: it maps to 0."""


class Normalizer(nn.Module):
    """Per-dimension affine map of the training range onto [-1, 1]; identity until ``fit``.

    Its scale and offset are buffers, so they are saved and loaded with the weights.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("offset", torch.zeros(dim))

    @torch.no_grad()
    def fit(self, x: Tensor) -> None:
        """Fit to ``x`` (..., dim): ``lo -> -1``, ``hi -> 1``; a constant dimension -> 0."""
        flat = x.reshape(-1, x.shape[-1]).float()
        lo, hi = flat.min(0).values, flat.max(0).values
        constant = (hi - lo) < RANGE_EPS
        scale = torch.where(constant, torch.ones_like(lo), 2.0 / (hi - lo).clamp_min(RANGE_EPS))
        self.scale.copy_(scale)
        self.offset.copy_(torch.where(constant, -lo, -1.0 - lo * scale))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.offset

    def inverse(self, y: Tensor) -> Tensor:
        return (y - self.offset) / self.scale


# -- the noise schedule ("Key Design Decisions", noise schedule) -----------------------------


def squared_cosine_betas(steps: int, max_beta: float = 0.999) -> Tensor:
    """Nichol & Dhariwal's schedule: ``alpha_bar(s) = cos^2((s + 0.008) / 1.008 * pi / 2)``
    and ``beta_k = 1 - alpha_bar((k+1)/K) / alpha_bar(k/K)``, capped at ``max_beta`` so the
    last step does not destroy all signal with a beta of 1 (float64, for exact cumprods)."""
    s = torch.arange(steps + 1, dtype=torch.float64) / steps
    alpha_bar = torch.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


class NoiseSchedule(nn.Module):
    """The DDPM forward process ``x_k = sqrt(ab_k) x_0 + sqrt(1 - ab_k) eps`` and the
    deterministic DDIM step that inverts it given the noise, with ``ab`` = alphas_cumprod."""

    def __init__(self, train_timesteps: int, clip_sample: bool = True) -> None:
        super().__init__()
        betas = squared_cosine_betas(train_timesteps)
        self.train_timesteps = train_timesteps
        self.clip_sample = clip_sample
        self.register_buffer("betas", betas.float(), persistent=False)
        alphas_cumprod = torch.cumprod(1 - betas, 0)
        self.register_buffer("alphas_cumprod", alphas_cumprod.float(), persistent=False)
        self._ab_host = alphas_cumprod.tolist()  # the sampler's python floats: no device syncs

    def add_noise(self, x0: Tensor, eps: Tensor, k: Tensor) -> Tensor:
        """Forward process q(x_k | x_0) at the steps ``k`` (B,), sampled with the given noise."""
        ab = self.alphas_cumprod[k].reshape(-1, *([1] * (x0.dim() - 1)))
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    def ddim_timesteps(self, steps: int) -> list[int]:
        """The training steps DDIM visits, evenly spaced from the noisiest K-1 down to 0, e.g.
        99, 88, .., 11, 0 for 10 of 100. Ours: both ends included, so sampling starts from
        the level that pure Gaussian noise matches (the reference's "leading" spacing starts
        10 of 100 steps at 90, where the sample should still hold some signal)."""
        last = self.train_timesteps - 1
        return [round(last * (1 - i / (steps - 1))) for i in range(steps)] if steps > 1 else [last]

    def ddim_step(self, x: Tensor, eps: Tensor, k: int, k_prev: int) -> Tensor:
        """One deterministic DDIM step (eta = 0) from ``x_k`` to ``x_{k_prev}``: estimate the
        clean sample from the predicted noise, clip it to the action range, then re-noise it
        to level ``k_prev`` with the same noise (``k_prev = -1`` returns the estimate)."""
        ab = self._ab_host[k]
        ab_prev = self._ab_host[k_prev] if k_prev >= 0 else 1.0
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        if self.clip_sample:
            x0 = x0.clamp(-1.0, 1.0)
        return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps


# -- the denoiser ("Key Design Decisions", CNN-based network) -------------------------------


class SinusoidalEmbedding(nn.Module):
    """Transformer-style sine/cosine features of the diffusion step, so that nearby steps get
    nearby embeddings and the MLP after it can tell all K steps apart."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, k: Tensor) -> Tensor:
        angles = k.float()[:, None] * self.freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


def conv_block(c_in: int, c_out: int, kernel: int, groups: int) -> nn.Sequential:
    """Conv1d -> GroupNorm -> Mish, length-preserving (the paper's building block)."""
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2),
                         nn.GroupNorm(groups, c_out), nn.Mish())


class FiLMResBlock(nn.Module):
    """Two conv blocks with FiLM ``gamma * h + beta`` (Perez et al. 2018) in between, and a
    1x1 conv on the skip when the widths differ. gamma and beta (B, C, 1) come from the
    U-Net's one conditioning projection (see ``ConditionalUnet1D``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.out_channels = c_out
        self.conv1 = conv_block(c_in, c_out, kernel, groups)
        self.conv2 = conv_block(c_out, c_out, kernel, groups)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        h = torch.addcmul(beta, self.conv1(x), gamma)
        return self.conv2(h) + self.skip(x)


class ConditionalUnet1D(nn.Module):
    """1-D temporal U-Net over an action sequence (B, T, A), FiLM-conditioned everywhere.

    Each level has two residual blocks, then a stride-2 conv halves the sequence (not after
    the last level); two blocks at the bottom; the way up concatenates the skip of the same
    level, runs two blocks and doubles the length with a transposed conv. The conditioning
    vector is ``c = [MLP(sinusoid(k)), obs.flatten()]``: observations are global conditioning.

    Every block's FiLM parameters are ``Linear_b(Mish(c))`` as in the reference design; since
    all blocks see the same ``c``, we compute them with one Mish and one Linear whose output
    is split between the blocks (ours: the same function, a few dozen fewer small ops per
    denoising step, which is what costs time on a CPU).
    """

    def __init__(self, action_dim: int, global_cond_dim: int, down_dims: tuple[int, ...],
                 kernel: int, groups: int, step_embed_dim: int) -> None:
        super().__init__()
        d = step_embed_dim
        self.step_embed = nn.Sequential(SinusoidalEmbedding(d), nn.Linear(d, 4 * d), nn.Mish(),
                                        nn.Linear(4 * d, d))
        widths = (action_dim, *down_dims)
        pairs = list(zip(widths[:-1], widths[1:]))
        block = lambda i, o: FiLMResBlock(i, o, kernel, groups)  # noqa: E731
        self.down = nn.ModuleList(
            nn.ModuleList([block(i, o), block(o, o),
                           nn.Conv1d(o, o, 3, stride=2, padding=1) if n < len(pairs) - 1
                           else nn.Identity()])
            for n, (i, o) in enumerate(pairs))
        self.mid = nn.ModuleList([block(down_dims[-1], down_dims[-1]) for _ in range(2)])
        self.up = nn.ModuleList(
            nn.ModuleList([block(2 * o, i), block(i, i),
                           nn.ConvTranspose1d(i, i, 4, stride=2, padding=1)])
            for i, o in reversed(pairs[1:]))
        self.head = nn.Sequential(conv_block(down_dims[0], down_dims[0], kernel, groups),
                                  nn.Conv1d(down_dims[0], action_dim, 1))
        self._film_sizes = [b.out_channels for b in self.modules() if isinstance(b, FiLMResBlock)
                            for _ in ("gamma", "beta")]
        self.film = nn.Sequential(nn.Mish(), nn.Linear(d + global_cond_dim, sum(self._film_sizes)))

    def forward(self, x: Tensor, k: Tensor, global_cond: Tensor) -> Tensor:
        """(B, T, A) noisy actions, (B,) steps, (B, G) conditioning -> (B, T, A) noise."""
        cond = torch.cat([self.step_embed(k), global_cond], dim=-1)
        film = iter(self.film(cond).unsqueeze(-1).split(self._film_sizes, dim=1))
        h = x.transpose(1, 2)
        skips = []
        for b1, b2, down in self.down:
            h = b2(b1(h, next(film), next(film)), next(film), next(film))
            skips.append(h)
            h = down(h)
        for b in self.mid:
            h = b(h, next(film), next(film))
        for b1, b2, up in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = up(b2(b1(h, next(film), next(film)), next(film), next(film)))
        return self.head(h).transpose(1, 2)


# -- the policy ----------------------------------------------------------------------------


class DiffusionPolicy(nn.Module):
    """Diffusion Policy with the interface of ``base``: DDPM loss in ``forward``, EMA update in
    ``after_step``, DDIM sampling with the EMA denoiser in ``predict_chunk``.

    Construct inside the caller's RNG (``torch.random.fork_rng`` + ``manual_seed(cfg.seed)``):
    the weights come from the global RNG. The training noise and timesteps come from a
    generator of the model's own (seed ``cfg.seed + 3``), so they do not depend on the batch
    sampler's draws; its state travels in the ``state_dict`` with the EMA counter.
    """

    encoder = None
    """The low-dim variant has no observation encoder: observations are the conditioning."""

    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.unet = ConditionalUnet1D(cfg.action_dim, cfg.obs_horizon * cfg.obs_dim, cfg.down_dims,
                                      cfg.kernel_size, cfg.n_groups, cfg.step_embed_dim)
        self.ema = copy.deepcopy(self.unet).requires_grad_(False)
        self.obs_norm = Normalizer(cfg.obs_dim)
        self.action_norm = Normalizer(cfg.action_dim)
        self.schedule = NoiseSchedule(cfg.train_timesteps, cfg.clip_sample)
        self.ema_updates = 0
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 3)

    # -- training --------------------------------------------------------------------------
    def fit_normalizer(self, data: dict[str, Tensor]) -> None:
        """Fit the observation and action limits on the training windows (``cfg.normalize``;
        called by ``registry.train`` before the first step)."""
        if self.cfg.normalize:
            self.obs_norm.fit(data["obs"])
            self.action_norm.fit(data["actions"])

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """The online denoiser's weights (never the EMA copy)."""
        return self.unet.parameters()

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """DDPM loss: noise the chunk to a random step, MSE of the predicted noise.

        Observations and actions enter normalised to their training limits (``Normalizer``).
        ``action_pad`` is ignored: the chunk is padded by repeating the episode's last
        action and DP trains on that padding, as the reference sequence sampler does (the
        policy learns to hold still at the end). ``future_obs``/``future_pad`` are unused.
        """
        obs, x0 = self._normalised_obs(batch["obs"]), batch["actions"]
        if x0.shape[1:] != (self.cfg.chunk, self.cfg.action_dim):
            raise ValueError(f"actions must be (B, {self.cfg.chunk}, {self.cfg.action_dim}), "
                             f"got {tuple(x0.shape)}")
        x0 = self.action_norm(x0)
        b = x0.shape[0]
        eps = torch.randn(x0.shape, generator=self.noise_gen).to(x0.device)
        k = torch.randint(self.cfg.train_timesteps, (b,), generator=self.noise_gen).to(x0.device)
        pred = self.unet(self.schedule.add_noise(x0, eps, k), k, obs.flatten(1))
        loss = F.mse_loss(pred, eps)
        return loss, {"loss": loss.detach()}

    def ema_decay(self, step: int) -> float:
        """EMA warm-up decay at update number ``step`` (0 for the first update, which copies
        the weights): ``1 - (1 + step / inv_gamma) ** -power``, clamped to [min, max]."""
        c = self.cfg
        if step <= 0:
            return 0.0
        decay = 1 - (1 + step / c.ema_inv_gamma) ** -c.ema_power
        return min(max(decay, c.ema_min), c.ema_max)

    @torch.no_grad()
    def after_step(self) -> dict[str, float]:
        """Move the EMA denoiser towards the online one (called after each optimiser step)."""
        decay = self.ema_decay(self.ema_updates)
        torch._foreach_lerp_(list(self.ema.parameters()), list(self.unet.parameters()), 1.0 - decay)
        for e, o in zip(self.ema.buffers(), self.unet.buffers()):  # constants, kept in step
            e.copy_(o)
        self.ema_updates += 1
        return {"ema_decay": decay}

    # -- inference -------------------------------------------------------------------------
    @torch.no_grad()
    def predict_chunk(self, obs: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(B, To, O) standardised observations -> (B, Tp, A) actions in [-1, 1], by DDIM
        with the EMA denoiser from Gaussian noise drawn with ``generator`` (a CPU generator,
        so the same seed gives the same chunk on any device; None = torch's global RNG)."""
        obs = self._normalised_obs(obs)
        cond = obs.flatten(1)
        b, shape = obs.shape[0], (obs.shape[0], self.cfg.chunk, self.cfg.action_dim)
        x = torch.randn(shape, generator=generator).to(obs.device)
        steps = self.schedule.ddim_timesteps(self.cfg.inference_steps)
        for k, k_prev in zip(steps, steps[1:] + [-1]):
            eps = self.ema(x, torch.full((b,), k, device=obs.device), cond)
            x = self.schedule.ddim_step(x, eps, k, k_prev)
        return self.action_norm.inverse(x).clamp(-1.0, 1.0)

    def _normalised_obs(self, obs: Tensor) -> Tensor:
        """``obs`` (B, To, O) checked for shape, then mapped by the fitted limits."""
        want = (self.cfg.obs_horizon, self.cfg.obs_dim)
        if obs.dim() != 3 or tuple(obs.shape[1:]) != want:
            raise ValueError(f"obs must be (B, {want[0]}, {want[1]}) = (batch, obs_horizon, "
                             f"obs_dim), got {tuple(obs.shape)}")
        return self.obs_norm(obs)

    # -- checkpointing ---------------------------------------------------------------------
    def get_extra_state(self) -> dict[str, Any]:
        """The EMA counter and the noise generator, so a resumed run continues exactly."""
        return {"ema_updates": self.ema_updates, "noise_gen": self.noise_gen.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.ema_updates = int(state["ema_updates"])
        self.noise_gen.set_state(state["noise_gen"])
