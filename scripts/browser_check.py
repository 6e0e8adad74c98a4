#!/usr/bin/env python
"""Open the built book in a real browser (headless Chromium): screenshots and page checks.

Usage: ``python scripts/browser_check.py HTML_DIR SCREENSHOT_DIR [--pages PAGE ...] [--all]``

The HTML folder is served on a free localhost port by Python's ``http.server`` (in a thread),
and every page is opened twice with Debian's headless Chromium (``/usr/bin/chromium``, or
``--chromium``), each time with a fresh profile folder:

1. ``--screenshot`` at 1280x2000 into ``SCREENSHOT_DIR/<page>.png``, to look at;
2. ``--dump-dom`` after the page has loaded (``--virtual-time-budget``), with a small script
   that the server adds to the page for this request only. Once every image of the page's main
   content has loaded or failed, the script writes into the DOM what it measured: the document
   title, the text of the page's ``<h1>``, each ``<img>``'s ``naturalWidth``, and the text of
   the notebook cell outputs.

A page fails when its file is missing, the browser gives no result, it has no title or no
``<h1>``, the document title does not contain the ``<h1>`` text, any image of the main content
has ``naturalWidth`` 0 (not found, not decodable), any cell output holds a Python error
(``Traceback (most recent call last)``, or a line starting ``SomethingError:`` or ``Error:``) or myst-nb's error
markup, or Sphinx left an unresolved reference (``problematic``/``system-message``).

Pages are named like the entries of ``_toc.yml`` (``book/intro``,
``notebooks/01_tasks_and_demonstrations``); ``index`` is the landing page. The default set is
the introduction, the first notebook chapter and the claims audit, plus any page of the table of
contents whose name contains "claims"; a default page that is neither built nor listed in
``_toc.yml`` (a chapter not written yet) is skipped with a note, one listed but not built fails.
``--all`` checks every page of ``_toc.yml``. Exit status 0 when every page passes, 1 otherwise,
2 when the browser or the HTML folder is missing.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DEFAULT_PAGES = ("book/intro", "notebooks/01_tasks_and_demonstrations", "notebooks/10_claims_audit")
WINDOW = "1280,2000"
MARKER = "__browser_check__"
CHECK_QUERY = "browsercheck=1"
INSTALL_HINT = ("install it with:  sudo apt-get update && sudo apt-get install -y chromium  "
                "(Debian/Ubuntu; any Chromium or Chrome works with --chromium PATH)")

# Runs in the page (added by the server before </body> for ?browsercheck=1 requests only).
CHECK_SCRIPT = """
<script>
(function () {
  var main = document.querySelector("main#main-content") || document.querySelector("main")
             || document.querySelector("article") || document.body;
  var imgs = Array.prototype.slice.call(main.querySelectorAll("img"));
  imgs.forEach(function (img) { if (img.loading === "lazy") { img.loading = "eager"; } });
  function settled(img) {
    if (img.complete) { return Promise.resolve(); }
    return new Promise(function (done) {
      img.addEventListener("load", done, {once: true});
      img.addEventListener("error", done, {once: true});
      setTimeout(done, 4000);
    });
  }
  function text(node) {
    if (!node) { return ""; }
    var copy = node.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach(function (a) { a.remove(); });
    return copy.textContent.replace(/\\s+/g, " ").trim();
  }
  function report() {
    Promise.all(imgs.map(settled)).then(function () {
      var outputs = main.querySelectorAll(".cell_output");
      var result = {
        title: document.title,
        h1: text(main.querySelector("h1")),
        images: imgs.map(function (img) {
          return {src: img.getAttribute("src") || "", naturalWidth: img.naturalWidth,
                  naturalHeight: img.naturalHeight, complete: img.complete};
        }),
        n_outputs: outputs.length,
        outputs_text: Array.prototype.map.call(outputs, function (o) {
          return o.textContent; }).join("\\n"),
        error_nodes: main.querySelectorAll(
          ".cell_output .traceback, .output.traceback, .output.error, " +
          ".system-message, .problematic").length
      };
      var pre = document.createElement("pre");
      pre.id = "%s";
      pre.hidden = true;
      pre.textContent = JSON.stringify(result);
      document.body.appendChild(pre);
    });
  }
  if (document.readyState === "complete") { report(); }
  else { window.addEventListener("load", report); }
})();
</script>
""" % MARKER

# A traceback, or the last line of one ("ValueError: ...", "Error: ..."), at the start of a line;
# printed source code ("raise ValueError(...)") does not match.
ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)"
    r"|^[ \t]*(?:[A-Za-z_][\w.]*)?(?:Error|Exception):"
    r"|^[ \t]*[A-Za-z_][\w.]*(?:Error|Exception)[ \t]*$",
    re.MULTILINE,
)
_RESULT = re.compile(r'<pre[^>]*id="%s"[^>]*>(.*?)</pre>' % MARKER, re.DOTALL)


@dataclass
class PageResult:
    page: str
    url: str
    screenshot: Path | None = None
    problems: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    skipped: str = ""


class _Handler(SimpleHTTPRequestHandler):
    """Static files of the book; the check script is added to .html pages asked with it."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet server
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        if CHECK_QUERY.split("=")[0] in parse_qs(parts.query) and parts.path.endswith(".html"):
            target = Path(self.translate_path(parts.path))
            if target.is_file():
                body = target.read_text(encoding="utf-8", errors="replace")
                idx = body.lower().rfind("</body>")
                body = (body[:idx] + CHECK_SCRIPT + body[idx:]) if idx >= 0 else body + CHECK_SCRIPT
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        super().do_GET()


