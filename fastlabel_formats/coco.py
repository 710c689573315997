"""FastLabel -> COCO, with the official SDK's defects fixed; reading COCO is
:mod:`fastlabel_formats.coco_import` (re-exported here).

Two layouts: ``"file"`` (one ``annotations.json``) and ``"coco"``, the COCO dataset layout that
datumaro, detectron2 and mmdet open as it is: ``annotations/instances_<split>.json`` beside
``images/<split>/`` (each image's ``file_name`` relative to its split's folder), the splits chosen
as for the Ultralytics layout of a YOLO export (:func:`fastlabel_formats.yolo_layout.split_of`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .categories import Census, first_index
from .coco_import import COCO_BBOX
from .coco_import import IMPORT_TYPES as IMPORT_TYPES  # the module's other verbs
from .coco_import import coco_tasks as coco_tasks
from .coco_import import coco_to_fastlabel as coco_to_fastlabel
from .coco_json import plain_box_json, plain_boxes, plain_boxes_json
from .columns import rotated_box_corners, rotated_boxes
from .errors import FormatError, where
from .files import atomic_output, is_remote, make_folder, output_path, parts_folder_beside
from .geometry import integral_to_int, python_round
from .jsonparts import JsonListSpool, json_fragment
from .raster import check_raster
from .report import ConversionReport
from .run import Ids, RunOptions, Target, export_alone, kept_parts
from .runtime import gc_paused
from .sdk_order import SDK_GEOMETRY, SDK_POLICY, SDK_TYPES, CocoRows, coco_record_count, coco_rows
from .table import AnnotationTable
from .tasks import Frame, labelled_keypoints
from .validation import is_number
from .yolo_layout import SPLITS, checked_split, link_image, split_of

COCO_TYPES = SDK_TYPES
COCO_GEOMETRY = SDK_GEOMETRY
COCO_POLICY = SDK_POLICY
COCO_DROPPING_HOLES = replace(COCO_POLICY, holes="segmentation holes dropped (use holes='rle')")
HOLE_MODES = ("drop", "rle")
COCO_LAYOUTS = ("file", "coco")
MISSING_CLASS = "value missing from classes, skipped"


@gc_paused
def to_coco(
    tasks: object,
    *,
    project_type: str = "image_bbox",
    annotations: Sequence[dict] | None = None,
    holes: str = "drop",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    raster: str = "staircase",
    report: ConversionReport | None = None,
) -> dict:
    """The COCO dict ``{"images", "categories", "annotations"}`` of ``tasks`` (a list, a path or
    any iterable of task dicts).

    ``annotations`` are the project's annotation definitions (for categories, keypoints and
    skeletons). ``holes="rle"`` writes segmentations with holes or several regions as RLE.
    Video projects need ``frame_counts={task name: n}`` (or ``videos=`` to count by decoding).
    """
    report = report or ConversionReport("coco")
    target = CocoTarget(".", annotations=annotations, holes=holes, raster=raster)
    parts = kept_parts(tasks, target, lambda table, plan, report, ids: target.table_records(table, ids, report), report,
                       RunOptions(project_type, videos, frame_counts))
    return {"images": [image for images, _ in parts for image in images], "categories": target.categories,
            "annotations": [record for _, records in parts for record in records]}


@gc_paused
def export_coco(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "coco"),
    *,
    project_type: str = "image_bbox",
    annotations: Sequence[dict] | None = None,
    output_file_name: str = "annotations.json",
    holes: str = "drop",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    indent: int | None = None,
    raster: str = "staircase",
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
    layout: str = "file",
    images: str | os.PathLike[str] | None = None,
    copy_images: bool = False,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
) -> ConversionReport:
    """Write ``output_dir/output_file_name`` (and video frames under ``output_dir/images``).

    ``layout="coco"`` writes the COCO dataset layout instead: ``annotations/instances_<split>.json``
    and ``images/<split>/`` (the images of ``images`` symlinked, or copied with ``copy_images``). A
    task goes to the split its name starts with (``train/…``, ``val/…``, ``test/…``), else to one
    drawn from ``split`` (e.g. ``{"train": 0.8, "val": 0.2}``, by a hash of its name and ``seed``),
    else to ``train`` — as the Ultralytics layout of ``export_yolo`` does.

    The default output is compact JSON, streamed chunk by chunk (``jobs=N``: chunks built in N
    worker processes); ``indent=4`` gives the official SDK's exact bytes.
    """
    target = CocoTarget(output_dir, annotations=annotations, output_file_name=output_file_name, holes=holes,
                        indent=indent, raster=raster, layout=layout, images=images, copy_images=copy_images,
                        split=split, seed=seed)
    return export_alone(tasks, target, strict=strict, project_type=project_type, videos=videos,
                        frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress,
                        overwrite=overwrite)


@dataclass(frozen=True)
class DatasetLayout:
    """Where the COCO dataset layout puts a frame: its split and its name inside the split, and
    the images it links or copies there."""

    images: str | os.PathLike[str] | None = None
    copy_images: bool = False
    split: Mapping[str, float] | None = None
    seed: int = 0

    def split_of(self, frame: Frame) -> tuple[str, str]:
        """``(split, file name inside images/<split>/)`` of a frame."""
        return split_of(frame.file_name, self.split, self.seed)


class CocoTarget(Target):
    """The COCO file of a run (or, in the dataset layout, one per split): image and annotation
    records per table, appended in order to spool files beside the output and assembled after the
    last table (categories come from the census, annotation ids from the engine; ids are unique
    across the splits' files)."""

    name = "coco"
    geometry = frozenset(COCO_GEOMETRY)
    numbered = True
    spools_parts = True  # parts {(split, "images" | "annotations"): fragment}

    def __init__(self, output_dir: str | os.PathLike[str], *, annotations: Sequence[dict] | None = None,
                 output_file_name: str = "annotations.json", holes: str = "drop", indent: int | None = None,
                 classes: Sequence[str] | None = None, raster: str = "staircase", layout: str = "file",
                 images: str | os.PathLike[str] | None = None, copy_images: bool = False,
                 split: Mapping[str, float] | None = None, seed: int = 0) -> None:
        super().__init__(output_dir)
        if holes not in HOLE_MODES:
            raise FormatError(f"holes must be one of {HOLE_MODES}, got {holes!r}")
        if not output_file_name.lower().endswith(".json"):
            raise FormatError(f"output_file_name {output_file_name!r} must end with .json")
        if layout not in COCO_LAYOUTS:
            raise FormatError(f"layout must be one of {COCO_LAYOUTS}, got {layout!r}")
        if layout == "coco" and images is not None and is_remote(output_dir):
            raise FormatError("layout='coco' with images links or copies them: give a local output folder")
        self.dataset = DatasetLayout(images, copy_images, checked_split(split) if split else None, seed) \
            if layout == "coco" else None
        self.output_file_name = output_file_name
        self.path = self.file_path(SPLITS[0])
        self.definitions, self.classes, self.holes, self.indent = annotations, classes, holes, indent
        self.raster = check_raster(raster)
        policy = COCO_DROPPING_HOLES if holes == "drop" else COCO_POLICY
        self.policy = policy if annotations or not classes else replace(policy, missing_value=MISSING_CLASS)
        # the values that will have a category, known before the census (None: every value)
        named = annotations or [{"value": name} for name in classes or ()]
        self.category_values = {d.get("value") for d in named} if named else None
        self._spools: dict[str, JsonListSpool] = {}

    def file_path(self, split: str | None) -> Path | str:
        """The COCO file of ``split`` (the one file outside the dataset layout)."""
        if self.dataset is None:
            return output_path(self.output_dir, self.output_file_name, "output_file_name")
        return output_path(self.output_dir, f"annotations/instances_{split}.json", "split")

    def write_into(self, folder: Path) -> None:
        super().write_into(folder)
        self.path = self.file_path(SPLITS[0])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_spools": {}}  # the spool files stay with the parent

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """Categories from the census (each the colour of its value's first annotation), ids numbered from 1."""
        self.categories = census.categories(self.definitions, self.classes)
        self.keypoint_keys = {c["id"]: c["keypoints"] for c in self.categories}
        self.category_ids = {name: self.categories[i]["id"]
                             for name, i in first_index([c["name"] for c in self.categories]).items()}
        self.parts_dir = parts_folder_beside(self.path)

    def record_count(self, table: AnnotationTable) -> int:
        """How many annotation records ``table`` gives (each takes an id)."""
        return coco_record_count(table, self.category_values)

    def table_records(self, table: AnnotationTable, ids: Ids, report: ConversionReport, share_input: bool = False
                      ) -> tuple[list[dict], list[dict]]:
        """The image records and annotation records of one table, numbered from ``ids`` (``share_input``:
        the records may share the table's point lists, when they are serialised before anyone could
        change them)."""
        images = self.image_records(table, report)
        rows = coco_rows(table, self.category_ids, report, self.policy)
        return images, coco_annotations(table, rows, self, ids.take(len(rows.order)), report, share_input)

    def image_records(self, table: AnnotationTable, report: ConversionReport) -> list[dict]:
        """The image records of one table (frames without a size reported)."""
        table.sizeless(report, "written with that size (COCO consumers need it)")
        return [{"file_name": f.file_name, "height": f.height, "width": f.width, "id": i}
                for i, f in enumerate(table.frames, table.first_frame + 1)]

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport, ids: Ids | None = None
               ) -> dict[tuple[str | None, str], bytes]:
        """``{(split, "images" | "annotations"): fragment}`` of the table (split None outside the
        dataset layout, whose images are placed here)."""
        if self.dataset is None and self.indent is None:  # compact, one file: the records' JSON made at once
            images = json_fragment(self.image_records(table, report), None)
            rows = coco_rows(table, self.category_ids, report, self.policy)
            return {(None, "images"): images,
                    (None, "annotations"): coco_annotation_json(table, rows, self, ids.take(len(rows.order)), report)}
        images, records = self.table_records(table, ids, report, share_input=True)
        groups = {None: (images, records)} if self.dataset is None else self.by_split(table, images, records, report)
        fragments = {}
        for split, (split_images, split_records) in groups.items():
            fragments[split, "images"] = json_fragment(split_images, self.indent)
            fragments[split, "annotations"] = json_fragment(split_records, self.indent)
        return fragments

    def by_split(self, table: AnnotationTable, images: list[dict], records: list[dict], report: ConversionReport
                 ) -> dict[str, tuple[list, list]]:
        """The image and annotation records of each split, each image named inside its split's
        folder (and linked or copied there when the layout has ``images``)."""
        groups: dict[str, tuple[list, list]] = {}
        splits = [self.dataset.split_of(frame) for frame in table.frames]
        for frame, image, (split, name) in zip(table.frames, images, splits):
            groups.setdefault(split, ([], []))[0].append({**image, "file_name": name})
            self.place(table, frame, split, name, report)
        first = table.first_frame + 1
        for record in records:
            groups[splits[record["image_id"] - first][0]][1].append(record)
        return groups

    def place(self, table: AnnotationTable, frame: Frame, split: str, name: str, report: ConversionReport) -> None:
        """Put a frame's image at ``images/<split>/<name>``: from the layout's ``images`` (reported
        when missing), or a video frame decoded into ``images/`` moved into its split's folder."""
        if is_remote(self.output_dir):
            return
        target = Path(self.output(name, table.source, f"images/{split}"))
        if self.dataset.images is not None:
            if not link_image(Path(self.dataset.images) / frame.file_name, target, self.dataset.copy_images):
                report.note("image file missing, not placed in images/", where(table.source, frame.name))
            return
        decoded = Path(self.output(frame.file_name, table.source, "images"))
        if decoded.is_file() and decoded != target:
            make_folder(target.parent)
            os.replace(decoded, target)

    def _spool(self, split: str | None, key: str) -> JsonListSpool:
        if (split, key) not in self._spools:
            self._spools[split, key] = JsonListSpool(self.file_path(split), key, self.indent)
        return self._spools[split, key]

    def assemble(self, parts: list[dict], report: ConversionReport) -> None:
        """Append each fragment (or a worker's part file) to the spool of its split and list."""
        for fragments in parts:
            for (split, key), fragment in fragments.items():
                self._spool(split, key).add(fragment)

    def finish(self, report: ConversionReport) -> None:
        """Write each COCO file: the one file, or one per split that has images (``train`` when
        no split has any)."""
        found = {split for split, _ in self._spools}
        splits = [None] if self.dataset is None else \
            [s for s in SPLITS if s in found] + sorted(found - set(SPLITS)) or [SPLITS[0]]
        try:
            for split in splits:
                report.files.append(self.write_file(split))
        finally:
            self.abort()

    def write_file(self, split: str | None) -> Path | str:
        """Assemble the COCO file of ``split`` from its spools and the categories."""
        path = self.file_path(split)
        categories = JsonListSpool(path, "categories", self.indent)
        categories.append(json_fragment(self.categories, self.indent))
        parts = [("images", self._spool(split, "images")), ("categories", categories),
                 ("annotations", self._spool(split, "annotations"))]
        newline = b"" if self.indent is None else b"\n"
        try:
            with atomic_output(path) as stream:
                stream.write(b"{" + newline)
                for number, (key, spool) in enumerate(parts):
                    spool.copy_into(stream, key)
                    stream.write(newline if number == len(parts) - 1 else b"," + newline)
                stream.write(b"}")
        finally:
            categories.close()
        return path

    def abort(self) -> None:
        for spool in self._spools.values():
            spool.close()
        self._spools = {}
        super().abort()


