"""Training objectives: the ACT-JEPA latent loss and the baselines' pretraining losses.

- ACT-JEPA: ``latent_loss(g(f(o_t), h(a_t)), f_bar(o_{t+1}))``.
- Passive latent prediction (the V-JEPA-style baseline and the "no action conditioning"
  ablation): the *same* ``latent_loss``, with a predictor built with
  ``action_injection="none"``; no separate function is needed.
- Autoencoder baseline: ``reconstruction_loss(decoder(f(o)), o)``.
- Contrastive baseline: ``info_nce_loss(f(view1), f(view2))`` with two noisy views of the
  same observations (``gaussian_views``).
- Remedy against collapse (optional, ``JEPAConfig.vc_weight``): the VICReg variance and
  covariance terms on the online embeddings, ``variance_covariance_loss(f(o_t))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def latent_loss(pred: torch.Tensor, target: torch.Tensor, normalize: bool = False,
                eps: float = 1e-6) -> torch.Tensor:
    """ACT-JEPA loss ``(1/N) sum_i || pred_i - sg[target_i] ||_2^2``.

    Reduction, exactly as in the article's formula: squared differences are **summed over the
    D dimensions** and **averaged over the N rows** of the batch. (The article's reference code
    writes ``((a - b) ** 2).mean()``, which also averages over D, i.e. is this value / D.)

    ``target`` is detached here, so the stop-gradient holds whoever computes the target.
    With ``normalize=True`` both vectors are first projected on the unit sphere; the loss is
    then ``(1/N) sum_i (2 - 2 cos(pred_i, target_i))``, in [0, 4].
    """
    if pred.shape != target.shape or pred.dim() != 2:
        raise ValueError(
            f"pred and target must both have shape (N, D), got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
    target = target.detach()
    if normalize:
        pred = F.normalize(pred, dim=-1, eps=eps)
        target = F.normalize(target, dim=-1, eps=eps)
    return (pred - target).pow(2).sum(dim=-1).mean()


def reconstruction_loss(recon: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """Autoencoder loss: mean squared error between ``decoder(f(obs))`` and ``obs``.

    Reduction: mean over the batch **and** over the O observation dimensions (plain MSE,
    ``F.mse_loss``), so its scale does not depend on the observation width.
    """
    if recon.shape != obs.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and obs {tuple(obs.shape)} differ in shape")
    return F.mse_loss(recon, obs)


def info_nce_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent loss for two views ``z1[i]``, ``z2[i]`` of the same observation i.

    The 2N embeddings are l2-normalised; for each one, its other view is the positive and the
    remaining 2N - 2 embeddings are negatives; cross-entropy over cosine similarities divided
    by ``temperature``, averaged over the 2N anchors.
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(
            f"z1 and z2 must both have shape (N, D), got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if z1.shape[0] < 2:
        raise ValueError("info_nce_loss needs at least 2 pairs (the negatives come from the batch)")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=-1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))  # an embedding is not its own negative
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, positives)


def gaussian_views(obs: torch.Tensor, sigma: float, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently noised copies ``obs + sigma * eps`` of a batch (the contrastive views)."""
    noise = torch.randn((2, *obs.shape), generator=generator, device=obs.device, dtype=obs.dtype)
    return obs + sigma * noise[0], obs + sigma * noise[1]


def variance_covariance_loss(z: torch.Tensor, target_std: float = 1.0, eps: float = 1e-4
                             ) -> torch.Tensor:
    """VICReg's variance + covariance regulariser (Bardes, Ponce & LeCun, ICLR 2022) of a
    batch of embeddings ``z`` (N, D), N >= 2, without VICReg's term weights:

        v(z) = (1/D) sum_j max(0, target_std - sqrt(Var(z_j) + eps))
        c(z) = (1/D) sum_{i != j} C_ij^2,   C = (z - mean)^T (z - mean) / (N - 1)
        loss = v(z) + c(z)  >= 0

    ``Var`` is the unbiased per-dimension variance (the diagonal of ``C``). The hinge keeps
    every dimension's spread at least ``target_std`` (no collapse to a point); the
    covariance term decorrelates dimensions (no collapse to a low-dimensional subspace).
    It is 0 exactly for a batch whose dimensions are uncorrelated with std >= target_std.
    """
    if z.dim() != 2 or z.shape[0] < 2:
        raise ValueError(f"embeddings must have shape (N, D) with N >= 2, got {tuple(z.shape)}")
    n, d = z.shape
    zc = z - z.mean(dim=0, keepdim=True)
    cov = zc.T @ zc / (n - 1)
    var = torch.diagonal(cov)
    v = F.relu(target_std - torch.sqrt(var + eps)).mean()
    c = (cov - torch.diag(var)).pow(2).sum() / d  # off-diagonal entries only, exactly
    return v + c
