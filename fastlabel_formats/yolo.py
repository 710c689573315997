"""FastLabel -> YOLO text labels, in linear time, ``classes.txt`` in the order of ``classes``,
lines by class number, one line per region, images of size 0 and poses outside pose projects
skipped (reported).

Without ``classes`` the lines follow the COCO export (categories sorted, COCO order); with
``classes`` the passed order defines the indices and ``classes.txt``. Either way a file holds one
kind of line, as Ultralytics requires: boxes (detection), or polygons for ``image_segmentation``. ``obb=True`` writes
boxes as YOLO-OBB lines: class and the 4 normalised corners of the (rotated) box. A pose project
(``*_pose_estimation``) writes pose rows: the box, then x, y and a COCO visibility flag per keypoint.
A rotated box's corners are the numbers of its COCO ring, so both formats agree to the last digit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .categories import Census, first_index
from .columns import (
    bbox_points,
    kind_mask,
    rotated_box_corners,
    rotated_boxes,
    rotations,
    row_kinds,
    rows_with_holes,
    value_lookup,
)
from .decimal_text import render_tokens
from .errors import FormatError, where
from .files import is_remote, write_atomic
from .geometry import box_corners, python_round, span_indices
from .report import ConversionReport
from .run import PerImageTarget, RunOptions, export_alone, kept_parts, write_text_file
from .runtime import gc_paused
from .sdk_order import SDK_GEOMETRY, coco_xywh, sdk_rows, sdk_xywh
from .selection import Policy, apply_policy
from .table import AnnotationTable, TaskChunk
from .tasks import Frame, labelled_keypoints
from .yolo_import import yolo_tasks as yolo_tasks  # the module's other verbs
from .yolo_import import yolo_to_fastlabel as yolo_to_fastlabel
from .yolo_layout import (
    checked_split,
    data_yaml,
    has_listed_image,
    label_name,
    place_image,
    split_of,
    unseen_by_ultralytics,
)

YOLO_DECIMALS = 7
YOLO_TYPES = ("bbox", "polygon", "segmentation")
YOLO_POLICY = Policy(YOLO_TYPES)  # holes and rotation: reported by the line builders
LAYOUTS = ("yolo", "ultralytics")


@dataclass(frozen=True)
class YoloLines:
    """Label lines of a table before ordering: their row, class, sort group and coordinates.

    Line ``i`` has ``coords[offsets[i]:offsets[i+1]]`` (pixel x, y pairs to normalise).
    """

    row: np.ndarray
    klass: np.ndarray
    is_polygon: np.ndarray
    coords: np.ndarray
    offsets: np.ndarray
    visibility: np.ndarray | None = None  # pose rows: (lines, keypoints) COCO flags after each x, y


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
    parts = kept_parts(tasks, target, lambda table, plan, report, _: (table.frames, target.encode(table, plan, report)),
                       report, RunOptions(project_type, videos, frame_counts))
    return [(frame.file_name, text.decode().split("\n")[:-1]) for frames, texts in parts
            for frame, text in zip(frames, texts) if text is not None], target.names


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
    Each label lies where Ultralytics looks for it, whatever the task name (the last ``images``
    folder of the image path becomes ``labels``). ``data.yaml`` names only image folders that
    exist: without ``images`` (or when none of them is found) no ``data.yaml`` is written — the
    labels and ``classes.txt`` are, and the report says why; a split without images is left out
    (reported), and a missing ``val`` names the training images (Ultralytics needs one; reported
    when ``split`` asked for one). ``project_type="image_pose_estimation"`` writes Ultralytics pose
    rows and the ``kpt_shape`` / ``flip_idx`` / ``kpt_names`` of ``data.yaml``.

    ``jobs=N`` converts and writes chunks of images in N worker processes.
    """
    target = YoloTarget(output_dir, project_type=project_type, classes=classes, obb=obb, layout=layout,
                        images=images, copy_images=copy_images, split=split, seed=seed)
    return export_alone(tasks, target, strict=strict, project_type=project_type, videos=videos,
                        frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress,
                        overwrite=overwrite)