def coco_annotations(table: AnnotationTable, rows: CocoRows, parts: CocoTarget, first_id: int,
                     report: ConversionReport, share_input: bool = False) -> list[dict]:
    """The COCO annotation records of a table, sorted per image by (category, area) (``share_input``:
    see :func:`coco_segmentations`)."""
    holes = parts.holes
    order = rows.order.tolist()
    annotations = list(map(table.annotations.__getitem__, order))
    segmentations = coco_segmentations(rows.kinds[rows.order].tolist(), list(map(table.points.__getitem__, order)),
                                       share_input)
    areas = integral_to_int(rows.area[rows.order])
    if holes == "rle":
        for position, (segmentation, area) in rle_rows(table, rows.kinds, rows.order, parts.raster).items():
            segmentations[position], areas[position] = segmentation, area
    for position, ring in {**pose_box_rings(rows), **rotated_box_rings(table, rows)}.items():
        segmentations[position] = [ring]
    bboxes = integral_to_int(rows.xywh[rows.order])
    categories = rows.category[rows.order].tolist()
    keypoints = {position: coco_keypoints(annotation["keypoints"], parts.keypoint_keys[categories[position]])
                 for position, annotation in enumerate(annotations) if annotation.get("keypoints")}
    records = [
        {
            "num_keypoints": 0,
            "keypoints": [],
            "segmentation": segmentation,
            "iscrowd": 1 if attributes.get("iscrowd") in (True, 1) else 0,
            "area": area,
            "image_id": image_id,
            "bbox": carried_box(attributes, bbox) if COCO_BBOX in attributes else bbox,
            "rotation": annotation.get("rotation", 0),
            "category_id": category,
            "id": number,
            "attributes": attributes,
        }
        for number, (annotation, segmentation, area, image_id, bbox, category, attributes)
        in enumerate(zip(annotations, segmentations, areas, (table.frame[rows.order] + table.first_frame + 1).tolist(),
                         bboxes, categories, coco_attributes(annotations, table, order)),
                     first_id)
    ]
    for position, (count, values) in keypoints.items():
        records[position]["num_keypoints"], records[position]["keypoints"] = count, values
    return records


