"""COCO -> FastLabel (``formats-spec.md`` §7, D29–D33), and with ``annotation_type=None`` each
annotation by its shape. The writing side is :mod:`fastlabel_formats.coco`."""

from __future__ import annotations

import os
from math import isfinite
from typing import Any

import msgspec
import numpy as np

from .errors import FormatError
from .files import read_bytes, read_json
from .geometry import integral_to_int, python_round
from .report import ConversionReport
from .runtime import gc_paused
from .validation import is_number

IMPORT_TYPES = ("bbox", "polygon", "pose_estimation")
PANOPTIC = "COCO panoptic annotation not read (its segments are in a PNG; use a COCO instances file)"
ROTATION_LOST = "rotated box without the ring of its corners read as its enclosing axis-aligned box"
POSE_GEOMETRY_DROPPED = ("bbox / segmentation of a keypoint annotation not kept in the pose_estimation mode "
                         "(annotation_type=None keeps both)")


@gc_paused
def coco_to_fastlabel(coco: dict | str | os.PathLike[str], annotation_type: str | None = None,
                      **options) -> dict[str, list[dict]]:
    """``{image file_name: [FastLabel annotations]}`` in ``images`` order, in linear time; the
    ``options`` (``report``, ``strict``) are :func:`coco_tasks`'.

    ``annotation_type`` ``"bbox"`` / ``"polygon"`` / ``"pose_estimation"`` behaves like the official
    SDK (defects fixed); ``None`` picks per annotation: keypoints → pose_estimation, RLE →
    segmentation with holes, several polygons → one segmentation, a rectangle ring or a lone
    bbox → bbox, one polygon → polygon. Skipped annotations are counted in ``report``.
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
    """FastLabel tasks (name, width, height, annotations) of a COCO file; see coco_to_fastlabel."""
    if annotation_type is not None and annotation_type not in IMPORT_TYPES:
        raise FormatError(f"annotation_type must be one of {IMPORT_TYPES} or None, got {annotation_type!r}")
    images, categories_list, annotations, source, owned = _coco_parts(coco, annotation_type)
    report = report or ConversionReport("coco import", strict=strict)
    categories = _categories(categories_list, source)
    tasks, targets, shared = _empty_tasks(images, source)
    missing: dict = {}
    for position, annotation in enumerate(annotations):
        if annotation is None:
            report.note("annotation that is not an object, skipped", f"{source}: annotation #{position}")
            continue
        target = targets.get(annotation.image_id) if _is_key(annotation.image_id) else None
        if target is None:
            missing.setdefault(annotation.image_id if _is_key(annotation.image_id) else repr(annotation.image_id),
                               []).append(position)
            continue
        try:
            converted = _from_coco(annotation, categories, annotation_type, owned)
        except FormatError as error:
            raise FormatError(f"{source}: annotation #{position}: {error}") from None
        if type(converted) is str:
            report.note(converted, f"{source}: annotation #{position}")
            continue
        target += converted
        if annotation_type == "pose_estimation" and _pose_shape(annotation, owned):
            report.note(POSE_GEOMETRY_DROPPED, f"{source}: annotation #{position}")
        elif _enclosing_box_only(annotation, annotation_type):
            report.note(ROTATION_LOST, f"{source}: annotation #{position}")
        elif annotation.rotation not in (None, 0) and not _is_rotation(annotation.rotation):
            report.note("rotation that is not a finite number, dropped", f"{source}: annotation #{position}")
    for image_id, positions in missing.items():
        report.add("annotation of an image missing from images, skipped", len(positions),
                   [f"{source}: annotation #{p} (image_id {image_id!r})" for p in positions[:5]])
    if shared:  # images sharing an id get equal, separate lists
        return [{**task, "annotations": list(task["annotations"])} for task in tasks.values()]
    return list(tasks.values())


def _is_key(value: object) -> bool:
    """An id a COCO file can use: a number or a string (a list or an object cannot match)."""
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _categories(categories: list, source: str) -> dict:
    """``{id: category}``, each category an object with an id; a numeric name read as its text."""
    out = {}
    for number, category in enumerate(categories):
        if not isinstance(category, dict) or not _is_key(category.get("id")):
            raise FormatError(f"{source}: categories[{number}] needs to be an object with an id")
        name = category.get("name")
        out[category["id"]] = {**category, "name": str(name)} if isinstance(name, (int, float)) else category
    return out


def _empty_tasks(images: list[dict], source: str) -> tuple[dict[str, dict], dict[object, list], bool]:
    """Tasks by file name (a name given twice: the later image wins), their annotation lists by
    image id, and whether some images share an id (and so a list)."""
    tasks: dict[str, dict] = {}
    targets: dict[object, list] = {}
    shared = []
    for number, image in enumerate(images):
        if not isinstance(image, dict):
            raise FormatError(f"{source}: images[{number}] is {type(image).__name__}, not an object")
        image_id = image.get("id")
        if not _is_key(image_id) or not isinstance(image.get("file_name"), str) or not image["file_name"]:
            raise FormatError(f"{source}: images[{number}] needs an id (a number or a string) and a file_name")
        if image_id in targets:
            shared.append(image_id)
        annotations = targets.setdefault(image_id, [])
        tasks[image.get("file_name")] = {"name": image.get("file_name"), "width": image.get("width", 0),
                                         "height": image.get("height", 0), "annotations": annotations}
    return tasks, targets, bool(shared)


# the annotation keys each import mode reads: typed parsing skips the others (bbox, area, … cost
# nothing) and gives the annotations as small structs
MODE_FIELDS = {
    "bbox": ("image_id", "category_id", "segmentation", "bbox", "attributes", "iscrowd", "rotation"),
    "polygon": ("image_id", "category_id", "segmentation", "attributes", "iscrowd", "rotation"),
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
            return data.images or [], data.categories or [], data.annotations or [], str(coco), True
        except msgspec.DecodeError:  # malformed or odd entries: the careful path
            generic, source, owned = read_json(coco, "the COCO file"), str(coco), True
    else:
        generic, source, owned = coco, "coco", False
    if not isinstance(generic, dict):
        raise FormatError(f"{source}: a COCO file holds an object, not {type(generic).__name__}")
    images, categories, records = (_listed(generic, key, source) for key in ("images", "categories", "annotations"))
    struct = ANNOTATION_STRUCTS[annotation_type]
    return images, categories, [_as_struct(item, struct) for item in records], source, owned


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
    (which ``export_coco`` writes back as ``iscrowd: 1``)."""
    attributes = annotation.attributes
    out = [{"key": key, "value": value} for key, value in attributes.items()] if type(attributes) is dict else []
    if annotation.iscrowd == 1 and not any(a["key"] == "iscrowd" for a in out):
        out.append({"key": "iscrowd", "value": True, "type": "switch"})
    return out


