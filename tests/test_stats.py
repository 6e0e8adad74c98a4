"""Wilson and seed-level intervals against values worked out by hand from their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actjepa_core.stats import mean_ci, t975, wilson_interval

Z = 1.96
Z2 = Z * Z


def test_zero_successes() -> None:
    # p = 0: centre = z²/2n, half = z * sqrt(z²/4n²) = z²/2n -> lower 0, upper (z²/n)/(1+z²/n)
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx((Z2 / 10) / (1 + Z2 / 10))
    assert high == pytest.approx(0.27754, abs=1e-5)


def test_all_successes() -> None:
    # mirror image of 0/10
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(1 / (1 + Z2 / 10))
    assert low == pytest.approx(0.72246, abs=1e-5)
    assert high == pytest.approx(1.0, abs=1e-12)


def test_half() -> None:
    # p = 0.5: centre 0.5 after dividing, half = z sqrt(0.025 + z²/400) / (1 + z²/10)
    low, high = wilson_interval(5, 10)
    half = Z * math.sqrt(0.25 / 10 + Z2 / 400) / (1 + Z2 / 10)
    assert low == pytest.approx(0.5 - half)
    assert high == pytest.approx(0.5 + half)
    assert (low, high) == pytest.approx((0.23659, 0.76341), abs=1e-5)


def test_narrows_with_n_and_contains_p() -> None:
    small = wilson_interval(20, 40)
    big = wilson_interval(200, 400)
    assert small[0] < 0.5 < small[1] and big[0] < 0.5 < big[1]
    assert big[1] - big[0] < small[1] - small[0]


def test_other_z() -> None:
    # a wider level gives a wider interval
    assert wilson_interval(5, 10, z=2.576)[0] < wilson_interval(5, 10)[0]


@pytest.mark.parametrize("successes, n", [(0, 0), (1, 0), (11, 10), (-1, 10)])
def test_bad_counts_raise(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_bad_z_raises() -> None:
    with pytest.raises(ValueError):
        wilson_interval(5, 10, z=0.0)


def test_mean_ci_single_seed_is_the_wilson_interval():
    mean, lo, hi = mean_ci(np.array([5]), np.array([10]))
    assert mean == 0.5 and (lo, hi) == pytest.approx(wilson_interval(5, 10))


def test_mean_ci_over_seeds_uses_t_and_never_collapses():
    mean, lo, hi = mean_ci(np.array([50, 60, 70]), np.array([100, 100, 100]))
    half = t975(2) * np.std([0.5, 0.6, 0.7], ddof=1) / np.sqrt(3)
    assert mean == pytest.approx(0.6) and (lo, hi) == pytest.approx((0.6 - half, 0.6 + half))
    mean, lo, hi = mean_ci(np.array([100] * 5), np.array([100] * 5))
    assert mean == 1.0 and hi == 1.0 and lo == pytest.approx(wilson_interval(500, 500)[0]) and lo < 1


def test_mean_ci_and_t975_refuse_bad_input():
    with pytest.raises(ValueError):
        mean_ci(np.array([3]), np.array([2]))
    with pytest.raises(ValueError):
        mean_ci(np.array([1, 2]), np.array([3]))
    with pytest.raises(ValueError):
        t975(0)
    assert t975(1) == 12.706 and t975(100) == 1.96


def _t_cdf_above_zero(x: float, dof: int, steps: int = 4000) -> float:
    """P(0 < T < x) for Student's t, by Simpson's rule on its density."""
    c = math.gamma((dof + 1) / 2) / (math.sqrt(dof * math.pi) * math.gamma(dof / 2))
    pdf = lambda t: c * (1 + t * t / dof) ** (-(dof + 1) / 2)  # noqa: E731
    h = x / steps
    odd = sum(pdf((2 * i - 1) * h) for i in range(1, steps // 2 + 1))
    even = sum(pdf(2 * i * h) for i in range(1, steps // 2))
    return h / 3 * (pdf(0) + 4 * odd + 2 * even + pdf(x))


@pytest.mark.parametrize("dof", range(1, 21))
def test_t_table_holds_the_975_quantiles(dof) -> None:
    # 2.5% in each tail: half the mass minus 2.5% lies between 0 and the quantile
    assert _t_cdf_above_zero(t975(dof), dof) == pytest.approx(0.475, abs=2e-4)


def test_any_positive_z_is_accepted() -> None:
    assert wilson_interval(5, 10, z=0.5)[0] > wilson_interval(5, 10)[0]
    with pytest.raises(ValueError, match="z must be positive"):
        wilson_interval(5, 10, z=0.0)


def test_wilson_bounds_are_clamped_against_rounding() -> None:
    """Catches a missing or loosened clamp: unclamped, 5/5 gives an upper bound 1 + 2e-16 and
    0/5 a lower bound just below 0 (rounding in ``(centre +- half) / denom``)."""
    assert wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 5)[0] == 0.0


def test_wilson_accepts_a_single_trial() -> None:
    """Catches ``n <= 1`` refused: one trial is a valid (wide) interval, 1/(1 + z²) to 1."""
    low, high = wilson_interval(1, 1)
    assert low == pytest.approx(1 / (1 + Z2)) and high == 1.0


def test_mean_ci_two_seeds_use_the_t_interval_clamped_to_one() -> None:
    """Catches the t interval skipped for two seeds, and its upper end not clamped at 1:
    rates 0.75 and 0.25 give half-width 12.706 * 0.3536 / sqrt(2) = 3.18, far beyond [0, 1]."""
    mean, lo, hi = mean_ci(np.array([3, 1]), np.array([4, 4]))
    assert (mean, lo, hi) == (0.5, 0.0, 1.0)
    # two close seeds: the t interval (0.5 +- 12.706 * 0.01 = 0.5 +- 0.127) is wider than
    # Wilson's of 100/200 (about 0.5 +- 0.069), so it is the one returned
    mean, lo, hi = mean_ci(np.array([49, 51]), np.array([100, 100]))
    half = 12.706 * np.std([0.49, 0.51], ddof=1) / np.sqrt(2)
    assert mean == pytest.approx(0.5) and (lo, hi) == pytest.approx((0.5 - half, 0.5 + half))


def test_mean_ci_accepts_a_seed_with_no_success() -> None:
    """Catches zero successes refused (``successes < 1``): 0/4 and 2/4 are valid seeds."""
    mean, lo, hi = mean_ci(np.array([0, 2]), np.array([4, 4]))
    assert mean == 0.25 and lo == 0.0 and 0.25 < hi <= 1.0


@pytest.mark.parametrize("successes, counts", [([1, 1], [2, 0]), ([-1, 1], [2, 2]),
                                               ([3, 1], [2, 2])])
def test_mean_ci_refuses_each_bad_seed_alone(successes, counts) -> None:
    """Catches the checks joined by ``and``: each bad seed (no episodes, negative successes,
    more successes than episodes) must be refused on its own."""
    with pytest.raises(ValueError, match="each seed needs"):
        mean_ci(np.array(successes), np.array(counts))
