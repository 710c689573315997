"""FastLabel -> YOLO text labels (``formats-spec.md`` §2), with D6 and D8–D12 fixed.

Without ``classes`` the lines follow the COCO export (categories sorted, COCO order); with
``classes`` the passed order defines the indices and ``classes.txt``. Either way a file holds one
kind of line, as Ultralytics requires: boxes (detection), or polygons for ``image_segmentation``. ``obb=True`` writes
boxes as YOLO-OBB lines: class and the 4 normalised corners of the (rotated) box.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .categories import Census, first_index
from .coco import COCO_GEOMETRY, coco_rows, coco_xywh
from .columns import bbox_points, rotated_box_corners, rotations, row_kinds, rows_with_holes, value_lookup
from .errors import FormatError, where
from .files import basename, is_remote, write_atomic
from .geometry import box_corners, truncate
from .report import ConversionReport
from .run import PerImageTarget, prepared_tables, run_export, write_text_file
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .tasks import AnnotationTable, Frame, TaskChunk
from .yolo_import import yolo_tasks as yolo_tasks  # the module's other verbs
from .yolo_import import yolo_to_fastlabel as yolo_to_fastlabel
from .yolo_layout import checked_split, data_yaml, place_image, split_of

YOLO_DECIMALS = 7
YOLO_TYPES = ("bbox", "polygon", "segmentation")
YOLO_POLICY = Policy(YOLO_TYPES)  # holes and rotation: reported by the line builders
LAYOUTS = ("yolo", "ultralytics")


@dataclass(frozen=True)
class YoloLines:
    """Label lines of a batch before ordering: their row, class, sort group and coordinates.

    Line ``i`` has ``coords[offsets[i]:offsets[i+1]]`` (pixel x, y pairs to normalise).
    """

    row: np.ndarray
    klass: np.ndarray
    is_polygon: np.ndarray
    coords: np.ndarray
    offsets: np.ndarray


@gc_paused
def to_yolo(
    tasks: object,
    *,
    project_type: str = "image_bbox",
    classes: Sequence[str] | None = None,
    obb: bool = False,
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    report: ConversionReport | None = None,
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """``([(image file name, label lines)], class names)`` of ``tasks``."""
    report = report or ConversionReport("yolo")
    target = YoloTarget(".", project_type=project_type, classes=classes, obb=obb)
    labels = [label for table in prepared_tables(tasks, target, report, project_type, videos, frame_counts)
              for label in target.labels(table, report) if label is not None]
    return labels, target.names


@gc_paused
def export_yolo(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "yolo"),
    *,
    project_type: str = "image_bbox",
    classes: Sequence[str] | None = None,
    obb: bool = False,
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    layout: str = "yolo",
    images: str | os.PathLike[str] | None = None,
    copy_images: bool = False,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``annotations/<image basename>.txt`` per image and ``classes.txt``; with
    ``layout="ultralytics"`` Ultralytics' ``labels/<split>/``, ``images/<split>/`` (the images of
    ``images`` symlinked, or copied with ``copy_images``) and ``data.yaml``. A task goes to the split
    its name starts with (``train/…``, ``val/…``, ``test/…``), else to one drawn from ``split``
    (e.g. ``{"train": 0.8, "val": 0.2}``, by a hash of its name and ``seed``), else to ``train``.

    ``jobs=N`` converts and writes chunks of images in N worker processes.
    """
    report = ConversionReport("yolo", strict=strict)
    target = YoloTarget(output_dir, project_type=project_type, classes=classes, obb=obb, layout=layout,
                        images=images, copy_images=copy_images, split=split, seed=seed)
    run_export(tasks, [target], [report], project_type=project_type, videos=videos, frame_counts=frame_counts,
               jobs=jobs, scheduler=scheduler, progress=progress, overwrite=overwrite)
    return report


