"""Tests of the objectives and the collapse monitor."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from actjepa_core.monitor import (CollapseMonitor, CollapseWarning, check_collapse,
                                  embedding_stats, param_drift)
from actjepa_core.objectives import (gaussian_views, info_nce_loss, latent_loss,
                                     reconstruction_loss)


def test_latent_loss_hand_built_2x2():
    pred = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    target = torch.tensor([[0.0, 0.0], [4.0, 0.0]])
    # (1/N) sum_i ||pred_i - target_i||^2 = ((1 + 4) + (16 + 9)) / 2 = 15
    assert latent_loss(pred, target).item() == pytest.approx(15.0)
    # normalised: unit vectors; row 0: (1,2)/sqrt5 vs 0/eps -> target stays 0, so ||.||^2 = 1;
    # row 1: (0,1) vs (1,0) -> 2.  Mean = 1.5
    assert latent_loss(pred, target, normalize=True).item() == pytest.approx(1.5)
    t2 = torch.tensor([[2.0, 0.0], [0.0, -5.0]])
    # row 0: (1,2)/sqrt5 vs (1,0): 2 - 2/sqrt5; row 1: (0,1) vs (0,-1): 4
    expect = ((2 - 2 / math.sqrt(5)) + 4) / 2
    assert latent_loss(pred, t2, normalize=True).item() == pytest.approx(expect)


def test_latent_loss_detaches_target():
    pred = torch.randn(4, 3, requires_grad=True)
    target = torch.randn(4, 3, requires_grad=True)
    latent_loss(pred, target).backward()
    assert pred.grad is not None and target.grad is None
    with pytest.raises(ValueError, match="shape"):
        latent_loss(pred, target[:, :2])


def test_reconstruction_and_info_nce():
    obs = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert reconstruction_loss(obs + 1.0, obs).item() == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=g)
    aligned = info_nce_loss(z, z + 0.01 * torch.randn(16, 8, generator=g), temperature=0.1)
    shuffled = info_nce_loss(z, z[torch.randperm(16, generator=g)], temperature=0.1)
    assert aligned < shuffled
    assert aligned.item() > 0
    v1, v2 = gaussian_views(obs, 0.1, torch.Generator().manual_seed(1))
    assert v1.shape == obs.shape and not torch.equal(v1, v2)
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(z, z, temperature=0.0)


def test_monitor_flags_constant_and_rank_one_outputs():
    d = 64
    const = torch.ones(256, d) * 3.0
    with pytest.warns(CollapseWarning, match="collapsed"):
        s = check_collapse(const, "const")
    assert s["collapsed"] == 1.0 and s["std"] < 1e-6 and s["erank"] == 0.0
    assert s["cos"] == pytest.approx(1.0)

    g = torch.Generator().manual_seed(0)
    rank1 = torch.randn(256, 1, generator=g) * torch.randn(1, d, generator=g) + 5.0
    with pytest.warns(CollapseWarning, match="effective rank"):
        s = check_collapse(rank1, "rank1")
    assert s["collapsed"] == 1.0 and s["erank"] < 1.01


def test_monitor_passes_healthy_random_embeddings():
    d = 64
    z = torch.randn(1024, d, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseWarning)
        s = check_collapse(z)
    assert s["collapsed"] == 0.0
    assert s["std"] == pytest.approx(1 / math.sqrt(d), rel=0.05)
    assert s["erank"] > 0.8 * d
    assert abs(s["cos"]) < 0.01


def test_embedding_stats_rejects_bad_shape():
    with pytest.raises(ValueError, match="N >= 2"):
        embedding_stats(torch.randn(1, 4))


def test_param_drift_and_monitor_keys():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        for p in a.parameters():
            p.fill_(1.0)
        for p in b.parameters():
            p.fill_(3.0)
    # ||b - a|| / ||a|| = 2
    assert param_drift(a, b) == pytest.approx(2.0)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Linear(5, 16)
            self.target_net = self.encoder

    out = CollapseMonitor(torch.randn(64, 5), warn=False)(Tiny())
    assert {"online_std", "online_erank", "online_cos", "target_std", "drift"} <= set(out)
    assert out["drift"] == 0.0


# ------------------------------------------------- exact values that kill the mutants seen
def test_info_nce_exact_on_two_orthogonal_pairs():
    """z = [e1, e2] in both views: each anchor's positive has logit 1/T, its two negatives 0,
    and itself is excluded (removing the -inf diagonal adds e^{1/T} to the denominator)."""
    z = torch.eye(2)
    T = 0.5
    expected = -math.log(math.exp(1 / T) / (math.exp(1 / T) + 2))
    assert info_nce_loss(z, z.clone(), temperature=T).item() == pytest.approx(expected, rel=1e-6)


def test_latent_loss_normalises_each_row_not_each_column():
    pred = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    target = torch.tensor([[6.0, 8.0], [3.0, 0.0]])  # rows proportional, columns not
    assert latent_loss(pred, target, normalize=True).item() == pytest.approx(0.0, abs=1e-7)
    assert latent_loss(pred, target).item() == pytest.approx((9 + 16 + 4) / 2)


def test_variance_covariance_exact_with_a_dead_dimension():
    from actjepa_core.objectives import variance_covariance_loss

    z = torch.tensor([[0.0, 1.0], [0.0, -1.0]])  # var (0, 2), covariance 0
    expected = (1 - math.sqrt(1e-4)) / 2  # the hinge of the dead dimension, eps = 1e-4
    assert variance_covariance_loss(z).item() == pytest.approx(expected, abs=1e-7)
    w = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # var (2, 2), C_01 = 2: c = 2 * 2^2 / 2
    assert variance_covariance_loss(w).item() == pytest.approx(4.0, abs=1e-6)


def test_gaussian_views_add_noise_of_std_sigma():
    obs = torch.zeros(4000, 4)
    v1, v2 = gaussian_views(obs, 0.1, torch.Generator().manual_seed(0))
    for v in (v1, v2):
        assert v.std().item() == pytest.approx(0.1, rel=0.05)


def test_embedding_stats_exact_on_hand_built_batches():
    square = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    s = embedding_stats(square)
    assert s["std"] == pytest.approx(math.sqrt(2 / 3))  # per dim (1, 0, -1, 0), unbiased
    assert s["erank"] == pytest.approx(2.0)
    assert s["cos"] == pytest.approx(-1 / 3)  # (|sum|^2 - n) / (n (n - 1)) = -4 / 12
    oblong = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    p = torch.tensor([2 / 3, 1 / 3])  # singular values sqrt(8), sqrt(2)
    assert embedding_stats(oblong)["erank"] == pytest.approx(float(torch.exp(-(p * p.log()).sum())))
    shifted = oblong + torch.tensor([5.0, -3.0])  # the rank is of the centred batch
    assert embedding_stats(shifted)["erank"] == pytest.approx(embedding_stats(oblong)["erank"])


def test_rank_exactly_two_is_not_collapse_and_one_observation_is_refused():
    from actjepa_core.monitor import is_collapsed

    assert not is_collapsed({"std": 1.0, "erank": 2.0}, 4)
    with pytest.raises(ValueError, match="at least 2 observations"):
        CollapseMonitor(torch.zeros(1, 3))


def test_monitor_reads_in_eval_mode_and_restores_the_mode():
    from types import SimpleNamespace

    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(3, 8))
    model = SimpleNamespace(encoder=enc, target_net=enc)
    mon = CollapseMonitor(torch.randn(32, 3), warn=False)
    enc.train()
    first, second = mon(model), mon(model)
    assert first == second, "dropout must be off while the monitor reads"
    assert enc.training, "the caller's mode is restored"


def test_embedding_stats_accept_two_rows():
    """Catches ``N >= 2`` tightened to ``N >= 3``: two embeddings e1, -e1 have erank 1 (one
    centred direction), per-dimension std (sqrt 2, 0) averaged, and cosine -1."""
    s = embedding_stats(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
    assert s == pytest.approx({"std": math.sqrt(2) / 2, "erank": 1.0, "cos": -1.0})


def test_a_spread_below_rounding_of_the_embeddings_scale_is_no_spread():
    """Catches the "all equal" threshold made absolute or divided by the scale: rows that share
    a coordinate of 1e6 and differ by 2e-9 elsewhere differ by far less than float32 can
    resolve at that scale, so they count as equal (erank 0), not as a rank-one spread."""
    z = torch.tensor([[1e6, 1e-9], [1e6, -1e-9], [1e6, 1e-9], [1e6, -1e-9]])
    assert embedding_stats(z)["erank"] == 0.0
    assert embedding_stats(z - torch.tensor([1e6, 0.0]))["erank"] == pytest.approx(1.0)


def test_collapse_warning_points_at_the_caller():
    """Catches the warning's ``stacklevel`` changed: it must name the line that called
    ``check_collapse`` (here, this file), not check_collapse itself or pytest's machinery."""
    with pytest.warns(CollapseWarning) as record:
        check_collapse(torch.ones(8, 4), "const")
    assert [w.filename for w in record] == [__file__]


def test_info_nce_default_temperature_is_a_tenth():
    """Catches the default temperature changed (SimCLR's 0.1 is the contrastive baseline's)."""
    z = torch.eye(2)
    expected = -math.log(math.exp(10) / (math.exp(10) + 2))  # about 9.08e-5; at T = 0.01, 7e-44
    assert info_nce_loss(z, z.clone()).item() == pytest.approx(expected, rel=1e-2)  # float32
