"""What a reader would see as a badly laid-out page, read from an executed notebook without a
browser: a table wider than the content column, a figure too small or so wide that the page
shrinks its text, an output that shows a warning, a table cell pandas cut short ("..."), a
line of display math (MathJax cuts it off) or of code (it needs a horizontal scroll) wider
than the column.

The browser check (``browser_check.py``, headless Chromium) measures rendered pages where
Chromium exists; this check runs everywhere (CI included) on the executed notebooks, with the
content column's width expressed in characters of table text and in figure pixels.

    python scripts/page_layout.py _build/executed/notebooks/*.ipynb
"""

from __future__ import annotations

import base64
import html
import json
import re
import struct
import sys
from pathlib import Path

TABLE_CHARS = 100
"""Widest table row, in characters, that fits the book theme's content column (about 750 px
of 14 px table text, with cell padding counted as two characters per cell)."""

FIGURE_PX = (600, 1100)
"""Natural width of a figure in pixels: under 600 it renders small; over 1100 the page scales
it down by more than a third and its text becomes hard to read."""

WARNING = re.compile(r"\b\w*Warning\b:")

CUT_CELL = re.compile(r"<t[dh][^>]*>[^<]*\.\.\.</t[dh]>")
"""A table cell pandas cut short: a DataFrame's HTML ends a cell longer than
``display.max_colwidth`` (50) with "..." (``tables.wrapped`` shows every cell whole)."""

CODE_CHARS = 92
"""Widest line of a code cell, in characters: the content column's 750 px hold about 90
characters of the theme's 14 px monospace (wider lines need a horizontal scroll)."""

MATH_GLYPHS = 72
"""Widest line of display math, in glyphs (MathJax's display math at the theme's size is about
10 px a glyph; wider lines run past the content column and are cut off, not wrapped)."""

_ZERO_WIDTH = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg|textstyle|displaystyle|scriptstyle|"
                         r"mathrm|mathbf|mathcal|mathit|text|operatorname|underbrace|overbrace|"
                         r"tfrac|dfrac|frac|bar|hat|tilde|quad|qquad|begin|end)\b")
_SYMBOL = re.compile(r"\\[A-Za-z]+")


WRAP = 24
"""Characters a cell may take on one line before the browser wraps it at a space (a row label
such as "passive latent prediction + BC" wraps to two lines, which reads well)."""


SMALL = 0.83
"""Width of ``<small>`` text against normal text (the theme's ``small`` is 0.83 em)."""


def _cell_width(cell_html: str, header: bool = False) -> int:
    """Characters a table cell needs: per line (``<br>`` starts one) the longest run the browser
    cannot break (``&nbsp;`` joins words, ``<wbr>`` may break one) or ``WRAP``, whichever is
    larger, for the widest line; a line in ``<small>`` counts at its smaller size. A column
    header wraps down to its longest word (browsers do that, and a header on two or three
    lines reads well), so it counts that."""
    widths = []
    for line in re.split(r"<br\s*/?>", cell_html):
        text = re.sub(r"<[^>]+>", "", line.replace("<wbr>", "\0")).replace("&nbsp;", "\u00a0")
        text = html.unescape(text).strip()
        longest_run = max((len(w) for w in re.split("[ \0]", text)), default=0)
        text = text.replace("\0", "")
        scale = SMALL if re.fullmatch(r"\s*<small>.*</small>\s*", line, flags=re.S) else 1.0
        wrapped = longest_run if header else max(longest_run, min(len(text), WRAP))
        widths.append(round(scale * wrapped))
    return max(widths)


