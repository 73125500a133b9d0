"""The report build: run each notebook with papermill, merge the executed
notebooks into one numbered report, render it to self-contained HTML
(MathJax inlined, nothing loaded from the network) and print it to PDF with
headless Chromium. The Makefile calls it::

    python report/report_build.py run NOTEBOOK --params FILE --output FILE
    python report/report_build.py check NOTEBOOK... --params FILE...   # parameters only
    python report/report_build.py render EXECUTED... --html FILE
    python report/report_build.py pdf HTML PDF
    python report/report_build.py readme BUILD_DIR   # the README's results table
    python report/report_build.py has-chromium       # exit 0 if a Chromium is found

It uses the package ``dlia_a2``; nothing in the package uses it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import datetime as _dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlia_a2 import parameters, prose
from dlia_a2.environment import environment
from dlia_a2.parameters import ParameterError
from dlia_a2.progress import PROGRESS_ENV

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE_DIR = HERE / "template"
MATHJAX_JS = HERE / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"


# --- build: execute -----------------------------------------------------------


def notebook_parameters(notebook: Path) -> dict:
    """The parameters declared in a notebook's ``parameters`` cell, as
    papermill reads them: ``{name: inferred type name}``."""
    return {k: v["inferred_type_name"] for k, v in _parameters_cell(notebook).items()}


def _parameters_cell(notebook: Path) -> dict:
    import papermill as pm

    found = pm.inspect_notebook(str(notebook))
    if not found:
        raise ValueError(f"{notebook} has no cell tagged 'parameters'")
    return found


def notebook_defaults(notebook: Path) -> dict:
    """The values of a notebook's ``parameters`` cell, ``{name: value}``."""
    out = {}
    for name, p in _parameters_cell(notebook).items():
        try:
            out[name] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            raise ValueError(
                f"{notebook}: the default of {name} ({p['default']}) is not a literal; papermill can only "
                f"override literals in the parameters cell"
            ) from None
    return out


# Set on the command line, never in a parameter file: a value there would be
# overridden without a word.
COMMAND_LINE = {
    "dataset": "--dataset (make report DATASET=...)",
    "out_dir": "--out-dir (by default a folder beside --output)",
}


