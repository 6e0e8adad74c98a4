"""RGB frames of the Fetch tasks, seen from one fixed camera, for the pixel tasks.

A pixel task (``envs.get_task("push-pixels64")``) runs the same env, experts and episodes
as its state task; only what the policy sees changes: a frame of the scene instead of the
state vector. Frames are rendered here, one batch per step of a vector env.

The camera is a free camera looking at (1.3, 0.75, 0.55) from 1.1 m, azimuth 150 degrees,
elevation -30 degrees: the table, the gripper, the block and the goals (on the table for
Push, up to 45 cm in the air for Pick-and-Place and Reach) are all in view for the three
tasks. It does not follow the gripper (as gymnasium-robotics' own viewer does): a moving
camera would make the policy read its own motion from the background.

Rendering must never change an episode. The env's own ``render()`` calls ``mj_forward`` on
the simulation's data, which refreshes body positions that the next step reads before it
recomputes them (Fetch's action sets the mocap target from the gripper body's position),
so a Pick-and-Place episode with rendering would differ from the same episode without.
Here each frame is computed on a private copy of the model and a scratch ``MjData``: the
sub-env's joint and mocap positions are copied in, ``mj_kinematics`` places the bodies and
the goal marker is drawn at the sub-env's goal. Nothing of the env is written.
"""

from __future__ import annotations

import atexit
import copy
import os
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

CHANNELS = 3
"""RGB."""


OFFSCREEN_SAMPLES = 0
"""Multisampling of the frames: none. Fetch's model asks for 4x anti-aliasing, which halves
the frame rate of a software (llvmpipe) renderer (50 against 112 frames/s at 64x64) and
changes a 64x64 frame's mean by 0.04 of 255."""


@dataclass(frozen=True)
class Camera:
    """A MuJoCo free camera: where it looks, from how far, from which direction (degrees)."""

    lookat: tuple[float, float, float]
    distance: float
    azimuth: float
    elevation: float


CAMERA = Camera(lookat=(1.3, 0.75, 0.55), distance=1.1, azimuth=150.0, elevation=-30.0)
"""The one camera of every pixel task (see the module docstring for why this pose)."""

GOAL_SITE = "target0"
"""The red sphere Fetch draws at the goal."""

GL_FIX = ("set MUJOCO_GL=egl (needs libEGL, Debian package libegl1) or MUJOCO_GL=osmesa "
          "(needs Debian package libosmesa6) in the environment BEFORE mujoco is first "
          "imported (in a notebook: before importing actjepa_core, or restart the kernel)")
"""How to get a headless OpenGL renderer; part of every rendering error."""


class FrameRenderer:
    """Renders the current frame of every sub-env of a Fetch ``SyncVectorEnv``.

    One OpenGL context serves all sub-envs: a software (llvmpipe) context costs about
    120 MB, and frames are drawn one after the other anyway, so one context per sub-env
    (25 in the full profile's evaluation) would cost gigabytes and gain nothing. The
    sub-envs are copies of one task, so one copy of the model draws any of them.
    """

    def __init__(self, venv: Any, size: int, camera: Camera = CAMERA) -> None:
        import mujoco

        self._envs = _fetch_envs(venv)
        if not (isinstance(size, int) and size >= 1):
            raise ValueError(f"frame size must be a positive integer, got {size!r}")
        self.size = size
        self._model = copy.deepcopy(self._envs[0].model)
        _hide_mocap(self._model)
        vis = self._model.vis.global_
        vis.offwidth, vis.offheight = max(vis.offwidth, size), max(vis.offheight, size)
        self._model.vis.quality.offsamples = OFFSCREEN_SAMPLES
        self._data = mujoco.MjData(self._model)
        self._goal_site = mujoco.mj_name2id(self._model, mujoco.mjtObj.mjOBJ_SITE, GOAL_SITE)
        if self._goal_site < 0:
            raise ValueError(f"the env has no site {GOAL_SITE!r} to draw the goal; "
                             "is it a Fetch env?")
        self._camera = _free_camera(camera)
        self._renderer = _make_renderer(self._model, size)
        self._finalizer = weakref.finalize(self, _close_quietly, self._renderer)
        # At exit, before MuJoCo's own atexit hook terminates the EGL display (registered
        # when mujoco.egl was imported, so it runs after this one): weakref's hook may have
        # been registered earlier than MuJoCo's and then run too late.
        atexit.register(self._finalizer)

    @property
    def num_envs(self) -> int:
        return len(self._envs)

    def render(self) -> np.ndarray:
        """Frames of all sub-envs as they are now: uint8 (num_envs, 3, size, size)."""
        if not self._finalizer.alive:
            raise RuntimeError("this FrameRenderer is closed; make a new one")
        frames = np.empty((self.num_envs, CHANNELS, self.size, self.size), np.uint8)
        for i, env in enumerate(self._envs):
            frames[i] = self._render_one(env).transpose(2, 0, 1)
        return frames

    def _render_one(self, env: Any) -> np.ndarray:
        """One (size, size, 3) frame of ``env``'s current state, its goal drawn."""
        import mujoco

        m, d = self._model, self._data
        d.qpos[:] = env.data.qpos
        d.mocap_pos[:] = env.data.mocap_pos
        d.mocap_quat[:] = env.data.mocap_quat
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_camlight(m, d)  # the light's position: a fresh MjData has it at 0
        d.site_xpos[self._goal_site] = env.goal
        self._renderer.update_scene(d, camera=self._camera)
        return self._renderer.render()

    def close(self) -> None:
        """Free the OpenGL context (also done when the renderer is collected or at exit)."""
        self._finalizer()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_quietly(renderer: Any) -> None:
    """Free a renderer's OpenGL context. At interpreter exit MuJoCo's EGL display may be
    terminated before the finaliser runs; the context is then already gone and freeing it
    raises EGL_NOT_INITIALIZED, a traceback in every worker's stderr that means nothing."""
    try:
        renderer.close()
    except Exception:  # noqa: BLE001 - PyOpenGL raises its own error types, all harmless here
        # nothing left to free: keep the renderer's own __del__ from trying again
        renderer._gl_context = renderer._mjr_context = None


