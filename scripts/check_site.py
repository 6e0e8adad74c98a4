#!/usr/bin/env python
"""Check a rendered HTML site for broken internal links and missing images.

Usage: ``python scripts/check_site.py _build/html``

Every ``.html`` page under the folder (outside the asset folders ``_static``, ``_sources``,
``_images`` and ``_downloads``, which hold theme templates, not pages) is parsed (stdlib ``html.parser``). For each relative
``href`` (of ``<a>`` and ``<link>``), the target file must exist and, when the link has a
``#fragment``, the target page must hold an element with that ``id`` (or an ``<a name>``).
Each ``<img src>`` must be an existing file or a well-formed ``data:`` URI. External links
(any URL with a scheme such as ``http:``, ``https:``, ``mailto:``, or starting with ``//``) are
not checked. Exit status 1 and one line per problem, with the page it is on, when anything is
broken; a summary line either way.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_DATA_URI = re.compile(r"^data:([^,;]*(?:;[^,;=]+=[^,;]*)*)(;base64)?,(.*)$", re.DOTALL)


ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag in ("a", "link", "area") and "href" in a:
            self.links.append(a["href"].strip())
        if tag == "img":
            self.images.append(a.get("src", "").strip())
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"].strip())

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def is_external(url: str) -> bool:
    return url.startswith("//") or bool(_SCHEME.match(url))


def valid_data_uri(url: str) -> bool:
    match = _DATA_URI.match(url)
    if not match or not match.group(3):
        return False
    if match.group(2):
        try:
            base64.b64decode(re.sub(r"\s+", "", unquote(match.group(3))), validate=True)
        except (binascii.Error, ValueError):
            return False
    return True


def _resolve(page: Path, path: str, root: Path) -> Path:
    target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def check(root: Path) -> tuple[list[str], dict[str, int]]:
    """Problems found (``"page: message"``) and counts of what was checked."""
    root = root.resolve()
    # Pages are the .html files outside the asset folders (_static holds theme templates).
    pages = sorted(
        p for p in root.rglob("*.html")
        if not set(p.relative_to(root).parts[:-1]) & ASSET_DIRS
    )
    parsed: dict[Path, _PageParser] = {}

    def page_info(path: Path) -> _PageParser:
        key = path.resolve()
        if key not in parsed:
            parsed[key] = _parse(key)
        return parsed[key]

    problems: list[str] = []
    counts = {"pages": len(pages), "links": 0, "images": 0, "scripts": 0}
    for page in pages:
        info = page_info(page)
        where = page.relative_to(root).as_posix()
        for href in info.links:
            if not href or is_external(href) or href == "#":
                continue
            counts["links"] += 1
            parts = urlsplit(href)
            path, fragment = unquote(parts.path), unquote(parts.fragment)
            target = _resolve(page, path, root) if path else page
            if not target.is_file():
                problems.append(f"{where}: broken link {href!r} (no file {_show(target, root)})")
                continue
            if fragment and target.suffix in (".html", ".htm"):
                if fragment not in page_info(target).ids:
                    problems.append(
                        f"{where}: broken link {href!r} (no id {fragment!r} in "
                        f"{_show(target, root)})"
                    )
        for src in info.images:
            counts["images"] += 1
            if src.startswith("data:"):
                if not valid_data_uri(src):
                    problems.append(f"{where}: invalid data: URI image {src[:60]!r}...")
                continue
            if is_external(src):
                continue
            if not src:
                problems.append(f"{where}: <img> without src")
                continue
            target = _resolve(page, unquote(urlsplit(src).path), root)
            if not target.is_file():
                problems.append(f"{where}: missing image {src!r} (no file {_show(target, root)})")
        problems += _script_problems(page, info.scripts, root, counts)
    return problems, counts


def _script_problems(page: Path, scripts: list[str], root: Path, counts: dict[str, int]
                     ) -> list[str]:
    """A script from another origin (a CDN) stops the page working offline; a local one must
    exist. Both are problems to report with the page they are on."""
    where, problems = page.relative_to(root).as_posix(), []
    for src in scripts:
        counts["scripts"] += 1
        if is_external(src):
            problems.append(f"{where}: loads a script from another origin {src!r} "
                            "(the page needs the network)")
        elif not _resolve(page, unquote(urlsplit(src).path), root).is_file():
            problems.append(f"{where}: missing script {src!r}")
    return problems


def _show(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: check_site.py HTML_DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    if not root.is_dir():
        print(f"check_site: {root} is not a folder", file=sys.stderr)
        return 2
    problems, counts = check(root)
    for problem in problems:
        print(problem)
    print(
        f"check_site: {counts['pages']} pages, {counts['links']} internal links, "
        f"{counts['images']} images checked; {len(problems)} problem(s)"
    )
    if counts["pages"] == 0:
        print(f"check_site: no .html file under {root}", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
