"""Bad inputs that once ran silently or crashed unhelpfully: each is a clear error now (or a
valid result, where the input was valid). One table, so the count cannot silently regress."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actjepa_core.__main__ import main
from actjepa_core.data import Demonstrations, collect, dataset_id
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy
from actjepa_core.experiments import Runner, RunSpec
from actjepa_core.results import experiment_results
from actjepa_core.rollout import run_episodes


def zero_policy(obs: np.ndarray) -> np.ndarray:
    return np.zeros((len(obs), 4), np.float32)


def tiny_demos() -> Demonstrations:
    spec = get_task("reach")
    T = spec.max_episode_steps
    return Demonstrations("reach", np.zeros((1, T + 1, spec.obs_dim), np.float32),
                          np.zeros((1, T, 4), np.float32), np.zeros((1, T), np.float32),
                          np.ones(1, bool), np.zeros(1, np.int64))


CASES = [
    ("evaluate at sigma -0.1", lambda: evaluate_policy("reach", zero_policy, 1, tiny_demos().stats, sigma=-0.1), "sigma must be a finite number >= 0"),
    ("evaluate at sigma nan", lambda: evaluate_policy("reach", zero_policy, 1, tiny_demos().stats, sigma=math.nan), "sigma must be a finite number >= 0"),
    ("evaluate at sigma inf", lambda: evaluate_policy("reach", zero_policy, 1, tiny_demos().stats, sigma=math.inf), "sigma must be a finite number >= 0"),
    ("rollout with action noise nan", lambda: run_episodes("reach", zero_policy, [0], action_noise=math.nan), "action_noise must be a finite number >= 0"),
    ("collect with action noise nan", lambda: collect("reach", 1, action_noise=math.nan, progress=False), "action_noise must be a finite number >= 0"),
    ("runner with 0 workers", lambda: Runner("/tmp/unused-cache", workers=0), "workers must be a positive integer"),
    ("pixel size with a leading zero", lambda: get_task("reach-pixels010"), "unknown task 'reach-pixels010'"),
    ("negative sensor noise", lambda: tiny_demos().with_sensor_noise(-0.1), "sensor-noise sigma must be a finite number >= 0"),
    ("frame size as a jepa override", lambda: RunSpec("reach-pixels16", method="autoencoder", jepa={"frame_size": 32}), "comes from the task name"),
    ("unknown profile", lambda: experiment_results("main", "nosuch"), "unknown profile 'nosuch'"),
]


@pytest.mark.parametrize("name,call,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(name, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_negative_seed_is_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["collect", "--seed", "-1"])
    assert "must be an integer >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("noise,part", [(0.1, "noise100"), (0.1004, "noise0p1004"),
                                        (0.0005, "noise0p0005")])
def test_dataset_ids_are_valid_and_lossless_for_any_noise(noise, part):
    import minari.dataset.minari_dataset as md  # the id Minari parses

    ds = dataset_id("push", 0, noise)
    assert part in ds and "." not in ds
    md.parse_dataset_id(ds)
