"""Meta-World, the paper's own benchmark: its 15 tasks as one multi-task environment.

The paper trains one policy on 15 Meta-World v3 tasks and reports the average success
(about 92% for ACT-JEPA). Its public implementation (``configs/metaworld/act-jepa.yaml`` of
the ACT-JEPA code) lists the tasks, gives the policy a task index as a feature, collects 40
scripted-expert episodes per task, ends an evaluation episode at success or after 200 steps,
and draws fresh starts per seed (it unfreezes Meta-World's pre-drawn start vectors). We do
the same, with our own code:

* ``MetaWorldMT15`` is one gymnasium env whose every reset picks its task from the seed
  (``task_of_seed``: seed mod 15), so the book's seeded, vectorised episode loop
  (``rollout``), its seed blocks (``seeds``), data collection and evaluation run on
  Meta-World unchanged. An episode of seed s is task s mod 15 from the start drawn by seed
  s; consecutive seeds cover the 15 tasks evenly.
* The observation looks like a Fetch one: ``observation`` = Meta-World's 36 state numbers
  (hand, gripper, two objects, and the same of the previous step) followed by a one-hot of
  the task (the task token), ``desired_goal`` = the goal position. The one-hot and the goal
  are the task's specification, never noised (``envs.ObsLayout.sensor_mask``).
* Success is Meta-World's ``info["success"]`` at any step, latched: once reached, the
  episode counts as solved whatever follows, which scores it exactly as stopping at success
  would. Episodes run the full ``EPISODE_STEPS`` (the book's loop steps whole episodes), so
  demonstrations keep the expert's steps after success (it holds the goal); the public code
  stores episodes cut at success instead. The reward is Fetch's sparse convention (0 once
  solved, -1 before), so a dataset records success the same way for both families.
* Meta-World's ``reset(seed=...)`` ignores the seed; ``env.seed(s)`` before ``reset()`` is
  what fixes the start (``shared/notes/metaworld.md``), with ``seeded_rand_vec`` on and the
  frozen start vector off.

The experts are Meta-World's own scripted policies (``experts.MetaWorldExpert``). ``metaworld``
itself is imported only when an env or an expert is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MetaWorldTask:
    """One task of the paper's 15."""

    name: str
    """Meta-World's name without the version (``door-open``)."""
    difficulty: str
    """Its class in the easy/medium/hard/very hard split of Seo et al. (2022, Masked World
    Models, appendix), the split papers use to say how hard a Meta-World subset is."""
    description: str
    """What the task asks, in a few words."""


MT15: tuple[MetaWorldTask, ...] = (
    MetaWorldTask("button-press-topdown", "easy", "press a button from above"),
    MetaWorldTask("button-press-topdown-wall", "easy", "press a button from above, past a wall"),
    MetaWorldTask("button-press", "easy", "press a button from the front"),
    MetaWorldTask("button-press-wall", "easy", "press a button from the front, past a wall"),
    MetaWorldTask("coffee-button", "easy", "press the coffee machine's button"),
    MetaWorldTask("coffee-pull", "medium", "pull a mug from the coffee machine"),
    MetaWorldTask("coffee-push", "medium", "push a mug under the coffee machine"),
    MetaWorldTask("drawer-open", "easy", "open a drawer"),
    MetaWorldTask("faucet-close", "easy", "turn a faucet off"),
    MetaWorldTask("faucet-open", "easy", "turn a faucet on"),
    MetaWorldTask("disassemble", "very hard", "pick a nut off a peg"),
    MetaWorldTask("door-close", "easy", "close a door"),
    MetaWorldTask("door-open", "easy", "open a door"),
    MetaWorldTask("window-close", "easy", "slide a window closed"),
    MetaWorldTask("window-open", "easy", "slide a window open"),
)
"""The paper's 15 tasks, in the order of its public configuration (the task index)."""

TASK_NAMES: tuple[str, ...] = tuple(t.name for t in MT15)

EPISODE_STEPS = 200
"""Steps per episode: the public configuration's ``max_episode_steps``. The experts' median
solve takes 36 to 88 steps on 14 of the tasks and about 136 on disassemble, whose slowest
solves come close to the limit (chapter 14's expert table measures them)."""

