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
from collections import deque
from collections.abc import Sequence
from itertools import islice
from typing import Any

import msgspec
import numpy as np

from .coco_blocks import CATEGORY_KEYS, PLAIN_VALUES, common_block, loose_attributes
from .coco_records import (
    COCO_BBOX,
    CocoCategory,
    Reading,
    annotation_from_coco,
    carry_loose_boxes,
    enclosing_box_only,
    has_geometry,
    is_polygon,
    is_rotation,
    loose_box,
    loose_rows,
    rectangle_corners,
    shape_by_content,
    unusable_polygons,
)
from .coco_rle import SkippedRecord, brief, whole_number
from .coco_rle import string_counts as string_counts  # the RLE reader's own check, tested on its own
from .errors import FormatError
from .files import read_bytes, read_json
from .report import ConversionReport
from .runtime import gc_paused
from .table_readers import vouch, vouching
from .table_rings import LaidOut, laid_out, read_rings, row_bounds

IMPORT_TYPES = ("bbox", "polygon", "pose_estimation")
UNUSABLE_POLYGON = "segmentation polygon that is not an even list of at least 6 finite numbers, dropped"
ROTATION_LOST = "rotated box without the ring of its corners read as its enclosing axis-aligned box"
POSE_GEOMETRY_DROPPED = ("bbox / segmentation of a keypoint annotation not kept in the pose_estimation mode "
                         "(annotation_type=None keeps both)")
# the finding of a file that had annotation records but gave none (the reasons are findings of their own)
ALL_SKIPPED = "none of the file's annotation records read (each skipped, for the reasons listed)"


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
    reading = Reading(source, annotation_type, owned, _categories(categories_list, source, report), sizes, report,
                      lay_out=vouching())
    read = _read_annotations(annotations, targets, reading)
    if annotations and not read:
        report.note(ALL_SKIPPED, f"{source} ({len(annotations):,} annotation records)")
    if shared:  # images sharing an id get equal, separate lists
        return [{**task, "annotations": list(task["annotations"])} for task in tasks.values()]
    read_tasks = list(tasks.values())
    flags = [id(task["annotations"]) not in reading.careful for task in read_tasks]
    rings = read_rings(reading.made, (reading.kinds, reading.points, reading.values), reading.blocks,
                       [task for task, flag in zip(read_tasks, flags) if flag]) if vouching() else None
    vouch(read_tasks, flags, rings)
    return read_tasks


def _read_annotations(annotations: list, targets: dict, reading: Reading) -> int:
    """Add each record's annotations to its image's list, a block of records at a time; the number of
    records read. In the mode None, the common records of a block whose records all have an image and
    ids not seen before are read at once (:func:`~fastlabel_formats.coco_blocks.common_block`); every
    other record one by one (:func:`_read_each`), in its place."""
    missing: dict = {}
    seen = SeenIds()
    read, size = 0, RECORDS_PER_BLOCK
    for first in range(0, len(annotations), size):
        records = annotations[first:first + size]
        lists = _block_lists(records, first, targets, seen, reading.owned) if reading.annotation_type is None \
            else None
        if lists is None:
            read += _read_each(records, first, targets, reading, (missing, seen.positions()))
        else:
            read += _read_block(records, first, lists, reading)
    for image_id, positions in missing.items():
        reading.report.add("annotation of an image missing from images, skipped", len(positions),
                           [f"{reading.source}: annotation #{p} (image_id {image_id!r})" for p in positions[:5]])
    return read


def _block_lists(records: list, first: int, targets: dict, seen: SeenIds, owned: bool) -> list | None:
    """The annotation lists of a block's records (its first at position ``first``) when every record
    is an object of an image, with an id not seen before (which it then counts as seen); else None
    (nothing to report: the block is read one by one)."""
    if type(None) in map(type, records):
        return None
    image_ids = [record.image_id for record in records]
    if bool in map(type, image_ids) if owned else not _ID_TYPES.issuperset(map(type, image_ids)):
        return None  # (a file parsed here has no other types than JSON's: lists fail to be keys)
    try:
        lists = list(map(targets.get, image_ids))
    except TypeError:
        return None
    if type(None) in map(type, lists):
        return None
    return lists if seen.fresh([record.id for record in records], first) else None


