"""The paper's ACT-JEPA, built as its public implementation builds it, for state observations.

Vujinovic & Kovacevic (2025), "ACT-JEPA: Novel Joint-Embedding Predictive Architecture for
Efficient Policy Representation Learning", arXiv 2501.14622. One policy, trained end to end,
that predicts the chunk of the next k actions and the latent representations of the current
and the next n observations. The public implementation that follows the paper (its
``ActJepaModel``: a ``Jepa`` of context encoder, target encoder and predictor, plus ACT's
action decoder) fixes what the paper's text leaves open; this module follows it part by part:

- **Context encoder** (public: ``ContextEncoder``, ACT's transformer encoder over
  ``[task token, state token, image tokens]``): a post-norm transformer encoder over
  ``[task token, state token]`` followed by a LayerNorm. Ours: no image tokens (states only);
  the task token is one learned vector (one task per policy); the state token is the book's
  MLP tokenizer (``models.MLPEncoder``, shared in kind with ACT), where the public code has a
  linear ``state_emb``. Its hidden states are the memory of both heads below.
- **Target encoder** (public: ``TargetEncoder``, initialised with the context encoder's
  ``state_dict``, always in eval mode, never trained by gradient): the *same* module
  (``StateTransformer``), a copy of the context encoder, run over the sequence
  ``[task token, o_t, o_{t+1}, .., o_{t+n}]`` with fixed sinusoidal positions on the state
  tokens, padded steps (past the episode's end) masked as keys, and optionally a causal mask
  (``causal``). Its output state tokens, one per step and each contextual (it has seen the
  rest of the sequence), are the targets.
- **EMA** (public: ``update_target_encoder(m)`` after every optimiser step, ``m`` moving
  linearly from ``ema_start`` to ``ema_end`` over the training steps; a "hard" variant copies
  the weights instead): ``after_step``; ``ema=False`` is the hard copy.
- **Predictor** (public: ``Predictor``): a narrow transformer decoder. ``in_proj`` maps the
  context memory to the predictor width, one learned positional query per current and future
  step (randn-initialised) self-attends (padded steps masked) and cross-attends to that
  memory, then a LayerNorm and ``out_proj`` back to the encoder width.
- **Action decoder** (public: ACT's ``ActDecoder`` and a linear ``action_head`` on the same
  context hidden states): ACT's decoder here (``act.decoder_stack``), ``k`` learned queries.
  There is **no CVAE**: the public model has no latent style variable on states, so neither
  has this one (ACT itself, ``methods.act``, keeps its CVAE as its paper builds it).
- **Loss** (public: ``reconstruction_loss + abstract_loss``): the L1 of the unpadded actions
  plus ``jepa_weight`` (1, the public 1:1) times the L1 of the unpadded latent predictions
  against the (stop-gradient) targets.

Ours beyond that, each said again at its field: the sizes (a CPU budget, as ACT's in
``methods.act``; the public model is 512 wide with a 4-layer encoder and a 4-layer predictor
of width 128, chunks of 30 on 30 states), ACT's temporal ensembling at test time (as our ACT;
the public code executes a chunk open loop), the optimiser (the comparison's one loop and its
searched learning rate; the public runs use AdamW at 6e-4, weight decay 0.1, batch 128), and
the collapse monitor (``latent_readings``) that the book runs on the targets and the
predictions during training.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models import MLPEncoder
from ..monitor import embedding_stats
from ..training import positive_int
from .act import (check_action_chunk, check_obs_history, decoder_stack, masked_mean, own_noise,
                  sinusoid_table, xavier_)
from .base import PolicyConfig


@dataclass(kw_only=True)
class ACTJEPAPaperConfig(PolicyConfig):
    """The paper's ACT-JEPA: encoder, target, predictor, decoder, EMA and loss weight."""

    name: ClassVar[str] = "actjepa_paper"

    chunk: int = 10
    """k, actions per query (ours: 10 at 25 Hz, as ACT's ``chunk``; see ``methods.act``)."""
    obs_chunk: int = 10
    """n, future observations whose latents are predicted besides the current one's, so the
    target sequence has n + 1 steps (ours: n = k, the paper extends chunking to observations)."""
    execution: str = "ensemble"
    """ACT's temporal ensembling at test time (ours, as our ACT; the public code runs each
    30-action chunk open loop)."""
    temporal_ensemble_m: float = 0.01
    """m of the ensembling weights (ACT's paper: 0.01)."""
    d_model: int = 64
    """Width of the encoders and of the action decoder (ours: 64, as our ACT)."""
    n_heads: int = 4
    """Attention heads of the encoders and the decoder (ours: 4, as our ACT)."""
    n_encoder_layers: int = 2
    """Layers of the context encoder, hence of its copy the target encoder (ours: 2, as ACT)."""
    n_decoder_layers: int = 1
    """Layers of the action decoder (ours: 1, as ACT's released code runs)."""
    dim_feedforward: int = 256
    """Feed-forward width of the encoder and decoder layers (ours: 4 x d_model)."""
    dropout: float = 0.1
    """Dropout of the context encoder and decoder (ACT's 0.1); the target runs in eval mode."""
    encoder_hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of the MLP state tokenizer (ours; the public code has one linear layer)."""
    causal: bool = False
    """Causal attention in the target encoder and the predictor (public: an option)."""
    predictor_dim: int = 32
    """Width of the predictor, narrower than d_model (public: ``in_proj`` / ``out_proj``)."""
    predictor_layers: int = 1
    """Transformer-decoder layers of the predictor (public: 4 at width 128 under a 512 encoder;
    ours: 1, a CPU budget)."""
    predictor_heads: int = 4
    """Attention heads of the predictor."""
    predictor_ff: int = 128
    """Feed-forward width of the predictor layers (ours: 4 x predictor_dim)."""
    jepa_weight: float = 1.0
    """Weight of the latent L1 added to the action L1 (public: 1, the plain sum)."""
    ema: bool = True
    """Target moved by EMA (True) or overwritten by the context encoder after every step
    (False: the public code's hard copy, the "no EMA" ablation)."""
    ema_start: float = 0.996
    """EMA momentum at the first optimiser step, in [0, 1] (public: 0.996)."""
    ema_end: float = 1.0
    """EMA momentum at the last step, reached linearly (public: 1.0, linear)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.encoder_hidden = tuple(self.encoder_hidden)
        for name in ("d_model", "n_heads", "n_encoder_layers", "n_decoder_layers",
                     "dim_feedforward", "predictor_dim", "predictor_layers", "predictor_heads",
                     "predictor_ff"):
            positive_int(self, name)
        for width, heads in (("d_model", "n_heads"), ("predictor_dim", "predictor_heads")):
            if getattr(self, width) % getattr(self, heads):
                raise ValueError(f"{width}={getattr(self, width)} must be divisible by "
                                 f"{heads}={getattr(self, heads)}; change one of them")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1) (ACT: 0.1), got {self.dropout}")
        for name in ("jepa_weight", "temporal_ensemble_m"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not 0.0 <= self.ema_start <= self.ema_end <= 1.0:
            raise ValueError(f"need 0 <= ema_start <= ema_end <= 1, got ema_start="
                             f"{self.ema_start}, ema_end={self.ema_end}")
        if any(not isinstance(w, int) or isinstance(w, bool) or w <= 0
               for w in self.encoder_hidden):
            raise ValueError(f"encoder_hidden must hold positive integer widths (or be empty "
                             f"for a linear tokenizer), got {self.encoder_hidden!r}")


def _encoder_layer(cfg: ACTJEPAPaperConfig) -> nn.TransformerEncoderLayer:
    """Post-norm ReLU encoder layer, batch first (ACT's)."""
    return nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.dim_feedforward, cfg.dropout,
                                      activation="relu", batch_first=True, norm_first=False)


def _causal(n: int, device: torch.device) -> Tensor:
    """Boolean (n, n) mask, True above the diagonal: a step may not attend to later ones."""
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)


