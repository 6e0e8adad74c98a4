"""Non-finite numbers and out-of-range settings stop at the boundary, with a clear error."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.experiments import RunSpec
from actjepa_core.results import read_results, write_results
from actjepa_core.rollout import run_episodes
from actjepa_core.training import check_finite


class NaNAfter:
    """A policy that acts sensibly, then returns NaN for one episode from step ``t``."""

    name = "NaN policy"

    def __init__(self, t: int):
        self.t, self.calls = t, 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        act = np.zeros((len(obs), 4), np.float32)
        if self.calls >= self.t:
            act[1] = np.nan
        self.calls += 1
        return act


def test_a_nan_action_stops_the_rollout_naming_policy_step_and_episode():
    with pytest.raises(FloatingPointError, match=r"NaN policy .* step 3 .* seed \[11\]"):
        run_episodes("reach", NaNAfter(3), seeds=[10, 11], num_envs=2)


def test_training_data_with_one_nan_is_refused():
    data = {"obs": torch.zeros(8, 3), "actions": torch.zeros(8, 2)}
    check_finite(data)
    data["obs"][5, 1] = math.nan
    with pytest.raises(ValueError, match=r"'obs' holds 1 non-finite"):
        check_finite(data)


def test_a_diverging_loss_stops_training_at_its_step():
    from actjepa_core.policies import BCConfig, train_bc
    from actjepa_core.envs import get_task

    o = np.random.default_rng(0).standard_normal((64, 13)).astype(np.float32)
    a = np.zeros((64, 4), np.float32)
    from actjepa_core.data import NormStats

    stats = NormStats(np.zeros(13, np.float32), np.ones(13, np.float32))
    with pytest.raises(FloatingPointError, match="is inf at step 1 of 4: training diverged"):
        train_bc(None, o * 1e30, a + 1e30, stats, get_task("reach").layout,
                 BCConfig(steps=4, batch_size=8, lr=1e30))


@pytest.mark.parametrize("field", ["lr", "weight_decay"])
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_configs_refuse_non_finite_optimiser_settings(field, value):
    with pytest.raises(ValueError, match=field):
        JEPAConfig(obs_dim=13, action_dim=4, **{field: value})


@pytest.mark.parametrize("bad", [dict(sigmas=(-1.0,)), dict(sigmas=(math.nan,)),
                                 dict(sigmas=(math.inf,)), dict(n_demos=0),
                                 dict(eval_episodes=0), dict(sigmas=())])
def test_specs_refuse_out_of_range_values_before_any_training(bad):
    with pytest.raises(ValueError):
        RunSpec("reach", **bad)


def test_one_nan_success_cell_is_an_error_at_load_not_a_changed_verdict(tmp_path):
    path = write_results(_two_rows(), tmp_path / "x.csv")
    assert len(read_results(path)) == 2
    text = path.read_text().replace("1.0", "nan", 1)
    path.write_text(text)
    with pytest.raises(ValueError, match=r"x.csv: 1 row\(s\) with success not 0 or 1 .*line 2"):
        read_results(path)


def test_results_under_the_old_column_names_say_how_to_rewrite_them(tmp_path):
    path = write_results(_two_rows(), tmp_path / "x.csv")
    old = pd.read_csv(path).rename(columns={"method": "pretraining", "label": "method"})
    old.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"missing columns \['label'\]; .*reproduce"):
        read_results(path)


def _two_rows() -> pd.DataFrame:
    specs = [json.dumps({"task": "reach", "seed": s, "eval_episodes": 1, "sigmas": [0.0]})
             for s in (0, 1)]
    return pd.DataFrame({"task": "reach", "label": "raw BC", "method": "raw", "seed": [0, 1],
                         "sigma": 0.0, "episode": 0, "success": [1.0, 0.0],
                         "spec_key": ["a", "b"], "spec": specs})


def test_mujoco_warnings_go_to_the_cache_folder_not_the_working_folder(tmp_path, monkeypatch):
    import mujoco

    from actjepa_core.envs import make_env

    monkeypatch.setenv("ACTJEPA_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    env = make_env("reach")
    data = env.unwrapped.data
    data.qacc_warmstart[:] = np.nan  # what a NaN action does to the solver
    with pytest.warns(RuntimeWarning, match="MuJoCo: .*logged to"):
        mujoco.mj_step(env.unwrapped.model, data)
    env.close()
    assert (tmp_path / "cache" / "MUJOCO_LOG.TXT").read_text()
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
