"""The experiment runner: spec validation, keys, cache hits, resumption, shared pretraining."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from actjepa_core.experiments import Runner, RunSpec

TINY = dict(n_demos=3, pretrain_steps=8, bc_steps=8, eval_episodes=3)


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    return Runner(tmp_path / "cache", progress=False)


def test_bad_specs_fail_with_the_choices():
    with pytest.raises(ValueError, match="unknown method 'byol'"):
        RunSpec("reach", method="byol")
    with pytest.raises(ValueError, match="unknown protocol"):
        RunSpec("reach", protocol="dagger")
    for method in ("raw", "autoencoder", "recon"):
        with pytest.raises(ValueError, match="needs ACT-JEPA's action-conditioned latent predictor"):
            RunSpec("reach", method=method, protocol="mpc")
    with pytest.raises(ValueError, match="view_noise"):  # a switch the method does not use
        RunSpec("reach", method="actjepa", jepa={"view_noise": 0.3})
    with pytest.raises(ValueError, match="unknown task"):
        RunSpec("stack")
    with pytest.raises((TypeError, ValueError)):
        RunSpec("reach", jepa={"not_a_field": 1})


def test_keys_change_with_every_field_and_pretraining_is_shared():
    base = RunSpec("reach", **TINY)
    assert base.key() == RunSpec("reach", **TINY).key()
    assert base.key() != RunSpec("reach", **{**TINY, "eval_episodes": 4}).key()
    assert base.key() != RunSpec("reach", jepa={"tau_fixed": 0.99}, **TINY).key()
    nn = RunSpec("reach", protocol="nn", **TINY)
    assert nn.key() != base.key() and nn.pretrain_key() == base.pretrain_key()
    assert RunSpec("reach", seed=1, **TINY).pretrain_key() != base.pretrain_key()


@pytest.mark.parametrize("method", ["autoencoder", "contrastive", "passive", "recon"])
def test_every_baseline_runs_and_its_model_reloads(runner, method):
    spec = RunSpec("reach", method=method, protocol="nn", **TINY)
    rows = runner.run([spec])
    assert len(rows) == 3 and set(rows["method"]) == {method}
    d = runner.training_demos(spec)
    fresh = runner.pretrained(spec, d)  # now loaded from the model cache
    z = torch.zeros(2, 13)
    assert fresh.encoder(z).shape == (2, 128)


def test_runs_are_cached_and_resumed(runner, monkeypatch):
    specs = [RunSpec("reach", protocol=p, sigmas=(0.0, 0.1), **TINY) for p in ("bc", "nn")]
    first = runner.run(specs[:1])  # "interrupted" after the first spec
    assert len(first) == 2 * 3 and set(first["sigma"]) == {0.0, 0.1}
    assert len(list((runner.cache_dir / "models").glob("*.pt"))) == 1
    calls = []
    original = Runner._compute
    monkeypatch.setattr(Runner, "_compute", lambda self, s: calls.append(s) or original(self, s))
    both = runner.run(specs)
    assert calls == [specs[1]]  # the finished spec was loaded, only the missing one ran
    assert len(list((runner.cache_dir / "models").glob("*.pt"))) == 1  # nn reused the encoder
    assert (both[both["protocol"] == "bc"]["success"].to_numpy() == first["success"].to_numpy()).all()
    calls.clear()
    runner.run(specs)
    assert calls == []
    assert not list((runner.cache_dir / "runs").glob("*.tmp"))


def test_parallel_runs_equal_sequential_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    specs = [RunSpec("reach", protocol=p, seed=s, **TINY) for s in (0, 1) for p in ("bc", "nn")]
    seq = Runner(tmp_path / "seq", progress=False).run(specs)
    par = Runner(tmp_path / "par", progress=False, workers=2).run(specs)
    assert seq.equals(par)
    assert len(list((tmp_path / "par" / "models").glob("*.pt"))) == 2  # one per seed


def test_the_label_names_a_row_but_does_not_decide_it(runner):
    a = RunSpec("reach", protocol="nn", label="full", **TINY)
    b = RunSpec("reach", protocol="nn", label="concat", **TINY)
    assert a.key() == b.key()
    rows_a, rows_b = runner.run([a]), runner.run([b])
    assert set(rows_a["label"]) == {"full"} and set(rows_b["label"]) == {"concat"}
    assert rows_a["success"].equals(rows_b["success"])
    assert len(list((runner.cache_dir / "runs").glob("*.csv"))) == 1


def test_results_files_round_trip_with_their_specs(runner, tmp_path, monkeypatch):
    from actjepa_core.results import experiment_results, specs_path, write_results
    from actjepa_core.profiles import get_profile
    from actjepa_core.suites import EXPERIMENTS

    specs = EXPERIMENTS["data_efficiency"](get_profile("smoke"))[:2]
    rows = runner.run(specs)
    path = write_results(rows, tmp_path / "results" / "smoke" / "data_efficiency.csv")
    assert "spec" not in pd.read_csv(path).columns  # the long JSON lives in the specs file
    assert len(pd.read_csv(specs_path(path))) == 2
    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path / "results"))
    back = experiment_results("data_efficiency", "smoke")
    assert back["spec"].equals(rows["spec"]) and back["success"].equals(rows["success"])


def test_missing_full_results_are_an_error_not_hours_of_recomputation(tmp_path, monkeypatch):
    from actjepa_core.results import experiment_results

    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path))
    monkeypatch.setenv("ACTJEPA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="reproduce --profile full --experiments main"):
        experiment_results("main", "full")
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        experiment_results("main", "smoke", recompute=False)
    assert not (tmp_path / "cache").exists(), "nothing was computed"


def test_chunked_specs_fail_clearly_on_bad_input():
    with pytest.raises(ValueError, match="action chunk .60 steps. is longer than an episode"):
        RunSpec("reach", method="act", protocol="policy", policy={"chunk": 60})
    with pytest.raises(ValueError, match="has no field"):
        RunSpec("reach", method="act", protocol="policy", policy={"obs_chunk": 5})
    with pytest.raises(ValueError, match="not a chunked method|is not one"):
        RunSpec("reach", method="actjepa", protocol="policy")
    with pytest.raises(ValueError, match="are for the chunked methods"):
        RunSpec("reach", method="raw", policy={"steps": 10})
    with pytest.raises(ValueError, match="no observation encoder"):
        RunSpec("reach", method="diffusion_policy", protocol="bc")
    with pytest.raises(ValueError, match="not 'nn'"):
        RunSpec("reach", method="act", protocol="nn")
    with pytest.raises(ValueError, match="sigmas must be"):
        RunSpec("reach", method="raw", sigmas=(-1.0,))
    with pytest.raises(ValueError, match="n_demos and eval_episodes must be >= 1"):
        RunSpec("reach", method="raw", eval_episodes=0)


def test_chunked_spec_keys_cover_the_policy_config_and_leave_old_keys_alone():
    a = RunSpec("reach", method="act", protocol="policy", policy={"steps": 10})
    b = RunSpec("reach", method="act", protocol="policy", policy={"steps": 11})
    assert a.key() != b.key() and a.pretrain_key() != b.pretrain_key()
    bc = RunSpec("reach", method="act", protocol="bc", policy={"steps": 10})
    assert bc.pretrain_key() == a.pretrain_key() != bc.key()  # one trained model, two runs
    assert "policy" not in RunSpec("reach", method="raw").identity()  # earlier keys unchanged
    # the run's key covers the method's resolved config, defaults included
    assert a.identity()["resolved"]["policy"]["kl_weight"] == 10.0


def test_chunked_run_trains_once_and_is_read_back(runner):
    tiny = dict(n_demos=3, eval_episodes=2, sigmas=(0.0, 0.1))
    spec = RunSpec("reach", method="actjepa_paper", protocol="policy",
                   policy={"steps": 4, "batch_size": 8}, **tiny)
    bc = RunSpec("reach", method="actjepa_paper", protocol="bc", bc_steps=4,
                 policy={"steps": 4, "batch_size": 8}, **tiny)
    first = runner.run([spec, bc])
    assert len(first) == 2 * 2 * 2 and set(first.protocol) == {"policy", "bc"}
    assert len(list((runner.cache_dir / "models").glob("*.pt"))) == 1  # shared by both runs
    again = Runner(runner.cache_dir, progress=False).run([spec, bc])
    pd.testing.assert_frame_equal(first, again)
