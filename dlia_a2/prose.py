"""Prose with numbers from the run: Markdown cells hold the argument, with
short Jinja2 placeholders (``{{ test_accuracy | pct }}``) for the numbers
and verdicts that depend on the data. The report build fills them from the
notebook's ``metrics.json``; opened in JupyterLab, a cell shows the sentence
with its placeholders, and the numbers are in the outputs around it.

Only recorded metrics can be named, so every number in the prose is one
that ``metrics.json`` holds; a name that is not there stops the build.
"""

from __future__ import annotations

import math

import jinja2
import jinja2.nodes


def pct(x: float, digits: int = 2) -> str:
    """0.98645 -> '98.65%'."""
    return f"{100 * x:.{digits}f}%"


def num(x: float, digits: int = 4) -> str:
    """A fixed-point number: 0.05712 -> '0.0571'."""
    return f"{x:.{digits}f}"


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def sci(x: float, digits: int = 2) -> str:
    """``x`` in scientific notation with ``digits`` significant digits, as a
    reader writes it: ``sci(6.8e-08)`` is ``"6.8 × 10⁻⁸"`` and
    ``sci(-0.0266557694, 9)`` is ``"−2.66557694 × 10⁻²"``; ``"e-08"`` would
    spend two characters (sign and padding zero) on nothing, and a line may
    break after its hyphen. The minus is a true minus sign (U+2212). Zero is
    ``"0"``, and numbers from 1 to 10 have no ``× 10⁰``; in a table,
    ``fmt={"column": lambda v: sci(v, 4)}`` of ``Section.table``.
    """
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.replace("-", "\u2212")
    e = int(exponent)
    return mantissa if e == 0 else f"{mantissa} \u00d7 10{str(e).translate(_SUPERSCRIPT)}"


def count(x: int) -> str:
    """A whole number with thousands separated: 60000 -> '60,000'."""
    return f"{int(x):,}"


def signed(x: float, digits: int = 2) -> str:
    """A difference with its sign, the minus a true minus sign (U+2212):
    0.12 -> '+0.12', -0.03 -> '−0.03'."""
    return f"{x:+.{digits}f}".replace("-", "\u2212")


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


# what a placeholder may hold: a name, its attributes and constant keys, and
# filters with constant arguments; nothing that branches, loops or computes
_LOOKUP_NODES = (
    jinja2.nodes.Template,
    jinja2.nodes.Output,
    jinja2.nodes.TemplateData,
    jinja2.nodes.Name,
    jinja2.nodes.Getattr,
    jinja2.nodes.Getitem,
    jinja2.nodes.Filter,
    jinja2.nodes.Const,
)


def check_lookups(markdown: str, where: str = "a Markdown cell") -> None:
    """Refuse Markdown whose placeholders do more than look a value up.

    Allowed: ``{{ name }}``, ``{{ name.key }}``, ``{{ name["key"] }}`` and
    filters with constant arguments, ``{{ value | pct(0) }}``. Refused:
    ``{% ... %}`` blocks (branches, loops, ``set``), arithmetic and
    comparisons, and keys that are themselves looked up. A verdict that
    depends on the run is a phrase from :mod:`dlia_a2.verdicts`, recorded
    and looked up by name.

    Raises
    ------
    ValueError
        Naming the first construct that is not a look-up and where it is.
    """
    if "{%" in markdown:
        raise ValueError(
            f"{where} holds a {{% ... %}} block; compute the verdict in a code cell "
            "(dlia_a2.verdicts), record it with section.record(...) and look it up with {{ name }}"
        )
    try:
        tree = _ENV.parse(markdown)
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"{where}: template error on line {e.lineno}: {e.message}") from None
    for node in tree.find_all(jinja2.nodes.Node):
        key_looked_up = isinstance(node, jinja2.nodes.Getitem) and not isinstance(node.arg, jinja2.nodes.Const)
        filter_computes = isinstance(node, jinja2.nodes.Filter) and not all(
            isinstance(a, jinja2.nodes.Const) for a in [*node.args, *(k.value for k in node.kwargs)]
        )
        if not isinstance(node, _LOOKUP_NODES) or key_looked_up or filter_computes:
            raise ValueError(
                f"{where}: a placeholder on line {node.lineno} computes ({type(node).__name__}), "
                "it does not look a value up; compute it in a code cell and record it by name"
            )


def fill(markdown: str, metrics: dict, where: str = "a Markdown cell") -> str:
    """``markdown`` with its placeholders filled from ``metrics``.

    Raises
    ------
    KeyError
        A placeholder names something ``metrics`` does not hold (the message
        names it and where it is).
    ValueError
        A placeholder does more than look a value up (:func:`check_lookups`).
    """
    if not has_placeholders(markdown):
        return markdown
    check_lookups(markdown, where)
    try:
        return _ENV.from_string(markdown).render(**metrics)
    except jinja2.UndefinedError as e:
        raise KeyError(f"{where} names {e.message}; record it with section.record(...) first") from None
