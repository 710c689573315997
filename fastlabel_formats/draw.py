"""Images with their annotations drawn on them: corners in any order, stroke widths per annotation, the
caller's points untouched, unknown types skipped and reported, RGB output."""

from __future__ import annotations

import io
import os
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from .errors import FormatError, where
from .geometry import box_corners
from .raster import check_image_size, check_raster
from .render import paint_batch
from .report import ConversionReport
from .run import PerImageTarget, export_alone
from .runtime import gc_paused
from .table import AnnotationTable, table_of
from .tasks import checked_task
from .validation import RING_TYPES

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp")
OPACITY_DARK, OPACITY_THIN = 200, 50
KEYPOINT_MIN_STROKE, POSE_MIN_STROKE, STROKE_DIVISOR = 2, 7, 300
NOT_DRAWN = ("classification",)
IMAGES_PER_CHUNK = 4


def _box(points: list) -> list:
    x1, y1, x2, y2 = points
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


def _draw_pose(pen: ImageDraw.ImageDraw, annotation: dict, rgb: tuple, stroke: int) -> None:
    stroke = max(stroke, POSE_MIN_STROKE)
    located = {k.get("key"): k["value"][:2] for k in annotation.get("keypoints") or () if k.get("value")}
    pairs = {tuple(sorted((k.get("key"), edge))) for k in annotation.get("keypoints") or ()
             if k.get("key") in located for edge in k.get("edges") or () if edge in located}
    for first, second in sorted(pairs):
        pen.line(list(located[first]) + list(located[second]), fill=rgb + (OPACITY_DARK,), width=stroke)
    for x, y in located.values():
        pen.ellipse([x - stroke, y - stroke, x + stroke, y + stroke], fill=rgb, width=stroke)


def _draw_polygon(pen: ImageDraw.ImageDraw, points: list, dark: tuple, thin: tuple, stroke: int) -> None:
    closed = list(points) + list(points[:2])  # a copy: the caller's points stay as they are
    pen.line(closed, fill=dark, width=stroke)
    pen.polygon(closed, fill=thin)


def _clipped(points: list, width: int, height: int) -> list:
    """Coordinates clipped to one image size beyond each edge: what lies further out draws the same
    pixels, and PIL would spend minutes on a coordinate of 1e308."""
    limit = np.array([width, height] * (len(points) // 2) + [width] * (len(points) % 2), np.float64)
    return np.clip(np.asarray(points, np.float64), -limit, 2 * limit).tolist()


def draw_shape(pen: ImageDraw.ImageDraw, annotation: dict, rgb: tuple, stroke: int) -> bool:
    """Draw one non-segmentation annotation; False when its type is not drawable here."""
    kind, points = annotation.get("type"), annotation.get("points")
    if kind in ("bbox", "polygon", "keypoint", "line") and points and not annotation.get("rotation"):
        points = _clipped(points, *pen.im.size)
    dark, thin = rgb + (OPACITY_DARK,), rgb + (OPACITY_THIN,)
    if kind == "bbox" and annotation.get("rotation"):  # its rotated corners, as everywhere else
        corners = box_corners(np.array([points], np.float64), np.array([annotation["rotation"]], np.float64))
        _draw_polygon(pen, corners.ravel().tolist(), dark, thin, stroke)
    elif kind == "bbox":
        pen.rectangle(_box(points), fill=thin, outline=dark, width=stroke)
    elif kind == "polygon":
        _draw_polygon(pen, points, dark, thin, stroke)
    elif kind == "keypoint":
        radius = max(stroke, KEYPOINT_MIN_STROKE)  # per annotation, never leaks to the next
        x, y = points[:2]
        pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=dark, width=radius)
    elif kind == "line":
        pen.line(list(points), fill=dark, width=stroke)
    elif kind == "circle":
        x, y, radius = points
        pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=dark)
    elif kind == "pose_estimation":
        _draw_pose(pen, annotation, rgb, stroke)
    else:
        return kind in NOT_DRAWN
    return True


def _segmentation_overlay(image: Image.Image, task: dict, colours: dict[int, tuple], source: str,
                          raster: str = "staircase") -> Image.Image:
    """Blend the segmentations (the PNG exports' pixels, later ones overwrite earlier) onto the image."""
    table = table_of([task], source, ("segmentation",))
    index = np.zeros((image.height, image.width), np.int32)
    values = [position + 1 if position in colours else None for position in range(len(task["annotations"]))]
    paint_batch(index, table, values, raster)
    lookup = np.zeros((len(values) + 1, 4), np.uint8)
    for position, rgb in colours.items():
        lookup[position + 1] = rgb + (2 * OPACITY_THIN,)
    overlay = lookup[index]
    base = np.array(image.convert("RGBA"))
    merged = (base * 0.5 + overlay * 0.5).astype(np.uint8)
    mask = Image.fromarray(overlay[..., 3], "L")
    return Image.composite(Image.fromarray(merged), Image.fromarray(base), mask).convert("RGB")


