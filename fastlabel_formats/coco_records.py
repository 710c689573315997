"""One COCO annotation record -> the FastLabel annotation that carries it (its shape, keypoints,
attributes and box): the record-level half of :mod:`fastlabel_formats.coco_import`."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from math import isfinite

import numpy as np

from .coco_rle import SkippedRecord, brief, rle_segmentation
from .coco_rle import string_counts as string_counts  # the RLE reader's own check, tested on its own
from .errors import FormatError
from .geometry import integral_to_int, python_round
from .report import ConversionReport
from .validation import is_number

PANOPTIC = "COCO panoptic annotation not read (its segments are in a PNG; use a COCO instances file)"
NO_GEOMETRY = "annotation without a usable bbox or polygon, skipped"
# the attribute that carries a record's COCO bbox when it is not the bounds of its segmentation
# (``export_coco`` writes it back as the record's ``bbox``)
COCO_BBOX = "coco_bbox"
MAX_ATTRIBUTE_DEPTH = 32  # lists or objects in an attribute value; a deeper one skips its record
BOX_TOLERANCE = 0.5  # pixels a bbox may differ from its segmentation's bounds (rounding) and not be carried
EXACT = 2.0**50  # below it, sums of three coordinates are exact in float64, as Python's int arithmetic is


@dataclass(frozen=True)
class CocoCategory:
    """What a COCO category gives its annotations: the class value, its keypoint names and its
    skeleton as 0-based ``(from, to)`` keypoint positions."""

    value: object
    names: list[str]
    pairs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Reading:
    """One COCO file being read: where from, how, and its lookups."""

    source: str
    annotation_type: str | None
    owned: bool
    categories: dict
    sizes: dict  # image id -> (width, height)
    report: ConversionReport
    lay_out: bool = False  # whether tables will be made of the records read at once (their geometry laid out)
    careful: set = field(default_factory=set)  # id() of each annotation list given a record _read_one read
    made: list = field(default_factory=list)  # the annotation of each record read at once, in the order made
    kinds: list = field(default_factory=list)  # and its type,
    points: list = field(default_factory=list)  # its points
    values: list = field(default_factory=list)  # and its value
    blocks: list = field(default_factory=list)  # (first row of made, LaidOut) of those laid out, in order
    plain_values: dict = field(init=False)  # category id -> its value, for the categories with a text value

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain_values", {key: category.value for key, category in self.categories.items()
                                                  if type(category.value) is str and category.value})


def category_of(annotation, reading: Reading) -> CocoCategory | None:
    category_id = annotation.category_id
    return reading.categories.get(category_id) if isinstance(category_id, (int, str)) else None


def _coco_attributes(annotation) -> list[dict]:
    """The record's ``attributes`` as FastLabel attributes; ``iscrowd: 1`` as the switch ``iscrowd``
    (which ``export_coco`` writes back as ``iscrowd: 1``). SkippedRecord for a value nested deeper
    than :data:`MAX_ATTRIBUTE_DEPTH` (no JSON writer takes it)."""
    attributes = annotation.attributes
    out = [{"key": key, "value": value} for key, value in attributes.items()] if type(attributes) is dict else []
    if any(isinstance(a["value"], (list, dict)) and _deeper_than(a["value"], MAX_ATTRIBUTE_DEPTH) for a in out):
        raise SkippedRecord("annotation with an attribute nested too deeply, skipped",
                            f"more than {MAX_ATTRIBUTE_DEPTH} levels")
    if annotation.iscrowd == 1 and not any(a["key"] == "iscrowd" for a in out):
        out.append({"key": "iscrowd", "value": True, "type": "switch"})
    return out


def _deeper_than(value: object, depth: int) -> bool:
    """Whether ``value`` holds lists or objects nested more than ``depth`` levels (walked level by
    level, never recursively)."""
    level = [value]
    for _ in range(depth):
        level = [item for node in level if isinstance(node, (list, dict))
                 for item in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return False
    return any(isinstance(node, (list, dict)) for node in level)


def annotation_from_coco(annotation, reading: Reading, size: tuple[int, int]) -> list[dict] | str:
    """The FastLabel annotations of a parsed COCO annotation (see MODE_FIELDS), or why it is skipped
    (a SkippedRecord for a record whose RLE mask does not fit its image)."""
    if annotation.segments_info is not None:
        return PANOPTIC
    category = category_of(annotation, reading)
    if category is None:
        return "annotation with an unknown category_id, skipped"
    if not category.value:
        return "category without name or supercategory, annotation skipped"
    if reading.annotation_type == "pose_estimation":
        return [_pose_from_coco(annotation, category)]
    keypoints = _carried_keypoints(annotation, category) if reading.annotation_type is None else None
    labelled = keypoints is not None and any(k["value"] for k in keypoints)
    shape = (_pose_shape(annotation, reading.owned, size) if labelled
             else _shape_from_coco(annotation, reading.annotation_type, reading.owned, size))
    if shape is None:
        return [_pose(category.value, keypoints, annotation)] if labelled else NO_GEOMETRY
    kind, points = shape
    out = {"value": category.value, "points": points, "type": kind, "attributes": _coco_attributes(annotation)}
    if (kind == "bbox" and is_rotation(annotation.rotation)
            and not enclosing_box_only(annotation, reading.annotation_type)):
        out["rotation"] = annotation.rotation
    if reading.annotation_type is None and loose_box(annotation.bbox, out):
        out["attributes"].append({"key": COCO_BBOX, "value": list(annotation.bbox)})
    if keypoints:
        out["keypoints"] = keypoints
    return [out]


def _pose(value: object, keypoints: list[dict], annotation) -> dict:
    return {"value": value, "type": "pose_estimation", "keypoints": keypoints,
            "attributes": _coco_attributes(annotation)}


def _pose_shape(annotation, owned: bool, size: tuple[int, int]) -> tuple[str, list] | None:
    """The shape of a keypoint annotation, unless it is only the enclosing box of its labelled
    keypoints (what ``export_coco`` writes for a pose: derived, not data)."""
    shape = _shape_from_coco(annotation, None, owned, size)
    values = annotation.keypoints if type(annotation.keypoints) is list else []
    located = [(x, y) for x, y, v in zip(values[0::3], values[1::3], values[2::3]) if v]
    if shape is None or shape[0] != "bbox" or not located:
        return shape
    xs, ys = zip(*located)
    return None if shape[1] == [min(xs), min(ys), max(xs), max(ys)] else shape


def has_geometry(annotation, owned: bool, size: tuple[int, int]) -> bool:
    """Whether a keypoint record has a shape of its own (that the pose_estimation mode leaves out)."""
    try:
        return _pose_shape(annotation, owned, size) is not None
    except SkippedRecord:
        return True


def loose_box(box: object, converted: dict) -> bool:
    """Whether a record's ``box`` (four finite numbers) is not the bounds of the polygon or
    segmentation it was read as."""
    kind, points = converted["type"], converted["points"]
    if type(box) is not list or len(box) != 4 or kind not in ("polygon", "segmentation"):
        return False
    if kind == "polygon":
        xs, ys = points[0::2], points[1::2]
    else:
        xs = [x for region in points for ring in region for x in ring[0::2]]
        ys = [y for region in points for ring in region for y in ring[1::2]]
    left, top = min(xs), min(ys)
    try:
        return (abs(left - box[0]) > BOX_TOLERANCE or abs(top - box[1]) > BOX_TOLERANCE
                or abs(max(xs) - left - box[2]) > BOX_TOLERANCE or abs(max(ys) - top - box[3]) > BOX_TOLERANCE) \
            and is_numbers(box, 4)
    except (TypeError, OverflowError):  # a box of other things than numbers (or too large for one): not one to carry
        return False


def carry_loose_boxes(made: Sequence[dict], kinds: Sequence[str], boxes: Sequence[object],
                      loose: list[int] | None) -> None:
    """Give the ``loose`` rows of annotations ``made`` (None: found row by row, see :func:`loose_box`)
    their record's box as the attribute ``coco_bbox``."""
    if loose is None:
        loose = [row for row, box in enumerate(boxes) if kinds[row] != "bbox" and loose_box(box, made[row])]
    for row in loose:
        made[row]["attributes"].append({"key": COCO_BBOX, "value": list(boxes[row])})


