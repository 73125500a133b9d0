"""Pieces of the report, without building it: numbering of sections and
figures, and the orientation of the filter images."""

import json
import platform

import nbformat
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import report_glance
import report_merge
from dlia_a2 import plots
from dlia_a2.notebook import Section


def notebook(path, *markdown):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(m) for m in markdown]
    nbformat.write(nb, path)
    return path


def test_merge_numbers_sections_and_builds_contents(tmp_path):
    a = notebook(tmp_path / "a.ipynb", "# First\n\ntext", "## One\n\n### Deeper", "## Two")
    b = notebook(tmp_path / "b.ipynb", "# Second\n\n```\n# not a heading\n```", "## Three")
    merged = report_merge.merge([a, b], "Title", "sub", "appendix text")
    html = "\n".join(c.source for c in merged.cells)
    for anchor, text in [
        ("sec-1", "1. First"),
        ("sec-1-1", "1.1 One"),
        ("sec-1-1-1", "1.1.1 Deeper"),
        ("sec-1-2", "1.2 Two"),
        ("sec-2", "2. Second"),
        ("sec-2-1", "2.1 Three"),
    ]:
        assert f'id="{anchor}">{text}<' in html, anchor
    assert "# not a heading" in html  # code fences are not headings
    toc = merged.cells[0].source
    assert toc.index('href="#sec-1-2"') < toc.index('href="#sec-2"') < toc.index('href="#sec-appendix"')
    assert 'href="#sec-1-1-1"' not in toc  # the contents list two levels
    assert "A. Reproducibility" in merged.cells[-1].source


def test_a_heading_alone_in_its_cell_moves_into_the_figure_after_it(tmp_path):
    """Printed, a heading in a cell of its own could end a page while its
    figure starts the next: it goes into the figure's output instead."""
    nb = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_output("display_data", {"text/html": "<figure>F</figure>"})
    table = nbformat.v4.new_output("display_data", {"text/markdown": "| a |\n|---|\n| 1 |"})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Top\n\nintro"),
        nbformat.v4.new_markdown_cell("## Errors"),
        nbformat.v4.new_code_cell("show()", outputs=[figure, table]),
        nbformat.v4.new_markdown_cell("### Table"),
        nbformat.v4.new_code_cell("table()", outputs=[table]),
        nbformat.v4.new_markdown_cell("## Prose next"),
        nbformat.v4.new_markdown_cell("text"),
    ]
    nbformat.write(nb, tmp_path / "a.ipynb")
    cells = report_merge.merge([tmp_path / "a.ipynb"], "T", "s", "x").cells[1:-1]
    assert [c.cell_type for c in cells] == ["markdown", "code", "code", "markdown", "markdown"]
    html = cells[1].outputs[0]["data"]["text/html"]
    assert html.startswith('<h3 id="sec-1-1">1.1 Errors</h3>') and html.endswith("<figure>F</figure>")
    assert cells[1].outputs[1]["data"]["text/markdown"].startswith("| a |")  # only the first output
    assert cells[2].outputs[0]["data"]["text/markdown"].startswith('<h4 id="sec-1-1-1">1.1.1 Table</h4>\n\n| a |')
    assert cells[3].source.startswith('<h3 id="sec-1-2">')  # before prose it stays a cell


def test_section_numbers_figures_in_order_and_records_them(tmp_path, capsys):
    from matplotlib.figure import Figure

    s = Section(2, tmp_path, {"seed": np.int64(3)})
    for name in ("curves", "filters"):
        fig = Figure(figsize=(2, 1))
        fig.subplots().plot([0, 1])
        s.figure(fig, name, f"the {name}")
    assert s.last_label == "Figure 2.2"
    assert (tmp_path / "curves.png").exists() and (tmp_path / "filters.svg").exists()
    s.record(accuracy=np.float32(0.5))
    m = json.loads(s.save().read_text())
    assert m["figures"] == {
        "curves": {"label": "Figure 2.1", "caption": "the curves"},
        "filters": {"label": "Figure 2.2", "caption": "the filters"},
    }
    assert m["parameters"] == {"seed": 3} and m["accuracy"] == 0.5


