"""Where tasks come from, streamed: a JSON array of any size, JSON Lines, a folder of page files,
or any iterable of task dicts. Memory depends on the block size, not on the project.

A JSON array is cut at the boundaries of its top-level elements (found with numpy in one
streaming pass over the file: quotes, escapes and brackets outside strings), JSON Lines at line
ends; whoever cuts holds no task, only SCAN_BYTES at a time. Each block of whole elements is
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
from .files import is_remote, open_binary, read_range, regular_file_bytes
from .tasks import TaskList, check_task

BLOCK_BYTES = 8 << 20  # of input per block (at least, when whole tasks allow)
SCAN_BYTES = 1 << 20  # read at a time to find where a block ends (the scan's memory is a few times this)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_DELTA = np.zeros(256, np.int64)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1


BLOCK_ROWS = 16384  # annotations per block of an in-memory task list


@dataclass
class TaskBlock:
    """A run of whole tasks of the input: the unit that worker processes read and convert.

    ``kind`` says what it holds: ``list`` (task dicts), ``document`` (a whole JSON file: an array
    or one task), ``array`` (the bytes of consecutive elements of a large top-level array) or
    ``jsonl`` (whole lines). File blocks are byte ranges, read where the block is processed (a
    worker on another machine reads them through fsspec); list blocks travel as JSON (``packed``),
    parsed by :meth:`tasks`.
    """

    source: str
    kind: str
    first_task: int
    count: int
    items: list | None = None
    path: str = ""
    offset: int = 0
    length: int = -1
    first_line: int = 1

    def tasks(self, check: bool = True) -> list[dict]:
        """The block's tasks, parsed and (``check``) checked: FormatError naming file, task and line."""
        tasks = self.items if self.kind == "list" else _BLOCK_READERS[self.kind](self, self._bytes())
        if check:
            for position, task in enumerate(tasks, self.first_task):
                check_task(task, position, self.source)
        return tasks

    def _bytes(self) -> bytes:
        if self.kind == "packed":
            return self.items[0]
        try:
            return read_range(self.path, self.offset, None if self.length < 0 else self.offset + self.length)
        except OSError as error:
            raise _read_failed(self.path, error) from error

    def __reduce__(self):
        if self.kind != "list":
            return (TaskBlock, tuple(self.__dict__.values()))
        try:
            packed = orjson.dumps(self.items)
        except TypeError:  # what JSON cannot hold travels as a plain pickle
            return (TaskBlock, tuple(self.__dict__.values()))
        return (_unpack_block, (self.source, self.first_task, self.count, packed))


def _unpack_block(source: str, first_task: int, count: int, packed: bytes) -> TaskBlock:
    return TaskBlock(source, "packed", first_task, count, [packed])  # parsed by tasks(), GC paused there


def _document_tasks(block: TaskBlock, data: bytes) -> list:
    parsed = _loads(data, block.path)
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise FormatError(f"{block.path}: expected a list of tasks, got {type(parsed).__name__}")
    return parsed


def _array_block_tasks(block: TaskBlock, data: bytes) -> list:
    body = data.lstrip()
    try:
        return orjson.loads(b"[" + (body[1:] if body[:1] == b"," else body) + b"]")
    except orjson.JSONDecodeError:
        raise locate_array_error(block, data) from None


def _jsonl_block_tasks(block: TaskBlock, data: bytes) -> list:
    tasks = []
    for number, line in enumerate(data.split(b"\n"), block.first_line):
        if line.strip():
            try:
                tasks.append(orjson.loads(line))
            except orjson.JSONDecodeError as error:
                raise FormatError(f"{block.path}: line {number}: not valid JSON: {error}") from None
    return tasks


_BLOCK_READERS = {"document": _document_tasks, "array": _array_block_tasks, "jsonl": _jsonl_block_tasks,
                  "packed": lambda block, data: orjson.loads(data)}


def locate_array_error(block: TaskBlock, data: bytes) -> FormatError:
    """The message of the first element of an array block that does not parse."""
    start = 0
    for number, end in enumerate([*top_level_ends(data).tolist(), len(data)], block.first_task):
        element = data[start:end]
        if element.lstrip()[:1] == b",":  # the separator before it, blanked (lines unchanged)
            element = element.replace(b",", b" ", 1)
        try:
            orjson.loads(element)
        except orjson.JSONDecodeError as error:
            line = block.first_line + data.count(b"\n", 0, start) + error.lineno - 1
            return FormatError(f"{block.path}: task #{number}: not valid JSON: {error.msg} "
                               f"(line {line} column {error.colno})")
        start = end
    return FormatError(f"{block.path}: not valid JSON near line {block.first_line}")