class YoloTarget(PerImageTarget):
    """Class names and label files of a YOLO export, by the COCO path or the classes path.

    Images of width or height 0 get no label file on either path (reported).
    """

    name = "yolo"
    geometry = frozenset(SDK_GEOMETRY)
    folder = "annotations"
    suffix = ".txt"

    def __init__(self, output_dir, *, project_type: str = "image_bbox", classes: Sequence[str] | None = None,
                 obb: bool = False, annotations: Sequence[dict] | None = None, layout: str = "yolo",
                 images: str | os.PathLike[str] | None = None, copy_images: bool = False,
                 split: Mapping[str, float] | None = None, seed: int = 0) -> None:
        super().__init__(output_dir)
        self.project_type, self.obb, self.definitions = project_type, obb, annotations
        self.pose = project_type.endswith("pose_estimation")
        self.keypoint_keys: list[list[str]] = []
        self.by_classes = bool(classes)
        self.names = list(classes) if classes else []
        if layout not in LAYOUTS:
            raise FormatError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.ultralytics = layout == "ultralytics"
        if self.ultralytics and is_remote(output_dir):
            raise FormatError("layout='ultralytics' links or copies images: give a local output folder")
        self.folder = "" if self.ultralytics else "annotations"
        self.images, self.copy_images, self.seed = images, copy_images, seed
        self.split = checked_split(split) if split else None
        self.splits: set[str] = set()  # the splits the tasks went to (the parent's, for data.yaml)

    def split_of(self, frame: Frame) -> tuple[str, str]:
        """``(split, file name inside it)`` of a frame in the Ultralytics layout."""
        return split_of(frame.file_name, self.split, self.seed)

    def file_name(self, frame: Frame) -> str:
        """The label file: ``<basename>.txt`` in ``annotations/``, or in the Ultralytics layout
        the path (from the dataset root) where Ultralytics looks for the image's label."""
        if not self.ultralytics:
            return super().file_name(frame)
        return label_name(*self.split_of(frame))

    def survey(self, chunk: TaskChunk) -> set[str] | None:
        return {self.split_of(frame)[0] for frame in chunk.frames} if self.ultralytics else None

    def plan(self, survey: set[str] | None) -> None:
        self.splits |= survey or set()

    def write(self, table: AnnotationTable, part: list[bytes | None], report: ConversionReport) -> list[str]:
        written = super().write(table, part, report)
        if self.ultralytics:
            self.place_images(table, report)
        return written

    def place_images(self, table: AnnotationTable, report: ConversionReport) -> None:
        """Each frame's image in ``images/<split>/`` (when ``images`` is given); names Ultralytics'
        image search would not list are reported."""
        for frame in table.frames:
            split, name = self.split_of(frame)
            unseen = unseen_by_ultralytics(name)
            if unseen:
                report.note(f"image name Ultralytics does not list ({unseen}): it will not train on it",
                            where(table.source, frame.name))
            if self.images is None:
                continue
            target = self.output(name, table.source, f"images/{split}")
            if not place_image(Path(self.images) / frame.file_name, Path(target), self.copy_images):
                report.note("image file missing, not placed in images/", where(table.source, frame.name))

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """The class order: ``classes`` as given, else the run's (definitions, else sorted values);
        for a pose project each class's keypoint keys (its definition's, else those its annotations
        name)."""
        if self.by_classes:
            self.class_index = first_index(self.names)
        else:
            self.names = census.class_order(self.definitions)
        self.category_ids = {name: position + 1 for name, position in first_index(self.names).items()}
        if self.pose:
            keys = {c["name"]: list(c["keypoints"]) for c in census.categories(
                None if self.by_classes else self.definitions, self.names if self.by_classes else None)}
            self.keypoint_keys = [keys.get(name, []) for name in self.names]
            if not any(self.keypoint_keys):
                self.pose = False
                report.note("pose project without keypoints: box lines written", str(self.published_dir))

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        """The label file of every frame of one table (None: no label file)."""
        texts = frame_texts(table, self.lines(table, report), by_class=self.by_classes)
        return [None if sizeless else text
                for text, sizeless in zip(texts, table.sizeless(report, "skipped (no label file)"))]

    def lines(self, table: AnnotationTable, report: ConversionReport) -> YoloLines:
        """The label lines of one table, unordered: pose rows, or the lines of the ``classes`` path
        or of the COCO path."""
        if self.pose:
            return pose_lines(table, self.category_ids, self.keypoint_keys, report)
        if self.by_classes:
            return classes_lines(table, self.class_index, self.project_type, self.obb, report)
        return coco_lines(table, self.category_ids, self.project_type, self.obb, report)

    def finish(self, report: ConversionReport) -> None:
        present = [s for s in sorted(self.splits) if has_listed_image(Path(self.output(f"images/{s}", "data.yaml")))] \
            if self.ultralytics else []
        if not present:
            if self.ultralytics:
                report.note("no image placed in images/ that Ultralytics lists (give the images): data.yaml not "
                            "written, classes.txt written instead", str(self.published_dir))
            report.files.append(write_text_file(self.output("classes.txt", "classes.txt"), self.names))
            return
        for split in sorted(self.splits - set(present)):
            report.note(f"no image of split {split!r} that Ultralytics lists: left out of data.yaml",
                        str(self.published_dir))
        if "val" not in present and (self.split or {}).get("val"):
            report.note("no validation image drawn: data.yaml's val names the training images (Ultralytics needs "
                        "a val set)", str(self.published_dir))
        data = data_yaml(Path(self.published_dir), present, self.names, self.keypoint_keys if self.pose else None)
        report.files.append(write_atomic(self.output("data.yaml", "data.yaml"), data))