def draw_annotations(image: Image.Image, task: dict, *, source: str = "tasks",
                     report: ConversionReport | None = None, raster: str = "staircase") -> Image.Image:
    """A new RGB image: ``image`` with the task's annotations drawn as the official SDK draws them
    (segmentation pixels by the ``raster`` rule: the SDK's, or ``"exact"``)."""
    report = report or ConversionReport("images")
    task = checked_task(task, source)
    image = image.convert("RGB")
    stroke = max(1, int(min(image.width, image.height) / STROKE_DIVISOR))
    pen = ImageDraw.Draw(image, "RGBA")
    segmentation_colours: dict[int, tuple] = {}
    for position, annotation in enumerate(task.get("annotations", ())):
        place = where(source, task["name"], position, annotation.get("type"))
        try:
            rgb = ImageColor.getcolor(annotation.get("color") or "", "RGB")
        except ValueError:
            report.note("annotation without a usable colour not drawn", place)
            continue
        if annotation.get("type") == "segmentation":
            segmentation_colours[position] = rgb
        elif not annotation.get("points") and annotation.get("type") != "pose_estimation":
            continue
        elif not draw_shape(pen, annotation, rgb, stroke):
            report.note(f"{annotation.get('type')} annotation: unknown type, not drawn", place)
    if segmentation_colours:
        image = _segmentation_overlay(image, task, segmentation_colours, source, check_raster(raster))
    return image


def _image_files(image_dir: Path) -> list[Path]:
    return sorted(p for p in image_dir.rglob("*") if p.is_file() and p.name.lower().endswith(IMAGE_EXTENSIONS))


@gc_paused
def export_image_with_annotations(
    tasks: object,
    image_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] = os.path.join("output", "images_with_annotations"),
    *,
    raster: str = "staircase",
    jobs: int = 1,
    scheduler: object = None,
    strict: bool = False,
    progress: bool = False,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Draw each task's annotations on its image (``image_dir/<task name>``) and write
    ``output_dir/<task name>`` in the same format (RGB, JPEG quality 95). Tasks without an image
    file and image files without a task are reported."""
    return export_alone(tasks, DrawTarget(output_dir, image_dir, raster), strict=strict, jobs=jobs,
                        scheduler=scheduler, progress=progress, overwrite=overwrite)


class DrawTarget(PerImageTarget):
    """Each task's image with its annotations drawn, under the task's own name."""

    name = "images"
    geometry = RING_TYPES  # every drawn shape is validated (a malformed one is skipped, reported)
    unique_outputs = False  # a task name given twice is drawn once and reported
    images_per_chunk = IMAGES_PER_CHUNK

    def __init__(self, output_dir, image_dir: str | os.PathLike[str], raster: str = "staircase") -> None:
        super().__init__(output_dir)
        self.image_dir, self.raster = Path(image_dir), check_raster(raster)
        self._unused: set[str] = set()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_unused": set()}  # the parent's bookkeeping

    def file_name(self, frame) -> str:
        return frame.file_name

    def prepare(self, census, report: ConversionReport) -> None:
        self._unused = {path.relative_to(self.image_dir).as_posix() for path in _image_files(self.image_dir)}
        self._drawn: set[str] = set()

    def survey(self, chunk) -> list[str]:
        return [frame.file_name for frame in chunk.frames]

    def plan(self, survey: list[str]) -> deque[str]:
        """Per frame of the block, in order: "draw", "missing" (no image file) or "duplicate" (a task of
        that name came before); each chunk takes the states of its frames from the front."""
        states: deque[str] = deque()
        for name in survey:
            if name in self._unused:
                self._unused.discard(name)
                self._drawn.add(name)
                states.append("draw")
            else:
                states.append("duplicate" if name in self._drawn else "missing")
        return states

    def encode(self, table: AnnotationTable, plan: deque[str], report: ConversionReport) -> list[bytes | None]:
        row_offsets = np.searchsorted(table.frame, np.arange(len(table.frames) + 1)).tolist()
        out: list[bytes | None] = []
        states = [plan.popleft() for _ in table.frames]
        for number, (frame, state) in enumerate(zip(table.frames, states)):
            if state != "draw":
                report.note("task without an image file, not drawn" if state == "missing"
                            else "task name given twice, only the first drawn", where(table.source, frame.name))
                out.append(None)
                continue
            task = {"name": frame.name, "width": frame.width, "height": frame.height,
                    "annotations": table.annotations[row_offsets[number]:row_offsets[number + 1]]}
            out.append(_encoded(self.image_dir / frame.file_name, task, Path(frame.file_name), table.source, report,
                                self.raster))
        return out

    def finish(self, report: ConversionReport) -> None:
        for name in sorted(self._unused):
            report.note("image file without a task, skipped", str(self.image_dir / name))


def _encoded(path: Path, task: dict, target: Path, source: str, report: ConversionReport,
             raster: str = "staircase") -> bytes:
    try:
        with Image.open(path) as opened:
            check_image_size(opened.width, opened.height, str(path))
            image = draw_annotations(opened, task, source=source, report=report, raster=raster)
    except (OSError, Image.DecompressionBombError) as error:
        raise FormatError(f"{path}: cannot read the image of task {task['name']!r} ({error})") from error
    stream = io.BytesIO()
    image.save(stream, format=Image.registered_extensions()[target.suffix.lower()], quality=95)
    return stream.getvalue()
