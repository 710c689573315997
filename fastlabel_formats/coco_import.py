"""COCO -> FastLabel (with the official SDK's defects fixed), and with
``annotation_type=None`` each annotation by its shape. The writing side is :mod:`fastlabel_formats.coco`.

How FastLabel carries a COCO record (``annotation_type=None``): **one record is one FastLabel
annotation**, so that ``export_coco`` writes it back as one record. Its geometry gives the type (an RLE
mask: a segmentation with its holes; several polygons: a segmentation; one polygon: a polygon; the
closed rectangle ring ``export_coco`` writes for a box, or a lone ``bbox``: a bbox), and a record with
``keypoints`` carries them on that annotation, as FastLabel's bbox with keypoints does: every keypoint
of its category in the category's order (unlabelled ones with an empty ``value``, so that the
category's keypoint list comes back whole), each with the ``edges`` of the category's ``skeleton``
(numbered from 1 as COCO does; a skeleton that uses 0 is read as numbered from 0). A record whose only
geometry is the box of its labelled keypoints (what ``export_coco`` writes for a pose) is a
pose_estimation. ``iscrowd: 1`` is the switch attribute ``iscrowd``; a ``bbox`` that is not the bounds
of the record's segmentation (OCHuman's boxes are drawn apart from the masks) the attribute
``coco_bbox`` (``[x, y, w, h]``), which ``export_coco`` writes back as the record's ``bbox``.

Whatever is skipped or changed is a finding of the ``report`` with its place: duplicate category ids
(the first category kept), image ids and file names (one file name is one task: the annotations of
every image entry with it are joined), duplicate annotation ids, RLE masks whose size is not their
image's or whose counts do not cover exactly that size, image sizes that are not whole numbers; and a
file whose annotation records were all skipped says so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

import msgspec
import numpy as np

from .coco_rle import SkippedRecord, brief, rle_segmentation, whole_number
from .coco_rle import string_counts as string_counts  # the RLE reader's own check, tested on its own
from .errors import FormatError
from .files import read_bytes, read_json
from .geometry import integral_to_int, python_round
from .report import ConversionReport
from .runtime import gc_paused
from .table_readers import vouch
from .validation import is_number

IMPORT_TYPES = ("bbox", "polygon", "pose_estimation")
PANOPTIC = "COCO panoptic annotation not read (its segments are in a PNG; use a COCO instances file)"
ROTATION_LOST = "rotated box without the ring of its corners read as its enclosing axis-aligned box"
POSE_GEOMETRY_DROPPED = ("bbox / segmentation of a keypoint annotation not kept in the pose_estimation mode "
                         "(annotation_type=None keeps both)")
NO_GEOMETRY = "annotation without a usable bbox or polygon, skipped"
# the finding of a file that had annotation records but gave none (the reasons are findings of their own)
ALL_SKIPPED = "none of the file's annotation records read (each skipped, for the reasons listed)"
# the attribute that carries a record's COCO bbox when it is not the bounds of its segmentation
# (``export_coco`` writes it back as the record's ``bbox``)
COCO_BBOX = "coco_bbox"
MAX_ATTRIBUTE_DEPTH = 32  # lists or objects in an attribute value; a deeper one skips its record
BOX_TOLERANCE = 0.5  # pixels a bbox may differ from its segmentation's bounds (rounding) and not be carried


@gc_paused
def coco_to_fastlabel(coco: dict | str | os.PathLike[str], annotation_type: str | None = None,
                      **options) -> dict[str, list[dict]]:
    """``{image file_name: [FastLabel annotations]}`` in ``images`` order, in linear time; the
    ``options`` (``report``, ``strict``) are :func:`coco_tasks`'.

    ``annotation_type`` ``"bbox"`` / ``"polygon"`` / ``"pose_estimation"`` behaves like the official
    SDK (defects fixed); ``None`` gives one annotation per record (see the module's docstring):
    RLE → segmentation with holes, several polygons → one segmentation, a rectangle ring or a lone
    bbox → bbox, one polygon → polygon, each carrying the record's keypoints; only keypoints →
    pose_estimation. Skipped annotations are counted in ``report``.
    """
    tasks = coco_tasks(coco, annotation_type, **options)
    return {t["name"]: t["annotations"] for t in tasks}


@gc_paused
def coco_tasks(
    coco: dict | str | os.PathLike[str],
    annotation_type: str | None = None,
    *,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a COCO file; see coco_to_fastlabel.
    A file whose annotation records were all skipped gets a finding saying so (beside the reasons)."""
    if annotation_type is not None and annotation_type not in IMPORT_TYPES:
        raise FormatError(f"annotation_type must be one of {IMPORT_TYPES} or None, got {annotation_type!r}")
    images, categories_list, annotations, source, owned = _coco_parts(coco, annotation_type)
    report = report or ConversionReport("coco import", strict=strict)
    tasks, targets, sizes, shared = _empty_tasks(images, source, report)
    reading = _Reading(source, annotation_type, owned, _categories(categories_list, source, report), sizes, report)
    read = _read_annotations(annotations, targets, reading)
    if annotations and not read:
        report.note(ALL_SKIPPED, f"{source} ({len(annotations):,} annotation records)")
    if shared:  # images sharing an id get equal, separate lists
        return [{**task, "annotations": list(task["annotations"])} for task in tasks.values()]
    read_tasks = list(tasks.values())
    vouch(read_tasks, [id(task["annotations"]) not in reading.careful for task in read_tasks])
    return read_tasks


@dataclass(frozen=True)
class CocoCategory:
    """What a COCO category gives its annotations: the class value, its keypoint names and its
    skeleton as 0-based ``(from, to)`` keypoint positions."""

    value: object
    names: list[str]
    pairs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class _Reading:
    """One COCO file being read: where from, how, and its lookups."""

    source: str
    annotation_type: str | None
    owned: bool
    categories: dict
    sizes: dict  # image id -> (width, height)
    report: ConversionReport
    careful: set = field(default_factory=set)  # id() of each annotation list given a record _read_one read


def _read_annotations(annotations: list, targets: dict, reading: _Reading) -> int:
    """Add each record's annotations to its image's list; the number of records read."""
    source, report = reading.source, reading.report
    missing: dict = {}
    seen_ids: dict = {}
    read, plain = 0, reading.annotation_type is None  # the mode whose common records are read at once
    for position, annotation in enumerate(annotations):
        if annotation is None:
            report.note("annotation that is not an object, skipped", f"{source}: annotation #{position}")
            continue
        record_id, image_id = annotation.id, annotation.image_id
        if type(record_id) in _KEYS:
            if record_id in seen_ids:
                report.note("annotation id given twice (both read)", f"{source}: annotation #{position} "
                            f"(id {record_id!r}, as annotation #{seen_ids[record_id]})")
            seen_ids.setdefault(record_id, position)
        target = targets.get(image_id) if type(image_id) in _KEYS or _is_key(image_id) else None
        if target is None:
            missing.setdefault(image_id if _is_key(image_id) else brief(image_id), []).append(position)
            continue
        converted = _plain_record(annotation, reading) if plain else None
        if converted is None:
            converted = _read_one(annotation, f"{source}: annotation #{position}", reading)
            reading.careful.add(id(target))
        if converted is not None:
            target += converted
            read += 1
    for image_id, positions in missing.items():
        report.add("annotation of an image missing from images, skipped", len(positions),
                   [f"{source}: annotation #{p} (image_id {image_id!r})" for p in positions[:5]])
    return read


_KEYS = (int, str, float)  # the types of an id
_PLAIN_VALUES = frozenset((str, bool, int, float, type(None)))  # attribute values that need no checks


def _plain_record(annotation, reading: _Reading) -> list[dict] | None:
    """The annotation of a common record (in mode ``None``: a named category, polygons or a box, flat
    attributes; no keypoints, rotation, crowd flag or RLE mask), read as :func:`_from_coco` reads
    it; None for any other record (read by :func:`_read_one`, which reports what it skips)."""
    keypoints = annotation.keypoints
    if (annotation.segments_info is not None or not (keypoints is None or (type(keypoints) is list and not keypoints))
            or annotation.iscrowd == 1 or not _unrotated(annotation.rotation)):
        return None
    category, attributes, segmentation = _category_of(annotation, reading), annotation.attributes, \
        annotation.segmentation
    if category is None or type(category.value) is not str or not category.value \
            or not (segmentation is None or type(segmentation) is list) or not _flat(attributes, reading.owned):
        return None
    shape = _shape_by_content(segmentation, annotation.bbox, (0, 0))
    if shape is None:
        return None
    out = {"value": category.value, "points": shape[1], "type": shape[0],
           "attributes": [{"key": key, "value": value} for key, value in attributes.items()]
           if type(attributes) is dict else []}
    if _loose_box(annotation, out):
        out["attributes"].append({"key": COCO_BBOX, "value": list(annotation.bbox)})
    return [out]


def _unrotated(rotation: object) -> bool:
    return rotation is None or (type(rotation) in (int, float) and rotation == 0)


def _flat(attributes: object, from_json: bool) -> bool:
    """No attributes (or not an object: none read), or string keys (as JSON's are) with plain values."""
    return type(attributes) is not dict or (set(map(type, attributes.values())) <= _PLAIN_VALUES
                                            and (from_json or all(type(key) is str for key in attributes)))


def _category_of(annotation, reading: _Reading) -> CocoCategory | None:
    category_id = annotation.category_id
    return reading.categories.get(category_id) if isinstance(category_id, (int, str)) else None


def _read_one(annotation, place: str, reading: _Reading) -> list[dict] | None:
    """The FastLabel annotations of one record (None when skipped, reported at ``place``)."""
    report, annotation_type = reading.report, reading.annotation_type
    size = reading.sizes.get(annotation.image_id, (0, 0))
    try:
        converted = _from_coco(annotation, reading, size)
    except SkippedRecord as skipped:
        report.note(skipped.kind, f"{place} ({skipped.detail})" if skipped.detail else place)
        return None
    except FormatError as error:
        if annotation_type is not None:  # the SDK's modes raise, as the SDK does
            raise FormatError(f"{place}: {error}") from None
        report.note("annotation with a malformed value, skipped", f"{place}: {error}")
        return None
    if type(converted) is str:
        report.note(converted, place)
        return None
    if annotation_type == "pose_estimation" and _has_geometry(annotation, reading.owned, size):
        report.note(POSE_GEOMETRY_DROPPED, place)
    elif _enclosing_box_only(annotation, annotation_type):
        report.note(ROTATION_LOST, place)
    elif annotation.rotation not in (None, 0) and not _is_rotation(annotation.rotation):
        report.note("rotation that is not a finite number, dropped", place)
    return converted


def _is_key(value: object) -> bool:
    """An id a COCO file can use: a number or a string (a list or an object cannot match)."""
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _categories(categories: list, source: str, report: ConversionReport) -> dict[object, CocoCategory]:
    """``{id: category}``, each category an object with an id; an id given twice: the first kept."""
    out: dict[object, CocoCategory] = {}
    for number, category in enumerate(categories):
        if not isinstance(category, dict) or not _is_key(category.get("id")):
            raise FormatError(f"{source}: categories[{number}] needs to be an object with an id")
        place = f"{source}: categories[{number}] (id {category['id']!r})"
        if category["id"] in out:
            report.note("category id given twice, the later category ignored", place)
            continue
        out[category["id"]] = _category(category, place, report)
    return out


def _category(category: dict, place: str, report: ConversionReport) -> CocoCategory:
    """One category: a numeric name read as its text, else ``name`` or ``supercategory``."""
    name = category.get("name")
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)
    names = category.get("keypoints")
    names = [str(n) for n in names] if type(names) is list else []
    return CocoCategory(name or category.get("supercategory"), names,
                        _skeleton_pairs(category.get("skeleton"), len(names), place, report))


