"""``report``: one self-contained HTML file that shows a project — summary numbers, annotations per
class and split, box-size histograms, images without annotations, every ``validate`` finding as a
thumbnail cropped around its shape, and a seeded sample of images with their annotations drawn —
with a class filter and a search in plain JavaScript. Nothing in the file reaches the network.

The input is streamed once (the chunk tables ``validate`` reads); only counters, histograms and
capped lists are kept, so memory does not grow with the project. Thumbnails are made only for the
first findings of each kind and for the sampled images, within the caps below.
"""

from __future__ import annotations

import base64
import io
import os
import random
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from .checks import check_table, known_values
from .columns import keypoint_boxes, row_kinds, vertex_bounds
from .convert import detect_format, read_tasks
from .draw import draw_annotations, draw_shape
from .errors import FormatError, where
from .evaluation import evaluate
from .files import write_atomic
from .raster import check_image_size
from .report import ConversionReport
from .report_page import Card, Pictures, Tally, frame_label, render_page
from .run import RunOptions, Target, kept_parts, progress_bar
from .staging import output_file
from .table import AnnotationTable
from .tasks import Frame
from .validation import MALFORMED, RING_TYPES

THUMBNAIL_SIDE = 256  # pixels, the longer side of every thumbnail
THUMBNAIL_STROKE = 2  # pixels, the outlines drawn on thumbnails
MAX_ZOOM = 8.0  # a tiny shape's crop is enlarged at most this much
CROP_MARGIN, MIN_CROP_MARGIN = 0.25, 16  # around a finding's shape: a share of its size, at least these pixels
WEBP_QUALITY, WEBP_METHOD = 70, 2  # method 2 encodes three times faster than the default, barely larger
FINDING_THUMBNAILS_PER_KIND = 50  # thumbnails of the first findings of each kind
FINDING_THUMBNAILS = 1000  # and of all kinds together
DEFAULT_SAMPLES, MAX_SAMPLES = 24, 500  # images in the sample grid
FINDING_BYTES, SAMPLE_BYTES = 11 << 20, 6 << 20  # at most this much of the page for each (with an evaluation: < 20 MB)
HIGHLIGHT = "#ff1f5a"  # the colour a finding's shape is drawn in
FALLBACK_COLOUR = "#1f77b4"  # for a sampled annotation without a usable colour
OUTSIDE, BLANK = (34, 34, 34), (120, 120, 120)  # canvas beyond the image; the image when none is given


class _ReportTarget(Target):
    """The tables of a report: every ring type's geometry, as ``validate`` reads them."""

    name = "validate"
    geometry = RING_TYPES

    def prepare(self, census, report: ConversionReport) -> None:
        self.tasks = census.tasks


@dataclass(frozen=True)
class _Watched(AnnotationTable):
    """A table that also remembers the rows of each problem ``check_table`` notes."""

    noted: list = field(default_factory=list, compare=False, repr=False)

    def note(self, report: ConversionReport, rows: np.ndarray, problem: str) -> None:
        super().note(report, rows, problem)
        self.noted.append((problem, np.flatnonzero(rows)))


def _watched(table: AnnotationTable) -> _Watched:
    return _Watched(**{f.name: getattr(table, f.name) for f in fields(AnnotationTable)})


