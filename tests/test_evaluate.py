"""Evaluation without a simulator: what ``evaluate_policy`` hands to the rollout loop and how it
turns the loop's result into rows, and ``summarize``'s numbers on hand-made rows.

The rollouts themselves (MuJoCo, batching invariance) are tested in test_policies.py and
test_rollout.py; here ``run_episodes`` is replaced by a fake that records its call, so each
test runs in milliseconds and checks exact values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from actjepa_core import evaluate
from actjepa_core.data import NormStats
from actjepa_core.envs import add_sensor_noise, get_task
from actjepa_core.evaluate import evaluate_policy, summarize
from actjepa_core.rollout import Rollouts
from actjepa_core.seeds import episode_seeds
from actjepa_core.stats import mean_ci, wilson_interval

REACH = get_task("reach")
STATS = NormStats(mean=np.zeros(REACH.obs_dim, np.float32),
                  std=np.linspace(0.5, 2.0, REACH.obs_dim).astype(np.float32))


def policy(obs: np.ndarray) -> np.ndarray:
    return np.zeros((len(obs), REACH.action_dim), np.float32)


@pytest.fixture
def fake_rollouts(monkeypatch):
    """Replace ``run_episodes`` in evaluate; the returned dict holds the last call's arguments
    and the torch settings the policy would have run under."""
    calls: dict = {}

    def fake(task, pol, seeds, num_envs=16, observe=None, action_noise=0.0, noise_seed=0,
             progress=False):
        seeds = np.asarray(seeds, np.int64)
        calls.update(task=task, policy=pol, seeds=seeds, num_envs=num_envs, observe=observe,
                     noise_seed=noise_seed, progress=progress,
                     threads=torch.get_num_threads(),
                     deterministic=torch.are_deterministic_algorithms_enabled())
        e = len(seeds)
        success = np.arange(e) % 3 == 0  # episodes 0, 3, 6, ... succeed
        return Rollouts(obs=np.zeros((e, 2, REACH.obs_dim), np.float32),
                        actions=np.zeros((e, 1, REACH.action_dim), np.float32),
                        rewards=np.zeros((e, 1), np.float32), success=success, seeds=seeds)

    monkeypatch.setattr(evaluate, "run_episodes", fake)
    return calls


def test_rows_are_one_per_episode_on_the_evaluation_seeds(fake_rollouts):
    """Catches rows built from the wrong episodes, labels or success type."""
    rows = evaluate_policy("reach", policy, 4, STATS, sigma=0.3, noise_seed=7, num_envs=2,
                           label="nn", seed=5, progress="eval")
    expected = pd.DataFrame({
        "task": "reach", "label": "nn", "seed": 5, "sigma": 0.3, "episode": np.arange(4),
        "env_seed": episode_seeds("evaluation", 4), "success": [1.0, 0.0, 0.0, 1.0]})
    pd.testing.assert_frame_equal(rows, expected)
    np.testing.assert_array_equal(fake_rollouts["seeds"], episode_seeds("evaluation", 4))
    assert fake_rollouts["task"] == "reach" and fake_rollouts["policy"] is policy
    assert (fake_rollouts["num_envs"], fake_rollouts["noise_seed"], fake_rollouts["progress"]) \
        == (2, 7, "eval")


def test_defaults_are_clean_quiet_and_labelled_zero(fake_rollouts):
    """Catches a changed default: noise on by default, another noise seed, another training seed
    label, a progress bar by default."""
    rows = evaluate_policy("reach", policy, 3, STATS)
    assert fake_rollouts["observe"] is None  # clean: the policy sees the env's observation
    assert fake_rollouts["noise_seed"] == 0 and fake_rollouts["progress"] is False
    assert (rows.sigma == 0.0).all() and (rows.seed == 0).all() and (rows.label == "").all()


def test_a_single_episode_is_enough_and_zero_is_refused(fake_rollouts):
    """Catches the lower bound on ``n_episodes`` moved by one either way."""
    assert len(evaluate_policy("reach", policy, 1, STATS)) == 1
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_policy("reach", policy, 0, STATS)


def test_sigma_zero_passes_no_noise_and_small_sigma_adds_sensor_noise(fake_rollouts):
    """Catches the noise switch moved (``sigma >= 0`` or ``sigma > 1``): σ = 0 must install no
    observation transform, σ = 0.05 must add exactly ``add_sensor_noise``'s draws."""
    evaluate_policy("reach", policy, 2, STATS, sigma=0.0)
    assert fake_rollouts["observe"] is None
    evaluate_policy("reach", policy, 2, STATS, sigma=0.05)
    observe = fake_rollouts["observe"]
    assert observe is not None
    obs = np.ones((2, REACH.obs_dim), np.float32)
    rngs = lambda: [np.random.default_rng(i) for i in range(2)]  # noqa: E731
    seen = observe(obs, rngs())
    np.testing.assert_array_equal(seen, add_sensor_noise(obs, 0.05, STATS.std, REACH.layout, rngs()))
    goal = REACH.layout["goal"]
    np.testing.assert_array_equal(seen[:, goal], obs[:, goal])
    assert (seen[:, REACH.layout.sensor_mask] != 1).all()


