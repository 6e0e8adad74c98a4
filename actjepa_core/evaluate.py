"""Success rates of learned policies on held-out episodes, clean or under sensor noise.

Evaluation episodes run on env seeds reserved for evaluation (``seeds.episode_seeds``),
disjoint from the demonstrations'. Results are tidy rows, one per episode:
``task, method, seed, sigma, episode, success``, which ``summarize`` turns into a mean and a
95% confidence interval per group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .data import NormStats
from .envs import add_sensor_noise, get_task
from .rollout import Policy, run_episodes
from .seeds import SPLITS, episode_seeds
from .stats import mean_ci
from .runtime import torch_settings


def evaluate_policy(
    task: str,
    policy: Policy,
    n_episodes: int,
    obs_stats: NormStats,
    sigma: float = 0.0,
    noise_seed: int = 0,
    num_envs: int = 25,
    label: str = "",
    seed: int = 0,
    progress: bool | str = False,
    split: str = "test",
) -> pd.DataFrame:
    """Run ``policy`` for ``n_episodes`` evaluation episodes and return one row per episode.

    With ``sigma > 0`` the policy sees the observation with Gaussian noise of std ``sigma``
    in standardised units (``obs_stats.std``) on the sensor part; the goal stays clean.
    The policy receives *raw* flat observations: standardising is its own business, so a
    policy cannot accidentally be handed statistics other than its training ones.
    Every training seed is evaluated on the same episodes with the same noise draws (per
    episode, from ``noise_seed``), so methods are compared on identical initial states and
    identical noise, whatever ``num_envs`` is. ``split`` picks the block of env seeds: "test"
    (the evaluation seeds behind every reported number) or "validation" (the seeds that choose
    budgets and hyperparameters; disjoint from the test ones).
    """
    spec = get_task(task)
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0 (standardised units), got {sigma}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
    observe = None
    if sigma > 0:
        def observe(obs: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
            return add_sensor_noise(obs, sigma, obs_stats.std, spec.layout, rngs)

    # One torch thread: policy batches are small, and a second thread only waits on the
    # simulator's core (see training.py for the measurements behind the same choice).
    with torch_settings(threads=1, deterministic=False):
        r = run_episodes(task, policy, episode_seeds(SPLITS[split], n_episodes), num_envs=num_envs,
                         observe=observe, noise_seed=noise_seed, progress=progress)
    return pd.DataFrame({
        "task": task, "label": label, "seed": seed, "sigma": sigma,
        "episode": np.arange(n_episodes), "env_seed": r.seeds, "success": r.success.astype(float),
    })


def summarize(rows: pd.DataFrame, by: Sequence[str] = ("task", "label", "sigma")) -> pd.DataFrame:
    """Mean success and 95% CI per group, treating training seeds as the units.

    Each training seed's success rate over its episodes is one sample; see
    ``stats.mean_ci`` for how the interval is formed.
    """
    by = list(by)
    missing = [c for c in [*by, "seed", "success"] if c not in rows.columns]
    if missing:
        raise ValueError(f"rows lack columns {missing}; expected the output of evaluate_policy")
    out = []
    for key, g in rows.groupby(by, sort=False):
        per_seed = g.groupby("seed")["success"].agg(["sum", "count"])
        mean, lo, hi = mean_ci(per_seed["sum"].to_numpy(), per_seed["count"].to_numpy())
        out.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                    "success": mean, "ci_low": lo, "ci_high": hi,
                    "seeds": len(per_seed), "episodes": int(per_seed["count"].sum())})
    return pd.DataFrame(out)
