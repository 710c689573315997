"""FastLabel <-> labelme JSON (labelme 3.x to 5.x, X-AnyLabeling): every region of a segmentation is written."""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
import posixpath
import re
from collections import Counter
from itertools import chain
from pathlib import Path

import numpy as np

from .errors import FormatError, where
from .files import dump_json, is_remote, read_json
from .geometry import integral_to_int
from .report import ConversionReport
from .run import PerImageTarget, export_alone, kept_parts
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .table import AnnotationTable
from .tasks import Frame
from .validation import RING_TYPES, is_number

LABELME_VERSION = "4.5.9"
SHAPE_TYPES = {"polygon": "polygon", "segmentation": "polygon", "bbox": "rectangle",
               "keypoint": "point", "line": "line", "circle": "circle"}
MIN_POINTS = {"polygon": 3, "rectangle": 2, "point": 1, "line": 2, "linestrip": 2, "circle": 2}  # labelme's shape rules
LABELME_POLICY = Policy((*SHAPE_TYPES, "classification"), pointless=("classification",), skip_degenerate=False,
                        holes="segmentation holes dropped", rotation="bbox rotation dropped")
TOO_FEW_POINTS = "{kind} with too few points for a labelme shape, skipped"
FLAG_AS_TEXT = "classification whose value is not text written as the image flag of its text"
ATTRIBUTES_LOST = ("attributes that are not switches not representable in labelme (switches are shape flags, "
                   "a group_id attribute the group id)")


@gc_paused
def to_labelme(tasks: object, *, image_dir: str | os.PathLike[str] | None = None,
               report: ConversionReport | None = None) -> list[dict]:
    """One labelme document per task, in task order (``imagePath``: see :func:`export_labelme`)."""
    report = report or ConversionReport("labelme")
    target = LabelmeTarget(".", image_dir=image_dir)
    parts = kept_parts(tasks, target, lambda table, plan, report, ids: target.documents(table, report), report)
    return [document for documents in parts for document in documents]


@gc_paused
def export_labelme(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelme"),
    *,
    image_dir: str | os.PathLike[str] | None = None,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``<task name without extension>.json`` per task (``indent=4``: the official SDK's exact
    bytes; ``jobs=N``: in N worker processes). ``imagePath`` is relative to the JSON file, as
    labelme reads it: the image's file name (the JSON beside its image), or with ``image_dir``
    the path from the JSON's folder to ``image_dir/<task name>``."""
    return export_alone(tasks, LabelmeTarget(output_dir, image_dir=image_dir, indent=indent), strict=strict, jobs=jobs,
                        scheduler=scheduler, progress=progress, overwrite=overwrite)


class LabelmeTarget(PerImageTarget):
    """One labelme document per image task."""

    name = "labelme"
    geometry = RING_TYPES
    suffix = ".json"

    def __init__(self, output_dir, *, image_dir: str | os.PathLike[str] | None = None,
                 indent: int | None = None) -> None:
        super().__init__(output_dir)
        self.image_dir, self.indent = image_dir, indent

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [dump_json(document, self.indent) for document in self.documents(table, report)]

    def image_path(self, task_name: str) -> str:
        """``imagePath`` of a task's document, relative to the document."""
        if self.image_dir is None:
            return posixpath.basename(task_name)
        document_dir = os.path.dirname(os.path.join(str(self.published_dir), task_name))
        return Path(os.path.relpath(os.path.join(str(self.image_dir), task_name), document_dir)).as_posix()

    def frame_size(self, frame: Frame, source: str, report: ConversionReport) -> tuple[int, int]:
        """``(width, height)`` of a frame: the task's, else read from its image in ``image_dir``."""
        image = None if self.image_dir is None or is_remote(self.image_dir) else \
            Path(self.image_dir) / frame.file_name
        if image is not None and not image.is_file():
            report.note("image file missing from the image folder (imagePath names it anyway)",
                        where(source, frame.name))
        elif image is not None and not (frame.width and frame.height):
            return image_header_size(image) or (frame.width, frame.height)
        return frame.width, frame.height

    def documents(self, table: AnnotationTable, report: ConversionReport) -> list[dict]:
        """The labelme documents of the tasks of a table."""
        sizes = [self.frame_size(frame, table.source, report) for frame in table.frames]
        for frame, (width, height) in zip(table.frames, sizes):
            if not (width and height):
                report.note("image with width or height 0 written with that size (labelme reads it from the image)",
                            where(table.source, frame.name))
        shapes, flags = build_shapes(table, report)
        return [
            {
                "version": LABELME_VERSION, "flags": frame_flags, "shapes": frame_shapes,
                "imagePath": self.image_path(frame.file_name), "imageData": None,
                "imageHeight": height, "imageWidth": width,
            }
            for frame, frame_shapes, frame_flags, (width, height) in zip(table.frames, shapes, flags, sizes)
        ]


def _pairs(ring: list) -> list[list]:
    return [list(pair) for pair in zip(ring[0::2], ring[1::2])]


def shape_flags(annotation: dict) -> tuple[dict, int | None, bool]:
    """The switch attributes of an annotation as labelme shape flags, its ``group_id`` attribute as
    a labelme group id, and whether other attributes are lost."""
    flags, group_id, lost = {}, None, False
    for attribute in annotation.get("attributes") or ():
        key, value = attribute.get("key"), attribute.get("value")
        if isinstance(value, bool):
            flags[key] = value
        elif key == GROUP_KEY and group_id is None and _whole_number(value) is not None:
            group_id = _whole_number(value)
        else:
            lost = True
    return flags, group_id, lost


def _whole_number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value) else None


