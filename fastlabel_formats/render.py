"""Index-colour instance / semantic masks and their palette PNGs (``formats-spec.md`` §5).

Pixels follow :mod:`fastlabel_formats.raster` (truncated, staircased rings, pixel-centre rule),
so the result does not depend on vertex order, start vertex or winding (D16–D18). bbox and
polygon annotations are painted first in annotation order, then each segmentation overwrites
exactly its own region pixels (D19). Every shape is filled in its own window: no full-image
temporary per annotation.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .errors import FormatError, where
from .files import basename, checked_paths, write_atomic
from .palette import COLOR_PALETTE
from .parallel import Offsets, run_chunks
from .raster import fill_ring, pixel_ring, region_mask, ring_window, segmentation_window
from .report import ConversionReport
from .runtime import gc_paused
from .tasks import check_task, gather, image_frames, load_tasks

DRAWABLE = ("bbox", "polygon", "segmentation")
PAINT_ORDER = ("bbox", "polygon")  # painted before every segmentation
IMAGES_PER_CHUNK = 8


def paint_shape(canvas: np.ndarray, kind: str, points: object, value: int) -> int:
    """Paint one bbox / polygon / segmentation into ``canvas``; returns the pixels painted."""
    height, width = canvas.shape
    if not points:
        return 0
    if kind == "bbox":
        x1, y1, x2, y2 = (int(v) for v in points)
        left, right = max(min(x1, x2), 0), min(max(x1, x2), width)
        top, bottom = max(min(y1, y2), 0), min(max(y1, y2), height)
        if right > left and bottom > top:
            canvas[top:bottom, left:right] = value
            return (right - left) * (bottom - top)
        return 0
    if kind == "polygon":
        vertices = pixel_ring(points)
        window = ring_window(vertices, width, height)
        mask = fill_ring(vertices, window)
    else:
        window = segmentation_window(points, width, height)
        mask = np.zeros(window.shape, bool)
        for region in points:
            mask |= region_mask(region, window)
    canvas[window.y0:window.y1, window.x0:window.x1][mask] = value
    return int(mask.sum())


def render_mask(task: dict, values: Sequence[int | None], *, dtype: type = np.uint8, source: str = "tasks",
                report: ConversionReport | None = None) -> np.ndarray:
    """Paint the drawable annotations of ``task`` with ``values[i]`` (None: not painted)."""
    check_task(task, 0, source)
    batch = gather([task], image_frames([task]), source, DRAWABLE)  # validates every drawable's points
    canvas = np.zeros((task.get("height", 0), task.get("width", 0)), dtype)
    limit = int(np.iinfo(canvas.dtype).max)
    order = [row for row, kind in enumerate(batch.kinds) if kind in PAINT_ORDER]
    order += [row for row, kind in enumerate(batch.kinds) if kind == "segmentation"]
    for row in order:
        value = values[int(batch.index[row])]
        if value is None:
            continue
        if not 0 <= value <= limit:
            raise FormatError(f"{batch.place(row)}: index {value} does not fit {canvas.dtype.name} "
                              "(more than 255 instances or classes need dtype=np.uint16)")
        if paint_shape(canvas, batch.kinds[row], batch.points[row], value) == 0 and report is not None:
            report.note("shape covers no pixel centre, nothing painted", batch.place(row))
    return canvas


def instance_values(task: dict, start_index: int = 1) -> list[int | None]:
    """The k-th drawable annotation gets ``start_index + k``; others None (D21: empty ones count)."""
    values: list[int | None] = []
    drawn = 0
    for annotation in task.get("annotations", ()):
        if annotation.get("type") in DRAWABLE:
            values.append(start_index + drawn)
            drawn += 1
        else:
            values.append(None)
    return values


def semantic_values(task: dict, classes: Sequence[str], start_index: int = 1, source: str = "tasks"
                    ) -> list[int | None]:
    """``classes.index(value) + start_index`` for drawable annotations (D22: only they need one)."""
    position: dict = {}
    for number, name in enumerate(classes):
        position.setdefault(name, number)
    values: list[int | None] = []
    for index, annotation in enumerate(task.get("annotations", ())):
        if annotation.get("type") not in DRAWABLE:
            values.append(None)
            continue
        if annotation.get("value") not in position:
            raise FormatError(f"{where(source, task.get('name'), index, annotation.get('type'))}: "
                              f"value {annotation.get('value')!r} is missing from classes")
        values.append(position[annotation["value"]] + start_index)
    return values


def default_classes(tasks: Sequence[dict]) -> list[str]:
    """The reference's default: the sorted values of all annotations of all tasks (any type)."""
    return sorted({a.get("value") for t in tasks for a in t.get("annotations", ()) if a.get("value") is not None})


