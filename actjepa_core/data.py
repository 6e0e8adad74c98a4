"""Expert demonstrations: collection, Minari storage, and the views training needs.

A :class:`Demonstrations` holds whole fixed-length episodes of one task as arrays, and gives
the three views the book uses: standardisation statistics, ``(o_t, a_t, o_{t+1})``
transitions for next-step latent prediction, and windows of action and observation chunks
for the chunked policies. Datasets are written with ``minari.create_dataset_from_buffers`` so anyone with
Minari can open them, and read back with checks that name what is wrong.

Demonstrations of a pixel task (``push-pixels64``) are those of its state task, replayed
and rendered: the same episodes, seen as frames (see :func:`render_demonstrations`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import file_lock
from .envs import PIXELS_SUFFIX, TaskSpec, add_sensor_noise, get_task
from .pixels import CHANNELS
from .rollout import replay_frames, run_episodes
from .seeds import BLOCK, episode_seeds

STD_FLOOR = 1e-3
"""Smallest std used to standardise a dimension: the locked fingers of Push barely move in
the demonstrations, and dividing by their tiny std would blow simulator jitter up."""

PIXEL_STD_FLOOR = 1.0
"""Smallest std of a colour channel, in pixel units (0..255): a channel that never changes
in the demonstrations would otherwise be divided by ~0."""

EPISODES_PER_SEED = 10_000
"""Each collection seed owns this many demonstration env seeds, so seeds never overlap."""


@dataclass(frozen=True)
class NormStats:
    """Per-dimension mean and std of observations, used to standardise model inputs."""

    mean: np.ndarray
    """(obs_dim,) float32. For frames: the mean of each colour channel, repeated over its
    pixels."""
    std: np.ndarray
    """(obs_dim,) float32, floored at STD_FLOOR (frames: per channel, PIXEL_STD_FLOOR)."""

    def standardize(self, obs: np.ndarray) -> np.ndarray:
        return ((obs - self.mean) / self.std).astype(np.float32)

    def unstandardize(self, z: np.ndarray) -> np.ndarray:
        return (z * self.std + self.mean).astype(np.float32)


@dataclass
class Demonstrations:
    """Whole episodes of one task: ``obs`` (E, T+1, O), ``actions`` (E, T, A)."""

    task: str
    """Short task name (see ``envs.TASKS``)."""
    obs: np.ndarray
    """(E, T + 1, obs_dim) float32 flat observations, the last one included."""
    actions: np.ndarray
    """(E, T, action_dim) float32 actions in [-1, 1], as executed."""
    rewards: np.ndarray
    """(E, T) float32 env rewards (Fetch's sparse reward: 0 at the goal, -1 elsewhere)."""
    success: np.ndarray
    """(E,) bool, the env's ``is_success`` at the last step."""
    seeds: np.ndarray
    """(E,) int64 env reset seed of each episode."""
    stats: NormStats = field(init=False, repr=False)
    """Standardisation statistics of all observations in these episodes (frames: per
    colour channel, see :func:`channel_stats`)."""

    def __post_init__(self) -> None:
        spec = get_task(self.task)
        E = len(self.obs)
        if self.obs.ndim != 3 or self.obs.shape[-1] != spec.obs_dim:
            raise ValueError(
                f"{self.task} observations must have shape (episodes, T+1, {spec.obs_dim}), "
                f"got {self.obs.shape}"
            )
        if self.actions.shape != (E, self.obs.shape[1] - 1, spec.action_dim):
            raise ValueError(
                f"actions must have shape {(E, self.obs.shape[1] - 1, spec.action_dim)} to match "
                f"observations {self.obs.shape}, got {self.actions.shape}"
            )
        if self.rewards.shape != self.actions.shape[:2]:
            raise ValueError(f"rewards must have shape {self.actions.shape[:2]}, got {self.rewards.shape}")
        if self.success.shape != (E,) or self.seeds.shape != (E,):
            raise ValueError(f"success and seeds must have shape ({E},)")
        for name in ("obs", "actions"):
            bad = ~np.isfinite(getattr(self, name))
            if bad.any():
                ep = int(np.argwhere(bad)[0][0])
                raise ValueError(f"{name} of {self.task} contain NaN/inf (first in episode {ep})")
        if E == 0:
            raise ValueError("a Demonstrations needs at least one episode")
        object.__setattr__(self, "stats", _norm_stats(self.obs, spec))

    @property
    def n_episodes(self) -> int:
        return len(self.obs)

    @property
    def episode_len(self) -> int:
        return self.actions.shape[1]

    def first(self, n: int) -> Demonstrations:
        """The first ``n`` episodes (collection order), e.g. for data-efficiency curves."""
        if not 1 <= n <= self.n_episodes:
            raise ValueError(
                f"asked for {n} episodes but these {self.task} demonstrations hold {self.n_episodes}"
            )
        return Demonstrations(self.task, self.obs[:n], self.actions[:n], self.rewards[:n],
                              self.success[:n], self.seeds[:n])

    def with_sensor_noise(self, sigma: float, seed: int = 0) -> Demonstrations:
        """A copy whose observations carry Gaussian sensor noise of ``sigma`` (standardised).

        The "noisy demonstrations" condition: the robot's sensors were noisy when it was
        taught, too. Each observation gets its own draw (so ``o_{t+1}`` of one transition
        is the same noisy ``o_t`` of the next); the goal part stays clean; the statistics of
        the copy are those of the noisy data, as they would be in practice.
        """
        if not (math.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sensor-noise sigma must be a finite number >= 0, got {sigma}")
        rng = np.random.default_rng([seed, round(sigma * 1e6)])
        noisy = add_sensor_noise(self.obs, sigma, self.stats.std, get_task(self.task).layout, rng)
        return Demonstrations(self.task, noisy, self.actions, self.rewards, self.success, self.seeds)

    def transitions(self, stats: NormStats | None = None) -> tuple[np.ndarray, ...]:
        """``(o_t, a_t, o_{t+1})`` as (N, O), (N, A), (N, O) arrays, N = episodes * T.

        Observations are standardised with ``stats`` (default: this dataset's own).
        """
        stats = stats or self.stats
        O, A = self.obs.shape[-1], self.actions.shape[-1]
        return (
            stats.standardize(self.obs[:, :-1].reshape(-1, O)),
            self.actions.reshape(-1, A).copy(),
            stats.standardize(self.obs[:, 1:].reshape(-1, O)),
        )

    def windows(self, obs_horizon: int, chunk: int, obs_chunk: int,
                stats: NormStats | None = None) -> dict[str, np.ndarray]:
        """One training window per step ``t`` of every episode, for the chunked policies.

        Keys and shapes are those of ``methods.base.BATCH_KEYS`` (M = episodes * T windows):
        the observation history ``o_{t-To+1..t}``, the action chunk ``a_{t..t+H-1}`` and the
        observation chunk ``o_{t+1..t+N}``. Every step starts a window, the last ones too,
        as ACT samples its start step uniformly over the episode; what lies past the end is
        the episode's last action or observation repeated (Diffusion Policy's sampler pads
        this way) and is flagged in ``action_pad`` / ``future_pad`` (ACT masks its loss
        there). Before the start, the history repeats ``o_0``. Observations are
        standardised with ``stats`` (default: this dataset's own).
        """
        T = self.episode_len
        for what, n in (("observation horizon", obs_horizon), ("action chunk", chunk),
                        ("observation chunk", obs_chunk)):
            if not 1 <= n <= T:
                raise ValueError(f"the {what} must be in [1, {T}] (the episode length), got {n}")
        stats = stats or self.stats
        t = np.arange(T)[:, None]
        hist = np.clip(t + np.arange(1 - obs_horizon, 1)[None], 0, None)  # (T, To)
        act = t + np.arange(chunk)[None]  # (T, H), may run past T - 1
        fut = t + 1 + np.arange(obs_chunk)[None]  # (T, N), may run past T
        O, A = self.obs.shape[-1], self.actions.shape[-1]
        return {
            "obs": stats.standardize(self.obs[:, hist].reshape(-1, obs_horizon, O)),
            "actions": self.actions[:, np.minimum(act, T - 1)].reshape(-1, chunk, A).copy(),
            "action_pad": np.broadcast_to(act > T - 1, (self.n_episodes, T, chunk))
                            .reshape(-1, chunk).astype(np.float32),
            "future_obs": stats.standardize(self.obs[:, np.minimum(fut, T)].reshape(-1, obs_chunk, O)),
            "future_pad": np.broadcast_to(fut > T, (self.n_episodes, T, obs_chunk))
                            .reshape(-1, obs_chunk).astype(np.float32),
        }


def _norm_stats(obs: np.ndarray, spec: TaskSpec) -> NormStats:
    """Per-dimension statistics of states; per-channel ones of frames."""
    if spec.is_pixels:
        return channel_stats(obs, spec.frame_size)
    flat = obs.reshape(-1, spec.obs_dim)
    std = np.maximum(flat.std(0), STD_FLOOR)
    return NormStats(flat.mean(0).astype(np.float32), std.astype(np.float32))


def channel_stats(obs: np.ndarray, size: int) -> NormStats:
    """Mean and std of each colour channel over all frames and pixels, repeated per pixel.

    Per-pixel statistics would divide the background, which never changes, by ~0 (or by a
    floor), and blow up any change there; per channel, a sensor noise of sigma means sigma
    standardised units of that channel, the same on every pixel. The result is per
    dimension, so ``standardize`` and ``add_sensor_noise`` work on frames unchanged.
    Computed in float64 over blocks of frames: a float64 copy of 100 episodes of 64x64
    frames would take 500 MB.
    """
    pix = obs.reshape(-1, CHANNELS, size * size)
    mean = pix.mean(axis=(0, 2), dtype=np.float64)
    sq = np.zeros(CHANNELS)
    block = max(1, 2**21 // pix[0].size)
    for start in range(0, len(pix), block):
        d = pix[start:start + block].astype(np.float64) - mean[None, :, None]
        sq += np.einsum("fcp,fcp->c", d, d)
    std = np.maximum(np.sqrt(sq / (len(pix) * size * size)), PIXEL_STD_FLOOR)
    return NormStats(np.repeat(mean, size * size).astype(np.float32),
                     np.repeat(std, size * size).astype(np.float32))


def collect(
    task: str, n_episodes: int, seed: int = 0, action_noise: float = 0.0,
    num_envs: int = 16, progress: bool = False,
) -> Demonstrations:
    """``n_episodes`` successful expert episodes of ``task``, deterministic in ``seed``.

    Episodes run on env seeds reserved for demonstrations (block ``seed`` of
    ``EPISODES_PER_SEED``), in order; a failed expert episode is skipped, so the dataset
    holds only successes. ``action_noise`` (std, in action units) widens the states
    the demonstrations visit. The first k episodes of a collection of n are the
    collection of k, which makes data-efficiency subsets nested.
    """
    from .experts import make_expert

    if get_task(task).is_pixels:
        raise ValueError(f"{task!r} is a pixel task: its demonstrations are those of "
                         f"{get_task(task).state_task!r} rendered by replay; ask "
                         f"demonstrations({task!r}, ...) (or render_demonstrations)")
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    if not 0 <= seed < BLOCK // EPISODES_PER_SEED:
        raise ValueError(f"seed must be in [0, {BLOCK // EPISODES_PER_SEED}), got {seed}")
    expert = make_expert(task)
    kept, tried = [], 0
    width = get_task(task).vector_envs
    # a task with a fixed vector width takes whole multiples of it, so each copy of the
    # vector env always gets seeds of the same residue (Meta-World: the same task)
    batch = -(-max(num_envs, 16) // width) * width if width else max(num_envs, 16)
    while sum(len(r.seeds) for r in kept) < n_episodes:
        if tried + batch > EPISODES_PER_SEED:
            raise RuntimeError(f"the {task} expert failed too often to collect {n_episodes} episodes")
        seeds = episode_seeds("demonstrations", batch, offset=seed * EPISODES_PER_SEED + tried)
        r = run_episodes(task, expert, seeds, num_envs=num_envs, action_noise=action_noise,
                         noise_seed=seed, progress=f"collect {task}" if progress else False)
        tried += batch
        ok = r.success
        kept.append(type(r)(r.obs[ok], r.actions[ok], r.rewards[ok], r.success[ok], r.seeds[ok]))
    fields = ("obs", "actions", "rewards", "success", "seeds")
    return Demonstrations(task, *(np.concatenate([getattr(r, f) for r in kept])[:n_episodes]
                                  for f in fields))


def render_demonstrations(task: str, states: Demonstrations, num_envs: int = 16,
                          progress: bool = False) -> Demonstrations:
    """The frames of the episodes in ``states`` (demonstrations of pixel task ``task``'s
    state task), rendered by replaying their actions from their reset seeds.

    Replaying, not collecting again, makes the pixel and state datasets hold the same
    episodes, so a comparison of the two sees only the change of input. Every replayed
    state must equal the recorded one exactly; one that does not means the simulation is
    not reproducible here (another MuJoCo version, or rendering that touched the physics)
    and is an error naming the episode.
    """
    spec = get_task(task)
    if not spec.is_pixels:
        raise ValueError(f"{task!r} is a state task; render_demonstrations needs a pixel task")
    if states.task != spec.state_task:
        raise ValueError(f"{task!r} renders demonstrations of {spec.state_task!r}, "
                         f"got demonstrations of {states.task!r}")
    replayed, frames = replay_frames(task, states.seeds, states.actions, num_envs,
                                     progress=f"render {task}" if progress else False)
    differ = np.flatnonzero((replayed != states.obs).any(axis=(1, 2)))
    if len(differ):
        ep = int(differ[0])
        raise ValueError(
            f"replaying episode {ep} (seed {int(states.seeds[ep])}) of {states.task} did not "
            f"give its recorded states ({len(differ)} of {states.n_episodes} episodes differ); "
            f"were the demonstrations collected with another MuJoCo or gymnasium-robotics? "
            f"Collect them again (delete their dataset)")
    obs = frames.reshape(*frames.shape[:2], -1).astype(np.float32)
    return Demonstrations(task, obs, states.actions, states.rewards, states.success, states.seeds)


# --------------------------------------------------------------------------- Minari storage


def data_root() -> Path:
    """Where datasets live: ``$ACTJEPA_DATA`` or ``~/.cache/actjepa/datasets``."""
    return Path(os.environ.get("ACTJEPA_DATA", Path.home() / ".cache" / "actjepa" / "datasets"))


def dataset_id(task: str, seed: int = 0, action_noise: float = 0.0) -> str:
    """Minari id ``actjepa/<task>/expert-s<seed>-noise<n>-v0`` of a collection.

    ``<n>`` is the noise in thousandths when that is exact (0.1 -> ``100``), else the exact
    value itself with ``p`` for the decimal point (0.1004 -> ``0p1004``; a dot is not allowed
    in a Minari id): two noise levels never share a dataset. The frames
    of a pixel task are ``actjepa/<state task>/expert-s<seed>-noise<n>-pixels<S>-v0``, next
    to the states they were rendered from.
    """
    spec = get_task(task)
    if not (math.isfinite(action_noise) and action_noise >= 0):
        raise ValueError(f"action_noise must be a finite number >= 0, got {action_noise}")
    milli = round(action_noise * 1000)
    noise = (str(milli) if milli / 1000 == action_noise
             else repr(float(action_noise)).replace(".", "p"))
    if spec.is_pixels:
        return f"actjepa/{spec.state_task}/expert-s{seed}-noise{noise}-pixels{spec.frame_size}-v0"
    return f"actjepa/{task}/expert-s{seed}-noise{noise}-v0"


@contextlib.contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    """Point Minari at ``root`` for the duration of a call (it reads an env variable)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _obs_space(spec: TaskSpec):
    """The Minari observation space of a task: a flat float32 Box of states, or a uint8
    Box of (S, S, 3) frames (Minari's image layout is height, width, channels)."""
    import gymnasium as gym

    if spec.is_pixels:
        S = spec.frame_size
        return gym.spaces.Box(0, 255, (S, S, CHANNELS), np.uint8)
    return gym.spaces.Box(-np.inf, np.inf, (spec.obs_dim,), np.float32)


def _stored_obs(demos: Demonstrations, i: int, spec: TaskSpec) -> np.ndarray:
    """Episode ``i``'s observations as stored: states as they are, frames as uint8 HWC."""
    if not spec.is_pixels:
        return demos.obs[i]
    S = spec.frame_size
    frames = demos.obs[i].astype(np.uint8)
    if not np.array_equal(frames, demos.obs[i]):
        raise ValueError(f"episode {i} of {demos.task} holds frames that are not whole numbers "
                         "in 0..255 (noisy or standardised?); only rendered frames are stored")
    return frames.reshape(-1, CHANNELS, S, S).transpose(0, 2, 3, 1)


def save_minari(demos: Demonstrations, ds_id: str, root: Path | None = None) -> Path:
    """Write ``demos`` as a Minari dataset and return its folder.

    States are a flat float32 Box; frames a uint8 (S, S, 3) Box, stored raw
    (``jpeg_encoding=False``: 12 KB per 64x64 frame, about 87 MB on disk per 100
    episodes, as measured by ``benchmarks/bench_pixels.py``): JPEG's
    artefacts would make the training frames differ from the frames a policy sees when
    it is evaluated. A previous dataset of the same id is replaced only once the new one
    is complete: it is written under a temporary id first, then moved into place.
    """
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    root = Path(root or data_root())
    spec = get_task(demos.task)
    obs_space = _obs_space(spec)
    act_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
    T = demos.episode_len
    buffers = [
        EpisodeBuffer(
            id=i, seed=int(demos.seeds[i]), observations=_stored_obs(demos, i, spec),
            actions=demos.actions[i],
            rewards=list(demos.rewards[i].astype(np.float64)),
            terminations=[False] * T, truncations=[False] * (T - 1) + [True],
        )
        for i in range(demos.n_episodes)
    ]
    # a temporary id of this writer's own: two processes writing at once never share one
    tmp_id = f"{ds_id.rsplit('-v', 1)[0]}-tmp{os.getpid()}x{uuid.uuid4().hex[:8]}-v0"
    with _minari_root(root), warnings.catch_warnings():
        # Minari asks for an e-mail and a permalink; a locally made dataset has neither.
        warnings.filterwarnings("ignore", category=UserWarning, module="minari")
        shutil.rmtree(root / tmp_id, ignore_errors=True)
        try:
            minari.create_dataset_from_buffers(
                dataset_id=tmp_id, buffer=buffers, env=spec.env_id, eval_env=spec.env_id,
                algorithm_name="scripted expert", author="actjepa_core",
                observation_space=obs_space, action_space=act_space,
                description=_description(spec), jpeg_encoding=False,
            )
        except BaseException:  # no half-written temporary dataset left behind
            shutil.rmtree(root / tmp_id, ignore_errors=True)
            raise
    final = root / ds_id
    shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / tmp_id, final)
    _fix_dataset_id(final, tmp_id, ds_id)
    return final


def _description(spec: TaskSpec) -> str:
    """What the dataset holds, in the words a Minari user reads."""
    what = (f"{spec.frame_size}x{spec.frame_size} RGB frames (uint8, height x width x "
            "channels) of one fixed camera, the goal drawn as a red sphere"
            if spec.is_pixels else "the env observation followed by desired_goal (float32)")
    return (f"Scripted-expert demonstrations of {spec.env_id}. Observations are {what}; "
            "rewards are the env's sparse rewards; an episode succeeded if its last reward is 0.")


def _fix_dataset_id(folder: Path, old: str, new: str) -> None:
    """Minari stores the id in the dataset's metadata.json; rename it after the move."""
    meta_path = folder / "data" / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{meta_path}: unreadable dataset metadata ({e})") from e
    if meta.get("dataset_id") == old:
        meta["dataset_id"] = new
        meta_path.write_text(json.dumps(meta))


def load_minari(ds_id: str, task: str, n_episodes: int | None = None,
                root: Path | None = None) -> Demonstrations:
    """Read a Minari dataset written by :func:`save_minari` back into ``Demonstrations``.

    Fails with a clear error if the dataset is missing, unreadable, holds observations of
    another kind than ``task``'s (states read as frames, or frames of another size), or
    holds fewer episodes than asked; shape and NaN checks happen in ``Demonstrations``.
    Frames come back channels first and flat, as float32 (E, T + 1, 3*S*S).
    """
    from minari import MinariDataset

    spec = get_task(task)
    folder = Path(root or data_root()) / ds_id / "data"
    if not folder.exists():
        raise FileNotFoundError(
            f"no dataset {ds_id!r} under {folder.parent}; collect it with "
            f"actjepa_core.data.demonstrations({task!r}, ...)"
        )
    try:
        ds = MinariDataset(str(folder))
        total, space = ds.total_episodes, ds.observation_space
    except Exception as e:  # h5py/minari/json raise many types on a damaged dataset
        raise ValueError(f"dataset {ds_id!r} at {folder} is corrupt or unreadable: {e}") from e
    _check_space(space, spec, ds_id)
    n = total if n_episodes is None else n_episodes
    if n > total:
        raise ValueError(f"asked for {n} episodes but dataset {ds_id!r} holds only {total}")
    try:
        episodes = list(ds.iterate_episodes(range(n)))
        meta = list(ds.storage.get_episode_metadata(range(n)))
    except Exception as e:
        raise ValueError(f"dataset {ds_id!r} at {folder} is corrupt or unreadable: {e}") from e
    return Demonstrations(
        task=task,
        obs=np.stack([_loaded_obs(ep.observations, spec) for ep in episodes]),
        actions=np.stack([np.asarray(ep.actions, np.float32) for ep in episodes]),
        rewards=np.stack([np.asarray(ep.rewards, np.float32) for ep in episodes]),
        success=np.array([ep.rewards[-1] == 0 for ep in episodes], dtype=bool),
        seeds=np.array([m["seed"] for m in meta], dtype=np.int64),
    )


def _check_space(space, spec: TaskSpec, ds_id: str) -> None:
    """A ValueError when a dataset's observations are not of the kind ``spec`` reads."""
    want = _obs_space(spec)
    got = (getattr(space, "shape", None), getattr(space, "dtype", None))
    if got == (want.shape, want.dtype):
        return
    base = spec.state_task or spec.name
    frames = got[1] == np.uint8 and got[0] is not None and len(got[0]) == 3
    kind = f"frames of shape {got[0]}" if frames else f"state observations of shape {got[0]}"
    need = (f"frames of shape {want.shape} uint8" if spec.is_pixels else
            f"state observations of shape {want.shape}")
    made_for = f"{base}{PIXELS_SUFFIX}{got[0][0]}" if frames else base
    raise ValueError(f"dataset {ds_id!r} holds {kind} ({got[1]}), but task {spec.name!r} reads "
                     f"{need}; read it as task {made_for!r}, or ask demonstrations("
                     f"{spec.name!r}, ...) for a dataset of {spec.name!r}")


def _loaded_obs(observations, spec: TaskSpec) -> np.ndarray:
    """One episode's stored observations as flat float32 rows (frames: HWC -> CHW)."""
    obs = np.asarray(observations)
    if spec.is_pixels:
        obs = obs.transpose(0, 3, 1, 2).reshape(len(obs), -1)
    return obs.astype(np.float32)


def demonstrations(task: str, n_episodes: int, seed: int = 0, action_noise: float = 0.0,
                   root: Path | None = None, progress: bool = True) -> Demonstrations:
    """The first ``n_episodes`` of the stored collection, collecting (and storing) if needed.

    Because collections are nested, a stored collection of at least ``n_episodes`` answers
    any smaller request; a larger request collects afresh and replaces the stored one. Under
    the dataset's lock: a second process asking at the same time waits, then reads it. A
    read without the lock that fails (a writer replacing the dataset at that moment deletes
    it before moving the new one in) is tried again under the lock, where a damaged dataset
    is an error naming its folder.
    A pixel task renders the stored (or newly collected) demonstrations of its state task
    by replay and stores the frames as their own dataset.
    """
    ds_id = dataset_id(task, seed, action_noise)
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    try:  # the fast path, without the lock
        stored = _load_if_enough(ds_id, task, n_episodes, root)
    except Exception:  # noqa: BLE001 - a writer may be replacing it now: read under its lock
        stored = None
    if stored is not None:
        return stored
    with file_lock(Path(root or data_root()) / ds_id):
        stored = _load_if_enough(ds_id, task, n_episodes, root)
        if stored is not None:
            return stored
        spec = get_task(task)
        if spec.is_pixels:
            states = demonstrations(spec.state_task, n_episodes, seed, action_noise, root, progress)
            demos = render_demonstrations(task, states, progress=progress)
        else:
            demos = collect(task, n_episodes, seed, action_noise, progress=progress)
        save_minari(demos, ds_id, root)
        return demos


def _load_if_enough(ds_id: str, task: str, n_episodes: int, root: Path | None
                    ) -> Demonstrations | None:
    """The stored collection's first ``n_episodes``; None when absent or too small (a
    damaged one is an error naming its folder)."""
    try:
        return load_minari(ds_id, task, n_episodes, root)
    except FileNotFoundError:
        return None
    except ValueError as e:
        if "holds only" not in str(e):
            raise
        return None