def _fetch_envs(venv: Any) -> list[Any]:
    """The unwrapped sub-envs of ``venv``, checked to be MuJoCo Fetch envs of one task."""
    envs = getattr(venv, "envs", None)
    if not envs:
        raise TypeError("expected a gymnasium SyncVectorEnv of Fetch envs, "
                        f"got {type(venv).__name__}")
    unwrapped = [e.unwrapped for e in envs]
    for u in unwrapped:
        if not all(hasattr(u, a) for a in ("model", "data", "goal")):
            raise TypeError(f"{type(u).__name__} is not a MuJoCo Fetch env "
                            "(needs .model, .data, .goal)")
    ids = {u.spec.id if u.spec else type(u).__name__ for u in unwrapped}
    if len(ids) > 1:
        raise ValueError("all sub-envs must be copies of one task to share a renderer, "
                         f"got {sorted(ids)}")
    return unwrapped


def _hide_mocap(model: Any) -> None:
    """Make the mocap body's geoms invisible (alpha 0: MuJoCo does not draw them).

    Fetch draws its mocap, the target the gripper is pulled to, as a faint cross of 2 m
    bars. No camera on a real robot sees it, and it jumps between the reset frame and the
    first step (a reset leaves it at its default place), so it stays out of the frames.
    """
    mocap_bodies = np.flatnonzero(model.body_mocapid >= 0)
    model.geom_rgba[np.isin(model.geom_bodyid, mocap_bodies), 3] = 0.0


def _free_camera(camera: Camera) -> Any:
    import mujoco

    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.lookat[:] = camera.lookat
    cam.distance, cam.azimuth, cam.elevation = camera.distance, camera.azimuth, camera.elevation
    return cam


def _make_renderer(model: Any, size: int) -> Any:
    """A ``mujoco.Renderer``, or a RuntimeError that says how to get OpenGL."""
    import mujoco

    try:
        return mujoco.Renderer(model, size, size)
    except Exception as e:  # GLFW, EGL and OSMesa each fail with their own exception types
        gl = os.environ.get("MUJOCO_GL")
        raise RuntimeError(
            f"cannot render frames: MuJoCo found no working OpenGL renderer "
            f"(MUJOCO_GL={gl!r}; {type(e).__name__}: {e}). To fix it, {GL_FIX}."
        ) from e


def check_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """``frames`` if they are uint8 (n, 3, size, size); otherwise a ValueError naming why.

    Frames are exact 0..255 integers everywhere they are stored: a float frame here means
    it was already converted (or noised) and would be converted again.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (raw 0..255 pixels), got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[1:] != (CHANNELS, size, size):
        raise ValueError(f"frames must have shape (n, {CHANNELS}, {size}, {size}) (channels "
                         f"first), got {frames.shape}")
    return frames


def flat_frames(frames: np.ndarray) -> np.ndarray:
    """uint8 (n, 3, S, S) frames as the flat float32 (n, 3*S*S) observations policies see."""
    frames = np.asarray(frames)
    size = frames.shape[-1] if frames.ndim == 4 else -1
    check_frames(frames, size)
    return frames.reshape(len(frames), -1).astype(np.float32)