def _skeleton_pairs(skeleton: object, named: int, place: str, report: ConversionReport) -> tuple:
    """The 0-based keypoint pairs of a category's ``skeleton`` (numbered from 1, or from 0 when it
    uses 0); entries that are not a pair of keypoint numbers (of the named keypoints, when the
    category names them) are reported and left out."""
    if type(skeleton) is not list:
        return ()
    pairs = [pair for pair in (_number_pair(entry) for entry in skeleton) if pair is not None]
    first = 0 if any(0 in pair for pair in pairs) else 1
    kept = tuple((a - first, b - first) for a, b in pairs if not named or max(a, b) - first < named)
    if len(kept) < len(skeleton):
        report.add("skeleton entry that is not a pair of the category's keypoint numbers, dropped",
                   len(skeleton) - len(kept), [place])
    return kept


def _number_pair(entry: object) -> tuple[int, int] | None:
    if type(entry) is not list or len(entry) != 2:
        return None
    a, b = whole_number(entry[0]), whole_number(entry[1])
    return (a, b) if a is not None and b is not None and a >= 0 and b >= 0 else None


def _empty_tasks(images: list[dict], source: str, report: ConversionReport
                 ) -> tuple[dict[str, dict], dict[object, list], dict[object, tuple[int, int]], bool]:
    """Tasks by file name, their annotation lists by image id, image sizes by id, and whether some
    images share an id (and so a list). Image entries with one file name are one task (the first
    entry's size): their annotations are joined (a finding); entries sharing an id each get its
    annotations (a finding)."""
    tasks: dict[str, dict] = {}
    targets: dict[object, list] = {}
    sizes: dict[object, tuple[int, int]] = {}
    shared = False
    for number, image in enumerate(images):
        if not isinstance(image, dict):
            raise FormatError(f"{source}: images[{number}] is {type(image).__name__}, not an object")
        image_id, file_name = image.get("id"), image.get("file_name")
        if not _is_key(image_id) or not isinstance(file_name, str) or not file_name:
            raise FormatError(f"{source}: images[{number}] needs an id (a number or a string) and a file_name")
        place = f"{source}: images[{number}] (id {image_id!r}, file_name {file_name!r})"
        width, height = (_dimension(image, key, place, report) for key in ("width", "height"))
        if image_id in targets:
            shared = True
            report.note("image id given twice, its annotations given to each image with it", place)
        if file_name in tasks:
            report.note("image file_name given twice, the annotations of its entries joined into one task", place)
            targets.setdefault(image_id, tasks[file_name]["annotations"])
            sizes.setdefault(image_id, (tasks[file_name]["width"], tasks[file_name]["height"]))
            continue
        annotations = targets.setdefault(image_id, [])
        sizes.setdefault(image_id, (width, height))
        tasks[file_name] = {"name": file_name, "width": width, "height": height, "annotations": annotations}
    return tasks, targets, sizes, shared


