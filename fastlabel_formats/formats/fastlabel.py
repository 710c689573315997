"""FastLabel task JSON itself (a JSON array, a ``.jsonl`` file or a folder of page files)."""

from __future__ import annotations

from pathlib import Path

from ..tasks import load_tasks
from . import Format


def read_fastlabel(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a FastLabel JSON file."""
    return list(load_tasks(source)[0])


def detect_fastlabel(path: Path) -> float:
    """A JSON or JSON Lines file that no other format claims (the fallback)."""
    return 0.1 if path.is_file() and path.suffix.lower() in (".json", ".jsonl", ".ndjson") else 0.0


FORMAT = Format(name="fastlabel", summary="FastLabel task JSON", read=read_fastlabel, detect=detect_fastlabel,
                source_help="JSON file holding a list of FastLabel tasks")
