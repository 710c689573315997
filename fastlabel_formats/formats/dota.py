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

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import msgspec
import numpy as np

from ..columns import bbox_points, rotations, row_kinds, value_codes
from ..errors import FormatError, where
from ..files import read_bytes
from ..geometry import box_corners, integral_to_int, python_round
from ..labelme import skipped_file
from ..report import ConversionReport
from ..run import PerImageTarget, RunOptions, export_alone, kept_parts
from ..runtime import gc_paused
from ..selection import Policy, apply_policy
from ..table import AnnotationTable, TaskChunk
from ..tasks import Frame
from ..yolo_layout import image_size
from . import Format
from .plain_numbers import row_texts

HEADERS = ("imagesource", "gsd")
LABELS = "labelTxt"
IMAGES = "images"
SPLITS = ("train", "val", "test")
DECIMALS = 9  # written coordinates: a rotation survives within 1e-9 rad on a 1 px box
TOLERANCE = 1e-6  # px: how far a quadrilateral's corners may be from a rectangle's to be read as a box
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
DOTA_POLICY = Policy(("bbox", "polygon"), skip_degenerate=False, missing_value="annotation without a class skipped")
_SPACES = re.compile(r"\s+")
_HEADER = re.compile(r"^([A-Za-z_]+):(.*)$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
BAD_LINE = "line that is not 'x1 y1 … x4 y4 class [difficult]', skipped"
NOT_RECTANGLE = "DOTA quadrilateral that is not a rectangle read as a polygon"
DEGENERATE = "DOTA quadrilateral of zero width or height read as a polygon"


# DOTA -> FastLabel


@dataclass
class ObjectLines:
    """The object lines of a label file, column by column: 8 coordinate strings, class, difficult
    (None: not given) and line number of each."""

    coordinates: list[list[str]]
    classes: list[str]
    difficult: list[bool | None]
    numbers: Iterable[int]


def dota_lines(text: str) -> tuple[list[dict], ObjectLines, list[int]]:
    """The header metadata, the object lines and the numbers of the other lines of one label file."""
    lines = text.splitlines()
    fields = [line.split() for line in lines]
    if all(len(row) == 10 and row[9] in ("0", "1") for row in fields):  # object lines only, all flagged
        return [], ObjectLines([row[:8] for row in fields], [row[8] for row in fields],
                               [row[9] == "1" for row in fields], range(1, len(fields) + 1)), []
    metadata: list[dict] = []
    objects = ObjectLines([], [], [], [])
    bad: list[int] = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if len(fields) in (9, 10) and (len(fields) == 9 or fields[9] in ("0", "1")):
            objects.coordinates.append(fields[:8])
            objects.classes.append(fields[8])
            objects.difficult.append(None if len(fields) == 9 else fields[9] == "1")
            objects.numbers.append(number)
        elif not objects.classes and _HEADER.match(line.strip()):
            key, _, value = line.strip().partition(":")
            metadata.append({"key": key, "value": value.strip()})
        elif fields:
            bad.append(number)
    return metadata, objects, bad


def coordinate_array(fields: list[list[str]]) -> np.ndarray:
    """``(n, 8)`` numbers of the coordinate strings of ``n`` lines; a row of NaN for a line whose
    coordinates are not all finite numbers."""
    numbers = _json_numbers(fields)
    if numbers is None:
        try:
            numbers = np.array(fields, dtype=np.float64).reshape(-1, 8)
        except ValueError:
            numbers = np.array([_floats(row) for row in fields], dtype=np.float64).reshape(-1, 8)
    numbers[~np.isfinite(numbers).all(axis=1)] = np.nan
    return numbers


_DECODE_FLOATS = msgspec.json.Decoder(list[float]).decode  # correctly rounded, as float() and numpy are


def _json_numbers(fields: list[list[str]]) -> np.ndarray | None:
    """``(n, 8)`` numbers of the coordinate strings when all are JSON numbers below 2**53 in size
    (read in one call, as numpy reads them); else None."""
    if not fields:
        return None
    text = "[" + ",".join(map(",".join, fields)) + "]"
    if "-0" in text and ("-0," in text or "-0]" in text):  # an integer -0 is decoded as 0, not -0.0
        return None
    try:
        numbers = np.array(_DECODE_FLOATS(text), np.float64)
    except msgspec.DecodeError:
        return None
    if numbers.size != 8 * len(fields) or not (np.abs(numbers) < 2.0**53).all():
        return None
    return numbers.reshape(-1, 8)


def _floats(row: list[str]) -> list[float]:
    return [float(v) if _NUMBER.match(v) else np.nan for v in row]


def _object_line(fields: list[str]) -> bool:
    """Whether ``fields`` make an object line."""
    return len(fields) in (9, 10) and all(_NUMBER.match(f) for f in fields[:8]) and fields[9:] in ([], ["0"], ["1"])


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


def dota_annotations(coordinates: np.ndarray, classes: list[str], difficult: list[bool | None],
                     place: Callable[[int], str], report: ConversionReport,
                     tolerance: float = TOLERANCE) -> list[dict]:
    """FastLabel annotations of ``(n, 8)`` quadrilaterals: a rotated bbox per rectangle, a polygon
    (reported at ``place(i)``) per other one; ``difficult`` (None: not given) a switch attribute."""
    if not len(coordinates):
        return []
    boxes, degrees, misfit = quads_to_boxes(clockwise(coordinates.reshape(-1, 4, 2)))
    fitted = misfit <= tolerance
    for row in np.flatnonzero(fitted & (misfit > TOLERANCE)).tolist():
        report.note(f"DOTA quadrilateral fitted to a rotated box (corners moved up to {tolerance} px)", place(row))
    for row in np.flatnonzero(~fitted).tolist():
        report.note(NOT_RECTANGLE if np.isfinite(misfit[row]) else DEGENERATE, place(row))
    annotations = [{"type": "bbox", "value": name, "points": box, "rotation": turn,
                    "attributes": [] if flag is None else [{"key": "difficult", "value": flag, "type": "switch"}]}
                   for name, flag, box, turn in zip(classes, difficult, integral_to_int(boxes),
                                                    integral_to_int(degrees))]
    for row, polygon in zip(np.flatnonzero(~fitted).tolist(), integral_to_int(coordinates[~fitted])):
        annotations[row] = {"type": "polygon", "value": classes[row], "points": polygon,
                            "attributes": annotations[row]["attributes"]}
    return annotations


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


@functools.lru_cache(maxsize=64)
def image_index(folder: Path) -> dict[str, str]:
    """``{image path without suffix: image path}`` (relative, POSIX) of the images under ``folder``."""
    if not folder.is_dir():
        return {}
    found: dict[str, str] = {}
    rank = {suffix: position for position, suffix in enumerate(IMAGE_SUFFIXES)}
    images = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix.lower() in rank)
    for name in sorted(images, key=lambda n: (rank[os.path.splitext(n)[1].lower()], n)):
        found.setdefault(os.path.splitext(name)[0], name)
    return found


