#!/usr/bin/env python
"""Write the repository URL of ``_config.yml`` into the install cell of every notebook.

``_config.yml``'s ``repository.url`` is the one place that names the repository: the book's
launch and repository buttons read it, and the first code cell of every notebook installs the
package from it on a fresh runtime (Colab), in a line ``REPO = "<url>"``. This script rewrites
that line from ``_config.yml``:

* in every ``notebooks/*.ipynb``: only the source of the code cell holding the line changes; the
  rest of the JSON (cell ids, metadata, empty outputs) is kept, written the way nbformat writes
  it (``indent=1``, sorted keys);
* in the percent-format sources (``# %%`` scripts) given as extra arguments, files or folders
  of ``*.py``.

Usage::

    python scripts/sync_repo_url.py                 # rewrite notebooks/*.ipynb
    python scripts/sync_repo_url.py /tmp/nbsrc      # ... and the percent-format sources there
    python scripts/sync_repo_url.py --check         # exit 1, listing them, when any differs

A notebook without the install line is an error (exit 1): every notebook must be able to run
on a fresh runtime.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The install line: indentation, then REPO = "<url>" (single or double quotes).
REPO_LINE = re.compile(r"""^(?P<indent>[ \t]*)REPO = (?P<quote>["'])(?P<url>[^"'\n]*)(?P=quote)[ \t]*$""",
                       re.MULTILINE)
_URL = re.compile(r"^https://[^\s\"']+$")


def config_url(config: Path = ROOT / "_config.yml") -> str:
    """``repository.url`` of ``_config.yml``, checked to be a plain https URL."""
    data = yaml.safe_load(config.read_text()) or {}
    url = (data.get("repository") or {}).get("url")
    if not isinstance(url, str) or not _URL.match(url.strip()):
        raise SystemExit(f"{config}: repository.url must be an https URL, got {url!r}")
    return url.strip().rstrip("/")


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _as_lines(text: str) -> list[str]:
    """A cell source as nbformat stores it: a list of lines, each but the last with its \\n."""
    return text.splitlines(keepends=True)


def notebook_urls(path: Path) -> list[str]:
    """Every ``REPO = "..."`` URL in the code cells of a notebook (empty: no install cell)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [m.group("url") for cell in nb.get("cells", []) if cell.get("cell_type") == "code"
            for m in REPO_LINE.finditer(_cell_source(cell))]


def source_urls(path: Path) -> list[str]:
    return [m.group("url") for m in REPO_LINE.finditer(path.read_text(encoding="utf-8"))]


def _replace(text: str, url: str) -> str:
    return REPO_LINE.sub(lambda m: f'{m.group("indent")}REPO = "{url}"', text)


def sync_notebook(path: Path, url: str, write: bool = True) -> bool:
    """Rewrite the install line of ``path``; True when it changed (or would change)."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    found = changed = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = _cell_source(cell)
        if not REPO_LINE.search(src):
            continue
        found = True
        new = _replace(src, url)
        if new != src:
            changed = True
            cell["source"] = new if isinstance(cell["source"], str) else _as_lines(new)
    if not found:
        raise ValueError(f"{path}: no install cell (a code cell with a line REPO = \"...\")")
    if changed and write:
        path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    return changed


def sync_source(path: Path, url: str, write: bool = True) -> bool:
    """Rewrite the install line of a percent-format source; True when it changed."""
    text = path.read_text(encoding="utf-8")
    if not REPO_LINE.search(text):
        raise ValueError(f"{path}: no install line REPO = \"...\"")
    new = _replace(text, url)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def _sources(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(p.glob("*.py"))
        elif p.is_file():
            found.append(p)
        else:
            raise SystemExit(f"{p}: no such file or folder")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", type=Path,
                        help="percent-format notebook sources (files or folders of *.py) to "
                             "rewrite as well")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when any install line differs")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="folder of the notebooks (default: notebooks/)")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml",
                        help="book configuration holding repository.url (default: _config.yml)")
    args = parser.parse_args(argv)

    url = config_url(args.config)
    write = not args.check
    targets = [(nb, sync_notebook) for nb in sorted(args.notebooks.glob("*.ipynb"))]
    targets += [(src, sync_source) for src in _sources(args.sources)]
    stale, errors = [], []
    for path, sync in targets:
        try:
            if sync(path, url, write=write):
                stale.append(path)
        except ValueError as err:
            errors.append(str(err))
    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    verb = "differs from" if args.check else "rewritten to"
    for path in stale:
        print(f"{path}: REPO {verb} {url}")
    state = "out of date" if args.check else "rewritten"
    print(f"sync_repo_url: {len(targets)} file(s) checked against {url}: {len(stale)} {state}, "
          f"{len(errors)} error(s)")
    return 1 if errors or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
