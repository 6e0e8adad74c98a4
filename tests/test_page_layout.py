"""The page-layout check flags what a reader would see as broken, and passes what reads well."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import page_layout  # noqa: E402

from actjepa_core import tables  # noqa: E402


def png(width_in: float) -> str:
    fig, _ = plt.subplots(figsize=(width_in, 3))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def test_figure_width_is_read_from_the_png_header() -> None:
    assert page_layout.png_width(png(8)) == 800
    assert page_layout.output_problems({"data": {"image/png": png(8)}}) == []
    assert "1800 px" in page_layout.output_problems({"data": {"image/png": png(18)}})[0]
    assert "500 px" in page_layout.output_problems({"data": {"image/png": png(5)}})[0]


def test_one_line_cells_joined_by_nbsp_overflow_and_stacked_cells_fit() -> None:
    """The old chapter-7 table (five "ours  vs  claimed" cells, spaces made non-breaking by
    pandas) needs about 150 characters; the stacked table of the same numbers fits."""
    cell = "87.9% [86.2, 89.5]&nbsp;&nbsp;vs&nbsp;&nbsp;54.1%"
    row = "<tr><th>raw BC (no pretraining)</th>" + f"<td>{cell}</td>" * 5 + "</tr>"
    wide = f"<table>{row}</table>"
    assert page_layout.table_width(wide) > page_layout.TABLE_CHARS
    summary = pd.DataFrame({"label": ["raw BC (no pretraining)"] * 5,
                            "sigma": [0.0, 0.05, 0.1, 0.2, 0.3], "success": [0.879] * 5,
                            "ci_low": [0.862] * 5, "ci_high": [0.895] * 5,
                            "claimed_success": [0.541] * 5})
    styled = tables.beside_claimed(summary, "label", "sigma", ["raw BC (no pretraining)"],
                                   column_name=tables.sigma_label).to_html()
    assert page_layout.table_width(styled) <= page_layout.TABLE_CHARS
    assert page_layout.output_problems({"data": {"text/html": styled}}) == []


def test_cell_width_wraps_at_spaces_but_not_at_nbsp() -> None:
    assert page_layout._cell_width("a " * 40) == page_layout.WRAP
    assert page_layout._cell_width("a&nbsp;" * 39 + "a") == 79
    assert page_layout._cell_width("abc<br><small>" + "x" * 20 + "</small>") == round(20 * 0.83)
    assert page_layout._cell_width("seeds flagged collapsed", header=True) == 9  # "collapsed"


def test_headers_wrap_to_their_longest_word() -> None:
    head = "<thead><tr><th>effective rank at the end</th><th>lowest effective rank</th></tr></thead>"
    body = "<tbody><tr><td>1.0</td><td>2.0</td></tr></tbody>"
    assert page_layout.table_width(f"<table>{head}{body}</table>") == 9 + 2 + 9 + 2


def test_warnings_in_outputs_are_flagged(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stderr",
         "text": "/x.py:3: RuntimeWarning: invalid value encountered"}]},
        {"cell_type": "markdown", "source": "UserWarning: in prose is fine"}]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert page_layout.notebook_problems(path) == [
        "n.ipynb cell 0: output shows a warning: RuntimeWarning:"]
    assert page_layout.main([str(path)]) == 1


def test_a_cell_pandas_cut_short_is_flagged_and_the_wrapped_table_shows_it_whole() -> None:
    why = "-5.5 points [-8.9, -2.2]. Not testable yet: the sanity gate of ACT waits for a run"
    frame = pd.DataFrame({"ours": [why], "verdict": ["not testable yet"]}, index=["on par"])
    cut = page_layout.output_problems({"data": {"text/html": frame._repr_html_()}})  # as Jupyter
    assert cut == ["table cell cut short: '-5.5 points [-8.9, -2.2]. Not testable yet: th...'"]
    whole = tables.wrapped(frame).to_html()
    assert why in whole and page_layout.output_problems({"data": {"text/html": whole}}) == []


def test_display_math_wider_than_the_column_is_flagged_and_an_aligned_split_fits() -> None:
    one_line = (r"$$\mathcal L = \underbrace{\tfrac{1}{k}\textstyle\sum_i |\hat a_{t+i} - "
                r"a_{t+i}|_1}_{\text{L1}} + \beta\,\mathrm{KL}\big(q(z\mid o_t, a_{t:t+k})\,\|\,"
                r"\mathcal N(0, I)\big) + \lambda\,\tfrac{1}{nD}\textstyle\sum_{j=1}^{n} "
                r"\big|P_\phi(E_\theta(o_t))_j - \mathrm{sg}\,\bar E(o_{t+j})\big|_1 .$$")
    assert page_layout.markdown_problems(one_line)[0].startswith("display math 78 glyphs wide")
    split = one_line.replace(r" + \beta", r" \\ + \beta").replace(r" + \lambda", r" \\ + \lambda")
    assert page_layout.markdown_problems(split) == []
    cell = {"cell_type": "markdown", "source": [one_line]}
    assert page_layout.cell_problems(cell) and not page_layout.cell_problems(
        {"cell_type": "markdown", "source": ["no math here"]})


def test_code_lines_wider_than_the_column_are_flagged_unless_the_cell_is_hidden() -> None:
    wide = {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1  # " + "y" * 91]}
    assert page_layout.cell_problems(wide) == ["1 code line(s) up to 100 characters (the "
                                               "column holds 92)"]
    hidden = {**wide, "metadata": {"tags": ["remove-cell"]}}
    assert page_layout.cell_problems(hidden) == []


def test_a_name_in_a_table_of_text_may_break_after_its_underscores() -> None:
    name = "paper_metaworld_convergence: no results yet"
    frame = pd.DataFrame({"ours": [name], "n": [0.5]}, index=["on par"])
    page = tables.wrapped(frame).to_html()
    assert "paper_<wbr>metaworld_<wbr>convergence" in page and ">0.500000<" in page
    assert page_layout._cell_width("paper_<wbr>metaworld_<wbr>convergence:") == 24
    assert page_layout._cell_width("paper_metaworld_convergence:") == 28