def labelme_shapes(kind: str, value: object, points: list, group_id: int | None = None,
                   flags: dict | None = None) -> list[dict]:
    """The labelme shapes of one annotation: a segmentation gives one polygon per region (sharing
    ``group_id``), a line of more than two points a ``linestrip``, a circle its centre and the point
    one radius to its right; shapes with fewer points than
    labelme accepts are left out."""
    rings = [region[0] for region in points if region] if kind == "segmentation" else [points]
    if kind == "circle":  # labelme's circle: its centre and a point on its edge
        rings = [[points[0], points[1], points[0] + points[2], points[1]]]
    shape_type = "linestrip" if kind == "line" and len(points) != 4 else SHAPE_TYPES[kind]
    return [
        {"label": value, "points": _pairs(ring), "group_id": group_id, "shape_type": shape_type,
         "flags": dict(flags or {})}
        for ring in rings if len(ring) // 2 >= MIN_POINTS[shape_type]
    ]


def build_shapes(table: AnnotationTable, report: ConversionReport) -> tuple[list[list[dict]], list[dict]]:
    """Per frame its shapes and its image flags (one per classification value, set). A ``group_id``
    attribute is the shapes' group id; a segmentation of several regions without one gets the next
    id above the frame's others."""
    keep = apply_policy(table, LABELME_POLICY, report)
    rows = np.flatnonzero(keep).tolist()
    extras = {row: shape_flags(table.annotations[row]) for row in rows if table.kinds[row] != "classification"}
    shapes: list[list[dict]] = [[] for _ in table.frames]
    flags: list[dict] = [{} for _ in table.frames]
    last_group = [0] * len(table.frames)  # the highest group id of each frame so far
    for row, (_, group_id, _) in extras.items():
        if group_id is not None:
            last_group[table.frame[row]] = max(last_group[table.frame[row]], group_id)
    too_few, attributes_lost, as_text = (np.zeros(len(table), bool) for _ in range(3))
    for row in rows:
        annotation, kind, frame = table.annotations[row], table.kinds[row], table.frame[row]
        if kind == "classification":
            value = annotation.get("value")
            flags[frame][value if type(value) is str else str(value)] = True  # a JSON key is text
            as_text[row] = type(value) is not str
            continue
        own_flags, group_id, attributes_lost[row] = extras[row]
        if group_id is None and kind == "segmentation" and len(table.points[row]) > 1:
            last_group[frame] += 1
            group_id = last_group[frame]
        made = labelme_shapes(kind, annotation.get("value"), table.points[row], group_id, own_flags)
        too_few[row] = len(made) < (len([r for r in table.points[row] if r]) if kind == "segmentation" else 1)
        shapes[frame] += made
    table.note(report, too_few, TOO_FEW_POINTS)
    table.note(report, attributes_lost, ATTRIBUTES_LOST)
    table.note(report, as_text, FLAG_AS_TEXT)
    return shapes, flags


# labelme -> FastLabel: linestrip -> line, circle -> [cx, cy, r]; labelme 3.x shapes without a
# shape_type are polygons (as labelme <= 5 reads them); X-AnyLabeling rectangles of 4 corners are boxes

IMPORT_SHAPE_TYPES = {"rectangle": "bbox", "polygon": "polygon", "point": "keypoint", "line": "line",
                      "linestrip": "line", "circle": "circle", "rotation": "bbox"}
