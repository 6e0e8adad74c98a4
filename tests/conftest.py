"""Test-session isolation: datasets and cached runs go to a fresh folder, never the user's.

Without this, a smoke run of a notebook could load results cached by an earlier run and
prove nothing about the code as it is now. MuJoCo renders headless (EGL) unless the caller
chose otherwise: it reads ``MUJOCO_GL`` once, when first imported, so it is set here, before
any test module imports the package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(scope="session", autouse=True)
def _fresh_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("actjepa")
    mp = pytest.MonkeyPatch()
    mp.setenv("ACTJEPA_DATA", str(root / "datasets"))
    mp.setenv("ACTJEPA_CACHE", str(root / "cache"))
    yield
    mp.undo()
