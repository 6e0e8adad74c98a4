"""The experiments' results as the book reads them: committed files, or runs computed on demand.

``results/<profile>/<name>.csv`` (one row per evaluation episode, or per probe score) and
``<name>.specs.csv`` (one line per run with its full spec) are written by ``python -m
actjepa_core reproduce`` and read by the chapters. This module sits above both the runner
(``experiments``) and the experiment definitions (``suites``), so neither imports the other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .cache import default_cache_dir, write_csv_atomic
from .experiments import Runner, episode_problem, not_binary
from .profiles import Profile, get_profile
from .suites import EXPERIMENTS, PROBE_EXPERIMENTS


def write_results(rows: pd.DataFrame, path: Path) -> Path:
    """Write an experiment's tidy rows to ``path`` and the specs behind them beside it.

    The rows (one per evaluation episode) carry ``spec_key``; ``<name>.specs.csv`` holds one
    line per run with its key and full spec (JSON), so the spec of every row is one join
    away without repeating a long string on every episode. Both writes are atomic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    specs = rows[["spec_key", "label", "spec"]].drop_duplicates("spec_key")
    write_csv_atomic(specs, specs_path(path))
    write_csv_atomic(rows.drop(columns="spec"), path)
    return path


def read_results(path: Path) -> pd.DataFrame:
    """An experiment's committed rows joined with their specs, checked once, here, so the
    analysis and the audit never see a bad cell: a missing column, a run without its spec (or
    a spec without its rows), a success (or probe score) that is not finite, or a run whose
    rows are not its episodes once each (``check_runs``) is a ValueError naming the file."""
    path = Path(path)
    rows = pd.read_csv(path, dtype={"spec_key": str})
    specs = pd.read_csv(specs_path(path), dtype={"spec_key": str})[["spec_key", "spec"]]
    score = "success" if "success" in rows.columns else "r2"
    missing = [c for c in ("task", "label", "method", "seed", score, "spec_key")
               if c not in rows.columns]
    if missing:
        old = ("; it names them as before 2026-11 ('method' for the label, 'pretraining' for "
               "the method): write it again with python -m actjepa_core reproduce, which reads "
               "the runs from its cache" if "pretraining" in rows.columns else "")
        raise ValueError(f"{path}: missing columns {missing}{old}")
    checked = [score] + (["action_r2"] if score == "r2" and "action_r2" in rows.columns else [])
    for col in checked:
        bad = (not_binary(rows[col]) if col == "success"
               else ~np.isfinite(pd.to_numeric(rows[col], errors="coerce")))
        if bad.any():
            raise ValueError(f"{path}: {int(bad.sum())} row(s) with {col} not "
                             f"{'0 or 1' if col == 'success' else 'finite'} (first at line "
                             f"{int(np.flatnonzero(bad.to_numpy())[0]) + 2})")
    orphans = set(rows.spec_key) - set(specs.spec_key)
    if orphans:
        raise ValueError(f"{path}: {len(orphans)} run(s) missing from {specs_path(path).name}")
    lost = sorted(set(specs.spec_key) - set(rows.spec_key))
    if lost:
        raise ValueError(f"{path}: {len(lost)} run(s) of {specs_path(path).name} have no rows "
                         f"(first: {lost[0]}); recompute with python -m actjepa_core reproduce")
    rows = rows.merge(specs, on="spec_key", how="left")
    if score == "success":
        check_runs(rows, path)
    return rows


def check_runs(rows: pd.DataFrame, path: Path) -> None:
    """Every run of a results file (rows of one ``spec_key`` under one ``label``) holds each
    episode of its spec once at each of its noise levels (``experiments.episode_problem``);
    a run that lost or repeated rows is a ValueError naming the file and the run."""
    for (key, label), g in rows.groupby(["spec_key", "label"], sort=False):
        spec = json.loads(g.spec.iloc[0])
        problem = episode_problem(g, spec["eval_episodes"], spec["sigmas"])
        if problem:
            raise ValueError(f"{path}: run {key} ({label}, {spec['task']}, seed {spec['seed']}): "
                             f"{problem}; recompute it with python -m actjepa_core reproduce")


def specs_path(results_path: Path) -> Path:
    """``results/<profile>/<name>.specs.csv`` beside ``<name>.csv``."""
    return results_path.with_name(results_path.stem + ".specs.csv")


