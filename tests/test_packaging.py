"""The installed package is the whole package: every subpackage goes into the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_packaged() -> None:
    """``packages = ["actjepa_core"]`` once left ``methods`` and ``plots`` out of a wheel, so
    ``pip install git+...`` gave a package whose imports failed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = set(find_packages(str(ROOT), **config["packages"]["find"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "actjepa_core").rglob("__init__.py")}
    assert on_disk <= packaged, f"not packaged: {sorted(on_disk - packaged)}"
    assert {"actjepa_core.methods", "actjepa_core.plots"} <= packaged
