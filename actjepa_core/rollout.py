"""Run a batched policy for whole episodes on vectorised envs (Fetch, Meta-World).

One loop serves the experts' check, demonstration collection and the evaluation of learned
policies, so all three see episodes the same way: seeded resets, fixed-length episodes,
success read from the env's own ``info["is_success"]`` at the last step.

On a pixel task (``push-pixels64``) the policy sees rendered frames instead of states; the
episodes, and what is recorded of them, are those of the state task.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from .envs import flatten_obs, get_task, make_vector_env, state_spec
from .pixels import FrameRenderer, flat_frames

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps a batch of flat observations (n, obs_dim) to a batch of actions (n, action_dim).
On a pixel task the observations are frames: float32 (n, 3*S*S), channels first, 0..255.
A policy with a ``reset(n)`` method has it called before each batch of episodes."""


@dataclass
class Rollouts:
    """Whole episodes of one task, stacked along the first axis."""

    obs: np.ndarray
    """(E, T + 1, obs_dim) float32 clean flat observations, including the last one. Always
    the STATE observations, on a pixel task too: success checks and probes read them."""
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

    On a pixel task the policy (and ``observe``) get the frames of the episodes, flat
    float32 0..255 (``pixels.flat_frames``), while ``Rollouts.obs`` records the states.
    """
    spec = get_task(task)
    seeds = np.asarray(seeds, dtype=np.int64)
    if not (np.isfinite(action_noise) and action_noise >= 0):
        raise ValueError(f"action_noise must be a finite number >= 0, got {action_noise}")
    n_envs = max(1, min(spec.vector_envs or num_envs, len(seeds)))  # the task's own width first
    env = shared_vector_env(task, n_envs)
    renderer = frame_renderer(env, spec.frame_size) if spec.is_pixels else None
    state_dim = state_spec(task).obs_dim
    T = spec.max_episode_steps
    parts: list[Rollouts] = []
    bar = tqdm(total=len(seeds), desc=progress if isinstance(progress, str) else task,
               unit="ep", disable=not progress, leave=False)
    try:
        for start in range(0, len(seeds), n_envs):
            batch = seeds[start : start + n_envs]
            parts.append(_run_batch(env, state_dim, spec.action_dim, T, batch, policy,
                                    observe, action_noise, noise_seed, renderer))
            bar.update(len(batch))
    finally:
        bar.close()
    return Rollouts(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                      ("obs", "actions", "rewards", "success", "seeds")))


_POOL: dict[tuple[str, int], gym.vector.VectorEnv] = {}
"""Per process: one vector env per (state task, number of copies)."""

_RENDERERS: weakref.WeakKeyDictionary[gym.vector.VectorEnv, dict[int, FrameRenderer]] = (
    weakref.WeakKeyDictionary())
"""Per vector env: one frame renderer per frame size, made on first use (an OpenGL context
costs about 0.4 s and 120 MB) and freed with its env."""


def shared_vector_env(task: str, num_envs: int) -> gym.vector.VectorEnv:
    """A vector env of ``num_envs`` copies of ``task``, made once per process and reused.

    Making a Fetch vector env of 25 copies takes about 0.6 s (the model is compiled 25
    times), and evaluation asks for one per run and noise level: 810 times in the full
    profile. Reuse
    changes no result: every batch starts with a seeded reset, and a Fetch (v4) reset calls
    MuJoCo's ``mj_resetData`` (solver warm-start included) before it sets the initial state,
    samples the object and the goal from the reseeded RNG and zeroes the step counter. So
    an episode on a reused env is bit-identical to the same episode on a new one (tested).
    A pixel task shares the env of its state task: rendering writes nothing into it.
    """
    key = (state_spec(task).name, num_envs)
    if key not in _POOL:
        _POOL[key] = make_vector_env(task, num_envs)
    return _POOL[key]


def frame_renderer(env: gym.vector.VectorEnv, size: int) -> FrameRenderer:
    """The renderer of ``size`` x ``size`` frames of ``env``, made once per env and size."""
    per_env = _RENDERERS.setdefault(env, {})
    if size not in per_env:
        per_env[size] = FrameRenderer(env, size)
    return per_env[size]


def _run_batch(env, obs_dim: int, action_dim: int, T: int, seeds: np.ndarray, policy: Policy,
               observe, action_noise: float, noise_seed: int,
               renderer: FrameRenderer | None = None) -> Rollouts:
    """One batch of episodes; a short last batch pads the vector env with repeated seeds.

    With a ``renderer`` the policy sees the frame of each step instead of its state.
    """
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
        seen = obs[:, t] if renderer is None else flat_frames(renderer.render())
        if observe is not None:
            seen = observe(seen, obs_rngs)
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


def replay_frames(task: str, seeds: np.ndarray, actions: np.ndarray, num_envs: int = 16,
                  progress: bool | str = False) -> tuple[np.ndarray, np.ndarray]:
    """Replay recorded episodes of pixel task ``task`` and render every step of them.

    Each episode restarts from its reset seed and gets its recorded actions back (already
    noised and clipped, so no noise is drawn): these are the frames of the same episodes,
    not a new collection. Returns the replayed states (E, T + 1, state_dim) float32, for
    the caller to check against the recorded ones, and the frames (E, T + 1, 3, S, S) uint8.
    """
    spec = get_task(task)
    if not spec.is_pixels:
        raise ValueError(f"{task!r} is a state task; frames are replayed for a pixel task "
                         f"such as {task + '-pixels64'!r}")
    seeds = np.asarray(seeds, dtype=np.int64)
    T, S = spec.max_episode_steps, spec.frame_size
    if actions.shape != (len(seeds), T, spec.action_dim):
        raise ValueError(f"actions must have shape {(len(seeds), T, spec.action_dim)} (one "
                         f"episode per seed), got {actions.shape}")
    n_envs = max(1, min(num_envs, len(seeds)))
    env = shared_vector_env(task, n_envs)
    renderer = frame_renderer(env, S)
    states = np.empty((len(seeds), T + 1, state_spec(task).obs_dim), np.float32)
    frames = np.empty((len(seeds), T + 1, 3, S, S), np.uint8)
    with tqdm(total=len(seeds), desc=progress if isinstance(progress, str) else f"render {task}",
              unit="ep", disable=not progress, leave=False) as bar:
        for start in range(0, len(seeds), n_envs):
            rows = np.arange(start, min(start + n_envs, len(seeds)))
            padded = np.resize(rows, n_envs)  # a short last batch repeats its episodes
            batch_states, batch_frames = _replay_batch(env, renderer, seeds[padded],
                                                       actions[padded])
            states[rows], frames[rows] = batch_states[:len(rows)], batch_frames[:len(rows)]
            bar.update(len(rows))
    return states, frames


def _replay_batch(env, renderer: FrameRenderer, seeds: np.ndarray, actions: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """States (n, T + 1, D) and frames (n, T + 1, 3, S, S) of one batch of replayed episodes."""
    obs_dict, _ = env.reset(seed=[int(s) for s in seeds])
    states, frames = [flatten_obs(obs_dict)], [renderer.render()]
    for t in range(actions.shape[1]):
        obs_dict, *_ = env.step(actions[:, t])
        states.append(flatten_obs(obs_dict))
        frames.append(renderer.render())
    return np.stack(states, 1), np.stack(frames, 1)