def results_root() -> Path:
    """``$ACTJEPA_RESULTS``, else the ``results/`` folder of the repository holding the package.

    Every chapter's setup cell sets ``$ACTJEPA_RESULTS`` to the repository it found or cloned,
    so a package installed elsewhere (``pip install git+...``) still reads committed results.
    """
    return Path(os.environ.get("ACTJEPA_RESULTS", Path(__file__).resolve().parent.parent / "results"))


def results_file(name: str, profile: str, root: Path | None = None) -> Path:
    """Where experiment ``name``'s committed results of ``profile`` live:
    ``<root>/<profile>/<name>.csv``, ``root`` defaulting to ``results_root()``."""
    return (root or results_root()) / profile / f"{name}.csv"


def committed_keys(path: Path) -> set[str]:
    """The run keys of a committed results file (from its specs file); none when the file is
    absent (an experiment not committed yet)."""
    if not Path(path).exists():
        return set()
    return set(pd.read_csv(specs_path(Path(path)), dtype={"spec_key": str}).spec_key)


def run_keys(name: str, P: Profile) -> set[str]:
    """The cache keys of today's runs of experiment ``name`` under ``P``, each once: what the
    committed file, the cache and a rerun are compared against."""
    _check_known(name)
    return {s.key() for s in EXPERIMENTS[name](P)}


