#!/usr/bin/env python
"""Write the setup cell of every notebook from ``_config.yml`` (the one place naming the repository).

The setup cell is the second code cell of each chapter, right after the ``parameters`` cell.
It finds the book's repository (the package and the committed ``results/``) above the working
folder; on a fresh runtime (Colab, or a notebook copied alone) it makes a shallow clone of
``repository.url`` at ``repository.branch``, installs the dependencies the runtime lacks (a
runtime's own torch is kept: another build would pull gigabytes), puts the clone first on
``sys.path`` and points ``ACTJEPA_RESULTS`` at its ``results/``. ``$ACTJEPA_REPO`` replaces the
URL (the fresh-runtime test serves the repository as a local git URL). The cell is tagged
``remove-cell``: a reader of the site does not see it, a Colab user does.

Usage::

    python scripts/sync_setup_cell.py           # rewrite the setup cell of notebooks/*.ipynb
    python scripts/sync_setup_cell.py --check   # exit 1, listing them, when any differs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = "# Setup: find the book's repository"
"""First line of the setup cell: how the script finds it."""
TAGS = ["remove-cell"]
_URL = re.compile(r"^https://[^\s\"']+$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")

TEMPLATE = '''\
# Setup: find the book's repository (package, committed results) or fetch it (Colab).
# Written by scripts/sync_setup_cell.py from _config.yml; hidden on the book's pages.
import os
import subprocess
import sys
import tomllib
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")  # headless MuJoCo, chosen before it is imported
REPO = os.environ.get("ACTJEPA_REPO", "{url}")
BRANCH = "{branch}"
ROOT = next((p for p in (Path.cwd(), *Path.cwd().parents)
             if (p / "actjepa_core").is_dir() and (p / "results").is_dir()), None)
if ROOT is None:  # a fresh runtime: a shallow clone, then what the runtime lacks
    ROOT = Path.cwd() / "actjepa-book"
    if not ROOT.is_dir():
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", BRANCH, REPO,
                        str(ROOT)], check=True)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    have_torch = subprocess.run([sys.executable, "-c", "import torch"]).returncode == 0
    deps = [d for d in deps if not (have_torch and d.startswith("torch"))]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *deps], check=True)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ACTJEPA_RESULTS", str(ROOT / "results"))'''


def config_repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``repository.url`` and ``repository.branch`` of ``_config.yml``, checked."""
    repo = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not isinstance(url, str) or not _URL.match(url.strip()):
        raise SystemExit(f"{config}: repository.url must be an https URL, got {url!r}")
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise SystemExit(f"{config}: repository.branch must be a branch name, got {branch!r}")
    return url.strip().rstrip("/"), branch


def setup_source(url: str, branch: str) -> str:
    """The setup cell's source for a repository URL and branch."""
    return TEMPLATE.format(url=url, branch=branch)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def setup_cells(nb: dict) -> list[dict]:
    """The code cells of a notebook that start with ``MARKER``."""
    return [c for c in nb.get("cells", [])
            if c.get("cell_type") == "code" and _source(c).startswith(MARKER)]


def sync_notebook(path: Path, source: str, write: bool = True) -> bool:
    """Give ``path``'s setup cell ``source`` and ``TAGS``; True when it changed (or would).

    Only that cell changes; the JSON is written as nbformat writes it (indent 1, sorted keys).
    """
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = setup_cells(nb)
    if len(cells) != 1:
        raise ValueError(f"{path}: {len(cells)} setup cells (code cells starting with "
                         f"{MARKER!r}); there must be exactly one")
    cell = cells[0]
    tags = cell.setdefault("metadata", {}).get("tags", [])
    if _source(cell) == source and tags == TAGS:
        return False
    if write:
        cell["source"] = source.splitlines(keepends=True)
        cell["metadata"]["tags"] = list(TAGS)
        path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when any setup cell differs")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="folder of the notebooks (default: notebooks/)")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml",
                        help="book configuration holding repository.url and .branch")
    args = parser.parse_args(argv)
    url, branch = config_repository(args.config)
    source = setup_source(url, branch)
    stale, errors = [], []
    notebooks = sorted(args.notebooks.glob("*.ipynb"))
    for path in notebooks:
        try:
            if sync_notebook(path, source, write=not args.check):
                stale.append(path)
        except ValueError as err:
            errors.append(str(err))
    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    for path in stale:
        print(f"{path}: setup cell {'differs' if args.check else 'rewritten'}")
    print(f"sync_setup_cell: {len(notebooks)} notebook(s) against {url} ({branch}): "
          f"{len(stale)} {'out of date' if args.check else 'rewritten'}, {len(errors)} error(s)")
    return 1 if errors or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
