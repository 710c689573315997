"""The one contract on annotation values, used by every entry point (exports, ``validate``,
``validate --fix``, ``split``, ``integrate``, render and draw): what makes an annotation unusable —
its type, value, points of any type, rotation, attributes, or keypoints (their key, value, edges and
attributes). A malformed annotation is left out (of its table, its tiles, its merged task) and
reported with its place and problem; the rest is written (``strict``: the run fails first).

The contract, per annotation:

* ``type`` a string; ``value`` present for the geometric types, a string for the classed ones;
* ``points``: bbox ``[x1, y1, x2, y2]``, keypoint ``[x, y]``, polygon and line an even number of
  coordinates, segmentation a list of regions of rings, circle ``[x, y, r]``; every coordinate a
  finite number; points of other types, values and attribute values nested at most
  :data:`MAX_POINTS_DEPTH` lists deep;
* ``rotation`` absent, 0 or a finite number;
* ``attributes`` absent, empty, or a list of objects each with a string ``key`` and a ``value``
  (a ``switch`` attribute's value true/false or 0/1);
* ``keypoints`` absent, empty, or a list of objects each with a string ``key``, a ``value`` that is
  empty or ``[x, y, visibility]`` (three finite numbers), ``edges`` a list of keys and
  ``attributes`` as above.

``validate``, labelme, split, integrate and repair read the points of every type; a target that
leaves a ring type out (COCO: lines and keypoints; the PNG masks: those and more) never reads its
points, so it skips that annotation as unsupported rather than as malformed.
"""

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
_ABSENT = object()  # a key that is not there
STRICT_LISTED = 20
# the most vertices one ring (polygon, line, segmentation ring) may have; a longer one is malformed.
# Raise it by setting ``fastlabel_formats.validation.MAX_RING_VERTICES``.
MAX_RING_VERTICES = 1_000_000
# the deepest nesting of lists (or objects) the points of a type without a fixed layout, a value or
# an attribute's value may have (a deeper one is malformed, never recursed into: copying or printing
# it would exhaust Python's stack). Raise it by setting ``fastlabel_formats.validation.MAX_POINTS_DEPTH``.
MAX_POINTS_DEPTH = 8
# the points of the types that are no rings but have a fixed number of coordinates
OTHER_COORDINATES: dict[str, int] = {"circle": 3}
KEYPOINT_VALUE = 3  # x, y, visibility


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
        problem = f"coordinate {_short(bad[0])} is not a finite number" if bad else None
    return problem


def other_points_problem(kind: str, points: object) -> str | None:
    """What is wrong with the points of a type that is no ring (circle ``[x, y, r]``, or a type
    without a fixed layout: lists of numbers nested at most :data:`MAX_POINTS_DEPTH` deep)."""
    if kind in OTHER_COORDINATES:
        expected = OTHER_COORDINATES[kind]
        if not isinstance(points, list) or len(points) != expected or not all(map(is_number, points)):
            return f"expected {expected} numbers as points, got {_short(points)}"
        return None
    return f"points {_TOO_DEEP}" if too_deep(points) else None


_TOO_DEEP = "nested deeper than MAX_POINTS_DEPTH lists (raise fastlabel_formats.validation.MAX_POINTS_DEPTH)"


def too_deep(value: object, limit: int | None = None) -> bool:
    """True when ``value`` nests lists or objects more than ``limit`` (:data:`MAX_POINTS_DEPTH`)
    levels deep (found without recursion, so any depth is safe to ask about)."""
    level = [value]
    for _ in range((MAX_POINTS_DEPTH if limit is None else limit) + 1):
        level = [item for node in level if isinstance(node, (list, dict))
                 for item in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return False
    return True


def _short(value: object) -> str:
    """``repr(value)`` cut to 40 characters (without building the repr of a huge or deep value)."""
    if isinstance(value, (list, dict)):
        items = value.values() if isinstance(value, dict) else value
        if len(value) > 8 or any(isinstance(v, (list, dict)) for v in items):
            return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, str) and len(value) > 40:
        value = value[:40]
    return f"{value!r:.40}"


def attributes_problem(attributes: object, owner: str = "") -> str | None:
    """What is wrong with an ``attributes`` list (None when fine); ``owner`` names whose they are."""
    if not attributes:
        return None
    if type(attributes) is not list:
        return f"{owner}attributes must be a list of objects, got {_short(attributes)}"
    for attribute in attributes:
        value = attribute.get("value", _ABSENT) if type(attribute) is dict else _ABSENT
        if value is _ABSENT or type(attribute.get("key")) is not str:
            return f"{owner}attribute {_short(attribute)} is not an object with a string key and a value"
        held = type(value)
        if held is bool:  # the common case, fine for every attribute type
            continue
        if attribute.get("type") == "switch" and not (held is int and value in (0, 1)):
            return f"{owner}switch attribute {attribute['key']!r:.40} has {_short(value)}, not true/false"
        if (held is list or held is dict) and too_deep(value):
            return f"{owner}attribute {attribute['key']!r:.40} value {_TOO_DEEP}"
    return None


