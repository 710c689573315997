"""Derived columns of an annotation table shared by every target (boxes, bounds, rotations, holes),
computed for a whole table at once and cached in it: a run with several targets computes each once."""

from __future__ import annotations

from itertools import repeat

import numpy as np

from .errors import FormatError
from .geometry import box_corners, outer_bounds, python_round
from .table import AnnotationTable, derived_column
from .table_rings import value_codes_of
from .tasks import labelled_keypoints


@derived_column
def row_kinds(table: AnnotationTable) -> np.ndarray:
    """The annotation types of the rows as a numpy string array."""
    return np.asarray(table.kinds, dtype=object)


@derived_column
def kind_codes(table: AnnotationTable) -> tuple[np.ndarray, list]:
    """Per row the position of its type in the table's list of distinct types (in order of first
    appearance), and that list: what :func:`kind_mask` reads."""
    return value_codes_of(table.kinds)


def kind_mask(table: AnnotationTable, *kinds: str) -> np.ndarray:
    """Rows whose type is one of ``kinds`` (``np.isin(row_kinds(table), kinds)``, one lookup per
    distinct type instead of a string comparison per row)."""
    codes, dictionary = kind_codes(table)
    return np.array([kind in kinds for kind in dictionary] + [False])[codes]


def field_values(table: AnnotationTable, key: str) -> list:
    """``annotation.get(key)`` of every row."""
    return values_of(table.annotations, key)


def values_of(items: list, key: str) -> list:
    """``[item.get(key) for item in items]`` (dicts read at C speed, other mappings through their ``get``)."""
    try:
        return list(map(dict.get, items, repeat(key)))
    except TypeError:  # not all dicts
        return [item.get(key) for item in items]


@derived_column
def has_points(table: AnnotationTable) -> np.ndarray:
    """Rows whose points are present and non-empty: every row with rings (the table's rings are
    made of the points of each row that has some), and the others looked at one by one."""
    present = np.diff(table.rings.shape_ring_offsets) > 0
    others = np.flatnonzero(~present)
    if others.size:
        present[others] = np.fromiter(map(bool, map(table.points.__getitem__, others.tolist())), bool, others.size)
    return present


@derived_column
def bbox_points(table: AnnotationTable) -> np.ndarray:
    """``(n, 4)`` x1, y1, x2, y2 as given for bbox rows with points; NaN elsewhere."""
    out = np.full((len(table), 4), np.nan)
    rings = table.rings
    rows = np.flatnonzero(kind_mask(table, "bbox") & (np.diff(rings.shape_ring_offsets) > 0))
    first_point = rings.ring_offsets[rings.shape_ring_offsets[rows]]
    out[rows, :2] = rings.coords[first_point]
    out[rows, 2:] = rings.coords[first_point + 1]
    return out


