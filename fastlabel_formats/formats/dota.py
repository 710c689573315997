"""FastLabel <-> DOTA v1.0 / v1.5 oriented-box text labels.

A DOTA dataset holds ``labelTxt/<image stem>.txt`` per image (images in ``images/``, often inside a
split folder ``train/``, ``val/``). A label file may start with the header lines ``imagesource:…``
and ``gsd:…``; then one object a line: ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult``, the four
corners of a quadrilateral, clockwise on screen, starting from the object's front / top-left corner.

FastLabel's rotated bbox is ``points: [x1, y1, x2, y2]`` and ``rotation`` (degrees, clockwise on
screen) about the box centre: its corners are (x1,y1), (x2,y1), (x2,y2), (x1,y2) of the normalised
box, turned about the centre (:func:`fastlabel_formats.geometry.box_corners`). Written to DOTA they
are that clockwise order, starting from the turned top-left corner, so the first DOTA corner
carries the angle: reading a rectangle back gives the box and the rotation in [0, 360) that point
from corner 1 to corner 2 (a counter-clockwise file is read as its clockwise reversal, keeping its
first corner). A quadrilateral that is not a rectangle (within ``tolerance`` px) is read as a
4-vertex polygon (reported); a 4-vertex polygon is written as its vertices in their own order.

``difficult`` becomes a switch attribute ``difficult`` (as Pascal VOC's); the headers become the
task's ``metadatas`` (``[{"key": "imagesource", "value": …}, {"key": "gsd", "value": …}]``, as the
FastLabel API names task metadata) and are written back from there. Coordinates are written with
up to 9 decimals (integral values as integers), so a rotation comes back within 1e-6 degrees.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..columns import bbox_points, rotations, row_kinds
from ..errors import FormatError
from ..files import read_bytes
from ..geometry import box_corners, integral_to_int, python_round
from ..labelme import skipped_file
from ..pascalvoc import voc_flags
from ..report import ConversionReport
from ..run import PerImageTarget, prepared_tables, run_export
from ..runtime import gc_paused
from ..selection import Policy, apply_policy
from ..source import task_source
from ..tasks import AnnotationTable, Frame, TaskChunk
from ..yolo_layout import image_size
from . import Format

HEADERS = ("imagesource", "gsd")
LABELS = "labelTxt"
IMAGES = "images"
SPLITS = ("train", "val", "test")
DECIMALS = 9  # written coordinates: a rotation survives within 1e-9 rad on a 1 px box
TOLERANCE = 1e-6  # px: how far a quadrilateral's corners may be from a rectangle's to be read as a box
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
DOTA_POLICY = Policy(("bbox", "polygon"), skip_degenerate=False, missing_value="annotation without a class skipped")
_HEADER = re.compile(r"^([A-Za-z_]+):(.*)$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
NOT_RECTANGLE = "DOTA quadrilateral that is not a rectangle read as a polygon"
DEGENERATE = "DOTA quadrilateral of zero width or height read as a polygon"


# DOTA -> FastLabel


def dota_lines(text: str, place: str, report: ConversionReport) -> tuple[list[dict], list[tuple]]:
    """The header metadata and the objects ``(8 coordinates, class, difficult or None, line place)``
    of one label file; a line that is neither is reported and skipped."""
    metadata: list[dict] = []
    objects: list[tuple] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        header = _HEADER.match(line.strip()) if len(fields) == 1 else None
        if header and not objects:
            metadata.append({"key": header.group(1), "value": header.group(2).strip()})
            continue
        parsed = _object_line(fields)
        if parsed is None:
            report.note("line that is not 'x1 y1 … x4 y4 class [difficult]', skipped", f"{place} line {number}")
            continue
        objects.append((*parsed, f"{place} line {number}"))
    return metadata, objects


def _object_line(fields: list[str]) -> tuple[list[float], str, bool | None] | None:
    """``(coordinates, class, difficult)`` of one object line, or None when it is not one."""
    if len(fields) not in (9, 10) or not all(_NUMBER.match(f) for f in fields[:8]):
        return None
    difficult = None
    if len(fields) == 10:
        if fields[9] not in ("0", "1"):
            return None
        difficult = fields[9] == "1"
    coordinates = [float(f) for f in fields[:8]]
    return (coordinates, fields[8], difficult) if np.isfinite(coordinates).all() else None


def clockwise(quads: np.ndarray) -> np.ndarray:
    """``(n, 4, 2)`` quadrilaterals, each counter-clockwise one (on screen) reversed to clockwise
    with its first corner kept."""
    x, y = quads[..., 0], quads[..., 1]
    twice_area = (x * np.roll(y, 1, axis=1) - y * np.roll(x, 1, axis=1)).sum(axis=1)  # < 0: clockwise
    return np.where((twice_area > 0)[:, None, None], quads[:, [0, 3, 2, 1]], quads)


def quads_to_boxes(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes ``(n, 4)``, rotations ``(n,)`` in [0, 360) and the largest distance ``(n,)`` from each
    clockwise quadrilateral's corner to the matching corner of that rotated box (its misfit)."""
    p0, p1, p2, p3 = (quads[:, k] for k in range(4))
    width = (np.hypot(*(p1 - p0).T) + np.hypot(*(p2 - p3).T)) / 2
    height = (np.hypot(*(p3 - p0).T) + np.hypot(*(p2 - p1).T)) / 2
    centre = quads.mean(axis=1)
    half = np.stack([width, height], axis=1) / 2
    boxes = python_round(np.concatenate([centre - half, centre + half], axis=1), DECIMALS)
    degrees = np.mod(np.degrees(np.arctan2(p1[:, 1] - p0[:, 1], p1[:, 0] - p0[:, 0])), 360.0)
    degrees = python_round(np.where(degrees >= 360.0, 0.0, degrees), DECIMALS)
    misfit = np.abs(box_corners(boxes, degrees) - quads).max(axis=(1, 2)) if len(quads) else np.zeros(0)
    return boxes, degrees, np.where((width > 0) & (height > 0), misfit, np.inf)


