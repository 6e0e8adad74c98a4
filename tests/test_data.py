"""Demonstrations: views, Minari round trip, determinism, and the errors a user can hit."""

from __future__ import annotations

import numpy as np
import pytest

from actjepa_core.data import (
    Demonstrations,
    collect,
    dataset_id,
    demonstrations,
    load_minari,
    save_minari,
)
from actjepa_core.envs import get_task
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds


def _reach_controller(obs: np.ndarray) -> np.ndarray:
    """A proportional controller: enough to make real episodes without the experts."""
    layout = get_task("reach").layout
    act = np.zeros((len(obs), 4), np.float32)
    act[:, :3] = np.clip(10 * (obs[:, layout["goal"]] - obs[:, layout["grip_pos"]]), -1, 1)
    return act


@pytest.fixture(scope="module")
def reach_demos() -> Demonstrations:
    r = run_episodes("reach", _reach_controller, episode_seeds("tests", 6), num_envs=6,
                     action_noise=0.1, noise_seed=1)
    return Demonstrations("reach", r.obs, r.actions, r.rewards, r.success, r.seeds)


def test_transitions_are_consecutive_standardised_steps(reach_demos):
    o, a, o_next = reach_demos.transitions()
    E, T = reach_demos.n_episodes, reach_demos.episode_len
    assert o.shape == (E * T, 13) and a.shape == (E * T, 4) and o_next.shape == (E * T, 13)
    # the step after o_t in an episode is o_{t+1}: o_next[k] == o[k + 1] within an episode
    np.testing.assert_array_equal(o_next[: T - 1], o[1:T])
    raw = reach_demos.stats.unstandardize(o[:T])
    np.testing.assert_allclose(raw, reach_demos.obs[0, :T], atol=1e-5)


def test_windows_line_up_with_episodes(reach_demos):
    T = reach_demos.episode_len
    w = reach_demos.windows(obs_horizon=2, chunk=5, obs_chunk=3)
    assert w["obs"].shape == (reach_demos.n_episodes * T, 2, 13)
    assert w["actions"].shape == (reach_demos.n_episodes * T, 5, 4)
    unstd = reach_demos.stats.unstandardize
    k = T + 1  # episode 1, t = 1
    np.testing.assert_array_equal(w["actions"][k], reach_demos.actions[1, 1:6])
    np.testing.assert_allclose(unstd(w["future_obs"][k]), reach_demos.obs[1, 2:5], atol=1e-5)
    np.testing.assert_allclose(unstd(w["obs"][k]), reach_demos.obs[1, 0:2], atol=1e-5)
    first = T  # episode 1, t = 0: the history repeats o_0
    np.testing.assert_allclose(unstd(w["obs"][first]), reach_demos.obs[1, [0, 0]], atol=1e-5)
    last = 2 * T - 1  # episode 1, t = T - 1: the chunk runs past the end
    np.testing.assert_array_equal(w["action_pad"][last], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(w["actions"][last], np.repeat(reach_demos.actions[1, -1:], 5, 0))
    np.testing.assert_array_equal(w["future_pad"][last], [0, 1, 1])  # o_T exists, then padding
    np.testing.assert_allclose(unstd(w["future_obs"][last]), reach_demos.obs[1, [T, T, T]], atol=1e-5)
    assert w["action_pad"][k].sum() == 0 and w["future_pad"][k].sum() == 0
    with pytest.raises(ValueError, match="action chunk"):
        reach_demos.windows(1, T + 1, 1)


def test_minari_round_trip_is_exact(reach_demos, tmp_path):
    ds = dataset_id("reach", 0, 0.1)
    save_minari(reach_demos, ds, root=tmp_path)
    back = load_minari(ds, "reach", root=tmp_path)
    for f in ("obs", "actions", "rewards", "success", "seeds"):
        np.testing.assert_array_equal(getattr(back, f), getattr(reach_demos, f))
    import minari  # anyone with Minari can open it, and the env is recorded

    opened = minari.MinariDataset(str(tmp_path / ds / "data"))
    assert opened.total_episodes == reach_demos.n_episodes
    assert opened.spec.dataset_id == ds and opened.spec.env_spec.id == "FetchReach-v4"


def test_asking_more_episodes_than_stored_names_both_numbers(reach_demos, tmp_path):
    ds = dataset_id("reach", 0, 0.1)
    save_minari(reach_demos, ds, root=tmp_path)
    with pytest.raises(ValueError, match="asked for 99 episodes .* holds only 6"):
        load_minari(ds, "reach", 99, root=tmp_path)
    with pytest.raises(ValueError, match="hold 6"):
        reach_demos.first(7)


def test_missing_and_corrupt_datasets_fail_clearly(reach_demos, tmp_path):
    with pytest.raises(FileNotFoundError, match="no dataset"):
        load_minari(dataset_id("reach", 3), "reach", root=tmp_path)
    ds = dataset_id("reach", 0, 0.1)
    folder = save_minari(reach_demos, ds, root=tmp_path)
    (folder / "data" / "main_data.hdf5").write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="corrupt"):
        load_minari(ds, "reach", root=tmp_path)


