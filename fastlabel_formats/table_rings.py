"""The geometry of the rows a reader made, laid out once where the reader reads them (:class:`ReadRings`):
the table of a chunk of those rows takes its rings as a slice of it instead of flattening the rows'
points again.

A reader that makes bbox, polygon and segmentation rows itself (COCO's common records) lays out their
points block by block with :func:`laid_out` (the same numbers, in the same layout, as
:func:`fastlabel_formats.table.gather` gives them) and stores the blocks in the order of its tasks with
:func:`read_rings`; the YOLO reader gives the corners of the box rows it read at once with
:func:`box_rings`. A chunk whose tasks or rows are not the store's as made (or not all laid out)
makes its table the usual way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import is_, itemgetter

import numpy as np

from . import validation
from .geometry import Rings, offsets, span_indices

KIND_CODES = {"bbox": 0, "polygon": 1, "segmentation": 2}  # the kinds a reader lays out


@dataclass(frozen=True)
class LaidOut:
    """One block of rows laid out: their points as flat ``(x, y)`` pairs, each ring's number of
    points, each row's number of rings and kind (its :data:`KIND_CODES` code)."""

    coords: np.ndarray
    ring_sizes: np.ndarray
    row_rings: np.ndarray
    kind_codes: np.ndarray


def laid_out(kinds: Sequence[str], points: Sequence[list]) -> LaidOut | None:
    """The rows of ``kinds`` (bbox, polygon, segmentation of one ring per region) with ``points``
    (numbers the reader checked) laid out, or None when some row's layout or numbers are not what a
    table takes (then its table finds and names them)."""
    row_rings = [[p] if k != "segmentation" else [r for region in p for r in region] for k, p in zip(kinds, points)]
    if any(len(region) != 1 for k, p in zip(kinds, points) if k == "segmentation" for region in p):
        return None  # holes, or an empty region
    rings = list(chain.from_iterable(row_rings))
    ring_values = np.fromiter(map(len, rings), np.int64, len(rings))
    counts = np.fromiter(map(len, row_rings), np.int64, len(row_rings))
    codes = np.fromiter(map(KIND_CODES.get, kinds, repeat(-1)), np.int64, len(kinds))
    ring_kinds = np.repeat(codes, counts)
    if (ring_kinds < 0).any() or (ring_values % 2).any() or (ring_values < 2).any() \
            or ((ring_kinds == 0) & (ring_values != 4)).any() or (ring_values > 2 * validation.MAX_RING_VERTICES).any():
        return None
    try:  # numbers (checked by the reader): fromiter converts them as array("d") does
        values = np.fromiter(chain.from_iterable(rings), np.float64, int(ring_values.sum()))
    except (TypeError, ValueError, OverflowError):
        return None
    if not np.isfinite(values).all():
        return None
    return LaidOut(values.reshape(-1, 2), ring_values // 2, counts, codes)


def row_bounds(block: LaidOut) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest ``(x, y)`` of each row of a block."""
    point_starts, row_starts = offsets(block.ring_sizes), offsets(block.row_rings)[:-1]
    firsts = point_starts[row_starts]
    return np.minimum.reduceat(block.coords, firsts), np.maximum.reduceat(block.coords, firsts)


@dataclass(frozen=True)
class ReadRings:
    """The rows of a reader's ``tasks`` in task order (``annotations``, their ``kinds`` and ``points``),
    with their rings: row ``r``'s rings are ``row_ring_offsets[r]:row_ring_offsets[r+1]``, ring ``i``'s
    points ``coords[ring_offsets[i]:ring_offsets[i+1]]``; task ``t``'s rows ``first_rows[t]:first_rows[t+1]``.
    Rows not laid out have no rings (``held`` False)."""

    tasks: list
    task_numbers: dict  # id() of each task -> its position
    first_rows: np.ndarray
    annotations: list
    kinds: list
    points: list
    values: list
    held: np.ndarray
    kind_codes: np.ndarray
    coords: np.ndarray
    ring_offsets: np.ndarray
    row_ring_offsets: np.ndarray
    key_counts: np.ndarray  # how many keys each annotation had (a key added since: not as made)

    def __reduce__(self):
        return (_left_behind, ())  # another process has other objects: its tables are made the usual way

    def rows_of(self, tasks: Sequence[dict]) -> tuple[int, int] | None:
        """The rows of ``tasks`` (consecutive tasks of the store, as made) as a range, or None."""
        first = self.task_numbers.get(id(tasks[0])) if tasks else None
        if first is None or not all(map(is_, tasks, self.tasks[first:first + len(tasks)])):
            return None
        return int(self.first_rows[first]), int(self.first_rows[first + len(tasks)])

    def columns(self, rows: tuple[int, int], annotations: Sequence[dict], geometry: frozenset
                ) -> tuple[list, list, Rings, dict] | None:
        """The kinds, points and rings (those of the ``geometry`` types) of the ``rows`` range, whose
        annotations are ``annotations`` (as made), as :func:`~fastlabel_formats.table.gather` gives
        them, and the derived columns they know (see :func:`known_columns`); None when the rows are
        not those annotations or not all laid out."""
        start, end = rows
        if len(annotations) != end - start or not self.held[start:end].all() \
                or not self.unchanged(annotations, start, end):
            return None
        taken = np.array([kind in geometry for kind in KIND_CODES], bool)[self.kind_codes[start:end]]
        counts = np.where(taken, np.diff(self.row_ring_offsets[start:end + 1]), 0)
        ring_ids = span_indices(self.row_ring_offsets[start:end], counts)
        sizes = np.diff(self.ring_offsets)[ring_ids]
        coords = self.coords[span_indices(self.ring_offsets[ring_ids], sizes)]
        rings = Rings(coords, offsets(sizes), offsets(counts), np.zeros(len(ring_ids), bool))
        return self.kinds[start:end], self.points[start:end], rings, known_columns(self.values[start:end])


    def unchanged(self, annotations: Sequence[dict], start: int, end: int) -> bool:
        """Whether ``annotations`` are rows ``start:end`` as made: the same dicts, holding the same
        keys, point lists, types and values (a caller that changed one gets its table made the usual
        way; the numbers inside a point list are the caller's to leave as read)."""
        try:
            return all(map(is_, annotations, self.annotations[start:end])) \
                and list(map(len, annotations)) == self.key_counts[start:end].tolist() \
                and all(map(is_, map(_POINTS, annotations), self.points[start:end])) \
                and list(map(_TYPE, annotations)) == self.kinds[start:end] \
                and list(map(_VALUE, annotations)) == self.values[start:end]
        except KeyError:
            return False


_POINTS, _TYPE, _VALUE = itemgetter("points"), itemgetter("type"), itemgetter("value")


def _left_behind() -> None:
    """What a :class:`ReadRings` is in another process."""
    return None


def known_columns(values: list) -> dict:
    """The derived columns (:mod:`fastlabel_formats.columns`, by name) of rows a reader made with
    ``values``, points and no rotation: known without reading the rows again."""
    return {"value_codes": value_codes_of(values), "rotations": np.zeros(len(values)),
            "has_points": np.ones(len(values), bool)}


def value_codes_of(values: list) -> tuple[np.ndarray, list]:
    """Per value its position in the dictionary of distinct ``values`` (in order of first appearance),
    and that dictionary; -1 for a value that cannot be a key (a list)."""
    try:
        number_of = {value: number for number, value in enumerate(dict.fromkeys(values))}
    except TypeError:  # some value cannot be a key: one by one
        return _value_codes_each(values)
    return np.fromiter(map(number_of.__getitem__, values), np.int64, len(values)), list(number_of)


def _value_codes_each(values: list) -> tuple[np.ndarray, list]:
    dictionary: dict = {}
    codes = np.empty(len(values), np.int64)
    for row, value in enumerate(values):
        try:
            codes[row] = dictionary.setdefault(value, len(dictionary))
        except TypeError:  # unhashable: no class can match it
            codes[row] = -1
    return codes, list(dictionary)


def read_rings(made: list[dict], columns: tuple[list, list, list], blocks: list[tuple[int, LaidOut]],
               tasks: list[dict]) -> ReadRings | None:
    """The store of ``tasks``, whose annotations are rows the reader made (``made``, in the order it
    made them, with their ``columns``: kinds, points and values; ``blocks`` the laid out ones, each
    with its first row); None when some annotation of ``tasks`` is not one of ``made``."""
    held, row_rings, codes = np.zeros(len(made), bool), np.zeros(len(made), np.int64), np.zeros(len(made), np.int64)
    for first, block in blocks:
        end = first + len(block.row_rings)
        held[first:end], row_rings[first:end], codes[first:end] = True, block.row_rings, block.kind_codes
    ring_sizes = np.concatenate([np.zeros(0, np.int64), *(block.ring_sizes for _, block in blocks)])
    coords = np.concatenate([np.zeros((0, 2)), *(block.coords for _, block in blocks)])
    annotations = list(chain.from_iterable(task["annotations"] for task in tasks))
    order = _made_rows(annotations, made)
    if order is None:
        return None
    kinds, points, values = columns
    if len(order) != len(made) or (order != np.arange(len(made))).any():  # not in the order made: reorder
        ring_ids = span_indices(offsets(row_rings)[:-1][order], row_rings[order])
        coords = coords[span_indices(offsets(ring_sizes)[:-1][ring_ids], ring_sizes[ring_ids])]
        held, codes, row_rings, ring_sizes = held[order], codes[order], row_rings[order], ring_sizes[ring_ids]
        kinds, points, values = ([column[row] for row in order.tolist()] for column in (kinds, points, values))
    lengths = np.fromiter((len(task["annotations"]) for task in tasks), np.int64, len(tasks))
    return ReadRings(list(tasks), {id(task): number for number, task in enumerate(tasks)}, offsets(lengths),
                     annotations, kinds, points, values, held, codes, coords, offsets(ring_sizes),
                     offsets(row_rings), np.fromiter(map(len, annotations), np.int64, len(annotations)))


def box_rings(tasks: list[dict], boxes: np.ndarray, first_rows: np.ndarray) -> ReadRings:
    """The store of ``tasks`` whose annotations the reader made, the rows of task ``t`` (when
    ``first_rows[t] >= 0``) bboxes of corners ``boxes[first_rows[t]:]`` (x1, y1, x2, y2 each, as many
    as its annotations); the rows of other tasks are not laid out."""
    annotations = list(chain.from_iterable(task["annotations"] for task in tasks))
    lengths = np.fromiter((len(task["annotations"]) for task in tasks), np.int64, len(tasks))
    laid = first_rows >= 0
    held = np.repeat(laid, lengths)
    coords = boxes[span_indices(first_rows[laid], lengths[laid])].reshape(-1, 2)
    try:
        kinds, points, values = (list(map(column, annotations)) for column in (_TYPE, _POINTS, _VALUE))
    except KeyError:  # some annotation without one of them
        kinds, points, values = ([row.get(key) for row in annotations] for key in ("type", "points", "value"))
    return ReadRings(list(tasks), {id(task): number for number, task in enumerate(tasks)}, offsets(lengths),
                     annotations, kinds, points, values, held, np.zeros(len(annotations), np.int64), coords,
                     offsets(np.full(len(coords) // 2, 2, np.int64)), offsets(held.astype(np.int64)),
                     np.fromiter(map(len, annotations), np.int64, len(annotations)))


def _made_rows(annotations: list[dict], made: list[dict]) -> np.ndarray | None:
    """The row in ``made`` of each of ``annotations``; None when one is not in it."""
    if len(annotations) == len(made) and all(map(is_, annotations, made)):
        return np.arange(len(made))  # (in the order made: every task's annotations made at once)
    made_ids = np.fromiter(map(id, made), np.int64, len(made))
    ids = np.fromiter(map(id, annotations), np.int64, len(annotations))
    if not len(made):
        return None if len(ids) else np.zeros(0, np.int64)
    by_id = np.argsort(made_ids)
    rows = by_id[np.minimum(np.searchsorted(made_ids[by_id], ids), len(made) - 1)]
    return rows if (made_ids[rows] == ids).all() else None
