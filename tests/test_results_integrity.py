"""A results file that lost or repeated rows is an error naming the file and the run, not a
shifted number; so is a cached run with one episode copied over another."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from actjepa_core.experiments import RunSpec, run_problem
from actjepa_core.results import read_results, write_results


def run_rows(key: str, seed: int, episodes: int = 4, sigmas=(0.0, 0.1)) -> pd.DataFrame:
    spec = json.dumps({"task": "reach", "seed": seed, "eval_episodes": episodes,
                       "sigmas": list(sigmas)})
    return pd.DataFrame([{"task": "reach", "label": "m", "method": "raw", "seed": seed,
                          "sigma": s, "episode": e, "success": float(e % 2), "spec_key": key,
                          "spec": spec} for s in sigmas for e in range(episodes)])


@pytest.fixture
def committed(tmp_path):
    rows = pd.concat([run_rows("a" * 16, 0), run_rows("b" * 16, 1)], ignore_index=True)
    path = write_results(rows, tmp_path / "exp.csv")
    return path, pd.read_csv(path, dtype={"spec_key": str})


def rewrite(path, rows):
    rows.to_csv(path, index=False)


def test_a_complete_file_reads(committed):
    path, _ = committed
    assert len(read_results(path)) == 16


@pytest.mark.parametrize("damage,message", [
    (lambda r: r.iloc[:-1], "7 rows, expected 8"),                        # cut at the end
    (lambda r: r[r.spec_key != "b" * 16], "have no rows"),              # a whole run dropped
    (lambda r: r.drop(index=[8, 9, 10, 11]), "4 rows, expected 8"),     # half a run dropped
    (lambda r: pd.concat([r, r[r.spec_key == "a" * 16]]), "16 rows, expected 8"),  # run repeated
    (lambda r: r.assign(episode=r.episode.where(r.index != 1, 0)), "repeated: [0]; missing: [1]"),
])
def test_a_damaged_file_names_the_file_and_the_run(committed, damage, message):
    path, rows = committed
    rewrite(path, damage(rows))
    with pytest.raises(ValueError, match="exp.csv") as err:
        read_results(path)
    assert message in str(err.value)


def test_a_cached_run_with_an_episode_copied_over_another_is_rejected():
    spec = RunSpec("reach", method="raw", eval_episodes=3, sigmas=(0.0,))
    rows = pd.DataFrame({"task": "reach", "method": "raw", "protocol": "bc", "seed": 0,
                         "sigma": 0.0, "episode": [0, 1, 2], "env_seed": [10, 11, 12],
                         "success": [1.0, 0.0, 1.0], "n_demos": 100, "spec_key": spec.key(),
                         "spec": "{}"})
    assert run_problem(rows, spec) is None
    copied = rows.assign(episode=[0, 0, 2])
    assert "repeated: [0]; missing: [1]" in run_problem(copied, spec)


def test_a_checkpoint_of_another_config_under_a_run_s_key_is_moved_aside(tmp_path, monkeypatch):
    import shutil
    import warnings

    from actjepa_core.cache import CacheWarning
    from actjepa_core.experiments import Runner

    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    runner = Runner(tmp_path / "cache", progress=False)
    tiny = dict(n_demos=2, eval_episodes=1, pretrain_steps=4, bc_steps=4)
    a, b = (RunSpec("reach", method="autoencoder", seed=s, **tiny) for s in (0, 1))
    runner.run([a, b])
    models = runner.cache_dir / "models"
    shutil.copy(models / f"{b.pretrain_key()}.pt", models / f"{a.pretrain_key()}.pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, _ = runner._pretrained(a, runner.training_demos(a))
    assert model.cfg.seed == 0
    assert any(issubclass(w.category, CacheWarning) and "seed is 1, the run needs 0" in str(w.message)
               for w in caught)


def test_a_probe_file_with_a_non_finite_action_r2_is_refused(tmp_path):
    rows = pd.DataFrame({"task": "reach", "label": "ACT", "method": "act", "seed": 0, "j": [1, 2],
                         "r2": [0.5, 0.4], "action_r2": [0.9, float("nan")],
                         "spec_key": "a" * 16, "spec": "{}"})
    path = write_results(rows, tmp_path / "probes.csv")
    with pytest.raises(ValueError, match="1 row\\(s\\) with action_r2 not finite"):
        read_results(path)


def test_committed_runs_seed_an_empty_cache_and_are_not_recomputed(tmp_path, monkeypatch):
    from actjepa_core.experiments import Runner
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import compute, seed_cache
    from actjepa_core.suites import EXPERIMENTS

    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    P = get_profile("smoke")
    specs = EXPERIMENTS["paper_dp_diagnosis"](P)
    first = Runner(tmp_path / "cache1", progress=False).run(specs)
    write_results(first, tmp_path / "results" / "smoke" / "paper_dp_diagnosis.csv")
    fresh = Runner(tmp_path / "cache2", progress=False)
    assert seed_cache("paper_dp_diagnosis", P, fresh, tmp_path / "results") == 3
    assert seed_cache("paper_dp_diagnosis", P, fresh, tmp_path / "results") == 0  # already there

    def refuse(spec):
        raise AssertionError(f"recomputed {spec.label}")

    monkeypatch.setattr(fresh, "_compute", refuse)
    again = compute("paper_dp_diagnosis", fresh, P)
    key = ["spec_key", "label", "sigma", "episode"]
    pd.testing.assert_frame_equal(
        again.drop(columns="spec").sort_values(key).reset_index(drop=True),
        read_results(tmp_path / "results" / "smoke" / "paper_dp_diagnosis.csv")
        .drop(columns="spec").sort_values(key).reset_index(drop=True)[list(again.drop(columns="spec").columns)],
        check_dtype=False)


def test_status_counts_committed_cached_and_left_runs_and_computes_nothing(tmp_path, capsys):
    from actjepa_core.__main__ import main
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import progress
    from actjepa_core.suites import EXPERIMENTS

    P, name = get_profile("smoke"), "paper_dp_diagnosis"
    keys = sorted({s.key() for s in EXPERIMENTS[name](P)})
    cache, root = tmp_path / "cache", tmp_path / "results"
    (cache / "runs").mkdir(parents=True)
    (cache / "runs" / f"{keys[0]}.csv").touch()  # finished in an interrupted sitting
    specs = root / "smoke" / f"{name}.specs.csv"
    specs.parent.mkdir(parents=True)
    pd.DataFrame({"spec_key": [keys[1], "0" * 16], "label": "x", "spec": "{}"}).to_csv(specs)
    specs.with_name(f"{name}.csv").touch()  # its rows: counted from the specs file
    table = progress([name, name], P, cache, root).set_index("experiment")
    assert table.loc["all"].tolist() == [len(keys), 1, 0, 1, len(keys) - 2]  # shared runs once
    assert table.loc[name].iloc[0].tolist() == [len(keys), 1, 0, 1, len(keys) - 2]
    with pytest.raises(ValueError, match="unknown experiment 'mian'"):
        progress(["mian"], P, cache, root)
    main(["reproduce", "--status", "--profile", "smoke", "--experiments", name,
          "--cache", str(cache), "--out", str(root)])
    out = capsys.readouterr().out
    assert f"{len(keys) - 2} of {len(keys)} runs left to compute" in out
    assert sorted(p.name for p in (cache / "runs").iterdir()) == [f"{keys[0]}.csv"]


def test_an_interrupted_experiment_resumes_on_a_fresh_machine_from_its_partial_file(
        tmp_path, monkeypatch, capsys):
    from actjepa_core.__main__ import main
    from actjepa_core.experiments import Runner
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import partial_file, progress, results_file, save_partial
    from actjepa_core.suites import EXPERIMENTS

    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    P, name, root = get_profile("smoke"), "paper_dp_diagnosis", tmp_path / "results"
    specs = EXPERIMENTS[name](P)
    keys = {s.key() for s in specs}  # labels of the smoke profile share runs
    first = Runner(tmp_path / "machine1", progress=False)
    assert save_partial(name, P, first, root) == 0 and not partial_file(name, "smoke", root).exists()
    first.run_one(specs[0])  # the sitting ends after one run
    assert save_partial(name, P, first, root) == 1
    saved = read_results(partial_file(name, "smoke", root))
    assert set(saved.spec_key) == {specs[0].key()}
    assert set(saved.label) == {s.label for s in specs if s.key() == specs[0].key()}  # each row

    fresh = tmp_path / "machine2"  # an empty cache: only the committed partial file is left
    table = progress([name], P, fresh, root).set_index("experiment")
    assert table.loc[name, "saved"] == 1 and table.loc[name, "left"] == len(keys) - 1
    computed = []
    original = Runner._compute
    monkeypatch.setattr(Runner, "_compute",
                        lambda self, spec: computed.append(spec.key()) or original(self, spec))
    main(["reproduce", "--profile", "smoke", "--experiments", name, "--workers", "1",
          "--cache", str(fresh), "--out", str(root)])
    assert "1 committed run(s) written into the cache" in capsys.readouterr().out
    assert specs[0].key() not in computed and len(computed) == len(keys) - 1
    assert set(read_results(results_file(name, "smoke", root)).spec_key) == keys
    assert not partial_file(name, "smoke", root).exists(), "the results file holds them now"


def test_a_probe_experiment_has_no_partial_results(tmp_path):
    from actjepa_core.experiments import Runner
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import save_partial

    with pytest.raises(ValueError, match="save those of the experiment it probes"):
        save_partial("paper_world_model", get_profile("smoke"), Runner(tmp_path, progress=False),
                     tmp_path / "results")


def test_a_run_committed_by_another_experiment_seeds_the_cache_and_counts_as_saved(
        tmp_path, monkeypatch):
    from actjepa_core.experiments import Runner
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import progress, results_file, save_partial, seed_cache
    from actjepa_core.suites import EXPERIMENTS

    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    P, root = get_profile("smoke"), tmp_path / "results"
    main_keys = {s.key() for s in EXPERIMENTS["paper_main"](P)}
    shared = [s for s in EXPERIMENTS["paper_ablations"](P) if s.key() in main_keys]
    assert shared, "the ablations' full row is a run of the main comparison"
    rows = Runner(tmp_path / "machine1", progress=False).run(shared)
    write_results(rows, results_file("paper_main", "smoke", root))  # committed there, once
    fresh = Runner(tmp_path / "machine2", progress=False)
    table = progress(["paper_ablations"], P, fresh.cache_dir, root).set_index("experiment")
    n = len({s.key() for s in shared})
    assert (table.loc["paper_ablations", "committed"], table.loc["paper_ablations", "saved"]) == (0, n)
    assert seed_cache("paper_ablations", P, fresh, root) == n
    assert save_partial("paper_ablations", P, fresh, root) == 0, "not saved a second time"


def test_a_probe_another_experiment_committed_is_read_not_recomputed(tmp_path, monkeypatch):
    """The converged comparison's ACT is the equal-budget one's: its probes come from
    ``paper_world_model``'s file (its model is not committed), only ACT-JEPA's are computed."""
    from actjepa_core.experiments import Runner, _probe_rows
    from actjepa_core.profiles import get_profile
    from actjepa_core.results import compute, results_file
    from actjepa_core.suites import EXPERIMENTS

    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path / "results"))
    P = get_profile("smoke")

    def scores(specs, r2):
        return pd.concat([_probe_rows(pd.DataFrame({"j": [1, 2], "r2": r2, "action_r2": 0.5}),
                                      s, s.task) for s in specs], ignore_index=True)

    equal = [s for s in EXPERIMENTS["paper_world_model"](P) if s.method == "act"]
    write_results(scores(equal, 0.25), results_file("paper_world_model", "smoke"))
    runner, asked = Runner(tmp_path / "cache", progress=False), []
    monkeypatch.setattr(runner, "run", lambda specs: asked.extend(specs))
    monkeypatch.setattr(runner, "probe_future", lambda specs: scores(list(specs), 0.75))
    rows = compute("paper_world_model_converged", runner, P)
    specs = EXPERIMENTS["paper_world_model_converged"](P)
    assert {s.method for s in asked} == {"actjepa_paper"}  # ACT's probes were read
    assert rows.groupby("method").r2.first().to_dict() == {"act": 0.25, "actjepa_paper": 0.75}
    assert list(dict.fromkeys(rows.spec_key)) == [s.key() for s in specs]  # in spec order
    assert set(rows.label) == {s.label for s in specs}


def test_an_experiment_without_runs_writes_nothing(tmp_path, capsys, monkeypatch):
    from actjepa_core.__main__ import main
    from actjepa_core import suites

    monkeypatch.setitem(suites.EXPERIMENTS, "paper_metaworld_convergence_long", lambda P: [])
    main(["reproduce", "--profile", "smoke", "--experiments", "paper_metaworld_convergence_long",
          "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "results")])
    assert "today's specs hold no run under profile smoke; nothing written" in capsys.readouterr().out
    assert not (tmp_path / "results").exists()