def read_parameter_file(params_file: Path) -> dict:
    """A YAML parameter file as a dict, read as YAML 1.2 reads it (``1e-1``
    is the number 0.1, ``yes`` a string), refusing a key given twice."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import YAMLError

    try:
        text = params_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ParameterError(f"{params_file} cannot be read: {e}") from None
    try:
        params = YAML(typ="safe", pure=True).load(text)
    except DuplicateKeyError as e:
        raise ParameterError(
            f"{params_file}, line {e.problem_mark.line + 1}: {e.problem}; give each parameter once"
        ) from None
    except YAMLError as e:  # a syntax error (with its line), or a character YAML does not allow
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise ParameterError(f"{params_file}{where} is not valid YAML: {getattr(e, 'problem', None) or e}") from None
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ParameterError(f"{params_file} must be a mapping of parameter: value, got a {type(params).__name__}")
    odd = [k for k in params if not isinstance(k, str)]
    if odd:
        raise ParameterError(f"{params_file}: every key must be a parameter name, got {odd[0]!r}")
    return params


def load_parameters(notebook: Path, params_file: Path) -> dict:
    """Read a YAML parameter file (see :func:`read_parameter_file`) and refuse
    keys the command line sets and keys the notebook does not declare
    (papermill would inject them silently). The values are checked by
    :func:`checked_parameters`."""
    params = read_parameter_file(params_file)
    owned = sorted(set(params) & set(COMMAND_LINE))
    if owned:
        raise ParameterError(
            f"{params_file}: {owned[0]} is set on the command line, with {COMMAND_LINE[owned[0]]}, "
            f"not in a parameter file; remove it from the file",
            name=owned[0],
            value=params[owned[0]],
        )
    declared = notebook_parameters(notebook)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ParameterError(
            f"{params_file}: unknown parameter(s) {unknown} for {notebook.name}; it declares {sorted(declared)}"
        )
    return params


def checked_parameters(notebook: Path, params_file: Path, dataset: str, out_dir: str) -> dict:
    """What papermill injects into ``notebook``: the values of the parameter
    file and of the command line, after every parameter of the notebook
    (these, and the notebook's defaults for the rest) passed
    :func:`dlia_a2.parameters.check`."""
    given = {**load_parameters(notebook, params_file), "dataset": dataset, "out_dir": out_dir}
    checked = parameters.check(notebook.stem, {**notebook_defaults(notebook), **given})
    return {k: checked[k] for k in given}


def _keep_checked_outputs_only(path: Path) -> None:
    """For an nbval baseline: drop the outputs (figures, prose) of cells that
    nbval does not compare, so the committed file stays small."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbval-check-output" not in cell.get("metadata", {}).get("tags", []):
            cell.outputs = []
    nbformat.write(nb, path)


def run_notebook(
    notebook: Path,
    params_file: Path,
    output: Path,
    out_dir: str,
    dataset: str,
    cwd: Path | None = None,
    baseline: bool = False,
) -> None:
    """Execute ``notebook`` with papermill into ``output``, once its
    parameters have passed :func:`checked_parameters`.

    The kernel runs in ``cwd`` (default: the notebook's folder) and writes
    figures and metrics to ``out_dir`` (relative to ``cwd``). The output is
    written to a temporary file first and renamed at the end, so an
    interrupted run leaves no half-executed notebook that make would take
    as up to date.
    """
    import papermill as pm

    params = checked_parameters(notebook, params_file, dataset, out_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".part.ipynb")
    print(f"[report] running {notebook.name} with {params_file} ({dataset})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    # the kernel inherits this process's environment: progress lines on the
    # terminal instead of bars in the notebook, for this run only
    progress_before = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = progress_before or "1"
    try:
        pm.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=params,
            cwd=str(cwd or notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as e:
        raise RuntimeError(
            f"{notebook.name} failed in cell {e.exec_count}: "
            f"{e.ename}: {e.evalue} (the partly executed "
            f"notebook is {tmp})"
        ) from None
    finally:
        if progress_before is None:
            del os.environ[PROGRESS_ENV]
    if baseline:
        _keep_checked_outputs_only(tmp)
    os.replace(tmp, output)
    print(f"[report] {notebook.name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


# --- build: merge and render --------------------------------------------------

_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def merge(notebooks: list[Path], title: str, subtitle: str, appendix_md: str, values: dict | None = None):
    """One notebook for the whole report: numbered headings, a table of
    contents, no parameter cells, no code, no stderr. Placeholders in
    Markdown cells are filled from ``values[notebook stem]``, its metrics
    and ``timing`` (:mod:`dlia_a2.prose`)."""
    import nbformat

    merged = nbformat.v4.new_notebook()
    toc, cells = [], []
    for number, path in enumerate(notebooks, start=1):
        nb = nbformat.read(path, as_version=4)
        counters = [number, 0, 0]
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            # parameters are listed in the appendix; the cells nbval checks
            # print plain summaries meant for the regression, not the reader;
            # "remove-cell" marks prose that walks through code the report hides
            if tags & {"parameters", "injected-parameters", "remove-cell", "nbval-check-output"}:
                continue
            cell = copy.deepcopy(cell)
            cell["id"] = f"nb{number}-{cell.get('id', len(cells))}"
            if cell.cell_type == "markdown":
                cell.source = prose.fill(cell.source, (values or {}).get(path.stem, {}), f"{path.name}, {cell['id']}")
                lines, fenced = [], False
                for line in cell.source.splitlines():
                    if line.startswith("```"):
                        fenced = not fenced
                    m = None if fenced else _HEADING.match(line)
                    if m:
                        level = len(m.group(1))
                        if level > 1:
                            counters[level - 1] += 1
                            for k in range(level, 3):
                                counters[k] = 0
                        num = ".".join(str(c) for c in counters[:level])
                        anchor = f"sec-{num.replace('.', '-')}"
                        text = m.group(2)
                        toc.append((level, num, text, anchor))
                        line = f'<h{level + 1} id="{anchor}">{num}{"." if level == 1 else ""} {text}</h{level + 1}>'
                    lines.append(line)
                cell.source = "\n".join(lines)
            elif cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.get("outputs", [])
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
                if not cell.outputs:
                    continue
            cells.append(cell)
    cells = _headings_into_next_output(cells)
    toc.append((1, "A", "Reproducibility", "sec-appendix"))
    toc_html = ['<nav class="toc"><h2>Contents</h2><ul>']
    for level, num, text, anchor in toc:
        if level <= 2:
            toc_html.append(f'<li class="toc-{level}"><a href="#{anchor}">{num} {text}</a></li>')
    toc_html.append("</ul></nav>")
    # a title that must break keeps its last two words together ("Assignment 2")
    words = html.escape(title).rsplit(" ", 1)
    head = f'<header class="title"><h1>{"&nbsp;".join(words)}</h1><p class="subtitle">{subtitle}</p></header>'
    merged.cells = (
        [nbformat.v4.new_markdown_cell(head + "\n\n" + "".join(toc_html))]
        + cells
        + [nbformat.v4.new_markdown_cell('<h2 id="sec-appendix">A. Reproducibility</h2>\n\n' + appendix_md)]
    )
    merged.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "title": title,
    }
    return merged


_HEADING_HTML = re.compile(r"^<h\d[^>]*>.*</h\d>$")


def _headings_into_next_output(cells: list) -> list:
    """A Markdown cell of headings only, followed by a code cell, moves into
    that cell's first output (a figure or a table), so that the printed
    heading and what it introduces are one block a page cannot split.
    Chromium prints them as two cells and ignores ``break-after: avoid``
    between cells: the heading of section 3.5 sat alone at a page's foot."""
    out = []
    for cell in cells:
        prev = out[-1] if out else None
        heading_only = (
            prev is not None
            and prev.cell_type == "markdown"
            and prev.source.strip()
            and all(_HEADING_HTML.match(line) for line in prev.source.splitlines() if line.strip())
        )
        first = cell.get("outputs", [{}])[0].get("data", {}) if cell.cell_type == "code" else {}
        if heading_only and ("text/html" in first or "text/markdown" in first):
            kind = "text/html" if "text/html" in first else "text/markdown"
            first[kind] = prev.source.strip() + "\n\n" + first[kind]
            out[-1] = cell
        else:
            out.append(cell)
    return out


def appendix(executed: list[Path], metrics: dict, params_files: list[Path]) -> str:
    """The reproducibility appendix, as Markdown."""
    import nbformat

    env = environment()
    wall = {}
    for path in executed:
        dur = nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("duration")
        wall[path.stem] = f"{dur:.0f} s" if dur else "—"
    blas = (
        "; ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} threads)" for b in env["blas"]
        )
        or "unknown"
    )
    blas_env = ", ".join(f"{k}={v}" for k, v in env["blas_env"].items()) or "none"
    pk = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    seeds = set()
    for m in metrics.values():
        p = m.get("parameters", {})
        seeds.update(int(x) for x in [p.get("seed"), *p.get("seeds", [])] if x is not None)
    seeds = [str(x) for x in sorted(seeds)]
    files = ", ".join(f"`{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}`" for p in params_files)
    per_notebook = []
    for name in dict.fromkeys([*wall, *metrics]):
        per_notebook += [
            "",
            f"**{name}**, wall time {wall.get(name, '—')}:",
            "",
            *parameter_table(metrics.get(name, {}).get("parameters", {})),
        ]
    return "\n".join(
        [
            "Every number and figure in this report was computed by the notebooks "
            "in `notebooks/` while this report was built; none was typed by hand.",
            "",
            f"- **Built:** {env['built']} from git commit `{env['git_commit']}`",
            f"- **Parameter files:** {files}",
            f"- **Seeds:** {', '.join(seeds)}",
            f"- **Python:** {env['python']} on {env['platform']}",
            f"- **CPU:** {env['cpu']}, {env['cores']} cores",
            f"- **BLAS:** {blas}; BLAS environment variables: {blas_env}",
            f"- **Packages:** {pk}",
            "",
            "Wall time and parameters of each notebook in this build:",
            *per_notebook,
        ]
    )


def parameter_table(params: dict, pairs: int = 2) -> list[str]:
    """A notebook's parameters as a compact Markdown table: ``pairs`` pairs of
    (parameter, value) columns side by side, filled column by column in
    alphabetical order."""
    items = sorted(params.items())
    if not items:
        return ["(no parameters recorded)"]
    pairs = max(1, min(pairs, len(items)))
    rows = -(-len(items) // pairs)
    columns = [items[k * rows : (k + 1) * rows] for k in range(pairs)]
    out = ["| " + " | ".join(["parameter", "value"] * pairs) + " |", "|" + "---|---|" * pairs]
    for r in range(rows):
        cells = []
        for col in columns:
            cells += [f"`{col[r][0]}`", f"`{col[r][1]}`"] if r < len(col) else ["", ""]
        out.append("| " + " | ".join(cells) + " |")
    return out


def render_html(nb, output: Path) -> None:
    """Render the merged notebook to one self-contained HTML file."""
    from nbconvert import HTMLExporter

    if not MATHJAX_JS.exists():
        raise FileNotFoundError(
            f"{MATHJAX_JS} is missing; run 'make report' (it installs MathJax "
            f"with 'npm ci --prefix report'), or that command by hand"
        )
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {"mathjax_js": MATHJAX_JS.read_text(encoding="utf-8")}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    if re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', body):
        raise RuntimeError("the rendered HTML still loads something from the network; check report/template")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".part")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, output)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_flags(user_data_dir: str) -> list[str]:
    return [
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--hide-scrollbars",
        f"--user-data-dir={user_data_dir}",
        "--virtual-time-budget=30000",
        "--run-all-compositor-stages-before-draw",
    ]


def render_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the HTML to PDF with headless Chromium."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError(
            "no Chromium found for the PDF; install it (Debian/Ubuntu: sudo "
            "apt-get install chromium) or set CHROMIUM=/path/to/chrome"
        )
    tmp = pdf_path.with_name(pdf_path.name + ".part")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium,
            *chromium_flags(profile),
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            html_path.resolve().as_uri(),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print {html_path}: {r.stderr[-500:]}")
    os.replace(tmp, pdf_path)