def dota_annotations(objects: list[tuple], report: ConversionReport, tolerance: float = TOLERANCE) -> list[dict]:
    """FastLabel annotations of a file's objects: a rotated bbox per rectangle, a polygon (reported)
    per other quadrilateral; ``difficult`` as a switch attribute."""
    if not objects:
        return []
    quads = clockwise(np.asarray([o[0] for o in objects], np.float64).reshape(-1, 4, 2))
    boxes, degrees, misfit = quads_to_boxes(quads)
    annotations = []
    for (coordinates, name, difficult, place), box, turn, off in zip(objects, boxes, degrees, misfit.tolist()):
        if off <= tolerance:
            annotation = {"type": "bbox", "value": name, "points": integral_to_int(box), "rotation": _number(turn)}
            if off > TOLERANCE:
                report.note(f"DOTA quadrilateral fitted to a rotated box (corners moved up to {tolerance} px)", place)
        else:
            annotation = {"type": "polygon", "value": name, "points": integral_to_int(np.asarray(coordinates))}
            report.note(NOT_RECTANGLE if np.isfinite(off) else DEGENERATE, place)
        annotation["attributes"] = [] if difficult is None else [
            {"key": "difficult", "value": difficult, "type": "switch"}]
        annotations.append(annotation)
    return annotations


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def label_files(source: Path) -> list[tuple[Path, Path, str]]:
    """``(label file, its labels folder, split prefix)`` of every DOTA label file of ``source``: a
    ``.txt`` file, a ``labelTxt`` folder, a folder holding one, or a dataset root of split folders
    holding one."""
    if source.is_file():
        return [(source, source.parent, "")]
    if not source.is_dir():
        raise FormatError(f"{source}: no such file or folder")
    folders = [(source, "")] if source.name == LABELS else []
    folders += [(source / LABELS, "")] if (source / LABELS).is_dir() else []
    folders += [(child / LABELS, f"{child.name}/") for child in sorted(source.iterdir())
                if (child / LABELS).is_dir()]
    if not folders:
        folders = [(source, "")]
    return [(path, folder, prefix) for folder, prefix in folders for path in sorted(folder.rglob("*.txt"))]


def image_of(label: Path, labels_root: Path, images: Path | None) -> tuple[str, Path | None]:
    """The image name (relative to the images folder) of a label file, and its path when found."""
    stem = label.relative_to(labels_root).with_suffix("").as_posix()
    folder = images if images is not None else labels_root.parent / IMAGES
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate.relative_to(folder).as_posix(), candidate
    return f"{stem}.png", None


def dota_task(label: Path, root: Path, prefix: str, images: Path | None, report: ConversionReport,
              tolerance: float = TOLERANCE) -> dict | None:
    """The FastLabel task of one label file (None when the file is unreadable: reported)."""
    try:
        text = read_bytes(label, "DOTA label file").decode("utf-8")
    except (FormatError, UnicodeDecodeError) as error:
        skipped_file(report, label, "DOTA label file unreadable or not UTF-8, skipped", str(error)[:120])
        return None
    metadata, objects = dota_lines(text, str(label), report)
    name, image = image_of(label, root, images if images is None or not prefix else images / prefix.rstrip("/"))
    width, height = _size(image, label, report)
    task = {"name": prefix + name, "width": width, "height": height,
            "annotations": dota_annotations(objects, report, tolerance)}
    if metadata:
        task["metadatas"] = metadata
    return task


