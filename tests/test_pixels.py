"""Pixel observations: frames of the right scene, episodes untouched by rendering, pixel
demonstrations that are the state demonstrations seen as frames, and clear errors."""

from __future__ import annotations

import os

import mujoco
import numpy as np
import pytest

from actjepa_core import data, pixels, rollout
from actjepa_core.envs import get_task, make_vector_env
from actjepa_core.experts import make_expert
from actjepa_core.seeds import episode_seeds

S = 16
TASK = f"push-pixels{S}"


@pytest.fixture(scope="module")
def push_states() -> data.Demonstrations:
    return data.collect("push", 2, seed=0, action_noise=0.1)


def _fresh_env(task: str, seeds: list[int]):
    env = make_vector_env(task, len(seeds))
    env.reset(seed=seeds)
    return env


def test_frames_are_uint8_channels_first_one_per_sub_env() -> None:
    env = _fresh_env("reach", [1, 2])
    with pixels.FrameRenderer(env, S) as r:
        frames = r.render()
        assert frames.shape == (2, 3, S, S) and frames.dtype == np.uint8
        assert not np.array_equal(frames[0], frames[1])  # two seeds, two goals
        assert np.array_equal(r.render(), frames)  # rendering is deterministic
        flat = pixels.flat_frames(frames)
        assert flat.dtype == np.float32 and flat.shape == (2, 3 * S * S)
        assert np.array_equal(flat[1, S * S:2 * S * S], frames[1, 1].ravel())  # green plane
    with pytest.raises(RuntimeError, match="closed"):
        r.render()


def test_frames_show_the_env_scene_with_its_goal() -> None:
    """The scratch-data frame equals the env's own rendering path (its _render_callback,
    then mj_forward on its data) through the same camera, mocap hidden the same way and
    without anti-aliasing (which would halve the frame rate)."""
    env = _fresh_env("pick_place", [3])
    env.step(np.full((1, 4), 0.5, np.float32))  # the arm and the mocap leave their reset place
    with pixels.FrameRenderer(env, S) as r:
        mine = r.render()[0]
    u = env.envs[0].unwrapped
    u._render_callback()  # the env's own goal drawing; this throwaway env may be touched
    pixels._hide_mocap(u.model)
    u.model.vis.quality.offsamples = 0  # frames are drawn without anti-aliasing
    ref = mujoco.Renderer(u.model, S, S)
    try:
        ref.update_scene(u.data, camera=pixels._free_camera(pixels.CAMERA))
        assert np.array_equal(ref.render().transpose(2, 0, 1), mine)
    finally:
        ref.close()


def test_moving_the_goal_changes_only_that_env_frame() -> None:
    env = _fresh_env("push", [4, 5])
    u = env.envs[0].unwrapped
    with pixels.FrameRenderer(env, S) as r:
        before = r.render()
        goal = u.goal.copy()
        u.goal = goal + np.array([-0.1, 0.1, 0.0])
        moved = r.render()
        u.goal = goal
        back = r.render()
    assert not np.array_equal(moved[0], before[0])
    assert np.array_equal(moved[1], before[1])
    assert np.array_equal(back, before)


@pytest.mark.parametrize("task", ["reach", "push", "pick_place"])
def test_rendering_leaves_episodes_bit_identical(task: str) -> None:
    """Pick-and-Place is the case that needs care: Fetch's action reads the gripper body's
    position before stepping, so refreshing the env's kinematics to render would change it."""
    run = rollout.run_episodes(task, make_expert(task), episode_seeds("tests", 2), num_envs=2,
                               action_noise=0.2)
    states, frames = rollout.replay_frames(f"{task}-pixels{S}", run.seeds, run.actions, 2)
    assert np.array_equal(states, run.obs)
    assert frames.shape == (2, 51, 3, S, S)


