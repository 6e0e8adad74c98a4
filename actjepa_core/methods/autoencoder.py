"""The article's autoencoder baseline: the encoder trained to reconstruct its own input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import RepresentationConfig
from ..models import RepresentationModel, MLPDecoder
from ..objectives import reconstruction_loss


@dataclass(kw_only=True)
class AutoencoderConfig(RepresentationConfig):
    """The autoencoder has the encoder's fields only (its decoder mirrors the encoder)."""

    name: ClassVar[str] = "autoencoder"


class Autoencoder(RepresentationModel):
    """Autoencoder baseline: ``reconstruction_loss(decoder(f(o_t)), o_t)``.

    The decoder mirrors the encoder (hidden widths reversed). Actions and ``o_{t+1}`` are
    accepted by ``forward`` for a uniform interface and ignored.
    """

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__(cfg)
        self.decoder = MLPDecoder(cfg.repr_dim, cfg.obs_dim, tuple(reversed(cfg.enc_hidden)))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor | None = None,
                next_obs: torch.Tensor | None = None, check: bool = True
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if check:
            self.check_inputs(obs)
        loss = reconstruction_loss(self.decoder(self.encoder(obs)), obs)
        return loss, {"loss": loss.detach()}