def image_of(label: Path, labels_root: Path, images: Path | None) -> tuple[str, Path | None]:
    """The image name (relative to the images folder) of a label file, and its path when found."""
    stem = os.path.splitext(_relative(label, labels_root))[0]
    folder, index = _images_of(labels_root, images)
    name = index.get(stem)
    return (f"{stem}.png", None) if name is None else (name, folder / name)


def _relative(path: Path, root: Path) -> str:
    """``path.relative_to(root).as_posix()`` (by string when ``path`` is inside ``root``'s text)."""
    text, base = str(path), os.path.join(str(root), "")
    if not text.startswith(base) or base == os.sep:
        return path.relative_to(root).as_posix()
    relative = text[len(base):]
    return relative if os.sep == "/" else relative.replace(os.sep, "/")


@functools.lru_cache(maxsize=64)
def _images_of(labels_root: Path, images: Path | None) -> tuple[Path, dict[str, str]]:
    """The images folder of a labels folder (``images``, else ``images/`` beside it) and its index."""
    folder = images if images is not None else labels_root.parent / IMAGES
    return folder, image_index(folder)


@dataclass
class LabelFile:
    """One read label file: its task (annotations still to come) and its object lines."""

    task: dict
    objects: ObjectLines
    path: Path


def read_label_file(label: Path, root: Path, prefix: str, images: Path | None,
                    report: ConversionReport) -> LabelFile | None:
    """The task and object lines of one label file (None when the file is unreadable: reported)."""
    try:
        text = read_bytes(label, "DOTA label file").decode("utf-8")
    except (FormatError, UnicodeDecodeError) as error:
        skipped_file(report, label, "DOTA label file unreadable or not UTF-8, skipped", str(error)[:120])
        return None
    metadata, objects, bad = dota_lines(text)
    for number in bad:
        report.note(BAD_LINE, f"{label} line {number}")
    name, image = image_of(label, root, images if images is None or not prefix else images / prefix.rstrip("/"))
    width, height = _size(image, label, report)
    task = {"name": prefix + name, "width": width, "height": height, "annotations": []}
    if metadata:
        task["metadatas"] = metadata
    return LabelFile(task, objects, label)