def test_an_aside_is_shown_but_neither_numbered_nor_recorded(tmp_path, capsys):
    """A figure for JupyterLab only (``Section.aside``): the next numbered
    figure keeps its number, and nothing goes to metrics.json or the disk."""
    from matplotlib.figure import Figure

    s = Section(3, tmp_path)
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1])
    s.aside(fig, "only in JupyterLab")
    s.figure(fig, "curves", "the curves")
    assert s.last_label == "Figure 3.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "curves.svg"]
    assert json.loads(s.save().read_text())["figures"] == {"curves": {"label": "Figure 3.1", "caption": "the curves"}}


@pytest.mark.parametrize("row,col", [(3, 20), (25, 1)])
def test_filter_image_puts_a_pixel_at_its_row_and_column(row, col):
    """Weight j = 28 * row + col is drawn at image row `row` (from the top)
    and column `col`, as the pixel it multiplies sits in the 28x28 digit."""
    W = np.zeros((10, 784))
    W[0, 28 * row + col] = 1.0
    fig = plots.weight_filters(W, [str(k) for k in range(10)])
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    height = rgba.shape[0]
    box = fig.axes[0].get_window_extent()  # display coordinates, origin bottom left
    cell_w, cell_h = box.width / 28, box.height / 28

    def colour_at(r, c):
        x = int(box.x0 + (c + 0.5) * cell_w)
        y = int(height - (box.y1 - (r + 0.5) * cell_h))
        return rgba[y, x, :3].astype(int)

    red, blue = colour_at(row, col)[[0, 2]]
    assert red > 100 and red - blue > 60  # the positive weight: red
    for r, c in [(col, row), (27 - row, col), (row, 27 - col)]:  # transposed or flipped
        assert (colour_at(r, c) > 230).all()  # zero weight: white


def test_title_keeps_its_last_two_words_together(tmp_path):
    a = notebook(tmp_path / "a.ipynb", "# First")
    merged = report_merge.merge([a], "Deep Learning: Assignment 2", "sub", "")
    assert "<h1>Deep Learning: Assignment&nbsp;2</h1>" in merged.cells[0].source


def test_sci_writes_numbers_for_a_reader():
    from dlia_a2.prose import sci

    assert sci(-0.0266557694, 9) == "\u22122.66557694 \u00d7 10\u207b\u00b2"
    assert sci(1.3e-8, 2) == "1.3 \u00d7 10\u207b\u2078"
    assert sci(4.2, 3) == "4.20" and sci(0.0) == "0" and sci(123456, 2) == "1.2 \u00d7 10\u2075"
    table = Section.table([(1, 0.00123)], ["m", "value"], fmt={"value": lambda v: sci(v, 2)})
    assert table.splitlines()[-1] == "| 1 | 1.2 \u00d7 10\u207b\u00b3 |"


def glance_metrics():
    return {
        "2_one_layer": {
            "parameters": {"epochs": 30, "learning_rate": 0.1, "batch_size": 64},
            "test_accuracy": 0.9263,
            "test_accuracy_range": {"min": 0.9229, "max": 0.9269, "points": 28, "from_epoch": 26, "to_epoch": 30},
            "filters_matching": "all 10",
        }
    }


def test_glance_answers_each_exercise_the_build_ran():
    """A build without notebooks 1 and 3 gives the rows of notebook 2 only,
    each with the weights it was read from."""
    rows = report_glance.glance_rows(glance_metrics(), "fashion-mnist")
    assert [r[0] for r in rows] == ["2", "2"]
    assert rows[0][1].endswith("on Fashion-MNIST") and rows[0][2] == "**92.63%**"
    assert (
        rows[0][3].startswith("the last update of epoch 30")
        and "92.29%–92.69% at the 28 evaluation points" in rows[0][3]
    )


