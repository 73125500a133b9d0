"""Running the notebooks and turning them into one report.

Two halves:

- helpers the notebooks call (:class:`Section` numbers, saves and shows
  figures, writes prose with numbers from the run, and keeps the metrics
  JSON; :func:`load_split` prepares the data; :func:`terminal_progress`
  reports long training on the terminal);
- the build, used by the Makefile: ``python -m report_tools run`` executes
  one notebook with papermill and a parameter file; ``python -m
  report_tools render`` merges executed notebooks into one numbered
  report, renders a self-contained HTML file (MathJax inlined, no network)
  and prints it to PDF with headless Chromium.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as _dt
import html
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
TEMPLATE_DIR = ROOT / "report" / "template"
MATHJAX_JS = ROOT / "report" / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
PROGRESS_ENV = "DLIA_PROGRESS"


# --- helpers for the notebooks ------------------------------------------------

def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


class Section:
    """One exercise's figures, prose and metrics.

    Figures are numbered ``<number>.<k>`` in the order they are shown,
    saved as PNG and SVG in ``out_dir`` and shown with their caption;
    ``metrics`` is written to ``out_dir/metrics.json`` by :meth:`save`.
    """

    def __init__(self, number: int, out_dir: str | Path, params: dict | None = None):
        self.number = number
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.figures = 0
        self.metrics: dict = {"parameters": _jsonable(params or {})}
        self._t0 = time.perf_counter()

    def figure(self, fig, name: str, caption: str, width: int | None = None) -> None:
        """Save ``fig`` as ``name.png`` and ``name.svg`` and show it with a
        numbered caption ("Figure 2.1. ..."); ``last_label`` holds the label.
        Shown at most ``width`` pixels wide (default: 100 per inch of the
        figure, so that small figures stay small on the page)."""
        from IPython.display import HTML, display
        width = width or int(min(720, 100 * fig.get_figwidth()))
        self.figures += 1
        label = f"Figure {self.number}.{self.figures}"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=160)
        png = buf.getvalue()
        (self.out_dir / f"{name}.png").write_bytes(png)
        fig.savefig(self.out_dir / f"{name}.svg", format="svg",
                    metadata={"Date": None})
        b64 = base64.b64encode(png).decode()
        display(HTML(
            f'<figure class="report-figure" id="fig-{self.number}-{self.figures}">'
            f'<img src="data:image/png;base64,{b64}" style="max-width:{width}px;width:100%" '
            f'alt="{html.escape(caption)}"/>'
            f'<figcaption><b>{label}.</b> {caption}</figcaption></figure>'))
        self.metrics.setdefault("figures", {})[name] = {"label": label,
                                                       "caption": caption}
        self.last_label = label

    @staticmethod
    def md(text: str) -> None:
        """Show Markdown (prose with numbers computed by the run)."""
        from IPython.display import Markdown, display
        display(Markdown(text))

    @staticmethod
    def table(rows, headers, fmt=None) -> str:
        """A Markdown table; ``fmt`` maps a column name to a format string."""
        fmt = fmt or {}
        out = ["| " + " | ".join(headers) + " |",
               "|" + "|".join("---:" for _ in headers) + "|"]
        for r in rows:
            cells = []
            for h, v in zip(headers, r):
                cells.append(fmt[h].format(v) if h in fmt and v is not None
                             and not isinstance(v, str) else str(v))
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out)

    def record(self, **values):
        """Store values in the metrics JSON (numbers the prose quotes)."""
        self.metrics.update(_jsonable(values))

    def save(self) -> Path:
        """Write ``metrics.json`` (results only, so that two builds of the
        same commit give identical files) and ``timing.json``."""
        path = self.out_dir / "metrics.json"
        path.write_text(json.dumps(self.metrics, indent=1, sort_keys=True) + "\n")
        (self.out_dir / "timing.json").write_text(json.dumps(
            {"wall_seconds": round(time.perf_counter() - self._t0, 1)}) + "\n")
        return path


def load_split(dataset: str = "mnist", n_train: int = 0, n_val: int = 0,
               seed: int = 0):
    """Float32 data for training: ``(X_train, y_train, X_val, y_val, X_test,
    y_test, class_names)``.

    ``n_val`` images are held out of the training images as a validation
    set (seeded); ``n_train > 0`` then keeps only that many of the rest
    (a seeded random subset, for quick runs).
    """
    import mnist_data as md
    ds = md.load(dataset)
    x, y = ds.x_train, ds.y_train
    if n_val:
        x, y, xv, yv = md.train_val_split(x, y, n_val, seed)
    else:
        xv, yv = x[:0], y[:0]
    if n_train:
        if not 0 < n_train <= len(x):
            raise ValueError(f"n_train must lie between 1 and {len(x)} (0 for "
                             f"all), got {n_train}")
        keep = np.sort(np.random.default_rng(seed + 1).permutation(len(x))[:n_train])
        x, y = x[keep], y[keep]
    f = md.to_float
    return f(x), y, f(xv), yv, f(ds.x_test), ds.y_test, ds.class_names


def terminal_note(text: str) -> None:
    """Print a line on the terminal running the build (see
    :func:`terminal_progress`); silent unless ``$DLIA_PROGRESS`` is set."""
    if os.environ.get(PROGRESS_ENV):
        print("  " + text, file=sys.__stderr__, flush=True)


def terminal_progress(label: str, every_epochs: int = 1):
    """A ``train_model`` callback that prints one line per epoch on the
    terminal running the build (the kernel's own stderr, so nothing lands
    in the notebook). Silent unless ``$DLIA_PROGRESS`` is set."""
    if not os.environ.get(PROGRESS_ENV):
        return None
    t0 = time.perf_counter()
    stream = sys.__stderr__

    def callback(history):
        it = history.last("iteration")
        if it % history.iterations_per_epoch:
            return
        epoch = it // history.iterations_per_epoch
        if epoch % every_epochs:
            return
        parts = [f"{label}: epoch {epoch}"]
        for s in history.set_names:
            parts.append(f"{s} acc {history.last(s + '_accuracy'):.4f}")
        parts.append(f"{time.perf_counter() - t0:.0f} s")
        print("  " + ", ".join(parts), file=stream, flush=True)
    return callback


# --- the environment ----------------------------------------------------------

def environment() -> dict:
    """What the report was built with: versions, BLAS, CPU, commit."""
    from importlib.metadata import PackageNotFoundError, version
    pkgs = {}
    for p in ("numpy", "matplotlib", "nbconvert", "papermill", "ipykernel",
              "jupyterlab", "nbval", "pytest"):
        try:
            pkgs[p] = version(p)
        except PackageNotFoundError:
            pkgs[p] = "not installed"
    blas = []
    try:
        import threadpoolctl
        np.ones(2) @ np.ones(2)
        for info in threadpoolctl.threadpool_info():
            blas.append({k: info.get(k) for k in
                         ("internal_api", "version", "architecture", "num_threads")})
    except ImportError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": cpu, "cores": os.cpu_count(), "packages": pkgs, "blas": blas,
            "blas_env": {k: os.environ[k] for k in sorted(os.environ)
                         if k.startswith(("OPENBLAS", "OMP_", "MKL_"))},
            "git_commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "built": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


# --- build: execute -----------------------------------------------------------

def notebook_parameters(notebook: Path) -> dict:
    """The parameters declared in a notebook's ``parameters`` cell, as
    papermill reads them: ``{name: inferred type name}``."""
    import papermill as pm
    found = pm.inspect_notebook(str(notebook))
    if not found:
        raise ValueError(f"{notebook} has no cell tagged 'parameters'")
    return {k: v["inferred_type_name"] for k, v in found.items()}


def load_parameters(notebook: Path, params_file: Path) -> dict:
    """Read a YAML parameter file and refuse keys the notebook does not
    declare (papermill would inject them silently)."""
    import yaml
    params = yaml.safe_load(params_file.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{params_file} must be a mapping of parameter: value")
    declared = notebook_parameters(notebook)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ValueError(f"{params_file}: unknown parameter(s) {unknown} for "
                         f"{notebook.name}; it declares {sorted(declared)}")
    return params


def _keep_checked_outputs_only(path: Path) -> None:
    """For an nbval baseline: drop the outputs (figures, prose) of cells that
    nbval does not compare, so the committed file stays small."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if (cell.cell_type == "code" and "nbval-check-output"
                not in cell.get("metadata", {}).get("tags", [])):
            cell.outputs = []
    nbformat.write(nb, path)