def render(
    executed: list[Path], html_out: Path, title: str, config_name: str, dataset: str, params_files: list[Path]
) -> None:
    metrics, template_values = {}, {}
    for path in executed:
        m = path.parent / path.stem / "metrics.json"
        if m.exists():
            metrics[path.stem] = json.loads(m.read_text())
            timing = m.with_name("timing.json")
            timing = json.loads(timing.read_text()) if timing.exists() else {}
            template_values[path.stem] = {**metrics[path.stem], "timing": timing}
    subtitle = (
        f"Data set: <b>{html.escape(dataset)}</b> &middot; configuration "
        f"<b>{html.escape(config_name)}</b> &middot; built "
        f"{_dt.date.today().isoformat()}"
    )
    nb = merge(executed, title, subtitle, appendix(executed, metrics, params_files), template_values)
    render_html(nb, html_out)
    combined = {"dataset": dataset, "configuration": config_name, "notebooks": metrics}
    (html_out.parent / "metrics.json").write_text(json.dumps(combined, indent=1, sort_keys=True) + "\n")
    (html_out.parent / "environment.json").write_text(json.dumps(environment(), indent=1, sort_keys=True) + "\n")
    print(f"[report] wrote {html_out}", file=sys.stderr)


README_START, README_END = "<!-- results-table -->", "<!-- /results-table -->"