class SeenIds:
    """The position of each annotation id read (to report one given twice): while the ids rise, block
    after block, only the greatest is kept."""

    def __init__(self) -> None:
        self.rising: list = []  # (position of the first, ids) of the blocks of rising ids not in positions yet
        self.greatest: int | None = None
        self.kept: dict = {}

    def positions(self) -> dict:
        """``{id: position}`` of every id read."""
        for first, ids in self.rising:
            self.kept.update(zip(ids, range(first, first + len(ids))))
        self.rising.clear()
        self.greatest = None
        return self.kept

    def fresh(self, ids: list, first: int) -> bool:
        """Whether none of ``ids`` (the ids of records at positions ``first``, …) was read before or is
        given twice, they being ids of the checked types or nulls; if so, they count as read."""
        if ids and list(map(type, ids)).count(int) == len(ids) and (self.rising or not self.kept):
            try:
                numbers = np.fromiter(ids, np.int64, len(ids))
            except OverflowError:  # beyond 64 bits
                numbers = np.zeros(0, np.int64)
            if len(numbers) and (numbers[1:] > numbers[:-1]).all() \
                    and (self.greatest is None or numbers[0] > self.greatest):
                self.rising.append((first, ids))
                self.greatest = int(numbers[-1])
                return True
        positions = zip(ids, range(first, first + len(ids)))
        if not _ID_TYPES.issuperset(map(type, ids)):  # ids of other types are not checked: only nulls are fine
            if not _ID_TYPES.union([type(None)]).issuperset(map(type, ids)):
                return False
            positions = ((i, p) for i, p in positions if i is not None)
        fresh = dict(positions)
        kept = self.positions()
        if len(fresh) < len(ids) - ids.count(None) or not kept.keys().isdisjoint(fresh):
            return False
        kept.update(fresh)
        return True


def _read_block(records: list, first: int, lists: list, reading: Reading) -> int:
    """Read a block of records (its first at position ``first``) into their annotation ``lists``: the
    common ones at once, the others one by one in their places; the number of records read."""
    common = common_block(records, reading)
    made_rows = common.rows if common is not None else []
    others = [] if len(made_rows) == len(records) else sorted(set(range(len(records))).difference(made_rows))
    read, previous, made = 0, 0, iter(common.made if common is not None else ())
    one_by_one: list = []  # (position, row of reading.made) of the common records read one by one
    for row in others:
        deque(map(list.append, lists[previous:row], islice(made, row - previous)), 0)
        previous = row + 1
        count, made_row = _read_record(records[row], lists[row], f"{reading.source}: annotation #{first + row}",
                                       reading)
        read += count
        if made_row is not None:
            one_by_one.append((row, made_row))
    deque(map(list.append, lists[previous:], made), 0)
    if common is None or one_by_one:  # its layout and loose boxes are made with the others'
        columns = zip(common.made, common.boxes, common.kinds, common.points, common.values) if common else ()
        _settle([made_row for _, made_row in sorted([*zip(made_rows, columns), *one_by_one])], reading)
    else:
        loose_attributes(common)
        _store(reading, common.made, common.kinds, common.points, common.values,
               common.laid if common.held and reading.lay_out else None)
    return read + len(made_rows)


def _read_each(records: list, first: int, targets: dict, reading: Reading, seen: tuple[dict, dict]) -> int:
    """Add each record's annotations to its image's list, one by one (``seen``: the records of images
    not in the file by image id, and the position of each id given); the number of records read."""
    source, report = reading.source, reading.report
    missing, seen_ids = seen
    read = 0
    made_rows: list = []
    for position, annotation in enumerate(records, first):
        if annotation is None:
            report.note("annotation that is not an object, skipped", f"{source}: annotation #{position}")
            continue
        record_id, image_id = annotation.id, annotation.image_id
        if type(record_id) in _KEYS:
            first_seen = seen_ids.setdefault(record_id, position)
            if first_seen != position:
                report.note("annotation id given twice (both read)", f"{source}: annotation #{position} "
                            f"(id {record_id!r}, as annotation #{first_seen})")
        target = targets.get(image_id) if type(image_id) in _KEYS or _is_key(image_id) else None
        if target is None:
            missing.setdefault(image_id if _is_key(image_id) else brief(image_id), []).append(position)
            continue
        count, made_row = _read_record(annotation, target, f"{source}: annotation #{position}", reading)
        read += count
        if made_row is not None:  # its loose bbox is found with the others' (see _settle)
            made_rows.append(made_row)
    _settle(made_rows, reading)
    return read


def _read_record(record, target: list, place: str, reading: Reading) -> tuple[int, tuple | None]:
    """Add one record's annotations to ``target`` (its image's list): 1 when it was read, 0 when
    skipped (reported at ``place``); with the row of :attr:`Reading.made` of a common record of the
    mode None (whose loose bbox is found with the others')."""
    made = _common_record(record, reading) if reading.annotation_type is None else None
    if made is not None:
        target.append(made)
        return 1, (made, record.bbox, made["type"], made["points"], made["value"])
    converted = _read_one(record, place, reading)
    reading.careful.add(id(target))
    if converted is None:
        return 0, None
    target += converted
    return 1, None