def loose_rows(kinds: Sequence[str], points: Sequence[list], boxes: Sequence[object],
               bounds: tuple[np.ndarray, np.ndarray] | None = None) -> list[int] | None:
    """The rows (annotations of type ``kinds`` with ``points``, well-formed) whose box is loose (see
    :func:`loose_box`), all at once; None when some box or coordinate is not one that float arithmetic
    gives exactly as Python does (then ask :func:`loose_box`, row by row). ``bounds``: every row's
    lowest and highest ``(x, y)``, when known."""
    rows = [row for row, (kind, box) in enumerate(zip(kinds, boxes))
            if kind != "bbox" and type(box) is list and len(box) == 4]
    if not rows:
        return []
    try:
        box_values = np.frombuffer(array("d", list(chain.from_iterable([boxes[row] for row in rows]))), np.float64)
        lows, highs = _bounds([points[row] if kinds[row] == "polygon" else list(chain.from_iterable(chain.from_iterable(
            points[row]))) for row in rows]) if bounds is None else (bounds[0][rows], bounds[1][rows])
    except (TypeError, ValueError, OverflowError):
        return None
    return loose_of(np.asarray(rows), box_values.reshape(-1, 4), lows, highs, boxes)


def loose_of(rows: np.ndarray, box_values: np.ndarray, lows: np.ndarray, highs: np.ndarray, boxes: Sequence[object]
             ) -> list[int] | None:
    """The ``rows`` whose box (its numbers ``box_values``) is loose around their shape's bounds (the
    lowest and highest ``(x, y)`` of each, well-formed), all at once; None when some number is not one
    float arithmetic gives exactly as Python does (see :func:`loose_rows`)."""
    if (np.abs(lows) >= EXACT).any() or (np.abs(highs) >= EXACT).any() or (np.abs(box_values) >= EXACT).any():
        return None
    off = ((np.abs(lows - box_values[:, :2]) > BOX_TOLERANCE).any(axis=1)
           | (np.abs(highs - lows - box_values[:, 2:]) > BOX_TOLERANCE).any(axis=1))
    return [row for row in rows[off].tolist() if is_numbers(boxes[row], 4)]


