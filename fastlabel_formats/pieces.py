"""Split tasks are named ``<prefix>/<n>.<ext>`` (n = 1, 2, …); the merged task is ``<prefix>.<ext>``
(``formats-spec.md`` §13). The naming rules shared by image tiles, audio and video pieces."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from .errors import FormatError

TIME_DECIMALS = 6


def pieces(tasks: Sequence[dict], prefix: str) -> list[tuple[int, dict]]:
    """``(n, task)`` of the tasks named ``<prefix>/<n>.<ext>``, by n; FormatError unless n is 1..N."""
    pattern = re.compile(re.escape(prefix.rstrip("/")) + r"/([1-9][0-9]*)(\.[^/]*)?$")
    found: dict[int, dict] = {}
    for task in tasks:
        match = pattern.match(str(task.get("name", "")))
        if match:
            number = int(match.group(1))
            if number in found:
                raise FormatError(f"{prefix}: piece {number} is given twice ({task['name']!r})")
            found[number] = task
    if not found:
        raise FormatError(f"{prefix}: no task named {prefix}/<n>.<ext>")
    missing = sorted(set(range(1, max(found) + 1)) - set(found))
    if missing:
        raise FormatError(f"{prefix}: pieces {missing} are missing (found 1..{max(found)} without them)")
    return sorted(found.items())


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