def test_glance_renders_as_markdown_and_html():
    m = glance_metrics()
    m["2_one_layer"]["filters_matching"] = "9 | 10"  # a pipe would split a Markdown cell
    md = report_glance.glance_markdown(m, "mnist").splitlines()
    assert md[0] == "| exercise | question | answer | read from |" and len(md) == 4
    assert "9 \\| 10" in md[3]
    page = report_glance.glance_html(m, "mnist")
    assert page.startswith('<table class="glance">') and "<td><b>92.63%</b></td>" in page


def test_appendix_names_a_folder_of_parameter_files_once_and_the_notebooks_wall_times(tmp_path):
    import report_appendix

    folder = tmp_path / "config"
    folder.mkdir()
    files = [folder / "1_a.yaml", folder / "2_b.yaml"]
    for f in files:
        f.write_text("seed: 0\n")
    assert report_appendix.parameter_files(files) == f"`{folder}/*.yaml`"
    (folder / "3_c.yaml").write_text("seed: 0\n")  # a file the build did not use: each is named
    assert report_appendix.parameter_files(files) == f"`{files[0]}`, `{files[1]}`"

    executed = []
    for name, seconds in [("1_a", 4.2), ("2_b", 21.6)]:
        nb = nbformat.v4.new_notebook()
        nb.metadata["papermill"] = {"duration": seconds}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        executed.append(tmp_path / f"{name}.ipynb")
    text = report_appendix.appendix(executed, {}, files)
    assert "; notebooks 1 and 2 ran for 4 s and 22 s" in text.splitlines()[2]


def test_appendix_cuts_the_commit_to_twelve_digits_and_keeps_its_note():
    import report_appendix

    digest = "93a9979351d5e8cbb8d7778a5e86b72d1352a00a"
    assert report_appendix.commit_shown(digest) == "`93a9979351d5`"
    shown = report_appendix.commit_shown(digest + " (with uncommitted changes)")
    assert shown == "`93a9979351d5` (with uncommitted changes)"


def test_appendix_names_the_fused_steps_symbol_and_library_once():
    import report_appendix

    fused = "fused: openblas 0.3.31.188.0 libscipy_openblas64_-32a4b2a6.so scipy_cblas_sgemm64_"
    assert report_appendix.sgd_step(fused) == "fused, scipy_cblas_sgemm64_ in libscipy_openblas64_-32a4b2a6.so"
    plain = "plain NumPy: libopenblas.so exports none of cblas_sgemm"
    assert report_appendix.sgd_step(plain) == plain


def test_appendix_says_in_a_clause_when_a_weaker_blas_kernel_was_forced(tmp_path, monkeypatch):
    """A forced kernel is one clause of the BLAS line, not a paragraph of
    advice: the four lines it took opened an eleventh page in a build under
    ``OPENBLAS_CORETYPE=Haswell``."""
    import report_appendix

    monkeypatch.setattr(report_appendix, "native_kernel", lambda: "SkylakeX")
    monkeypatch.setattr(report_appendix, "forced_kernel", lambda native: "forced" if native == "SkylakeX" else None)
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    assert report_appendix.forced_note() == ""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert report_appendix.forced_note() == " (kernels weaker than this CPU's own, SkylakeX)"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    text = report_appendix.appendix([], {}, [tmp_path / "a.yaml"])
    blas_line = next(line for line in text.splitlines() if line.startswith("- **BLAS:**"))
    assert "OPENBLAS_CORETYPE=Haswell (kernels weaker than this CPU's own, SkylakeX)" in blas_line
    assert "OPENBLAS_NUM_THREADS=1;" in blas_line or "OPENBLAS_NUM_THREADS=1," in blas_line
    assert "Forced" not in text and "unset it" not in text
    machine = next(line for line in text.splitlines() if line.startswith("- **Machine:**"))
    assert f" on {platform.system()} {platform.machine()}; " in machine and "(R)" not in machine
    monkeypatch.setattr(report_appendix, "forced_kernel", lambda native: None)  # forced, but not weaker
    assert report_appendix.forced_note() == ""