def coco_lines(table: AnnotationTable, category_ids: dict, project_type: str, obb: bool,
               report: ConversionReport) -> YoloLines:
    """Lines of the path without ``classes`` (the COCO export's): one box per COCO annotation, or its polygon rings."""
    rows = sdk_rows(table, category_ids, report)
    pose = kind_mask(table, "pose_estimation")[rows.order]
    table.note(report, table.rows_mask(rows.order[pose]),
               "pose_estimation has no box or polygon in YOLO, skipped")
    order = rows.order[~pose]
    klass = rows.category - 1
    if project_type == "image_segmentation":
        return polygon_lines(table, order, klass, report)
    return box_lines(table, order, klass, sdk_xywh(table), obb, report)


def classes_lines(table: AnnotationTable, index_of: dict, project_type: str, obb: bool,
                  report: ConversionReport) -> YoloLines:
    """Lines of the path with ``classes``, one kind per file as Ultralytics reads them: box lines
    (a polygon or segmentation as its box), or for ``image_segmentation`` polygon lines (a box as
    its closed ring), per class sorted by text."""
    klass = value_lookup(table, index_of, -1)
    rows = np.flatnonzero(apply_policy(table, YOLO_POLICY, report, klass >= 0))
    if project_type == "image_segmentation":
        return polygon_lines(table, rows, klass, report)
    return box_lines(table, rows, klass, coco_xywh(table, row_kinds(table), bbox_points(table)), obb, report)


def box_lines(table: AnnotationTable, rows: np.ndarray, klass: np.ndarray, xywh: np.ndarray, obb: bool,
              report: ConversionReport) -> YoloLines:
    """Box lines: centre x, centre y, w, h of ``xywh`` — or with ``obb`` the 4 box corners."""
    _note_boxed(table, rows, obb, report)
    if obb:  # a bbox's corners, rotated as it is; the corners of a polygon's or segmentation's box
        x, y, w, h = xywh[rows].T
        corners = box_corners(np.stack([x, y, x + w, y + h], 1))
        is_box = kind_mask(table, "bbox")[rows]
        corners[is_box] = ring_corners(table)[rows[is_box]]
        coords = corners.reshape(-1, 2)
        width = 4
    else:
        x, y, w, h = xywh[rows].T
        right, bottom = x + w, y + h
        coords = np.stack([(x + right) / 2, (y + bottom) / 2, right - x, bottom - y], 1).reshape(-1, 2)
        width = 2
    offsets = np.arange(len(rows) + 1, dtype=np.int64) * width
    return YoloLines(rows, klass[rows], np.zeros(len(rows), bool), coords, offsets)


def ring_corners(table: AnnotationTable) -> np.ndarray:
    """``(n, 4, 2)`` bbox corners as the COCO ring holds them: a rotated box's corners rounded as
    COCO rounds them (so both formats carry the same numbers), others exact."""
    corners = rotated_box_corners(table).copy()
    turned = rotated_boxes(table)
    corners[turned] = python_round(corners[turned])
    return corners


def _note_boxed(table: AnnotationTable, rows: np.ndarray, obb: bool, report: ConversionReport) -> None:
    """Report the rows of ``rows`` that a box line carries as their box only (a pose's box is its
    keypoints' box by definition: not reported)."""
    selected = table.rows_mask(rows)
    table.note(report, selected & ~kind_mask(table, "bbox", "pose_estimation"), "{kind} written as its bounding box")
    if not obb:
        table.note(report, selected & kind_mask(table, "bbox") & (rotations(table) != 0),
                   "rotated bbox written as its enclosing axis-aligned box (use obb=True)")


