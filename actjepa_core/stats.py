"""Small statistics helpers for reporting success rates.

Success rates in the book come from a few hundred episodes at most, often near 0% or
100%, where the normal-approximation interval ``p +- z sqrt(p(1-p)/n)`` collapses to a
zero-width interval. The Wilson score interval stays inside [0, 1] and keeps a sensible
width at the extremes, so it is the one every table uses.
"""

from __future__ import annotations

import math

import numpy as np


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    ``z`` is the standard-normal quantile of the two-sided level (1.96 for 95%). The
    bounds are ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with
    ``p = successes / n``. Raises ``ValueError`` when ``n < 1``, ``successes`` is outside
    ``[0, n]`` or ``z`` is not positive.
    """
    if n < 1:
        raise ValueError(f"need at least one trial, got n={n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}")
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denom = 1 + z2 / n
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)
"""Two-sided 95% quantiles of Student's t for 1..20 degrees of freedom; 1.96 beyond."""


def t975(dof: int) -> float:
    """Two-sided 95% quantile of Student's t with ``dof`` degrees of freedom (>= 1)."""
    if dof < 1:
        raise ValueError(f"need at least one degree of freedom, got {dof}")
    return T975[dof - 1] if dof <= len(T975) else 1.96


def mean_ci(successes: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """Mean success rate over training seeds and its 95% confidence interval.

    Each training seed contributes one success rate ``successes[i] / counts[i]``; the mean
    of those rates gets a Student-t interval over seeds, which carries the variation
    between training runs. That interval is then widened, if needed, to contain the Wilson
    interval of all episodes pooled, so it is never narrower than what the finite number of
    episodes allows (five seeds that all score 100% still get a lower bound below 1).
    A single seed gets the Wilson interval alone.
    """
    successes, counts = np.asarray(successes, float), np.asarray(counts, float)
    if successes.shape != counts.shape or successes.ndim != 1 or len(counts) == 0:
        raise ValueError("successes and counts must be 1-d arrays of the same, non-zero length")
    if (counts < 1).any() or (successes < 0).any() or (successes > counts).any():
        raise ValueError("each seed needs counts >= 1 and 0 <= successes <= counts")
    rates = successes / counts
    mean = float(rates.mean())
    lo, hi = wilson_interval(int(successes.sum()), int(counts.sum()))
    if len(rates) > 1:
        half = t975(len(rates) - 1) * float(rates.std(ddof=1)) / math.sqrt(len(rates))
        lo, hi = min(lo, max(0.0, mean - half)), max(hi, min(1.0, mean + half))
    return mean, lo, hi


def hierarchical_mean_ci(rates: np.ndarray, episodes: int, seed: int = 0,
                         resamples: int = 4000) -> tuple[float, float, float]:
    """Mean over groups (tasks) and training seeds of success rates, with a 95% interval from
    a hierarchical bootstrap.

    ``rates`` is (seeds, groups): each training seed's success rate on each group over
    ``episodes`` episodes. A resample draws the training seeds with replacement, then, for
    each drawn seed and group, its episodes with replacement; for success/failure episodes
    the second draw is exactly a binomial of ``episodes`` trials at that cell's rate, which
    is how it is drawn here. The mean over groups is taken per resample; the interval is the
    central 95% of those means. It carries both the variation between training runs and the
    finite episodes; with few seeds it is rough (the seed draw has few distinct outcomes).
    """
    rates = np.asarray(rates, float)
    if rates.ndim != 2 or rates.size == 0:
        raise ValueError(f"rates must be a non-empty (seeds, groups) array, got shape {rates.shape}")
    if episodes < 1 or not ((0 <= rates) & (rates <= 1)).all():
        raise ValueError("need episodes >= 1 and every rate in [0, 1]")
    rng = np.random.default_rng(seed)
    pick = rng.integers(rates.shape[0], size=(resamples, rates.shape[0]))
    drawn = rng.binomial(episodes, rates[pick]) / episodes
    lo, hi = np.percentile(drawn.mean(axis=(1, 2)), [2.5, 97.5])
    return float(rates.mean()), float(lo), float(hi)