def test_a_pixel_task_feeds_noisy_frames_to_the_policy_and_records_states() -> None:
    seeds = episode_seeds("tests", 3)
    rng = np.random.default_rng(0)
    plan = rng.uniform(-1, 1, (50, 4)).astype(np.float32)  # the same open-loop actions for all
    seen: list[np.ndarray] = []

    def policy(obs: np.ndarray) -> np.ndarray:
        seen.append(obs.copy())
        return np.repeat(plan[(len(seen) - 1) % 50][None], len(obs), 0)

    def observe(obs: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        return obs + 1000.0  # out of pixel range: proves the policy saw what observe returned

    run = rollout.run_episodes(TASK, policy, seeds, num_envs=2, observe=observe)
    assert run.obs.shape == (3, 51, get_task("push").obs_dim)  # states, not frames
    assert len(seen) == 2 * 50 and seen[0].shape == (2, 3 * S * S)
    assert seen[0].dtype == np.float32 and seen[0].min() >= 1000.0 and seen[0].max() <= 1255.0
    # the frames seen at the first step are those of the reset states
    env = _fresh_env("push", [int(s) for s in seeds[:2]])
    with pixels.FrameRenderer(env, S) as r:
        assert np.array_equal(seen[0], pixels.flat_frames(r.render()) + 1000.0)
    # the recorded states are those of the same actions on the state task, without frames
    steps: list[int] = []

    def blind(obs: np.ndarray) -> np.ndarray:
        steps.append(0)
        return np.repeat(plan[(len(steps) - 1) % 50][None], len(obs), 0)

    states = rollout.run_episodes("push", blind, seeds, num_envs=2)
    assert np.array_equal(states.obs, run.obs) and np.array_equal(states.actions, run.actions)


def test_pixel_demonstrations_are_the_state_episodes_as_frames(tmp_path, monkeypatch) -> None:
    demos = data.demonstrations(TASK, 2, seed=0, action_noise=0.1, root=tmp_path, progress=False)
    states = data.demonstrations("push", 2, seed=0, action_noise=0.1, root=tmp_path)
    assert demos.task == TASK and demos.obs.shape == (2, 51, 3 * S * S)
    assert demos.obs.dtype == np.float32
    for f in ("actions", "rewards", "success", "seeds"):
        assert np.array_equal(getattr(demos, f), getattr(states, f)), f
    # the stored first frame is the frame a policy sees after the same reset
    env = _fresh_env("push", [int(demos.seeds[1])])
    with pixels.FrameRenderer(env, S) as r:
        assert np.array_equal(demos.obs[1, 0], pixels.flat_frames(r.render())[0])
    # stored raw, as Minari images, and served from storage afterwards
    ds_id = data.dataset_id(TASK, 0, 0.1)
    assert ds_id == f"actjepa/push/expert-s0-noise100-pixels{S}-v0"
    from minari import MinariDataset

    ds = MinariDataset(str(tmp_path / ds_id / "data"))
    assert ds.observation_space.shape == (S, S, 3) and ds.observation_space.dtype == np.uint8
    assert ds.storage.jpeg_encoding is False
    monkeypatch.setattr(data, "render_demonstrations", None)  # any rendering would fail
    again = data.demonstrations(TASK, 1, seed=0, action_noise=0.1, root=tmp_path)
    assert np.array_equal(again.obs, demos.obs[:1])


def test_replayed_states_that_differ_name_the_episode(push_states) -> None:
    bad = data.Demonstrations("push", push_states.obs.copy(), push_states.actions,
                              push_states.rewards, push_states.success, push_states.seeds)
    bad.obs[1, 20, 3] += 1e-6
    with pytest.raises(ValueError, match=r"episode 1 \(seed \d+\) of push"):
        data.render_demonstrations(TASK, bad)
    with pytest.raises(ValueError, match="of 'reach', got demonstrations of 'push'"):
        data.render_demonstrations("reach-pixels16", push_states)


def test_frame_statistics_are_per_channel() -> None:
    rng = np.random.default_rng(1)
    frames = np.empty((2, 51, 3, S, S), np.float32)
    frames[:, :, 0] = rng.integers(0, 256, frames[:, :, 0].shape)
    frames[:, :, 1] = rng.integers(100, 110, frames[:, :, 1].shape)
    frames[:, :, 2] = 42.0  # a channel that never changes: floored, not divided by 0
    d = data.Demonstrations(TASK, frames.reshape(2, 51, -1), np.zeros((2, 50, 4), np.float32),
                            np.zeros((2, 50), np.float32), np.ones(2, bool), np.arange(2))
    mean = d.stats.mean.reshape(3, S * S)
    std = d.stats.std.reshape(3, S * S)
    for c in range(2):
        assert np.allclose(mean[c], frames[:, :, c].mean(dtype=np.float64), rtol=1e-6)
        assert np.allclose(std[c], frames[:, :, c].std(dtype=np.float64), rtol=1e-5)
    assert np.all(mean[2] == 42.0) and np.all(std[2] == data.PIXEL_STD_FLOOR)
    z = d.stats.standardize(d.obs[0, 0]).reshape(3, S, S)
    assert np.all(z[2] == 0.0)
    noisy = d.with_sensor_noise(0.1, seed=0)
    step = (noisy.obs[0, 0] - d.obs[0, 0]).reshape(3, -1)
    assert abs(step[0].std() / (0.1 * std[0, 0]) - 1) < 0.15  # sigma in channel units


def test_frames_of_the_wrong_kind_are_refused() -> None:
    good = np.zeros((2, 3, S, S), np.uint8)
    assert pixels.check_frames(good, S) is not None
    with pytest.raises(ValueError, match="uint8"):
        pixels.check_frames(good.astype(np.float32), S)
    with pytest.raises(ValueError, match=r"channels\s+first"):
        pixels.check_frames(good.transpose(0, 2, 3, 1), S)
    with pytest.raises(ValueError, match=r"\(n, 3, 32, 32\)"):
        pixels.check_frames(good, 32)
    with pytest.raises(ValueError, match="uint8"):
        pixels.flat_frames(good.astype(np.float64))


def test_datasets_of_the_other_kind_are_refused(push_states, tmp_path) -> None:
    ds_id = data.dataset_id("push", 0, 0.0)
    data.save_minari(push_states, ds_id, tmp_path)
    with pytest.raises(ValueError, match=r"holds state observations .* read it as task 'push'"):
        data.load_minari(ds_id, TASK, root=tmp_path)
    frames = np.zeros((1, 51, 3 * S * S), np.float32)
    pix = data.Demonstrations(TASK, frames, push_states.actions[:1], push_states.rewards[:1],
                              push_states.success[:1], push_states.seeds[:1])
    pix_id = data.dataset_id(TASK, 0, 0.0)
    data.save_minari(pix, pix_id, tmp_path)
    with pytest.raises(ValueError, match=rf"holds frames .* read it as task '{TASK}'"):
        data.load_minari(pix_id, "push", root=tmp_path)
    with pytest.raises(ValueError, match=rf"holds frames .* read it as task '{TASK}'"):
        data.load_minari(pix_id, "push-pixels32", root=tmp_path)
    with pytest.raises(ValueError, match="not whole numbers in 0..255"):
        data.save_minari(pix.with_sensor_noise(0.1), pix_id, tmp_path)
    with pytest.raises(ValueError, match="rendered by replay"):
        data.collect(TASK, 1)


def test_a_missing_opengl_renderer_says_how_to_get_one(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise mujoco.FatalError("gladLoadGL error")

    monkeypatch.setattr(mujoco, "Renderer", broken)
    env = _fresh_env("reach", [0])
    with pytest.raises(RuntimeError) as e:
        pixels.FrameRenderer(env, S)
    msg = str(e.value)
    for part in ("gladLoadGL error", "MUJOCO_GL=egl", "libegl1", "MUJOCO_GL=osmesa",
                 "libosmesa6", "BEFORE mujoco is first imported"):
        assert part in msg, part


def test_a_renderer_needs_fetch_envs_of_one_task() -> None:
    with pytest.raises(TypeError, match="SyncVectorEnv"):
        pixels.FrameRenderer(object(), S)
    env = make_vector_env("reach", 1)
    env.envs.append(make_vector_env("push", 1).envs[0])
    with pytest.raises(ValueError, match="copies of one task"):
        pixels.FrameRenderer(env, S)


@pytest.mark.skipif(__import__("ctypes.util").util.find_library("OSMesa") is not None,
                    reason="OSMesa is installed here, so MUJOCO_GL=osmesa works")
def test_a_missing_opengl_library_fails_at_import_naming_the_fix() -> None:
    import subprocess
    import sys

    # without the PYOPENGL_PLATFORM that this process's mujoco import set (egl)
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"} | {"MUJOCO_GL": "osmesa"}
    out = subprocess.run([sys.executable, "-c", "import actjepa_core.envs"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "libosmesa6" in out.stderr and "MUJOCO_GL=egl" in out.stderr
