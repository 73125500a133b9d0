"""What a handed-in report prints, held to its ``metrics.json``.

Every two-decimal percentage in the report's HTML text and in its PDF's text
(by ``pdftotext``, where it is installed) must be a value of its metrics:
:func:`check_report` for ``make verify`` (through ``compare.judge``), and
:func:`unknown_percentages` for ``tests/test_report.py``. It reads files and
dicts only.
"""

from __future__ import annotations

import html as htmlmod
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

# a percentage as the report prints one, with two decimals: "98.36%"
PERCENTAGE = re.compile(r"(?<![\d.])(\d{1,3}\.\d\d)%")


def _numbers(tree: object):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _numbers(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _numbers(v)
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield tree


def unknown_percentages(text: str, metrics: dict) -> tuple[set[str], set[str]]:
    """The two-decimal percentages a report's text prints, and those of them
    that are no value of its ``metrics.json``.

    Parameters
    ----------
    text : str
        The report's text: :func:`html_text` of ``report.html``, or
        :func:`pdf_text` of ``report.pdf``.
    metrics : dict
        The build's combined ``metrics.json``.

    Returns
    -------
    shown : set of str
        Every percentage printed as ``98.36%``, without its sign ("98.36").
    unknown : set of str
        Those that are not ``f"{100 * value:.2f}"`` of any number of
        ``metrics``: typed by hand, or edited after the build.
    """
    shown = set(PERCENTAGE.findall(text))
    known = {f"{100 * v:.2f}" for v in _numbers(metrics)}
    return shown, shown - known


def html_text(page: str) -> str:
    """The text a reader sees of an HTML report: without its scripts, styles,
    tags (and so without the figures' base64 data), entities unescaped."""
    page = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", page))


def pdf_text(pdf: Path) -> str | None:
    """The text of a PDF by ``pdftotext``, or None where it is not installed."""
    if shutil.which("pdftotext") is None:
        return None
    r = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
    if r.returncode != 0:
        raise ValueError(f"pdftotext cannot read {pdf}: {r.stderr.strip()[-300:]}")
    return r.stdout


def check_report(folder: Path, metrics: dict, say: Callable[[str], None]) -> list[str]:
    """Whether a build's report prints only values of its metrics.

    Parameters
    ----------
    folder : Path
        A build folder (the unpacked bundle) holding ``report.html`` and,
        where it was printed, ``report.pdf``.
    metrics : dict
        Its combined ``metrics.json``.
    say : callable
        Prints one line: what was checked, and that the PDF was not where
        ``pdftotext`` is missing.

    Returns
    -------
    list of str
        One line per report file that prints a percentage no value of
        ``metrics`` gives, or prints none at all; empty when all is well.
    """
    problems = []
    texts = {"report.html": html_text((folder / "report.html").read_text(encoding="utf-8"))}
    if (folder / "report.pdf").is_file():
        try:
            text = pdf_text(folder / "report.pdf")
        except ValueError as e:
            problems.append(str(e))
        else:
            if text is None:
                say("[verify]    pdftotext is not installed: report.pdf's text is not checked (poppler-utils)")
            else:
                texts["report.pdf"] = text
    for name, text in texts.items():
        shown, unknown = unknown_percentages(text, metrics)
        if not shown:
            problems.append(f"{name} prints no percentage at all: it is not the report of these metrics")
        elif unknown:
            problems.append(
                f"{name} prints {', '.join(p + '%' for p in sorted(unknown))}, "
                "no value of its metrics.json (edited after the build?)"
            )
        else:
            say(f"[verify]    {name}: each of its {len(shown)} percentages is a value of metrics.json")
    return problems