POINT_COUNTS = {"rectangle": (2, 4), "point": (1,), "circle": (2,), "rotation": (4,)}  # else at least MIN_POINTS
GROUP_KEY = "group_id"  # the attribute that keeps a labelme group_id linking several annotations
NOT_KEPT_SHAPE_KEYS = ("description", "score", "kie_linking")  # labelme 5 / X-AnyLabeling extras
HEADER_CHARACTERS = 1 << 16  # base64 characters of imageData decoded to read the image size


def _point_pairs(points: object) -> tuple[list | None, str | None]:
    """``points`` as ``[[x, y], …]`` of finite numbers, or None and why not."""
    if not isinstance(points, list):
        return None, "shape whose points are not a list, skipped"
    if _plain_pairs(points):
        return points, None
    for point in points:
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            if isinstance(point, (list, tuple)) and len(point) == 3:
                return None, "shape with 3-D points (x, y, z), skipped (labelme points are x, y pairs)"
            return None, "shape with points that are not x, y pairs, skipped"
        if not all(is_number(v) and not isinstance(v, bool) and math.isfinite(v) for v in point):
            return None, "shape with points that are not finite numbers, skipped"
    return points, None


def _plain_pairs(points: list) -> bool:
    """True when every point is a list of two finite ints or floats (checked in bulk)."""
    return _plain_flat(points) is not None


def _plain_flat(points: list) -> list | None:
    """:func:`_flat` of plain pairs (see :func:`_plain_pairs`), or None for any other points (a sum
    that is finite has only finite terms; one that overflows leaves the points to the careful check)."""
    if not all([type(point) is list and len(point) == 2 for point in points]):
        return None
    flat = list(chain.from_iterable(points))
    types = set(map(type, flat))
    if not types <= _NUMBER_TYPES:
        return None
    try:
        if not math.isfinite(sum(map(float, flat))):
            return None
    except OverflowError:  # an int beyond a float's range (summed as ints, two could cancel out)
        return None
    return flat if len(types) <= 1 else np.asarray(points).ravel().tolist()


_NUMBER_TYPES = {int, float}


def _flat(points: list) -> list:
    """The coordinates in one list: every one a float when any is (as the SDK, through numpy)."""
    flat = list(chain.from_iterable(points))
    if len(set(map(type, flat))) <= 1:
        return flat
    return np.asarray(points).ravel().tolist()


@np.errstate(all="ignore")  # huge coordinates: an infinite radius, found by the caller
def _circle(points: list) -> list:
    (cx, cy), (px, py) = np.asarray(points, dtype=np.float64)
    radius = float(np.hypot(px - cx, py - cy))
    return [*_flat(points)[:2], int(radius) if radius.is_integer() else radius]


def _corner_box(points: list) -> tuple[str, list]:
    """An X-AnyLabeling rectangle of 4 corners: the box of its corners when they are one, else a polygon."""
    xs, ys = sorted({p[0] for p in points}), sorted({p[1] for p in points})
    corners = {(x, y) for x in xs for y in ys}
    if len(xs) == len(ys) == 2 and {tuple(p) for p in points} == corners:
        flat = _flat([[xs[0], ys[0]], [xs[1], ys[1]]])
        return "bbox", flat
    return "polygon", _flat(points)


@np.errstate(all="ignore")  # huge coordinates: an infinite side, found below
def _rotated_box(points: list) -> tuple[str, list, float] | None:
    """An X-AnyLabeling ``rotation`` shape (4 corners in order) as ``("bbox", [x1, y1, x2, y2],
    degrees)``: the unrotated box about the corners' centre and its clockwise turn; None when
    the corners are no rectangle."""
    corners = np.asarray(points, dtype=np.float64)
    sides = np.roll(corners, -1, axis=0) - corners
    lengths = np.hypot(sides[:, 0], sides[:, 1])
    scale = max(float(lengths.max()), 1e-12)
    dots = np.einsum("ij,ij->i", sides, np.roll(sides, -1, axis=0))
    if np.abs(dots).max() > 1e-6 * scale * scale or abs(lengths[0] - lengths[2]) > 1e-6 * scale:
        return None
    (centre_x, centre_y), width, height = corners.mean(axis=0), lengths[0] / 2, lengths[1] / 2
    degrees = math.degrees(math.atan2(sides[0, 1], sides[0, 0])) % 360
    box = np.asarray([centre_x - width, centre_y - height, centre_x + width, centre_y + height])
    return ("bbox", integral_to_int(box), float(degrees)) if np.isfinite(box).all() else None