def _settle(made_rows: list[tuple], reading: Reading) -> None:
    """Give the common records read one by one (``(annotation, bbox, type, points, value)`` each) their
    ``coco_bbox`` attribute where :func:`annotation_from_coco` gives it (a bbox that is not their
    shape's bounds), all at once; keep them, laid out when tables will be made of them."""
    if not made_rows:
        return
    made, boxes, kinds, points, values = map(list, zip(*made_rows))
    block = laid_out(kinds, points) if reading.lay_out else None
    loose = loose_rows(kinds, points, boxes, None if block is None else row_bounds(block))
    carry_loose_boxes(made, kinds, boxes, loose)
    _store(reading, made, kinds, points, values, block)


def _store(reading: Reading, made: list, kinds: list, points: list, values: list, block: LaidOut | None) -> None:
    """Keep the records read at once (with their layout, when laid out) for the tables of their tasks."""
    if block is not None:
        reading.blocks.append((len(reading.made), block))
    reading.made.extend(made)
    reading.kinds.extend(kinds)
    reading.points.extend(points)
    reading.values.extend(values)


_KEYS = (int, str, float)  # the types of an id
_ID_TYPES = frozenset(_KEYS)
RECORDS_PER_BLOCK = 2048  # records read together (blocks this size stay in the CPU's caches)


def _plain_record(annotation, reading: Reading) -> list[dict] | None:
    """:func:`_common_record` of one record with its ``coco_bbox`` attribute, as :func:`_settle`
    gives it to a block of them (the one-record form, which the tests hold against :func:`_read_one`)."""
    made = _common_record(annotation, reading)
    if made is not None and made["type"] != "bbox" and loose_box(annotation.bbox, made):
        made["attributes"].append({"key": COCO_BBOX, "value": list(annotation.bbox)})
    return None if made is None else [made]


def _common_record(annotation, reading: Reading) -> dict | None:
    """The annotation of a common record (in mode ``None``: a named category, polygons or a box, flat
    attributes; no keypoints, rotation, crowd flag or RLE mask), read as :func:`annotation_from_coco`
    reads it but for its ``coco_bbox`` attribute (given with the others', see :func:`_settle`);
    None for any other record (read by :func:`_read_one`, which reports what it skips)."""
    keypoints, rotation, segmentation = annotation.keypoints, annotation.rotation, annotation.segmentation
    if (annotation.segments_info is not None or not (keypoints is None or keypoints == [])
            or annotation.iscrowd == 1 or not (rotation is None or (rotation == 0 and rotation is not False))
            or not (segmentation is None or type(segmentation) is list)):
        return None
    category_id, attributes = annotation.category_id, annotation.attributes
    value = reading.plain_values.get(category_id) if type(category_id) in CATEGORY_KEYS else None
    if value is None:
        return None
    if type(attributes) is dict:
        if not (PLAIN_VALUES.issuperset(map(type, attributes.values()))
                and (reading.owned or all(type(key) is str for key in attributes))):
            return None
        listed = [{"key": key, "value": item} for key, item in attributes.items()]
    else:
        listed = []
    shape = _common_shape(segmentation, reading.owned)
    if shape is None:
        if unusable_polygons(segmentation):
            return None  # read with the loss reported
        shape = shape_by_content(segmentation, annotation.bbox, (0, 0))
        if shape is None:
            return None
    return {"value": value, "points": shape[1], "type": shape[0], "attributes": listed}


def _common_shape(segmentation: list | None, owned: bool) -> tuple[str, list] | None:
    """The shape of a segmentation of one polygon (see shape_by_content; None for any other)."""
    if not segmentation or len(segmentation) != 1:
        return None
    ring = segmentation[0]
    if not is_polygon(ring):
        return None
    corners = rectangle_corners(ring) if len(ring) == 10 else None
    return ("bbox", corners) if corners is not None else ("polygon", ring if owned else list(ring))


def _read_one(annotation, place: str, reading: Reading) -> list[dict] | None:
    """The FastLabel annotations of one record (None when skipped, reported at ``place``)."""
    report, annotation_type = reading.report, reading.annotation_type
    size = reading.sizes.get(annotation.image_id, (0, 0))
    try:
        converted = annotation_from_coco(annotation, reading, size)
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
    if annotation_type is None and unusable_polygons(annotation.segmentation):
        report.note(UNUSABLE_POLYGON, place)
    if annotation_type == "pose_estimation" and has_geometry(annotation, reading.owned, size):
        report.note(POSE_GEOMETRY_DROPPED, place)
    elif enclosing_box_only(annotation, annotation_type):
        report.note(ROTATION_LOST, place)
    elif annotation.rotation not in (None, 0) and not is_rotation(annotation.rotation):
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