def _size(image: Path | None, label: Path, report: ConversionReport) -> tuple[int, int]:
    if image is None:
        report.note("image not found beside the labels, size unknown (0)", str(label))
        return 0, 0
    try:
        return image_size(image)
    except FormatError as error:
        report.note(f"image unreadable, size unknown (0) ({error})", str(label))
        return 0, 0


def fill_annotations(files: list[LabelFile], report: ConversionReport, tolerance: float) -> None:
    """Every file's annotations, from one pass over all their quadrilaterals."""
    def column(name: str) -> list:
        return list(chain.from_iterable(getattr(file.objects, name) for file in files))

    numbers = coordinate_array(column("coordinates"))
    owners = np.repeat(np.arange(len(files)), [len(file.objects.classes) for file in files])
    line_numbers, classes, difficult = column("numbers"), column("classes"), column("difficult")
    usable = ~np.isnan(numbers[:, 0])
    for row in np.flatnonzero(~usable).tolist():
        report.note(BAD_LINE, f"{files[owners[row]].path} line {line_numbers[row]}")
    kept = np.flatnonzero(usable).tolist()
    if len(kept) < len(classes):
        classes, difficult = [classes[row] for row in kept], [difficult[row] for row in kept]
    annotations = dota_annotations(numbers[usable], classes, difficult,
                                   lambda i: f"{files[owners[kept[i]]].path} line {line_numbers[kept[i]]}", report,
                                   tolerance)
    ends = np.cumsum(np.bincount(owners[usable], minlength=len(files))).tolist()
    for file, start, end in zip(files, [0, *ends], ends):
        file.task["annotations"] = annotations[start:end]


@gc_paused
def dota_tasks(source: str | os.PathLike[str], *, report: ConversionReport | None = None,
               images: str | os.PathLike[str] | None = None, tolerance: float = TOLERANCE) -> list[dict]:
    """FastLabel tasks of a DOTA label file, ``labelTxt`` folder or dataset (split folders such as
    ``train/labelTxt`` give names ``train/<image>``), sized from the images' headers (``images``,
    default the ``images`` folder beside ``labelTxt``); ``tolerance``: px a quadrilateral's corners
    may be off a rectangle's and still be read as a rotated box (the change reported)."""
    report = report or ConversionReport("dota import")
    path = Path(source)
    found = label_files(path)
    if not found:
        raise FormatError(f"{path}: no DOTA label (.txt) file found")
    image_index.cache_clear()  # the folders may have changed since the last call
    _images_of.cache_clear()
    images_folder = Path(images) if images is not None else None
    files = [read_label_file(label, root, prefix, images_folder, report) for label, root, prefix in found]
    files = [file for file in files if file is not None]
    fill_annotations(files, report, tolerance)
    return [file.task for file in files]


def read_dota(source: str | os.PathLike[str], *, report: ConversionReport | None = None, images=None,
              tolerance: float = TOLERANCE, **other_formats_options) -> list[dict]:
    """The registry's reader: :func:`dota_tasks` (the options of other formats ignored)."""
    return dota_tasks(source, report=report, images=images, tolerance=tolerance)


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
    return bool(lines) and _object_line(lines[0]) and not _NUMBER.match(lines[0][8])  # YOLO-OBB: a number


# FastLabel -> DOTA


def dota_class(value: object) -> str:
    """The class token of a value (whitespace, which would split the line, replaced by ``-``)."""
    return _SPACES.sub("-", str(value).strip())


def format_coordinates(corners: np.ndarray) -> list[str]:
    """Each row of ``(n, 8)`` coordinates as DOTA text (up to 9 decimals, integral as integers)."""
    return row_texts(integral_to_int(python_round(corners, DECIMALS)), " ")


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


def class_tokens(table: AnnotationTable) -> tuple[np.ndarray, np.ndarray]:
    """Per row its DOTA class token (:func:`dota_class`, worked out once per distinct value) and
    whether the token differs from the value."""
    codes, dictionary = value_codes(table)
    tokens = [dota_class(value) for value in dictionary] + [""]  # code -1: a value that is no class
    changed = np.array([token != value for token, value in zip(tokens, dictionary)] + [False])
    return np.asarray(tokens, dtype=object)[codes], changed[codes]


def difficult_flags(table: AnnotationTable) -> tuple[np.ndarray, np.ndarray]:
    """Per row the value (0/1) of its first ``difficult`` switch attribute, and whether it has other
    attributes (which DOTA cannot carry)."""
    difficult = np.zeros(len(table), np.int64)
    others = np.zeros(len(table), bool)
    for row, annotation in enumerate(table.annotations):
        found = None
        for attribute in annotation.get("attributes") or ():
            if attribute.get("key") == "difficult" and attribute.get("type") == "switch":
                found = int(attribute.get("value")) if found is None else found
            else:
                others[row] = True
        difficult[row] = found or 0
    return difficult, others


