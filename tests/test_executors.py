"""Executors (issue 11): Ray computes what the process pool computes, byte for byte; a run
that raises is reported by its spec while the others finish; a worker killed mid-run loses
no finished run, and running again completes the rest.

The Ray tests start a local 2-CPU Ray instance and are skipped, with the reason, when Ray
(an optional extra) is not installed.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import signal
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from actjepa_core.experiments import Runner, RunSpec, RunsFailed, describe

HAS_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAS_RAY, reason="Ray is an optional extra "
                               "(pip install -e '.[cluster]'); CI installs it")
EXECUTORS = ["pool", pytest.param("ray", marks=needs_ray)]
TINY = dict(n_demos=3, pretrain_steps=8, bc_steps=8, eval_episodes=3)


@pytest.fixture(scope="module")
def local_ray():
    """One local 2-CPU Ray instance for the fault tests (the executor uses it and leaves it
    running; it inherits the session's data folder from conftest)."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def runner(cache: Path, executor: str, workers: int = 2) -> Runner:
    return Runner(cache, progress=False, workers=workers, executor=executor)


def start(executor: str, request: pytest.FixtureRequest) -> None:
    """Start the shared Ray instance when the test is Ray's (the pool's need none)."""
    if executor == "ray":
        request.getfixturevalue("local_ray")


def smoke_subset() -> list[RunSpec]:
    """Five runs of the smoke profile on Reach, of three kinds: pretraining + BC, a chunked
    policy, raw BC; two pairs share a trained model, so followers wait for their leader."""
    from actjepa_core.profiles import get_profile
    from actjepa_core.suites import EXPERIMENTS

    P = get_profile("smoke")
    main, ablations, frozen = (EXPERIMENTS[n](P) for n in ("main", "ablations",
                                                           "paper_frozen_encoder"))

    def pick(specs: list[RunSpec], **fields: object) -> RunSpec:
        return next(s for s in specs if all(getattr(s, k) == v for k, v in fields.items()))

    return [pick(main, task="reach", method="raw", seed=0),
            pick(main, task="reach", method="actjepa", seed=0),
            pick(ablations, task="reach", label="goal_to_head", seed=0),
            pick(frozen, task="reach", label="ACT", seed=0),
            pick(frozen, task="reach", label="ACT encoder, frozen + BC", seed=0)]


@needs_ray
def test_ray_writes_the_same_bytes_as_the_pool(tmp_path):
    """A local Ray instance of 2 CPUs started by the executor itself, against the pool."""
    from actjepa_core.results import specs_path, write_results

    specs = smoke_subset()
    assert len({s.pretrain_key() for s in specs}) == 3  # two runs wait for a shared model
    out = {}
    for executor in ("pool", "ray"):
        rows = runner(tmp_path / executor / "cache", executor).run(specs)
        out[executor] = write_results(rows, tmp_path / executor / "results.csv")
    assert filecmp.cmp(out["pool"], out["ray"], shallow=False)
    assert filecmp.cmp(specs_path(out["pool"]), specs_path(out["ray"]), shallow=False)
    for spec in specs:  # and every cache entry, byte for byte
        entry = Path("runs") / f"{spec.key()}.csv"
        assert filecmp.cmp(tmp_path / "pool" / "cache" / entry,
                           tmp_path / "ray" / "cache" / entry, shallow=False)


@pytest.mark.parametrize("executor, workers", [("pool", 1), ("pool", 2),
                                               pytest.param("ray", 2, marks=needs_ray)])
def test_a_run_that_raises_is_named_and_the_others_finish(tmp_path, request, executor, workers):
    start(executor, request)
    bad = RunSpec("reach", method="actjepa", protocol="bc", **TINY)
    follower = RunSpec("reach", method="actjepa", protocol="nn", **TINY)  # bad's model
    others = [RunSpec("reach", method="raw", seed=s, **TINY) for s in (0, 1)]
    specs = [bad, follower, *others]
    r = runner(tmp_path / "cache", executor, workers)
    lock = r._path(bad).with_name(r._path(bad).name + ".lock")
    lock.mkdir(parents=True)  # the run cannot take its entry's lock: it raises
    with pytest.raises(RunsFailed) as caught:
        r.run(specs)
    assert [(s, type(e)) for s, e in caught.value.failures] == [(bad, IsADirectoryError)]
    assert f"{describe(bad)}: IsADirectoryError: [Errno 21] Is a directory" in str(caught.value)
    finished = {s.key(): r._path(s).read_bytes() for s in (follower, *others)}  # all there
    lock.rmdir()
    rows = r.run(specs)  # again: only the failed run is computed
    assert {s.key(): r._path(s).read_bytes() for s in (follower, *others)} == finished
    assert len(rows) == 4 * TINY["eval_episodes"] and set(rows.spec_key) == {s.key() for s in specs}


def computes_nothing(cache_dir: Path, spec: RunSpec) -> None:
    """A worker that finishes without writing the entry, as on a node that does not share
    the driver's cache folder."""


def test_a_run_finished_without_its_entry_in_the_cache_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr("actjepa_core.experiments._run_cached", computes_nothing)
    specs = [RunSpec("reach", method="raw", seed=s, **TINY) for s in (0, 1)]
    with pytest.raises(RunsFailed, match="--cache must be a folder every node sees") as caught:
        runner(tmp_path / "cache", "pool").run(specs)
    assert {s.key() for s, _ in caught.value.failures} == {s.key() for s in specs}
    assert not list((tmp_path / "cache" / "runs").glob("*.csv")), "not recomputed here"


def lock_holder(lock: Path) -> int | None:
    """The process holding ``flock`` on ``lock``, read from ``/proc/locks``."""
    st = lock.stat()
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] != "->" and fields[5] == wanted:  # "->": a waiter, not the holder
            return int(fields[4])
    return None


