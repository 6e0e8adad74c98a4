"""Rollouts on a reused vector env are bit-identical to rollouts on a newly made one."""

from __future__ import annotations

import numpy as np
import pytest

from actjepa_core import rollout
from actjepa_core.envs import get_task, make_vector_env
from actjepa_core.experts import make_expert
from actjepa_core.seeds import episode_seeds


def _on_new_env(monkeypatch: pytest.MonkeyPatch, *args, **kwargs) -> rollout.Rollouts:
    """``run_episodes`` with the pool bypassed: a new vector env for this call."""
    with monkeypatch.context() as m:
        m.setattr(rollout, "shared_vector_env", make_vector_env)
        return rollout.run_episodes(*args, **kwargs)


@pytest.mark.parametrize("task", ["push", "pick_place"])
def test_reused_env_gives_the_same_episodes_as_a_new_one(task: str, monkeypatch) -> None:
    expert = make_expert(task)
    seeds_a, seeds_b = episode_seeds("tests", 6), episode_seeds("tests", 9)[6:]
    # Dirty the pooled env with other episodes and noisy actions, then run the same calls.
    rollout.run_episodes(task, expert, seeds_b, num_envs=3, action_noise=0.5, noise_seed=7)
    for seeds in (seeds_a, seeds_b):
        reused = rollout.run_episodes(task, expert, seeds, num_envs=3, action_noise=0.1)
        new = _on_new_env(monkeypatch, task, expert, seeds, num_envs=3, action_noise=0.1)
        for field in ("obs", "actions", "rewards", "success", "seeds"):
            assert np.array_equal(getattr(reused, field), getattr(new, field)), field


def test_pool_keeps_one_env_per_task_and_size() -> None:
    a = rollout.shared_vector_env("reach", 2)
    assert rollout.shared_vector_env("reach", 2) is a
    assert rollout.shared_vector_env("reach", 3) is not a
    assert a.num_envs == 2 and a.envs[0].unwrapped.spec.id == get_task("reach").env_id