def _shape_geometry(shape_type: str, points: list) -> tuple | str:
    """``(FastLabel type, flat points[, rotation])`` of a shape, or why it cannot be one."""
    counts = POINT_COUNTS.get(shape_type)
    if counts is not None and len(points) not in counts or len(points) < MIN_POINTS.get(shape_type, 1):
        return f"{shape_type} with {len(points)} point(s), skipped (labelme's rules)"
    if shape_type == "circle":
        circle = _circle(points)
        return ("circle", circle) if math.isfinite(circle[2]) else "circle whose radius overflows, skipped"
    if shape_type == "rectangle" and len(points) == 4:
        return _corner_box(points)
    if shape_type == "rotation":
        return _rotated_box(points) or "rotation whose 4 points are not the corners of a box, skipped"
    return IMPORT_SHAPE_TYPES[shape_type], _flat(points)


def _switches(flags: dict) -> list[dict]:
    """Shape flags as FastLabel switch attributes."""
    return [{"key": key, "value": value, "type": "switch"} for key, value in flags.items()]


def _shape_attributes(shape: dict, place: str, report: ConversionReport) -> list[dict]:
    """Shape flags and X-AnyLabeling's ``difficult`` / ``attributes`` as FastLabel attributes."""
    attributes = []
    flags = shape.get("flags")
    if isinstance(flags, dict):
        attributes += _switches(flags)
    if shape.get("difficult") is True:
        attributes.append({"key": "difficult", "value": True, "type": "switch"})
    extra = shape.get("attributes")
    if isinstance(extra, dict):
        attributes += [{"key": str(key), "value": value, "type": "switch" if isinstance(value, bool) else "text"}
                       for key, value in extra.items()]
    for key in NOT_KEPT_SHAPE_KEYS:
        if shape.get(key) not in (None, "", [], {}):
            report.note(f"shape {key} not kept", place)
    return attributes


def _shape_annotation(shape: object, place: str, report: ConversionReport) -> dict | None:
    """The annotation of one labelme shape, or None (reported) when it cannot be one."""
    if not isinstance(shape, dict):
        report.note("shape that is not an object, skipped", place)
        return None
    shape_type = shape.get("shape_type") or "polygon"  # labelme 3.x: no shape_type, a polygon
    if type(shape_type) is not str or shape_type not in IMPORT_SHAPE_TYPES:
        report.note(f"labelme shape_type {shape_type!r:.40} not supported, skipped", place)
        return None
    label = shape.get("label")
    if is_number(label) and not isinstance(label, bool):
        label = str(label)  # a label that JSON holds as a number
    if not label or not isinstance(label, str):
        report.note("shape without a label, skipped" if not label else "shape whose label is not text, skipped", place)
        return None
    points, problem = _point_pairs(shape.get("points") or [])
    geometry = problem or _shape_geometry(shape_type, points)
    if isinstance(geometry, str):
        report.note(geometry, place)
        return None
    kind, flat, *turn = geometry
    if shape_type == "rectangle" and kind == "polygon":
        report.note("rectangle of 4 points that are not the corners of a box, read as a polygon", place)
    annotation = {"value": label, "points": flat, "type": kind}
    if turn and turn[0]:
        annotation["rotation"] = int(turn[0]) if float(turn[0]).is_integer() else turn[0]
    attributes = _shape_attributes(shape, place, report)
    if attributes:
        annotation["attributes"] = attributes
    return annotation


def _group(shape: dict, place: str, report: ConversionReport) -> int | None:
    """The shape's ``group_id`` (labelme's is a number or null); any other value is read as none."""
    group_id = shape.get("group_id")
    if group_id is not None and (isinstance(group_id, bool) or not isinstance(group_id, int)):
        report.note("shape with a group_id that is not a whole number, read without its group", place)
        return None
    return group_id


def _closed(ring: list) -> list:
    return ring if ring[:2] == ring[-2:] else ring + ring[:2]


def _merge_groups(entries: list[tuple[dict, int | None]]) -> list[tuple[dict, int | None]]:
    """Polygons sharing a label and a ``group_id`` as one segmentation (one region each)."""
    kept, groups = [], {}
    for annotation, group_id in entries:
        key = (annotation["value"], group_id)
        if annotation["type"] != "polygon" or group_id is None:
            kept.append((annotation, group_id))
        elif key in groups:
            group = groups[key]
            if group["type"] == "polygon":  # its second region: a segmentation from now on
                group["type"], group["points"] = "segmentation", [[_closed(group["points"])]]
            group["points"].append([_closed(annotation["points"])])
        else:
            groups[key] = annotation
            kept.append((annotation, group_id))
    return kept


