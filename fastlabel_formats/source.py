"""Where tasks come from, streamed: a JSON array of any size, JSON Lines, a folder of page files,
or any iterable of task dicts. Memory depends on the block size, not on the project.

A JSON array is cut at the boundaries of its top-level elements (found with numpy over a block of
bytes: quotes, escapes, brackets and commas outside strings) and each block of whole elements is
parsed by orjson in one call: about twice as fast as ijson's C backend on task JSON, with orjson's
exact numbers and messages.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from .errors import FormatError
from .tasks import TaskList, check_task

BLOCK_BYTES = 8 << 20
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_STRUCTURAL = np.zeros(256, bool)
_STRUCTURAL[[ord(c) for c in '[]{}"']] = True
_DELTA = np.zeros(256, np.int64)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1


def is_remote(path: object) -> bool:
    """A path with a protocol (``s3://``, ``memory://``, …), opened through fsspec."""
    return isinstance(path, str) and "://" in path


def open_binary(path: str | os.PathLike[str], mode: str = "rb"):
    """A binary file object of a local or fsspec path."""
    if is_remote(path):
        try:
            import fsspec
        except ImportError:
            raise FormatError(f"{path}: paths with a protocol need fsspec: "
                              "pip install 'fastlabel-formats[dask]'") from None
        return fsspec.open(str(path), mode).open()
    return open(path, mode)


@dataclass
class TaskSource:
    """Tasks to convert: ``iter()`` yields every task, checked, in order; ``name`` is for messages.

    ``reiterable`` is False for a one-shot iterable: :meth:`replayable` then spools it to a
    temporary JSON Lines file so that a second pass can read it again.
    """

    name: str
    items: object
    kind: str

    @property
    def reiterable(self) -> bool:
        return self.kind != "iterable"

    def __iter__(self) -> Iterator[dict]:
        readers = {"list": iter, "iterable": iter, "array": _array_tasks, "jsonl": _jsonl_tasks,
                   "pages": _page_tasks}
        for position, task in enumerate(readers[self.kind](self.items)):
            check_task(task, position, self.name)
            yield task

    def replayable(self, spool_dir: str | None = None) -> TaskSource:
        """This source, or for a one-shot iterable a source over a spooled copy (read once now)."""
        if self.reiterable:
            return self
        handle, path = tempfile.mkstemp(prefix="fastlabel-spool-", suffix=".jsonl", dir=spool_dir)
        with os.fdopen(handle, "wb") as stream:
            for task in self:
                stream.write(orjson.dumps(task) + b"\n")
        return _SpooledSource(self.name, path, "jsonl")


class _SpooledSource(TaskSource):
    """A spooled one-shot iterable; the file goes when the source does."""

    def __del__(self) -> None:
        try:
            os.unlink(self.items)
        except OSError:
            pass


def task_source(tasks: object) -> TaskSource:
    """The :class:`TaskSource` of a task list, a path (JSON array or single task, ``.jsonl``, a
    folder of ``*.json`` / ``*.jsonl`` pages, local or fsspec) or any iterable of task dicts."""
    if isinstance(tasks, TaskSource):
        return tasks
    if isinstance(tasks, TaskList):
        return TaskSource(tasks.source, tasks, "list")
    if isinstance(tasks, dict):
        return TaskSource("tasks", [tasks], "list")
    if isinstance(tasks, (str, os.PathLike)):
        return _path_source(tasks)
    if isinstance(tasks, Sequence):
        return TaskSource("tasks", tasks, "list")
    if isinstance(tasks, Iterable):
        return TaskSource("tasks", tasks, "iterable")
    raise FormatError(f"tasks: expected a list of tasks, a path or an iterable, got {type(tasks).__name__}")


def _path_source(path: str | os.PathLike[str]) -> TaskSource:
    name = str(path)
    if not is_remote(path) and Path(path).is_dir():
        pages = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in (".json", *JSONL_SUFFIXES))
        return TaskSource(name, pages, "pages")
    kind = "jsonl" if name.lower().endswith(JSONL_SUFFIXES) else "array"
    return TaskSource(name, path, kind)


def _page_tasks(pages: list[Path]) -> Iterator[dict]:
    for page in pages:
        yield from (_jsonl_tasks if page.suffix.lower() in JSONL_SUFFIXES else _array_tasks)(page)


def _read_failed(path: object, error: OSError) -> FormatError:
    return FormatError(f"{path}: cannot read tasks file ({error.strerror or error})")


def _jsonl_tasks(path: str | os.PathLike[str]) -> Iterator[dict]:
    """One task per non-blank line."""
    try:
        stream = open_binary(path)
    except OSError as error:
        raise _read_failed(path, error) from error
    with stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise FormatError(f"{path}: line {number}: not valid JSON: {error}") from None


