"""Cache files that are safe to share: one writer at a time, and nothing damaged trusted.

Two processes may compute the same thing (two ``reproduce`` on one cache folder, two
notebooks collecting one dataset). ``file_lock`` makes the second wait for the first and then
read what it wrote. A cache entry that fails its check on read (cut short, emptied, another
version) is not trusted and not deleted either: ``quarantine`` moves it aside, says so, and the
caller computes it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def default_cache_dir() -> Path:
    """``$ACTJEPA_CACHE`` or ``~/.cache/actjepa/cache``: where computed runs are kept (one
    folder per profile below it) and MuJoCo's log goes."""
    return Path(os.environ.get("ACTJEPA_CACHE", Path.home() / ".cache" / "actjepa" / "cache"))


def mujoco_log_path() -> Path:
    """Where MuJoCo's warnings are logged (``envs.route_mujoco_warnings``): the cache folder,
    never the working folder (MuJoCo's own default, ``./MUJOCO_LOG.TXT``)."""
    return default_cache_dir() / "MUJOCO_LOG.TXT"


class CacheWarning(UserWarning):
    """A cache entry failed its check and was moved aside to be recomputed."""


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` for the block (``fcntl.flock``: released by
    the kernel when the holder dies, so a killed run never leaves a stale lock)."""
    lock = Path(path).with_name(Path(path).name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def quarantine(path: Path, reason: str) -> Path:
    """Move the bad entry ``path`` aside to ``<name>.bad-<time>-<pid>`` and warn with both
    paths and ``reason``; returns the new path."""
    path = Path(path)
    bad = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(path, bad)
    warnings.warn(f"{path}: {reason}; moved aside to {bad.name}, computing it again",
                  CacheWarning, stacklevel=2)
    return bad


def write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV so that ``path`` is either absent or complete, never partial."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            df.to_csv(f, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
