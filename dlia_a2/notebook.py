"""Helpers the notebooks call: a :class:`Section` numbers and saves the
figures of one exercise, shows prose and tables, and keeps the numbers the
prose quotes in ``metrics.json``, which the report build and the tests read.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path

import numpy as np


def _jsonable(v):
    if isinstance(v, np.generic):  # NumPy scalars: float32, int64, bool_, ...
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

    # where a run writes and where it computes change no result: they stay
    # out of the parameters that metrics.json and the appendix record
    NOT_RECORDED = ("out_dir", "scheduler")

    def __init__(self, number: int, out_dir: str | Path, params: dict | None = None):
        self.number = number
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.figures = 0
        recorded = {k: v for k, v in (params or {}).items() if k not in self.NOT_RECORDED}
        self.metrics: dict = {"parameters": _jsonable(recorded)}
        self.timing: dict = {}
        self._t0 = time.perf_counter()

    def figure(self, fig, name: str, caption: str, width: int | None = None) -> None:
        """Save ``fig`` as ``name.png`` and ``name.svg`` and show it with a
        numbered caption ("Figure 2.1. ..."); ``last_label`` holds the label.
        The HTML figure carries ``data-name="name"``, by which the report's
        print style can size one figure.
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
        fig.savefig(self.out_dir / f"{name}.svg", format="svg", metadata={"Date": None})
        b64 = base64.b64encode(png).decode()
        display(
            HTML(
                f'<figure class="report-figure" id="fig-{self.number}-{self.figures}" data-name="{name}">'
                f'<img src="data:image/png;base64,{b64}" style="max-width:{width}px;width:100%" '
                f'alt="{html.escape(caption)}"/>'
                f"<figcaption><b>{label}.</b> {caption}</figcaption></figure>"
            )
        )
        self.metrics.setdefault("figures", {})[name] = {"label": label, "caption": caption}
        self.last_label = label

    @staticmethod
    def aside(fig, caption: str) -> None:
        """Show ``fig`` with an unnumbered caption, for a reader of the
        notebook in JupyterLab: nothing is saved or recorded, and the cell
        that calls this carries the ``remove-cell`` tag, so that the report,
        which the figure would only lengthen, leaves it out."""
        from IPython.display import HTML, display

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        b64 = base64.b64encode(buf.getvalue()).decode()
        display(
            HTML(
                f'<figure><img src="data:image/png;base64,{b64}" alt="{html.escape(caption)}"/>'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        )

    @staticmethod
    def md(text: str) -> None:
        """Show Markdown (prose with numbers computed by the run)."""
        from IPython.display import Markdown, display

        display(Markdown(text))

    @staticmethod
    def table(rows, headers, fmt=None) -> str:
        """A Markdown table; ``fmt`` maps a column name to a format string
        (``"{:.4f}"``) or a function of the value (:func:`dlia_a2.prose.sci`). In the
        report no cell breaks over lines (the template's CSS)."""
        fmt = fmt or {}
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
        for r in rows:
            cells = []
            for h, v in zip(headers, r):
                if h in fmt and v is not None and not isinstance(v, str):
                    cells.append(fmt[h](v) if callable(fmt[h]) else fmt[h].format(v))
                else:
                    cells.append(str(v))
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out)

    def record(self, **values):
        """Store values in the metrics JSON (numbers the prose quotes)."""
        self.metrics.update(_jsonable(values))

    def record_timing(self, **seconds):
        """Store wall times in ``timing.json``, apart from the results: they
        differ from run to run. Prose names them as ``timing.<name>``."""
        self.timing.update(_jsonable(seconds))

    def save(self) -> Path:
        """Write ``metrics.json`` (results only, so that two builds of the
        same commit give identical files) and ``timing.json``."""
        path = self.out_dir / "metrics.json"
        path.write_text(json.dumps(self.metrics, indent=1, sort_keys=True) + "\n")
        (self.out_dir / "timing.json").write_text(
            json.dumps({**self.timing, "wall_seconds": round(time.perf_counter() - self._t0, 1)}) + "\n"
        )
        return path
