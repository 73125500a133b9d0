"""Merging the executed notebooks into one report: numbered headings, a
table of contents, placeholders in the Markdown filled from each notebook's
metrics (:mod:`dlia_a2.prose`), no parameter cells, no code, no stderr."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from dlia_a2 import prose

_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")


def merge(
    notebooks: list[Path],
    title: str,
    subtitle: str,
    appendix_md: str,
    values: dict | None = None,
    glance: str = "",
):
    """One notebook for the whole report: the title, "Results at a glance"
    (``glance``, an HTML table, when given), a table of contents, then
    the notebooks with numbered headings, no parameter cells, no code, no
    stderr. Placeholders in
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
    glance = f'<h2 class="glance" id="sec-glance">Results at a glance</h2>\n\n{glance}\n\n' if glance else ""
    merged.cells = (
        [nbformat.v4.new_markdown_cell(head + "\n\n" + glance + "".join(toc_html))]
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