class Painter:
    """Thumbnails: a region of a frame's image (``images``/<file name>, or a blank canvas of the
    frame's size) with some annotations drawn, encoded as a WebP data URI."""

    def __init__(self, images: str | os.PathLike[str] | None, source: str, losses: ConversionReport) -> None:
        self.images, self.source, self.losses = (Path(images) if images is not None else None), source, losses

    def thumbnail(self, frame: Frame, annotations: list[dict], region: tuple[float, float, float, float]) -> str:
        """The data URI of ``region`` (x0, y0, x1, y1 in image pixels) with ``annotations`` drawn."""
        image = self._image(frame)
        width, height = image.size if image is not None else (frame.width or region[2], frame.height or region[3])
        x0, y0, x1, y1 = _sane_region(region, width, height)
        scale = min(THUMBNAIL_SIDE / max(x1 - x0, y1 - y0, 1e-9), MAX_ZOOM)
        canvas = Image.new("RGB", (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))), OUTSIDE)
        inside = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
        if inside[2] > inside[0] and inside[3] > inside[1]:
            size = (max(1, round((inside[2] - inside[0]) * scale)), max(1, round((inside[3] - inside[1]) * scale)))
            piece = (image.crop(tuple(round(v) for v in inside)).resize(size) if image is not None
                     else Image.new("RGB", size, BLANK))
            canvas.paste(piece, (round((inside[0] - x0) * scale), round((inside[1] - y0) * scale)))
        placed = [_placed(annotation, scale, x0, y0) for annotation in annotations]
        task = {"name": frame.name, "width": canvas.width, "height": canvas.height, "annotations": placed}
        drawn = draw_annotations(canvas, task, source=self.source, report=self.losses)
        _outline(drawn, placed)
        stream = io.BytesIO()
        drawn.save(stream, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        return "data:image/webp;base64," + base64.b64encode(stream.getvalue()).decode()

    def _image(self, frame: Frame) -> Image.Image | None:
        """The frame's image, or None (without ``images``, for a video frame, or when it cannot be read:
        reported)."""
        if self.images is None or frame.key is not None:
            return None
        path, root = self.images / frame.file_name, os.path.realpath(self.images)
        place = where(self.source, frame.name)
        if not os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep):
            self.losses.note("image name leads outside the images folder, drawn on a blank canvas", place)
            return None
        try:
            with Image.open(path) as opened:
                check_image_size(opened.width, opened.height, str(path))
                return opened.convert("RGB")
        except FileNotFoundError:
            self.losses.note("no image file for the task, drawn on a blank canvas", place)
        except (OSError, Image.DecompressionBombError, FormatError) as error:
            self.losses.note("image unreadable, drawn on a blank canvas", f"{place} ({error})")
        return None


def _outline(image: Image.Image, annotations: list[dict]) -> None:
    """Draw the outlines of ``annotations`` again, :data:`THUMBNAIL_STROKE` wide: at thumbnail size the
    reference's stroke (a 300th of the image) would be under a pixel."""
    pen = ImageDraw.Draw(image, "RGBA")
    for annotation in annotations:
        try:
            rgb = ImageColor.getcolor(annotation.get("color") or "", "RGB")
        except ValueError:
            continue  # reported by draw_annotations
        if annotation.get("type") == "segmentation":
            for ring in (ring for region in annotation.get("points") or () for ring in region):
                draw_shape(pen, {"type": "line", "points": [*ring, *ring[:2]]}, rgb, THUMBNAIL_STROKE)
        elif annotation.get("points") or annotation.get("type") == "pose_estimation":
            draw_shape(pen, annotation, rgb, THUMBNAIL_STROKE)


def _sane_region(region: tuple, width: int, height: int) -> tuple[float, float, float, float]:
    """``region`` kept within one image size beyond each edge (as drawing clips), never empty."""
    span = np.array([max(width, 1), max(height, 1)] * 2, np.float64)
    x0, y0, x1, y1 = np.clip(np.nan_to_num(np.asarray(region, np.float64)), -span, 2 * span).tolist()
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _moved(coordinates: list, scale: float, x0: float, y0: float) -> list:
    """Flat x, y, x, y, … coordinates moved by (-x0, -y0) and scaled."""
    pairs = np.asarray(coordinates, np.float64).reshape(-1, 2)
    with np.errstate(over="ignore"):  # far out of the picture either way: drawing clips it
        return ((pairs - (x0, y0)) * scale).ravel().tolist()


def _placed(annotation: dict, scale: float, x0: float, y0: float) -> dict:
    """A copy of ``annotation`` in thumbnail pixels (its ``points`` already the frame's)."""
    kind, points = annotation.get("type"), annotation.get("points")
    placed = dict(annotation)
    if kind == "circle" and points:
        placed["points"] = [*_moved(points[:2], scale, x0, y0), points[2] * scale]
    elif kind == "segmentation" and points:
        placed["points"] = [[_moved(ring, scale, x0, y0) for ring in region] for region in points]
    elif points and kind in ("bbox", "polygon", "line", "keypoint"):
        placed["points"] = _moved(points, scale, x0, y0)
    if kind == "pose_estimation":
        placed["keypoints"] = [{**k, "value": [*_moved(k["value"][:2], scale, x0, y0), *k["value"][2:]]}
                               if isinstance(k, dict) and k.get("value") else k
                               for k in annotation.get("keypoints", ())]
    return placed


def _row_annotation(table: AnnotationTable, row: int, colour: str | None = None) -> dict:
    """Row ``row``'s annotation with the frame's points (a video frame's own), in ``colour`` if given."""
    annotation = {**table.annotations[row], "points": table.points[row]}
    if colour or not isinstance(annotation.get("color"), str):
        annotation["color"] = colour or FALLBACK_COLOUR
    return annotation