class YoloTarget(PerImageTarget):
    """Class names and label files of a YOLO export, by the COCO path or the classes path.

    Images of width or height 0 get no label file on either path (D11).
    """

    name = "yolo"
    geometry = frozenset(COCO_GEOMETRY)
    folder = "annotations"
    suffix = ".txt"

    def __init__(self, output_dir, *, project_type: str = "image_bbox", classes: Sequence[str] | None = None,
                 obb: bool = False, annotations: Sequence[dict] | None = None, layout: str = "yolo",
                 images: str | os.PathLike[str] | None = None, copy_images: bool = False,
                 split: Mapping[str, float] | None = None, seed: int = 0) -> None:
        super().__init__(output_dir)
        self.project_type, self.obb, self.definitions = project_type, obb, annotations
        self.by_classes = bool(classes)
        self.names = list(classes) if classes else []
        if layout not in LAYOUTS:
            raise FormatError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.ultralytics = layout == "ultralytics"
        if self.ultralytics and is_remote(output_dir):
            raise FormatError("layout='ultralytics' links or copies images: give a local output folder")
        self.folder = "labels" if self.ultralytics else "annotations"
        self.images, self.copy_images, self.seed = images, copy_images, seed
        self.split = checked_split(split) if split else None
        self.splits: set[str] = set()  # the splits the tasks went to (the parent's, for data.yaml)

    def split_of(self, frame: Frame) -> tuple[str, str]:
        """``(split, file name inside it)`` of a frame in the Ultralytics layout."""
        return split_of(frame.file_name, self.split, self.seed)

    def file_name(self, frame: Frame) -> str:
        if not self.ultralytics:
            return super().file_name(frame)
        split, name = self.split_of(frame)
        return f"{split}/{basename(name)}{self.suffix}"

    def survey(self, chunk: TaskChunk) -> set[str] | None:
        return {self.split_of(frame)[0] for frame in chunk.frames} if self.ultralytics else None

    def plan(self, survey: set[str] | None) -> None:
        self.splits |= survey or set()

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> tuple[list[str], object]:
        written, plan = super().build(table, plan, report)
        if self.ultralytics and self.images is not None:
            for frame in table.frames:
                split, name = self.split_of(frame)
                target = self.output(name, table.source, f"images/{split}")
                if not place_image(Path(self.images) / frame.file_name, Path(target), self.copy_images):
                    report.note("image file missing, not placed in images/", where(table.source, frame.name))
        return written, plan

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """The class order: ``classes`` as given, else the run's (definitions, else sorted values)."""
        if self.by_classes:
            self.class_index = first_index(self.names)
        else:
            self.names = census.class_order(self.definitions)
            self.category_ids = {name: position for position, name in enumerate(self.names, 1)}

    def labels(self, batch: AnnotationTable, report: ConversionReport) -> list[tuple[str, list[str]] | None]:
        """``(image file name, lines)`` of every frame of one table (None: no label file)."""
        if self.by_classes:
            lines = classes_lines(batch, self.class_index, self.project_type, self.obb, report)
        else:
            lines = coco_lines(batch, self.category_ids, self.project_type, self.obb, report)
        labels = format_labels(batch, lines, by_class=self.by_classes)
        return [None if sizeless else label
                for label, sizeless in zip(labels, batch.sizeless(report, "skipped (no label file)"))]

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [None if label is None else "".join(line + "\n" for line in label[1]).encode()
                for label in self.labels(table, report)]

    def finish(self, report: ConversionReport) -> None:
        if self.ultralytics:
            data = data_yaml(Path(self.published_dir), sorted(self.splits), self.names)
            report.files.append(write_atomic(self.output("data.yaml", "data.yaml"), data))
        else:
            report.files.append(write_text_file(self.output("classes.txt", "classes.txt"), self.names))


def coco_lines(batch: AnnotationTable, category_ids: dict, project_type: str, obb: bool,
               report: ConversionReport) -> YoloLines:
    """Lines of the COCO path (§2.1): one box per COCO annotation, or its polygon rings."""
    rows = coco_rows(batch, category_ids, report)
    pose = rows.kinds[rows.order] == "pose_estimation"
    batch.note(report, batch.rows_mask(rows.order[pose]),
               "pose_estimation has no box or polygon in YOLO, skipped")
    order = rows.order[~pose]
    klass = rows.category - 1
    if project_type == "image_segmentation":
        return polygon_lines(batch, order, klass, report)
    return box_lines(batch, order, klass, rows.xywh, obb, report)


def classes_lines(batch: AnnotationTable, index_of: dict, project_type: str, obb: bool,
                  report: ConversionReport) -> YoloLines:
    """Lines of the classes path (§2.2), one kind per file as Ultralytics reads them: box lines
    (a polygon or segmentation as its box), or for ``image_segmentation`` polygon lines (a box as
    its closed ring), per class sorted by text."""
    kinds = row_kinds(batch)
    boxes = bbox_points(batch)
    klass = value_lookup(batch, index_of, -1)
    rows = np.flatnonzero(apply_policy(batch, YOLO_POLICY, report, klass >= 0))
    if project_type == "image_segmentation":
        return polygon_lines(batch, rows, klass, report)
    return box_lines(batch, rows, klass, coco_xywh(batch, kinds, boxes), obb, report)