def run_notebook(notebook: Path, params_file: Path, output: Path,
                 out_dir: str, dataset: str, cwd: Path | None = None,
                 baseline: bool = False) -> None:
    """Execute ``notebook`` with papermill into ``output``.

    The kernel runs in ``cwd`` (default: the notebook's folder) and writes
    figures and metrics to ``out_dir`` (relative to ``cwd``). The output is
    written to a temporary file first and renamed at the end, so an
    interrupted run leaves no half-executed notebook that make would take
    as up to date.
    """
    import mnist_data
    import papermill as pm
    if dataset not in mnist_data.DATASET_NAMES:
        raise ValueError(f"unknown data set {dataset!r}; choose one of "
                         f"{', '.join(mnist_data.DATASET_NAMES)}")
    params = load_parameters(notebook, params_file)
    params.update(dataset=dataset, out_dir=out_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".part.ipynb")
    os.environ.setdefault(PROGRESS_ENV, "1")
    print(f"[report] running {notebook.name} with {params_file} ({dataset})",
          file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=params,
                            cwd=str(cwd or notebook.parent), kernel_name="python3",
                            progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as e:
        raise RuntimeError(f"{notebook.name} failed in cell {e.exec_count}: "
                           f"{e.ename}: {e.evalue} (the partly executed "
                           f"notebook is {tmp})") from None
    if baseline:
        _keep_checked_outputs_only(tmp)
    os.replace(tmp, output)
    print(f"[report] {notebook.name} done in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr, flush=True)


# --- build: merge and render --------------------------------------------------

_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def merge(notebooks: list[Path], title: str, subtitle: str, appendix_md: str):
    """One notebook for the whole report: numbered headings, a table of
    contents, no parameter cells, no code, no stderr."""
    import nbformat
    merged = nbformat.v4.new_notebook()
    toc, cells = [], []
    for number, path in enumerate(notebooks, start=1):
        nb = nbformat.read(path, as_version=4)
        counters = [number, 0, 0]
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            # parameters are listed in the appendix; the cells nbval checks
            # print plain summaries meant for the regression, not the reader
            if tags & {"parameters", "injected-parameters", "remove-cell",
                       "nbval-check-output"}:
                continue
            cell = copy.deepcopy(cell)
            cell["id"] = f"nb{number}-{cell.get('id', len(cells))}"
            if cell.cell_type == "markdown":
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
                        line = (f'<h{level + 1} id="{anchor}">{num}'
                                f'{"." if level == 1 else ""} {text}</h{level + 1}>')
                    lines.append(line)
                cell.source = "\n".join(lines)
            elif cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", [])
                                if not (o.get("output_type") == "stream"
                                        and o.get("name") == "stderr")]
                if not cell.outputs:
                    continue
            cells.append(cell)
    toc.append((1, "A", "Reproducibility", "sec-appendix"))
    toc_html = ['<nav class="toc"><h2>Contents</h2><ul>']
    for level, num, text, anchor in toc:
        if level <= 2:
            toc_html.append(f'<li class="toc-{level}"><a href="#{anchor}">{num} {text}</a></li>')
    toc_html.append("</ul></nav>")
    head = (f'<header class="title"><h1>{html.escape(title)}</h1>'
            f'<p class="subtitle">{subtitle}</p></header>')
    merged.cells = ([nbformat.v4.new_markdown_cell(head + "\n\n" + "".join(toc_html))]
                    + cells +
                    [nbformat.v4.new_markdown_cell(
                        '<h2 id="sec-appendix">A. Reproducibility</h2>\n\n' + appendix_md)])
    merged.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"},
                       "language_info": {"name": "python"},
                       "title": title}
    return merged


