"""The book's configuration holds together: one repository URL, Colab buttons, citations.

``_config.yml``'s ``repository`` is the one place that names the repository; every
notebook's setup cell must be the one ``scripts/sync_setup_cell.py`` writes from it. Every citation of the markdown pages and of the notebooks' markdown cells must name an
entry of the bibliography, and the table of profiles on the "Run it yourself" page must say
what ``actjepa_core/profiles.py`` does.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from helpers import toc_files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import sync_setup_cell  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [nb.stem for nb in NOTEBOOKS]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
# {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {cite:ps}`a` ... (MyST roles of sphinxcontrib-bibtex)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`{}]*)`")
BIB_KEY = re.compile(r"^@\s*[A-Za-z]+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def _cells(nb: Path, kind: str) -> list[str]:
    data = json.loads(nb.read_text())
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in data["cells"] if c["cell_type"] == kind]


def _bib_keys() -> set[str]:
    keys: set[str] = set()
    for bib in CONFIG["bibtex_bibfiles"]:
        keys |= set(BIB_KEY.findall((ROOT / bib).read_text()))
    return keys


def _cited(text: str) -> list[str]:
    return [k.strip() for group in CITE.findall(text) for k in group.split(",") if k.strip()]


# ---- one repository URL, one setup cell ----------------------------------------------------

def test_config_names_the_repository() -> None:
    url, branch = sync_setup_cell.config_repository()
    assert url == CONFIG["repository"]["url"].rstrip("/") and branch == CONFIG["repository"]["branch"]
    assert url.startswith("https://github.com/")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_setup_cell_is_the_one_written_from_the_config(notebook: Path) -> None:
    nb = json.loads(notebook.read_text())
    cells = sync_setup_cell.setup_cells(nb)
    assert len(cells) == 1, f"{notebook.name} has {len(cells)} setup cells"
    expected = sync_setup_cell.setup_source(*sync_setup_cell.config_repository())
    assert "".join(cells[0]["source"]) == expected, (
        f"{notebook.name}: setup cell differs from _config.yml's; run scripts/sync_setup_cell.py")
    assert cells[0]["metadata"].get("tags") == ["remove-cell"], "hidden on the site"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code.index(cells[0]) == 1, "the setup cell must come right after the parameters"


def test_sync_rewrites_only_the_setup_cell(tmp_path: Path) -> None:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy2(nb, nb_dir / nb.name)
    config = tmp_path / "_config.yml"
    config.write_text((ROOT / "_config.yml").read_text().replace(
        CONFIG["repository"]["url"], "https://github.com/someone/fork"))
    args = ["--config", str(config), "--notebooks", str(nb_dir)]
    assert sync_setup_cell.main([*args, "--check"]) == (1 if NOTEBOOKS else 0)
    assert sync_setup_cell.main(args) == 0
    assert sync_setup_cell.main([*args, "--check"]) == 0
    for nb in NOTEBOOKS:
        old, new = nb.read_text().splitlines(), (nb_dir / nb.name).read_text().splitlines()
        changed = [(a, b) for a, b in zip(old, new) if a != b]
        assert len(old) == len(new) and len(changed) == 1, changed
        assert "https://github.com/someone/fork" in changed[0][1]


def test_sync_fails_on_a_notebook_without_setup_cell(tmp_path: Path) -> None:
    (tmp_path / "bare.ipynb").write_text(json.dumps({"cells": [], "metadata": {},
                                                     "nbformat": 4, "nbformat_minor": 5}))
    assert sync_setup_cell.main(["--check", "--notebooks", str(tmp_path)]) == 1
    assert sync_setup_cell.main(["--notebooks", str(tmp_path)]) == 1


def test_execution_is_off() -> None:
    assert CONFIG["execute"]["execute_notebooks"] == "off"


def test_colab_launch_buttons() -> None:
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["repository"].get("branch")
    assert "path_to_book" in CONFIG["repository"]


def test_bibtex_files_exist_and_hold_entries() -> None:
    files = CONFIG["bibtex_bibfiles"]
    assert files
    for bib in files:
        assert (ROOT / bib).is_file(), f"_config.yml names {bib}, which does not exist"
    assert _bib_keys()


# ---- citations -------------------------------------------------------------------------------

def _citing_texts() -> list[tuple[str, str]]:
    texts = [(p.relative_to(ROOT).as_posix(), p.read_text()) for p in sorted((ROOT / "book").glob("*.md"))]
    texts += [(f"{nb.relative_to(ROOT).as_posix()} (markdown cell {i})", src)
              for nb in NOTEBOOKS for i, src in enumerate(_cells(nb, "markdown"))]
    return texts


def test_the_cite_pattern_finds_every_form() -> None:
    text = "{cite}`a` {cite:p}`b, c` {cite:t}`d` {cite:ps}`e` `{cite}` {ref}`f`"
    assert _cited(text) == ["a", "b", "c", "d", "e"]


def test_every_citation_is_in_the_bibliography() -> None:
    keys = _bib_keys()
    unknown = [f"{where}: {key}" for where, text in _citing_texts() for key in _cited(text)
               if key not in keys]
    assert not unknown, "citations without a references.bib entry:\n" + "\n".join(unknown)


def test_the_introduction_cites_its_sources() -> None:
    cited = set(_cited((ROOT / "book" / "intro.md").read_text()))
    assert {"vujinovic2025actjepa", "lecun2022path", "assran2023ijepa", "bardes2024vjepa",
            "grill2020byol"} <= cited


# ---- the pages of this part -----------------------------------------------------------------

def test_every_toc_page_exists_and_run_it_yourself_is_listed() -> None:
    files = toc_files()
    assert "book/run_it_yourself" in files
    for f in files:
        assert any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb")), f


def test_run_it_yourself_states_the_parameters_and_quotes_the_profiles_from_the_code() -> None:
    import build_book
    from actjepa_core.profiles import PROFILES

    page = (ROOT / "book" / "run_it_yourself.md").read_text()
    # The page says every notebook takes exactly one parameter, profile: keep that true.
    assert "exactly one parameter, `profile`" in page
    for nb in NOTEBOOKS:
        data = json.loads(nb.read_text())
        params = [c for c in data["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(params) == 1, f"{nb.name}: {len(params)} cells tagged parameters"
        tree = ast.parse("".join(params[0]["source"]))
        names = sorted(t.id for node in tree.body if isinstance(node, ast.Assign)
                       for t in node.targets if isinstance(t, ast.Name))
        assert names == ["profile"], (
            f"{nb.name} takes parameters {names}; book/run_it_yourself.md says only profile")
    subs = build_book.profile_substitutions()
    used = re.findall(r"\{\{\s*(\w+)\s*\}\}", page)
    assert used and set(used) <= set(subs), set(used) - set(subs)
    # No size is typed in by hand: the profile table quotes every number from profiles.py.
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].strip("`") in PROFILES and len(cells) == 6:
            rows[cells[0].strip("`")] = [re.sub(r"\{\{\s*(\w+)\s*\}\}",
                                                lambda m: subs[m.group(1)], c) for c in cells[1:6]]
    assert set(rows) == set(PROFILES), rows
    for name, p in PROFILES.items():
        assert rows[name] == [str(v) for v in (p.n_demos, p.pretrain_steps, p.bc_steps,
                                               p.train_seeds, p.eval_episodes)], name


def test_the_built_config_carries_the_profile_substitutions(tmp_path: Path) -> None:
    import build_book
    from actjepa_core.profiles import PROFILES

    build_book.write_config(tmp_path / "_config.yml")
    built = yaml.safe_load((tmp_path / "_config.yml").read_text())
    subs = built["parse"]["myst_substitutions"]
    assert subs == {**(CONFIG["parse"].get("myst_substitutions") or {}),
                    **build_book.profile_substitutions()}
    assert subs["profile_smoke_demo_counts"] == ", ".join(map(str, PROFILES["smoke"].demo_counts))
    assert {k: v for k, v in built.items() if k != "parse"} == {
        k: v for k, v in CONFIG.items() if k != "parse"}


# ---- the browser check (scripts/browser_check.py) --------------------------------------------

import browser_check  # noqa: E402

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_judge_flags_what_a_reader_would_see_as_broken() -> None:
    good = {"title": "Intro — Book", "h1": "Intro", "images": [{"src": "a.png", "naturalWidth": 5}],
            "outputs_text": "raise ValueError(x)\nmean error: 0.1", "error_nodes": 0}
    assert browser_check.judge(good) == []
    bad = {"title": "", "h1": "", "images": [{"src": "b.png", "naturalWidth": 0}],
           "outputs_text": "Traceback (most recent call last):\nKeyError: 'x'", "error_nodes": 1}
    problems = "\n".join(browser_check.judge(bad))
    for expected in ("no <title>", "no <h1>", "b.png", "Traceback", "KeyError:", "1 error output"):
        assert expected in problems
    assert browser_check.judge({**good, "title": "Other — Book"})  # title without its heading


def test_default_pages_skip_only_unwritten_pages_outside_the_toc() -> None:
    toc = ["book/intro", "notebooks/01_x", "book/claims_of_the_article"]
    pages = browser_check.choose_pages(None, False, toc)
    assert pages[:3] == list(browser_check.DEFAULT_PAGES)
    assert "book/claims_of_the_article" in pages
    assert browser_check.choose_pages(["book/intro.html", "book/intro"], False, toc) == ["book/intro"]
    assert browser_check.choose_pages(None, True, toc) == toc


def _page(title: str, body: str) -> str:
    return (f"<html><head><title>{title} — Book</title></head><body><main id='main-content'>"
            f"<h1>{title}<a class='headerlink' href='#'>#</a></h1>{body}</main></body></html>")


@pytest.mark.skipif(not Path(browser_check.CHROMIUM).exists(),
                    reason=f"no {browser_check.CHROMIUM} (apt-get install -y chromium)")
def test_browser_check_fails_on_missing_figure_error_output_and_missing_page(
        tmp_path: Path, capsys) -> None:
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "_images").mkdir()
    (site / "_images" / "ok.png").write_bytes(PNG_1PX)
    (site / "_images" / "broken.png").write_bytes(b"not a png")
    (site / "book" / "good.html").write_text(_page("Good", "<img src='../_images/ok.png'>"))
    (site / "book" / "figure.html").write_text(_page("Figure", "<img src='../_images/broken.png'>"))
    (site / "book" / "error.html").write_text(_page(
        "Error", "<div class='cell_output'><pre>Traceback (most recent call last):\n"
                 "ValueError: boom</pre></div>"))
    toc = tmp_path / "_toc.yml"
    toc.write_text("root: book/good\nchapters:\n  - file: book/figure\n  - file: book/error\n"
                   "  - file: book/missing\n")
    shots = tmp_path / "shots"
    args = [str(site), str(shots), "--toc", str(toc)]
    assert browser_check.main([*args, "--pages", "book/good"]) == 0
    assert (shots / "book__good.png").stat().st_size > 0
    capsys.readouterr()
    assert browser_check.main([*args, "--all"]) == 1
    out = capsys.readouterr().out
    assert "ok   book/good" in out
    assert "FAIL book/figure" in out and "broken.png" in out
    assert "FAIL book/error" in out and "Traceback" in out
    assert "FAIL book/missing" in out and "page missing" in out
    assert "4 page(s) checked, 3 failed" in out
