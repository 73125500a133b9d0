"""Rendering the report: the merged notebook to one self-contained HTML file
(MathJax inlined, nothing loaded from the network), and that file printed to
PDF by headless Chromium."""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dlia_a2.environment import environment
from dlia_a2.prose import dataset as dataset_name
from report_appendix import appendix
from report_glance import glance_html
from report_merge import merge

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "template"
MATHJAX_JS = HERE / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"


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
        f"Data set: <b>{html.escape(dataset_name(dataset))}</b> &middot; configuration "
        f"<b>{html.escape(config_name)}</b> &middot; built "
        f"{_dt.date.today().isoformat()}"
    )
    glance = glance_html(metrics, dataset)
    nb = merge(executed, title, subtitle, appendix(executed, metrics, params_files), template_values, glance)
    render_html(nb, html_out)
    combined = {"dataset": dataset, "configuration": config_name, "notebooks": metrics}
    (html_out.parent / "metrics.json").write_text(json.dumps(combined, indent=1, sort_keys=True) + "\n")
    (html_out.parent / "environment.json").write_text(json.dumps(environment(), indent=1, sort_keys=True) + "\n")
    print(f"[report] wrote {html_out}", file=sys.stderr)