def _dimension(image: dict, key: str, place: str, report: ConversionReport) -> int:
    """An image's ``width`` or ``height`` as an int (``64.0`` is 64); absent: 0; not a whole number
    of pixels: 0 (unknown), reported."""
    value = image.get(key)
    if value is None:
        return 0
    whole = whole_number(value)
    if whole is None or whole < 0:
        report.note(f"image {key} that is not a whole number of pixels, read as unknown (0)",
                    f"{place}: {brief(value)}")
        return 0
    return whole


# the annotation keys each import mode reads: typed parsing skips the others (bbox, area, … cost
# nothing) and gives the annotations as small structs
MODE_FIELDS = {
    "bbox": ("image_id", "category_id", "segmentation", "bbox", "attributes", "iscrowd", "rotation", "id"),
    "polygon": ("image_id", "category_id", "segmentation", "attributes", "iscrowd", "rotation", "id"),
    "pose_estimation": ("image_id", "category_id", "segmentation", "bbox", "keypoints", "attributes", "iscrowd", "id",
                        "rotation"),
    None: ("image_id", "category_id", "segmentation", "bbox", "keypoints", "num_keypoints", "attributes", "iscrowd",
           "rotation", "id"),
}
ANNOTATION_STRUCTS = {  # segments_info: to say a panoptic file is one
    mode: msgspec.defstruct(f"CocoAnnotation_{mode}", [(f, Any, None) for f in (*fields, "segments_info")], gc=False)
    for mode, fields in MODE_FIELDS.items()
}
COCO_STRUCTS = {mode: msgspec.defstruct(f"Coco_{mode}", [("images", Any, None), ("categories", Any, None),
                                                         ("annotations", list[struct] | None, None)])
                for mode, struct in ANNOTATION_STRUCTS.items()}