def render_instance_mask(task: dict, *, start_index: int = 1, dtype: type = np.uint8) -> np.ndarray:
    """H×W index image: the k-th drawable annotation (bbox, polygon, segmentation) is ``start_index + k``."""
    return render_mask(task, instance_values(task, start_index), dtype=dtype)


def render_semantic_mask(task: dict, *, classes: Sequence[str] | None = None, start_index: int = 1,
                         dtype: type = np.uint8) -> np.ndarray:
    """H×W index image: each drawable annotation is ``classes.index(value) + start_index``.

    ``classes`` defaults to the sorted values of all of the task's annotations.
    """
    classes = default_classes([task]) if classes is None else classes
    return render_mask(task, semantic_values(task, classes, start_index), dtype=dtype)


def encode_png(mask: np.ndarray, palette: Sequence[int]) -> bytes:
    """An 8-bit palette PNG of a uint8 mask (D46: never 1/2/4-bit), or 16-bit grey for uint16."""
    stream = io.BytesIO()
    if mask.dtype == np.uint16:
        Image.fromarray(mask).save(stream, format="PNG")
        return stream.getvalue()
    image = Image.fromarray(mask, mode="L")
    image.putpalette(list(palette))
    options = {"bits": 8} if len(palette) // 3 <= 16 else {}
    image.save(stream, format="PNG", **options)
    return stream.getvalue()


def _export(tasks, output_dir, values_of, palette, dtype, jobs, strict, progress, target) -> ConversionReport:
    from tqdm import tqdm

    task_list, source = load_tasks(tasks)
    report = ConversionReport(target, strict=strict)
    sized = []
    for task in task_list:
        if task.get("width") and task.get("height"):
            sized.append(task)
        else:
            report.note("image with width or height 0 skipped (no PNG)", where(source, task["name"]))
    paths = checked_paths(output_dir, [basename(t["name"]) + ".png" for t in sized], f"{source}: PNG")
    chunks = [range(start, min(start + IMAGES_PER_CHUNK, len(sized)))
              for start in range(0, len(sized), IMAGES_PER_CHUNK)]

    def work(chunk: int, offsets: Offsets, chunk_report: ConversionReport) -> int:
        for position in chunks[chunk]:
            task = sized[position]
            mask = render_mask(task, values_of(task, source), dtype=dtype, source=source, report=chunk_report)
            write_atomic(paths[position], encode_png(mask, palette))
        return len(chunks[chunk])

    with tqdm(total=len(sized), desc=target, unit="image", disable=not progress, delay=0.5) as bar:
        for done in run_chunks(len(chunks), work, report, jobs):
            bar.update(done)
    report.files.extend(paths)
    return report


@gc_paused
def export_instance_segmentation(
    tasks: str | os.PathLike[str] | Sequence[dict],
    output_dir: str | os.PathLike[str] = os.path.join("output", "instance_segmentation"),
    *,
    palette: Sequence[int] = COLOR_PALETTE,
    pallete: Sequence[int] | None = None,
    start_index: int = 1,
    dtype: type = np.uint8,
    jobs: int = 1,
    strict: bool = False,
    progress: bool = False,
) -> ConversionReport:
    """One index-colour PNG per image task, ``<task basename>.png``, each drawable annotation its own index.

    ``pallete`` is accepted as the official SDK's spelling of ``palette``.
    """
    return _export(tasks, output_dir, lambda task, _: instance_values(task, start_index),
                   pallete if pallete is not None else palette, dtype, jobs, strict, progress, "instance")


@gc_paused
def export_semantic_segmentation(
    tasks: str | os.PathLike[str] | Sequence[dict],
    output_dir: str | os.PathLike[str] = os.path.join("output", "semantic_segmentation"),
    *,
    palette: Sequence[int] = COLOR_PALETTE,
    pallete: Sequence[int] | None = None,
    classes: Sequence[str] | None = None,
    start_index: int = 1,
    dtype: type = np.uint8,
    jobs: int = 1,
    strict: bool = False,
    progress: bool = False,
) -> ConversionReport:
    """One index-colour PNG per image task, each drawable annotation the index of its class.

    ``classes`` defaults to the sorted values of all annotations of all tasks (any type).
    """
    task_list, _ = load_tasks(tasks)
    names = default_classes(task_list) if not classes else list(classes)
    return _export(task_list, output_dir, lambda task, source: semantic_values(task, names, start_index, source),
                   pallete if pallete is not None else palette, dtype, jobs, strict, progress, "semantic")