def _writable(table: AnnotationTable, tokens: np.ndarray, renamed: np.ndarray, others: np.ndarray,
              report: ConversionReport) -> np.ndarray:
    """The rows DOTA can carry; the others reported."""
    kinds = row_kinds(table)
    keep = apply_policy(table, DOTA_POLICY, report)
    sizes = np.fromiter((len(p) if isinstance(p, list) else 0 for p in table.points), np.int64, len(table))
    not_quad = keep & (kinds == "polygon") & (sizes != 8)
    table.note(report, not_quad, "polygon without exactly 4 vertices not representable in {target}")
    boxes = bbox_points(table)
    flat = keep & (kinds == "bbox") & ((boxes[:, 0] == boxes[:, 2]) | (boxes[:, 1] == boxes[:, 3]))
    table.note(report, flat, "bbox of zero width or height skipped (no DOTA quadrilateral)")
    unnamed = keep & ~not_quad & ~flat & (tokens == "")
    table.note(report, unnamed, "annotation without a class skipped")
    keep &= ~not_quad & ~flat & ~unnamed
    table.note(report, keep & renamed, "class name with whitespace written with '-' instead")
    table.note(report, keep & others, "attributes other than difficult not carried by {target}")
    return keep


def dota_documents(table: AnnotationTable, headers: Mapping[str, list[dict]],
                   report: ConversionReport) -> list[str]:
    """The label file text of every frame of ``table`` (``headers``: task name -> its metadatas)."""
    tokens, renamed = class_tokens(table)
    difficult, others = difficult_flags(table)
    rows = np.flatnonzero(_writable(table, tokens, renamed, others, report))
    coordinates = format_coordinates(dota_corners(table, rows)) if rows.size else []
    lines: list[list[str]] = [[] for _ in table.frames]
    for frame, text, token, flag in zip(table.frame[rows].tolist(), coordinates, tokens[rows].tolist(),
                                        difficult[rows].tolist()):
        lines[frame].append(f"{text} {token} {flag}\n")
    return ["".join(_header_lines(headers.get(frame.name, ()), report, where(table.source, frame.name)) + frame_lines)
            for frame, frame_lines in zip(table.frames, lines)]


def _header_lines(metadata: Iterable[dict], report: ConversionReport, place: str) -> list[str]:
    """The ``imagesource:``/``gsd:`` lines of a task's metadata; other metadata reported."""
    lines = []
    for item in metadata:
        if item.get("key") in HEADERS and "\n" not in str(item.get("value", "")):
            lines.append(f"{item['key']}:{item.get('value', '')}\n")
        else:
            report.note("task metadata other than imagesource and gsd not carried by dota", place)
    return lines


def task_headers(tasks: Iterable[dict]) -> dict[str, list[dict]]:
    """``{task name: its metadata}`` of the tasks that have any."""
    found = {}
    for task in tasks:
        metadata = [m for m in task.get("metadatas") or () if isinstance(m, dict)]
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
    target = DotaTarget(".")

    def files(table: AnnotationTable, headers: object, report: ConversionReport, _: object) -> list[tuple[str, str]]:
        return [(target.file_name(frame), text) for frame, text in zip(table.frames,
                                                                       dota_documents(table, headers or {}, report))]

    parts = kept_parts(tasks, target, files, report, RunOptions(project_type, videos, frame_counts))
    return [file for written in parts for file in written]


@gc_paused
def export_dota(tasks: object, output_dir: str | os.PathLike[str] = os.path.join("output", "dota"), *,
                project_type: str = "image_bbox", videos: object = None,
                frame_counts: Mapping[str, int] | None = None, strict: bool = False, progress: bool = False,
                jobs: int = 1, scheduler: object = None, overwrite: bool | None = None) -> ConversionReport:
    """Write ``labelTxt/<image name without extension>.txt`` per image (see :class:`DotaTarget`)."""
    return export_alone(tasks, DotaTarget(output_dir), strict=strict, project_type=project_type, videos=videos,
                        frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress,
                        overwrite=overwrite)


FORMAT = Format(name="dota", summary="DOTA v1.0/v1.5 oriented boxes (labelTxt/*.txt)", read=read_dota,
                detect=detect_dota, target=lambda out, options: DotaTarget(out), source_help="labelTxt folder",
                verbs={"export_dota": export_dota, "to_dota": to_dota, "dota_tasks": dota_tasks})
