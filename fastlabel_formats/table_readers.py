"""Tables from the readers' own rows.

A reader that makes every annotation of a task itself (COCO's common records, YOLO's box files)
knows them to be well-formed: it says so with :func:`vouch`. :func:`table_source` turns what it
read into a :class:`TableSource`, whose blocks give the run vouched-for chunks: their tables
take the reader's rows as they are (the object column, kinds and points) and check only the
coordinates, in bulk, instead of every annotation again. A chunk holding any task the reader did
not vouch for, or whose coordinates are not all fine, is built by
:func:`~fastlabel_formats.table.gather` as any task list is, so the tables (and every output) are
the same either way.

The tasks themselves stay what the readers returned (name, size and the annotation list the
reader filled): they are what the public ``*_tasks`` / ``*_to_fastlabel`` functions and the
FastLabel writer hand out, and what a run's survey counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from itertools import repeat

from .source import TaskBlock, TaskSource, _list_blocks
from .table import TaskChunk
from .table_rings import ReadRings
from .tasks import check_task

_VOUCHED: ContextVar[list | None] = ContextVar("fastlabel_vouched", default=None)


@contextmanager
def collecting() -> Iterator[list]:
    """Collect what the readers called inside vouch for (``[(tasks, flags), ...]``)."""
    found: list = []
    token = _VOUCHED.set(found)
    try:
        yield found
    finally:
        _VOUCHED.reset(token)


def vouch(tasks: Sequence[dict], flags: Sequence[bool], rings: ReadRings | None = None) -> None:
    """Inside :func:`collecting`: ``flags[i]`` is True when the reader made every annotation of
    ``tasks[i]`` itself, well-formed (a string value, plain attributes, no keypoints or rotation,
    points of its type): its table needs to check only their coordinates (``rings``: the geometry of
    those tasks as the reader laid it out, when it did). The tasks must reach the caller as made (a
    function that changes them afterwards does not pass them on vouched for). Outside: nothing."""
    found = _VOUCHED.get()
    if found is not None:
        found.append((tasks, flags, rings))


def vouching() -> bool:
    """True inside :func:`collecting` (tables will be made of the tasks read)."""
    return _VOUCHED.get() is not None


def table_source(tasks: Sequence[dict], vouched: Iterable[tuple], name: str = "tasks") -> TableSource:
    """The source of ``tasks`` (as read), each flagged as its reader vouched for it (a task the
    reader did not make, or that was replaced since, is checked as any task is), with the geometry
    its reader laid out (see :func:`vouch`)."""
    made: dict = {}
    for listed, flags, *rings in vouched:
        made.update((id(task), rings[0] if rings else None) for task, flag in zip(listed, flags) if flag)
    return TableSource(name, list(tasks), "tables", [id(task) in made for task in tasks],
                       [made.get(id(task)) for task in tasks])


@dataclass
class TableSource(TaskSource):
    """Tasks as a reader made them, in blocks of whole tasks (cut as a task list is), with per
    task whether its reader vouched for its annotations. Iterating gives the tasks."""

    vouched: list = field(default_factory=list)
    rings: list = field(default_factory=list)  # per task the geometry its reader laid out (or None)

    def blocks(self, parse_up_to: int = 0) -> Iterator[TaskBlock]:
        for block in _list_blocks(self.name, self.items):  # already parsed: ``parse_up_to`` changes nothing
            end = block.first_task + block.count
            yield TableBlock(self.name, "tables", block.first_task, block.count, parsed=block.items,
                             vouched=self.vouched[block.first_task:end], rings=self.rings[block.first_task:end])

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"TableSource({self.name!r}, {len(self.items):,} tasks, {sum(self.vouched):,} vouched for)"

    def __iter__(self) -> Iterator[dict]:
        return iter(self.items)  # as a task list is (the run checks them, block by block)


# the most bytes of JSON (about 4 times as much in memory once parsed) that a run in this process
# keeps parsed from its survey for its build, so that the file is parsed once; a larger input is
# parsed again, block by block, as it streams
PARSED_BYTES = 40 << 20


def parsed_once(blocks: Iterable[TaskBlock], budget: int | None = None) -> Iterator[TaskBlock]:
    """``blocks``; those that are byte ranges of a file parsed here and kept parsed (as
    :class:`TableBlock` s) while all of them together fit ``budget`` bytes (default
    :data:`PARSED_BYTES`); once they do not, every block is released (read again when used)."""
    budget = PARSED_BYTES if budget is None else budget
    kept: list[TableBlock] = []
    for block in blocks:
        budget -= block.length if block.kind in ("array", "jsonl") else 0
        if block.kind not in ("array", "jsonl") or budget < 0:
            for table_block in kept:  # the input does not fit: stream it
                table_block.parsed = None
            kept.clear()
            yield block
            continue
        parsed = block.tasks(check=False)
        kept.append(TableBlock(**{f.name: getattr(block, f.name) for f in fields(block)}, parsed=parsed,
                               vouched=[False] * len(parsed)))
        yield kept[-1]


@dataclass
class TableBlock(TaskBlock):
    """A block of parsed tasks (of a :class:`TableSource`, or kept from a run's survey: read again
    once ``parsed`` is released) and which of them their reader vouched for."""

    parsed: list | None = None
    vouched: list = field(default_factory=list)
    rings: list = field(default_factory=list)  # see TableSource (None once sent to another process)

    def tasks(self, check: bool = True) -> list[dict]:
        if self.parsed is None:
            return super().tasks(check)
        if check:
            for position, task in enumerate(self.parsed, self.first_task):
                check_task(task, position, self.source)
        return self.parsed

    def __reduce__(self):
        return (TableBlock, tuple(self.__dict__.values()))

    def chunk(self, chunk: TaskChunk) -> TaskChunk:
        """``chunk`` (of this block's tasks), its table built from the rows when all are vouched for
        (with their geometry as the reader laid it out, when it did)."""
        if self.parsed is None or not any(self.vouched):
            return chunk
        made = {id(task): rings for task, flag, rings in zip(self.parsed, self.vouched, self.rings or repeat(None))
                if flag}
        if not all(id(task) in made for task in chunk.tasks):
            return replace(chunk, vouched=False)
        return replace(chunk, vouched=True, read_rings=_laid_out_rows(chunk, [made[id(task)] for task in chunk.tasks]))


def _laid_out_rows(chunk: TaskChunk, stores: list) -> tuple | None:
    """``(store, rows)`` of a chunk of whole image tasks whose rows one store laid out, else None."""
    store = stores[0] if stores else None
    if store is None or any(other is not store for other in stores) \
            or [frame.task for frame in chunk.frames] != list(range(len(chunk.tasks))) \
            or any(frame.key is not None for frame in chunk.frames):
        return None
    rows = store.rows_of(chunk.tasks)
    return None if rows is None else (store, rows)


def block_chunk(block: TaskBlock, chunk: TaskChunk) -> TaskChunk:
    """``chunk`` of ``block``'s tasks, vouched for when a :class:`TableBlock`'s reader vouched for all of them."""
    return block.chunk(chunk) if isinstance(block, TableBlock) else chunk