def box_lines(batch: AnnotationTable, rows: np.ndarray, klass: np.ndarray, xywh: np.ndarray, obb: bool,
              report: ConversionReport) -> YoloLines:
    """Box lines: centre x, centre y, w, h of ``xywh`` — or with ``obb`` the 4 box corners."""
    selected = batch.rows_mask(rows)
    kinds = row_kinds(batch)
    batch.note(report, selected & (kinds != "bbox"), "{kind} written as its bounding box")
    if not obb:
        batch.note(report, selected & (kinds == "bbox") & (rotations(batch) != 0),
                   "rotated bbox written as its enclosing axis-aligned box (use obb=True)")
    if obb:  # a bbox's corners, rotated as it is; the corners of a polygon's or segmentation's box
        x, y, w, h = xywh[rows].T
        corners = box_corners(np.stack([x, y, x + w, y + h], 1))
        is_box = kinds[rows] == "bbox"
        corners[is_box] = rotated_box_corners(batch)[rows[is_box]]
        coords = corners.reshape(-1, 2)
        width = 4
    else:
        x, y, w, h = xywh[rows].T
        right, bottom = x + w, y + h
        coords = np.stack([(x + right) / 2, (y + bottom) / 2, right - x, bottom - y], 1).reshape(-1, 2)
        width = 2
    offsets = np.arange(len(rows) + 1, dtype=np.int64) * width
    return YoloLines(rows, klass[rows], np.zeros(len(rows), bool), coords, offsets)


def polygon_lines(batch: AnnotationTable, rows: np.ndarray, klass: np.ndarray,
                  report: ConversionReport) -> YoloLines:
    """One line per ring: the closed 5-vertex ring of a bbox (rotated by its rotation), a polygon,
    each outer ring."""
    batch.note(report, batch.rows_mask(rows) & rows_with_holes(batch),
               "segmentation holes dropped")
    rings = batch.rings
    kinds = row_kinds(batch)
    pieces, line_rows, sizes = [], [], []
    short = np.zeros(len(batch), bool)  # rings of fewer than 3 vertices: not a segment to Ultralytics
    for row in rows.tolist():
        if kinds[row] == "bbox":  # its closed ring, rotated as the box is
            corners = rotated_box_corners(batch)[row]
            pieces.append(np.vstack([corners, corners[:1]]))
            line_rows.append(row)
            sizes.append(5)
            continue
        for ring in range(rings.shape_ring_offsets[row], rings.shape_ring_offsets[row + 1]):
            if rings.is_hole[ring]:
                continue
            start, end = rings.ring_offsets[ring], rings.ring_offsets[ring + 1]
            if end - start < 3:
                short[row] = True
                continue
            pieces.append(rings.coords[start:end])
            line_rows.append(row)
            sizes.append(end - start)
    batch.note(report, short, "{kind} ring of fewer than 3 vertices skipped (not a YOLO segment)")
    regions = np.bincount(line_rows, minlength=len(batch)) > 1 if line_rows else np.zeros(len(batch), bool)
    batch.note(report, regions, "segmentation of several regions written as one line each (one object each in YOLO)")
    line_rows = np.asarray(line_rows, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    coords = np.concatenate(pieces) if pieces else np.zeros((0, 2))
    return YoloLines(line_rows, klass[line_rows], np.ones(len(line_rows), bool), coords, offsets)


def format_labels(batch: AnnotationTable, lines: YoloLines, by_class: bool) -> list[tuple[str, list[str]]]:
    """Text of every line grouped per frame: in line order, or ``by_class`` as §2.4 says."""
    texts = line_texts(batch, lines)
    frame_of_line = batch.frame[lines.row]
    if by_class:
        order = _classes_order(frame_of_line, lines, texts)
    else:
        order = np.argsort(frame_of_line, kind="stable")
    per_frame: list[list[str]] = [[] for _ in batch.frames]
    for line in order.tolist():
        per_frame[frame_of_line[line]].append(texts[line])
    return [(frame.file_name, frame_lines) for frame, frame_lines in zip(batch.frames, per_frame)]


def _classes_order(frame_of_line: np.ndarray, lines: YoloLines, texts: list[str]) -> np.ndarray:
    """Path §2.2 order (D9): per frame by class (numeric), boxes first, polygons by text."""
    first_line_of_row: dict[int, str] = {}
    for line, row in enumerate(lines.row.tolist()):
        first_line_of_row.setdefault(row, texts[line])
    keys = [
        (int(frame_of_line[i]), int(lines.klass[i]), int(lines.is_polygon[i]),
         first_line_of_row[int(lines.row[i])] if lines.is_polygon[i] else "", i)
        for i in range(len(texts))
    ]
    return np.array([key[-1] for key in sorted(keys)], np.int64)


def line_texts(batch: AnnotationTable, lines: YoloLines) -> list[str]:
    """``"<class> <v> <v> ..."`` per line, values truncated to 7 decimals and printed as ``str``."""
    if len(lines.row) == 0:
        return []
    sizes = np.diff(lines.offsets)
    frame_of_point = np.repeat(batch.frame[lines.row], sizes)
    scale = np.array([[1.0 / f.width if f.width else np.nan, 1.0 / f.height if f.height else np.nan]
                      for f in batch.frames])[frame_of_point]
    values = list(map(str, truncate(lines.coords * scale, YOLO_DECIMALS).ravel().tolist()))
    bounds = (lines.offsets * 2).tolist()
    classes = lines.klass.tolist()
    return [
        " ".join([str(classes[i]), *values[bounds[i]:bounds[i + 1]]]) for i in range(len(classes))
    ]
