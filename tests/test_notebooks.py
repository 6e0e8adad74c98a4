"""Every notebook runs end to end (smoke profile) and is stored the way the book needs it."""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from helpers import toc_files  # noqa: E402
from notebook_runner import NotebookFailed, executed_profile, run_notebook  # noqa: E402
import page_layout  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [nb.stem for nb in NOTEBOOKS]
# Seconds allowed per notebook in the smoke profile (override: ACTJEPA_NOTEBOOK_TIMEOUT): a
# guard against a hung kernel. The claims audit computes in smoke every experiment it reads
# that an earlier chapter has not (the chunked comparison, the pixel suite), about 5 min on
# a free 2-core CPU when it runs alone, and 487 s alone on a slower one (an AMD EPYC with
# AVX2, where the whole CI took 22 min against another's 12), so the guard leaves it twice that.
TIMEOUT = float(os.environ.get("ACTJEPA_NOTEBOOK_TIMEOUT", "1200"))


def _toc_entries() -> set[str]:
    """_toc.yml's entries without suffix, as notebook paths relative to the root are written."""
    return {e.removesuffix(".md").removesuffix(".ipynb") for e in toc_files()}


def _load(nb: Path) -> dict:
    return json.loads(nb.read_text())


@pytest.fixture(scope="session")
def jupyter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter")


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_profile(notebook: Path, tmp_path: Path, jupyter_dir: Path) -> None:
    output = tmp_path / notebook.name
    error = None
    try:
        run_notebook(
            notebook, output, profile="smoke", jupyter_dir=jupyter_dir,
            cwd=notebook.parent, timeout=TIMEOUT, capture=True,
        )
    except NotebookFailed as err:
        error = str(err)
    if error:
        pytest.fail(error, pytrace=False)
    assert executed_profile(output) == "smoke"
    problems = page_layout.notebook_problems(output)
    assert not problems, "does not fit the page:\n" + "\n".join(problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_is_stored_without_outputs(notebook: Path) -> None:
    nbformat.validate(nbformat.read(notebook, as_version=4))
    dirty = [
        i for i, cell in enumerate(_load(notebook)["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{notebook.name}: code cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_has_profile_parameter(notebook: Path) -> None:
    cells = [c for c in _load(notebook)["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{notebook.name}: needs exactly one cell tagged 'parameters', has {len(cells)}"
    tree = ast.parse("".join(cells[0]["source"]))
    names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert "profile" in names, f"{notebook.name}: the 'parameters' cell does not define profile"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_is_in_toc(notebook: Path) -> None:
    entry = notebook.relative_to(ROOT).with_suffix("").as_posix()
    assert entry in _toc_entries(), f"{entry} is not listed in _toc.yml"


def test_toc_entries_exist() -> None:
    for entry in _toc_entries():
        hits = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(p.exists() for p in hits), f"_toc.yml lists {entry}, which does not exist"