def coco_annotation_json(table: AnnotationTable, rows: CocoRows, parts: CocoTarget, first_id: int,
                         report: ConversionReport) -> bytes:
    """The compact JSON of :func:`coco_annotations` without the list brackets: the plain boxes'
    records written from their numbers at once (all of them laid out together when every record is
    one), each run of other records dumped as a list."""
    plain = plain_boxes(table, rows)
    if plain.all():
        return plain_boxes_json(table, rows, np.arange(len(plain)), first_id)
    if not plain.any():
        return json_fragment(coco_annotations(table, rows, parts, first_id, report, share_input=True), None)
    records: list = [None] * len(plain)
    positions = np.flatnonzero(plain)
    for position, record in zip(positions.tolist(), plain_box_json(table, rows, positions, first_id)):
        records[position] = record
    others = np.flatnonzero(~plain)
    if others.size:
        dicts = coco_annotations(table, replace(rows, order=rows.order[others]), parts, first_id, report, True)
        for record, position in zip(dicts, others.tolist()):
            record["id"] = first_id + position
        runs = np.flatnonzero(np.diff(others) != 1) + 1  # where a run of other records starts
        for start, end in zip([0, *runs.tolist()], [*runs.tolist(), len(others)]):
            records[others[start]] = json_fragment(dicts[start:end], None)
    return b",".join(record for record in records if record is not None)


