"""COCO's common records read a block at a time (the columnar half of :mod:`fastlabel_formats.coco_import`).

A record is common (in the mode ``annotation_type=None``) when it names a category with a text value,
has plain attributes (values that are text, numbers, booleans or null), no keypoints, rotation, crowd
flag or RLE mask, and its geometry is one polygon, several polygons, the closed rectangle ring of a
box, or a lone ``bbox``. :func:`common_block` finds the common records of a block of records with a
few steps per field (not per record), checks every ring's numbers of the block at once, and makes
their annotations exactly as :func:`~fastlabel_formats.coco_records.annotation_from_coco` makes them
one by one (but for the ``coco_bbox`` attribute, given afterwards, see :func:`loose_attributes`),
with their geometry laid out as a table takes it. A record whose numbers float arithmetic cannot judge
exactly as Python does (strings, nulls, integers beyond 2**50, numbers near the float range) is left
to the record-by-record path, as is every record that is not common.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .coco_records import EXACT, carry_loose_boxes, is_numbers, loose_of, loose_rows
from .geometry import offsets, span_indices
from .table_rings import LaidOut, row_bounds
from .validation import MAX_RING_VERTICES

KIND_NAMES = ("bbox", "polygon", "segmentation")  # by table_rings.KIND_CODES
CATEGORY_KEYS = frozenset((int, str, bool))  # the types of a category_id that names a category
PLAIN_VALUES = frozenset((str, bool, int, float, type(None)))  # attribute values that need no checks
_NUMBER_TYPES = frozenset((int, float, bool))  # numbers array("d") converts as Python compares them
_NO_ROTATION = frozenset((int, float, type(None)))
_SEGMENTATIONS = frozenset((list, type(None)))


@dataclass
class CommonRows:
    """The common records of a block: their positions in it, their annotations (without their
    ``coco_bbox`` attribute), bboxes, kinds, points and values, and their geometry laid out
    (``held``: as a table takes it; else only for their bounds)."""

    rows: list
    made: list
    boxes: list
    kinds: list
    points: list
    values: list
    laid: LaidOut
    held: bool


def common_block(records: list, reading) -> CommonRows | None:
    """The common records of ``records`` (structs of the mode None, none missing), made at once;
    None when none is."""
    values = _category_values(records, reading)
    rows = list(range(len(records)))
    if type(None) in map(type, values):  # some are not common
        rows = [row for row, value in enumerate(values) if value is not None]
        records, values = [records[row] for row in rows], [values[row] for row in rows]
    segmentations = [[] if record.segmentation is None else record.segmentation for record in records]
    boxes = [record.bbox for record in records]
    shapes = _shapes(segmentations, boxes, reading.owned) if rows else None
    if shapes is None:
        return None
    kept, kinds, points, laid = shapes
    if len(kept) < len(records):
        rows, records, values, boxes = ([column[row] for row in kept] for column in (rows, records, values, boxes))
    attributes = [record.attributes for record in records]
    if {dict}.issuperset(map(type, attributes)):
        listed = [[{"key": key, "value": item} for key, item in listing.items()] for listing in attributes]
    else:
        listed = [[{"key": key, "value": item} for key, item in listing.items()] if type(listing) is dict else []
                  for listing in attributes]
    made = [{"value": value, "points": shape, "type": kind, "attributes": listing}
            for value, shape, kind, listing in zip(values, points, kinds, listed)]
    held = len(laid.ring_sizes) == 0 or int(laid.ring_sizes.max()) <= MAX_RING_VERTICES
    return CommonRows(rows, made, boxes, kinds, points, values, laid, held and bool(np.isfinite(laid.coords).all()))


def loose_attributes(common: CommonRows) -> None:
    """Give the common records whose bbox is not their shape's bounds the attribute ``coco_bbox``
    (as :func:`~fastlabel_formats.coco_records.annotation_from_coco` gives it)."""
    kinds, boxes, made = common.kinds, common.boxes, common.made
    loose = _loose_at_once(common.laid, boxes)
    if loose is None:
        loose = loose_rows(kinds, common.points, boxes, row_bounds(common.laid))
    carry_loose_boxes(made, kinds, boxes, loose)


def _loose_at_once(laid: LaidOut, boxes: list) -> list | None:
    """:func:`~fastlabel_formats.coco_records.loose_rows` of rows laid out whose boxes (of the rows not
    of a bbox) are all lists of 4 numbers, else None."""
    rows = np.flatnonzero(laid.kind_codes != 0)
    if not len(rows):
        return []
    row_boxes = boxes if len(rows) == len(boxes) else [boxes[row] for row in rows.tolist()]
    if not {list}.issuperset(map(type, row_boxes)) or list(map(len, row_boxes)).count(4) != len(row_boxes):
        return None
    flat = array("d")
    try:
        deque(map(flat.fromlist, row_boxes), 0)
    except (TypeError, OverflowError):
        return None
    lows, highs = row_bounds(laid)
    return loose_of(rows, np.frombuffer(flat, np.float64).reshape(-1, 4), lows[rows], highs[rows], boxes)


# --- which records are common, but for their geometry -----------------------------------------------

def _category_values(records: list, reading) -> list:
    """Per record the value of its category when all but its geometry make it common, else None."""
    categories, plain_values = [record.category_id for record in records], reading.plain_values
    if CATEGORY_KEYS.issuperset(map(type, categories)):
        values = list(map(plain_values.get, categories))
    else:
        values = [plain_values.get(c) if type(c) in CATEGORY_KEYS else None for c in categories]
    for fine in (_no_segments_info([record.segments_info for record in records]),
                 _no_keypoints([record.keypoints for record in records]),
                 _not_crowd([record.iscrowd for record in records]),
                 _not_rotated([record.rotation for record in records]),
                 _segmentation_lists([record.segmentation for record in records]),
                 _plain_attributes([record.attributes for record in records], reading.owned)):
        if fine is not None:
            values = [value if ok else None for value, ok in zip(values, fine)]
    return values


def _no_segments_info(column: list) -> list | None:
    """None when no record has ``segments_info``, else per record whether it has none."""
    return None if column.count(None) == len(column) else [item is None for item in column]


def _no_keypoints(column: list) -> list | None:
    if column.count([]) == len(column) or column.count(None) == len(column):
        return None
    return [item is None or item == [] for item in column]


def _not_crowd(column: list) -> list | None:
    return None if not column.count(1) else [not item == 1 for item in column]


def _not_rotated(column: list) -> list | None:
    if _NO_ROTATION.issuperset(map(type, column)) and column.count(None) + column.count(0) == len(column):
        return None  # (no bool among them: a rotation of False is not read as none)
    return [item is None or (item == 0 and item is not False) for item in column]


def _segmentation_lists(column: list) -> list | None:
    return None if _SEGMENTATIONS.issuperset(map(type, column)) else [type(s) in _SEGMENTATIONS for s in column]


def _plain_attributes(column: list, owned: bool) -> list | None:
    """None when every record's attributes are plain (or not an object, then none), else per record
    whether they are (keys that are not text: only in the files parsed here, whose keys are text)."""
    objects = column if {dict}.issuperset(map(type, column)) else [item for item in column if type(item) is dict]
    if PLAIN_VALUES.issuperset(map(type, chain.from_iterable(map(dict.values, objects)))) \
            and (owned or {str}.issuperset(map(type, chain.from_iterable(objects)))):
        return None
    return [type(item) is not dict or (PLAIN_VALUES.issuperset(map(type, item.values()))
                                       and (owned or all(type(key) is str for key in item))) for item in column]


# --- their geometry ----------------------------------------------------------------------------------

def _shapes(segmentations: list, boxes: list, owned: bool) -> tuple[list, list, list, LaidOut] | None:
    """The rows whose geometry is common (as positions), their kinds, points and layout; None when none is."""
    rows = list(range(len(segmentations)))
    checked = _checked_rings(segmentations, boxes, owned)
    if not isinstance(checked, _Rings):  # some are not: the others again, on their own
        rows = [row for row, fit in enumerate(checked) if fit]
        segmentations, boxes = [segmentations[row] for row in rows], [boxes[row] for row in rows]
        checked = _checked_rings(segmentations, boxes, owned) if rows else None
        if not isinstance(checked, _Rings):
            return None
    return rows, *_points_and_layout(segmentations, boxes, checked, owned)


@dataclass
class _Rings:
    """The rings of a block's rows (all common): their numbers, sizes and starts, each row's number of
    rings, which rings are the rectangle ring of a box, and which are closed."""

    values: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    rectangles: np.ndarray
    closed: np.ndarray


def _checked_rings(segmentations: list, boxes: list, owned: bool) -> _Rings | list:
    """The rings of the rows when every row's geometry is common, else per row whether it is."""
    rings = list(chain.from_iterable(segmentations))
    try:
        if not {list}.issuperset(map(type, rings)):
            raise TypeError("a ring that is not a list")
        flat = array("d")
        deque(map(flat.fromlist, rings), 0)  # (each ring's numbers as array("d") converts them, or TypeError)
        if not owned and not _NUMBER_TYPES.issuperset(map(type, chain.from_iterable(rings))):
            raise TypeError("numbers of other types than Python's")
    except (TypeError, OverflowError):
        return [_row_fits(s, box, owned) for s, box in zip(segmentations, boxes)]
    values = np.frombuffer(flat, np.float64)
    lengths = np.fromiter(map(len, rings), np.int64, len(rings))
    counts = np.fromiter(map(len, segmentations), np.int64, len(segmentations))
    ring_fit = (lengths >= 6) & (lengths % 2 == 0)
    exact = np.abs(values) < EXACT  # (False for NaN too)
    if not exact.all():  # which rings hold such numbers
        ring_fit &= _all_per_span(exact, lengths)
    row_fit = _all_per_span(ring_fit, counts)
    lone = np.flatnonzero(counts == 0).tolist()
    if lone:
        row_fit[lone] = [is_numbers(boxes[row], 4) for row in lone]
    if not row_fit.all():
        return row_fit.tolist()
    starts = offsets(lengths)[:-1]
    return _Rings(values, lengths, starts, counts, _rectangles(values, lengths, starts, counts),
                  _closed(values, lengths, starts))