def _array_tasks(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The elements of a top-level JSON array (or the one task of a top-level object)."""
    try:
        stream = open_binary(path)
    except OSError as error:
        raise _read_failed(path, error) from error
    with stream:
        head = stream.read(BLOCK_BYTES)
        if len(head) < BLOCK_BYTES or not head.lstrip()[:1] == b"[":  # small, or not an array: at once
            data = _loads(head + stream.read(), path)
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise FormatError(f"{path}: expected a list of tasks, got {type(data).__name__}")
            yield from data
            return
        yield from ArrayReader(stream, path, head).elements()


def _loads(data: bytes, path: object) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise FormatError(f"{path}: not valid JSON: {error}") from None


class ArrayReader:
    """The elements of a large top-level JSON array, a block of whole elements at a time."""

    def __init__(self, stream: BinaryIO, path: object, head: bytes) -> None:
        self.stream, self.path = stream, path
        self.pending = head[head.index(b"[") + 1:]
        self.consumed = len(head) - len(self.pending)  # bytes of the file before ``pending``
        self.lines = head[:self.consumed].count(b"\n")  # newlines before ``pending``
        self.count = 0  # elements yielded so far

    def elements(self) -> Iterator[object]:
        ended = False
        while not ended:
            cut, ended = element_cut(self.pending)
            while cut is None:
                more = self.stream.read(max(BLOCK_BYTES, len(self.pending)))
                if not more:
                    raise self._truncated()
                self.pending += more
                cut, ended = element_cut(self.pending)
            yield from self._parse(self.pending[:cut])
            self._advance(cut + 1 if ended else cut)
        if self.pending.strip() or self.stream.read(1).strip():
            raise FormatError(f"{self.path}: not valid JSON: data after the end of the array "
                              f"(line {self.lines + 1})")

    def _advance(self, size: int) -> None:
        self.lines += self.pending.count(b"\n", 0, size)
        self.consumed += size
        self.pending = self.pending[size:]

    def _parse(self, block: bytes) -> list:
        body = block.lstrip()
        if body[:1] == b",":
            body = body[1:]
        if not body.strip():
            return []
        try:
            elements = orjson.loads(b"[" + body + b"]")
        except orjson.JSONDecodeError:
            raise self._locate_error(block) from None
        self.count += len(elements)
        return elements

    def _locate_error(self, block: bytes) -> FormatError:
        """The message of the first element of ``block`` that does not parse."""
        start = 0
        for number, end in enumerate([*top_level_ends(block).tolist(), len(block)]):
            element = block[start:end]
            if element.lstrip()[:1] == b",":  # the separator before it, blanked (lines unchanged)
                element = element.replace(b",", b" ", 1)
            try:
                orjson.loads(element)
            except orjson.JSONDecodeError as error:
                line = self.lines + block.count(b"\n", 0, start) + error.lineno
                return FormatError(f"{self.path}: task #{self.count + number}: not valid JSON: {error.msg} "
                                   f"(line {line} column {error.colno})")
            start = end
        return FormatError(f"{self.path}: not valid JSON near line {self.lines + 1}")

    def _truncated(self) -> FormatError:
        lines = self.lines + self.pending.count(b"\n")
        return FormatError(f"{self.path}: not valid JSON: the array is cut off after task "
                           f"#{self.count + top_level_ends(self.pending).size - 1} "
                           f"(file ends at line {lines + 1}, byte {self.consumed + len(self.pending)})")


def _structure(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the brackets outside strings and the nesting depth after each, relative to
    ``data``'s start (0 = directly inside the top-level array)."""
    codes = np.frombuffer(data, np.uint8)
    positions = np.flatnonzero(_STRUCTURAL[codes])
    quotes = codes[positions] == 34
    if data.find(b"\\") >= 0:  # rare in task JSON: drop the quotes preceded by an odd run of backslashes
        escaped = np.flatnonzero(quotes & (positions > 0) & (codes[np.maximum(positions - 1, 0)] == 92))
        for index in escaped.tolist():
            position = int(positions[index]) - 1
            run = position - len(data[:position + 1].rstrip(b"\\")) + 1
            quotes[index] = run % 2 == 0
    outside = ((np.cumsum(quotes) & 1) == 0) & ~quotes
    positions = positions[outside]
    return positions, np.cumsum(_DELTA[codes[positions]])


def top_level_ends(data: bytes) -> np.ndarray:
    """Positions just after each top-level element of ``data`` that is an object or array."""
    positions, depth = _structure(data)
    return positions[(depth == 0) & (_DELTA[np.frombuffer(data, np.uint8)[positions]] < 0)] + 1


def element_cut(data: bytes) -> tuple[int | None, bool]:
    """Where ``data`` (the inside of a top-level array, from an element's start) can be cut after
    whole elements: just after the last element that ends in it, or at the array's closing
    bracket; and whether it is the closing bracket. ``(None, False)`` when no element ends."""
    positions, depth = _structure(data)
    closing = np.flatnonzero(depth < 0)
    if closing.size:
        return int(positions[closing[0]]), True
    ends = positions[(depth == 0) & (_DELTA[np.frombuffer(data, np.uint8)[positions]] < 0)]
    return (int(ends[-1]) + 1, False) if ends.size else (None, False)