def pose_box_rings(rows: CocoRows) -> dict[int, list]:
    """``{position in order: closed ring}`` of the keypoint box of each pose row (its segmentation,
    so that every record has one: pycocotools' ``annToMask`` and 'segm' evaluation need it)."""
    positions = np.flatnonzero(rows.kinds[rows.order] == "pose_estimation")
    boxes = integral_to_int(rows.boxes[rows.order[positions]])
    return {p: [x1, y1, x2, y1, x2, y2, x1, y2, x1, y1] for p, (x1, y1, x2, y2) in zip(positions.tolist(), boxes)}


def rotated_box_rings(table: AnnotationTable, rows: CocoRows) -> dict[int, list]:
    """``{position in order: closed ring}`` of each rotated bbox: its rotated corners (6 decimals),
    the same rectangle as its ``bbox`` encloses."""
    positions = np.flatnonzero(rotated_boxes(table)[rows.order])
    if not positions.size:
        return {}
    corners = python_round(rotated_box_corners(table)[rows.order[positions]].reshape(-1, 8))
    return {p: ring + ring[:2] for p, ring in zip(positions.tolist(), map(integral_to_int, corners))}


def coco_segmentations(kinds: list[str], points: list, share_input: bool) -> list[list]:
    """COCO polygons per row: the closed bbox ring, the polygon, each region's outer ring
    (holes dropped), ``[]`` for pose. ``share_input`` reuses the caller's lists (for output
    that is serialised at once) instead of copying them."""
    if share_input:
        return [
            [p] if k == "polygon" else [r[0] for r in p if r] if k == "segmentation"
            else [[p[0], p[1], p[2], p[1], p[2], p[3], p[0], p[3], p[0], p[1]]] if k == "bbox" else []
            for k, p in zip(kinds, points)
        ]
    return [
        [list(p)] if k == "polygon" else [list(r[0]) for r in p if r] if k == "segmentation"
        else [[p[0], p[1], p[2], p[1], p[2], p[3], p[0], p[3], p[0], p[1]]] if k == "bbox" else []
        for k, p in zip(kinds, points)
    ]


