"""scripts/check_site.py finds exactly the broken links and missing images of a small site."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import check_site  # noqa: E402

PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def _site(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "_images").mkdir()
    (root / "_images" / "ok.png").write_bytes(base64.b64decode(PNG_1PX))
    (root / "index.html").write_text(
        """<html><body><h1 id="top">Home</h1>
        <a href="sub/page.html">good page</a>
        <a href="sub/page.html#sec-1">good fragment</a>
        <a href="#top">good local fragment</a>
        <a href="missing.html">broken page</a>
        <a href="sub/page.html#no-such-id">broken fragment</a>
        <a href="https://example.org/x.html">external</a>
        <a href="mailto:someone@example.org">mail</a>
        <a href="sub/">folder index</a>
        <img src="_images/ok.png">
        <img src="_images/missing.png">
        <img src="data:image/png;base64,%s">
        <img src="https://example.org/remote.png">
        </body></html>"""
        % PNG_1PX
    )
    (root / "sub" / "page.html").write_text(
        """<html><body><section id="sec-1"><a name="legacy"></a>
        <a href="../index.html#top">back</a>
        <a href="page.html#legacy">named anchor</a>
        <link rel="stylesheet" href="../_static/style.css?v=1">
        <img src="../_images/ok.png"><img src="data:image/png;base64,@@not-base64@@">
        </section></body></html>"""
    )
    (root / "sub" / "index.html").write_text("<html><body>index</body></html>")
    # Theme templates under _static are assets, not pages: their links are not checked.
    (root / "_static").mkdir()
    (root / "_static" / "macros.html").write_text("<link href=\"{{ pathto('x.css', 1) }}\">")


def test_finds_exactly_the_broken_links_and_images(tmp_path: Path) -> None:
    _site(tmp_path)
    problems, counts = check_site.check(tmp_path)
    assert len(problems) == 5, problems
    joined = "\n".join(problems)
    assert "index.html: broken link 'missing.html'" in joined
    assert "index.html: broken link 'sub/page.html#no-such-id'" in joined
    assert "index.html: missing image '_images/missing.png'" in joined
    assert "sub/page.html: broken link '../_static/style.css?v=1'" in joined
    assert "sub/page.html: invalid data: URI image" in joined
    assert counts == {"pages": 3, "links": 9, "images": 6, "scripts": 0}


def test_exit_status_and_summary(tmp_path: Path, capsys) -> None:
    _site(tmp_path)
    assert check_site.main([str(tmp_path)]) == 1
    assert "3 pages, 9 internal links, 6 images checked; 5 problem(s)" in capsys.readouterr().out
    (tmp_path / "missing.html").write_text("<p>now here</p>")
    (tmp_path / "_images" / "missing.png").write_bytes(b"x")
    (tmp_path / "_static").mkdir(exist_ok=True)
    (tmp_path / "_static" / "style.css").write_text("")
    page = tmp_path / "sub" / "page.html"
    page.write_text(page.read_text().replace("@@not-base64@@", PNG_1PX).replace(
        '<section id="sec-1">', '<section id="sec-1"><span id="no-such-id"></span>'))
    assert check_site.main([str(tmp_path)]) == 0


def test_fragment_on_other_page_must_exist_there(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<a href="b.html#x">x</a><p id="y"></p>')
    (tmp_path / "b.html").write_text('<p id="y"></p>')
    problems, _ = check_site.check(tmp_path)
    assert problems == ["a.html: broken link 'b.html#x' (no id 'x' in b.html)"]


def test_scripts_must_be_local_and_present(tmp_path: Path) -> None:
    """MathJax from a CDN (Sphinx's default) would leave formulas unrendered offline."""
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex-chtml.js").write_text("")
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
        '<script src="_static/mathjax/tex-chtml.js"></script>'
        '<script src="_static/gone.js"></script><script>inline()</script>')
    problems, counts = check_site.check(tmp_path)
    assert counts["scripts"] == 3
    assert problems == [
        "a.html: loads a script from another origin "
        "'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js' (the page needs the network)",
        "a.html: missing script '_static/gone.js'"]


JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


@pytest.mark.skipif(not JUPYTER_BOOK.exists(), reason="jupyter-book not installed (the book extra)")
def test_a_page_built_with_the_books_config_renders_math_offline(tmp_path: Path) -> None:
    """Build one page with math using the book's own _config.yml: MathJax must come from the
    site (``_static/mathjax``), and no page may load a script from another origin."""
    import shutil
    import subprocess

    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path)
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\nInline $a^2$ and\n\n$$\\sum_i x_i$$\n")
    done = subprocess.run([str(JUPYTER_BOOK), "build", str(tmp_path), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    site = tmp_path / "_build" / "html"
    assert 'src="../_static/mathjax/tex-chtml.js"' in (site / "book" / "intro.html").read_text()
    problems, counts = check_site.check(site)
    assert problems == [] and counts["scripts"] > 0