def _coco_parts(coco: object, annotation_type: str | None) -> tuple[list, list, list, str, bool]:
    """images, categories, annotations (structs; None for an entry that is not an object), the
    source's name for messages, and whether the parsed lists are ours to hand out."""
    if isinstance(coco, (str, os.PathLike)):
        try:
            data = msgspec.json.decode(read_bytes(coco, "the COCO file"), type=COCO_STRUCTS[annotation_type])
            _check_is_coco((data.images, data.categories, data.annotations), str(coco))
            return data.images or [], data.categories or [], data.annotations or [], str(coco), True
        except msgspec.DecodeError:  # malformed or odd entries: the careful path
            generic, source, owned = read_json(coco, "the COCO file"), str(coco), True
        except RecursionError:
            raise FormatError(f"{coco}: JSON nested too deeply for a COCO file (a segmentation is 3 lists deep)"
                              ) from None
    else:
        generic, source, owned = coco, "coco", False
    if not isinstance(generic, dict):
        raise FormatError(f"{source}: a COCO file holds an object, not {type(generic).__name__}")
    _check_is_coco([generic.get(key) for key in ("images", "categories", "annotations")], source)
    images, categories, records = (_listed(generic, key, source) for key in ("images", "categories", "annotations"))
    struct = ANNOTATION_STRUCTS[annotation_type]
    return images, categories, [_as_struct(item, struct) for item in records], source, owned


