"""scripts/check_site.py finds exactly the broken links and missing images of a small site."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

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
    assert counts == {"pages": 3, "links": 9, "images": 6}


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