class WorkerKiller(threading.Thread):
    """Once a run has finished while another is being computed, SIGKILL the worker computing
    it (the process holding its entry's lock) and keep the bytes of the finished entries."""

    def __init__(self, runs: Path):
        super().__init__(daemon=True)
        self.runs, self.killed, self.finished = runs, None, {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            finished = {p.name: p.read_bytes() for p in self.runs.glob("*.csv")}  # atomic
            running = [p for p in self.runs.glob("*.csv.lock") if not p.with_suffix("").exists()]
            pids = [(pid, p) for p in running if (pid := lock_holder(p)) not in (None, os.getpid())]
            if finished and pids:
                self.finished, self.killed = finished, pids[0]
                os.kill(pids[0][0], signal.SIGKILL)
                return


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="finds the worker in /proc/locks")
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_killed_worker_loses_no_finished_run_and_the_rerun_completes(tmp_path, request,
                                                                      executor):
    start(executor, request)
    specs = [RunSpec("reach", method="raw", seed=s, **{**TINY, "bc_steps": 80,
                                                        "eval_episodes": 4}) for s in range(4)]
    reference = runner(tmp_path / "reference", "pool", workers=1).run(specs)
    cache = tmp_path / "cache"
    killer = WorkerKiller(cache / "runs")
    killer.start()
    try:
        runner(cache, executor).run(specs)
        failures = []
    except RunsFailed as e:
        failures = e.failures
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed, "no worker was caught mid-run"
    print(f"{executor}: killed pid {killer.killed[0]} computing {killer.killed[1].stem}; "
          f"{len(killer.finished)} run(s) finished before; {len(failures)} failed",
          file=sys.stderr)
    for name, data in killer.finished.items():  # finished runs are untouched
        assert (cache / "runs" / name).read_bytes() == data
    if executor == "pool":  # the pool breaks: the unfinished runs fail, each named
        assert failures and all(f"{s.key()}.csv" not in killer.finished for s, _ in failures)
    else:  # Ray runs the killed task again (executors.RAY_RETRIES)
        assert failures == []
    rows = runner(cache, executor).run(specs)
    pd.testing.assert_frame_equal(rows, reference)


def test_a_wrong_executor_setting_fails_before_any_run(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        Runner(tmp_path, executor="dask")
    with pytest.raises(ValueError, match="for the 'ray' executor"):
        Runner(tmp_path, address="10.0.0.1:6379")
    with pytest.raises(ValueError, match="for the 'ray' executor"):
        Runner(tmp_path, gpus_per_run=1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ImportError, match=r"pip install -e \"\.\[cluster\]\""):
        Runner(tmp_path, executor="ray")


def test_reproduce_hands_its_executor_flags_to_the_runner(monkeypatch):
    from actjepa_core import __main__ as cli

    seen = []

    class Stop(Exception):
        pass

    def fake_runner(cache: Path, **settings: object) -> None:
        seen.append(settings)
        raise Stop

    monkeypatch.setattr("actjepa_core.experiments.Runner", fake_runner)
    for argv in ([], ["--executor", "ray", "--address", "auto", "--gpus-per-run", "0.5",
                      "--workers", "3"]):
        with pytest.raises(Stop):
            cli.main(["reproduce", "--profile", "smoke", *argv])
    assert seen == [dict(workers=2, executor="pool", address=None, gpus_per_run=0.0),
                    dict(workers=3, executor="ray", address="auto", gpus_per_run=0.5)]
    with pytest.raises(SystemExit, match="drop --executor"):
        cli.main(["reproduce", "--executor", "ray", "--verify", "1"])
