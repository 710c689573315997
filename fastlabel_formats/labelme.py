"""FastLabel -> labelme JSON (``formats-spec.md`` §4), with D15 fixed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import FormatError
from .files import dump_json, read_json
from .report import ConversionReport
from .run import PerImageTarget, prepared_tables, run_export
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .tasks import RING_TYPES, AnnotationTable

LABELME_VERSION = "4.5.9"
SHAPE_TYPES = {"polygon": "polygon", "segmentation": "polygon", "bbox": "rectangle",
               "keypoint": "point", "line": "line"}
LABELME_POLICY = Policy(tuple(SHAPE_TYPES), skip_degenerate=False, holes="segmentation holes dropped",
                        rotation="bbox rotation dropped", attributes="attributes not representable in {target}")


@gc_paused
def to_labelme(tasks: object, *, report: ConversionReport | None = None) -> list[dict]:
    """One labelme document per task, in task order."""
    report = report or ConversionReport("labelme")
    target = LabelmeTarget(".")
    return [document for table in prepared_tables(tasks, target, report, "image_bbox", None, None)
            for document in build_labelme(table, report)]


@gc_paused
def export_labelme(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelme"),
    *,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
) -> ConversionReport:
    """Write ``<task basename>.json`` per task (``indent=4``: the reference's exact bytes;
    ``jobs=N``: in N worker processes)."""
    report = ConversionReport("labelme", strict=strict)
    run_export(tasks, [LabelmeTarget(output_dir, indent=indent)], [report], jobs=jobs, scheduler=scheduler,
               progress=progress)
    return report


class LabelmeTarget(PerImageTarget):
    """One labelme document per image task."""

    name = "labelme"
    geometry = RING_TYPES
    suffix = ".json"

    def __init__(self, output_dir, *, indent: int | None = None) -> None:
        super().__init__(output_dir)
        self.indent = indent

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [dump_json(document, self.indent) for document in build_labelme(table, report)]


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


def build_labelme(batch: AnnotationTable, report: ConversionReport) -> list[dict]:
    """The labelme documents of the tasks of a batch."""
    keep = apply_policy(batch, LABELME_POLICY, report)
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


# labelme -> FastLabel (§8, D34, D35); linestrip -> line, circle -> [cx, cy, r]

IMPORT_SHAPE_TYPES = {"rectangle": "bbox", "polygon": "polygon", "point": "keypoint", "line": "line",
                      "linestrip": "line", "circle": "circle"}


def _labelme_points(shape_type: str, points: list) -> list:
    flat = np.asarray(points).ravel()
    if shape_type == "circle":
        (cx, cy), (px, py) = np.asarray(points, dtype=np.float64)[:2]
        radius = float(np.hypot(px - cx, py - cy))
        return [flat[0].item(), flat[1].item(), int(radius) if radius.is_integer() else radius]
    return flat.tolist()  # through numpy: one float makes every coordinate a float, as the SDK


def labelme_annotations(document: dict, place: str, report: ConversionReport) -> list[dict]:
    """The FastLabel annotations of one labelme document."""
    annotations = []
    for position, shape in enumerate(document.get("shapes") or []):
        where_shape = f"{place} shape #{position}"
        kind = IMPORT_SHAPE_TYPES.get(shape.get("shape_type"))
        if kind is None:
            report.note(f"labelme shape_type {shape.get('shape_type')!r} not supported, skipped (D34)", where_shape)
        elif not shape.get("label"):
            report.note("shape without a label, skipped (D35)", where_shape)
        else:
            try:
                points = _labelme_points(shape["shape_type"], shape.get("points") or [])
            except (TypeError, ValueError) as error:
                raise FormatError(f"{where_shape}: points are not pairs of numbers ({error})") from error
            annotations.append({"value": shape["label"], "points": points, "type": kind})
    return annotations


@gc_paused
def labelme_to_fastlabel(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> dict[str, list[dict]]:
    """``{image path: [annotations]}`` of every labelme ``*.json`` under ``folder_path`` (keys sorted;
    the final ``.json`` replaced by the extension of ``imagePath``)."""
    return {t["name"]: t["annotations"] for t in labelme_tasks(folder_path, report=report, strict=strict)}


@gc_paused
def labelme_tasks(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a labelme folder, sorted by name."""
    report = report or ConversionReport("labelme import", strict=strict)
    folder = Path(folder_path)
    results: dict[str, dict] = {}
    for path in sorted(folder.rglob("*.json")):
        document = read_json(path, "the labelme file")
        extension = os.path.splitext(str(document.get("imagePath") or ""))[1]
        key = os.path.splitext(path.relative_to(folder).as_posix())[0] + extension
        results[key] = {"name": key, "width": int(document.get("imageWidth") or 0),
                        "height": int(document.get("imageHeight") or 0),
                        "annotations": labelme_annotations(document, str(path), report)}
    return [results[key] for key in sorted(results)]
