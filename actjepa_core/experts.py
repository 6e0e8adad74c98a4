"""Scripted experts for the three Fetch tasks, and Meta-World's own behind the same interface
(``MetaWorldExpert``): the demonstrators ACT-JEPA imitates.

Every expert is *stateless*: its action is a function of the current flat observation
only. The phase of the task (approach, descend, grasp, carry, push ...) is read off the
geometry in the observation, e.g. "is the block between the fingers and are they closed"
or "is the gripper behind the block on the line to the goal". Two reasons:

* a learner imitating the expert sees one consistent observation -> action map, with no
  hidden memory that it would have to guess from the history;
* the experts run unchanged on vectorised envs: each call is numpy over the batch, with
  no Python loop over envs and no ``reset`` to keep in sync.

Recovering is free with a stateless expert: if the block slips out of the fingers or
gets knocked off the push line, the geometry says so and the expert falls back to the
phase that fits, instead of carrying on with a plan that no longer holds.

Actions are 4-dim in [-1, 1]: dx, dy, dz of the gripper's mocap target (the env scales
them by 0.05 m per step) and the finger command (+1 open, -1 close). Position commands
are proportional controllers ``gain * error`` clipped to [-1, 1]; a gain of 10 per metre
moves the mocap target half of the remaining error per step (10 * 0.05 m = 0.5), fast
without overshooting the gripper's lagging arm.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .envs import ObsLayout, check_flat_obs, get_task
from .meta_world import MT15, STATE_DIM, policy_class_name
from .rollout import run_episodes
from .seeds import episode_seeds
from .stats import wilson_interval

Expert = Callable[[np.ndarray], np.ndarray]
"""Maps a batch of flat observations (n, obs_dim) float32 to actions (n, 4) float32 in [-1, 1]."""

OPEN: float = 1.0
"""Finger command that opens the gripper."""
CLOSE: float = -1.0
"""Finger command that closes the gripper."""
_EPS: float = 1e-8
"""Guards the normalisation of zero-length direction vectors."""


@dataclass(frozen=True)
class ReachGains:
    """Tuning of the Reach expert."""

    gain: float = 10.0
    """Action per metre of gripper-to-goal error (0.5 of the error per step at the mocap)."""


@dataclass(frozen=True)
class PushGains:
    """Tuning of the Push expert; lengths in metres, block half-size is 0.025 m."""

    gain: float = 10.0
    """Action per metre of position error while repositioning behind the block."""
    push_gain: float = 6.0
    """Action per metre of remaining block-to-goal distance while pushing: slow near the
    goal, since a block pushed fast slides on past it after the gripper stops."""
    push_min: float = 0.2
    """Smallest push speed (action units) so the gripper closes the gap to the block."""
    lateral_gain: float = 15.0
    """Action per metre of sideways offset from the block-goal line while pushing."""
    standoff: float = 0.065
    """Distance behind the block centre of the pre-push point (clear of the block)."""
    clearance: float = 0.06
    """Height above the block centre for travelling over the block."""
    lift_first: float = 0.6
    """Fraction of ``clearance`` to climb before moving sideways over the block."""
    keep_out: float = 0.055
    """A low path passing closer than this to the block centre would knock it: go over."""
    behind: float = 0.02
    """The gripper is behind the block if it is this far back along the push direction."""
    lateral_tol: float = 0.02
    """Largest sideways offset from the push line at which pushing goes on."""
    start_tol: float = 0.012
    """Pre-push point reached (xy) within this: descend to push height."""
    depth: float = 0.01
    """Push height is this far below the block centre: pushing above the centre tips it."""
    low: float = 0.012
    """The gripper is at push height if at most this far above the block centre."""
    done: float = 0.02
    """Block within this of the goal (xy): hold still, the task is done."""


@dataclass(frozen=True)
class PickPlaceGains:
    """Tuning of the Pick-and-Place expert; lengths in metres, widths are finger sums."""

    gain: float = 10.0
    """Action per metre of position error (approach, descent and carry)."""
    hover: float = 0.05
    """Height above the block centre at which the gripper lines up before descending."""
    align_tol: float = 0.02
    """xy offset from the block below which the gripper descends."""
    grasp_xy: float = 0.012
    """xy offset from the block below which the block counts as between the fingers."""
    grasp_z: float = 0.015
    """Height offset from the block below which the block counts as between the fingers."""
    open_width: float = 0.08
    """Finger opening above which the gripper is open enough to descend over the block."""
    held_width: float = 0.07
    """Finger opening below which fingers around the block hold it (open: 0.1, on block: 0.05)."""
    empty_width: float = 0.03
    """Finger opening below which the fingers closed on nothing (on the block they stop at 0.05)."""
    held_dist: float = 0.04
    """Block within this of the grip point and fingers on it: held (it may hang low in a
    loose grasp, so this is wider than the grasp tolerances)."""


def make_expert(task: str) -> Expert:
    """The scripted expert of a task by short name; an unknown name raises ``ValueError``."""
    spec = get_task(task)
    experts: dict[str, Callable[[ObsLayout], Expert]] = {
        "reach": ReachExpert,
        "push": PushExpert,
        "pick_place": PickPlaceExpert,
        "metaworld": MetaWorldExpert,
    }
    return experts[spec.name](spec.layout)


def _move(error: np.ndarray, gain: float) -> np.ndarray:
    """Proportional position command ``gain * error`` clipped to the action box."""
    return np.clip(gain * error, -1.0, 1.0)


def _action(move: np.ndarray, fingers: np.ndarray | float) -> np.ndarray:
    """Stack (n, 3) motion and a finger command into float32 (n, 4) actions."""
    fingers = np.broadcast_to(np.asarray(fingers, dtype=np.float64), (move.shape[0],))
    return np.concatenate([move, fingers[:, None]], axis=1).astype(np.float32)


class ReachExpert:
    """Reach: a proportional controller straight to the goal.

    The arm has no obstacle on the way and the goal is always reachable, so the whole
    task is one phase. The fingers are locked by the env; the command is 0.
    """

    def __init__(self, layout: ObsLayout, gains: ReachGains = ReachGains()) -> None:
        self.layout, self.gains = layout, gains

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_flat_obs(obs, self.layout.dim, np.float64)
        error = obs[:, self.layout["goal"]] - obs[:, self.layout["grip_pos"]]
        return _action(_move(error, self.gains.gain), 0.0)


class PushExpert:
    """Push: get behind the block on the goal->block line, then push it along that line.

    Phases, decided per env from geometry (u is the unit xy direction block -> goal):

    * done: the block is within ``done`` of the goal; hold still.
    * push: the gripper is low, behind the block (along u) and within ``lateral_tol``
      of the line; move along u at a speed proportional to the block's remaining
      distance (never below ``push_min``, to close the gap to the block), plus a
      sideways correction back onto the line. The line is recomputed every step, so
      a block that turns or drifts is steered back.
    * reposition: go to the pre-push point ``standoff`` behind the block on the line.
      If the straight low path there would pass within ``keep_out`` of the block, lift
      to ``clearance`` above it first (no xy motion while still low) and travel over;
      once over the pre-push point, descend to push height.

    The fingers are locked closed by the env, so the finger command is 0.
    """

    def __init__(self, layout: ObsLayout, gains: PushGains = PushGains()) -> None:
        self.layout, self.gains = layout, gains

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_flat_obs(obs, self.layout.dim, np.float64)
        g, L = self.gains, self.layout
        grip, block, goal = obs[:, L["grip_pos"]], obs[:, L["object_pos"]], obs[:, L["goal"]]
        to_goal = goal[:, :2] - block[:, :2]
        dist = np.linalg.norm(to_goal, axis=1)
        u = to_goal / np.maximum(dist, _EPS)[:, None]
        perp = np.stack([-u[:, 1], u[:, 0]], axis=1)
        rel = grip[:, :2] - block[:, :2]
        along, lateral = np.sum(rel * u, axis=1), np.sum(rel * perp, axis=1)
        low = grip[:, 2] - block[:, 2] < g.low
        pushing = low & (along < -g.behind) & (np.abs(lateral) < g.lateral_tol)

        move = self._reposition(grip, block, u)
        speed = np.maximum(g.push_gain * dist, g.push_min)
        push_xy = u * speed[:, None] - perp * (g.lateral_gain * lateral)[:, None]
        push_z = g.gain * (block[:, 2] - g.depth - grip[:, 2])
        push = np.clip(np.concatenate([push_xy, push_z[:, None]], axis=1), -1.0, 1.0)
        move = np.where(pushing[:, None], push, move)
        move = np.where((dist < g.done)[:, None], 0.0, move)
        return _action(move, 0.0)

    def _reposition(self, grip: np.ndarray, block: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Motion towards the pre-push point, over the block when a low path would hit it."""
        g = self.gains
        start = block[:, :2] - g.standoff * u
        to_start = start - grip[:, :2]
        at_start = np.linalg.norm(to_start, axis=1) < g.start_tol
        blocked = _segment_distance(block[:, :2], grip[:, :2], start) < g.keep_out
        go_over = blocked & ~at_start
        high_z = block[:, 2] + g.clearance
        target_z = np.where(go_over, high_z, block[:, 2] - g.depth)
        still_low = grip[:, 2] < block[:, 2] + g.lift_first * g.clearance
        xy = np.where((go_over & still_low)[:, None], 0.0, to_start)
        error = np.concatenate([xy, (target_z - grip[:, 2])[:, None]], axis=1)
        return _move(error, g.gain)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``a``-``b``, row by row (any dimension)."""
    ab = b - a
    t = np.sum((p - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), _EPS)
    closest = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return np.linalg.norm(p - closest, axis=1)


class PickPlaceExpert:
    """Pick-and-Place: line up over the block, descend open, close, carry to the goal.

    Phases, decided per env from geometry:

    * carry: the block is within ``held_dist`` of the grip point and the finger opening
      is between ``empty_width`` and ``held_width`` (closed on the block, not on
      nothing): move so that the *block* goes to the goal, fingers closed. Goals in
      the air and on the table are the same straight move.
    * grasp: the block is between the open fingers (within ``grasp_xy`` / ``grasp_z``):
      stay and close. As soon as the fingers are closed enough, carry takes over.
    * descend: the gripper is within ``align_tol`` of the block in xy and open wider
      than ``open_width``: go down onto the block, correcting xy, fingers opening.
    * approach: otherwise, move to ``hover`` above the block with the fingers opening.

    A dropped block is no longer held, so the expert falls back to approach and regrasps.
    """

    def __init__(self, layout: ObsLayout, gains: PickPlaceGains = PickPlaceGains()) -> None:
        self.layout, self.gains = layout, gains

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_flat_obs(obs, self.layout.dim, np.float64)
        g, L = self.gains, self.layout
        grip, block, goal = obs[:, L["grip_pos"]], obs[:, L["object_pos"]], obs[:, L["goal"]]
        rel = block - grip
        xy_off = np.linalg.norm(rel[:, :2], axis=1)
        width = np.sum(obs[:, L["gripper_state"]], axis=1)
        on_block = (width < g.held_width) & (width > g.empty_width)
        held = (np.linalg.norm(rel, axis=1) < g.held_dist) & on_block
        between = (xy_off < g.grasp_xy) & (np.abs(rel[:, 2]) < g.grasp_z)
        grasp = between & ~held
        descend = (xy_off < g.align_tol) & (width > g.open_width) & ~held & ~grasp

        hover = rel + np.array([0.0, 0.0, g.hover])
        error = np.where(descend[:, None], rel, hover)
        error = np.where(grasp[:, None], 0.0, error)
        error = np.where(held[:, None], goal - block, error)
        fingers = np.where(held | grasp, CLOSE, OPEN)
        return _action(_move(error, g.gain), fingers)


class MetaWorldExpert:
    """Meta-World's own scripted policy of each episode's task, on a batch of flat observations.

    The task is read off the one-hot; the policy gets Meta-World's 39 numbers back (state,
    then goal) as a fresh float64 copy, because some policies write into their input (door
    open shifts the door position it parsed). Their actions can exceed [-1, 1] (up to about
    20 on door-close); they are clipped here, as the env would, so the stored demonstrations
    hold the actions the simulator executed.
    """

    def __init__(self, layout: ObsLayout) -> None:
        import metaworld.policies as policies

        self.layout = layout
        self.policies = [getattr(policies, policy_class_name(t.name))() for t in MT15]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_flat_obs(obs, self.layout.dim, np.float64)
        tasks = obs[:, self.layout["task"]].argmax(1)
        raw = np.concatenate([obs[:, :STATE_DIM], obs[:, self.layout["goal"]]], axis=1)
        with warnings.catch_warnings():  # "Constant(s) may be too high": we clip, as it says
            warnings.filterwarnings("ignore", message="Constant", category=UserWarning)
            actions = np.stack([self.policies[k].get_action(raw[i].copy())
                                for i, k in enumerate(tasks)])
        return np.clip(actions, -1.0, 1.0).astype(np.float32)


def check_expert(task: str, episodes: int = 200, num_envs: int = 16) -> dict[str, float | int | str]:
    """Success of ``task``'s expert on the seeds reserved for this check, and its speed.

    The episodes are ``episode_seeds("expert_check", episodes)``: never a demonstration
    or an evaluation episode. Success is the env's ``info["is_success"]`` at the last
    step; the interval is a 95% Wilson interval; wall time includes creating the envs.
    """
    start = time.perf_counter()
    r = run_episodes(task, make_expert(task), episode_seeds("expert_check", episodes), num_envs)
    wall = time.perf_counter() - start
    wins = int(r.success.sum())
    low, high = wilson_interval(wins, episodes)
    return {
        "task": task, "episodes": episodes, "success": wins / episodes, "ci_low": low,
        "ci_high": high, "eps_per_s": episodes / wall,
        "steps_per_s": episodes * get_task(task).max_episode_steps / wall,
        "failed_seeds": " ".join(str(s) for s in r.seeds[~r.success]),
    }
