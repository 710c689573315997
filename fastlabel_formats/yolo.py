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
from .errors import FormatError
from .geometry import box_corners, truncate
from .report import ConversionReport
from .run import PerImageTarget, prepared_tables, run_export, write_text_file
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .tasks import AnnotationTable

YOLO_DECIMALS = 7
YOLO_TYPES = ("bbox", "polygon", "segmentation")
YOLO_POLICY = Policy(YOLO_TYPES)  # holes and rotation: reported by the line builders


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
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
) -> ConversionReport:
    """Write ``annotations/<image basename>.txt`` per image and ``classes.txt``.

    ``jobs=N`` converts and writes chunks of images in N worker processes.
    """
    report = ConversionReport("yolo", strict=strict)
    target = YoloTarget(output_dir, project_type=project_type, classes=classes, obb=obb)
    run_export(tasks, [target], [report], project_type=project_type, videos=videos, frame_counts=frame_counts,
               jobs=jobs, scheduler=scheduler, progress=progress)
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
                 obb: bool = False, annotations: Sequence[dict] | None = None) -> None:
        super().__init__(output_dir)
        self.project_type, self.obb, self.definitions = project_type, obb, annotations
        self.by_classes = bool(classes)
        self.names = list(classes) if classes else []

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


# YOLO -> FastLabel (§10, D39–D41); project_type "bbox" (default), "segmentation" or "obb"

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMPORT_PROJECT_TYPES = ("bbox", "segmentation", "obb")
VALUES_PER_LINE = {"bbox": 4, "obb": 8}


def yolo_classes(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{"0": name, "1": name, ...}`` from a classes file, one stripped name per line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise FormatError(f"{path}: cannot read the classes file ({error.strerror})") from error
    return {str(index): line.strip() for index, line in enumerate(lines)}


def _yolo_line(kind: str, values: list[float], width: int, height: int) -> tuple[list, dict]:
    if kind == "bbox":
        cx, cy = float(width) * values[0], float(height) * values[1]
        w, h = float(width) * values[2], float(height) * values[3]
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], {}
    if kind == "segmentation":
        return [[[round(float(v) * (width if i % 2 == 0 else height)) for i, v in enumerate(values)]]], {}
    corners = np.array(values, np.float64).reshape(4, 2) * [width, height]
    centre = corners.mean(axis=0)
    top, side = corners[1] - corners[0], corners[2] - corners[1]
    half = np.array([np.hypot(*top), np.hypot(*side)]) / 2
    # the top edge and the side edge turned back by 90° point the same way; their sum gives the
    # angle from the whole box, not from its shortest edge (7-decimal corners are a little noisy)
    direction = top + np.array([side[1], -side[0]])
    rotation = float(np.degrees(np.arctan2(direction[1], direction[0])))
    return [*(centre - half).tolist(), *(centre + half).tolist()], {"rotation": rotation}


def yolo_label_annotations(path: Path, size: tuple[int, int], classes: dict, kind: str,
                           report: ConversionReport) -> list[dict]:
    """The annotations of one label file (blank lines ignored, any whitespace separates, D39)."""
    annotations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        place = f"{path}: line {number}"
        expected = VALUES_PER_LINE.get(kind)
        try:
            values = [float(token) for token in tokens[1:]]
        except ValueError:
            report.note("line with a non-numeric value, skipped", place)
            continue
        if tokens[0] not in classes:
            report.note("class id missing from the classes file, line skipped", place)
        elif not all(np.isfinite(values)) or (expected and len(values) != expected) or len(values) % 2 or not values:
            report.note(f"line without the values of a {kind} label, skipped", place)
        else:
            points, extra = _yolo_line(kind, values, *size)
            annotations.append({"value": classes[tokens[0]], "points": points, "type": kind if kind != "obb"
                                else "bbox", **extra})
    return annotations


@gc_paused
def yolo_to_fastlabel(
    classes_file_path: str | os.PathLike[str],
    dataset_folder_path: str | os.PathLike[str],
    project_type: str = "bbox",
    *,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> dict[str, list[dict]]:
    """``{image path: [annotations]}`` for every image (jpg/jpeg/png, any case) with a label file of
    the same name; sizes come from the image headers. ``project_type="obb"`` reads YOLO-OBB lines
    into rotated bboxes. Keys sorted."""
    tasks = yolo_tasks(classes_file_path, dataset_folder_path, project_type, report=report, strict=strict)
    return {t["name"]: t["annotations"] for t in tasks}


@gc_paused
def yolo_tasks(
    classes_file_path: str | os.PathLike[str],
    dataset_folder_path: str | os.PathLike[str],
    project_type: str = "bbox",
    *,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a YOLO dataset, sorted by name."""
    from PIL import Image

    if project_type not in IMPORT_PROJECT_TYPES:
        raise FormatError(f"project_type must be one of {IMPORT_PROJECT_TYPES}, got {project_type!r}")
    report = report or ConversionReport("yolo import", strict=strict)
    classes = yolo_classes(classes_file_path)
    folder = Path(dataset_folder_path)
    images = {p.with_suffix(""): p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES}
    results: dict[str, dict] = {}
    classes_file = Path(classes_file_path).resolve()
    for label in sorted(folder.rglob("*.txt")):
        image = images.get(label.with_suffix(""))
        if label.resolve() == classes_file:
            continue
        if image is None:
            report.note("label file without an image, skipped (D40)", str(label))
            continue
        try:
            with Image.open(image) as opened:
                size = opened.size
        except OSError as error:
            raise FormatError(f"{image}: cannot read the image size ({error})") from error
        name = image.relative_to(folder).as_posix()
        results[name] = {"name": name, "width": size[0], "height": size[1],
                         "annotations": yolo_label_annotations(label, size, classes, project_type, report)}
    return [results[name] for name in sorted(results)]