def appendix(executed: list[Path], metrics: dict, params_files: list[Path]) -> str:
    """The reproducibility appendix, as Markdown."""
    import nbformat
    env = environment()
    rows = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        dur = nb.metadata.get("papermill", {}).get("duration")
        rows.append(f"| {path.stem} | {dur:.0f} s |" if dur else f"| {path.stem} | — |")
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}, "
                     f"{b['num_threads']} threads)" for b in env["blas"]) or "unknown"
    blas_env = ", ".join(f"{k}={v}" for k, v in env["blas_env"].items()) or "none"
    pk = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    seeds = set()
    for m in metrics.values():
        p = m.get("parameters", {})
        seeds.update(int(x) for x in [p.get("seed"), *p.get("seeds", [])] if x is not None)
    seeds = [str(x) for x in sorted(seeds)]
    files = ", ".join(f"`{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}`"
                      for p in params_files)
    param_rows = []
    for name, m in metrics.items():
        for k, v in sorted(m.get("parameters", {}).items()):
            param_rows.append(f"| {name} | `{k}` | `{v}` |")
    return "\n".join([
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
        "Wall time of each part:",
        "",
        "| notebook | wall time |",
        "|---|---:|",
        *rows,
        "",
        "Parameters of each notebook in this build:",
        "",
        "| notebook | parameter | value |",
        "|---|---|---|",
        *param_rows,
    ])