def _size(image: Path | None, label: Path, report: ConversionReport) -> tuple[int, int]:
    if image is None:
        report.note("image not found beside the labels, size unknown (0)", str(label))
        return 0, 0
    try:
        return image_size(image)
    except FormatError as error:
        report.note(f"image unreadable, size unknown (0) ({error})", str(label))
        return 0, 0


@gc_paused
def dota_tasks(source: str | os.PathLike[str], *, report: ConversionReport | None = None,
               images: str | os.PathLike[str] | None = None, tolerance: float = TOLERANCE) -> list[dict]:
    """FastLabel tasks of a DOTA label file, ``labelTxt`` folder or dataset (split folders such as
    ``train/labelTxt`` give names ``train/<image>``), sized from the images' headers (``images``,
    default the ``images`` folder beside ``labelTxt``); ``tolerance``: px a quadrilateral's corners
    may be off a rectangle's and still be read as a rotated box (the change reported)."""
    report = report or ConversionReport("dota import")
    path = Path(source)
    files = label_files(path)
    if not files:
        raise FormatError(f"{path}: no DOTA label (.txt) file found")
    tasks = [dota_task(label, root, prefix, Path(images) if images is not None else None, report, tolerance)
             for label, root, prefix in files]
    return [task for task in tasks if task is not None]


def read_dota(source: str | os.PathLike[str], *, report: ConversionReport, images=None, **options) -> list[dict]:
    """The registry's reader: :func:`dota_tasks`."""
    return dota_tasks(source, report=report, images=images, **options)


def detect_dota(path: Path) -> float:
    """How sure ``path`` is DOTA: a ``labelTxt`` folder (or one below), or a ``.txt`` whose first
    object line is ``8 numbers, class[, 0/1]``."""
    try:
        if path.is_dir():
            folder = path if path.name == LABELS else next(
                (c for c in (path / LABELS, *(p / LABELS for p in path.iterdir() if p.is_dir())) if c.is_dir()), None)
            sample = next(folder.rglob("*.txt"), None) if folder is not None else None
            return 0.95 if sample is not None and _looks_like_dota(sample) else (0.5 if folder else 0.0)
        return 0.8 if path.suffix.lower() == ".txt" and _looks_like_dota(path) else 0.0
    except OSError:
        return 0.0


def _looks_like_dota(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", "replace").splitlines()
    lines = [line.split() for line in head[:-1] or head if line.strip() and not _HEADER.match(line.strip())]
    return bool(lines) and _object_line(lines[0]) is not None


# FastLabel -> DOTA


def dota_class(value: object) -> str:
    """The class token of a value (whitespace, which would split the line, replaced by ``-``)."""
    return re.sub(r"\s+", "-", str(value).strip())


def format_coordinates(corners: np.ndarray) -> list[str]:
    """Each row of ``(n, 8)`` coordinates as DOTA text (up to 9 decimals, integral as integers)."""
    return [" ".join(map(str, row)) for row in integral_to_int(python_round(corners, DECIMALS))]


def dota_corners(table: AnnotationTable, rows: np.ndarray) -> np.ndarray:
    """``(len(rows), 8)`` DOTA corners of bbox (clockwise from the turned top-left) and 4-vertex
    polygon rows (their own order)."""
    out = np.full((len(rows), 8), np.nan)
    boxes = bbox_points(table)[rows]
    is_box = row_kinds(table)[rows] == "bbox"
    if is_box.any():
        ordered = np.concatenate([np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])], 1)
        out[is_box] = box_corners(ordered[is_box], rotations(table)[rows][is_box]).reshape(-1, 8)
    for position in np.flatnonzero(~is_box).tolist():
        out[position] = np.asarray(table.points[rows[position]], np.float64)
    return out


def _writable(table: AnnotationTable, report: ConversionReport) -> np.ndarray:
    """The rows DOTA can carry; the others reported."""
    kinds = row_kinds(table)
    keep = apply_policy(table, DOTA_POLICY, report)
    sizes = np.fromiter((len(p) if isinstance(p, list) else 0 for p in table.points), np.int64, len(table))
    not_quad = keep & (kinds == "polygon") & (sizes != 8)
    table.note(report, not_quad, "polygon without exactly 4 vertices not representable in {target}")
    boxes = bbox_points(table)
    flat = keep & (kinds == "bbox") & ((boxes[:, 0] == boxes[:, 2]) | (boxes[:, 1] == boxes[:, 3]))
    table.note(report, flat, "bbox of zero width or height skipped (no DOTA quadrilateral)")
    keep &= ~not_quad & ~flat
    values = [a.get("value") for a in table.annotations]
    unnamed = keep & np.fromiter((not dota_class(v) for v in values), bool, len(table))
    table.note(report, unnamed, "annotation without a class skipped")
    keep &= ~unnamed
    renamed = keep & np.fromiter((dota_class(v) != v for v in values), bool, len(table))
    table.note(report, renamed, "class name with whitespace written with '-' instead")
    lost = keep & np.fromiter((any(a.get("key") != "difficult" for a in ann.get("attributes") or ())
                               for ann in table.annotations), bool, len(table))
    table.note(report, lost, "attributes other than difficult not carried by {target}")
    return keep


