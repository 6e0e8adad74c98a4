"""Mutation score of the modules that decide the book's numbers: how many small, deliberate bugs
the tests catch.

A mutant is the module with one change of the kind a slip of the hand makes: a comparison
flipped or loosened (``<`` / ``<=``, ``==`` / ``!=``), an arithmetic operator swapped
(``+`` / ``-``, ``*`` / ``/``), a number changed (``c`` -> ``c + 1``; ``0.1`` -> ``0.01``),
a boolean negated, a call statement removed (``model.load_state_dict(...)`` -> ``pass``).
Each mutant is written into a scratch copy of the repository (the working tree is never
touched), and the module's own tests run against it (``PYTHONPATH`` puts the copy first);
the mutant is *killed* when they fail or time out. Docstrings and ``raise`` messages are not
mutated. The report prints, per module, killed / mutants and the survivors (file:line, what
changed) to judge by hand: some are equivalent (``<`` vs ``<=`` where equality cannot occur).

This is a benchmark-style report, not a test: it takes minutes per module.
``mutmut`` (the package registry's) mutates in place and wants its own runner layout; this
script is small enough to read and does the same thing.

    python benchmarks/mutation_report.py                       # every module below
    python benchmarks/mutation_report.py --modules stats audit --max-mutants 40
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TESTS: dict[str, list[str]] = {
    "objectives": ["tests/test_objectives.py", "tests/test_pretrain.py"],
    "train": ["tests/test_train.py", "tests/test_pretrain.py", "tests/test_guards.py"],
    "monitor": ["tests/test_objectives.py", "tests/test_pretrain.py",
                "tests/test_plots_training.py"],
    "evaluate": ["tests/test_evaluate.py"],
    "analysis": ["tests/test_analysis.py", "tests/test_plots_training.py"],
    "audit": ["tests/test_audit.py", "tests/test_audit_paper.py"],
    "stats": ["tests/test_stats.py"],
}
"""Module of ``actjepa_core`` -> the tests that guard it."""

SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Add: ast.Sub, ast.Sub: ast.Add,
    ast.Mult: ast.Div, ast.Div: ast.Mult, ast.And: ast.Or, ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    """One change: the node's position in ``ast.walk`` order and what it becomes."""

    index: int
    line: int
    what: str


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            ids.add(id(body[0].value))
    return ids


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes not to mutate: docstrings and everything inside a ``raise`` or an f-string."""
    skip = _docstring_ids(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Raise, ast.JoinedStr)):
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _change(node: ast.AST) -> str | None:
    """Mutate ``node`` in place; a description, or None when it has no mutation."""
    if isinstance(node, (ast.Compare,)) and type(node.ops[0]) in SWAPS:
        old = type(node.ops[0])
        node.ops[0] = SWAPS[old]()
        return f"{old.__name__} -> {SWAPS[old].__name__}"
    if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
        old = type(node.op)
        node.op = SWAPS[old]()
        return f"{old.__name__} -> {SWAPS[old].__name__}"
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        old = node.value
        node.value = old / 10 if isinstance(old, float) and 0 < abs(old) < 1 else old + 1
        return f"{old!r} -> {node.value!r}"
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        node.value = not node.value
        return f"{not node.value} -> {node.value}"
    return None


def mutants(source: str) -> list[Mutant]:
    """Every single-node mutation of ``source``."""
    tree = ast.parse(source)
    skip = _skipped(tree)
    found = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            found.append(Mutant(i, node.lineno, "call removed"))
            continue
        what = _change(node)
        if what is not None:
            found.append(Mutant(i, getattr(node, "lineno", 0), what))
    return found


def apply(source: str, mutant: Mutant) -> str:
    """``source`` with ``mutant`` applied."""
    tree = ast.parse(source)
    for i, node in enumerate(ast.walk(tree)):
        if i == mutant.index:
            if mutant.what == "call removed":
                node.value = ast.Constant(None)
            else:
                _change(node)
            break
    return ast.unparse(tree)


def run_tests(copy: Path, tests: list[str], timeout: float) -> bool:
    """True when the tests pass on the copy (the mutant survives)."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                 *tests], cwd=copy, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def score_module(name: str, copy: Path, max_mutants: int, timeout: float, seed: int
                 ) -> tuple[int, int, list[Mutant]]:
    """(killed, tried, survivors) for ``actjepa_core/<name>.py``."""
    path = copy / "actjepa_core" / f"{name}.py"
    original = path.read_text()
    found = mutants(original)
    random.Random(seed).shuffle(found)
    tried = sorted(found[:max_mutants], key=lambda m: m.line)
    survivors = []
    try:
        for m in tried:
            path.write_text(apply(original, m))
            if run_tests(copy, TESTS[name], timeout):
                survivors.append(m)
    finally:
        path.write_text(original)
    return len(tried) - len(survivors), len(tried), survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", default=list(TESTS), choices=list(TESTS))
    parser.add_argument("--max-mutants", type=int, default=30,
                        help="mutants per module, sampled with --seed (default 30)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per test run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
            ".git", ".venv", "_build", "results", "*.egg-info", "__pycache__", ".whl", ".devcache"))
        shutil.copytree(ROOT / "results", copy / "results")
        if not run_tests(copy, sorted({t for m in args.modules for t in TESTS[m]}), 1800):
            raise SystemExit("the tests fail on the unmutated copy; fix them first")
        total_killed = total = 0
        for name in args.modules:
            start = time.perf_counter()
            killed, tried, survivors = score_module(name, copy, args.max_mutants, args.timeout,
                                                    args.seed)
            total_killed, total = total_killed + killed, total + tried
            print(f"{name:<11} {killed:>3} / {tried:<3} killed ({100 * killed / max(tried, 1):.0f}%)"
                  f"  {time.perf_counter() - start:.0f} s", flush=True)
            for m in survivors:
                print(f"    survived: actjepa_core/{name}.py:{m.line}  {m.what}", flush=True)
        print(f"{'all':<11} {total_killed:>3} / {total:<3} killed "
              f"({100 * total_killed / max(total, 1):.0f}%)")


if __name__ == "__main__":
    main()