def _row_fits(segmentation: list, box: object, owned: bool) -> bool:
    """Whether a row's geometry is common and its numbers ones float arithmetic judges as Python does
    (what :func:`_checked_rings` finds for a block at once)."""
    if not segmentation:
        return is_numbers(box, 4)
    if not all(type(ring) is list and len(ring) >= 6 and len(ring) % 2 == 0 for ring in segmentation):
        return False
    try:
        values = np.frombuffer(array("d", chain.from_iterable(segmentation)), np.float64)
    except (TypeError, OverflowError):
        return False
    return bool((np.abs(values) < EXACT).all()) and (owned or _NUMBER_TYPES.issuperset(
        map(type, chain.from_iterable(segmentation))))


def _all_per_span(flags: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per span (of ``counts`` flags each, in order) whether all its flags are set."""
    unset, ends = offsets(~flags), np.cumsum(counts)
    return unset[ends] == unset[ends - counts]


def _rectangles(values: np.ndarray, lengths: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per ring whether it is a row's only ring and the closed rectangle ring of a box
    (see :func:`~fastlabel_formats.coco_records.rectangle_corners`)."""
    only = np.repeat(counts == 1, counts) & (lengths == 10)
    found = np.zeros(len(lengths), bool)
    if only.any():
        ring = values[starts[only][:, None] + np.arange(10)]
        x1, y1, x2, y2 = ring[:, 0], ring[:, 1], ring[:, 4], ring[:, 5]
        found[only] = ((ring[:, 2] == x2) & (ring[:, 3] == y1) & (ring[:, 6] == x1) & (ring[:, 7] == y2)
                       & (ring[:, 8] == x1) & (ring[:, 9] == y1) & (x1 != x2) & (y1 != y2))
    return found


def _closed(values: np.ndarray, lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per ring whether its last point is its first."""
    ends = starts + lengths
    return (values[starts] == values[ends - 2]) & (values[starts + 1] == values[ends - 1])


def _points_and_layout(segmentations: list, boxes: list, rings: _Rings, owned: bool
                       ) -> tuple[list, list, LaidOut]:
    """The kinds and points of common rows (as annotation_from_coco gives them), and their layout."""
    counts = rings.counts
    codes = np.where(counts >= 2, 2, 1)
    codes[counts == 0] = 0
    codes[np.repeat(np.arange(len(counts)), counts)[rings.rectangles]] = 0
    code_list = codes.tolist()
    points = [s[0] if code == 1 else None for s, code in zip(segmentations, code_list)]
    if not owned:
        points = [None if p is None else list(p) for p in points]
    for row in np.flatnonzero(codes == 0).tolist():
        ring, box = (segmentations[row] or (None,))[0], boxes[row]
        points[row] = [box[0], box[1], box[0] + box[2], box[1] + box[3]] if ring is None \
            else [ring[0], ring[1], ring[4], ring[5]]
    closed = iter(rings.closed[np.repeat(counts >= 2, counts)].tolist())
    for row in np.flatnonzero(counts >= 2).tolist():
        points[row] = [[ring] if done else [ring + ring[:2]] for ring, done in zip(segmentations[row], closed)]
    lone = np.flatnonzero(counts == 0)
    return list(map(KIND_NAMES.__getitem__, code_list)), points, _layout(rings, codes, lone, points)


def _layout(rings: _Rings, codes: np.ndarray, lone: np.ndarray, points: list) -> LaidOut:
    """The rows' points as :func:`~fastlabel_formats.table_rings.laid_out` lays them out, taken from the
    rings' numbers (the boxes of rows without rings converted from their points)."""
    counts, lengths = rings.counts, rings.lengths
    unclosed = ~rings.closed & np.repeat(counts >= 2, counts)
    taken = np.where(rings.rectangles, 4, lengths + 2 * unclosed)
    starts, ring_rows = rings.starts, np.repeat(np.arange(len(counts)), counts)
    values = rings.values
    if len(lone):  # rows of a lone bbox: one ring of the numbers of their points
        try:
            box_values = np.frombuffer(array("d", chain.from_iterable(map(points.__getitem__, lone.tolist()))),
                                       np.float64)
        except OverflowError:
            box_values = np.full(4 * len(lone), np.inf)
        order = np.argsort(np.concatenate([ring_rows, lone]), kind="stable")
        starts = np.concatenate([starts, len(values) + 4 * np.arange(len(lone))])[order]
        taken, lengths = (np.concatenate([column, np.full(len(lone), 4)])[order] for column in (taken, lengths))
        rectangles, unclosed = (np.concatenate([c, np.zeros(len(lone), bool)])[order]
                                for c in (rings.rectangles, unclosed))
        values = np.concatenate([values, box_values])
    else:
        rectangles = rings.rectangles
    index = span_indices(starts, taken)
    firsts = offsets(taken)[:-1]
    for position in (2, 3):  # x2, y2 of a rectangle ring: its 5th and 6th numbers
        index[firsts[rectangles] + position] += 2
    for position in (0, 1):  # the first point again, closing a ring of a segmentation
        index[(firsts + lengths)[unclosed] + position] -= lengths[unclosed]
    row_rings = np.where(counts == 0, 1, counts)
    return LaidOut(values[index].reshape(-1, 2), taken // 2, row_rings, codes)