def coco_keypoints(keypoints: list[dict] | None, keys: list[str]) -> tuple[int, list]:
    """``num_keypoints`` (entries with a value, invisible ones included) and the flat x, y, v per
    category key: v = 2 visible, 1 invisible, (0, 0, 0) when absent."""
    if not keypoints:
        return 0, []
    values = labelled_keypoints({"keypoints": keypoints})
    by_key = {k.get("key"): k["value"] for k in values}
    flat: list = []
    for key in keys:
        value = by_key.get(key)
        flat.extend((value[0], value[1], 2 if value[2] == 1 else 1) if value else (0, 0, 0))
    return len(values), flat


def coco_attributes(annotations: list[dict], table: AnnotationTable, rows: list[int]) -> list[dict]:
    """``{key: value}`` of each annotation's attribute list, later duplicates winning."""
    try:
        return [{a["key"]: a["value"] for a in attributes} if attributes else {}
                for attributes in [annotation.get("attributes") for annotation in annotations]]
    except (TypeError, KeyError, AttributeError):
        for annotation, row in zip(annotations, rows):
            try:
                {a["key"]: a["value"] for a in annotation.get("attributes") or ()}
            except (TypeError, KeyError, AttributeError) as error:
                raise FormatError(f"{table.place(row)}: attributes must be objects with key and value") from error
        raise


def carried_box(attributes: dict, bbox: list) -> list:
    """The record's COCO bbox: the one the reader kept in the attribute ``coco_bbox`` (a box that is
    not the bounds of its segmentation; taken out of the attributes), else ``bbox``."""
    box = attributes.get(COCO_BBOX)
    if type(box) is not list or len(box) != 4 or not all(is_number(v) for v in box) or min(box[2:]) < 0:
        return bbox
    del attributes[COCO_BBOX]
    return box


def rle_rows(table: AnnotationTable, kinds: np.ndarray, order: np.ndarray, raster: str = "staircase"
             ) -> dict[int, tuple[dict, int]]:
    """``{position in order: (RLE, pixel area)}`` for segmentations with holes or several regions."""
    from .raster import segmentation_rle

    out = {}
    for position, row in enumerate(order.tolist()):
        points = table.points[row]
        if kinds[row] != "segmentation" or not (len(points) > 1 or any(len(r) > 1 for r in points)):
            continue
        frame = table.frames[table.frame[row]]
        if frame.width and frame.height:
            out[position] = segmentation_rle(points, frame.width, frame.height, raster)
    return out
