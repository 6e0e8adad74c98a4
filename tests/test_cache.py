"""Cache entries are checked on read: a damaged one is moved aside and recomputed, and the
result equals a clean run's; two processes computing the same entry both finish."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest

from actjepa_core.cache import CacheWarning, file_lock, quarantine
from actjepa_core.experiments import Runner, RunSpec, run_problem, unfinished_path
from actjepa_core.methods import registry

TINY = dict(n_demos=3, pretrain_steps=8, bc_steps=8, eval_episodes=3, sigmas=(0.0, 0.1))


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTJEPA_DATA", str(tmp_path / "data"))
    return Runner(tmp_path / "cache", progress=False)


def damage_and_rerun(runner: Runner, spec: RunSpec, damage) -> pd.DataFrame:
    """Run ``spec``, damage its cache entry with ``damage(path)``, and run it again."""
    clean = runner.run([spec])
    path = runner._path(spec)
    damage(path)
    with pytest.warns(CacheWarning, match=str(path)):
        again = runner.run([spec])
    assert list(path.parent.glob(path.name + ".bad-*")), "moved aside, not deleted"
    pd.testing.assert_frame_equal(clean, again)
    return again


def cut_at_line(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # still parses: one episode fewer


def cut_mid_row(path):
    text = path.read_text()
    path.write_text(text[: len(text) - 40])


@pytest.mark.parametrize("damage", [cut_at_line, cut_mid_row, lambda p: p.write_text("")],
                         ids=["cut at a line", "cut mid-row", "emptied"])
def test_a_damaged_run_is_recomputed_to_the_clean_result(runner, damage):
    damage_and_rerun(runner, RunSpec("reach", method="raw", **TINY), damage)


def test_a_truncated_checkpoint_is_retrained_to_the_same_result(runner):
    spec = RunSpec("reach", method="actjepa", protocol="nn", **TINY)
    clean = runner.run([spec])
    model_path = runner.cache_dir / "models" / f"{spec.pretrain_key()}.pt"
    model_path.write_bytes(model_path.read_bytes()[:200])
    runner._path(spec).unlink()  # the run must reload the model
    with pytest.warns(CacheWarning, match="checkpoint does not load"):
        again = runner.run([spec])
    pd.testing.assert_frame_equal(clean, again)


POLICY = RunSpec("reach", method="act", protocol="policy", n_demos=3, eval_episodes=2,
                 policy={"steps": 6, "batch_size": 8})


def leave_unfinished(runner: Runner, spec: RunSpec, steps: int) -> Path:
    """What a run cut short after ``steps`` optimiser steps leaves behind: the unfinished
    model beside where the finished one will be cached."""
    path = unfinished_path(runner.cache_dir / "models" / f"{spec.pretrain_key()}.pt")
    registry.train(spec.method_config(), runner.training_demos(spec), checkpoint_path=path,
                   until=steps)
    return path


def test_a_run_cut_short_goes_on_from_its_unfinished_model(runner, tmp_path, monkeypatch):
    clean = Runner(tmp_path / "clean", progress=False).run([POLICY])
    path = leave_unfinished(runner, POLICY, 4)
    starts = []
    real_fit = registry.fit
    monkeypatch.setattr(registry, "fit", lambda *a, **kw: starts.append(kw["start"])
                        or real_fit(*a, **kw))
    again = runner.run([POLICY])
    assert starts == [4], "training went on from step 4, not from the start"
    assert not path.exists(), "the unfinished model is removed once the finished one is saved"
    pd.testing.assert_frame_equal(clean, again)


def test_an_unfinished_model_that_does_not_load_is_set_aside(runner, tmp_path):
    clean = Runner(tmp_path / "clean", progress=False).run([POLICY])
    path = leave_unfinished(runner, POLICY, 4)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.warns(CacheWarning, match="cannot resume"):
        again = runner.run([POLICY])
    assert list(path.parent.glob(path.name + ".bad-*")), "moved aside, not deleted"
    pd.testing.assert_frame_equal(clean, again)


def test_an_entry_cached_under_the_old_column_name_is_read_not_recomputed(runner):
    """Entries written before the rename call the method key ``pretraining``: they must be
    read as they are (a quarantine here would recompute every cached run)."""
    spec = RunSpec("reach", method="raw", **TINY)
    clean = runner.run([spec])
    path = runner._path(spec)
    old = pd.read_csv(path, dtype={"spec_key": str}).rename(columns={"method": "pretraining"})
    old.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        again = runner.run([spec])
    pd.testing.assert_frame_equal(clean, again)
    assert list(clean.columns[:3]) == ["task", "label", "method"]


def test_run_problem_names_each_defect():
    spec = RunSpec("reach", method="raw", **TINY)
    good = pd.DataFrame({c: 0 for c in ("task", "method", "protocol", "seed",
                                        "env_seed", "n_demos", "spec")}, index=range(6))
    good = good.assign(sigma=[0.0] * 3 + [0.1] * 3, episode=[0, 1, 2] * 2, success=[1.0, 0.0] * 3,
                       spec_key=spec.key())
    assert run_problem(good, spec) is None
    assert "5 rows, expected 6" in run_problem(good.iloc[:5], spec)
    assert "another run" in run_problem(good.assign(spec_key="0" * 16), spec)
    assert "not 0 or 1" in run_problem(good.assign(success=[float("nan")] + [1.0] * 5), spec)
    assert "missing columns ['success']" in run_problem(good.drop(columns="success"), spec)
    assert "noise levels" in run_problem(good.assign(sigma=0.0), spec)
    assert "repeated: [2]; missing: [1]" in run_problem(good.assign(episode=[0, 2, 2, 0, 1, 2]), spec)


def test_quarantine_moves_aside_and_warns(tmp_path):
    entry = tmp_path / "x.csv"
    entry.write_text("a")
    with pytest.warns(CacheWarning, match="x.csv: bad"):
        moved = quarantine(entry, "bad")
    assert not entry.exists() and moved.read_text() == "a"


def test_the_lock_makes_a_second_process_wait(tmp_path):
    """A child takes the lock while we hold it: it must not get it before we let go."""
    import time

    target = tmp_path / "entry.csv"
    child = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from actjepa_core.cache import file_lock
        print("ready", flush=True)
        start = time.monotonic()
        with file_lock(Path({str(target)!r})):
            print(time.monotonic() - start, flush=True)
    """)
    with file_lock(target):
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"  # imported, about to ask for the lock
        time.sleep(1.0)
    waited = float(proc.communicate(timeout=60)[0])
    assert waited >= 0.9