class StateTransformer(nn.Module):
    """The context encoder, and, as a copy, the target encoder (one class, as in the public code).

    ``forward(o_t)`` is the embedding the book probes and freezes (the state token's hidden
    state, (B, d)); ``tokens(o_t)`` is the memory of the heads, ``[task, state]`` (B, 2, d);
    ``sequence(states, pad)`` embeds a sequence of states for the targets (B, T, d).
    """

    def __init__(self, cfg: ACTJEPAPaperConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.out_dim = cfg.d_model
        self.state_emb = MLPEncoder(cfg.obs_dim, out_dim=cfg.d_model, hidden=cfg.encoder_hidden)
        self.task_emb = nn.Parameter(torch.randn(1, 1, cfg.d_model))
        self.layers = nn.TransformerEncoder(_encoder_layer(cfg), cfg.n_encoder_layers,
                                            enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.register_buffer("positions", sinusoid_table(cfg.obs_chunk + 1, cfg.d_model),
                             persistent=False)
        xavier_(self.layers)

    def _run(self, tokens: Tensor, pad: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        return self.norm(self.layers(tokens, mask=mask, src_key_padding_mask=pad))

    def tokens(self, o_t: Tensor) -> Tensor:
        """Hidden states of ``[task token, state token]`` for o_t (B, O): (B, 2, d)."""
        task = self.task_emb.expand(o_t.shape[0], -1, -1)
        return self._run(torch.cat([task, self.state_emb(o_t)[:, None]], dim=1))

    def forward(self, o_t: Tensor) -> Tensor:
        """The state token's hidden state (B, d): the observation embedding."""
        return self.tokens(o_t)[:, 1]

    def sequence(self, states: Tensor, pad: Tensor) -> Tensor:
        """Hidden states of the state tokens of ``[task, s_0 + p_0, .., s_{T-1} + p_{T-1}]``
        (``p`` sinusoidal), padded steps masked as keys, causal if configured: (B, T, d)."""
        B, T, _ = states.shape
        x = self.state_emb(states) + self.positions[:T]
        x = torch.cat([self.task_emb.expand(B, -1, -1), x], dim=1)
        key_pad = torch.cat([pad.new_zeros(B, 1), pad], dim=1) > 0.5
        mask = _causal(T + 1, states.device) if self.cfg.causal else None
        return self._run(x, key_pad, mask)[:, 1:]


class LatentPredictor(nn.Module):
    """Narrow transformer decoder: one learned query per target step, cross-attending to the
    context memory; ``in_proj`` and ``out_proj`` move between the widths."""

    def __init__(self, cfg: ACTJEPAPaperConfig) -> None:
        super().__init__()
        self.cfg = cfg
        p, steps = cfg.predictor_dim, cfg.obs_chunk + 1
        self.in_proj = nn.Linear(cfg.d_model, p)
        self.queries = nn.Parameter(torch.randn(1, steps, p))
        layer = nn.TransformerDecoderLayer(p, cfg.predictor_heads, cfg.predictor_ff, 0.0,
                                           activation="relu", batch_first=True,
                                           norm_first=False)
        self.layers = nn.TransformerDecoder(layer, cfg.predictor_layers)
        self.norm = nn.LayerNorm(p)
        self.out_proj = nn.Linear(p, cfg.d_model)
        xavier_(self.layers)

    def forward(self, memory: Tensor, pad: Tensor) -> Tensor:
        """Predicted target tokens (B, n + 1, d) from the memory (B, M, d); ``pad`` (B, n + 1)
        masks padded steps as keys of the queries' self-attention."""
        steps = self.queries.shape[1]
        q = self.queries.expand(memory.shape[0], -1, -1)
        mask = _causal(steps, memory.device) if self.cfg.causal else None
        h = self.layers(q, self.in_proj(memory), tgt_mask=mask, tgt_key_padding_mask=pad > 0.5)
        return self.out_proj(self.norm(h))


class ACTJEPAPaperPolicy(nn.Module):
    """Context encoder -> (action decoder, latent predictor); EMA target encoder for the targets."""

    cfg: ACTJEPAPaperConfig

    def __init__(self, cfg: ACTJEPAPaperConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = StateTransformer(cfg)  # the context encoder
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False).eval()
        self.predictor = LatentPredictor(cfg)
        self.action_queries = nn.Parameter(torch.randn(1, cfg.chunk, cfg.d_model))
        self.decoder = decoder_stack(cfg.d_model, cfg.n_heads, cfg.n_decoder_layers,
                                     cfg.dim_feedforward, cfg.dropout)
        self.action_head = nn.Linear(cfg.d_model, cfg.action_dim)
        xavier_(self.decoder)
        # the training forward's dropout draws from the model's own stream (as ACT's)
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self._ema_steps = 0

    def train(self, mode: bool = True) -> ACTJEPAPaperPolicy:
        """The target encoder stays in eval mode (no dropout in the targets), as in the public code."""
        super().train(mode)
        self.target_encoder.eval()
        return self

    # -- pieces ------------------------------------------------------------------------
    def check_obs(self, obs: Tensor) -> None:
        """Shapes only: ``obs`` must be (B, To, O)."""
        check_obs_history(self.cfg, obs)

    def decode(self, memory: Tensor) -> Tensor:
        """Action chunk (B, k, A) from the context memory."""
        q = self.action_queries.expand(memory.shape[0], -1, -1)
        return self.action_head(self.decoder(q, memory))

    @staticmethod
    def target_pad(future_pad: Tensor) -> Tensor:
        """Padding of the target sequence: o_t (never padded), then the future's flags."""
        return torch.cat([future_pad.new_zeros(future_pad.shape[0], 1), future_pad], dim=1)

    @torch.no_grad()
    def target_latents(self, o_t: Tensor, future_obs: Tensor, future_pad: Tensor) -> Tensor:
        """sg(target encoder) of ``[o_t, o_{t+1}, .., o_{t+n}]``: (B, n + 1, d)."""
        n = self.cfg.obs_chunk
        if future_obs.shape[1:] != (n, self.cfg.obs_dim) or future_pad.shape != future_obs.shape[:2]:
            raise ValueError(f"future_obs must be (B, {n}, {self.cfg.obs_dim}) and future_pad "
                             f"(B, {n}), got {tuple(future_obs.shape)} and "
                             f"{tuple(future_pad.shape)}: check obs_chunk")
        states = torch.cat([o_t[:, None], future_obs], dim=1)
        return self.target_encoder.sequence(states, self.target_pad(future_pad))

    def predict_latents(self, obs: Tensor, future_pad: Tensor | None = None) -> Tensor:
        """Predicted target tokens (B, n + 1, d) from ``obs`` (B, To, O); no padding unless
        ``future_pad`` (B, n) says so."""
        self.check_obs(obs)
        o_t = obs[:, -1]
        pad = future_pad if future_pad is not None else o_t.new_zeros(o_t.shape[0], self.cfg.obs_chunk)
        return self.predictor(self.encoder.tokens(o_t), self.target_pad(pad))

    # -- the interface of methods.base ---------------------------------------------------
    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Action L1 + jepa_weight * latent L1, padded steps left out of both; logs loss,
        l1 and latent."""
        obs, actions, action_pad = batch["obs"], batch["actions"], batch["action_pad"]
        self.check_obs(obs)
        check_action_chunk(self.cfg, actions, action_pad)
        o_t = obs[:, -1]
        with own_noise(self.noise_gen, obs.device):
            memory = self.encoder.tokens(o_t)
            l1 = masked_mean(F.l1_loss(self.decode(memory), actions, reduction="none").mean(-1),
                             action_pad)
            loss, logs = l1, {"l1": l1.detach()}
            if self.cfg.jepa_weight > 0:
                pad = self.target_pad(batch["future_pad"])
                pred = self.predictor(memory, pad)
                target = self.target_latents(o_t, batch["future_obs"], batch["future_pad"])
                latent = masked_mean((pred - target).abs().mean(-1), pad)
                loss = loss + self.cfg.jepa_weight * latent
                logs["latent"] = latent.detach()
        logs["loss"] = loss.detach()
        return loss, logs

    def momentum(self, step: int) -> float:
        """EMA momentum at optimiser step ``step`` (0-based): linear from ema_start to ema_end."""
        c = self.cfg
        return min(c.ema_end, c.ema_start + (c.ema_end - c.ema_start) * step / c.steps)

    @torch.no_grad()
    def after_step(self) -> dict[str, float]:
        """Move the target encoder towards the context encoder (EMA), or copy it (ema=False),
        right after the optimiser step. Returns the momentum used (1 - weight of the copy)."""
        m = self.momentum(self._ema_steps) if self.cfg.ema else 0.0
        target, online = list(self.target_encoder.parameters()), list(self.encoder.parameters())
        torch._foreach_lerp_(target, online, 1.0 - m)
        self._ema_steps += 1
        return {"tau": m}

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the target encoder's."""
        frozen = {id(p) for p in self.target_encoder.parameters()}
        return [p for p in self.parameters() if id(p) not in frozen]

    @torch.no_grad()
    def predict_chunk(self, obs: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Action chunk (B, k, A) in [-1, 1]; deterministic in eval mode (``generator`` unused)."""
        self.check_obs(obs)
        return self.decode(self.encoder.tokens(obs[:, -1])).clamp(-1.0, 1.0)

    @torch.no_grad()
    def latent_readings(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """Collapse monitor of the targets and the predictions (``monitor.embedding_stats``)
        on a fixed batch of windows: std and effective rank of every unpadded token."""
        pad = self.target_pad(batch["future_pad"])
        keep = pad < 0.5
        o_t = batch["obs"][:, -1]
        target = self.target_latents(o_t, batch["future_obs"], batch["future_pad"])[keep]
        pred = self.predictor(self.encoder.tokens(o_t), pad)[keep]
        out = {}
        for part, z in (("target", target), ("predictor", pred)):
            stats = embedding_stats(z)
            out.update({f"{part}_std": stats["std"], f"{part}_erank": stats["erank"]})
        return out

    # the noise stream and the EMA counter travel with the weights
    def get_extra_state(self) -> dict[str, Any]:
        return {"noise_gen": self.noise_gen.get_state(), "ema_steps": self._ema_steps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.noise_gen.set_state(state["noise_gen"])
        self._ema_steps = int(state["ema_steps"])
