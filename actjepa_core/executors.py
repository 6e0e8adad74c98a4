"""Where the runs of a sweep execute: a pool of this machine's processes, or Ray.

``experiments.Runner`` decides what runs and in which order (a run that needs another's
pretrained model waits for it); an executor only decides where each run executes. Both are
``concurrent.futures.Executor``s, so the runner submits to and waits on them in one way, and
both execute the same function, which ends by writing the run's cache entry atomically
under the entry's lock. The cache stays the one source of truth: an interrupted sweep
resumes from it whichever executor was used, and two executors on one cache folder never
write the same entry half-way.

* ``pool``: ``worker_pool`` — spawned processes on this machine that die with it.
* ``ray``: ``RayExecutor`` — one Ray task per run, with one CPU (and ``gpus_per_run`` GPUs),
  on a local Ray instance sized by ``workers`` or on an existing cluster (``address``).
  Ray is an optional extra (``pip install -e ".[cluster]"``).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor

EXECUTORS = ("pool", "ray")
"""The executors ``reproduce --executor`` accepts; ``pool`` is the default."""

FORWARDED_ENV = ("ACTJEPA_DATA", "ACTJEPA_CACHE", "MUJOCO_GL")
"""Variables a cluster's workers take from the driver (when set there): the demonstrations
and the cache must be the folders the driver uses, not each node's defaults."""

RAY_RETRIES = 3
"""Times Ray runs a task again whose worker died (killed, out of memory, node lost). Safe:
an interrupted run left no entry, only its lock, which the kernel released. An exception
raised by the run itself is never retried: it is reported with its spec."""


def check_executor(name: str, address: str | None, gpus_per_run: float) -> None:
    """Fail now, before any run, on a wrong combination or a missing Ray."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of {EXECUTORS}")
    if not gpus_per_run >= 0:
        raise ValueError(f"gpus_per_run must be >= 0, got {gpus_per_run}")
    if name == "pool" and (address or gpus_per_run):
        raise ValueError("an address and GPUs per run are for the 'ray' executor; the pool "
                         "runs on this machine's CPUs")
    if name == "ray":
        _import_ray()


def open_executor(name: str, workers: int, address: str | None = None,
                  gpus_per_run: float = 0.0) -> Executor:
    """The executor ``name`` (one of ``EXECUTORS``); the caller shuts it down."""
    check_executor(name, address, gpus_per_run)
    if name == "pool":
        return worker_pool(workers)
    return RayExecutor(workers, address, gpus_per_run)


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ImportError("the 'ray' executor needs Ray, an optional extra: "
                          "pip install -e \".[cluster]\"") from e
    return ray


class RemoteTraceback(Exception):
    """The traceback of an exception raised on a Ray worker, kept as its ``__cause__`` (as
    the process pool does) so the run's own exception is what the runner reports."""


class RayExecutor(Executor):
    """Each submitted call is one Ray task asking for one CPU and ``gpus_per_run`` GPUs.

    Without ``address`` it starts a local Ray instance of ``workers`` CPUs and stops it at
    ``shutdown``; with one it joins that cluster, whose CPUs set how many runs go side by
    side. When Ray is already initialised (a notebook, a test) it uses that instance and
    leaves it running.
    """

    def __init__(self, workers: int, address: str | None = None, gpus_per_run: float = 0.0):
        self._ray = _import_ray()
        self._owns = not self._ray.is_initialized()
        if self._owns:
            self._start(workers, address)
        self._options = dict(num_cpus=1, num_gpus=gpus_per_run, max_retries=RAY_RETRIES)
        self._tasks: dict[Callable, object] = {}  # function -> its Ray remote function
        self._pending: dict[Future, object] = {}  # future -> its ObjectRef, for cancel
        self._lock = threading.Lock()

    def _start(self, workers: int, address: str | None) -> None:
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        if address:
            self._ray.init(address=address, runtime_env={"env_vars": env})
        else:  # always a new instance ("local"), never one found running on this machine;
            # it inherits this process's environment
            self._ray.init(address="local", num_cpus=workers, include_dashboard=False)

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` as one Ray task; its future holds the call's own
        result or exception."""
        if fn not in self._tasks:
            self._tasks[fn] = self._ray.remote(fn)
        ref = self._tasks[fn].options(**self._options).remote(*args, **kwargs)
        future: Future = Future()
        with self._lock:
            self._pending[future] = ref
        ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: Future, done: Future) -> None:
        """Pass ``done``'s outcome to ``future``, unwrapping Ray's error to the run's own."""
        with self._lock:
            self._pending.pop(future, None)
        if not future.set_running_or_notify_cancel():
            return
        error = done.exception()
        if error is None:
            future.set_result(done.result())
            return
        cause = getattr(error, "cause", None)
        if isinstance(error, self._ray.exceptions.RayTaskError) and isinstance(cause, Exception):
            cause.__cause__ = RemoteTraceback(str(error))
            error = cause
        future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel what is still pending (``cancel_futures``; a running run is interrupted
        before it writes, so it leaves no entry), and stop Ray if this executor started it."""
        with self._lock:
            pending = dict(self._pending)
        if cancel_futures:
            for future, ref in pending.items():
                future.cancel()
                with contextlib.suppress(Exception):  # finished meanwhile
                    self._ray.cancel(ref)
        elif wait and pending:
            self._ray.wait(list(pending.values()), num_returns=len(pending))
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that die with this one (``die_with_parent``):
    a killed ``reproduce`` leaves no worker (about 500 MB each) running."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when ``parent`` dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere, and as a fallback, a daemon thread checks every second whether the worker
    was handed to another parent.
    """
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
