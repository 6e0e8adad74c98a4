"""Run a batched policy for whole episodes on vectorised Fetch envs.

One loop serves the experts' check, demonstration collection and the evaluation of learned
policies, so all three see episodes the same way: seeded resets, fixed-length episodes,
success read from the env's own ``info["is_success"]`` at the last step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from .envs import flatten_obs, get_task, make_vector_env

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps a batch of flat observations (n, obs_dim) to a batch of actions (n, action_dim).
A policy with a ``reset(n)`` method has it called before each batch of episodes."""


@dataclass
class Rollouts:
    """Whole episodes of one task, stacked along the first axis."""

    obs: np.ndarray
    """(E, T + 1, obs_dim) float32 clean flat observations, including the last one."""
    actions: np.ndarray
    """(E, T, action_dim) float32 actions actually sent to the env."""
    rewards: np.ndarray
    """(E, T) float32 env rewards."""
    success: np.ndarray
    """(E,) bool: ``info["is_success"]`` at the last step."""
    seeds: np.ndarray
    """(E,) int64 reset seed of each episode."""

    @property
    def success_rate(self) -> float:
        return float(self.success.mean()) if len(self.success) else float("nan")


def run_episodes(
    task: str,
    policy: Policy,
    seeds: Sequence[int],
    num_envs: int = 16,
    observe: Callable[[np.ndarray, list[np.random.Generator]], np.ndarray] | None = None,
    action_noise: float = 0.0,
    noise_seed: int = 0,
    progress: bool | str = False,
) -> Rollouts:
    """Run one episode per seed, ``num_envs`` at a time, and stack them.

    ``observe(obs, rngs)`` turns the clean observations into what the policy sees (sensor
    noise), drawing from ``rngs``, one generator per episode; the clean observation is
    what is recorded. ``action_noise`` adds Gaussian noise of that std to
    the policy's action before clipping to [-1, 1]; the noisy action is the one recorded,
    so recorded transitions are exactly what the simulator did. All noise of an episode is
    drawn from generators seeded by ``(noise_seed, episode seed)``, so an episode is the
    same whichever batch it runs in: the first k episodes of a run of n > k are the run of k.
    """
    spec = get_task(task)
    seeds = np.asarray(seeds, dtype=np.int64)
    if action_noise < 0:
        raise ValueError(f"action_noise must be >= 0, got {action_noise}")
    n_envs = max(1, min(num_envs, len(seeds)))
    env = shared_vector_env(task, n_envs)
    T = spec.max_episode_steps
    parts: list[Rollouts] = []
    bar = tqdm(total=len(seeds), desc=progress if isinstance(progress, str) else task,
               unit="ep", disable=not progress, leave=False)
    try:
        for start in range(0, len(seeds), n_envs):
            batch = seeds[start : start + n_envs]
            parts.append(_run_batch(env, spec.obs_dim, spec.action_dim, T, batch, policy,
                                    observe, action_noise, noise_seed))
            bar.update(len(batch))
    finally:
        bar.close()
    return Rollouts(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                      ("obs", "actions", "rewards", "success", "seeds")))


_POOL: dict[tuple[str, int], gym.vector.VectorEnv] = {}
"""Per process: one vector env per (task, number of copies)."""


def shared_vector_env(task: str, num_envs: int) -> gym.vector.VectorEnv:
    """A vector env of ``num_envs`` copies of ``task``, made once per process and reused.

    Making a Fetch vector env of 25 copies takes about 0.6 s (the model is compiled 25
    times), and evaluation asks for one per run and noise level: 810 times in the full
    profile. Reuse
    changes no result: every batch starts with a seeded reset, and a Fetch (v4) reset calls
    MuJoCo's ``mj_resetData`` (solver warm-start included) before it sets the initial state,
    samples the object and the goal from the reseeded RNG and zeroes the step counter. So
    an episode on a reused env is bit-identical to the same episode on a new one (tested).
    """
    key = (task, num_envs)
    if key not in _POOL:
        _POOL[key] = make_vector_env(task, num_envs)
    return _POOL[key]


def _run_batch(env, obs_dim: int, action_dim: int, T: int, seeds: np.ndarray, policy: Policy,
               observe, action_noise: float, noise_seed: int) -> Rollouts:
    """One batch of episodes; a short last batch pads the vector env with repeated seeds."""
    n, k = env.num_envs, len(seeds)
    padded = np.resize(seeds, n)
    obs_dict, _ = env.reset(seed=[int(s) for s in padded])
    if hasattr(policy, "reset"):
        policy.reset(n)
    obs = np.empty((n, T + 1, obs_dim), np.float32)
    actions = np.empty((n, T, action_dim), np.float32)
    rewards = np.empty((n, T), np.float32)
    obs[:, 0] = flatten_obs(obs_dict)
    act_rngs = [np.random.default_rng([noise_seed, int(s), 0]) for s in padded]
    obs_rngs = [np.random.default_rng([noise_seed, int(s), 1]) for s in padded]
    for t in range(T):
        seen = observe(obs[:, t], obs_rngs) if observe is not None else obs[:, t]
        act = np.asarray(policy(seen), dtype=np.float32)
        if act.shape != (n, action_dim):
            raise ValueError(f"policy returned actions of shape {act.shape}, expected {(n, action_dim)}")
        if not np.isfinite(act).all():
            raise FloatingPointError(
                f"{getattr(policy, 'name', type(policy).__name__)} returned a non-finite action at "
                f"step {t} of the episode(s) of seed "
                f"{sorted({int(s) for s in padded[~np.isfinite(act).all(1)]})}; MuJoCo would "
                f"warn and the episode count as a failure")
        if action_noise > 0:
            eps = np.stack([r.standard_normal(action_dim) for r in act_rngs]).astype(np.float32)
            act = act + action_noise * eps
        actions[:, t] = np.clip(act, -1.0, 1.0)
        obs_dict, rew, _, _, info = env.step(actions[:, t])
        obs[:, t + 1] = flatten_obs(obs_dict)
        rewards[:, t] = rew
    success = np.asarray(info["is_success"], dtype=bool)
    return Rollouts(obs[:k], actions[:k], rewards[:k], success[:k], seeds)