def _check_is_coco(parts: Sequence, source: str) -> None:
    """FormatError for an object with none of COCO's ``images``, ``categories`` and ``annotations``
    (another tool's file read as COCO would otherwise give an empty dataset)."""
    if all(part is None for part in parts):
        raise FormatError(f"{source}: no 'images', 'categories' or 'annotations': not a COCO file")


def _listed(document: dict, key: str, source: str) -> list:
    """``document[key]``, a list (absent or null: empty), else FormatError."""
    value = document.get(key)
    if value is not None and not isinstance(value, list):
        raise FormatError(f"{source}: '{key}' must be a list, got {type(value).__name__}")
    return value or []


def _as_struct(item: object, struct: type) -> object | None:
    try:
        return msgspec.convert(item, struct)
    except msgspec.ValidationError:
        return None


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


def _from_coco(annotation, reading: _Reading, size: tuple[int, int]) -> list[dict] | str:
    """The FastLabel annotations of a parsed COCO annotation (see MODE_FIELDS), or why it is skipped
    (a SkippedRecord for a record whose RLE mask does not fit its image)."""
    if annotation.segments_info is not None:
        return PANOPTIC
    category = _category_of(annotation, reading)
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
    if (kind == "bbox" and _is_rotation(annotation.rotation)
            and not _enclosing_box_only(annotation, reading.annotation_type)):
        out["rotation"] = annotation.rotation
    if reading.annotation_type is None and _loose_box(annotation, out):
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


def _has_geometry(annotation, owned: bool, size: tuple[int, int]) -> bool:
    """Whether a keypoint record has a shape of its own (that the pose_estimation mode leaves out)."""
    try:
        return _pose_shape(annotation, owned, size) is not None
    except SkippedRecord:
        return True


