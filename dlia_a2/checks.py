"""Checks of settings that several modules share, each with a message that
names the setting, the value and what to give instead."""

from __future__ import annotations

import numpy as np


def is_whole(value) -> bool:
    """Whether ``value`` is a whole number: a Python or NumPy integer, and
    not a bool (which Python counts as an int) nor a float such as ``2000.0``.
    The one definition every check of a count in the package uses."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """Whether ``value`` is a real number: a Python or NumPy integer or float,
    and not a bool. Finite or not is the caller's to say."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def whole_number(name: str, value, at_least: int | None = None) -> int:
    """``value`` as an ``int``, or a clear error.

    Parameters
    ----------
    name : str
        The setting's name, for the message.
    value : object
        A Python or NumPy integer; a bool, a float (even ``2000.0``) or
        anything else is refused.
    at_least : int, optional
        The smallest value allowed.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        When ``value`` is not a whole number.
    ValueError
        When it is below ``at_least``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a whole number, not {value!r}: True and False are not counts")
    if not is_whole(value):
        raise TypeError(
            f"{name} must be a whole number, got {value!r} ({type(value).__name__}); write it without a decimal point"
        )
    if at_least is not None and value < at_least:
        raise ValueError(f"{name} must be {'zero or more' if at_least == 0 else f'at least {at_least}'}, got {value}")
    return int(value)