def test_policy_runs_with_one_torch_thread_and_settings_are_restored(fake_rollouts):
    """Catches another thread count during evaluation (the second thread only waits on the
    simulator, see train.py) and settings leaking out of the call."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluate_policy("reach", policy, 2, STATS)
        assert fake_rollouts["threads"] == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def _rows(task: str, sigma: float, per_seed: list[list[int]]) -> pd.DataFrame:
    """Rows of one (task, method, sigma) group: ``per_seed[i]`` is seed i's episode outcomes."""
    return pd.DataFrame([{"task": task, "label": "m", "sigma": sigma, "seed": s, "episode": e,
                          "success": float(v)}
                         for s, outcomes in enumerate(per_seed) for e, v in enumerate(outcomes)])


def test_summarize_one_seed_gives_its_rate_and_wilson_interval():
    """Catches a wrong mean or interval for the single-seed case (3 of 4 episodes)."""
    out = summarize(_rows("reach", 0.0, [[1, 1, 0, 1]]))
    assert len(out) == 1
    row = out.iloc[0]
    assert (row.task, row.label, row.sigma) == ("reach", "m", 0.0)
    assert row.success == 0.75 and (row.seeds, row.episodes) == (1, 4)
    assert (row.ci_low, row.ci_high) == pytest.approx(wilson_interval(3, 4))


def test_summarize_treats_seeds_as_units_and_counts_episodes():
    """Catches pooling episodes instead of averaging per-seed rates: seed 0 scores 1/2, seed 1
    scores 3/3; the mean of rates is 0.75 (pooled would be 0.8)."""
    out = summarize(_rows("push", 0.1, [[1, 0], [1, 1, 1]])).iloc[0]
    assert out.success == pytest.approx(0.75) and (out.seeds, out.episodes) == (2, 5)
    assert (out.success, out.ci_low, out.ci_high) == pytest.approx(mean_ci(np.array([1, 3]),
                                                                           np.array([2, 3])))


def test_summarize_keeps_every_group_in_first_seen_order():
    """Catches groups dropped or sorted: push comes before reach and σ 0.2 before σ 0."""
    rows = pd.concat([_rows("push", 0.2, [[1, 0]]), _rows("push", 0.0, [[1, 1]]),
                      _rows("reach", 0.0, [[0, 0]])], ignore_index=True)
    out = summarize(rows)
    assert list(zip(out.task, out.sigma)) == [("push", 0.2), ("push", 0.0), ("reach", 0.0)]
    assert list(out.success) == [0.5, 1.0, 0.0]
    by_task = summarize(rows, by=["task"])
    assert list(by_task.task) == ["push", "reach"] and list(by_task.episodes) == [4, 2]
    assert list(by_task.columns) == ["task", "success", "ci_low", "ci_high", "seeds", "episodes"]


def test_summarize_names_missing_columns():
    """Catches rows without a seed column being summarised silently."""
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        summarize(_rows("reach", 0.0, [[1]]).drop(columns="seed"))