def _from_coco(annotation, categories: dict, annotation_type: str | None, owned: bool) -> list[dict] | str:
    """The FastLabel annotations of a parsed COCO annotation (see MODE_FIELDS), or why it is skipped.
    With ``annotation_type=None`` a keypoint annotation becomes a bbox carrying its keypoints (as
    FastLabel's bbox definitions with keypoints) when it has a box of its own, else a
    pose_estimation (and its polygon, when it has one)."""
    if annotation.segments_info is not None:
        return PANOPTIC
    category = categories.get(annotation.category_id) if isinstance(annotation.category_id, (int, str)) else None
    if category is None:
        return "annotation with an unknown category_id, skipped"
    value = category.get("name") or category.get("supercategory")
    if not value:
        return "category without name or supercategory, annotation skipped (D31)"
    if annotation_type == "pose_estimation":
        return [_pose_from_coco(annotation, value, category.get("keypoints"))]
    keypoints = annotation_type is None and _has_keypoints(annotation)
    shape = _pose_shape(annotation, owned) if keypoints else _shape_from_coco(annotation, annotation_type, owned)
    pose = [_pose_from_coco(annotation, value, category.get("keypoints"))] if keypoints else []
    if shape is None:
        return pose or "annotation without a usable bbox or polygon, skipped (D30, D32)"
    kind, points = shape
    out = {"value": value, "points": points, "type": kind, "attributes": _coco_attributes(annotation)}
    if kind == "bbox" and _is_rotation(annotation.rotation) and not _enclosing_box_only(annotation, annotation_type):
        out["rotation"] = annotation.rotation
    if kind == "bbox" and pose:
        return [{**out, "keypoints": pose[0]["keypoints"]}]
    return [*pose, out]