@dataclass
class TaskSource:
    """Tasks to convert, as :meth:`blocks` of whole tasks (or ``iter()``: every task, checked, in
    order); ``name`` is for messages.

    ``reiterable`` is False for a one-shot iterable: :meth:`replayable` then spools it to a
    temporary JSON Lines file so that a second pass can read it again.
    """

    name: str
    items: object
    kind: str

    @property
    def reiterable(self) -> bool:
        return self.kind != "iterable"

    def blocks(self, parse_up_to: int = 0) -> Iterator[TaskBlock]:
        """The input as consecutive blocks of whole tasks. A local JSON array file of at most
        ``parse_up_to`` bytes is parsed here at once and its tasks cut into blocks (its element
        boundaries need no scan; for a run that keeps its whole input parsed anyway)."""
        if self.kind == "iterable":
            raise TypeError("a one-shot iterable has no blocks; use replayable() first")
        if self.kind == "list":
            return _list_blocks(self.name, self.items)
        parsed = _parsed_whole(self.items, parse_up_to) if self.kind == "array" and parse_up_to else None
        if parsed is not None:
            return _list_blocks(self.name, parsed)
        if self.kind == "pages":
            return _page_blocks(self.name, self.items)
        return _file_blocks(self.name, str(self.items), self.kind, 0)

    def __iter__(self) -> Iterator[dict]:
        if self.kind == "iterable":
            for position, task in enumerate(self.items):
                check_task(task, position, self.name)
                yield task
            return
        for block in self.blocks():
            yield from block.tasks()

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


def _list_blocks(name: str, tasks: Sequence) -> Iterator[TaskBlock]:
    start = rows = 0
    for position, task in enumerate(tasks):
        annotations = task.get("annotations") if isinstance(task, dict) else None
        rows += 1 + (len(annotations) if isinstance(annotations, list) else 0)
        if rows >= BLOCK_ROWS:
            yield TaskBlock(name, "list", start, position + 1 - start, list(tasks[start:position + 1]))
            start, rows = position + 1, 0
    if start < len(tasks):
        yield TaskBlock(name, "list", start, len(tasks) - start, list(tasks[start:]))


def _parsed_whole(path: object, limit: int) -> list | None:
    """The tasks of a local JSON array file of at most ``limit`` bytes, parsed at once; None for any
    other file (or one that does not parse: the scanning reader names where)."""
    if is_remote(path):
        return None
    try:  # a pipe or a device is not waited on nor read: the scanning reader names what it is
        if os.stat(path).st_size > limit:  # (not read twice: the scanning reader reads it)
            return None
        data = regular_file_bytes(path, limit + 1)
    except (OSError, ValueError):  # (a NUL byte in the path) the scanning reader reports it
        return None
    if len(data) > limit:
        return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, list) else None


def _page_blocks(name: str, pages: list[Path]) -> Iterator[TaskBlock]:
    first_task = 0
    for page in pages:
        kind = "jsonl" if page.suffix.lower() in JSONL_SUFFIXES else "array"
        for block in _file_blocks(str(page), str(page), kind, first_task):
            first_task += block.count
            yield block


def _read_failed(path: object, error: OSError) -> FormatError:
    return FormatError(f"{path}: cannot read tasks file ({error.strerror or error})")


def _file_blocks(name: str, path: str, kind: str, first_task: int) -> Iterator[TaskBlock]:
    """Byte ranges of whole tasks of a JSON array or JSON Lines file (a file that is not an array
    is one ``document`` block)."""
    try:
        stream = open_binary(path)
    except OSError as error:
        raise _read_failed(path, error) from error
    with stream:
        head = stream.read(min(SCAN_BYTES, BLOCK_BYTES))
        while head.isspace() and (more := stream.read(min(SCAN_BYTES, BLOCK_BYTES))):
            head += more  # white space alone says nothing of the kind yet
        if kind == "jsonl":
            yield from _line_blocks(name, path, stream, head, first_task)
        elif head.lstrip()[:1] != b"[":  # one task, or not tasks at all: parsed whole, where it is read
            yield TaskBlock(name, "document", first_task, 1, None, path)
        else:
            for offset, length, count, first_line in ArrayReader(stream, path, head).ranges():
                yield TaskBlock(name, "array", first_task, count, None, path, offset, length, first_line)
                first_task += count