def _with_groups(entries: list[tuple[dict, int | None]]) -> list[dict]:
    """The annotations, each with a ``group_id`` attribute when its group says more than its own
    regions: a shape's group, except the group of a segmentation that no other annotation shares."""
    sharing = Counter(group_id for _, group_id in entries if group_id is not None)
    annotations = []
    for annotation, group_id in entries:
        if group_id is not None and (annotation["type"] != "segmentation" or sharing[group_id] > 1):
            group = {"key": GROUP_KEY, "value": str(group_id), "type": "text"}
            annotation["attributes"] = [*annotation.get("attributes", ()), group]
        annotations.append(annotation)
    return annotations


def labelme_annotations(document: dict, place: str, report: ConversionReport) -> list[dict]:
    """The FastLabel annotations of one labelme document: polygons sharing a label and a
    ``group_id`` become one segmentation (one region each), other group ids a ``group_id`` text
    attribute, shape flags switch attributes, image flags that are set classification annotations.
    A shape that cannot be read is skipped and reported with its index."""
    entries = []
    for position, shape in enumerate(document.get("shapes") or []):
        entry = _plain_shape(shape)
        if entry is None:
            annotation = _shape_annotation(shape, f"{place} shape #{position}", report)
            if annotation is None:
                continue
            entry = annotation, _group(shape, f"{place} shape #{position}", report)
        entries.append(entry)
    return _with_groups(_merge_groups(entries)) + _flag_annotations(document, place, report)


# the shapes read at once: shape_type -> (FastLabel type, fewest points, exact number of points or 0)
PLAIN_SHAPES = {kind: (IMPORT_SHAPE_TYPES[kind], MIN_POINTS[kind], min(POINT_COUNTS.get(kind, (0,))))
                for kind in ("polygon", "linestrip", "line", "point", "rectangle")}
PLAIN_SHAPE_KEYS = frozenset(("label", "points", "group_id", "shape_type", "flags", "description", "mask"))


def _plain_shape(shape: object) -> tuple[dict, int | None] | None:
    """``(annotation, group id)`` of a common shape (a text label, plain points of a polygon, line,
    point or 2-point rectangle, flags, a whole-number group id, nothing else to report), as
    :func:`_shape_annotation` and :func:`_group` read it; None for any other (read by them)."""
    if type(shape) is not dict or not PLAIN_SHAPE_KEYS.issuperset(shape) or shape.get("description") not in (None, ""):
        return None
    field = shape.get
    shape_type, label, points, group_id = field("shape_type") or "polygon", field("label"), field("points"), \
        field("group_id")
    plain = PLAIN_SHAPES.get(shape_type) if type(shape_type) is str else None
    if plain is None or type(label) is not str or not label or type(points) is not list \
            or not (group_id is None or type(group_id) is int):
        return None
    kind, fewest, exact = plain
    flat = _plain_flat(points) if len(points) >= fewest and not (exact and len(points) != exact) else None
    if flat is None:
        return None
    annotation = {"value": label, "points": flat, "type": kind}
    flags = field("flags")
    if type(flags) is dict and flags:
        annotation["attributes"] = _switches(flags)
    return annotation, group_id


def _flag_annotations(document: dict, place: str, report: ConversionReport) -> list[dict]:
    flags = document.get("flags")
    if not isinstance(flags, dict):
        return []
    unset = [name for name, value in flags.items() if not value]
    if unset:
        report.note("labelme image flags that are not set, not kept (set ones become classifications)", place)
    return [{"value": name, "type": "classification", "attributes": []} for name, value in flags.items() if value]


def _stated_size(document: dict, key: str) -> int | None:
    """``imageWidth`` / ``imageHeight`` when it is a whole number > 0; None when absent or <= 0
    (the SDK writes 0, X-AnyLabeling -1 for unknown)."""
    value = document.get(key)
    return int(value) if is_number(value) and not isinstance(value, bool) and value > 0 else None