def _bounds(flat_points: list[list]) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest ``(x, y)`` of each list of ``x, y, x, y, …`` (none empty)."""
    lengths = np.fromiter(map(len, flat_points), np.int64, len(flat_points))
    sizes = lengths // 2  # numbers the reader checked: fromiter takes them as array("d") does
    coords = np.fromiter(chain.from_iterable(flat_points), np.float64, int(lengths.sum())).reshape(-1, 2)
    firsts = np.cumsum(sizes) - sizes
    return np.minimum.reduceat(coords, firsts), np.maximum.reduceat(coords, firsts)


def is_numbers(values: object, count: int | None = None) -> bool:
    """A list of finite numbers (of ``count`` items)."""
    if type(values) is not list or (count is not None and len(values) != count):
        return False
    try:
        return isfinite(sum(values))  # TypeError for strings, nulls and nested lists
    except (TypeError, OverflowError):  # OverflowError: an integer too large for a float
        return False


def _shape_from_coco(annotation, annotation_type: str | None, owned: bool, size: tuple[int, int] = (0, 0)
                     ) -> tuple[str, list] | None:
    segmentation = annotation.segmentation
    box = annotation.bbox if annotation_type != "polygon" else None
    if annotation_type != "polygon" and is_rotation(annotation.rotation):
        unrotated = unrotated_box(segmentation, annotation.bbox, annotation.rotation)
        if unrotated is not None:  # the box it was written from, not its enclosing box turned again
            return "bbox", unrotated
    if annotation_type == "bbox" and is_numbers(box, 4):  # the COCO bbox itself
        return "bbox", [box[0], box[1], box[0] + box[2], box[1] + box[3]]
    if annotation_type is None:
        return shape_by_content(segmentation, box, size)
    first = segmentation[0] if type(segmentation) is list and segmentation else None
    if not is_numbers(first) or len(first) < 4:
        return None
    return ("bbox" if len(first) == 4 else "polygon"), first if owned else list(first)


def enclosing_box_only(annotation, annotation_type: str | None) -> bool:
    """A rotated record read in ``bbox`` mode whose box cannot be recovered: its COCO ``bbox``
    encloses the rotated box, so turning it again would be wrong (read axis-aligned, reported)."""
    return (annotation_type == "bbox" and is_rotation(annotation.rotation)
            and unrotated_box(annotation.segmentation, annotation.bbox, annotation.rotation) is None)


def is_rotation(value: object) -> bool:
    return type(value) in (int, float) and value != 0 and is_number(value)


def unrotated_box(segmentation: object, box: object, rotation: float) -> list | None:
    """``[x1, y1, x2, y2]`` of the box a rotated COCO record was written from: from its ring of the
    4 rotated corners (checked against ``rotation``), else from its enclosing ``bbox``; None when
    neither gives it (a ring of another shape, a box turned by 45°)."""
    theta = np.radians(float(rotation))
    ring = segmentation[0] if type(segmentation) is list and len(segmentation) == 1 else None
    if is_numbers(ring, 10) and ring[:2] == ring[8:]:
        corners = np.array(ring[:8], np.float64).reshape(4, 2)
        top, side = corners[1] - corners[0], corners[2] - corners[1]
        width, height = np.hypot(*top), np.hypot(*side)
        along = abs(top[0] * np.sin(theta) - top[1] * np.cos(theta))  # 0 when the top edge turned by rotation
        if along > 1e-4 * max(width, 1) or abs(top @ side) > 1e-4 * max(width * height, 1):
            return None
        centre = corners.mean(axis=0)
    elif is_numbers(box, 4):
        cos, sin = abs(np.cos(theta)), abs(np.sin(theta))
        if abs(cos * cos - sin * sin) < 1e-6:
            return None
        width = (box[2] * cos - box[3] * sin) / (cos * cos - sin * sin)
        height = (box[3] * cos - box[2] * sin) / (cos * cos - sin * sin)
        centre = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])
        if width < 0 or height < 0:
            return None
    else:
        return None
    values = python_round(np.array([centre[0] - width / 2, centre[1] - height / 2,
                                    centre[0] + width / 2, centre[1] + height / 2]))
    return integral_to_int(values)


def shape_by_content(segmentation: object, box: object, size: tuple[int, int]) -> tuple[str, list] | None:
    if isinstance(segmentation, dict):
        return rle_segmentation(segmentation, size)
    polygons = [s for s in segmentation or [] if is_polygon(s)]
    if len(polygons) > 1:
        return "segmentation", [[p if p[:2] == p[-2:] else p + p[:2]] for p in polygons]
    if len(polygons) == 1 and rectangle_corners(polygons[0]) is not None:
        return "bbox", rectangle_corners(polygons[0])
    if polygons:
        return "polygon", list(polygons[0])
    return ("bbox", [box[0], box[1], box[0] + box[2], box[1] + box[3]]) if is_numbers(box, 4) else None


def is_polygon(values: object) -> bool:
    """An even list of at least 6 finite numbers."""
    return is_numbers(values) and len(values) >= 6 and len(values) % 2 == 0


def unusable_polygons(segmentation: object) -> int:
    """How many polygons of a segmentation list :func:`shape_by_content` leaves out (not an even
    list of at least 6 finite numbers)."""
    return sum(not is_polygon(polygon) for polygon in segmentation) if type(segmentation) is list else 0


def rectangle_corners(ring: list) -> list | None:
    """``[x1, y1, x2, y2]`` when ``ring`` is the closed ring ``x1,y1,x2,y1,x2,y2,x1,y2,x1,y1``
    that the COCO export writes for a bbox."""
    if len(ring) != 10:
        return None
    x1, y1, x2, y2 = ring[0], ring[1], ring[4], ring[5]
    return [x1, y1, x2, y2] if ring == [x1, y1, x2, y1, x2, y2, x1, y2, x1, y1] and x1 != x2 and y1 != y2 else None


def keypoint_keys(names: object, count: int) -> list[str]:
    """The keys of ``count`` keypoint triplets: the category's ``keypoints`` names, then (for a
    category with fewer names, or none) the 1-based positions as strings."""
    names = [str(n) for n in names] if type(names) is list else []
    return names[:count] + [str(position) for position in range(len(names) + 1, count + 1)]


def _carried_keypoints(annotation, category: CocoCategory) -> list[dict] | None:
    """Every keypoint of a record's category (see :func:`keypoint_keys`) in order: ``[x, y, v − 1]``
    when labelled, else an empty value; each with the ``edges`` of the skeleton when the category has
    one. None when the record has no keypoint triplets."""
    values = annotation.keypoints
    if type(values) is not list or not values:
        return None
    keys = keypoint_keys(category.names, max(len(values) // 3, len(category.names)))
    edges = _edges(category.pairs, keys)
    keypoints = []
    for index, key in enumerate(keys):
        keypoint = {"key": key, "value": _keypoint_value(values[3 * index:3 * index + 3], annotation.id)}
        if edges is not None:
            keypoint["edges"] = edges[index]
        keypoints.append(keypoint)
    return keypoints


def _edges(pairs: Sequence[tuple[int, int]], keys: list[str]) -> list[list[str]] | None:
    """Per key, the keys its skeleton pairs lead to (None without a skeleton)."""
    if not pairs:
        return None
    edges: list[list[str]] = [[] for _ in keys]
    for origin, target in pairs:
        if origin < len(keys) and target < len(keys):
            edges[origin].append(keys[target])
    return edges


def _keypoint_value(triplet: list, annotation_id: object) -> list:
    """FastLabel's ``[x, y, visible]`` of a COCO triplet; ``[]`` when not labelled (v = 0 or missing)."""
    if len(triplet) < 3 or triplet[2] == 0:  # missing triplets count as not labelled
        return []
    if triplet[2] not in (1, 2):
        raise FormatError(f"Visibility flag must be 0 or 1, 2 . annotation_id: {annotation_id}")
    if not (is_number(triplet[0]) and is_number(triplet[1])):
        raise FormatError(f"keypoint coordinates {brief(triplet[0])}, {brief(triplet[1])} are not finite numbers")
    return [triplet[0], triplet[1], triplet[2] - 1]


def _pose_from_coco(annotation, category: CocoCategory) -> dict:
    """The pose of a COCO keypoint annotation in the SDK's ``pose_estimation`` mode: unlabelled
    triplets (v = 0) left out, as the SDK does, when the category names its keypoints; when the keys
    are positions (a category without names) they are kept with an empty value, so that the
    positions survive an export."""
    values = annotation.keypoints if type(annotation.keypoints) is list else []
    named = len(category.names)
    keypoints = []
    for index, key in enumerate(keypoint_keys(category.names, max(len(values) // 3, named))):
        value = _keypoint_value(values[3 * index:3 * index + 3], annotation.id)
        if value or index >= named:
            keypoints.append({"key": key, "value": value})
    return _pose(category.value, keypoints, annotation)
