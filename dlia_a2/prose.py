"""Prose with numbers from the run: Markdown cells hold the argument, with
short Jinja2 placeholders (``{{ test_accuracy | pct }}``) for the numbers
and verdicts that depend on the data. The report build fills them from the
notebook's ``metrics.json``; opened in JupyterLab, a cell shows the sentence
with its placeholders, and the numbers are in the outputs around it.

Only recorded metrics can be named, so every number in the prose is one
that ``metrics.json`` holds; a name that is not there stops the build.
"""

from __future__ import annotations

import jinja2


def pct(x: float, digits: int = 2) -> str:
    """0.98645 -> '98.65%'."""
    return f"{100 * x:.{digits}f}%"


def num(x: float, digits: int = 4) -> str:
    """A fixed-point number: 0.05712 -> '0.0571'."""
    return f"{x:.{digits}f}"


def sci(x: float, digits: int = 1) -> str:
    """Scientific notation for tiny or huge numbers: 6.8e-08."""
    return f"{x:.{digits}e}"


def count(x: int) -> str:
    """A whole number with thousands separated: 60000 -> '60,000'."""
    return f"{int(x):,}"


def signed(x: float, digits: int = 2) -> str:
    """A difference with its sign: '+0.12'."""
    return f"{x:+.{digits}f}"


def points(x: float, digits: int = 2) -> str:
    """A difference of two accuracies in percentage points, without the
    word: 0.00571 -> '0.57' (the prose says "points")."""
    return f"{100 * x:.{digits}f}"


# the names a reader knows the data sets by
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def dataset(name: str) -> str:
    """A data set's name as a reader writes it: 'fashion-mnist' ->
    'Fashion-MNIST'; a name it does not know is left as it is."""
    return DATASET_TITLES.get(name, name)


def g(x: float) -> str:
    """The shortest form of a setting: 0.050 -> '0.05', 1e-06 -> '1e-06'."""
    return f"{x:g}"


def plural(n: int, word: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def listing(xs, fmt=str) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [fmt(x) for x in xs]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters.update(
    pct=pct,
    num=num,
    sci=sci,
    count=count,
    signed=signed,
    points=points,
    dataset=dataset,
    g=g,
    plural=plural,
    listing=listing,
)


def has_placeholders(markdown: str) -> bool:
    return "{{" in markdown or "{%" in markdown


def fill(markdown: str, metrics: dict, where: str = "a Markdown cell") -> str:
    """``markdown`` with its placeholders filled from ``metrics``.

    Raises
    ------
    KeyError
        A placeholder names something ``metrics`` does not hold (the message
        names it and where it is).
    """
    if not has_placeholders(markdown):
        return markdown
    try:
        return _ENV.from_string(markdown).render(**metrics)
    except jinja2.UndefinedError as e:
        raise KeyError(f"{where} names {e.message}; record it with section.record(...) first") from None
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"{where}: template error on line {e.lineno}: {e.message}") from None