class Server:
    """The HTML folder on http://127.0.0.1:<free port>/, served from a background thread."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def toc_pages(toc: Path) -> list[str]:
    """``root`` and every ``file`` of a Jupyter Book ``_toc.yml``, without suffixes."""
    if not toc.is_file():
        return []
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    found.append(re.sub(r"\.(md|ipynb)$", "", value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc.read_text()))
    return found


def chromium_cmd(chromium: str, profile_dir: str) -> list[str]:
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--user-data-dir={profile_dir}", f"--window-size={WINDOW}"]


def _run_chromium(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="browser_check_") as profile:
        return subprocess.run(chromium_cmd(chromium, profile) + args, capture_output=True,
                              text=True, timeout=timeout)


def screenshot(chromium: str, url: str, out: Path, timeout: float) -> str | None:
    """Take a screenshot; the problem as a string, or None."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    try:
        proc = _run_chromium(chromium, ["--run-all-compositor-stages-before-draw",
                                        "--virtual-time-budget=5000",
                                        f"--screenshot={out}", url], timeout)
    except subprocess.TimeoutExpired:
        return f"screenshot timed out after {timeout:.0f} s"
    if not out.is_file() or out.stat().st_size == 0:
        return f"no screenshot (chromium exit {proc.returncode}): {_tail(proc.stderr)}"
    return None


def inspect(chromium: str, url: str, timeout: float) -> tuple[dict | None, str]:
    """The check script's measurements of a page (None and the reason when there are none)."""
    try:
        proc = _run_chromium(chromium, ["--run-all-compositor-stages-before-draw",
                                        "--virtual-time-budget=10000", "--dump-dom", url], timeout)
    except subprocess.TimeoutExpired:
        return None, f"the browser did not finish within {timeout:.0f} s"
    match = _RESULT.search(proc.stdout)
    if not match:
        return None, (f"the page gave no result (chromium exit {proc.returncode}; "
                      f"DOM of {len(proc.stdout)} characters): {_tail(proc.stderr)}")
    return json.loads(html.unescape(match.group(1))), ""


def _tail(text: str, n: int = 300) -> str:
    lines = [ln for ln in text.strip().splitlines()
             if "unexpected operator" not in ln]  # noise of Debian's wrapper script
    return " | ".join(lines)[-n:] or "(no message)"


def judge(info: dict) -> list[str]:
    """Problems of one page, from the measurements of the check script."""
    problems = []
    title, h1 = info.get("title", "").strip(), info.get("h1", "").strip()
    if not title:
        problems.append("the page has no <title>")
    if not h1:
        problems.append("the main content has no <h1> heading")
    elif title and h1 not in title:
        problems.append(f"title {title!r} does not contain the heading {h1!r}")
    for img in info.get("images", []):
        if not img.get("naturalWidth"):
            problems.append(f"image does not load (naturalWidth 0): {img.get('src', '')[:100]}")
    hits = sorted({m.group(0).strip() for m in ERROR_TEXT.finditer(info.get("outputs_text", ""))})
    if hits:
        problems.append("error text in cell outputs: " + ", ".join(hits[:5]))
    if info.get("error_nodes"):
        problems.append(f"{info['error_nodes']} error output(s) or unresolved reference(s)")
    return problems


