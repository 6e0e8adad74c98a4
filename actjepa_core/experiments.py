"""Declarative experiment specs and a runner that caches every result by its spec.

A :class:`RunSpec` names everything that decides one row group of a results table: the
task, the demonstrations, the pretraining (method, steps, config overrides), the policy
protocol, the training seed and the evaluation (episodes, noise levels). Its ``key`` is a
hash of all of that, so

* a finished run is loaded from the cache instead of recomputed,
* an interrupted sweep resumes at the first spec without a cached result,
* a pretrained encoder is shared by every spec that differs only after pretraining
  (protocol, BC head, evaluation), through a second cache keyed by the pretraining part,
* the missing runs can be computed elsewhere (a process pool, a Ray cluster: ``executors``);
  wherever a run executes, it ends by writing its entry here.

Results are tidy rows (one per evaluation episode) with the spec's fields as columns,
written atomically (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from .data import Demonstrations, demonstrations
from .envs import get_task, state_spec
from .evaluate import evaluate_policy
from .chunked import ChunkedPolicy
from .methods import registry
from .monitor import CollapseWarning
from .policies import BCConfig, LatentMPC, LatentNN, MPCConfig, train_bc
from .cache import file_lock, quarantine, write_csv_atomic
from .executors import check_executor, open_executor
from .probes import action_fit, future_probe, probe_representation, torch_embedder
from .runtime import resolve_device
from .gate import LATENT_COLUMNS
from .seeds import SPLITS
from .training import ResumeError, TrainingConfig

METHODS = ("raw", *registry.METHODS)
"""Methods of a run: ``raw`` = no pretraining (the BC head sees the observation), and every
method of the registry: the article's representations (pretrained, then frozen under a
protocol) and the chunked policies (trained end to end, then run as they are: protocol
``policy``). A spec checks its method against the registry itself, so a method registered
later (a test's toy method) runs too."""
CACHE_VERSION = 2
"""Bump when a change of code (not of config) changes what a cached run would compute."""
PROTOCOLS = ("bc", "nn", "mpc", "policy")
"""How a run acts: a BC head on the frozen encoder, latent nearest neighbour, latent MPC
(``policies``), or the chunked method's own policy (``chunked``)."""

RESUME_EVERY = 1000
"""Optimiser steps between two saves of an unfinished model (``unfinished_path``): a run
cut short (a session's end, Ctrl-C) loses at most this many steps, about half a minute of
a chunked policy on one CPU core, for saves that take well under 1% of training
(``benchmarks/bench_chunked.py`` prints both)."""


def _frozen_items(d: dict | tuple) -> tuple[tuple[str, object], ...]:
    items = d.items() if isinstance(d, dict) else d
    return tuple(sorted((str(k), tuple(v) if isinstance(v, list) else v) for k, v in items))


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides one run: pretrain, extract a policy, evaluate it."""

    task: str
    """Short task name."""
    method: str = "actjepa"
    """``raw`` or a method of the registry (``METHODS``)."""
    protocol: str = "bc"
    """Policy extraction protocol, one of PROTOCOLS."""
    seed: int = 0
    """Training seed: pretraining and BC head initialisation and batch order."""
    n_demos: int = 100
    """Demonstration episodes (the first n of collection seed 0)."""
    demo_action_noise: float = 0.1
    """Action-noise std of the demonstration collection."""
    demo_obs_noise: float = 0.0
    """Sensor-noise sigma (standardised) added to the demonstrations' observations for training."""
    pretrain_steps: int = 5000
    """Pretraining optimiser steps."""
    bc_steps: int = 3000
    """BC head optimiser steps."""
    jepa: tuple[tuple[str, object], ...] = ()
    """Overrides of a representation method's config fields, as sorted (name, value) pairs."""
    bc: tuple[tuple[str, object], ...] = ()
    """Overrides of BCConfig fields, as sorted (name, value) pairs."""
    mpc: tuple[tuple[str, object], ...] = ()
    """Overrides of MPCConfig fields, as sorted (name, value) pairs."""
    policy: tuple[tuple[str, object], ...] = ()
    """Overrides of a chunked method's config fields (``methods``), as sorted (name, value) pairs."""
    eval_episodes: int = 100
    """Held-out evaluation episodes per noise level."""
    sigmas: tuple[float, ...] = (0.0,)
    """Test-time sensor-noise levels, in standardised units."""
    label: str = ""
    """Display name of the row in tables (defaults to method + protocol); not part of the key."""
    split: str = "test"
    """Episodes evaluated: "test" (every reported number) or "validation" (learning curves and
    the hyperparameter search; env seeds disjoint from the test ones, ``seeds.SPLITS``)."""

    def __post_init__(self) -> None:
        get_task(self.task)
        if self.method != "raw":
            registry.get_method(self.method)  # an unknown name fails with the known ones
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}; choose one of {PROTOCOLS}")
        if self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}; choose one of {list(SPLITS)}")
        if self.protocol == "mpc" and self.method != "actjepa":
            raise ValueError(f"latent MPC needs ACT-JEPA's action-conditioned latent predictor; "
                             f"method {self.method!r} has none")
        if get_task(self.task).is_pixels:
            self._check_pixels()
        for name in ("jepa", "bc", "mpc", "policy"):
            object.__setattr__(self, name, _frozen_items(getattr(self, name)))
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        if not self.label:
            object.__setattr__(self, "label", f"{self.method}+{self.protocol}")
        self._check_values()
        # fail now on a bad override, not after hours of other runs
        if self.is_chunked:
            self._check_chunked()
        elif self.method != "raw":
            self.method_config()
        if self.protocol == "policy" and not self.is_chunked:
            raise ValueError(f"protocol 'policy' runs a chunked method's own policy; {self.method!r} "
                             f"is not one (choose one of {list(registry.names('policy'))})")
        if self.policy and not self.is_chunked:
            raise ValueError(f"policy overrides {dict(self.policy)} are for the chunked methods "
                             f"{list(registry.names('policy'))}, not {self.method!r}")

    def _check_values(self) -> None:
        if self.n_demos < 1 or self.eval_episodes < 1:
            raise ValueError(f"n_demos and eval_episodes must be >= 1, got {self.n_demos} and "
                             f"{self.eval_episodes}")
        if not self.sigmas or any(not (math.isfinite(s) and s >= 0) for s in self.sigmas):
            raise ValueError(f"sigmas must be one or more finite noise levels >= 0, got "
                             f"{self.sigmas}")
        for name in ("demo_action_noise", "demo_obs_noise"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")

    def _check_pixels(self) -> None:
        """Pixel runs are the article's protocol on frames: its five pretraining methods
        under a BC head or nearest neighbours; latent MPC plans toward the goal part of a
        state, which a frame does not have, and the chunked methods are state-only here."""
        if self.is_chunked:
            raise ValueError(f"{self.method!r} runs on state observations only; on pixels choose "
                             f"one of {['raw', *registry.names('representation')]}")
        if self.protocol == "mpc":
            raise ValueError("latent MPC plans toward the goal part of a state observation; a "
                             "frame has none: use protocol 'bc' or 'nn' on pixels")

    def _check_chunked(self) -> None:
        if self.protocol not in ("policy", "bc"):
            raise ValueError(f"a chunked method runs its own policy ('policy') or a BC head on its "
                             f"encoder ('bc'), not {self.protocol!r}")
        if self.jepa:
            raise ValueError(f"jepa overrides {dict(self.jepa)} are for the representation methods; "
                             f"{self.method!r} takes its fields in 'policy'")
        cfg = self.method_config()
        cfg.check_episode(get_task(self.task).max_episode_steps)
        if self.protocol == "bc" and not registry.get_method(self.method).has_encoder:
            raise ValueError(f"{self.method!r} has no observation encoder to put a BC head on")

    @property
    def is_chunked(self) -> bool:
        """A chunked policy of the registry (trained end to end, no pretraining)."""
        return self.method != "raw" and registry.get_method(self.method).kind == "policy"

    def method_config(self) -> TrainingConfig:
        """This run's method config (``registry.make_config``): the task's widths, the run's
        seed and the spec's overrides (``policy`` for a chunked policy; ``jepa`` and the
        pretraining budget for a representation)."""
        if self.method == "raw":
            raise ValueError("raw trains no method: its BC head sees the observation itself")
        if self.is_chunked:
            return registry.make_config(self.method, self.task, seed=self.seed, **dict(self.policy))
        return registry.make_config(self.method, self.task, steps=self.pretrain_steps,
                                    seed=self.seed, **dict(self.jepa))

    def key(self) -> str:
        """Hash of every field but the label: the cache file name of this run's results.

        Two rows of different tables that are the same run (ACT-JEPA "full" and "concat" in
        the ablations, say) share one computation.
        """
        return _hash(self.identity())

    def identity(self) -> dict[str, object]:
        """Every field but the display label, plus the fully resolved configs: what decides
        the results. Resolving the configs means a changed default invalidates the cache."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "label"}
        if not self.policy:  # absent when unused: the keys of earlier runs stay what they were
            del out["policy"]
        if self.split == "test":  # likewise: every run before validation episodes existed
            del out["split"]
        out["resolved"] = {"jepa": self._pretrain_identity()["jepa"],
                           "bc": BCConfig(steps=self.bc_steps, seed=self.seed,
                                          **dict(self.bc)).to_dict(),
                           "mpc": dataclasses.asdict(MPCConfig(seed=self.seed, **dict(self.mpc))),
                           "cache_version": CACHE_VERSION}
        if self.is_chunked:  # the resolved config: a changed default is a new run
            out["resolved"]["policy"] = self.method_config().to_dict()
        return out

    def _pretrain_identity(self) -> dict[str, object]:
        fields = ("task", "method", "seed", "n_demos", "demo_action_noise", "demo_obs_noise")
        out: dict[str, object] = {f: getattr(self, f) for f in fields}
        # the key's two shapes: a representation's config under "jepa" (in the shape of the
        # one config the article's methods once shared), a policy's under "policy"
        out["jepa"] = (None if self.method == "raw" or self.is_chunked
                       else registry.article_key(self.method_config()))
        if self.is_chunked:
            out["policy"] = self.method_config().to_dict()
        out["cache_version"] = CACHE_VERSION
        return out

    def pretrain_key(self) -> str:
        """Hash of what decides pretraining only (shared by runs that differ after it)."""
        return _hash(self._pretrain_identity())


def _hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Runner:
    """Runs specs with a results cache under ``cache_dir``; see the module docstring."""

    cache_dir: Path
    """Folder of the cache: ``runs/<key>.csv`` and ``models/<pretrain_key>.pt``."""
    progress: bool = True
    """Show progress bars."""
    workers: int = 1
    """Runs side by side (processes, or CPUs of a local Ray instance), each with one torch
    thread."""
    executor: str = "pool"
    """Where missing runs are computed: ``pool`` (this machine's processes; with one worker,
    this process) or ``ray`` (``executors``)."""
    address: str | None = None
    """With ``ray``: the address of an existing cluster (None: start a local instance)."""
    gpus_per_run: float = 0.0
    """With ``ray``: GPUs each run asks for (its models then train on ``cuda``)."""
    _demos: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer, got {self.workers!r}")
        check_executor(self.executor, self.address, self.gpus_per_run)
        self.cache_dir = Path(self.cache_dir)
        (self.cache_dir / "runs").mkdir(parents=True, exist_ok=True)
        (self.cache_dir / "models").mkdir(parents=True, exist_ok=True)

    def run(self, specs: Iterable[RunSpec]) -> pd.DataFrame:
        """Results of all ``specs``, computing only those not in the cache.

        With ``workers > 1`` or the ``ray`` executor the missing runs are computed first by
        the executor (``_run_elsewhere``); otherwise one after the other in this process.
        Every run is deterministic on its own (seeded, one torch thread), so the results are
        the same wherever they ran. A run that raises does not stop the others: when all
        are done, ``RunsFailed`` names each failed spec with its error.
        """
        specs = list(specs)
        cached = {s.key(): rows for s in specs if (rows := self._cached_rows(s)) is not None}
        todo = list({s.key(): s for s in specs if s.key() not in cached}.values())
        failed: dict[str, tuple[RunSpec, BaseException]] = {}
        if todo and (self.executor == "ray" or (self.workers > 1 and len(todo) > 1)):
            failed = self._run_elsewhere(todo)
        frames = []
        bar = tqdm(specs, desc="runs", unit="run", disable=not self.progress)
        for spec in bar:
            if spec.key() in failed:
                continue
            bar.set_postfix_str(f"{spec.task} {spec.label} seed {spec.seed}")
            rows = cached.get(spec.key())  # read once, above
            try:
                frames.append(self.run_one(spec) if rows is None else _labelled(rows, spec))
            except Exception as error:  # reported with the others' results done
                failed[spec.key()] = self._failed(spec, error)
        if failed:
            errors = list(failed.values())
            raise RunsFailed(errors) from errors[0][1]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def finished(self, specs: Iterable[RunSpec]) -> pd.DataFrame:
        """The rows of those ``specs`` whose runs are in the cache, labelled as ``run`` labels
        them; nothing is computed. What a sweep interrupted midway has to show for itself
        (``results.save_partial``)."""
        frames = [_labelled(rows, s) for s in specs if (rows := self._cached_rows(s)) is not None]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _path(self, spec: RunSpec) -> Path:
        return self.cache_dir / "runs" / f"{spec.key()}.csv"

    def _failed(self, spec: RunSpec, error: BaseException) -> tuple[RunSpec, BaseException]:
        """Say at once that ``spec`` failed (long sweeps should not hide it until the end)."""
        if self.progress:
            tqdm.write(f"run failed: {describe(spec)}: {type(error).__name__}: {error}")
        return spec, error

    def _run_elsewhere(self, todo: list[RunSpec]) -> dict[str, tuple[RunSpec, BaseException]]:
        """Compute ``todo`` with the executor (``_Sweep``); the failures by key."""
        for spec in todo:  # collect demonstrations here, once, before any worker needs them
            self.demos(spec)
        executor = open_executor(self.executor, self.workers, self.address, self.gpus_per_run)
        where = "ray cluster" if self.address else f"{self.executor}, {self.workers} workers"
        bar = tqdm(total=len(todo), desc=f"runs ({where})", unit="run", disable=not self.progress)
        try:
            return _Sweep(self, executor, bar).run(todo)
        finally:
            bar.close()
            executor.shutdown(wait=True, cancel_futures=True)

    def _missing_entry(self, spec: RunSpec) -> Exception | None:
        """An error when a run finished elsewhere but its entry is not in this cache: the
        cache folder is not shared with the node that ran it."""
        if self._path(spec).exists():
            return None
        return FileNotFoundError(f"the run finished but {self._path(spec)} does not exist: "
                                 f"--cache must be a folder every node sees at the same path")

    def run_one(self, spec: RunSpec) -> pd.DataFrame:
        """One run's rows, from the cache if there, labelled with this spec's label.

        Under the entry's lock: a second process asking for the same run waits, then reads
        what the first wrote, instead of computing it too.
        """
        rows = self._cached_rows(spec)
        if rows is None:
            path = self._path(spec)
            with file_lock(path):
                rows = self._cached_rows(spec)
                if rows is None:
                    rows = self._compute(spec)
                    write_csv_atomic(rows, path)
        return _labelled(rows, spec)

    def _cached_rows(self, spec: RunSpec) -> pd.DataFrame | None:
        """The cached rows of ``spec``, None when absent; an entry failing ``run_problem`` is
        moved aside (``cache.quarantine``) and counts as absent."""
        path = self._path(spec)
        if not path.exists():
            return None
        try:
            rows = pd.read_csv(path, dtype={"spec_key": str}).rename(columns=OLD_RUN_COLUMNS)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            problem = f"unreadable ({type(e).__name__})"
        else:
            problem = run_problem(rows, spec)
        if problem is None:
            return rows
        quarantine(path, problem)
        return None

    # -- the pipeline of one run ------------------------------------------------------
    def demos(self, spec: RunSpec) -> Demonstrations:
        key = (spec.task, spec.demo_action_noise)
        if key not in self._demos or self._demos[key].n_episodes < spec.n_demos:
            self._demos[key] = demonstrations(spec.task, spec.n_demos, seed=0,
                                              action_noise=spec.demo_action_noise,
                                              progress=self.progress)
        return self._demos[key].first(spec.n_demos)

    def training_demos(self, spec: RunSpec) -> Demonstrations:
        """The demonstrations a run trains on: clean, or with the spec's sensor noise."""
        d = self.demos(spec)
        return d.with_sensor_noise(spec.demo_obs_noise) if spec.demo_obs_noise > 0 else d

    def pretrained(self, spec: RunSpec, d: Demonstrations):
        """The pretrained model of ``spec`` (None for ``raw``), cached on disk."""
        return self._pretrained(spec, d)[0]

    def _pretrained(self, spec: RunSpec, d: Demonstrations) -> tuple[object, pd.DataFrame | None]:
        """The pretrained model and its training history (None, None for ``raw``).

        Read from the cache, else trained and saved under the checkpoint's lock (a second
        process waits and reads it); a checkpoint that does not load (cut short, another
        version, other shapes) is moved aside and trained again. Training resumes from
        the model's unfinished checkpoint (``unfinished_path``) where one was left.
        """
        if spec.method == "raw":
            return None, None
        path = self.cache_dir / "models" / f"{spec.pretrain_key()}.pt"
        loaded = self._load_model(spec, path)
        if loaded is not None:
            return loaded
        with file_lock(path):
            loaded = self._load_model(spec, path)
            if loaded is not None:
                return loaded
            with warnings.catch_warnings():
                # every monitor reading, flagged or not, is kept in the history the chapters
                # read (chapter 4 judges collapse from it); a warning printed by a worker of a
                # sweep would only reach a notebook's output, where no one can act on it
                warnings.simplefilter("ignore", CollapseWarning)
                unfinished = unfinished_path(path)
                model, history = self._train(spec.method_config(), d, unfinished)
            registry.save(path, model, history)
            unfinished.unlink(missing_ok=True)
            return model, history

    @staticmethod
    def _train(cfg: TrainingConfig, d: Demonstrations, unfinished: Path
               ) -> tuple[object, pd.DataFrame]:
        """``registry.train``, saving the unfinished model every ``RESUME_EVERY`` steps where
        the method can resume; an unfinished file that cannot resume is set aside
        (``quarantine``) and the run starts over."""
        if not registry.resumable(cfg):
            return registry.train(cfg, d)
        resume = dict(checkpoint_path=unfinished, checkpoint_every=RESUME_EVERY)
        try:
            return registry.train(cfg, d, **resume)
        except ResumeError as e:
            quarantine(unfinished, str(e))
            return registry.train(cfg, d, **resume)

    @staticmethod
    def _load_model(spec: RunSpec, path: Path) -> tuple[object, pd.DataFrame] | None:
        """The cached model of ``spec`` and its history; None when absent or unloadable
        (then moved aside by ``cache.quarantine``)."""
        if not path.exists():
            return None
        try:
            loaded = registry.load(path, spec.method)
        except (ValueError, RuntimeError, KeyError) as e:  # unreadable, version, shapes
            quarantine(path, f"checkpoint does not load ({e})")
            return None
        differ = _config_difference(loaded[0].cfg, spec)
        if differ:
            quarantine(path, f"the checkpoint was trained with another config ({differ})")
            return None
        return loaded

    def probe_encoders(self, specs: Iterable[RunSpec]) -> pd.DataFrame:
        """Linear probes (``probes.probe_representation``) of the representation each spec
        pretrains, on its training demonstrations; a spec without pretraining probes the raw
        observation. A pixel spec's targets come from the state demonstrations of the same
        episodes. Columns: ``task`` (the state task), ``label``, ``method`` and ``seed``, the
        probe's, then the run's ``spec_key`` and ``spec`` (``_probe_rows``)."""
        rows = []
        for spec in specs:
            d = self.training_demos(spec)
            model = self.pretrained(spec, d)
            embed = torch_embedder(model.encoder if model is not None else None)
            state = state_spec(spec.task).name
            states = (self.training_demos(dataclasses.replace(spec, task=state))
                      if state != spec.task else None)
            rows.append(_probe_rows(probe_representation(embed, d, states=states), spec, state))
        return pd.concat(rows, ignore_index=True)

    def probe_future(self, specs: Iterable[RunSpec], held_out: int = 25) -> pd.DataFrame:
        """World-model probes of trained chunked methods: one row per run and future step j.

        Each run's model comes from the cache (trained if missing); its encoder is probed
        with ``probes.future_probe`` up to the run's observation chunk (at least 10 steps),
        fitted on the run's demonstrations and scored on ``held_out`` later episodes of the
        same collection, which no model has seen. ``action_r2`` (``probes.action_fit``, the
        same on each row of a run) says how well the policy's own first action fits the
        demonstrated one on those episodes.
        """
        frames = []
        unseen: dict[tuple, Demonstrations] = {}  # the probes' test episodes, read once per task
        for spec in tqdm(list(specs), desc="probes", unit="run", disable=not self.progress):
            d = self.training_demos(spec)
            model, _ = self._pretrained(spec, d)
            if getattr(model, "encoder", None) is None:
                raise ValueError(f"{spec.method!r} has no observation encoder to probe")
            key = (spec.task, spec.n_demos, spec.demo_action_noise)
            if key not in unseen:
                more = demonstrations(spec.task, spec.n_demos + held_out, seed=0,
                                      action_noise=spec.demo_action_noise, progress=False)
                unseen[key] = Demonstrations(spec.task, *(
                    getattr(more, f)[spec.n_demos:]
                    for f in ("obs", "actions", "rewards", "success", "seeds")))
            test = unseen[key]
            horizon = max(10, getattr(model.cfg, "obs_chunk", 1))
            rows = future_probe(torch_embedder(model.encoder), d, test, horizon)
            rows["action_r2"] = action_fit(model, d, test)  # one value per run, on every row
            frames.append(_probe_rows(rows, spec, spec.task))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _compute(self, spec: RunSpec) -> pd.DataFrame:
        d = self.training_demos(spec)
        model, history = self._pretrained(spec, d)
        encoder = model.encoder if model is not None else None
        layout = get_task(spec.task).layout
        o, a, _ = d.transitions()
        if spec.protocol == "policy":
            policy = ChunkedPolicy(model, d.stats, seed=spec.seed)
        elif spec.protocol == "bc":
            cfg = BCConfig(steps=spec.bc_steps, seed=spec.seed, **dict(spec.bc))
            policy, _ = train_bc(encoder, o, a, d.stats, layout, cfg)
        elif spec.protocol == "nn":
            policy = LatentNN(encoder, o, a, d.stats)
        else:
            policy = LatentMPC(model, d.stats, layout, MPCConfig(seed=spec.seed, **dict(spec.mpc)))
        with torch.no_grad():
            rows = pd.concat([
                evaluate_policy(spec.task, policy, spec.eval_episodes, d.stats, sigma=s,
                                seed=spec.seed, split=spec.split)
                for s in spec.sigmas
            ], ignore_index=True).drop(columns="label")
        rows.insert(1, "protocol", spec.protocol)
        rows.insert(1, "method", spec.method)
        rows["n_demos"] = spec.n_demos
        # the collapse monitor's last reading of the frozen encoder, for the ablation chapter
        has_monitor = history is not None and "online_erank" in history
        last = history.dropna(subset=["online_erank"]).iloc[-1] if has_monitor else None
        rows["encoder_std"] = last["online_std"] if last is not None else float("nan")
        rows["encoder_erank"] = last["online_erank"] if last is not None else float("nan")
        if spec.is_chunked:  # the latent target's last monitor reading, for the sanity gate
            rows = rows.assign(**latent_readings(history))
        if get_task(spec.task).is_pixels:  # the page says which device made the numbers
            rows["device"] = resolve_device("auto").type
        rows["spec_key"] = spec.key()
        rows["spec"] = _spec_json(spec)
        return rows


@dataclass
class _Sweep:
    """The missing runs of one ``Runner.run`` on an executor, as chains of runs that share a
    pretrained model: the first of a chain trains and caches the model, the others are
    submitted when it is done (then side by side), so no model is trained twice and no worker
    sits waiting on another's lock. If the first fails, the next one takes its place."""

    runner: Runner
    executor: Executor
    bar: tqdm
    """Counts finished runs, failed ones included."""
    pending: dict[Future, list[RunSpec]] = field(default_factory=dict)
    """A submitted run's future -> the run, then the runs waiting for its model."""
    failed: dict[str, tuple[RunSpec, BaseException]] = field(default_factory=dict)

    def run(self, todo: list[RunSpec]) -> dict[str, tuple[RunSpec, BaseException]]:
        """Compute ``todo``; the failures by key once every other run is done."""
        chains: dict[str, list[RunSpec]] = {}
        for spec in todo:
            chains.setdefault(spec.pretrain_key(), []).append(spec)
        for chain in chains.values():
            self.submit(chain)
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            for future in done:
                self.settle(future)
        return self.failed

    def submit(self, chain: list[RunSpec]) -> None:
        """Submit the first run of ``chain``; a run the executor refuses (a pool broken by a
        killed worker) fails, and the next one is tried."""
        for i, spec in enumerate(chain):
            try:
                future = self.executor.submit(_run_cached, self.runner.cache_dir, spec)
            except Exception as error:
                self.fail(spec, error)
            else:
                self.pending[future] = chain[i:]
                return

    def settle(self, future: Future) -> None:
        """A run is done: on success its followers go side by side (the model is cached), on
        failure the next follower trains the model itself."""
        spec, *followers = self.pending.pop(future)
        error = future.exception() or self.runner._missing_entry(spec)
        if error is not None:
            self.fail(spec, error)
            self.submit(followers)
            return
        self.bar.update(1)
        for follower in followers:
            self.submit([follower])

    def fail(self, spec: RunSpec, error: BaseException) -> None:
        self.failed[spec.key()] = self.runner._failed(spec, error)
        self.bar.update(1)


def latent_readings(history: pd.DataFrame | None) -> dict[str, float]:
    """The last reading of ``LATENT_COLUMNS`` in a training history (NaN where absent)."""
    if history is None or not set(LATENT_COLUMNS) <= set(history.columns):
        return dict.fromkeys(LATENT_COLUMNS, float("nan"))
    read = history.dropna(subset=list(LATENT_COLUMNS))
    if read.empty:
        return dict.fromkeys(LATENT_COLUMNS, float("nan"))
    return {c: float(read[c].iloc[-1]) for c in LATENT_COLUMNS}


def _config_difference(stored: object, spec: RunSpec) -> str | None:
    """The first field where a checkpoint's stored config differs from the one ``spec``
    trains (None when they agree): a checkpoint copied under another run's key is caught."""
    want = spec.method_config()
    a, b = (json.loads(json.dumps(c.to_dict(), default=str)) for c in (stored, want))
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            return f"{name} is {a.get(name)!r}, the run needs {b.get(name)!r}"
    return None


def _spec_json(spec: RunSpec) -> str:
    """The full spec of a run as the ``spec`` column holds it (``results.write_results``
    moves it to the specs file)."""
    return json.dumps(spec.identity(), sort_keys=True, default=str)


def _probe_rows(rows: pd.DataFrame, spec: RunSpec, task: str) -> pd.DataFrame:
    """Probe scores named as evaluation rows are: ``task``, ``label``, ``method`` and
    ``seed`` first, the run's ``spec_key`` and ``spec`` last, so the results files treat
    both alike."""
    front = pd.DataFrame({"task": task, "label": spec.label, "method": spec.method,
                          "seed": spec.seed}, index=rows.index)
    return pd.concat([front, rows], axis=1).assign(spec_key=spec.key(), spec=_spec_json(spec))


def _labelled(rows: pd.DataFrame, spec: RunSpec) -> pd.DataFrame:
    """A copy of a run's rows with the spec's display label as the ``label`` column (second):
    two specs sharing a run (same key, two table rows) each get their own label."""
    rows = rows.copy()
    rows.insert(1, "label", spec.label)
    return rows


def unfinished_path(model_path: Path) -> Path:
    """Where the model cached at ``model_path`` is saved while it trains: ``<key>.unfinished.pt``
    beside it, never read as a finished model and removed once the model is saved."""
    return model_path.with_name(f"{model_path.stem}.unfinished.pt")


RUN_COLUMNS = ("task", "method", "protocol", "seed", "sigma", "episode", "env_seed",
               "success", "n_demos", "spec_key", "spec")
"""Columns every cached run has (``Runner._compute``)."""

OLD_RUN_COLUMNS = {"pretraining": "method"}
"""Entries cached before the results' columns were named plainly (2026-11) call the method
key ``pretraining``; they are read under today's name, so no run is computed again."""


def not_binary(success: pd.Series) -> pd.Series:
    """Mask of the entries of a ``success`` column that are not a finite 0 or 1 (text and
    NaN included): the one check of an episode's outcome, for the cache and the results."""
    return ~pd.to_numeric(success, errors="coerce").isin([0.0, 1.0])


def episode_problem(rows: pd.DataFrame, eval_episodes: int, sigmas) -> str | None:
    """What is wrong with ``rows`` as one run's evaluation episodes (None: nothing): each of
    the ``eval_episodes`` episodes exactly once at each noise level of ``sigmas``, success a
    finite 0 or 1. Rows cut off, duplicated, or one episode copied over another all fail."""
    sigmas = sorted(float(x) for x in sigmas)
    expected = eval_episodes * len(sigmas)
    if len(rows) != expected:
        return (f"{len(rows)} rows, expected {expected} ({eval_episodes} episodes x "
                f"{len(sigmas)} noise levels)")
    if not_binary(rows.success).any():
        return "success holds a value that is not 0 or 1"
    if sorted(set(rows.sigma.astype(float))) != sigmas:
        return f"noise levels {sorted(set(rows.sigma))}, expected {sigmas}"
    want = set(range(eval_episodes))
    for sigma, g in rows.groupby("sigma"):
        episodes = g.episode.astype(int)
        if episodes.duplicated().any() or set(episodes) != want:
            twice = sorted(set(episodes[episodes.duplicated()]))[:3]
            lost = sorted(want - set(episodes))[:3]
            return (f"at sigma {sigma:g} the episodes are not 0..{eval_episodes - 1} once each"
                    + (f" (repeated: {twice}" if twice else " (") + (f"; missing: {lost})" if lost else ")"))
    return None


def run_problem(rows: pd.DataFrame, spec: RunSpec) -> str | None:
    """What is wrong with ``rows`` as the cached result of ``spec`` (None: nothing).

    Every row keyed by the spec, then ``episode_problem``: a file cut at a line boundary
    still parses, and is caught here.
    """
    missing = [c for c in RUN_COLUMNS if c not in rows.columns]
    if missing:
        return f"missing columns {missing}"
    if not (rows.spec_key == spec.key()).all():
        return f"rows of another run (spec_key is not {spec.key()})"
    return episode_problem(rows, spec.eval_episodes, spec.sigmas)


def _run_cached(cache_dir: Path, spec: RunSpec) -> None:
    """What an executor runs, wherever it runs it: compute ``spec`` and write its entry to
    the cache (``Runner.run_one``); the rows stay there, nothing travels back."""
    Runner(cache_dir, progress=False).run_one(spec)


def describe(spec: RunSpec) -> str:
    """A run as a person finds it: task, label, seed and the key of its cache entry."""
    return f"{spec.task} / {spec.label} / seed {spec.seed} (run {spec.key()})"


class RunsFailed(RuntimeError):
    """Runs of a sweep raised; every other run finished and is in the cache, so running the
    sweep again computes only these. ``failures`` holds each failed spec with its error."""

    def __init__(self, failures: list[tuple[RunSpec, BaseException]]):
        self.failures = failures
        lines = [f"  {describe(spec)}: {type(e).__name__}: {e}" for spec, e in failures]
        super().__init__(f"{len(failures)} run(s) failed (the others finished and are "
                         f"cached; run again to retry these):\n" + "\n".join(lines))
