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

This file is the command line; the work is in the modules beside it:

- ``report_run``: a notebook's parameters checked, then the notebook run;
- ``report_merge``: the executed notebooks merged into one;
- ``report_appendix``: the reproducibility appendix;
- ``report_render``: HTML, and the PDF printed by Chromium;
- ``report_readme``: the README's results table.

It uses the package ``dlia_a2``; nothing in the package uses it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlia_a2.files import write_between_markers
from report_readme import README_MARKER, readme_table
from report_render import find_chromium, render, render_pdf
from report_run import checked_parameters, run_notebook

ROOT = Path(__file__).resolve().parents[1]


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
            write_between_markers(ROOT / "README.md", README_MARKER, readme_table(args.build))
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
