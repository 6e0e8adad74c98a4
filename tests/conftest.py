"""Test-session isolation: datasets and cached runs go to a fresh folder, never the user's.

Without this, a smoke run of a notebook could load results cached by an earlier run and
prove nothing about the code as it is now.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _fresh_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("actjepa")
    mp = pytest.MonkeyPatch()
    mp.setenv("ACTJEPA_DATA", str(root / "datasets"))
    mp.setenv("ACTJEPA_CACHE", str(root / "cache"))
    yield
    mp.undo()
