"""The article's contrastive baseline (SimCLR-style): two noisy views of one observation
made to agree, every other observation of the batch a negative."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import RepresentationConfig
from ..models import RepresentationModel, mlp
from ..objectives import gaussian_views, info_nce_loss


@dataclass(kw_only=True)
class ContrastiveConfig(RepresentationConfig):
    """The encoder's fields and the two of the views and the loss."""

    name: ClassVar[str] = "contrastive"

    view_noise: float = 0.1
    """Std of the Gaussian noise making each view, in standardised units."""
    temperature: float = 0.1
    """Temperature of the InfoNCE (NT-Xent) loss."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (math.isfinite(self.view_noise) and self.view_noise > 0):
            raise ValueError(f"view_noise must be positive (identical views make the contrastive "
                             f"task trivial), got {self.view_noise}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be positive, got {self.temperature}")


class ContrastiveModel(RepresentationModel):
    """SimCLR-style baseline: two Gaussian-noise views of ``o_t`` (std ``cfg.view_noise``),
    ``f`` then a projection head ``p`` (2-layer MLP D -> D -> D, as in SimCLR), and
    ``info_nce_loss(p(f(v1)), p(f(v2)), cfg.temperature)``. The representation used
    downstream is ``f(o)``, before the projection head (SimCLR's choice).

    On frames the views are the same Gaussian noise, per pixel in standardised units (our
    choice, so that states and pixels share one baseline; SimCLR itself crops and
    colour-jitters images). With ``cfg.augment`` the encoder also shifts each view."""

    draws_views = True
    """``forward`` takes the generator of its views (``pretrain`` seeds one for the run)."""

    def __init__(self, cfg: ContrastiveConfig):
        super().__init__(cfg)
        self.projector = mlp(cfg.repr_dim, (cfg.repr_dim,), cfg.repr_dim)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor | None = None,
                next_obs: torch.Tensor | None = None, check: bool = True,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``generator`` draws the view noise (seeded by the training loop)."""
        if check:
            self.check_inputs(obs)
        v1, v2 = gaussian_views(obs, self.cfg.view_noise, generator)
        z = self.projector(self.encoder(torch.cat([v1, v2], dim=0)))  # one pass for both views
        n = obs.shape[0]
        loss = info_nce_loss(z[:n], z[n:], self.cfg.temperature)
        return loss, {"loss": loss.detach()}
