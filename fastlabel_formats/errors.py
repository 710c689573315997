"""The one exception type of the core."""

from __future__ import annotations


class FormatError(ValueError):
    """Bad input or an impossible conversion; the message names the file, task and annotation."""


def where(source: str, task_name: object, index: int | None = None, kind: object = None) -> str:
    """A location such as ``tasks.json: task 'a.jpg' annotation #3 (bbox)``."""
    text = f"{source}: task {task_name!r}"
    if index is not None:
        text += f" annotation #{index}"
        if kind is not None:
            text += f" ({kind})"
    return text
