"""Execute one notebook with papermill, the same way for the book build and for the tests.

Shared by ``scripts/build_book.py`` and ``tests/test_notebooks.py`` so that the smoke runs of
the tests and the full runs of the book see the same kernel and the same environment:

* the kernel is the interpreter running this code (the project's virtualenv), through a kernel
  spec named ``python3`` written into a private Jupyter data dir that is put first on
  ``JUPYTER_PATH``, so a ``python3`` kernel registered elsewhere on the machine is never used;
* ``MPLBACKEND`` is removed from the kernel's environment and set to the inline backend (with
  ``MPLBACKEND=Agg`` inherited from a shell, executed notebooks silently lose their figures);
* ``MUJOCO_GL`` defaults to ``egl`` (headless rendering) when it is not set;
* the output is written to a temporary file and renamed on success only, so a failed run never
  leaves a half-executed notebook where a good one is expected.

Stdlib only: importable before the virtualenv is complete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "python3"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class NotebookFailed(RuntimeError):
    """A notebook raised an error, timed out, or papermill itself failed."""

    def __init__(self, notebook: Path, message: str, failed_copy: Path | None = None) -> None:
        self.notebook = notebook
        self.failed_copy = failed_copy
        where = f" (executed copy with the error: {failed_copy})" if failed_copy else ""
        super().__init__(f"{notebook.name} failed: {message}{where}")


@dataclass(frozen=True)
class RunResult:
    notebook: Path
    output: Path
    seconds: float


def write_kernel_spec(jupyter_dir: Path, python: str | None = None) -> Path:
    """Write a ``python3`` kernel spec for ``python`` (default: this interpreter).

    Returns the Jupyter data dir to put first on ``JUPYTER_PATH``.
    """
    python = python or sys.executable
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ACT-JEPA book)",
        "language": "python",
        "env": {"MPLBACKEND": INLINE_BACKEND},
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return jupyter_dir


def kernel_environment(jupyter_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for papermill and its kernel (a copy; ``base`` is not modified)."""
    env = dict(os.environ if base is None else base)
    env.pop("MPLBACKEND", None)
    env["MPLBACKEND"] = INLINE_BACKEND
    env.setdefault("MUJOCO_GL", "egl")
    if env["MUJOCO_GL"] in ("egl", "osmesa"):
        env.setdefault("PYOPENGL_PLATFORM", env["MUJOCO_GL"])
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(jupyter_dir)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    )
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugpy warning
    env["PYTHONUNBUFFERED"] = "1"
    return env


def first_error(executed: Path) -> str | None:
    """``"ExcName: message (cell N)"`` for the first error output in an executed notebook."""
    try:
        nb = json.loads(executed.read_text())
    except (OSError, ValueError):
        return None
    code_index = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue  # papermill's cell: count code cells as in the source notebook
        code_index += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                source = "".join(cell.get("source", "")).strip().splitlines()
                first_line = source[0] if source else ""
                return (
                    f"{out.get('ename')}: {out.get('evalue')} "
                    f"(code cell {code_index}: {first_line[:80]!r})"
                )
    return None


def run_notebook(
    notebook: Path,
    output: Path,
    *,
    profile: str,
    jupyter_dir: Path,
    cwd: Path | None = None,
    timeout: float | None = None,
    cell_timeout: float | None = None,
    progress_bar: bool = False,
    log_output: bool = False,
    capture: bool = False,
) -> RunResult:
    """Execute ``notebook`` with papermill into ``output``, passing ``profile``.

    ``cwd`` is the kernel's working directory (default: the notebook's own folder, as when it
    is opened in Jupyter). ``timeout`` bounds the whole notebook (the papermill process group is
    killed), ``cell_timeout`` each cell. Raises :class:`NotebookFailed`; on failure the executed
    copy is kept next to ``output`` as ``<name>.failed.ipynb``.
    """
    notebook = Path(notebook).resolve()
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.stem}.partial.ipynb")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    for stale in (partial, failed):
        stale.unlink(missing_ok=True)
    write_kernel_spec(jupyter_dir)
    cmd = [
        sys.executable, "-m", "papermill", str(notebook), str(partial),
        "--kernel", KERNEL_NAME,
        "--language", "python",  # a notebook saved without kernelspec metadata still runs
        "--parameters_yaml", json.dumps({"profile": profile}),
        "--cwd", str(cwd or notebook.parent),
        "--progress-bar" if progress_bar else "--no-progress-bar",
    ]
    if log_output:
        cmd.append("--log-output")
    if cell_timeout is not None:
        cmd += ["--execution-timeout", str(int(cell_timeout))]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=kernel_environment(jupyter_dir),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
        start_new_session=True,  # so a timeout can kill papermill *and* its kernel
    )
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        _keep_failed(partial, failed)
        raise NotebookFailed(
            notebook, f"timed out after {timeout:.0f} s", failed if failed.exists() else None
        ) from None
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        _keep_failed(partial, failed)
        message = first_error(failed) if failed.exists() else None
        if message is None:
            tail = (log or "").strip().splitlines()[-15:]
            message = f"papermill exited with status {proc.returncode}" + (
                ":\n" + "\n".join(tail) if tail else ""
            )
        raise NotebookFailed(notebook, message, failed if failed.exists() else None)
    os.replace(partial, output)
    return RunResult(notebook, output, seconds)


def _keep_failed(partial: Path, failed: Path) -> None:
    if partial.exists():
        os.replace(partial, failed)


def executed_profile(executed: Path) -> str | None:
    """The ``profile`` parameter papermill recorded in an executed notebook."""
    nb = json.loads(Path(executed).read_text())
    return nb.get("metadata", {}).get("papermill", {}).get("parameters", {}).get("profile")