def readme_table(build: Path) -> str:
    """The README's results table, from a build's metrics.json: each result
    with the weights it was read from (the last iterate of a run, or the
    epoch chosen on validation) and, for a last iterate, the range of the
    test accuracy over the epochs before it."""
    m = json.loads((build / "metrics.json").read_text())
    env = json.loads((build / "environment.json").read_text())
    nb = m["notebooks"]
    e1, e2, e3 = nb["1_partial_derivatives"], nb["2_one_layer"], nb["3_multilayer"]
    p2, p3 = e2["parameters"], e3["parameters"]
    ch, runs, reg, summary = e3["chosen"], e3["long_runs"], e3["regularisation"], e3["summary"]
    s, l = str(p3["short_epochs"]), str(p3["epochs"])
    arch = lambda sizes: "-".join(map(str, sizes))
    pct = lambda x: f"{x:.2%}"
    between = lambda r: f"{pct(r['min'])}–{pct(r['max'])} over epochs {r['from_epoch']}–{r['to_epoch']}"
    n_all = e3["n_fit_images"] + reg["n_val"]

    def long_run(name: str) -> str:
        sm = summary[name]
        return (
            f"last iterates after {s} and {l} epochs | {pct(runs[name][s]['test_accuracy'])} and "
            f"{pct(runs[name][l]['test_accuracy'])} ({between(sm['short_range'])}; {between(sm['last_range'])}) |"
        )

    r2 = e2["test_accuracy_range"]
    rows = [
        "| exercise | network and training | weights read | test result |",
        "|---|---|---|---|",
        f"| 1 | gradient of the mean cross-entropy, formula vs. centred finite differences "
        f"({e1['n_pairs']} weights, 10 biases, {e1['n_samples']} images, float64) | — | largest "
        f"relative error {e1['max_rel_error_formula_vs_fd']:.1e} |",
        f"| 2 | 784-10 softmax, SGD, learning rate {p2['learning_rate']:g}, batch {p2['batch_size']}, "
        f"{p2['epochs']} epochs on {e2['n_train_images']:,} training images | last iterate | accuracy "
        f"**{pct(e2['test_accuracy'])}** ({pct(r2['min'])}–{pct(r2['max'])} at the {r2['points']} evaluation "
        f"points of epochs {r2['from_epoch']}–{r2['to_epoch']}) |",
        f"| 3 | chosen on validation: {arch(ch['layer_sizes'])} {ch['activation']}, learning rate "
        f"{ch['learning_rate']:g}, batch {ch['batch_size']}, {ch['init']} init, on {n_all:,} training images "
        f"(the validation images included) | {long_run('chosen')}",
        f"| 3 | the same with {len(p3['seeds'])} seeds, {p3['seed_epochs']} epochs | last iterates | mean ± sd "
        f"**{pct(e3['seed_mean'])} ± {pct(e3['seed_std'])}** (any run: {between(e3['seed_range'])}) |",
        f"| 3 | the reference hand-in's: 784-{'-'.join(map(str, p3['reference_hidden_sizes']))}-10 "
        f"ReLU, learning rate {p3['reference_learning_rate']:g}, batch "
        f"{p3['reference_batch_size']}, N(0, 0.01²) init | {long_run('reference')}",
        f"| 3 | regularised, chosen on validation among weight decay {p3['regularisation_weight_decay']:g}, "
        f"dropout {p3['regularisation_dropout']:g} and both: {reg['chosen']}, {p3['regularisation_epochs']} "
        f"epochs on the {e3['n_fit_images']:,} images of the training split, {len(reg['seeds'])} seeds | "
        f"each run's epoch of highest {reg['monitor'].replace('val_', 'validation ')} (early stopping) | "
        f"mean ± sd **{pct(reg['test_accuracy']['mean'])} ± {pct(reg['test_accuracy']['std'])}** "
        f"(last iterates: {pct(reg['last_test_accuracy']['mean'])}) |",
        "",
        f"Built {env['built']} from commit `{env['git_commit'][:10]}` on {env['cpu']} ({env['cores']} cores).",
    ]
    return "\n".join(rows)


