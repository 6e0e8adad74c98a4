"""The book's tasks behind one small registry: the three Fetch tasks of gymnasium-robotics
and the paper's 15 Meta-World tasks as one multi-task env (``meta_world``).

Every method in the book sees the same *flat* observation: the env's ``observation``
vector followed by its ``desired_goal``. The flat vector keeps named slices taken from the
env's own layout (``fetch_env._get_obs``), so that sensor noise can later hit the sensor
part only and the goal (a task specification, not a measurement) stays clean.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from . import meta_world
from .cache import mujoco_log_path
from .config import MIN_FRAME_SIZE

try:
    with contextlib.redirect_stderr(io.StringIO()):
        # gymnasium-robotics 1.4.2 prints a notice about the Adroit tasks' rewards at import;
        # it does not concern the Fetch tasks and would otherwise land in every notebook.
        import gymnasium_robotics
except AttributeError as e:  # PyOpenGL without the library MUJOCO_GL names: 'NoneType' ... GL
    raise ImportError(
        f"MuJoCo could not load the OpenGL library that MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} "
        f"asks for ({e}). Install it (osmesa: Debian package libosmesa6; egl: libegl1) or "
        f"choose another: MUJOCO_GL=egl, set before the first import of mujoco.") from e

gym.register_envs(gymnasium_robotics)
if meta_world.ENV_ID not in gym.registry:  # the module may be imported again (autoreload)
    gym.register(id=meta_world.ENV_ID, entry_point="actjepa_core.meta_world:MetaWorldMT15")

# Sizes of the parts of a Fetch observation, in the order fetch_env._get_obs concatenates them.
_OBJECT_PARTS: tuple[tuple[str, int], ...] = (
    ("grip_pos", 3),
    ("object_pos", 3),
    ("object_rel_pos", 3),
    ("gripper_state", 2),
    ("object_rot", 3),
    ("object_velp", 3),
    ("object_velr", 3),
    ("grip_velp", 3),
    ("gripper_vel", 2),
)
_NO_OBJECT_PARTS: tuple[tuple[str, int], ...] = tuple(
    (name, size) for name, size in _OBJECT_PARTS if not name.startswith("object")
)


SPECIFICATION_PARTS = ("goal", "task")
"""Parts of an observation that specify the task rather than measure the world (the goal
position, Meta-World's task one-hot): sensor noise never touches them."""


@dataclass(frozen=True)
class ObsLayout:
    """Named slices of the flat observation ``observation ++ desired_goal``."""

    slices: dict[str, slice]
    """Part name -> slice into the flat vector; ``goal`` is always the last part."""
    dim: int
    """Length of the flat vector."""

    @classmethod
    def from_parts(cls, parts: tuple[tuple[str, int], ...], goal_dim: int = 3) -> ObsLayout:
        """Consecutive slices of ``parts``, then a ``goal`` part of ``goal_dim`` (none at 0:
        a frame shows the goal rather than listing it)."""
        slices: dict[str, slice] = {}
        start = 0
        for name, size in (*parts, *((("goal", goal_dim),) if goal_dim else ())):
            slices[name] = slice(start, start + size)
            start += size
        return cls(slices=slices, dim=start)

    def __getitem__(self, name: str) -> slice:
        if name not in self.slices:
            hint = " (a frame shows the goal: it is not a separate input)" if name == "goal" else ""
            raise KeyError(f"no part {name!r} in this observation; parts are "
                           f"{list(self.slices)}{hint}")
        return self.slices[name]

    @property
    def sensor_mask(self) -> np.ndarray:
        """Boolean mask of the measured part (all but ``SPECIFICATION_PARTS``): where noise
        goes. A frame has no separate goal part: noise hits every pixel, the drawn goal too."""
        mask = np.ones(self.dim, dtype=bool)
        for name in SPECIFICATION_PARTS:
            if name in self.slices:
                mask[self.slices[name]] = False
        return mask


@dataclass(frozen=True)
class TaskSpec:
    """One task: its short name, gymnasium id and flat observation layout."""

    name: str
    """Short name used everywhere in the book (``reach``, ``push``, ``pick_place``,
    ``metaworld``)."""
    env_id: str
    """gymnasium id of the MuJoCo environment."""
    description: str
    """What the task asks, in one sentence, for tables and figure titles."""
    layout: ObsLayout = field(repr=False)
    """Named slices of the flat observation."""
    action_dim: int = 4
    """dx, dy, dz of the gripper and the finger command, each in [-1, 1]."""
    max_episode_steps: int = 50
    """Steps of every episode (gymnasium's time limit for the Fetch tasks)."""
    frame_size: int = 0
    """0: the observation is the flat state vector; else the policy sees an RGB frame of
    this many pixels a side (``pixels``), flattened channels first to ``3 * size * size``."""
    state_task: str = ""
    """The state task of a pixel task (the same env, experts and episodes); "" for a state task."""
    vector_envs: int = 0
    """Copies in every vector env of this task; 0: the caller's choice. Meta-World's 15, so
    that consecutive seeds keep each copy on one task (one simulator per copy, not 15)."""

    @property
    def obs_dim(self) -> int:
        return self.layout.dim

    @property
    def is_pixels(self) -> bool:
        return self.frame_size > 0


TASKS: dict[str, TaskSpec] = {
    "reach": TaskSpec(
        "reach",
        "FetchReach-v4",
        "Move the gripper to a target point in the air.",
        ObsLayout.from_parts(_NO_OBJECT_PARTS),
    ),
    "push": TaskSpec(
        "push",
        "FetchPush-v4",
        "Push a block across the table to a target (the fingers are locked closed).",
        ObsLayout.from_parts(_OBJECT_PARTS),
    ),
    "pick_place": TaskSpec(
        "pick_place",
        "FetchPickAndPlace-v4",
        "Grasp a block and carry it to a target on the table or in the air.",
        ObsLayout.from_parts(_OBJECT_PARTS),
    ),
}


META_WORLD: dict[str, TaskSpec] = {
    "metaworld": TaskSpec(
        "metaworld",
        meta_world.ENV_ID,
        "The paper's 15 Meta-World tasks, one per episode (seed mod 15), the task as a one-hot.",
        ObsLayout.from_parts((*meta_world.STATE_PARTS, ("task", len(meta_world.MT15))),
                             goal_dim=meta_world.GOAL_DIM),
        max_episode_steps=meta_world.EPISODE_STEPS,
        vector_envs=len(meta_world.MT15),
    ),
}
"""The paper's benchmark (chapter 14), a task family beside Fetch: ``TASKS`` stays the
three Fetch tasks every Fetch experiment loops over."""


PIXELS_SUFFIX = "-pixels"
"""A pixel task is named ``<task>-pixels<size>``, e.g. ``push-pixels64``."""

MIN_FRAME, MAX_FRAME = MIN_FRAME_SIZE, 512
"""Frame sizes a pixel task accepts: the CNN's three stride-2 layers need at least 8
(``config.MIN_FRAME_SIZE``, the one place that bound is set)."""


def pixel_task(task: str, size: int) -> str:
    """The name of ``task`` seen through ``size`` x ``size`` RGB frames (``pixels``)."""
    if get_task(task).is_pixels:
        raise ValueError(f"{task!r} is already a pixel task")
    if not isinstance(size, int) or isinstance(size, bool):
        raise ValueError(f"frame size must be an integer, got {size!r}")
    return get_task(f"{task}{PIXELS_SUFFIX}{size}").name  # get_task checks the size's range


def get_task(name: str) -> TaskSpec:
    """Look up a task by name (``reach``, or ``reach-pixels64`` for its frames); an unknown
    name fails with the list of known ones."""
    if name in TASKS:
        return TASKS[name]
    if name in META_WORLD:
        return META_WORLD[name]
    base, _, size = name.partition(PIXELS_SUFFIX)
    if base in TASKS and size.isdigit() and not size.startswith("0"):
        return _pixel_spec(base, int(size))
    raise ValueError(f"unknown task {name!r}; known tasks are {sorted(TASKS)}, "
                     f"{sorted(META_WORLD)}, or a Fetch task followed by '{PIXELS_SUFFIX}<size>' "
                     f"for RGB frames (e.g. 'push-pixels64')")


def state_spec(task: str) -> TaskSpec:
    """The state task behind ``task``: itself, or the task a pixel task renders."""
    spec = get_task(task)
    return TASKS[spec.state_task] if spec.is_pixels else spec


@functools.lru_cache(maxsize=None)
def _pixel_spec(base: str, size: int) -> TaskSpec:
    """The pixel variant of state task ``base``: one part, ``pixels``, of 3 * size * size.
    Made once per (task, size): a run looks its task up many times, and the spec is frozen."""
    if not MIN_FRAME <= size <= MAX_FRAME:
        raise ValueError(f"frame size must be in [{MIN_FRAME}, {MAX_FRAME}], got {size} "
                         f"(task {base}{PIXELS_SUFFIX}{size})")
    state = TASKS[base]
    layout = ObsLayout.from_parts((("pixels", 3 * size * size),), goal_dim=0)
    return TaskSpec(f"{base}{PIXELS_SUFFIX}{size}", state.env_id, state.description, layout,
                    state.action_dim, state.max_episode_steps, frame_size=size, state_task=base)


def flatten_obs(obs: dict[str, np.ndarray]) -> np.ndarray:
    """``observation ++ desired_goal`` as float32; works on one obs or a batch of them."""
    return np.concatenate([obs["observation"], obs["desired_goal"]], axis=-1).astype(np.float32)


def check_flat_obs(obs: np.ndarray, dim: int, dtype: type = np.float32) -> np.ndarray:
    """``obs`` as a finite ``(n, dim)`` array of ``dtype``; anything else raises ``ValueError``.

    Every consumer of flat observations (experts, learned policies) checks them the same way,
    so a wrong task or a NaN from the simulator fails with the same message wherever it lands.
    """
    obs = np.asarray(obs, dtype=dtype)
    if obs.ndim != 2 or obs.shape[1] != dim:
        raise ValueError(f"expected observations of shape (n, {dim}), got {obs.shape}")
    if not np.isfinite(obs).all():
        raise ValueError("observations contain NaN or infinite values")
    return obs


def route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to ``cache.mujoco_log_path()`` and to Python's ``warnings``.

    Without a handler MuJoCo appends them to ``MUJOCO_LOG.TXT`` in the working folder (the
    repository, when a notebook runs there) and prints them. Installed whenever an env is
    made; idempotent.
    """
    import mujoco

    def handler(message: str) -> None:
        path = mujoco_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        warnings.warn(f"MuJoCo: {message} (logged to {path})", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(handler)


def make_env(task: str, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """A single env of the named task (a pixel task's env is its state task's);
    ``kwargs`` go to ``gym.make`` (e.g. width)."""
    spec = state_spec(task)
    route_mujoco_warnings()
    env = gym.make(spec.env_id, render_mode=render_mode, **kwargs)
    got = flatten_obs(env.observation_space.sample()).shape[-1]
    if got != spec.obs_dim:
        raise RuntimeError(
            f"{spec.env_id} gives {got}-dim flat observations, the layout expects {spec.obs_dim}; "
            "is gymnasium-robotics the pinned 1.4.2?"
        )
    return env


def make_vector_env(task: str, num_envs: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of a task stepped in lock-step in this process.

    Synchronous on purpose: a Fetch step costs under a millisecond, so worker processes
    cost more in pickling than they save, and the policy is batched over the envs anyway.
    Episodes all last ``max_episode_steps``; callers run whole episodes and reset with
    explicit seeds, so with NEXT_STEP autoreset the last step's observation and
    ``info["is_success"]`` arrive as returned, never swapped for a reset.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs must be at least 1, got {num_envs}")
    spec = state_spec(task)
    route_mujoco_warnings()
    return gym.vector.SyncVectorEnv(
        [lambda: gym.make(spec.env_id) for _ in range(num_envs)],
        autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP,
    )


def add_sensor_noise(
    obs: np.ndarray, sigma: float, obs_std: np.ndarray, layout: ObsLayout,
    rng: np.random.Generator | list[np.random.Generator],
) -> np.ndarray:
    """Gaussian noise of ``sigma`` in *standardised* units on the sensor part only.

    Standardised noise ``z + sigma * eps`` with ``z = (o - mean) / std`` is the same as
    ``o + sigma * std * eps`` in raw units, so only the per-dimension std is needed.
    The goal part is left untouched: it is the task specification, not a measurement.
    ``rng`` may be one generator per row of a batch, so each episode's noise is its own.
    """
    if sigma < 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    if obs.shape[-1] != layout.dim or obs_std.shape != (layout.dim,):
        raise ValueError(
            f"observation has {obs.shape[-1]} dims and std {obs_std.shape}, layout expects {layout.dim}"
        )
    if sigma == 0:
        return obs
    if isinstance(rng, list):
        eps = np.stack([g.standard_normal(obs.shape[-1]) for g in rng]).astype(obs.dtype)
    else:
        eps = rng.standard_normal(obs.shape).astype(obs.dtype)
    return obs + sigma * obs_std.astype(obs.dtype) * eps * layout.sensor_mask


def render_frame(task: str, size: int = 320, seed: int = 0) -> np.ndarray:
    """An RGB frame of ``task`` right after ``reset(seed)``, ``size`` x ``size`` pixels.

    Needs an OpenGL context: set ``MUJOCO_GL=egl`` (GPU or Mesa) or ``osmesa`` before
    MuJoCo is first imported. Fails with the renderer's own error when none is available.
    """
    env = make_env(task, render_mode="rgb_array", width=size, height=size)
    try:
        env.reset(seed=seed)
        return np.asarray(env.render())
    finally:
        env.close()