def dota_documents(table: AnnotationTable, headers: Mapping[str, list[dict]],
                   report: ConversionReport) -> list[str]:
    """The label file text of every frame of ``table`` (``headers``: task name -> its metadatas)."""
    rows = np.flatnonzero(_writable(table, report))
    coordinates = format_coordinates(dota_corners(table, rows)) if rows.size else []
    lines: list[list[str]] = [[] for _ in table.frames]
    for row, text in zip(rows.tolist(), coordinates):
        annotation = table.annotations[row]
        difficult = voc_flags(annotation.get("attributes"))[2]
        lines[table.frame[row]].append(f"{text} {dota_class(annotation.get('value'))} {difficult}")
    return ["".join(_header_lines(headers.get(frame.name, ())) + [line + "\n" for line in frame_lines])
            for frame, frame_lines in zip(table.frames, lines)]


def _header_lines(metadata: Iterable[dict]) -> list[str]:
    return [f"{item['key']}:{item.get('value', '')}\n" for item in metadata if item.get("key") in HEADERS]


def task_headers(tasks: Iterable[dict]) -> dict[str, list[dict]]:
    """``{task name: [DOTA header metadata]}`` of the tasks that have any."""
    found = {}
    for task in tasks:
        metadata = [m for m in task.get("metadatas") or () if isinstance(m, dict) and m.get("key") in HEADERS]
        if metadata:
            found[task["name"]] = metadata
    return found


class DotaTarget(PerImageTarget):
    """One DOTA label file per image: ``labelTxt/<name>.txt`` (``<split>/labelTxt/<name>.txt`` for a
    name in a ``train``/``val``/``test`` folder, the layout datumaro and the DOTA devkit read)."""

    name = "dota"
    geometry = frozenset(("bbox", "polygon"))

    def file_name(self, frame: Frame) -> str:
        stem = os.path.splitext(frame.file_name)[0]
        split, _, rest = stem.partition("/")
        return f"{split}/{LABELS}/{rest}.txt" if rest and split in SPLITS else f"{LABELS}/{stem}.txt"

    def survey(self, chunk: TaskChunk) -> dict[str, list[dict]]:
        return task_headers(chunk.tasks)

    def plan(self, survey: dict[str, list[dict]]) -> dict[str, list[dict]]:
        return survey

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [text.encode() for text in dota_documents(table, plan or {}, report)]


@gc_paused
def to_dota(tasks: object, *, project_type: str = "image_bbox", videos: object = None,
            frame_counts: Mapping[str, int] | None = None,
            report: ConversionReport | None = None) -> list[tuple[str, str]]:
    """``[(label file path, text)]``, one DOTA label file per image (video: per frame)."""
    report = report or ConversionReport("dota")
    source = task_source(tasks).replayable()
    target = DotaTarget(".")
    headers = task_headers(source)
    return [(target.file_name(frame), text)
            for table in prepared_tables(source, target, report, project_type, videos, frame_counts)
            for frame, text in zip(table.frames, dota_documents(table, headers, report))]


@gc_paused
def export_dota(tasks: object, output_dir: str | os.PathLike[str] = os.path.join("output", "dota"), *,
                project_type: str = "image_bbox", videos: object = None,
                frame_counts: Mapping[str, int] | None = None, strict: bool = False, progress: bool = False,
                jobs: int = 1, scheduler: object = None, overwrite: bool | None = None) -> ConversionReport:
    """Write ``labelTxt/<image name without extension>.txt`` per image (see :class:`DotaTarget`)."""
    report = ConversionReport("dota", strict=strict)
    run_export(tasks, [DotaTarget(output_dir)], [report], project_type=project_type, videos=videos,
               frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress, overwrite=overwrite)
    return report


FORMAT = Format(name="dota", summary="DOTA v1.0/v1.5 oriented boxes (labelTxt/*.txt)", read=read_dota,
                detect=detect_dota, target=lambda out, options: DotaTarget(out), source_help="labelTxt folder",
                verbs={"export_dota": export_dota, "to_dota": to_dota, "dota_tasks": dota_tasks})