def update_readme(build: Path, readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END)
    readme.write_text(text[: start + len(README_START)] + "\n" + readme_table(build) + "\n" + text[end:])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python report/report_build.py")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute one notebook with papermill")
    r.add_argument("notebook", type=Path)
    r.add_argument("--params", type=Path, required=True)
    r.add_argument("--dataset", default="mnist")
    r.add_argument("--output", type=Path, required=True)
    r.add_argument(
        "--out-dir", default=None, help="folder for figures and metrics (default: beside the output, named after it)"
    )
    r.add_argument("--cwd", type=Path, default=None, help="the kernel's working folder (default: the notebook's)")
    r.add_argument("--baseline", action="store_true", help="keep only the outputs nbval compares (for tests/baselines)")
    c = sub.add_parser("check", help="check the parameters of notebooks, running nothing")
    c.add_argument("notebooks", type=Path, nargs="+")
    c.add_argument("--params", type=Path, nargs="+", required=True, help="one parameter file per notebook, in order")
    c.add_argument("--dataset", default="mnist")
    g = sub.add_parser("render", help="merge executed notebooks into HTML (and PDF)")
    g.add_argument("executed", type=Path, nargs="+")
    g.add_argument("--html", type=Path, required=True)
    g.add_argument("--config-name", default="full")
    g.add_argument("--dataset", default="mnist")
    g.add_argument("--params", type=Path, nargs="*", default=[])
    g.add_argument("--title", default="Deep Learning for Image Analysis: Assignment 2")
    f = sub.add_parser("pdf", help="print an HTML file to PDF")
    f.add_argument("html", type=Path)
    f.add_argument("pdf", type=Path)
    u = sub.add_parser("readme", help="write a build's results into README.md")
    u.add_argument("build", type=Path)
    sub.add_parser("has-chromium", help="exit 0 when a Chromium is found for the PDF")
    args = p.parse_args(argv)
    try:
        if args.command == "run":
            out_dir = args.out_dir or str((args.output.parent / args.output.stem).resolve())
            run_notebook(args.notebook, args.params, args.output, out_dir, args.dataset, args.cwd, args.baseline)
        elif args.command == "check":
            if len(args.notebooks) != len(args.params):
                raise ValueError(f"{len(args.notebooks)} notebook(s) but {len(args.params)} parameter file(s)")
            for notebook, params_file in zip(args.notebooks, args.params):
                checked_parameters(notebook, params_file, args.dataset, "build")
                print(f"[report] {params_file}: parameters of {notebook.name} ok", file=sys.stderr)
        elif args.command == "render":
            render(args.executed, args.html, args.title, args.config_name, args.dataset, args.params)
        elif args.command == "readme":
            update_readme(args.build)
        elif args.command == "has-chromium":
            return 0 if find_chromium() else 1
        else:
            render_pdf(args.html, args.pdf)
            print(f"[report] wrote {args.pdf}", file=sys.stderr)
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