def _line_blocks(name: str, path: str, stream: BinaryIO, head: bytes, first_task: int) -> Iterator[TaskBlock]:
    """Byte ranges of whole lines, found reading SCAN_BYTES at a time (a block ends at the last
    line end once it holds BLOCK_BYTES, or at the end of the file; a line is never held whole)."""
    chunk, offset = head, 0  # the bytes read last and the file's bytes before them
    cut_at, cut_line, line, count, content = 0, 1, 1, 0, False  # content: the open line holds non-blank bytes
    while chunk:
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:  # each line that ends in this chunk
            count += content or bool(piece.strip())
            content = False
        content = content or bool(pieces[-1].strip())
        line += len(pieces) - 1
        end = offset + len(chunk) - len(pieces[-1])  # just after the last line end read
        if len(pieces) > 1 and end - cut_at >= BLOCK_BYTES:
            yield TaskBlock(name, "jsonl", first_task, count, None, path, cut_at, end - cut_at, cut_line)
            first_task, cut_at, cut_line, count = first_task + count, end, line, 0
        offset += len(chunk)
        chunk = stream.read(min(SCAN_BYTES, BLOCK_BYTES))
    count += content
    if offset > cut_at:
        yield TaskBlock(name, "jsonl", first_task, count, None, path, cut_at, offset - cut_at, cut_line)


def _loads(data: bytes, path: object) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise FormatError(f"{path}: not valid JSON: {error}") from None


class ArrayReader:
    """Element-aligned byte ranges of a large top-level JSON array, found in one streaming pass:
    the file is scanned SCAN_BYTES at a time with the state a cut needs carried from one read to
    the next (nesting depth, inside a string, trailing backslashes), so memory depends on the
    read size, never on the size of a task."""

    def __init__(self, stream: BinaryIO, path: object, head: bytes) -> None:
        self.stream, self.path = stream, path
        start = head.index(b"[") + 1
        self.chunk = head[start:]  # the bytes being scanned
        self.offset = start  # of the file before ``chunk``
        self.lines = head[:start].count(b"\n")  # newlines before ``chunk``
        self.count = 0  # elements in the ranges given so far
        self.state = ScanState()
        self.blank = True  # nothing but white space since the last cut

    def ranges(self) -> Iterator[tuple[int, int, int, int]]:
        """``(offset, length, element count, first line)`` of each block of whole elements (a block
        ends at the last element that ends once it holds BLOCK_BYTES, or at the array's end)."""
        cut_at, cut_line, elements = self.offset, self.lines + 1, 0  # the block being read
        while True:
            if not self.chunk and not self._read():
                raise self._truncated(elements)
            data = self.chunk
            positions, deltas, ends_in_string = _scan(data, self.state.in_string, self.state.backslashes)
            depth = np.cumsum(deltas) + self.state.depth
            ends = positions[(depth == 0) & (deltas < 0)] + 1
            closing = np.flatnonzero(depth < 0)
            if closing.size:  # the array's closing bracket
                cut = int(positions[closing[0]])
                elements += int(np.count_nonzero(ends <= cut))
                if not elements and not (self.blank and not data[:cut].strip()):
                    elements = 1  # one element, not an object or array
                if elements:
                    yield cut_at, self.offset + cut - cut_at, elements, cut_line
                self._check_end(cut)
                return
            elements += int(ends.size)
            if ends.size and self.offset + int(ends[-1]) - cut_at >= BLOCK_BYTES:
                cut = int(ends[-1])
                yield cut_at, self.offset + cut - cut_at, elements, cut_line
                self.count += elements
                cut_at, cut_line, elements = self.offset + cut, self.lines + data.count(b"\n", 0, cut) + 1, 0
                self.blank = not data[cut:].strip()
            else:
                self.blank = self.blank and not data.strip()
            self.state = self.state.after(data, depth, ends_in_string)
            self._read()

    def _read(self) -> bool:
        """Move past ``chunk`` to the next SCAN_BYTES of the file; False at its end."""
        self.lines += self.chunk.count(b"\n")
        self.offset += len(self.chunk)
        self.chunk = self.stream.read(min(SCAN_BYTES, BLOCK_BYTES))
        return bool(self.chunk)

    def _check_end(self, closing: int) -> None:
        """FormatError when anything but white space follows the array's closing bracket."""
        rest = self.chunk[closing + 1:]
        while not rest.strip():
            rest = self.stream.read(min(SCAN_BYTES, BLOCK_BYTES))
            if not rest:
                return
        line = self.lines + self.chunk.count(b"\n", 0, closing + 1) + 1
        raise FormatError(f"{self.path}: not valid JSON: data after the end of the array (line {line})")

    def _truncated(self, pending: int) -> FormatError:
        """The message of an array that ends before its closing bracket (``pending``: elements
        read since the last range)."""
        complete = self.count + pending
        where = f"after task #{complete - 1}" if complete else "before its first task ended"
        return FormatError(f"{self.path}: not valid JSON: the array is cut off {where} "
                           f"(file ends at line {self.lines + 1}, byte {self.offset})")