def _check_known(name: str) -> None:
    """An unknown experiment is an error naming the known ones."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {list(EXPERIMENTS)}")


def stale_runs(name: str, profile: str) -> tuple[set[str], set[str]]:
    """``(extra, missing)``: keys of the committed runs of ``name`` that today's specs do not
    produce (computed with an earlier build of a method, another budget...), and keys of
    today's runs the file lacks. Both empty: the file is today's experiment."""
    path = results_file(name, profile)
    today = run_keys(name, get_profile(profile))
    have = committed_keys(path)
    return have - today, today - have


RECOMPUTED_PROFILES = ("smoke", "quick")
"""Profiles whose missing results a chapter computes on its own (minutes); the full profile's
take hours, so a chapter reads them and never starts them unasked."""


def spec_field(rows: pd.DataFrame, read: Callable[[dict], object]) -> pd.Series:
    """``read(spec)`` of each row's run, its specification as written in the ``spec`` column
    (JSON, with the ``resolved`` configs): what a curve, a search or a budget varied."""
    values = {spec: read(json.loads(spec)) for spec in rows.spec.unique()}
    return rows.spec.map(values)


def experiment_results(name: str, profile: str, workers: int = 2, progress: bool = True,
                       recompute: bool | None = None) -> pd.DataFrame:
    """The tidy rows of experiment ``name`` for ``profile``.

    Committed results (``results/<profile>/<name>.csv``, written by ``python -m actjepa_core
    reproduce``) are read as they are: the book renders them instead of recomputing. Without
    them the experiment runs here, through the cache, without writing the file: by default
    only for the profiles of ``RECOMPUTED_PROFILES``; ``recompute=True`` asks for it under
    any profile, ``False`` forbids it. A refused recomputation is a ``FileNotFoundError``
    naming the folder searched and the command that computes the results.
    """
    _check_known(name)
    get_profile(profile)  # an unknown profile names the known ones, not a command to run
    path = results_file(name, profile)
    if path.exists():
        return read_results(path)
    if not (profile in RECOMPUTED_PROFILES if recompute is None else recompute):
        raise FileNotFoundError(
            f"no committed results {path} (results root {results_root()}, from "
            f"{'$ACTJEPA_RESULTS' if 'ACTJEPA_RESULTS' in os.environ else 'the package folder'})."
            f" Run a chapter from a clone of the book (its setup cell finds it), set "
            f"ACTJEPA_RESULTS to a results folder, or compute them: python -m actjepa_core "
            f"reproduce --profile {profile} --experiments {name}")
    runner = Runner(default_cache_dir() / profile, progress=progress, workers=workers)
    return compute(name, runner, get_profile(profile))


def current_results(name: str, profile: str) -> pd.DataFrame | None:
    """The rows of experiment ``name``: committed results when they are today's experiment;
    computed here for the smoke and quick profiles; None for a full-profile experiment not
    yet committed, or committed from an earlier build of its methods (``results.stale_runs``:
    a table of the old methods under today's names would mislead). Recomputing hours of runs
    is something a reader asks for with ``reproduce``, not something a chapter starts."""
    if profile == "full" and any(stale_runs(name, profile)):
        return None
    return experiment_results(name, profile)


def progress(names: list[str], P: Profile, cache_dir: Path, root: Path | None = None
             ) -> pd.DataFrame:
    """Where each experiment of ``names`` stands, without running anything: its runs (today's
    specs, counted once), how many its committed file holds, how many more are saved in
    another committed file (its partial file, ``save_partial``, or another experiment's
    results: ``seed_cache`` copies them, nothing is computed), how many more have a cache
    entry (finished in an interrupted sitting on this machine), and how many are left to
    compute; a last row ``all`` counts a run that two experiments share once. A long rerun
    split over sittings and machines says from this how far it is (``reproduce --status``).
    Cache entries are counted, not read: ``reproduce`` checks each as it reads it."""
    rows, union = [], {"runs": set(), "committed": set(), "saved": set(), "cached": set()}
    for name in names:
        today, committed, saved = committed_runs(name, P, root)
        cached = {k for k in today - committed - saved
                  if (Path(cache_dir) / "runs" / f"{k}.csv").exists()}
        rows.append({"experiment": name, **_standing(today, committed, saved, cached)})
        for column, keys in zip(union, (today, committed, saved, cached)):
            union[column] |= keys
    saved = union["saved"] - union["committed"]
    rows.append({"experiment": "all", **_standing(
        union["runs"], union["committed"], saved, union["cached"] - union["committed"] - saved)})
    return pd.DataFrame(rows)


def committed_runs(name: str, P: Profile, root: Path | None = None
                   ) -> tuple[set[str], set[str], set[str]]:
    """``(today, committed, saved)``: the keys of experiment ``name``'s runs today, those its
    results file holds, and those of the rest that another committed file holds (its partial
    file, another experiment's results: ``_sources``), which ``reproduce`` will not compute."""
    today = run_keys(name, P)
    own, *others = _sources(name, P.name, root)
    committed = today & committed_keys(own)
    return today, committed, today & set().union(*map(committed_keys, others)) - committed


def _standing(runs: set[str], committed: set[str], saved: set[str], cached: set[str]
              ) -> dict[str, int]:
    """The counts of one row of ``progress``."""
    return {"runs": len(runs), "committed": len(committed), "saved": len(saved),
            "cached": len(cached), "left": len(runs) - len(committed) - len(saved) - len(cached)}


def _sources(name: str, profile: str, root: Path | None = None) -> list[Path]:
    """The committed files that may hold runs of experiment ``name``, its results file first,
    then its partial file, then every other experiment's results and partial files: a run two
    experiments share (the paper's ablations' "full" row is a run of its main comparison) is
    committed once and computed once. Probe experiments' files hold scores of models, not
    runs, and are not sources."""
    names = [name] + [n for n in EXPERIMENTS if n != name and n not in PROBE_EXPERIMENTS]
    return [f(n, profile, root) for n in names for f in (results_file, partial_file)]


def seed_cache(name: str, P: Profile, runner: Runner, root: Path | None = None) -> int:
    """Write the committed runs that experiment ``name``'s specs ask for today into
    ``runner``'s cache (entries it lacks only), from every committed file that holds one
    (``_sources``: its results file, its partial file, another experiment's files), so a
    fresh machine extends a committed file (a curve given one more budget, say) or resumes an
    interrupted experiment without recomputing what is committed. The rows are checked on the
    way (``read_results``; a file is read only when it holds a missing run); returns how many
    runs were written. Probe experiments are skipped: their rows are scores of models, which
    are not committed."""
    if name in PROBE_EXPERIMENTS:
        return 0
    runs = runner.cache_dir / "runs"
    today = run_keys(name, P)
    written = 0
    for path in _sources(name, P.name, root):
        wanted = {k for k in today & committed_keys(path) if not (runs / f"{k}.csv").exists()}
        if not wanted:
            continue
        rows = read_results(path)
        for key, g in rows[rows.spec_key.isin(wanted)].groupby("spec_key", sort=False):
            run = (g.drop(columns="label").drop_duplicates(["sigma", "episode"])
                   .reset_index(drop=True))
            write_csv_atomic(run, runs / f"{key}.csv")
            written += 1
    return written


def partial_file(name: str, profile: str, root: Path | None = None) -> Path:
    """Where the finished runs of experiment ``name`` are kept while it is still being
    computed: ``<root>/<profile>/partial/<name>.csv``. The chapters never read its rows (only
    ``reproduce`` does, ``seed_cache``); a chapter waiting for the experiment counts its runs
    (``committed_runs``) to say how far the computation is."""
    return (root or results_root()) / profile / "partial" / f"{name}.csv"


def save_partial(name: str, P: Profile, runner: Runner, root: Path | None = None) -> int:
    """Write the runs of experiment ``name`` finished in ``runner``'s cache (and those of an
    earlier partial file) that no other committed file holds (``_sources``) to
    ``partial_file``; returns how many runs it holds. An experiment of many hours outlives a
    sitting, and the next sitting may start on a fresh machine with an empty cache:
    committed, this file is where it resumes (``seed_cache``), so a sitting loses only the
    runs it left unfinished. With nothing finished no file is written (and an earlier one is
    removed)."""
    _check_known(name)
    if name in PROBE_EXPERIMENTS:
        raise ValueError(f"{name} probes trained models at the end of its runs: it has no "
                         f"partial results; save those of the experiment it probes")
    seed_cache(name, P, runner, root)
    own = partial_file(name, P.name, root)
    done = set().union(*(committed_keys(p) for p in _sources(name, P.name, root) if p != own))
    rows = runner.finished(s for s in EXPERIMENTS[name](P) if s.key() not in done)
    if rows.empty:
        drop_partial(name, P.name, root)
        return 0
    write_results(rows, own)
    return rows.spec_key.nunique()


def drop_partial(name: str, profile: str, root: Path | None = None) -> None:
    """Remove the partial file of ``name`` and its specs: its results file holds them now."""
    path = partial_file(name, profile, root)
    for p in (path, specs_path(path)):
        p.unlink(missing_ok=True)


def compute(name: str, runner: Runner, P: Profile) -> pd.DataFrame:
    """The rows of experiment ``name`` under profile ``P``, through ``runner``'s cache:
    evaluation episodes, or probe scores for the experiments of ``suites.PROBE_EXPERIMENTS``
    (those another probe experiment has committed are read from it, ``committed_probes``)."""
    specs = EXPERIMENTS[name](P)
    if name not in PROBE_EXPERIMENTS:
        return runner.run(specs)
    kept = committed_probes(name, specs, P.name)
    done = set(kept.spec_key)
    todo = [s for s in specs if s.key() not in done]
    fresh = None
    if todo:
        runner.run(todo)  # trains (in parallel with workers > 1) what the probes read
        fresh = getattr(runner, PROBE_EXPERIMENTS[name])(todo)
    order = {s.key(): i for i, s in enumerate(specs)}
    rows = pd.concat([r for r in (kept, fresh) if r is not None and len(r)], ignore_index=True)
    return rows.sort_values("spec_key", key=lambda k: k.map(order), kind="stable",
                            ignore_index=True)


def committed_probes(name: str, specs: list, profile: str, root: Path | None = None
                     ) -> pd.DataFrame:
    """The probe rows of ``specs`` that another experiment probing the same way (the same
    ``PROBE_EXPERIMENTS`` method) has committed, under this experiment's labels: the same
    model probed the same way scores the same, and its models are not committed, so a fresh
    machine would otherwise train them again only to probe them."""
    labels = {s.key(): s.label for s in specs}
    parts, found = [], set()
    for other, how in PROBE_EXPERIMENTS.items():
        if other == name or how != PROBE_EXPERIMENTS[name]:
            continue
        path = results_file(other, profile, root)
        wanted = (labels.keys() & committed_keys(path)) - found
        if wanted:
            rows = read_results(path)
            parts.append(rows[rows.spec_key.isin(wanted)])
            found |= wanted
    rows = (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame({"spec_key": pd.Series(dtype=str)}))
    return rows.assign(label=rows.spec_key.map(labels))
