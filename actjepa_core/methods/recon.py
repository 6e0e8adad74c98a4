"""The ablation "reconstruction in input space instead of the latent loss": ACT-JEPA's
f, h and g, then a decoder to the next observation (an action-conditioned autoencoder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import PredictorConfig
from ..models import RepresentationModel, ActionEncoder, MLPDecoder, Predictor
from ..objectives import reconstruction_loss


@dataclass(kw_only=True)
class ReconConfig(PredictorConfig):
    """ACT-JEPA's encoder, action encoder and predictor (``config.PredictorConfig``), no
    target: the decoder's target is the next observation itself."""

    name: ClassVar[str] = "recon"


class ActionConditionedAE(RepresentationModel):
    """The "reconstruction in input space instead of the latent loss" ablation.

    The same ``f``, ``h`` and ``g`` as ACT-JEPA (built from the same config fields), then a
    decoder back to observation space: ``reconstruction_loss(dec(g(f(o_t), h(a_t))),
    o_{t+1})``, an action-conditioned autoencoder. There is no target encoder: the target is
    the raw next observation.
    """

    def __init__(self, cfg: ReconConfig):
        super().__init__(cfg)
        self.action_encoder = (
            ActionEncoder(cfg.action_dim, cfg.repr_dim, cfg.act_hidden)
            if cfg.action_injection != "none" else None
        )
        self.predictor = Predictor(cfg.repr_dim, cfg.pred_hidden, cfg.pred_depth,
                                   cfg.action_injection)
        self.decoder = MLPDecoder(cfg.repr_dim, cfg.obs_dim, tuple(reversed(cfg.enc_hidden)))

    def predict(self, s: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        """``g(s, h(a))`` (a latent that the decoder maps to the next observation)."""
        e = self.action_encoder(actions) if self.action_encoder is not None else None
        return self.predictor(s, e)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor,
                check: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if check:
            self.check_inputs(obs, actions, next_obs)
        recon = self.decoder(self.predict(self.encoder(obs), actions))
        loss = reconstruction_loss(recon, next_obs)
        return loss, {"loss": loss.detach()}