def test_a_corrupt_metadata_file_is_an_error_naming_it(reach_demos, tmp_path):
    ds = dataset_id("reach", 0, 0.1)
    folder = save_minari(reach_demos, ds, root=tmp_path)
    (folder / "data" / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"corrupt or unreadable"):
        load_minari(ds, "reach", root=tmp_path)


def test_dataset_ids_come_from_exact_values():
    assert dataset_id("reach", 0, 0.1).endswith("-noise100-v0")  # the ids already on disk
    assert dataset_id("reach", 0, 0.1004) != dataset_id("reach", 0, 0.1)
    assert dataset_id("reach", 0, 0.1000000001) != dataset_id("reach", 0, 0.1)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="action_noise"):
            dataset_id("reach", 0, bad)


def test_two_processes_collecting_one_dataset_both_get_it(tmp_path):
    """The temporary id was fixed: two writers at once crashed each other (4 of 6 trials)."""
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from actjepa_core.data import demonstrations;"
              f"d = demonstrations('reach', 4, root=Path({str(tmp_path)!r}), progress=False);"
              "print(float(d.obs.sum()))")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-1500:] for _, err in outs]
    assert len({out for out, _ in outs}) == 1
    assert not list(tmp_path.rglob("*-tmp*")), "no temporary dataset left behind"


def test_bad_arrays_are_refused(reach_demos):
    d = reach_demos
    obs = d.obs.copy()
    obs[2, 7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN.*episode 2"):
        Demonstrations("reach", obs, d.actions, d.rewards, d.success, d.seeds)
    with pytest.raises(ValueError, match=r"shape \(episodes, T\+1, 28\)"):
        Demonstrations("push", d.obs, d.actions, d.rewards, d.success, d.seeds)
    with pytest.raises(ValueError, match="actions must have shape"):
        Demonstrations("reach", d.obs, d.actions[:, :-1], d.rewards, d.success, d.seeds)
    with pytest.raises(ValueError, match="unknown task"):
        Demonstrations("stack", d.obs, d.actions, d.rewards, d.success, d.seeds)


@pytest.mark.parametrize("task", ["reach", "push"])
def test_collection_is_deterministic_and_nested(task):
    a = collect(task, 4, seed=2, action_noise=0.1)
    b = collect(task, 4, seed=2, action_noise=0.1)
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert a.success.all()
    small = collect(task, 2, seed=2, action_noise=0.1)
    np.testing.assert_array_equal(small.obs, a.obs[:2])
    other = collect(task, 2, seed=3, action_noise=0.1)
    assert not set(other.seeds) & set(a.seeds)


def test_demonstrations_caches_and_serves_prefixes(tmp_path):
    first = demonstrations("reach", 3, seed=1, root=tmp_path, progress=False)
    again = demonstrations("reach", 2, seed=1, root=tmp_path, progress=False)
    np.testing.assert_array_equal(again.obs, first.obs[:2])
    bigger = demonstrations("reach", 5, seed=1, root=tmp_path, progress=False)
    np.testing.assert_array_equal(bigger.obs[:3], first.obs)


def test_a_read_racing_a_replacement_is_read_again_under_the_lock(tmp_path, monkeypatch):
    from actjepa_core import data as data_mod

    first = data_mod.demonstrations("reach", 2, seed=0, action_noise=0.1, root=tmp_path,
                                    progress=False)
    real, calls = data_mod.load_minari, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # what a reader sees while a writer has deleted the old folder
            raise RuntimeError("No data found in data path")
        return real(*args, **kwargs)

    monkeypatch.setattr(data_mod, "load_minari", racing)
    again = data_mod.demonstrations("reach", 2, seed=0, action_noise=0.1, root=tmp_path,
                                    progress=False)
    assert len(calls) == 2
    np.testing.assert_array_equal(again.obs, first.obs)
