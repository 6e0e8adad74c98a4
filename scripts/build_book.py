#!/usr/bin/env python
"""Build the book: execute the notebooks with papermill, then render them with Jupyter Book.

Steps (wall time of each is printed):

1. execute every ``notebooks/*.ipynb`` in name order with papermill, passing ``profile``, into
   ``<build-dir>/executed/notebooks/`` (``notebooks/`` itself is never written); stop at the
   first notebook that fails, with its name and error, and exit non-zero;
2. check the executed notebooks' layout (``scripts/page_layout.py``): no table wider than the
   content column, no figure under 600 or over 1100 px, no output showing a warning;
3. assemble the source tree ``<build-dir>/src/`` (``_config.yml``, ``_toc.yml``, ``book/``,
   ``results/`` and the executed notebooks, at the paths ``_toc.yml`` names); the sizes of the
   profiles (``actjepa_core/profiles.py``) are added to the copy of ``_config.yml`` as MyST
   substitutions ``{{ profile_<name>_<field> }}``, so pages quote them from the code;
4. ``jupyter-book build`` it with execution off and warnings as errors; the HTML is moved to
   ``<build-dir>/html/``;
5. check the HTML for broken internal links, missing images and scripts from another origin
   (``scripts/check_site.py``);
6. open every page of ``_toc.yml`` in headless Chromium (``scripts/browser_check.py``):
   screenshots into ``<build-dir>/screenshots/``, and each page must have its title, no error
   in its cell outputs, and every figure loaded. Skipped, with a note, when
   ``/usr/bin/chromium`` is missing, or with ``--no-browser``.

Run it with the project's virtualenv (``make book`` does), e.g.
``.venv/bin/python scripts/build_book.py --profile quick --only 01``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browser_check  # noqa: E402
import check_site  # noqa: E402
import page_layout  # noqa: E402
from notebook_runner import NotebookFailed, executed_profile, run_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "quick", "full")


def log(message: str) -> None:
    print(message, flush=True)


def select_notebooks(only: list[str] | None) -> list[Path]:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not only:
        return notebooks
    chosen = []
    for pattern in only:
        hits = [nb for nb in notebooks if nb.stem == pattern or nb.name.startswith(pattern)]
        if not hits:
            names = ", ".join(nb.stem for nb in notebooks) or "none"
            raise SystemExit(f"--only {pattern!r} matches no notebook (notebooks: {names})")
        chosen += [nb for nb in hits if nb not in chosen]
    return sorted(chosen)


def execute(notebooks: list[Path], args: argparse.Namespace, build_dir: Path) -> None:
    out_dir = build_dir / "executed" / "notebooks"
    jupyter_dir = build_dir / "jupyter"
    if not args.only and out_dir.exists():
        shutil.rmtree(out_dir)  # a full run leaves no executed copy of a removed notebook
    for i, nb in enumerate(notebooks, 1):
        log(f"  [{i}/{len(notebooks)}] {nb.name} (profile={args.profile}) ...")
        try:
            result = run_notebook(
                nb,
                out_dir / nb.name,
                profile=args.profile,
                jupyter_dir=jupyter_dir,
                cwd=nb.parent,
                timeout=args.timeout,
                cell_timeout=args.cell_timeout,
                progress_bar=sys.stderr.isatty(),
                log_output=args.log_output,
            )
        except NotebookFailed as err:
            log(f"  [{i}/{len(notebooks)}] FAILED: {err}")
            raise SystemExit(f"build stopped: {err}") from None
        log(f"  [{i}/{len(notebooks)}] {nb.name} ok ({result.seconds:.1f} s)")


def profile_substitutions() -> dict[str, str]:
    """``profile_<name>_<field>`` -> value, for every field of every run profile."""
    from actjepa_core.profiles import PROFILES

    subs = {}
    for name, prof in PROFILES.items():
        for f in dataclasses.fields(prof):
            if f.name != "name":
                value = getattr(prof, f.name)
                subs[f"profile_{name}_{f.name}"] = (
                    ", ".join(map(str, value)) if isinstance(value, tuple) else str(value))
    return subs


def write_config(dest: Path) -> None:
    """``_config.yml`` with the profile substitutions added to ``parse.myst_substitutions``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    parse = config.setdefault("parse", {}) or {}
    config["parse"] = parse
    parse.setdefault("myst_substitutions", {}).update(profile_substitutions())
    dest.write_text("# Written by scripts/build_book.py from the repository's _config.yml.\n"
                    + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def hide_injected_parameters(executed: Path, dest: Path) -> None:
    """Copy an executed notebook, tagging papermill's injected-parameters cell ``remove-cell``.

    The page already shows the notebook's own ``parameters`` cell and the profile it ran
    with; papermill's second copy of the parameters would only repeat it.
    """
    nb = json.loads(executed.read_text())
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    dest.write_text(json.dumps(nb, indent=1) + "\n")


def assemble(build_dir: Path, profile: str) -> Path:
    src = build_dir / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    write_config(src / "_config.yml")
    shutil.copy2(ROOT / "_toc.yml", src / "_toc.yml")
    shutil.copytree(ROOT / "book", src / "book")
    if (ROOT / "results").is_dir():
        shutil.copytree(ROOT / "results", src / "results")
    executed = build_dir / "executed" / "notebooks"
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    (src / "notebooks").mkdir()
    missing, mixed = [], []
    for nb in sources:
        copy = executed / nb.name
        if not copy.exists():
            missing.append(nb.name)
            continue
        if executed_profile(copy) != profile:
            mixed.append(f"{nb.name} (profile={executed_profile(copy)})")
        hide_injected_parameters(copy, src / "notebooks" / nb.name)
    if missing:
        raise SystemExit(
            "no executed copy of " + ", ".join(missing) + ": run without --only first"
        )
    if mixed:
        raise SystemExit(
            f"executed copies come from another profile than {profile!r}: "
            + ", ".join(mixed) + "; rerun them with this profile"
        )
    return src


def render(src: Path, build_dir: Path) -> Path:
    jb = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src),
           "--builder", "html", "-W", "-n", "--keep-going", "--all"]
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    html = build_dir / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(src / "_build" / "html"), str(html))
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="full", choices=PROFILES,
                        help="papermill parameter passed to every notebook (default: full)")
    parser.add_argument("--only", nargs="+", metavar="NOTEBOOK",
                        help="execute only these notebooks (name, stem or prefix such as 01); "
                             "the others are rendered from their earlier executed copies")
    parser.add_argument("--build-dir", default="_build", type=Path,
                        help="build folder (default: _build)")
    parser.add_argument("--skip-execute", action="store_true",
                        help="render the executed copies already in the build folder")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed per notebook (default: no limit)")
    parser.add_argument("--cell-timeout", type=float, default=None,
                        help="seconds allowed per cell (default: no limit)")
    parser.add_argument("--log-output", action="store_true",
                        help="stream the notebooks' cell outputs to the terminal")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip the check of the pages in headless Chromium")
    args = parser.parse_args(argv)
    build_dir = (args.build_dir if args.build_dir.is_absolute() else ROOT / args.build_dir)

    os.environ.pop("MPLBACKEND", None)
    os.environ.setdefault("MUJOCO_GL", "egl")
    total = time.perf_counter()

    def step(name: str, fn, *fn_args):
        log(f"== {name}")
        t0 = time.perf_counter()
        value = fn(*fn_args)
        log(f"== {name}: done in {time.perf_counter() - t0:.1f} s")
        return value

    if not args.skip_execute:
        notebooks = select_notebooks(args.only)
        if not notebooks:
            log("note: notebooks/ holds no notebook; the book has its markdown pages only")
        step(f"execute {len(notebooks)} notebook(s) with papermill", execute,
             notebooks, args, build_dir)
    executed = sorted(str(p) for p in (build_dir / "executed" / "notebooks").glob("*.ipynb"))
    if step("check the page layout of the executed notebooks", page_layout.main, executed):
        raise SystemExit("tables, figures or outputs that do not fit the page (listed above)")
    src = step("assemble the book source", assemble, build_dir, args.profile)
    html = step("render with jupyter-book (execution off, warnings are errors)", render,
                src, build_dir)
    status = step("check links and images", check_site.main, [str(html)])
    if status != 0:
        raise SystemExit("the rendered site has broken links or missing images (listed above)")
    if args.no_browser:
        log("== browser check skipped (--no-browser)")
    elif not Path(browser_check.CHROMIUM).exists():
        log(f"== browser check SKIPPED: no {browser_check.CHROMIUM}; "
            f"{browser_check.INSTALL_HINT}")
    else:
        status = step("check the pages in headless Chromium", browser_check.main,
                      [str(html), str(build_dir / "screenshots"), "--all",
                       "--toc", str(src / "_toc.yml")])
        if status != 0:
            raise SystemExit("pages failed in the browser (listed above); screenshots in "
                             f"{build_dir / 'screenshots'}")
    log(f"book built in {time.perf_counter() - total:.1f} s: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