def table_width(table_html: str) -> int:
    """Characters a table needs: the widest cell of each column (rows with the full number of
    cells) plus two per cell for padding, or the widest single row if that is more."""
    head = re.search(r"<thead.*?</thead>", table_html, flags=re.S)
    head_rows = set(re.findall(r"<tr.*?</tr>", head.group(0), flags=re.S)) if head else set()
    rows = [[_cell_width(c, header=row in head_rows)
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
            for row in re.findall(r"<tr.*?</tr>", table_html, flags=re.S)]
    rows = [r for r in rows if r]
    if not rows:
        return 0
    n = max(map(len, rows))
    columns = [max(r[j] for r in rows if len(r) == n) + 2 for j in range(n)]
    return max(sum(columns), *(sum(r) + 2 * len(r) for r in rows))


def png_width(data: str) -> int:
    """Pixel width of a base64 PNG, from its header."""
    return struct.unpack(">I", base64.b64decode(data[:64])[16:20])[0]


def output_problems(output: dict) -> list[str]:
    """What is wrong with one cell output, if anything."""
    problems = []
    data = output.get("data", {})
    if "image/png" in data:
        width = png_width(data["image/png"])
        if not FIGURE_PX[0] <= width <= FIGURE_PX[1]:
            problems.append(f"figure {width} px wide (want {FIGURE_PX[0]}-{FIGURE_PX[1]})")
    page = "".join(data.get("text/html", ""))
    if "<table" in page:
        widest = max(table_width(t) for t in re.findall(r"<table.*?</table>", page, flags=re.S))
        if widest > TABLE_CHARS:
            problems.append(f"table {widest} characters wide (the column holds {TABLE_CHARS})")
        if cut := CUT_CELL.search(page):
            problems.append(f"table cell cut short: {re.sub(r'<[^>]+>', '', cut.group(0))!r}")
    text = "".join(output.get("text", "")) + "".join(data.get("text/plain", ""))
    if match := WARNING.search(text):
        problems.append(f"output shows a warning: {match.group(0)}")
    return problems


def math_glyphs(line: str) -> float:
    """Glyphs a line of display math renders, estimated from its TeX: layout commands
    (``\\frac``, ``\\mathrm``, ``\\big``, ...) count nothing, other commands one glyph
    (``\\lambda``), sub- and superscripts at 0.7, braces and alignment marks nothing."""
    text = _ZERO_WIDTH.sub("", line)
    text = re.sub(r"\\[,;:! ]", " ", text)
    text = _SYMBOL.sub("x", text)
    scripts = sum(len(m) for m in re.findall(r"[_^]\{([^{}]*)\}", text))
    plain = re.sub(r"[{}&_^\s]", "", text)
    return len(plain) - 0.3 * scripts


def markdown_problems(source: str) -> list[str]:
    """Display math (``$$ ... $$``) with a line wider than ``MATH_GLYPHS`` (lines split at
    ``\\\\``, as in an ``aligned`` block)."""
    problems = []
    for block in re.findall(r"\$\$(.*?)\$\$", source, flags=re.S):
        widest = max(math_glyphs(line) for line in re.split(r"\\\\", block))
        if widest > MATH_GLYPHS:
            problems.append(f"display math {widest:.0f} glyphs wide (the column holds "
                            f"{MATH_GLYPHS}; split it with an aligned block)")
    return problems


def code_problems(source: str) -> list[str]:
    """Code-cell lines wider than ``CODE_CHARS``."""
    wide = [len(line) for line in source.splitlines() if len(line) > CODE_CHARS]
    return ([f"{len(wide)} code line(s) up to {max(wide)} characters (the column holds "
             f"{CODE_CHARS})"] if wide else [])


def cell_problems(cell: dict) -> list[str]:
    """Layout problems of one cell: its outputs, its code lines, its display math. The source
    of a cell the book hides (tag ``remove-cell`` or ``remove-input``) is not checked."""
    source = "".join(cell.get("source", ""))
    if cell["cell_type"] == "markdown":
        return markdown_problems(source)
    if cell["cell_type"] != "code":
        return []
    hidden = {"remove-cell", "remove-input"} & set(cell.get("metadata", {}).get("tags", []))
    return ([] if hidden else code_problems(source)) + [
        p for out in cell.get("outputs", []) for p in output_problems(out)]


def notebook_problems(path: Path) -> list[str]:
    """Every layout problem of an executed notebook, as ``"<name> cell <i>: <problem>"``."""
    nb = json.loads(path.read_text())
    return [f"{path.name} cell {i}: {p}"
            for i, cell in enumerate(nb["cells"]) for p in cell_problems(cell)]


def main(paths: list[str]) -> int:
    problems = [p for path in paths for p in notebook_problems(Path(path))]
    print("\n".join(problems) or f"{len(paths)} notebook(s): layout fits the page")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
