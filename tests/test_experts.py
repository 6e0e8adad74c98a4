"""Scripted experts: they solve their tasks, stay in the action box and reject bad input."""

from __future__ import annotations

import numpy as np
import pytest

from actjepa_core.envs import TASKS, get_task
from actjepa_core.experts import make_expert
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds


@pytest.mark.parametrize("task", sorted(TASKS))
def test_expert_solves_task(task: str) -> None:
    """At least 9 of the 10 test episodes end in success (the full check is the benchmark)."""
    rollouts = run_episodes(task, make_expert(task), episode_seeds("tests", 10), num_envs=10)
    assert rollouts.success.sum() >= 9, f"{task}: failed seeds {rollouts.seeds[~rollouts.success]}"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_actions_in_box(task: str) -> None:
    """Any finite observation, even far from the data, gives (n, 4) float32 actions in [-1, 1]."""
    spec = get_task(task)
    rng = np.random.default_rng(0)
    obs = rng.normal(1.0, 0.5, size=(64, spec.obs_dim)).astype(np.float32)
    act = make_expert(task)(obs)
    assert act.shape == (64, 4)
    assert act.dtype == np.float32
    assert np.all(np.abs(act) <= 1.0)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_stateless(task: str) -> None:
    """The same observation gives the same action, whatever came before it."""
    spec = get_task(task)
    obs = np.random.default_rng(1).normal(1.0, 0.2, size=(8, spec.obs_dim)).astype(np.float32)
    expert = make_expert(task)
    first = expert(obs)
    expert(obs[::-1].copy())
    np.testing.assert_array_equal(expert(obs), first)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_wrong_width_raises(task: str) -> None:
    spec = get_task(task)
    with pytest.raises(ValueError, match=rf"\(n, {spec.obs_dim}\).*\(2, {spec.obs_dim + 1}\)"):
        make_expert(task)(np.zeros((2, spec.obs_dim + 1), np.float32))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_nan_raises(task: str) -> None:
    spec = get_task(task)
    obs = np.zeros((3, spec.obs_dim), np.float32)
    obs[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make_expert(task)(obs)


def test_unknown_task_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown task") as info:
        make_expert("stack")
    for name in TASKS:
        assert name in str(info.value)
