"""The rendered report, built from the small configuration. The fixture
always goes through make, which rebuilds what a code change made stale and
does nothing when the build is up to date."""

import html as htmlmod
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import printed
import report_appendix
import report_glance
import report_readme
import report_render

# every test here reads the built report, which the fixture brings up to date
pytestmark = [pytest.mark.slow, pytest.mark.data]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "report" / "build" / "mnist-small"
SECTION_TITLES = [
    "Exercise 1: partial derivatives of the cross-entropy cost",
    "Exercise 2: a one-layer network",
    "Exercise 3: a multilayer network",
    "Reproducibility",
]


@pytest.fixture(scope="module")
def built():
    subprocess.run(["make", "--no-print-directory", "report", "CONFIG=small", "DATASET=mnist"], cwd=ROOT, check=True)
    return OUT


@pytest.fixture(scope="module")
def metrics(built):
    return json.loads((built / "metrics.json").read_text())


def markup(html: str) -> str:
    """The page without the contents of its script and style elements."""
    return re.sub(r"<(script|style)\b[^>]*>.*?</\1>", "", html, flags=re.S)


def needs(program):
    if shutil.which(program) is None and not (program == "chromium" and report_render.find_chromium()):
        pytest.fail(f"{program} is not installed; 'make report' installs it (apt-get install chromium poppler-utils)")


def test_html_loads_nothing_from_the_network(built):
    html = (built / "report.html").read_text()
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert not re.search(r"https?://", markup(html).replace('xmlns="http://www.w3.org', ""))
    assert "require.js" not in html
    assert "window.MathJax" in html  # inlined, not linked


def test_html_hides_code_and_parameters(built):
    html = markup((built / "report.html").read_text())
    assert "jp-InputArea-editor" not in html  # no code cells shown
    assert "import mlp_core" not in html
    assert "injected-parameters" not in html
    assert "NBVAL" not in html


def test_chromium_typesets_equations_and_shows_every_figure(built, metrics):
    needs("chromium")
    chromium = report_render.find_chromium()
    with tempfile.TemporaryDirectory() as profile:
        # a proxy that does not exist: anything fetched from the network fails
        cmd = [
            chromium,
            *report_render.chromium_flags(profile),
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            "--dump-dom",
            (built / "report.html").resolve().as_uri(),
        ]
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    typeset = len(re.findall(r"<mjx-container", dom))
    assert typeset >= 40, f"only {typeset} typeset equations"
    page = markup(dom)
    assert "<mjx-merror" not in page and "Math Processing Error" not in page
    assert "$$" not in page
    n_figures = sum(len(m.get("figures", {})) for m in metrics["notebooks"].values())
    found = re.findall(r'<figure class="report-figure"[^>]*>\s*<img [^>]*src="data:image/png;base64,', dom)
    assert n_figures >= 4 and len(found) == n_figures


def test_pdf_holds_every_section_and_final_accuracy(built, metrics):
    needs("pdftotext")
    pdf = built / "report.pdf"
    assert pdf.exists(), "make report did not produce the PDF"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    for title in SECTION_TITLES:
        assert title in flat, title
    nb = metrics["notebooks"]
    assert f"{nb['2_one_layer']['test_accuracy']:.2%}" in flat
    runs = nb["3_multilayer"]["long_runs"]
    for name in ("chosen", "reference"):
        for epochs, result in runs[name].items():
            assert f"{result['test_accuracy']:.2%}" in flat, (name, epochs)
    assert f"{nb['3_multilayer']['seed_mean']:.2%} ± {nb['3_multilayer']['seed_std']:.2%}" in flat
    env = json.loads((built / "environment.json").read_text())
    assert env["git_commit"].split()[0][:12] in flat  # cut to 12 digits; environment.json keeps it whole


