"""Numbers of text formats written in one call: orjson writes an int as ``str()`` does, and a float as
``repr()`` does when it is 0 or between 1e-4 and 1e16 in size (neither then uses an exponent)."""

from __future__ import annotations

import numpy as np
import orjson

from ..geometry import integral_to_int


def plain_sizes(values: np.ndarray) -> bool:
    """Whether every value is 0 or between 1e-4 and 1e16 in size (not NaN nor infinite)."""
    sizes = np.abs(values[values != 0])
    return bool((sizes >= 1e-4).all() and (sizes < 1e16).all())


def row_texts(rows: list[list], separator: str) -> list[str]:
    """``separator.join(map(str, row))`` of each of ``rows`` (ints and floats, rows of one length),
    all in one call when their sizes allow it."""
    if rows and plain_sizes(np.array(rows, np.float64)):
        text = orjson.dumps(rows).decode()[2:-2]
        if separator != ",":
            text = text.replace(",", separator)
        return text.split(f"]{separator}[")
    return [separator.join(map(str, row)) for row in rows]


def flat_texts(values: list) -> list[str] | None:
    """``str`` of each of ``values`` (ints and floats below 2**53 in size; an integral float written as
    an int), or None when one is not such a number."""
    if not values or not set(map(type, values)) <= {int, float}:
        return None
    array = np.array(values, np.float64)
    if not plain_sizes(array) or not (np.abs(array) < 2.0**53).all():
        return None
    return orjson.dumps(integral_to_int(array)).decode()[1:-1].split(",")