def render_html(nb, output: Path) -> None:
    """Render the merged notebook to one self-contained HTML file."""
    from nbconvert import HTMLExporter
    if not MATHJAX_JS.exists():
        raise FileNotFoundError(
            f"{MATHJAX_JS} is missing; run 'make report' (it installs MathJax "
            f"with 'npm ci --prefix report'), or that command by hand")
    exporter = HTMLExporter(template_name="report",
                            extra_template_basedirs=[str(TEMPLATE_DIR)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    resources = {"mathjax_js": MATHJAX_JS.read_text(encoding="utf-8")}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    if re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', body):
        raise RuntimeError("the rendered HTML still loads something from the "
                           "network; check report/template")
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
    return ["--headless", "--disable-gpu", "--no-first-run", "--no-sandbox",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-quic", "--hide-scrollbars",
            f"--user-data-dir={user_data_dir}", "--virtual-time-budget=30000",
            "--run-all-compositor-stages-before-draw"]


def render_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the HTML to PDF with headless Chromium."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError(
            "no Chromium found for the PDF; install it (Debian/Ubuntu: sudo "
            "apt-get install chromium) or set CHROMIUM=/path/to/chrome")
    tmp = pdf_path.with_name(pdf_path.name + ".part")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, *chromium_flags(profile), "--no-pdf-header-footer",
               f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print {html_path}: {r.stderr[-500:]}")
    os.replace(tmp, pdf_path)


def render(executed: list[Path], html_out: Path, pdf_out: Path | None,
           title: str, config_name: str, dataset: str,
           params_files: list[Path]) -> None:
    metrics = {}
    for path in executed:
        m = path.parent / path.stem / "metrics.json"
        if m.exists():
            metrics[path.stem] = json.loads(m.read_text())
    subtitle = (f"Data set: <b>{html.escape(dataset)}</b> &middot; configuration "
                f"<b>{html.escape(config_name)}</b> &middot; built "
                f"{_dt.date.today().isoformat()}")
    nb = merge(executed, title, subtitle, appendix(executed, metrics, params_files))
    render_html(nb, html_out)
    combined = {"dataset": dataset, "configuration": config_name,
                "notebooks": metrics}
    (html_out.parent / "metrics.json").write_text(
        json.dumps(combined, indent=1, sort_keys=True) + "\n")
    (html_out.parent / "environment.json").write_text(
        json.dumps(environment(), indent=1, sort_keys=True) + "\n")
    print(f"[report] wrote {html_out}", file=sys.stderr)
    if pdf_out is not None:
        render_pdf(html_out, pdf_out)
        print(f"[report] wrote {pdf_out}", file=sys.stderr)


README_START, README_END = "<!-- results-table -->", "<!-- /results-table -->"


def readme_table(build: Path) -> str:
    """The README's results table, from a build's metrics.json."""
    m = json.loads((build / "metrics.json").read_text())
    env = json.loads((build / "environment.json").read_text())
    nb = m["notebooks"]
    e1, e2, e3 = nb["1_partial_derivatives"], nb["2_one_layer"], nb["3_multilayer"]
    p2, p3 = e2["parameters"], e3["parameters"]
    ch, runs = e3["chosen"], e3["long_runs"]
    s, l = str(p3["short_epochs"]), str(p3["epochs"])
    arch = lambda sizes: "-".join(map(str, sizes))
    rows = [
        "| exercise | network and training | result |",
        "|---|---|---|",
        f"| 1 | gradient of the mean cross-entropy, formula vs. centred finite differences "
        f"({e1['n_pairs']} weights, 10 biases, {e1['n_samples']} images, float64) | largest "
        f"relative error {e1['max_rel_error_formula_vs_fd']:.1e} |",
        f"| 2 | 784-10 softmax, SGD, learning rate {p2['learning_rate']:g}, batch "
        f"{p2['batch_size']}, {p2['epochs']} epochs | test accuracy "
        f"**{e2['test_accuracy']:.2%}** |",
        f"| 3 | chosen on validation: {arch(ch['layer_sizes'])} {ch['activation']}, "
        f"learning rate {ch['learning_rate']:g}, batch {ch['batch_size']}, {ch['init']} init | "
        f"test accuracy {runs['chosen'][s]['test_accuracy']:.2%} after {s} epochs, "
        f"{runs['chosen'][l]['test_accuracy']:.2%} after {l}; over "
        f"{len(p3['seeds'])} seeds at {p3['seed_epochs']} epochs **{e3['seed_mean']:.2%} ± "
        f"{e3['seed_std']:.2%}** |",
        f"| 3 | the reference hand-in's: 784-{'-'.join(map(str, p3['reference_hidden_sizes']))}-10 "
        f"ReLU, learning rate {p3['reference_learning_rate']:g}, batch "
        f"{p3['reference_batch_size']}, N(0, 0.01²) init | test accuracy "
        f"{runs['reference'][s]['test_accuracy']:.2%} after {s} epochs, "
        f"{runs['reference'][l]['test_accuracy']:.2%} after {l} |",
        "",
        f"Built {env['built']} from commit `{env['git_commit'][:10]}` on {env['cpu']} "
        f"({env['cores']} cores).",
    ]
    return "\n".join(rows)


def update_readme(build: Path, readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END)
    readme.write_text(text[:start + len(README_START)] + "\n" + readme_table(build)
                      + "\n" + text[end:])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m report_tools")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute one notebook with papermill")
    r.add_argument("notebook", type=Path)
    r.add_argument("--params", type=Path, required=True)
    r.add_argument("--dataset", default="mnist")
    r.add_argument("--output", type=Path, required=True)
    r.add_argument("--out-dir", default=None,
                   help="folder for figures and metrics (default: beside the "
                        "output, named after it)")
    r.add_argument("--cwd", type=Path, default=None,
                   help="the kernel's working folder (default: the notebook's)")
    r.add_argument("--baseline", action="store_true",
                   help="keep only the outputs nbval compares (for tests/baselines)")
    g = sub.add_parser("render", help="merge executed notebooks into HTML (and PDF)")
    g.add_argument("executed", type=Path, nargs="+")
    g.add_argument("--html", type=Path, required=True)
    g.add_argument("--pdf", type=Path)
    g.add_argument("--config-name", default="full")
    g.add_argument("--dataset", default="mnist")
    g.add_argument("--params", type=Path, nargs="*", default=[])
    g.add_argument("--title", default="Deep Learning for Image Analysis: "
                   "Assignment 2")
    f = sub.add_parser("pdf", help="print an HTML file to PDF")
    f.add_argument("html", type=Path)
    f.add_argument("pdf", type=Path)
    u = sub.add_parser("readme", help="write a build's results into README.md")
    u.add_argument("build", type=Path)
    args = p.parse_args(argv)
    try:
        if args.command == "run":
            out_dir = args.out_dir or str((args.output.parent / args.output.stem).resolve())
            run_notebook(args.notebook, args.params, args.output, out_dir,
                         args.dataset, args.cwd, args.baseline)
        elif args.command == "render":
            render(args.executed, args.html, None, args.title, args.config_name,
                   args.dataset, args.params)
        elif args.command == "readme":
            update_readme(args.build)
        else:
            render_pdf(args.html, args.pdf)
            print(f"[report] wrote {args.pdf}", file=sys.stderr)
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