STATE_PARTS: tuple[tuple[str, int], ...] = (
    ("hand_pos", 3), ("gripper", 1), ("object_pos", 3), ("object_quat", 4),
    ("object2_pos", 3), ("object2_quat", 4),
    ("prev_hand_pos", 3), ("prev_gripper", 1), ("prev_object_pos", 3), ("prev_object_quat", 4),
    ("prev_object2_pos", 3), ("prev_object2_quat", 4),
)
"""Meta-World's observation before the goal (``SawyerXYZEnv._get_obs``): this step's 18
numbers, then the previous step's. A task with one object leaves the second one's zero."""
STATE_DIM = sum(size for _, size in STATE_PARTS)
GOAL_DIM = 3
ENV_ID = "actjepa/MetaWorldMT15-v0"
"""The gymnasium id ``envs`` registers for ``MetaWorldMT15``."""


def task_of_seed(seed: int | np.ndarray) -> int | np.ndarray:
    """The task index an episode of env seed ``seed`` runs (seed mod 15)."""
    return np.asarray(seed) % len(MT15) if np.ndim(seed) else int(seed) % len(MT15)


def task_names_of(seeds: np.ndarray) -> np.ndarray:
    """The task name of each env seed, for per-task tables."""
    return np.asarray(TASK_NAMES, dtype=object)[task_of_seed(np.asarray(seeds, dtype=np.int64))]


def per_task(rows: pd.DataFrame) -> pd.DataFrame:
    """Result rows of the multi-task env with ``task`` set to each episode's Meta-World task
    (read off its ``env_seed``)."""
    return rows.assign(task=task_names_of(rows.env_seed.to_numpy()))


def _metaworld_env(name: str):
    """A goal-observable Meta-World env of task ``name`` with fresh, seeded starts."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

    # seed=0: the class resets once while it is built, from numpy's global generator unless
    # given a seed (it then restores the global state); our own seed comes at every reset.
    env = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{name}-v3-goal-observable"](seed=0)
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True
    return env


class MetaWorldMT15(gym.Env):
    """The 15 tasks behind one env: ``reset(seed=s)`` starts task ``s mod 15``.

    Each task's simulator is built on first use and kept (about 13 MB each); a vector env of
    15 copies (``TaskSpec.vector_envs``) fed consecutive seeds keeps one task per copy.
    """

    metadata = {"render_modes": []}

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode is not None:
            raise ValueError("the book runs Meta-World on states only; it renders no frames "
                             f"(got render_mode={render_mode!r})")
        n = len(MT15)
        self.observation_space = gym.spaces.Dict({
            "observation": gym.spaces.Box(-np.inf, np.inf, (STATE_DIM + n,), np.float64),
            "desired_goal": gym.spaces.Box(-np.inf, np.inf, (GOAL_DIM,), np.float64),
        })
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self._envs: dict[int, Any] = {}
        self._task = -1
        self._solved = False

    def _obs(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        onehot = np.zeros(len(MT15))
        onehot[self._task] = 1.0
        return {"observation": np.concatenate([raw[:STATE_DIM], onehot]),
                "desired_goal": np.asarray(raw[STATE_DIM:STATE_DIM + GOAL_DIM], np.float64)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None:  # gymnasium's contract: an unseeded reset continues the env's stream
            seed = int(self.np_random.integers(2**31))
        self._task = task_of_seed(int(seed))
        if self._task not in self._envs:
            self._envs[self._task] = _metaworld_env(TASK_NAMES[self._task])
        env = self._envs[self._task]
        env.seed(int(seed))
        raw, _ = env.reset()
        self._solved = False
        return self._obs(raw), {"is_success": False, "task": TASK_NAMES[self._task]}

    def step(self, action: np.ndarray):
        if self._task < 0:
            raise RuntimeError("reset the env (with a seed) before stepping it")
        raw, _, _, _, info = self._envs[self._task].step(
            np.clip(np.asarray(action, np.float32), -1.0, 1.0))
        self._solved = self._solved or bool(info["success"])
        return (self._obs(raw), 0.0 if self._solved else -1.0, False, False,
                {"is_success": self._solved, "task": TASK_NAMES[self._task]})

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


def policy_class_name(task: str) -> str:
    """Meta-World's scripted policy for ``task``: ``door-open`` -> ``SawyerDoorOpenV3Policy``."""
    return "Sawyer" + "".join(w.capitalize() for w in task.split("-")) + "V3Policy"