def test_every_percentage_in_the_report_comes_from_the_metrics(built, metrics):
    """No percentage with two decimals in the text was typed by hand: each
    is a value of metrics.json, formatted (the check ``make verify`` makes of
    a handed-in report)."""
    needs("pdftotext")
    for name, text in (
        ("report.pdf", printed.pdf_text(built / "report.pdf")),
        ("report.html", printed.html_text((built / "report.html").read_text())),
    ):
        shown, unknown = printed.unknown_percentages(text, metrics)
        assert len(shown) >= 8, (name, shown)
        assert not unknown, f"percentages in {name} not in metrics.json: {sorted(unknown)}"


def test_figure_files_saved_as_png_and_svg(built, metrics):
    for name, m in metrics["notebooks"].items():
        for fig in m.get("figures", {}):
            assert (built / name / f"{fig}.png").stat().st_size > 1000
            assert (built / name / f"{fig}.svg").read_text().startswith("<?xml")


def pdf_lines(pdf: Path) -> list[str]:
    """The PDF's text, line by line as laid out on the page, spaces collapsed."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]


def table_cells(page: str) -> list[str]:
    """The text of every table cell of the page (without mathematics)."""
    cells = []
    page = re.sub(r'<table class="glance">.*?</table>', "", markup(page), flags=re.S)  # its cells wrap
    for cell in re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S):
        text = re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", "", cell))).strip()
        if text and "$" not in text:
            cells.append(text)
    return cells


def test_no_table_cell_breaks_across_lines(built):
    """Every cell of every table is printed on one line: no "2.66557694e-" on
    one line and "02" on the next."""
    needs("pdftotext")
    lines = pdf_lines(built / "report.pdf")
    cells = table_cells((built / "report.html").read_text())
    assert len(cells) > 50
    broken = [c for c in cells if not any(c in line for line in lines)]
    assert not broken, f"table cells broken over lines in the PDF: {broken[:10]}"


def test_title_on_one_line(built):
    needs("pdftotext")
    lines = pdf_lines(built / "report.pdf")
    assert "Deep Learning for Image Analysis: Assignment 2" in lines[:3]


def test_results_at_a_glance_open_the_report_and_the_readme(built, metrics):
    """Page 1 answers every exercise, and the README's results are the same
    table, so the two cannot disagree (issue 20)."""
    needs("pdftotext")
    pdf = str(built / "report.pdf")
    page1 = subprocess.run(["pdftotext", "-l", "1", pdf, "-"], capture_output=True, text=True, check=True).stdout
    page1 = re.sub(r"\s+", " ", page1)
    assert "Results at a glance" in page1
    nb2, nb3 = metrics["notebooks"]["2_one_layer"], metrics["notebooks"]["3_multilayer"]
    reg = nb3["regularisation"]
    for shown in (
        f"{nb2['test_accuracy']:.2%}",
        f"{nb3['seed_mean']:.2%} ± {nb3['seed_std']:.2%}",
        f"{reg['test_accuracy']['mean']:.2%} ± {reg['test_accuracy']['std']:.2%}",
    ):
        assert shown in page1, shown
    table = report_glance.glance_markdown(metrics["notebooks"], metrics["dataset"])
    assert report_readme.readme_table(built).startswith(table + "\n")
    rows = [line for line in table.splitlines()[2:]]
    # the last rows: the dropout network retrained on all training images, then the augmented runs, apart
    assert [row.split(" | ")[0] for row in rows] == ["| 1", "| 2", "| 2", "| 3", "| 3", "| 3", "| 3", "| 3", "| 3"]
    assert "reported apart from the results without augmentation" in rows[-1]
    refit = reg["refit"]["dropout network"]
    assert rows[-2].startswith(f"| 3 | dropout network, retrained on all {refit['n_images']:,} training images | ")
    assert f"{refit['test_accuracy']['mean']:.2%} ± {refit['test_accuracy']['std']:.2%}" in rows[-2]
    # the choice's row calls the rule's pick the cheapest only when the band holds finalists of other costs
    band = [f for f in nb3["finalists"] if f["within"]]
    alike = len(band) > 1 and len({f["gflop_per_epoch"] for f in band}) == 1
    choice = next(row for row in rows if "the network chosen on the validation set" in row)
    assert (", all equally cheap" in choice and "the best of the" in choice) == alike
    assert ("the cheapest of the" in choice) != alike
    if reg["chosen"] != "none":
        paired = nb3["regularisation_verdicts"]["paired"][reg["chosen"]]
        assert f"against the unregularised network on the same seeds, the {paired}" in rows[-3]
    # each number says which weights it was read from: the last update or the epoch chosen on validation
    readings = [row.rsplit(" | ", 1)[1] for row in rows if "%" in row.split(" | ")[2]]
    assert readings and all("last update" in r or "validation accuracy" in r for r in readings), readings


def test_appendix_says_which_sgd_step_ran(built):
    """The fused step and NumPy's operators round differently, so the
    appendix names the path that ran (issue 18): the one ``blas.PATH`` reports."""
    from dlia_a2 import blas

    env = json.loads((built / "environment.json").read_text())
    assert env["blas_path"] == blas.PATH
    shown = report_appendix.sgd_step(blas.PATH)
    assert shown.startswith(blas.PATH.split(":")[0])  # "fused" or "plain NumPy", as it ran
    assert f"SGD step:</strong> {htmlmod.escape(shown)}" in (built / "report.html").read_text()


def page_fill(pdf: Path) -> list[float]:
    """How far down each page of the PDF its content reaches, as a share of
    the text area (A4 with the template's top and bottom margin, read from
    its ``@page`` rule)."""
    import numpy as np
    from PIL import Image

    page_rule = re.search(r"@page\s*\{[^}]*margin:\s*(\d+)mm", (pdf.parent / "report.html").read_text())
    margin = int(page_rule.group(1))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "30", "-gray", str(pdf), f"{tmp}/p"], check=True)
        fills = []
        for page in sorted(Path(tmp).glob("p*")):
            ink = np.asarray(Image.open(page)) < 200
            height = ink.shape[0]
            top, bottom = height * margin / 297, height * (1 - margin / 297)
            rows = np.flatnonzero(ink.any(axis=1))
            fills.append(float((rows[-1] + 1 - top) / (bottom - top)) if len(rows) else 0.0)
    return fills


def test_no_page_is_left_a_quarter_empty(built):
    """Issue 20: every page but the last is filled to at least three quarters
    of its height, unless what follows is a figure or a table too tall for
    the space left (the next page then begins with its caption's figure)."""
    needs("pdftoppm")
    pdf = built / "report.pdf"
    fills = page_fill(pdf)
    short = []
    for number, fill in enumerate(fills[:-1], start=1):
        if fill >= 0.75:
            continue
        next_page = subprocess.run(
            ["pdftotext", "-f", str(number + 1), "-l", str(number + 1), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.lstrip()
        if not re.match(r"(Figure|Table) \d+\.\d+\.", next_page):
            short.append((number, round(fill, 2), next_page[:60]))
    assert not short, f"pages filled less than three quarters, with no figure or table to explain it: {short}"


def test_no_page_is_empty(built):
    """The last line's margins alone once opened an eleventh, empty page."""
    needs("pdftoppm")
    fills = page_fill(built / "report.pdf")
    assert all(fill > 0 for fill in fills), f"empty pages: {[n for n, f in enumerate(fills, start=1) if f <= 0]}"


def test_html_reads_at_about_seventy_characters_a_line(built):
    """Issue 20: the HTML ran lines of 95-100 characters. Its paragraphs,
    list items and captions are held to 70 characters on screen (the rule
    stands outside the print style, which sets its own page)."""
    screen = (built / "report.html").read_text().split("@media print")[0]
    rule = re.search(r"([^{}]*)\{\s*max-width:\s*70ch;?\s*\}", screen)
    assert rule, "no 70-character measure in the report's screen style"
    assert {"p", "li", "figcaption"} <= {sel.strip().split()[-1] for sel in rule.group(1).split(",")}