@dataclass(frozen=True)
class ScanState:
    """Where a scan of JSON stands between two reads: the nesting depth (0: directly inside the
    top-level array), whether it is inside a string, and how many backslashes end the last read."""

    depth: int = 0
    in_string: bool = False
    backslashes: int = 0

    def after(self, data: bytes, depth: np.ndarray, in_string: bool) -> ScanState:
        """The state at the end of ``data`` (scanned from this state by :func:`_scan`: its depths
        made absolute, and whether it ends inside a string)."""
        trailing = len(data) - len(data.rstrip(b"\\"))
        return ScanState(int(depth[-1]) if depth.size else self.depth, in_string,
                         trailing + (self.backslashes if trailing == len(data) else 0))


def _escaped(data: bytes, quotes: np.ndarray, backslashes: int) -> np.ndarray:
    """Which of the ``quotes`` (positions in ``data``) follow an odd run of backslashes."""
    escaped = np.zeros(quotes.size, bool)
    codes = np.frombuffer(data, np.uint8)
    candidates = np.flatnonzero((quotes > 0) & (codes[np.maximum(quotes - 1, 0)] == 92) | (quotes == 0))
    for index in candidates.tolist():
        position = int(quotes[index]) - 1
        run = 0
        while position - run >= 0 and data[position - run] == 92:
            run += 1
        escaped[index] = (run + (backslashes if run == position + 1 else 0)) % 2 == 1
    return escaped


def _structure(data: bytes, in_string: bool = False, backslashes: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the brackets outside strings and the nesting depth after each, relative to
    ``data``'s start, for ``data`` that starts inside a string or not (``in_string``) after
    ``backslashes`` backslashes."""
    positions, deltas, _ = _scan(data, in_string, backslashes)
    return positions, np.cumsum(deltas)


def _scan(data: bytes, in_string: bool = False, backslashes: int = 0) -> tuple[np.ndarray, np.ndarray, bool]:
    """:func:`_structure`'s positions with the depth change at each (+1 opening, -1 closing), and
    whether ``data`` ends inside a string."""
    codes = np.frombuffer(data, np.uint8)
    folded = codes | 0x20  # "[" -> "{", "]" -> "}": three comparisons, far faster than a table lookup
    positions = np.flatnonzero((folded == 0x7B) | (folded == 0x7D) | (codes == 0x22))
    quotes = codes[positions] == 34
    if data.find(b"\\") >= 0 or backslashes % 2:  # rare in task JSON: escaped quotes are not quotes
        quoted = np.flatnonzero(quotes)
        quotes[quoted[_escaped(data, positions[quoted], backslashes)]] = False
    # parity survives the wrap-around of the uint8 sum
    parity = np.cumsum(quotes, dtype=np.uint8) + np.uint8(in_string)
    outside = ((parity & 1) == 0) & ~quotes
    positions = positions[outside]
    return positions, _DELTA[codes[positions]], bool(parity[-1] & 1) if parity.size else in_string


def top_level_ends(data: bytes) -> np.ndarray:
    """Positions just after each top-level element of ``data`` that is an object or array."""
    positions, depth = _structure(data)
    return positions[(depth == 0) & (_DELTA[np.frombuffer(data, np.uint8)[positions]] < 0)] + 1


def element_cut(data: bytes) -> tuple[int | None, bool, int]:
    """Where ``data`` (the inside of a top-level array, from an element's start) can be cut after
    whole elements: just after the last element that ends in it, or at the array's closing
    bracket; whether it is the closing bracket; and how many elements come before the cut.
    ``(None, False, 0)`` when no element ends."""
    positions, depth = _structure(data)
    ends = positions[(depth == 0) & (_DELTA[np.frombuffer(data, np.uint8)[positions]] < 0)]
    closing = np.flatnonzero(depth < 0)
    if closing.size:
        cut = int(positions[closing[0]])
        return cut, True, int(np.count_nonzero(ends < cut)) + bool(data[:cut].strip() and not ends.size)
    return (int(ends[-1]) + 1, False, int(ends.size)) if ends.size else (None, False, 0)