def pose_lines(table: AnnotationTable, category_ids: dict, keypoint_keys: list[list[str]],
               report: ConversionReport) -> YoloLines:
    """Ultralytics pose rows: every COCO row's box (a pose's is its keypoints' box), then per
    keypoint key of the dataset's widest class x, y and the COCO flag (2 visible, 1 invisible,
    ``0 0 0`` not labelled or not a key of the row's class)."""
    rows = sdk_rows(table, category_ids, report)
    order, klass = rows.order, rows.category - 1
    _note_boxed(table, order, False, report)
    count = max(len(keys) for keys in keypoint_keys)
    x, y, w, h = sdk_xywh(table)[order].T
    right, bottom = x + w, y + h
    boxes = np.stack([(x + right) / 2, (y + bottom) / 2, right - x, bottom - y], 1).reshape(-1, 2, 2)
    points = np.zeros((len(order), count, 2))
    flags = np.zeros((len(order), count), np.int64)
    for line, row in enumerate(order.tolist()):
        by_key = {k.get("key"): k["value"] for k in labelled_keypoints(table.annotations[row])}
        for position, key in enumerate(keypoint_keys[klass[row]]):
            value = by_key.get(key)
            try:
                if value is not None:
                    points[line, position], flags[line, position] = value[:2], 2 if value[2] == 1 else 1
            except (TypeError, ValueError, IndexError):
                report.note("keypoint value that is not [x, y, visibility]: written as not labelled", table.place(row))
    coords = np.concatenate([boxes, points], 1).reshape(-1, 2)
    offsets = np.arange(len(order) + 1, dtype=np.int64) * (2 + count)
    return YoloLines(order, klass[order], np.zeros(len(order), bool), coords, offsets, flags)


def polygon_lines(table: AnnotationTable, rows: np.ndarray, klass: np.ndarray,
                  report: ConversionReport) -> YoloLines:
    """One line per ring: the closed 5-vertex ring of a bbox (rotated by its rotation), a polygon,
    each outer ring."""
    table.note(report, table.rows_mask(rows) & rows_with_holes(table),
               "segmentation holes dropped")
    rings = table.rings
    is_box = kind_mask(table, "bbox")[rows]
    ring_ids, ring_positions = _segment_rings(table, rows, ~is_box, report)
    corners = ring_corners(table)[rows[is_box]]  # a bbox: its closed ring, rotated as the box is
    closed = np.concatenate([corners, corners[:, :1]], 1).reshape(-1, 2)
    source = np.concatenate([closed, rings.coords])
    starts = np.concatenate([np.arange(len(corners)) * 5, len(closed) + rings.ring_offsets[ring_ids]])
    sizes = np.concatenate([np.full(len(corners), 5), np.diff(rings.ring_offsets)[ring_ids]])
    positions = np.concatenate([np.flatnonzero(is_box), ring_positions])  # each line's row, as a position in rows
    order = np.argsort(positions, kind="stable")
    line_rows = rows[positions[order]]
    regions = np.bincount(line_rows, minlength=len(table)) > 1
    table.note(report, regions, "segmentation of several regions written as one line each (one object each in YOLO)")
    offsets = np.concatenate([[0], np.cumsum(sizes[order])])
    coords = source[span_indices(starts[order], sizes[order])]
    return YoloLines(line_rows, klass[line_rows], np.ones(len(line_rows), bool), coords, offsets)


def _segment_rings(table: AnnotationTable, rows: np.ndarray, ringed: np.ndarray,
                   report: ConversionReport) -> tuple[np.ndarray, np.ndarray]:
    """The outer rings of the ``ringed`` rows of ``rows`` with 3 vertices or more (what Ultralytics
    takes for a segment), in order, and each one's position in ``rows``; rows with a shorter ring
    reported."""
    rings = table.rings
    positions = np.flatnonzero(ringed)
    counts = np.diff(rings.shape_ring_offsets)[rows[positions]]
    ring_ids = span_indices(rings.shape_ring_offsets[rows[positions]], counts)
    ring_positions = np.repeat(positions, counts)
    outer = ~rings.is_hole[ring_ids]
    long_enough = np.diff(rings.ring_offsets)[ring_ids] >= 3
    table.note(report, table.rows_mask(rows[ring_positions[outer & ~long_enough]]),
               "{kind} ring of fewer than 3 vertices skipped (not a YOLO segment)")
    kept = outer & long_enough
    return ring_ids[kept], ring_positions[kept]


