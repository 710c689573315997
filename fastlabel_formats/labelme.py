"""FastLabel -> labelme JSON (``formats-spec.md`` §4), with D15 fixed."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .boxes import has_points, rotations, row_kinds, rows_with_holes
from .files import basename, dump_json, output_path, write_files
from .report import ConversionReport
from .runtime import gc_paused
from .tasks import Batch, gather, image_frames, load_tasks

LABELME_VERSION = "4.5.9"
SHAPE_TYPES = {"polygon": "polygon", "segmentation": "polygon", "bbox": "rectangle",
               "keypoint": "point", "line": "line"}


@gc_paused
def to_labelme(
    tasks: str | os.PathLike[str] | Sequence[dict], *, report: ConversionReport | None = None
) -> list[dict]:
    """One labelme document per task, in task order."""
    task_list, source = load_tasks(tasks)
    return build_labelme(gather(task_list, image_frames(task_list), source),
                         report or ConversionReport("labelme"))


@gc_paused
def export_labelme(
    tasks: str | os.PathLike[str] | Sequence[dict],
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelme"),
    *,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
) -> ConversionReport:
    """Write ``<task basename>.json`` per task (``indent=4``: the reference's exact bytes)."""
    report = ConversionReport("labelme", strict=strict)
    task_list, source = load_tasks(tasks)
    documents = build_labelme(gather(task_list, image_frames(task_list), source), report)
    paths = [output_path(output_dir, basename(d["imagePath"]) + ".json", f"{source}: task {d['imagePath']!r}")
             for d in documents]
    write_files(zip(paths, (dump_json(d, indent) for d in documents)), report,
                total=len(paths), progress=progress)
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
