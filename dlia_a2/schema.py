"""The JSON Schema words the parameter declarations are written in, and
their checking with ``jsonschema``: what a value may be, in a schema, and in
words for a message (:func:`allowed`), read from the same schema so that
the two cannot drift apart.

Python and YAML have more kinds of value than JSON, so three types are
narrowed: a whole number is an ``int`` (not a bool, not ``2.0``), a number
is finite, and a list may be a tuple. Two keywords are added: ``increasing``
on a list, and the format ``address`` (``''``, or ``scheme://host[:port]``
with the port from 1 to 65535, as a Dask scheduler is named).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from dlia_a2.checks import is_real, is_whole

PORT_MAX = 65_535


def _is_whole(checker, value) -> bool:
    return is_whole(value)


def _is_number(checker, value) -> bool:
    return is_real(value) and math.isfinite(value)


def _increasing(validator, increasing, instance, schema):
    """The keyword ``increasing``: each item larger than the one before."""
    # items of the wrong type are the "items" keyword's to report: compared
    # here, [0, "yes"] raised a TypeError instead of a ParameterError
    if increasing and validator.is_type(instance, "array") and all(validator.is_type(x, "number") for x in instance):
        if any(not a < b for a, b in zip(instance, instance[1:])):
            yield ValidationError(f"{instance!r} is not in increasing order")


Validator = validators.extend(
    Draft202012Validator,
    validators={"increasing": _increasing},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {
            "integer": _is_whole,
            "number": _is_number,
            "array": lambda checker, value: isinstance(value, (list, tuple)),
        }
    ),
)
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+)(:(?P<port>\d+))?")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("address")
def _is_address(value) -> bool:
    """``''`` (nothing to connect to) or ``scheme://host[:port]``, the port
    from 1 to 65535."""
    if not isinstance(value, str) or value == "":
        return True
    m = _ADDRESS.fullmatch(value)
    return m is not None and (m["port"] is None or 1 <= int(m["port"]) <= PORT_MAX)


def whole(low: int | None = None, high: int | None = None, *, also: int | None = None, note: str = "") -> dict:
    """The schema of a whole number.

    Parameters
    ----------
    low, high : int, optional
        The smallest and the largest allowed (either may be left open).
    also : int, optional
        A special value allowed outside ``[low, high]``, such as 0 for "all".
    note : str
        What ``also`` means, e.g. ``"(all training images)"``.

    Returns
    -------
    dict
        A JSON Schema.
    """
    schema = {"type": "integer"}
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    if also is None:
        return schema
    return {"anyOf": [{"type": "integer", "const": also, "description": note}, schema]}


def real(low: float | None = None, high: float | None = None, *, low_included: bool = False) -> dict:
    """The schema of a finite number.

    Parameters
    ----------
    low, high : float, optional
        The bounds (either may be left open); ``high`` is allowed.
    low_included : bool
        Whether ``low`` itself is allowed.

    Returns
    -------
    dict
        A JSON Schema.
    """
    schema = {"type": "number"}
    if low is not None:
        schema["minimum" if low_included else "exclusiveMinimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def one_of(choices: Iterable[str]) -> dict:
    """The schema of one of a few strings.

    Parameters
    ----------
    choices : iterable of str
        The strings allowed.

    Returns
    -------
    dict
        A JSON Schema.
    """
    return {"type": "string", "enum": list(choices)}


def list_of(item: dict, *, min_items: int = 1, increasing: bool = False, distinct: bool = False) -> dict:
    """The schema of a list.

    Parameters
    ----------
    item : dict
        The schema of each value.
    min_items : int
        The fewest values allowed.
    increasing : bool
        Each value larger than the one before.
    distinct : bool
        No value twice.

    Returns
    -------
    dict
        A JSON Schema.
    """
    schema = {"type": "array", "minItems": min_items, "items": item}
    if increasing:
        schema["increasing"] = True
    if distinct:
        schema["uniqueItems"] = True
    return schema


def per_dataset(item: dict, datasets: Iterable[str]) -> dict:
    """The schema of a value set for each data set apart: a mapping from
    every name of ``datasets`` to a value of schema ``item``, as
    ``{"mnist": 0.1, "fashion-mnist": 0.05}``.

    Parameters
    ----------
    item : dict
        The schema of each value.
    datasets : iterable of str
        The data sets' names, each required.

    Returns
    -------
    dict
        A JSON Schema.
    """
    names = list(datasets)
    return {
        "type": "object",
        "properties": {name: item for name in names},
        "required": names,
        "additionalProperties": False,
    }


FLAG = {"type": "boolean"}
TEXT = {"type": "string", "pattern": r"\S"}
ADDRESS = {"type": "string", "format": "address", "examples": ["tcp://host:8786"]}


def allowed(schema: dict) -> str:
    """What a schema made by this module allows, in words, for a message.

    Parameters
    ----------
    schema : dict
        A property's schema, as :func:`whole`, :func:`real`, :func:`one_of`,
        :func:`list_of` and :func:`per_dataset` make them, or :data:`FLAG`, :data:`TEXT` or
        :data:`ADDRESS`.

    Returns
    -------
    str
        E.g. ``"a whole number from 1 to 30"``.
    """
    if "anyOf" in schema:
        special, rest = schema["anyOf"]
        return f"{special['const']} {special['description']}".rstrip() + " or " + allowed(rest)
    kind = schema["type"]
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"a whole number from {low} to {high}"
        if low is not None:
            return f"a whole number, {low} or more"
        return f"a whole number, {high} or less" if high is not None else "a whole number"
    if kind == "number":
        parts = [f"greater than {schema['exclusiveMinimum']:g}"] if "exclusiveMinimum" in schema else []
        parts += [f"at least {schema['minimum']:g}"] if "minimum" in schema else []
        parts += [f"at most {schema['maximum']:g}"] if "maximum" in schema else []
        return "a finite number" + (" " + " and ".join(parts) if parts else "")
    if kind == "array":
        order = (
            ", in increasing order"
            if schema.get("increasing")
            else ", each value once"
            if schema.get("uniqueItems")
            else ""
        )
        return f"a list of {schema['minItems']} or more values, each {allowed(schema['items'])}{order}"
    if kind == "object":
        names = ", ".join(repr(n) for n in schema["required"])
        item = allowed(next(iter(schema["properties"].values())))
        return f"a mapping from each data set ({names}) to {item}"
    if "enum" in schema:
        return "one of " + ", ".join(repr(c) for c in schema["enum"])
    if kind == "boolean":
        return "true or false"
    if schema.get("format") == "address":
        return f"'' or an address such as {schema['examples'][0]!r}, its port (if given) from 1 to {PORT_MAX}"
    return "a string that is not empty"


def convert(schema: dict, value: object) -> object:
    """A value that passed its schema, as the notebook gets it.

    Parameters
    ----------
    schema : dict
        The property's schema.
    value : object
        Its value, valid under ``schema``.

    Returns
    -------
    object
        Numbers declared as numbers as ``float``, whole numbers as ``int``,
        lists (and tuples) as ``list``, mappings as ``dict``, anything else
        as it is.
    """
    kind = schema.get("type") or schema["anyOf"][1]["type"]
    if kind == "array":
        return [convert(schema["items"], v) for v in value]
    if kind == "object":
        return {k: convert(schema["properties"][k], v) for k, v in value.items()}
    return {"integer": int, "number": float}.get(kind, lambda v: v)(value)