def page_file(page: str) -> str:
    return f"{page}.html"


def choose_pages(pages: list[str] | None, check_all: bool, toc: list[str]) -> list[str]:
    if check_all:
        chosen = list(toc)
    elif pages:
        chosen = list(pages)
    else:
        chosen = list(DEFAULT_PAGES) + [p for p in toc if "claims" in p]
    out: list[str] = []
    for p in chosen:
        p = re.sub(r"\.(html|md|ipynb)$", "", p.strip("/"))
        if p not in out:
            out.append(p)
    return out


def check(html_dir: Path, shot_dir: Path, pages: list[str], toc: list[str], *,
          chromium: str = CHROMIUM, timeout: float = 60.0, explicit: bool = False,
          log=print) -> list[PageResult]:
    results: list[PageResult] = []
    with Server(html_dir) as server:
        for page in pages:
            url = server.base + page_file(page)
            result = PageResult(page, url)
            results.append(result)
            if not (html_dir / page_file(page)).is_file():
                if not explicit and page not in toc:
                    result.skipped = "not in _toc.yml and not built (not written yet)"
                else:
                    where = "listed in _toc.yml" if page in toc else "asked for"
                    result.problems.append(f"page missing: {page_file(page)} ({where})")
                continue
            t0 = time.perf_counter()
            shot = shot_dir / (page.replace("/", "__") + ".png")
            problem = screenshot(chromium, url, shot, timeout)
            if problem:
                result.problems.append(problem)
            else:
                result.screenshot = shot
            info, why = inspect(chromium, f"{url}?{CHECK_QUERY}", timeout)
            if info is None:
                result.problems.append(why)
            else:
                result.info = info
                result.problems += judge(info)
            log(f"  {page}: {'ok' if not result.problems else 'FAILED'} "
                f"({time.perf_counter() - t0:.1f} s)")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", type=Path, help="the built HTML (e.g. _build/html)")
    parser.add_argument("screenshot_dir", type=Path, help="where the screenshots are written")
    parser.add_argument("--pages", nargs="+", metavar="PAGE",
                        help="pages to check, named as in _toc.yml (default: "
                             + ", ".join(DEFAULT_PAGES) + ", and any toc page about claims)")
    parser.add_argument("--all", action="store_true", help="check every page of _toc.yml")
    parser.add_argument("--toc", type=Path, default=None,
                        help="table of contents (default: HTML_DIR/../src/_toc.yml if there, "
                             "else the repository's _toc.yml)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"browser (default {CHROMIUM})")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds allowed per browser call (default 60)")
    args = parser.parse_args(argv)

    if not args.html_dir.is_dir():
        print(f"browser_check: {args.html_dir} is not a folder", file=sys.stderr)
        return 2
    chromium = shutil.which(args.chromium) or (args.chromium if Path(args.chromium).is_file()
                                               else None)
    if chromium is None:
        print(f"browser_check: no browser at {args.chromium}; {INSTALL_HINT}", file=sys.stderr)
        return 2
    toc_path = args.toc
    if toc_path is None:
        built = args.html_dir.resolve().parent / "src" / "_toc.yml"
        toc_path = built if built.is_file() else ROOT / "_toc.yml"
    toc = toc_pages(toc_path)
    pages = choose_pages(args.pages, args.all, toc)
    print(f"browser_check: {len(pages)} page(s) of {args.html_dir} in {chromium}, "
          f"screenshots in {args.screenshot_dir}")
    results = check(args.html_dir.resolve(), args.screenshot_dir.resolve(), pages, toc,
                    chromium=chromium, timeout=args.timeout,
                    explicit=bool(args.pages) or args.all)
    failed = 0
    for r in results:
        if r.skipped:
            print(f"skipped {r.page}: {r.skipped}")
            continue
        imgs = r.info.get("images", [])
        summary = (f"title {r.info.get('title', '')!r}, {len(imgs)} image(s), "
                   f"{r.info.get('n_outputs', 0)} output(s)") if r.info else "no measurements"
        print(f"{'FAIL' if r.problems else 'ok  '} {r.page}: {summary}"
              + (f"; screenshot {r.screenshot}" if r.screenshot else ""))
        for problem in r.problems:
            print(f"       - {problem}")
        failed += bool(r.problems)
    checked = sum(not r.skipped for r in results)
    print(f"browser_check: {checked} page(s) checked, {failed} failed")
    if checked == 0:
        print("browser_check: no page was checked", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