def test_two_processes_reproducing_one_run_both_finish_with_identical_rows(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["ACTJEPA_DATA"] = {str(tmp_path / 'data')!r}
        from actjepa_core.experiments import Runner, RunSpec
        spec = RunSpec("reach", method="raw", n_demos=3, bc_steps=8, eval_episodes=3)
        Runner({str(tmp_path / 'cache')!r}, progress=False).run([spec]).to_csv(sys.argv[1], index=False)
    """)
    outs = [tmp_path / f"out{i}.csv" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(o)], stderr=subprocess.PIPE,
                              text=True) for o in outs]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    assert outs[0].read_text() == outs[1].read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list((tmp_path / "cache" / "runs").glob("*.csv"))) == 1


def test_pool_workers_die_with_a_killed_parent(tmp_path):
    """The parent starts a pool worker, reports its pid and is SIGKILLed; the worker must go."""
    import os
    import signal
    import time

    parent = textwrap.dedent("""
        import os, sys, time
        from actjepa_core.executors import worker_pool
        pool = worker_pool(1)
        print(pool.submit(os.getpid).result(), flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    worker = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{worker}/stat") as f:  # a zombie awaiting its reaper is gone too
            if f.read().split(") ")[1].startswith("Z"):
                return
        time.sleep(0.2)
    os.kill(worker, signal.SIGKILL)
    pytest.fail(f"pool worker {worker} outlived its killed parent")