def _pose_shape(annotation, owned: bool) -> tuple[str, list] | None:
    """The shape of a keypoint annotation, unless it is only the enclosing box of its labelled
    keypoints (what ``export_coco`` writes for a pose: derived, not data)."""
    shape = _shape_from_coco(annotation, None, owned)
    values = annotation.keypoints if type(annotation.keypoints) is list else []
    located = [(x, y) for x, y, v in zip(values[0::3], values[1::3], values[2::3]) if v]
    if shape is None or shape[0] != "bbox" or not located:
        return shape
    xs, ys = zip(*located)
    return None if shape[1] == [min(xs), min(ys), max(xs), max(ys)] else shape


def _has_keypoints(annotation) -> bool:
    """A labelled keypoint (v > 0) among the annotation's triplets, or a positive ``num_keypoints``."""
    values = annotation.keypoints
    if type(values) is list and any(type(v) in (int, float) and v > 0 for v in values[2::3]):
        return True
    return type(annotation.num_keypoints) is int and annotation.num_keypoints > 0


def _is_numbers(values: object, count: int | None = None) -> bool:
    """A list of finite numbers (of ``count`` items)."""
    if type(values) is not list or (count is not None and len(values) != count):
        return False
    try:
        return isfinite(sum(values))  # TypeError for strings, nulls and nested lists
    except TypeError:
        return False


def _shape_from_coco(annotation, annotation_type: str | None, owned: bool) -> tuple[str, list] | None:
    segmentation = annotation.segmentation
    box = annotation.bbox if annotation_type != "polygon" else None
    if annotation_type != "polygon" and _is_rotation(annotation.rotation):
        unrotated = unrotated_box(segmentation, annotation.bbox, annotation.rotation)
        if unrotated is not None:  # the box it was written from, not its enclosing box turned again
            return "bbox", unrotated
    if annotation_type == "bbox" and _is_numbers(box, 4):  # D29: the COCO bbox itself
        return "bbox", [box[0], box[1], box[0] + box[2], box[1] + box[3]]
    if annotation_type is None:
        return _shape_by_content(segmentation, box)
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


def _shape_by_content(segmentation: object, box: object) -> tuple[str, list] | None:
    if isinstance(segmentation, dict):
        return _segmentation_from_rle(segmentation)
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


def _segmentation_from_rle(rle: dict) -> tuple[str, list] | None:
    from pycocotools import mask as coco_mask

    from .masks import mask_to_segmentation
    from .raster import check_image_size

    try:
        height, width = rle["size"]
        check_image_size(int(width), int(height), "COCO RLE")  # beyond it: skipped before decoding
        if isinstance(rle["counts"], list):
            rle = coco_mask.frPyObjects(rle, height, width)
        elif isinstance(rle["counts"], str):
            rle = {"size": [height, width], "counts": rle["counts"].encode("ascii")}
        points = mask_to_segmentation(coco_mask.decode(rle))
    except (KeyError, TypeError, ValueError):
        return None
    return ("segmentation", points) if points else None


def keypoint_keys(names: object, count: int) -> list[str]:
    """The keys of ``count`` keypoint triplets: the category's ``keypoints`` names, then (for a
    category with fewer names, or none) the 1-based positions as strings."""
    names = [str(n) for n in names] if type(names) is list else []
    return names[:count] + [str(position) for position in range(len(names) + 1, count + 1)]


def _pose_from_coco(annotation, value: str, names: object) -> dict:
    """The pose of a COCO keypoint annotation. Unlabelled triplets (v = 0) are left out, as the SDK
    does, when the category names its keypoints; when the keys are positions (a category without
    names) they are kept with an empty value, so that the positions survive an export."""
    values = annotation.keypoints if type(annotation.keypoints) is list else []
    named = len(names) if type(names) is list else 0
    keypoints = []
    for index, key in enumerate(keypoint_keys(names, max(len(values) // 3, named))):
        triplet = list(values[3 * index:3 * index + 3])
        if len(triplet) < 3 or triplet[2] == 0:  # D33: missing triplets count as not labelled
            if index >= named:
                keypoints.append({"key": key, "value": []})
            continue
        if triplet[2] not in (1, 2):
            raise FormatError(f"Visibility flag must be 0 or 1, 2 . annotation_id: {annotation.id}")
        keypoints.append({"key": key, "value": [triplet[0], triplet[1], triplet[2] - 1]})
    return {"value": value, "type": "pose_estimation", "keypoints": keypoints,
            "attributes": _coco_attributes(annotation)}
