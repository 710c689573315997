"""The one check of annotations at the edge: what makes an annotation unusable (its type, value,
points, rotation or keypoints). A malformed annotation is left out of its table and reported with
its place and problem; the rest of the export is written (``strict``: the run fails first)."""

from __future__ import annotations

import math
from itertools import chain

from .categories import CLASSED_TYPES
from .errors import FormatError
from .report import ConversionReport

# Point layouts of the flat types: (fixed number of coordinates or None for "any even number").
FLAT_COORDINATES: dict[str, int | None] = {"bbox": 4, "keypoint": 2, "polygon": None, "line": None}
RING_TYPES = frozenset(FLAT_COORDINATES) | {"segmentation"}
VALUED_TYPES = RING_TYPES | {"pose_estimation"}
MALFORMED = "malformed annotation skipped"
NO_GEOMETRY: frozenset = frozenset()
STRICT_LISTED = 20
# the most vertices one ring (polygon, line, segmentation ring) may have; a longer one is malformed.
# Raise it by setting ``fastlabel_formats.validation.MAX_RING_VERTICES``.
MAX_RING_VERTICES = 1_000_000


def layout_problem(kind: str, points: object) -> str | None:
    """What is wrong with the nesting or count of ``points`` for ``kind`` (None when fine)."""
    if kind == "segmentation":
        if not isinstance(points, list):
            return "expected a list of regions"
        for region in points:
            if not isinstance(region, list) or not region or not all(isinstance(r, list) for r in region):
                return "expected regions as non-empty lists of rings (list of list of numbers)"
            for ring in region:
                if len(ring) % 2:
                    return f"ring with an odd number of coordinates ({len(ring)})"
                if len(ring) > 2 * MAX_RING_VERTICES:
                    return _too_many_vertices(len(ring))
        return None
    if not isinstance(points, list) or (points and isinstance(points[0], (list, dict))):
        return "expected a flat list of numbers"
    expected = FLAT_COORDINATES.get(kind)
    if expected is not None and len(points) != expected:
        return f"expected {expected} coordinates, got {len(points)}"
    if expected is None and len(points) % 2:
        return f"expected an even number of coordinates, got {len(points)}"
    return _too_many_vertices(len(points)) if len(points) > 2 * MAX_RING_VERTICES else None


def _too_many_vertices(coordinates: int) -> str:
    return (f"{coordinates // 2:,} vertices, more than the {MAX_RING_VERTICES:,} of one ring "
            "(raise fastlabel_formats.validation.MAX_RING_VERTICES)")


def is_number(value: object) -> bool:
    """A finite int or float (``True``/``False`` count as 1/0, as in Python and in the fast path)."""
    try:
        return isinstance(value, (int, float)) and math.isfinite(value)
    except OverflowError:
        return False


def points_problem(kind: str, points: object) -> str | None:
    """What is wrong with the layout or the numbers of ``points`` (None when fine)."""
    problem = layout_problem(kind, points)
    if problem is None:
        numbers = points if kind != "segmentation" else chain.from_iterable(chain.from_iterable(points))
        bad = [v for v in numbers if not is_number(v)][:1]
        problem = f"coordinate {bad[0]!r} is not a finite number" if bad else None
    return problem


def quick_problem(kind: object, annotation: dict) -> bool:
    """True when an annotation is malformed apart from its coordinates (the checks of
    :func:`annotation_problem` but the points', which the fast path reads in bulk)."""
    return annotation_problem(kind, annotation, None, NO_GEOMETRY) is not None


def keypoints_problem(keypoints: object) -> str | None:
    """What is wrong with a ``keypoints`` list (None when fine)."""
    if not isinstance(keypoints, list) or not all(isinstance(k, dict) for k in keypoints):
        return "keypoints must be a list of objects"
    for keypoint in keypoints:
        value = keypoint.get("value")
        if value and (not isinstance(value, list) or len(value) < 2 or not all(map(is_number, value[:2]))):
            return f"keypoint value {value!r} is not [x, y, visibility]"
    return None


def annotation_problem(kind: object, annotation: dict, points: object, geometry: frozenset) -> str | None:
    """What makes one annotation unusable (None when it is fine); ``points`` are its points (or its
    points in one video frame), checked for the ``geometry`` types."""
    if type(kind) is not str:
        return f"'type' is {kind!r}, not a string"
    if kind in VALUED_TYPES and "value" not in annotation:
        return "no 'value'"
    if kind in CLASSED_TYPES and type(annotation["value"]) is not str:
        return f"value {annotation['value']!r} is not a string"
    rotation = annotation.get("rotation")
    if rotation and not is_number(rotation):
        return f"rotation {rotation!r} is not a finite number"
    if annotation.get("keypoints"):
        problem = keypoints_problem(annotation["keypoints"])
        if problem:
            return problem
    return points_problem(kind, points) if kind in geometry and points else None


def report_malformed(malformed: tuple, report: ConversionReport) -> None:
    """Count the skipped malformed annotations ``((place, problem), ...)`` in ``report``."""
    report.add(MALFORMED, len(malformed), [f"{place}: {problem}" for place, problem in malformed[:5]])


def strict_failure(malformed: list[tuple[str, str]], total: int) -> FormatError:
    """The error of a strict run with malformed annotations: the first :data:`STRICT_LISTED`."""
    listed = "\n".join(f"  {place}: {problem}" for place, problem in malformed[:STRICT_LISTED])
    more = f"\n  … and {total - STRICT_LISTED} more" if total > STRICT_LISTED else ""
    return FormatError(f"{total} malformed annotation(s) (strict mode, nothing written):\n{listed}{more}")