def keypoint_problem(keypoint: object) -> str | None:
    """What is wrong with one keypoint of a ``keypoints`` list (None when fine)."""
    if not isinstance(keypoint, dict):
        return f"keypoint {_short(keypoint)} is not an object"
    if type(keypoint.get("key")) is not str:
        return f"keypoint key {_short(keypoint.get('key'))} is not a string"
    value = keypoint.get("value")
    if value and (not isinstance(value, list) or len(value) != KEYPOINT_VALUE or not all(map(is_number, value))):
        return f"keypoint {keypoint['key']!r:.40} value {_short(value)} is not [x, y, visibility]"
    edges = keypoint.get("edges")
    if edges and (not isinstance(edges, list) or not all(type(edge) is str for edge in edges)):
        return f"keypoint {keypoint['key']!r:.40} edges {_short(edges)} are not a list of keys"
    return attributes_problem(keypoint.get("attributes"), f"keypoint {keypoint['key']!r:.40} ")


def keypoints_problem(keypoints: object) -> str | None:
    """What is wrong with a ``keypoints`` list (None when fine)."""
    if not isinstance(keypoints, list):
        return f"keypoints must be a list of objects, got {_short(keypoints)}"
    for keypoint in keypoints:
        problem = keypoint_problem(keypoint)
        if problem:
            return problem
    return None


def annotation_problem(kind: object, annotation: dict, points: object, geometry: frozenset) -> str | None:
    """What makes one annotation unusable (None when it is fine); ``points`` are its points (or its
    points in one video frame), checked for the ``geometry`` types."""
    if type(kind) is not str:
        return f"'type' is {_short(kind)}, not a string"
    value = annotation.get("value", _ABSENT)
    if kind in CLASSED_TYPES:
        if type(value) is not str:
            return "no 'value'" if value is _ABSENT else f"value {_short(value)} is not a string"
    elif value is _ABSENT:
        if kind in VALUED_TYPES:
            return "no 'value'"
    elif (type(value) is list or type(value) is dict) and too_deep(value):
        return f"value {_TOO_DEEP}"
    rotation = annotation.get("rotation")
    if rotation and not is_number(rotation):
        return f"rotation {_short(rotation)} is not a finite number"
    attributes, keypoints = annotation.get("attributes"), annotation.get("keypoints")
    problem = (attributes_problem(attributes) if attributes else None) or (
        keypoints_problem(keypoints) if keypoints else None)
    if problem or not points:
        return problem
    if kind in geometry:
        return points_problem(kind, points)
    return other_points_problem(kind, points) if kind not in RING_TYPES else None


_CONTAINERS = (list, dict)


def quick_problem(kind: object, annotation: dict, points: object) -> str | None:
    """What makes an annotation malformed apart from the coordinates of its ring types (the checks
    of :func:`annotation_problem` but those, which the tables read in bulk), or None. The common
    case (string type and value, plain attributes, no keypoints) is settled here in one pass; any
    other goes to :func:`annotation_problem`."""
    value, rotation = annotation.get("value", _ABSENT), annotation.get("rotation")
    if type(kind) is not str or (type(value) is not str and (
            kind in CLASSED_TYPES or value is _ABSENT or type(value) in _CONTAINERS)) or annotation.get("keypoints") \
            or (rotation and type(rotation) is not int and not (type(rotation) is float and math.isfinite(rotation))) \
            or (points and kind not in RING_TYPES):
        return annotation_problem(kind, annotation, points, NO_GEOMETRY)
    attributes = annotation.get("attributes")
    if not attributes:
        return None
    if type(attributes) is not list:
        return attributes_problem(attributes)
    for attribute in attributes:
        if type(attribute) is not dict or type(attribute.get("key")) is not str:
            return attributes_problem(attributes)
        held = type(attribute.get("value", _ABSENT))
        if held is not bool and (held not in _PLAIN_VALUES or attribute.get("type") == "switch"):
            return attributes_problem(attributes)  # absent, a list or an object to measure, a switch to check
    return None


_PLAIN_VALUES = frozenset((str, int, float, type(None)))  # attribute values that need no more checks


def report_malformed(malformed: tuple, report: ConversionReport) -> None:
    """Count the skipped malformed annotations ``((place, problem), ...)`` in ``report``."""
    report.add(MALFORMED, len(malformed), [f"{place}: {problem}" for place, problem in malformed[:5]])


def strict_failure(malformed: list[tuple[str, str]], total: int) -> FormatError:
    """The error of a strict run with malformed annotations: the first :data:`STRICT_LISTED`."""
    listed = "\n".join(f"  {place}: {problem}" for place, problem in malformed[:STRICT_LISTED])
    more = f"\n  … and {total - STRICT_LISTED} more" if total > STRICT_LISTED else ""
    return FormatError(f"{total} malformed annotation(s) (strict mode, nothing written):\n{listed}{more}")
