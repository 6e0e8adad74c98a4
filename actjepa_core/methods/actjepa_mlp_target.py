"""Our first build of the paper's ACT-JEPA, kept as a named variant: ACT plus a JEPA branch
whose targets are an EMA copy of the per-state MLP tokenizer ("per-state MLP target").

This was the book's "ACT-JEPA (paper)" until the public implementation was read (see
``actjepa_paper``, which now holds the model as the paper builds it). It fails Reach (10% where
ACT reaches 100%): the latent loss pulls the one MLP that both tokenizes the policy's
observation and, through its EMA copy, makes the targets, towards constant outputs. It stays as
an ablation row of chapter 12 because that failure is the reason the target encoder's design
matters. What follows is the text written for it when it was built.

Vujinovic & Kovacevic (2025), "ACT-JEPA: Novel Joint-Embedding Predictive Architecture for
Efficient Policy Representation Learning", arXiv 2501.14622 (v3). What we could read of it
(abstract and third-party overviews; the method section itself was not available to us):

- one policy, trained end to end, predicts (1) the action chunk and (2) the chunk of future
  observations *in latent space*, "extending the idea of chunking" from actions to
  observations (abstract);
- four parts: a context encoder E_theta that embeds the current observation, a target
  encoder E_theta~ that embeds the future observations (stop-gradient; here an EMA copy as
  in I-JEPA), a predictor P_phi from the context to the future latents, and an action
  decoder (ACT's) from the context to the action chunk (Fig. 1 of the paper, as described
  by the alphaXiv overview);
- it is evaluated on task success (Meta-World, ManiSkill, Push-T) and on "world model
  understanding", where it reports up to 40% improvement over the strongest baseline.

Everything below that those sources do not fix is our choice and marked "ours":

- The context is ACT's own policy memory, the output of the transformer encoder over
  ``[z token, observation token]``; the observation token is ``encoder(o_t)``, the
  ``MLPEncoder`` shared with ACT. The target encoder is an EMA copy of that same
  ``encoder`` applied to ``o_{t+1} .. o_{t+n}`` (ours).
- Predictor: a small post-norm transformer decoder (I-JEPA-style mask tokens): ``n``
  queries, one shared learned mask token plus a learned positional embedding per future
  step, self-attend to each other and cross-attend to the context memory; a LayerNorm and
  a linear head map them to the latent width D (ours).
- Latent loss: the mean absolute error over D (V-JEPA's L1, per element like ACT's L1),
  averaged over the non-padded future steps, against ``sg(target)`` (ours; the squared l2
  summed over D, our first choice, stays available as ``latent_loss="l2_sum"``).
- Total loss: ACT's ``l1 + kl_weight * kl`` plus ``jepa_weight * latent`` (lambda = 1, ours).
- EMA momentum: I-JEPA's cosine schedule 0.996 -> 1.0 over the training steps (ours).

During training z comes from ACT's CVAE posterior (as for the action decoder), so the
predictor sees the style of the demonstrated chunk; ``predict_future`` uses z = 0, the
prior mean, as ACT does at test time, unless actions are passed.

With ``jepa_weight == 0`` the model *is* ACT: the ACT modules are built first (same initial
weights for the same seed), the noise stream (``noise_gen``, from ``cfg.seed``) is drawn by
ACT's part first and in the same order, and the JEPA branch is skipped entirely (no
compute, no random draws), so the same batches give bit-identical action chunks.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..training import cosine_tau_schedule, ema_update, positive_int
from .act import ACTConfig, ACTPolicy, decoder_stack, masked_mean, xavier_


LATENT_LOSSES = ("l1", "l2_sum")
"""Distances the latent loss can use (``ACTJEPAMLPTargetConfig.latent_loss``)."""


@dataclass(kw_only=True)
class ACTJEPAMLPTargetConfig(ACTConfig):
    """ACT's fields plus the JEPA branch's: weight, observation chunk, predictor, EMA."""

    name: ClassVar[str] = "actjepa_mlp_target"

    jepa_weight: float = 1.0
    """lambda, weight of the latent loss added to ACT's loss (the paper's value was not
    available to us; ours: 1.0). 0 gives exactly ACT."""
    latent_loss: str = "l1"
    """Distance between predicted and target latents, per element: "l1", the mean absolute
    error over D (V-JEPA's loss, on the same per-element scale as ACT's L1, so that lambda
    weighs like against like; ours), or "l2_sum", the squared l2 summed over D (the article
    model's ``latent_loss``; our first choice, which made the latent term about 64 times
    ACT's L1 and the policy fail on Reach and Push: see chapter 12)."""
    obs_chunk: int = 10
    """n, future observations whose latents are predicted, o_{t+1..t+n} (ours: 10 = k, the
    action chunk, as the paper extends chunking from actions to observations)."""
    predictor_layers: int = 1
    """Transformer-decoder layers of the predictor (ours: 1, as small as ACT's decoder)."""
    predictor_ff: int = 256
    """Feed-forward width of the predictor layers (ours: 256, as ACT's layers)."""
    predictor_dropout: float = 0.0
    """Dropout inside the predictor (ours: 0, as I-JEPA's predictor; it also keeps the
    latent targets' regression free of dropout noise)."""
    ema: bool = True
    """Target encoder is an EMA copy of ``encoder``; False: the online encoder under
    stop-gradient (ablation)."""
    tau_start: float = 0.996
    """EMA momentum at the first step, in [0, 1) (I-JEPA's value; ours)."""
    tau_end: float = 1.0
    """EMA momentum at the last step of the cosine schedule, in [0, 1] (I-JEPA's value; ours)."""
    tau_fixed: float | None = None
    """Constant EMA momentum in [0, 1) replacing the schedule (None: cosine schedule)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("predictor_layers", "predictor_ff"):
            positive_int(self, name)
        if not (isinstance(self.jepa_weight, (int, float)) and math.isfinite(self.jepa_weight)
                and self.jepa_weight >= 0):
            raise ValueError(f"jepa_weight must be a finite number >= 0 (0 = plain ACT), "
                             f"got {self.jepa_weight}")
        if self.latent_loss not in LATENT_LOSSES:
            raise ValueError(f"latent_loss must be one of {LATENT_LOSSES}, got {self.latent_loss!r}")
        if not 0.0 <= self.predictor_dropout < 1.0:
            raise ValueError(f"predictor_dropout must lie in [0, 1), got {self.predictor_dropout}")
        if not 0.0 <= self.tau_start < 1.0:
            raise ValueError(f"tau_start must lie in [0, 1) (I-JEPA: 0.996), got {self.tau_start}")
        if not 0.0 <= self.tau_end <= 1.0:
            raise ValueError(f"tau_end must lie in [0, 1] (I-JEPA: 1.0), got {self.tau_end}")
        if self.tau_fixed is not None and not 0.0 <= self.tau_fixed < 1.0:
            raise ValueError(f"tau_fixed must be None (cosine schedule) or lie in [0, 1), "
                             f"got {self.tau_fixed}")


class ACTJEPAMLPTargetPolicy(ACTPolicy):
    """ACT (``ACTPolicy``) + predictor of future observation latents + EMA target encoder."""

    cfg: ACTJEPAMLPTargetConfig

    def __init__(self, cfg: ACTJEPAMLPTargetConfig):
        super().__init__(cfg)  # ACT's modules first: identical initial weights for a seed
        d, n = cfg.d_model, cfg.obs_chunk
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.normal_(self.mask_token, std=0.02)
        self.future_pos = nn.Parameter(torch.zeros(1, n, d))
        nn.init.normal_(self.future_pos)
        self.predictor = decoder_stack(d, cfg.n_heads, cfg.predictor_layers, cfg.predictor_ff,
                                       cfg.predictor_dropout)
        self.latent_head = nn.Linear(d, self.encoder.out_dim)
        xavier_(self.predictor)
        self.ema_encoder: nn.Module | None = None
        if cfg.ema:
            self.ema_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self._ema_steps = 0  # optimiser steps seen by after_step (kept in the state_dict)

    # -- JEPA pieces ---------------------------------------------------------------------
    @property
    def target_encoder(self) -> nn.Module:
        """The encoder of the targets: the EMA copy, or the online encoder when ema=False
        (then the stop-gradient of ``target_latents`` is the only asymmetry)."""
        return self.ema_encoder if self.ema_encoder is not None else self.encoder

    def predict_latents(self, memory: Tensor) -> Tensor:
        """Predicted latents of o_{t+1..t+n}, (B, n, D), from the policy memory (B, 2, d)."""
        queries = (self.mask_token + self.future_pos).expand(memory.shape[0], -1, -1)
        return self.latent_head(self.predictor(queries, memory))

    @torch.no_grad()
    def target_latents(self, future_obs: Tensor) -> Tensor:
        """sg(target_encoder(o_{t+j})) for standardised ``future_obs`` (B, N, O) -> (B, N, D)."""
        if future_obs.dim() != 3 or future_obs.shape[-1] != self.cfg.obs_dim:
            raise ValueError(f"future_obs must have shape (B, N, {self.cfg.obs_dim}), got "
                             f"{tuple(future_obs.shape)}")
        return self.target_encoder(future_obs)

    @torch.no_grad()
    def predict_future(self, obs: Tensor, actions: Tensor | None = None,
                       action_pad: Tensor | None = None) -> Tensor:
        """Predicted latents (B, n, D) of the next n observations from ``obs`` (B, To, O).

        z = 0 (the prior mean, as at test time) unless ``actions`` (B, k, A) are given, in
        which case z is the posterior mean of the CVAE encoder, as in training minus noise.
        Call in eval mode for a deterministic answer.
        """
        self.check_obs(obs)
        o_t = obs[:, -1]
        if actions is None:
            z = o_t.new_zeros(o_t.shape[0], self.cfg.latent_dim)
        else:
            pad = action_pad if action_pad is not None else actions.new_zeros(actions.shape[:2])
            z = self.posterior(o_t, actions, pad)[0]
        return self.predict_latents(self.context(o_t, z))

    def latent_term(self, memory: Tensor, future_obs: Tensor, future_pad: Tensor) -> Tensor:
        """Mean over non-padded future steps of the distance (``cfg.latent_loss``) between
        P(memory)_j and sg(target(o_{t+j}))."""
        n = self.cfg.obs_chunk
        if future_obs.shape[1] != n or future_pad.shape != future_obs.shape[:2]:
            raise ValueError(f"future_obs must be (B, {n}, O) and future_pad (B, {n}), got "
                             f"{tuple(future_obs.shape)} and {tuple(future_pad.shape)}: "
                             f"check obs_chunk")
        pred = self.predict_latents(memory)
        target = self.target_latents(future_obs)
        if self.cfg.latent_loss == "l1":
            per_step = (pred - target).abs().mean(-1)
        else:
            per_step = (pred - target).pow(2).sum(-1)
        return masked_mean(per_step, future_pad)

    # -- the interface of methods.base ---------------------------------------------------
    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """ACT's loss + jepa_weight * latent loss; logs loss, l1, kl and latent.

        With jepa_weight == 0 the branch is skipped (no compute, no random draws): ACT.
        """
        with self.own_noise(batch["obs"].device):  # one stream, ACT's draws first
            loss, logs, memory = self.act_terms(batch)
            if self.cfg.jepa_weight > 0:
                latent = self.latent_term(memory, batch["future_obs"], batch["future_pad"])
                loss = loss + self.cfg.jepa_weight * latent
                logs["loss"] = loss.detach()
                logs["latent"] = latent.detach()
        return loss, logs

    def tau(self, step: int) -> float:
        """EMA momentum after optimiser step ``step`` (0-based): ``tau_fixed``, else the
        cosine schedule of ``training.cosine_tau_schedule`` (``tau_end`` past its end)."""
        cfg = self.cfg
        if cfg.tau_fixed is not None:
            return cfg.tau_fixed
        if step >= cfg.steps:
            return cfg.tau_end
        return next(cosine_tau_schedule(cfg.tau_start, cfg.tau_end, cfg.steps, start=step))

    def after_step(self) -> dict[str, float]:
        """EMA update of the target encoder (I-JEPA: after every optimiser step).

        Returns ``{"tau": tau}``; NaN without EMA (the target is then the online encoder).
        It runs whatever ``jepa_weight``: it never touches ACT's weights, and with
        jepa_weight = 0 it keeps ``target_latents`` meaningful for the chapter's plots.
        """
        if self.ema_encoder is None:
            return {"tau": math.nan}
        tau = self.tau(self._ema_steps)
        ema_update(self.ema_encoder, self.encoder, tau)
        self._ema_steps += 1
        return {"tau": tau}

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the EMA target's."""
        frozen = ({id(p) for p in self.ema_encoder.parameters()}
                  if self.ema_encoder is not None else set())
        return [p for p in self.parameters() if id(p) not in frozen]

    # the EMA step counter travels with the weights too: a resumed run continues the schedule
    def get_extra_state(self) -> dict[str, Any]:
        return {**super().get_extra_state(), "ema_steps": self._ema_steps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        super().set_extra_state(state)
        self._ema_steps = int(state["ema_steps"])