def frame_texts(table: AnnotationTable, lines: YoloLines, by_class: bool) -> list[bytes]:
    """The label file of every frame of ``table``: its lines in line order, or ``by_class`` (class
    number, boxes first), each ended by a newline."""
    frame_of_line = table.frame[lines.row]
    if by_class and lines.is_polygon.any():
        order = _classes_order(frame_of_line, lines, line_texts(table, lines))
    elif by_class:
        order = np.lexsort((lines.klass, frame_of_line))
    else:
        order = np.argsort(frame_of_line, kind="stable")
    text, line_ends = render_lines(table, lines, order)
    first_lines = np.searchsorted(frame_of_line[order], np.arange(len(table.frames) + 1))
    bounds = np.concatenate([[0], line_ends])[first_lines].tolist()
    data = text.tobytes()
    return [data[start:end] for start, end in zip(bounds[:-1], bounds[1:])]


def _classes_order(frame_of_line: np.ndarray, lines: YoloLines, texts: list[str]) -> np.ndarray:
    """The order with ``classes``: per frame by class (as a number: 2 before 10), boxes first, polygons by text."""
    first_line_of_row: dict[int, str] = {}
    for line, row in enumerate(lines.row.tolist()):
        first_line_of_row.setdefault(row, texts[line])
    keys = [
        (int(frame_of_line[i]), int(lines.klass[i]), int(lines.is_polygon[i]),
         first_line_of_row[int(lines.row[i])] if lines.is_polygon[i] else "", i)
        for i in range(len(texts))
    ]
    return np.array([key[-1] for key in sorted(keys)], np.int64)


def line_texts(table: AnnotationTable, lines: YoloLines) -> list[str]:
    """``"<class> <v> <v> ..."`` per line, in line order."""
    text, _ = render_lines(table, lines, np.arange(len(lines.row)))
    return text.tobytes().decode().split("\n")[:-1]


def render_lines(table: AnnotationTable, lines: YoloLines, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(text, ends)``: the lines of ``order`` as one uint8 buffer (each ``"<class> <v> <v> ...\\n"``,
    values truncated to 7 decimals and printed as ``str``, a value in (-1e-7, 0) as ``0.0`` as the
    official SDK prints it) and the offset just past each line."""
    values, fractional, offsets = scaled_units(table, lines), None, lines.offsets * 2
    if lines.visibility is not None:
        values, fractional, offsets = _with_flags(values, lines.visibility)
    units, fractional, separators, last = _line_tokens(lines.klass, values, fractional, offsets, order)
    text, ends = render_tokens(units, fractional, separators, YOLO_DECIMALS)
    return text, ends[last]


def scaled_units(table: AnnotationTable, lines: YoloLines) -> np.ndarray:
    """Every coordinate normalised by its image size and truncated to 7 decimals, as a whole
    number of 1e-7 units (``truncate``'s value times 1e7, bit for bit), x and y interleaved."""
    frame_of_point = np.repeat(table.frame[lines.row], np.diff(lines.offsets))
    scale = np.array([[1.0 / f.width if f.width else np.nan, 1.0 / f.height if f.height else np.nan]
                      for f in table.frames]).reshape(-1, 2)[frame_of_point]
    return np.trunc(lines.coords * scale * float(10**YOLO_DECIMALS)).ravel()


def _with_flags(values: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pose rows as tokens: the 4 box values, then ``x y v`` per keypoint (``v`` an integer);
    ``(units, fractional, offsets)``."""
    count, keypoints = len(visibility), visibility.shape[1]
    points = values.reshape(count, 2 + keypoints, 2)
    flagged = np.concatenate([points[:, 2:], visibility[:, :, None]], 2).reshape(count, 3 * keypoints)
    units = np.concatenate([points[:, :2].reshape(count, 4), flagged], 1)
    fractional = np.ones(units.shape, bool)
    fractional[:, 6::3] = False
    return units.ravel(), fractional.ravel(), np.arange(count + 1, dtype=np.int64) * units.shape[1]


def _line_tokens(klass: np.ndarray, values: np.ndarray, fractional: np.ndarray | None, offsets: np.ndarray,
                 order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tokens of the lines of ``order``: class, then the line's ``values[offsets[i]:offsets[i+1]]``
    (all fractional unless ``fractional`` says); ``(units, fractional, separators, each line's last token)``."""
    counts = np.diff(offsets)[order]
    last = np.cumsum(counts + 1) - 1
    first = last - counts
    picked = span_indices(offsets[:-1][order], counts)
    is_value = np.ones(len(order) + len(picked), bool)
    is_value[first] = False
    units = np.empty(len(is_value))
    units[first], units[is_value] = klass[order], values[picked]
    is_fraction = is_value.copy()
    if fractional is not None:
        is_fraction[is_value] = fractional[picked]
    separators = np.full(len(is_value), ord(" "), np.uint8)
    separators[last] = ord("\n")
    return units, is_fraction, separators, last
