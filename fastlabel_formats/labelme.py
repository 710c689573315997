"""FastLabel -> labelme JSON (``formats-spec.md`` §4), with D15 fixed."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .boxes import has_points, rotations, row_kinds, rows_with_holes
from .files import basename, checked_paths, dump_json
from .pipeline import write_per_image
from .report import ConversionReport
from .runtime import gc_paused
from .tasks import RING_TYPES, Batch, batches, image_frames, load_tasks

LABELME_VERSION = "4.5.9"
SHAPE_TYPES = {"polygon": "polygon", "segmentation": "polygon", "bbox": "rectangle",
               "keypoint": "point", "line": "line"}


@gc_paused
def to_labelme(
    tasks: str | os.PathLike[str] | Sequence[dict], *, report: ConversionReport | None = None
) -> list[dict]:
    """One labelme document per task, in task order."""
    task_list, source = load_tasks(tasks)
    report = report or ConversionReport("labelme")
    return [document for batch in batches(task_list, image_frames(task_list), source)
            for document in build_labelme(batch, report)]


@gc_paused
def export_labelme(
    tasks: str | os.PathLike[str] | Sequence[dict],
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelme"),
    *,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
) -> ConversionReport:
    """Write ``<task basename>.json`` per task (``indent=4``: the reference's exact bytes;
    ``jobs=N``: in N worker processes)."""
    report = ConversionReport("labelme", strict=strict)
    task_list, source = load_tasks(tasks)
    frames = image_frames(task_list)
    paths = checked_paths(output_dir, [basename(f.file_name) + ".json" for f in frames], f"{source}: labelme file")
    write_per_image(task_list, source, frames, RING_TYPES,
                    lambda batch, chunk_report: [dump_json(d, indent) for d in build_labelme(batch, chunk_report)],
                    paths, report, jobs=jobs, progress=progress)
    return report


def _pairs(ring: list) -> list[list]:
    return [list(pair) for pair in zip(ring[0::2], ring[1::2])]


def labelme_shapes(kind: str, value: object, points: list) -> list[dict]:
    """The labelme shapes of one annotation (a segmentation gives one polygon per region)."""
    rings = [region[0] for region in points if region] if kind == "segmentation" else [points]
    return [
        {"label": value, "points": _pairs(ring), "group_id": None,
         "shape_type": SHAPE_TYPES[kind], "flags": {}}
        for ring in rings
    ]


def build_labelme(batch: Batch, report: ConversionReport) -> list[dict]:
    """The labelme documents of the tasks of a batch."""
    kinds = row_kinds(batch)
    supported = np.isin(kinds, list(SHAPE_TYPES))
    present = has_points(batch)
    keep = supported & present
    batch.note(report, ~supported, "{kind} annotation not representable in {target}")
    batch.note(report, supported & ~present, "{kind} annotation without points skipped")
    batch.note(report, keep & rows_with_holes(batch), "segmentation holes dropped")
    batch.note(report, keep & (kinds == "bbox") & (rotations(batch) != 0), "bbox rotation dropped")
    with_attributes = np.fromiter((bool(a.get("attributes")) for a in batch.annotations), bool, len(batch))
    batch.note(report, keep & with_attributes, "attributes not representable in {target}")
    shapes: list[list[dict]] = [[] for _ in batch.frames]
    for row in np.flatnonzero(keep).tolist():
        shapes[batch.frame[row]].extend(
            labelme_shapes(batch.kinds[row], batch.annotations[row].get("value"), batch.points[row]))
    return [
        {
            "version": LABELME_VERSION, "flags": {}, "shapes": frame_shapes,
            "imagePath": frame.file_name, "imageData": None,
            "imageHeight": frame.height, "imageWidth": frame.width,
        }
        for frame, frame_shapes in zip(batch.frames, shapes)
    ]