def _loose_box(annotation, converted: dict) -> bool:
    """A record whose ``bbox`` (four finite numbers) is not the bounds of the polygon or
    segmentation it was read as."""
    box, kind, points = annotation.bbox, converted["type"], converted["points"]
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
            and _is_numbers(box, 4)
    except TypeError:  # a box of other things than numbers: not one to carry
        return False


def _is_numbers(values: object, count: int | None = None) -> bool:
    """A list of finite numbers (of ``count`` items)."""
    if type(values) is not list or (count is not None and len(values) != count):
        return False
    try:
        return isfinite(sum(values))  # TypeError for strings, nulls and nested lists
    except TypeError:
        return False


def _shape_from_coco(annotation, annotation_type: str | None, owned: bool, size: tuple[int, int] = (0, 0)
                     ) -> tuple[str, list] | None:
    segmentation = annotation.segmentation
    box = annotation.bbox if annotation_type != "polygon" else None
    if annotation_type != "polygon" and _is_rotation(annotation.rotation):
        unrotated = unrotated_box(segmentation, annotation.bbox, annotation.rotation)
        if unrotated is not None:  # the box it was written from, not its enclosing box turned again
            return "bbox", unrotated
    if annotation_type == "bbox" and _is_numbers(box, 4):  # the COCO bbox itself
        return "bbox", [box[0], box[1], box[0] + box[2], box[1] + box[3]]
    if annotation_type is None:
        return _shape_by_content(segmentation, box, size)
    first = segmentation[0] if type(segmentation) is list and segmentation else None
    if not _is_numbers(first) or len(first) < 4:
        return None
    return ("bbox" if len(first) == 4 else "polygon"), first if owned else list(first)


def _enclosing_box_only(annotation, annotation_type: str | None) -> bool:
    """A rotated record read in ``bbox`` mode whose box cannot be recovered: its COCO ``bbox``
    encloses the rotated box, so turning it again would be wrong (read axis-aligned, reported)."""
    return (annotation_type == "bbox" and _is_rotation(annotation.rotation)
            and unrotated_box(annotation.segmentation, annotation.bbox, annotation.rotation) is None)


def _is_rotation(value: object) -> bool:
    return type(value) in (int, float) and value != 0 and is_number(value)


def unrotated_box(segmentation: object, box: object, rotation: float) -> list | None:
    """``[x1, y1, x2, y2]`` of the box a rotated COCO record was written from: from its ring of the
    4 rotated corners (checked against ``rotation``), else from its enclosing ``bbox``; None when
    neither gives it (a ring of another shape, a box turned by 45°)."""
    theta = np.radians(float(rotation))
    ring = segmentation[0] if type(segmentation) is list and len(segmentation) == 1 else None
    if _is_numbers(ring, 10) and ring[:2] == ring[8:]:
        corners = np.array(ring[:8], np.float64).reshape(4, 2)
        top, side = corners[1] - corners[0], corners[2] - corners[1]
        width, height = np.hypot(*top), np.hypot(*side)
        along = abs(top[0] * np.sin(theta) - top[1] * np.cos(theta))  # 0 when the top edge turned by rotation
        if along > 1e-4 * max(width, 1) or abs(top @ side) > 1e-4 * max(width * height, 1):
            return None
        centre = corners.mean(axis=0)
    elif _is_numbers(box, 4):
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


def _shape_by_content(segmentation: object, box: object, size: tuple[int, int]) -> tuple[str, list] | None:
    if isinstance(segmentation, dict):
        return rle_segmentation(segmentation, size)
    polygons = [s for s in segmentation or [] if _is_numbers(s) and len(s) >= 6 and len(s) % 2 == 0]
    if len(polygons) > 1:
        return "segmentation", [[p if p[:2] == p[-2:] else p + p[:2]] for p in polygons]
    if len(polygons) == 1 and _rectangle_corners(polygons[0]) is not None:
        return "bbox", _rectangle_corners(polygons[0])
    if polygons:
        return "polygon", list(polygons[0])
    return ("bbox", [box[0], box[1], box[0] + box[2], box[1] + box[3]]) if _is_numbers(box, 4) else None


def _rectangle_corners(ring: list) -> list | None:
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
