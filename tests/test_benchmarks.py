"""The benchmark scripts still run: each with arguments small enough to finish in seconds.

They are not imported by the package, so a refactor that renames or retypes what they call
(the method registry gaining the representation methods, say) breaks them silently; this
catches that. The figures they print are not checked: speed is theirs to measure, not a
test's to time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY: dict[str, tuple[list[str], str]] = {
    "bench_chunked.py": (["--task", "reach", "--profile", "smoke", "--steps", "3",
                          "--episodes", "2", "--num-envs", "2"], "Diffusion Policy"),
    "bench_training.py": (["--steps", "5", "--rounds", "1"], "steps/s"),
    "bench_batched_models.py": (["--models", "2", "--batch", "8", "--steps", "5",
                                 "--rounds", "1"], "model-steps/s"),
    "bench_evaluation.py": (["--task", "reach", "--episodes", "2", "--num-envs", "2",
                             "--rounds", "1"], "env-steps/s"),
    "bench_executors.py": (["--profile", "smoke", "--runs", "1", "--workers", "1"], "ray"),
    "bench_experts.py": (["--episodes", "2", "--tasks", "reach", "--num-envs", "2"], "reach"),
    "bench_full_profile.py": (["--task", "reach", "--profile", "smoke", "--workers", "1"],
                              "wall time"),
    "bench_pixels.py": (["--size", "16", "--episodes", "1", "--num-envs", "1", "--demos", "1",
                         "--steps", "5", "--repeats", "1"], "load average"),
}
"""Per script: tiny arguments, and a phrase its report prints."""
NEEDS = {"bench_executors.py": "ray"}
"""Scripts that compare against an optional dependency (the ``cluster`` extra CI installs)."""


def test_every_benchmark_has_tiny_arguments():
    scripts = {p.name for p in (ROOT / "benchmarks").glob("bench_*.py")}
    assert scripts == set(TINY), f"benchmarks without a run here: {scripts - set(TINY)}"


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs(script, tmp_path):
    if script in NEEDS:
        pytest.importorskip(NEEDS[script])
    args, phrase = TINY[script]
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
           "ACTJEPA_DATA": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert phrase in done.stdout, done.stdout[-2000:]
