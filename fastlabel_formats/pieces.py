"""Split tasks are named ``<prefix>/<n>.<ext>`` (n = 1, 2, …); the merged task is ``<prefix>.<ext>``.
The naming rules shared by image tiles, audio and video pieces."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from .errors import FormatError
from .tasks import check_task
from .validation import is_number

TIME_DECIMALS = 6


MISSING_SHOWN = 10  # missing piece numbers named in the error (never a range of the largest n)


def pieces(tasks: Sequence[dict], prefix: str) -> list[tuple[int, dict]]:
    """``(n, task)`` of the tasks named ``<prefix>/<n>.<ext>``, by n; FormatError unless n is 1..N."""
    if not isinstance(prefix, str) or not prefix.strip("/") or "\x00" in prefix:
        raise FormatError(f"prefix must be a task name without its extension, got {prefix!r:.80}")
    if isinstance(tasks, (str, bytes, dict)) or not isinstance(tasks, Sequence):
        raise FormatError(f"{prefix}: expected a list of tasks, got {type(tasks).__name__}")
    pattern = re.compile(re.escape(prefix.rstrip("/")) + r"/([1-9][0-9]*)(\.[^/]*)?$")
    found: dict[int, dict] = {}
    for position, task in enumerate(tasks):
        check_task(task, position, prefix)
        match = pattern.match(task["name"])
        if match:
            number = int(match.group(1))
            if number in found:
                raise FormatError(f"{prefix}: piece {number} is given twice ({task['name']!r})")
            found[number] = task
    if not found:
        raise FormatError(f"{prefix}: no task named {prefix}/<n>.<ext>")
    if max(found) != len(found):  # n must cover 1..N: a gap means pieces are missing
        missing = [n for n in range(1, min(max(found), len(found) + MISSING_SHOWN) + 1) if n not in found]
        raise FormatError(f"{prefix}: {max(found) - len(found):,} piece(s) are missing from 1..{max(found):,} "
                          f"(e.g. {missing[:MISSING_SHOWN]})")
    return sorted(found.items())


def piece_sizes(values: object, what: str, integral: bool = False) -> list:
    """``values`` (durations, frame counts) as a list of finite numbers >= 0, whole numbers with
    ``integral``; FormatError naming the piece otherwise."""
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Sequence):
        raise FormatError(f"{what} must be a list of numbers, got {type(values).__name__}")
    for number, value in enumerate(values, 1):
        if not is_number(value) or isinstance(value, bool) or value < 0 or (integral and int(value) != value):
            raise FormatError(f"{what}: piece {number} has {value!r:.40}, not a {'whole ' * integral}number >= 0")
    return [int(value) for value in values] if integral else list(values)


def merged_name(prefix: str, first: dict) -> str:
    """``<prefix>.<ext of piece 1>``."""
    return prefix.rstrip("/") + posixpath.splitext(first["name"])[1]


def rounded(value: float) -> int | float:
    """``value`` rounded to 6 decimals, an int when integral (times and merged coordinates)."""
    value = round(value, TIME_DECIMALS)
    return int(value) if float(value).is_integer() else value


def piece_name(task: dict, number: int) -> str:
    """``<name without extension>/<number><extension>``: the name of a piece of ``task``."""
    stem, extension = posixpath.splitext(task["name"])
    return f"{stem}/{number}{extension}"
