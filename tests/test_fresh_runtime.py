"""A chapter opened on a fresh runtime (Colab) reads the committed results.

Simulated here: a new virtual environment that has the book's dependencies but not its
package (the test interpreter's site-packages added by a plain path ``.pth``, so the editable
install's hook is not run), a notebook copied alone into an empty folder, and the repository
served as a local git URL (``$ACTJEPA_REPO``; the committed HEAD, so commit before running this
locally). The setup cell must clone it, and the chapter must render the committed full-profile
results without computing anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "10_claims_audit.ipynb"

pytestmark = [pytest.mark.notebook,
              pytest.mark.skipif(shutil.which("git") is None, reason="needs git")]


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def served_repository(tmp: Path) -> Path:
    """A copy of the repository's committed HEAD with the branch ``_config.yml`` names."""
    served = tmp / "served"
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(served), cwd=tmp)
    _git("checkout", "-q", "-B", "main", cwd=served)
    return served


def fresh_venv(tmp: Path) -> Path:
    """A venv that sees this interpreter's packages but not ``actjepa_core``."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "book_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_a_notebook_alone_on_a_fresh_runtime_reads_the_committed_results(tmp_path: Path) -> None:
    served, python = served_repository(tmp_path), fresh_venv(tmp_path)
    probe = subprocess.run([str(python), "-c", "import actjepa_core"], capture_output=True,
                           cwd=tmp_path)
    assert probe.returncode != 0, "the simulated runtime must not have the package"
    work = tmp_path / "colab"
    work.mkdir()
    shutil.copy2(NOTEBOOK, work / NOTEBOOK.name)
    env = {k: v for k, v in os.environ.items() if k != "ACTJEPA_RESULTS"}
    env.update(ACTJEPA_REPO=f"file://{served}", ACTJEPA_CACHE=str(tmp_path / "cache"),
               ACTJEPA_DATA=str(tmp_path / "data"), JUPYTER_PATH="", PYTHONNOUSERSITE="1")
    out = tmp_path / "out.ipynb"
    run = subprocess.run(
        [str(python), "-m", "papermill", str(work / NOTEBOOK.name), str(out), "-k", "python3",
         "-p", "profile", "full", "--cwd", str(work), "--no-progress-bar"],
        env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "actjepa-book" / "results" / "full" / "main.csv").is_file(), "cloned"
    assert not (tmp_path / "cache").exists(), "nothing was recomputed"
    text = json.dumps(json.loads(out.read_text())["cells"])
    assert "does not hold" in text, "the audit's verdicts come from the committed results"