def _class_of(annotation: dict) -> list[str]:
    value = annotation.get("value")
    return [str(value)] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else []


def _frame_region(frame: Frame, bounds: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """The whole frame; for a frame without a size, the shapes' ``bounds`` (rows of x0, y0, x1, y1)."""
    if frame.width and frame.height:
        return 0.0, 0.0, float(frame.width), float(frame.height)
    bounds = bounds[np.isfinite(bounds).all(axis=1)] if bounds is not None else np.zeros((0, 4))
    if not len(bounds):
        return 0.0, 0.0, 1.0, 1.0
    return min(0.0, bounds[:, 0].min()), min(0.0, bounds[:, 1].min()), bounds[:, 2].max(), bounds[:, 3].max()


def _shape_region(table: AnnotationTable, row: int) -> tuple[float, float, float, float]:
    """The bounds of row ``row``'s shape with a margin, or its whole frame when it has no bounds."""
    bounds = vertex_bounds(table)[row]
    if not np.isfinite(bounds).all():
        bounds = keypoint_boxes(table)[row]
    if not np.isfinite(bounds).all():
        return _frame_region(table.frames[table.frame[row]])
    margin = max(CROP_MARGIN * max(bounds[2] - bounds[0], bounds[3] - bounds[1]), MIN_CROP_MARGIN)
    return bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin


@dataclass
class Gallery:
    """The capped thumbnails of a report: findings by kind (the first of each) and a seeded
    reservoir sample of frames, drawn at the end."""

    painter: Painter
    samples: int
    seed: int
    findings: dict[str, list[Card]] = field(default_factory=dict)
    finding_cards: int = 0
    finding_bytes: int = 0
    frames_seen: int = 0
    reservoir: list[tuple] = field(default_factory=list)  # (frame number, frame, its annotations, region)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def wants(self, kind: str) -> bool:
        return (self.finding_cards < FINDING_THUMBNAILS and self.finding_bytes < FINDING_BYTES
                and len(self.findings.get(kind, ())) < FINDING_THUMBNAILS_PER_KIND)

    def add_finding(self, kind: str, place: str, frame: Frame, annotations: list[dict], region: tuple) -> None:
        """A thumbnail of one finding, if its kind and the whole still have room."""
        if not self.wants(kind):
            return
        classes = [name for annotation in annotations for name in _class_of(annotation)]
        image = self.painter.thumbnail(frame, annotations, region)
        self.findings.setdefault(kind, []).append(Card(image, place, classes))
        self.finding_cards += 1
        self.finding_bytes += len(image)

    def add_frames(self, table: AnnotationTable) -> None:
        """Offer each frame of ``table`` to the reservoir (Algorithm R, seeded)."""
        starts = np.searchsorted(table.frame, np.arange(len(table.frames) + 1)).tolist()
        for number, frame in enumerate(table.frames):
            slot = self.frames_seen if self.frames_seen < self.samples else self.random.randrange(self.frames_seen + 1)
            self.frames_seen += 1
            if slot < self.samples:
                rows = range(starts[number], starts[number + 1])
                region = _frame_region(frame, vertex_bounds(table)[rows.start:rows.stop])
                sample = (self.frames_seen - 1, frame, [_row_annotation(table, row) for row in rows], region)
                self.reservoir[slot:slot + 1] = [sample]

    def sample_cards(self) -> list[Card]:
        """The sampled frames drawn, in input order of their frames, until :data:`SAMPLE_BYTES` are used."""
        cards, used = [], 0
        for _, frame, shapes, region in sorted(self.reservoir, key=lambda sample: sample[0]):
            if used >= SAMPLE_BYTES:
                break
            cards.append(Card(self.painter.thumbnail(frame, shapes, region), frame_label(frame),
                              sorted({name for shape in shapes for name in _class_of(shape)})))
            used += len(cards[-1].image)
        return cards


def _collect_findings(table: AnnotationTable, report: ConversionReport, known: set | None, gallery: Gallery) -> None:
    """Run every ``validate`` check on ``table`` into ``report``; thumbnails of the first findings."""
    watched = _watched(table)
    check_table(watched, report, known)
    for problem, rows in watched.noted:
        kinds = row_kinds(table)[rows]
        for kind_name in dict.fromkeys(kinds.tolist()):
            kind = problem.format(kind=kind_name, target=report.target)
            for row in rows[kinds == kind_name].tolist():
                if not gallery.wants(kind):
                    break  # the rest of this kind is counted, not drawn
                frame = table.frames[table.frame[row]]
                gallery.add_finding(kind, table.place(row), frame, [_row_annotation(table, row, HIGHLIGHT)],
                                    _shape_region(table, row))
    if table.malformed:
        frames = {where(table.source, frame.name): frame for frame in table.frames}
        for place, problem in table.malformed:
            frame = frames.get(place.split(" annotation #", 1)[0])
            if frame is not None:
                gallery.add_finding(MALFORMED, f"{place}: {problem}", frame, [], _frame_region(frame))


def _tasks_of(tasks: object, source_format: str, images: object, read_report: ConversionReport) -> object:
    """``tasks`` as FastLabel tasks: a non-FastLabel source read (``auto``: detected for a path)."""
    if source_format == "auto":
        source_format = detect_format(tasks) if isinstance(tasks, (str, os.PathLike)) else "fastlabel"
    if source_format == "fastlabel":
        return tasks
    return read_tasks(tasks, source_format, images=images, report=read_report)


def report(tasks: object, output: str | os.PathLike[str], *, source_format: str = "auto",
           images: str | os.PathLike[str] | None = None, samples: int = DEFAULT_SAMPLES, seed: int = 0,
           classes: Sequence[str] | None = None, annotations: Sequence[dict] | None = None,
           project_type: str = "image_bbox", title: str | None = None, predictions: object = None,
           pred_format: str = "auto", iou_type: str = "bbox", progress: bool = False) -> ConversionReport:
    """Write ``output``: one self-contained HTML report of ``tasks`` (anything ``validate`` takes,
    or a source in ``source_format``; ``images``: the folder of the task images, else shapes are
    drawn on blank canvases; ``samples`` images drawn, chosen by ``seed``; ``classes`` /
    ``annotations`` name the known values as in ``validate``). ``predictions`` (anything
    :func:`~fastlabel_formats.evaluation.evaluate` takes, in ``pred_format``): also the COCO metrics of
    the predictions against ``tasks`` (``iou_type`` bbox, segm or keypoints), their precision–recall
    curves and per-class table. ``progress``: a bar on a terminal, else a line every 30 seconds. The
    result lists what the report could not show (e.g. a missing image file)."""
    if not isinstance(samples, int) or not 0 <= samples <= MAX_SAMPLES:
        raise FormatError(f"samples must be a whole number from 0 to {MAX_SAMPLES}, got {samples!r}")
    known = known_values(classes, annotations)
    path = output_file(output)
    losses, findings = ConversionReport("report"), ConversionReport("validate")
    source_name = str(tasks) if isinstance(tasks, (str, os.PathLike)) else "tasks"
    if predictions is not None and isinstance(tasks, Iterator):
        tasks = list(tasks)  # read twice: once scored, once streamed
    scored = None if predictions is None else evaluate(
        tasks, predictions, iou_type=iou_type, gt_format=source_format, pred_format=pred_format,
        annotations=annotations, images=images)
    tasks = _tasks_of(tasks, source_format, images, findings)
    gallery = Gallery(Painter(images, source_name, losses), samples, seed)
    tally = _stream(tasks, project_type, known, findings, gallery, progress)
    pictures = Pictures(gallery.findings, gallery.sample_cards(), gallery.frames_seen, seed,
                        (FINDING_THUMBNAILS_PER_KIND, FINDING_THUMBNAILS))
    page = render_page(title or f"Report: {Path(source_name).name}", tally, findings, pictures, losses, scored)
    losses.files.append(write_atomic(path, page.encode()))
    return losses


def _stream(tasks: object, project_type: str, known: set | None, findings: ConversionReport, gallery: Gallery,
            progress: bool) -> Tally:
    """One pass over ``tasks``: the counters, the findings and the sample."""
    target, tally, bars = _ReportTarget("."), Tally(), ExitStack()
    bar = None

    def add(table: AnnotationTable, plan: object, report: ConversionReport, _: object) -> None:
        nonlocal bar
        if bar is None:  # the census is taken by then: the number of tasks is known
            bar = bars.enter_context(progress_bar(None if table.is_video else target.tasks, [findings], progress,
                                                  "report"))
        tally.add(table)
        _collect_findings(table, report, known, gallery)
        gallery.add_frames(table)
        bar.update(len(table.frames))

    with bars:
        kept_parts(tasks, target, add, findings, RunOptions(project_type))
    return tally