@derived_column
def keypoint_boxes(table: AnnotationTable) -> np.ndarray:
    """``(n, 4)`` min x, min y, max x, max y of the labelled keypoints of pose rows; NaN elsewhere
    (and for a pose without labelled keypoints)."""
    out = np.full((len(table), 4), np.nan)
    for row in np.flatnonzero(kind_mask(table, "pose_estimation")).tolist():
        located = [k["value"][:2] for k in labelled_keypoints(table.annotations[row])]
        if not located:
            continue
        try:
            xy = np.asarray(located, np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            xy = None
        if xy is None or not np.isfinite(xy).all():
            raise FormatError(f"{table.place(row)}: keypoint values must be [x, y, visibility] numbers")
        out[row, :2], out[row, 2:] = xy.min(axis=0), xy.max(axis=0)
    return out


@derived_column
def rotated_box_corners(table: AnnotationTable) -> np.ndarray:
    """``(n, 4, 2)`` corners of bbox rows rotated by their ``rotation`` (the one geometry of a
    rotated box wherever it is drawn or written as a polygon); NaN for other rows."""
    boxes = bbox_points(table)
    out = box_corners(boxes)  # exact corners where there is no rotation; NaN where there is no box
    turned = rotated_boxes(table)
    out[turned] = box_corners(boxes[turned], rotations(table)[turned])
    return out


def rotated_boxes(table: AnnotationTable) -> np.ndarray:
    """Rows that are bboxes with points and a rotation other than 0."""
    return kind_mask(table, "bbox") & (rotations(table) != 0) & ~np.isnan(bbox_points(table)[:, 0])


def with_boxes_as_polygons(table: AnnotationTable, every_box: bool = False) -> AnnotationTable:
    """``table`` with each rotated bbox (``every_box``: each bbox) as the polygon of its corners,
    rotated as the box is (for rasterising)."""
    boxes = kind_mask(table, "bbox") & ~np.isnan(bbox_points(table)[:, 0])
    rows = np.flatnonzero(boxes if every_box else rotated_boxes(table))
    if not rows.size:
        return table
    corners = rotated_box_corners(table)[rows].reshape(len(rows), 8).tolist()
    return table.with_shapes(rows.tolist(), "polygon", corners)


def degenerate_boxes(boxes: np.ndarray) -> np.ndarray:
    """The reference's degenerate-bbox rule: ``int(x1) == int(x2) or int(y1) == int(y2)``."""
    whole = np.trunc(boxes)
    return (whole[:, 0] == whole[:, 2]) | (whole[:, 1] == whole[:, 3])


@derived_column
def vertex_bounds(table: AnnotationTable) -> np.ndarray:
    """``(n, 4)`` min x, min y, max x, max y of the outer vertices rounded to 6 decimals.

    Rounding is monotonic, so the bounds of the rounded vertices are the rounded bounds, but for the
    sign of a zero (which vertex gives a -0.0): those rows take the bounds of their rounded vertices.
    A table of boxes of two corners takes :func:`two_corner_bounds`, the same bits sooner."""
    bounds = two_corner_bounds(table, row_kinds(table))
    return rounded_outer_bounds(table) if bounds is None else bounds


def rounded_outer_bounds(table: AnnotationTable) -> np.ndarray:
    """:func:`vertex_bounds` of any table, from its outer rings' bounds."""
    rings = table.rings
    bounds = python_round(outer_bounds(rings))
    zero = (bounds == 0).any(axis=1)
    if zero.any():
        ring_counts = np.diff(rings.ring_offsets)
        of_zero = np.repeat(zero[rings.ring_shape()], ring_counts)
        coords = rings.coords.copy()
        coords[of_zero] = python_round(coords[of_zero])
        bounds[zero] = outer_bounds(rings, coords)[zero]
    return bounds


def two_corner_bounds(table: AnnotationTable, kinds: np.ndarray) -> np.ndarray | None:
    """:func:`rounded_outer_bounds`, bit for bit, of a table whose every shape is a bbox of two corners (None
    for any other table): the rounded corners reduced as ``vertex_bounds`` reduces rounded vertices
    (rounding is monotonic, so this is also the rounding of the raw bounds)."""
    rings = table.rings
    ring_counts = np.diff(rings.shape_ring_offsets)
    shaped = ring_counts > 0
    if (ring_counts > 1).any() or (np.diff(rings.ring_offsets) != 2).any() or (kinds[shaped] != "bbox").any() \
            or rings.is_hole.any():
        return None
    rounded = python_round(rings.coords)
    starts = np.arange(0, len(rounded), 2)
    bounds = np.full((len(kinds), 4), np.nan)
    if starts.size:
        bounds[shaped, :2] = np.minimum.reduceat(rounded, starts, axis=0)
        bounds[shaped, 2:] = np.maximum.reduceat(rounded, starts, axis=0)
    return bounds


@derived_column
def rotations(table: AnnotationTable) -> np.ndarray:
    """The ``rotation`` of each row in degrees (0 when absent); FormatError when not a number."""
    values = field_values(table, "rotation")
    if not any(values):  # every one absent or 0 (the common case)
        return np.zeros(len(values))
    values = [value or 0 for value in values]
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        out = None
    if out is None or not np.isfinite(out).all():
        row = next(i for i, v in enumerate(values) if not _finite_number(v))
        raise FormatError(f"{table.place(row)}: rotation {values[row]!r} is not a finite number")
    return out


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and np.isfinite(value)


@derived_column
def rows_with_holes(table: AnnotationTable) -> np.ndarray:
    """Rows whose geometry has at least one hole ring."""
    rings = table.rings
    return np.bincount(rings.ring_shape(), weights=rings.is_hole, minlength=len(table)) > 0


@derived_column
def value_codes(table: AnnotationTable) -> tuple[np.ndarray, list]:
    """Per row the position of its ``value`` in the table's dictionary of distinct values (in order
    of first appearance), and that dictionary; -1 for a row whose value cannot be a key (a list)."""
    return value_codes_of(field_values(table, "value"))


def value_lookup(table: AnnotationTable, mapping: dict, default: int) -> np.ndarray:
    """``mapping.get(value, default)`` of every row, looked up once per distinct value."""
    codes, dictionary = value_codes(table)
    per_value = np.array([mapping.get(value, default) for value in dictionary] + [default], np.int64)
    return per_value[codes]
