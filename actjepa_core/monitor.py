"""Collapse monitoring: is the representation still spread out, or has it shrunk to a point?

A JEPA can minimise its loss by mapping every observation to the same vector. Three figures
of a batch of embeddings ``z`` (N, D) reveal it:

- ``std``: per-dimension standard deviation across the batch of the l2-normalised
  embeddings, averaged over dimensions. Unit vectors spread evenly over the sphere have
  coordinates of variance 1/D, so a healthy value is near ``1/sqrt(D)``; collapse -> 0.
  Normalising first makes the figure blind to the overall scale of the embeddings.
- ``erank``: effective rank (Roy & Vetterli, 2007) of the *centred* embeddings,
  ``exp(H(p))`` with ``p_k = sigma_k / sum_j sigma_j`` the normalised singular values;
  between 1 and min(N, D), and 0 here by convention when all embeddings are equal. Centring
  keeps a large common offset from hiding the spread around it.
- ``cos``: mean cosine similarity over pairs of distinct rows; -> 1 when everything points
  the same way (reported, not used to flag: an MLP's embeddings share a mean direction even
  when healthy).
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

STD_COLLAPSE_FRACTION = 0.1
"""Flag collapse when ``std < STD_COLLAPSE_FRACTION / sqrt(D)`` (a tenth of the healthy value)."""
ERANK_COLLAPSE = 2.0
"""Flag collapse when the effective rank falls below this (the embeddings lie near a line)."""


class CollapseWarning(UserWarning):
    """Warned when a representation looks collapsed."""


@torch.no_grad()
def embedding_stats(z: torch.Tensor, eps: float = 1e-12) -> dict[str, float]:
    """``std``, ``erank`` and ``cos`` of a batch of embeddings ``z`` of shape (N, D), N >= 2."""
    if z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(f"embeddings must have shape (N, D) with N >= 2, got {tuple(z.shape)}")
    z = z.detach().float()
    n = z.shape[0]
    zn = z / z.norm(dim=1, keepdim=True).clamp_min(eps)
    std = zn.std(dim=0).mean()
    sv = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))
    total = sv.sum()
    if total <= eps * max(1.0, float(z.abs().max())):
        erank = torch.zeros(())
    else:
        p = sv / total
        p = p[p > 0]
        erank = torch.exp(-(p * p.log()).sum())
    s = zn.sum(dim=0)
    cos = (s @ s - (zn * zn).sum()) / (n * (n - 1))
    return {"std": float(std), "erank": float(erank), "cos": float(cos)}


def is_collapsed(stats: dict[str, float], dim: int) -> list[str]:
    """Reasons (empty list = healthy) why ``stats`` of a D=``dim`` representation look collapsed."""
    reasons = []
    limit = STD_COLLAPSE_FRACTION / math.sqrt(dim)
    if stats["std"] < limit:
        reasons.append(f"std {stats['std']:.2e} < {limit:.2e}")
    if stats["erank"] < ERANK_COLLAPSE:
        reasons.append(f"effective rank {stats['erank']:.2f} < {ERANK_COLLAPSE}")
    return reasons


def check_collapse(z: torch.Tensor, name: str = "encoder", warn: bool = True) -> dict[str, float]:
    """``embedding_stats`` plus ``collapsed`` (1.0/0.0); warns ``CollapseWarning`` if collapsed."""
    stats = embedding_stats(z)
    reasons = is_collapsed(stats, z.shape[1])
    stats["collapsed"] = float(bool(reasons))
    if reasons and warn:
        warnings.warn(f"{name} representation looks collapsed: {'; '.join(reasons)}",
                      CollapseWarning, stacklevel=2)
    return stats


@torch.no_grad()
def param_drift(online: nn.Module, target: nn.Module) -> float:
    """Relative l2 distance ``||theta - theta_bar|| / ||theta||`` of the flattened parameters."""
    po, pt = list(online.parameters()), list(target.parameters())
    if len(po) != len(pt):
        raise ValueError("online and target modules have different parameter lists")
    diff = torch._foreach_sub([p.detach() for p in pt], [p.detach() for p in po])
    num = torch.stack(torch._foreach_norm(diff)).norm()
    den = torch.stack(torch._foreach_norm([p.detach() for p in po])).norm()
    return float(num / den.clamp_min(1e-12))


class CollapseMonitor:
    """Watches a model's online and target encoders on one fixed batch of observations.

    A fixed batch makes readings comparable across steps. ``__call__(model)`` returns a
    flat dict (``online_std``, ``online_erank``, ``online_cos``, ``online_collapsed``, the
    same with ``target_``, and ``drift``) ready to be a row of the training history.
    """

    def __init__(self, obs: torch.Tensor, warn: bool = True):
        if obs.dim() < 2 or obs.shape[0] < 2:
            raise ValueError(f"the monitor batch needs at least 2 observations, got {tuple(obs.shape)}")
        self.obs = obs
        self.warn = warn

    @torch.no_grad()
    def __call__(self, model: nn.Module) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, net in (("online", model.encoder), ("target", model.target_net)):
            was_training = net.training
            net.eval()
            stats = check_collapse(net(self.obs), f"{name} encoder", warn=self.warn)
            net.train(was_training)
            out.update({f"{name}_{k}": v for k, v in stats.items()})
        out["drift"] = param_drift(model.encoder, model.target_net)
        return out