def _size_problem(document: dict) -> str | None:
    """What is wrong with the document's ``imageWidth`` / ``imageHeight``, if anything."""
    for key in ("imageWidth", "imageHeight"):
        value = document.get(key)
        if value is not None and (isinstance(value, bool) or not is_number(value) or not math.isfinite(value)
                                  or (value > 0 and int(value) != value)):
            return f"{key} must be a whole number >= 0, got {value!r:.40}"
    return None


def image_header_size(image: bytes | Path) -> tuple[int, int] | None:
    """``(width, height)`` from the header of an image (its bytes or its file; the pixels are not
    decoded), or None when it is no image that Pillow reads."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as opened:
            return opened.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _embedded_size(image_data: object) -> tuple[int, int] | None:
    """The size of the base64 image in ``imageData``: from its first bytes, else from all of it."""
    if not isinstance(image_data, str) or not image_data:
        return None
    for text in (image_data[:HEADER_CHARACTERS], image_data):
        try:
            size = image_header_size(base64.b64decode(text[: len(text) // 4 * 4]))
        except (binascii.Error, ValueError):
            return None
        if size is not None:
            return size
    return None


def _image_file_size(path: Path, image_path: object) -> tuple[int, int] | None:
    """The size of the image ``imagePath`` names, relative to the labelme file (labelme's rule)."""
    if not isinstance(image_path, str) or not image_path:
        return None
    image = path.parent / image_path.replace("\\", "/")
    return image_header_size(image) if image.is_file() else None


def _document_size(document: dict, path: Path) -> tuple[int, int]:
    """``(width, height)``: as the document states, else from ``imageData``, else from the image
    file, else 0 x 0 (which every target reports)."""
    stated = _stated_size(document, "imageWidth"), _stated_size(document, "imageHeight")
    if None not in stated:
        return stated
    return _embedded_size(document.get("imageData")) or _image_file_size(path, document.get("imagePath")) or (0, 0)


def _labelme_document(path: Path) -> tuple[dict | None, str, str]:
    """The labelme document of a JSON file, or None, why it is not one and the details."""
    not_labelme = "JSON file that is not a labelme file, skipped"
    try:
        document = read_json(path, "the labelme file")
    except FormatError as error:
        return None, "not valid JSON, skipped", str(error).removeprefix(f"{path}: ")[:160]
    if not isinstance(document, dict):
        return None, not_labelme, f"a labelme file holds an object, not {type(document).__name__}"
    if "shapes" not in document:
        return None, not_labelme, "a COCO file" if "images" in document and "annotations" in document else \
            "no 'shapes'"
    if not isinstance(document["shapes"], list):
        return None, "labelme file with broken fields, skipped", \
            f"'shapes' must be a list, got {type(document['shapes']).__name__}"
    problem = _size_problem(document)
    return (None, "labelme file with broken fields, skipped", problem) if problem else (document, "", "")


def skipped_file(report: ConversionReport, path: Path, kind: str, detail: str) -> str:
    """Report a skipped input file; the text naming it for an error."""
    report.note(kind, f"{path} ({detail})" if detail else str(path))
    return f"{path}: {kind}" + (f" ({detail})" if detail else "")


@gc_paused
def labelme_to_fastlabel(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> dict[str, list[dict]]:
    """``{image path: [annotations]}`` of every labelme ``*.json`` under ``folder_path`` (keys sorted;
    the final ``.json`` replaced by the extension of ``imagePath``)."""
    return {t["name"]: t["annotations"] for t in labelme_tasks(folder_path, report=report, strict=strict)}


@gc_paused
def labelme_tasks(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a labelme folder, sorted by name. JSON
    files that are not labelme documents (COCO files, lists, broken JSON) are skipped and reported;
    FormatError when there were JSON files and none was a labelme document."""
    report = report or ConversionReport("labelme import", strict=strict)
    folder = Path(folder_path)
    results: dict[str, dict] = {}
    first_skip = None
    for path in sorted(folder.rglob("*.json")):
        document, why_not, detail = _labelme_document(path)
        if document is None:
            skipped = skipped_file(report, path, why_not, detail)
            first_skip = first_skip or skipped
            continue
        extension = os.path.splitext(str(document.get("imagePath") or ""))[1]
        key = os.path.splitext(path.relative_to(folder).as_posix())[0] + extension
        width, height = _document_size(document, path)
        results[key] = {"name": key, "width": width, "height": height,
                        "annotations": labelme_annotations(document, str(path), report)}
    if not results and first_skip:
        raise FormatError(f"{folder}: no labelme file found, e.g. {first_skip}")
    return [results[key] for key in sorted(results)]
