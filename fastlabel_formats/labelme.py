"""FastLabel -> labelme JSON (``formats-spec.md`` §4), with D15 fixed."""

from __future__ import annotations

import math
import os
import posixpath
from pathlib import Path

import numpy as np

from .errors import FormatError
from .files import dump_json, read_json
from .report import ConversionReport
from .run import PerImageTarget, prepared_tables, run_export
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .tasks import RING_TYPES, AnnotationTable
from .validation import is_number

LABELME_VERSION = "4.5.9"
SHAPE_TYPES = {"polygon": "polygon", "segmentation": "polygon", "bbox": "rectangle",
               "keypoint": "point", "line": "line"}
MIN_POINTS = {"polygon": 3, "rectangle": 2, "point": 1, "line": 2, "linestrip": 2}  # labelme's shape rules
LABELME_POLICY = Policy((*SHAPE_TYPES, "classification"), pointless=("classification",), skip_degenerate=False,
                        holes="segmentation holes dropped", rotation="bbox rotation dropped")
TOO_FEW_POINTS = "{kind} with too few points for a labelme shape, skipped"
ATTRIBUTES_LOST = "attributes that are not switches not representable in labelme (switches are shape flags)"


@gc_paused
def to_labelme(tasks: object, *, image_dir: str | os.PathLike[str] | None = None,
               report: ConversionReport | None = None) -> list[dict]:
    """One labelme document per task, in task order (``imagePath``: see :func:`export_labelme`)."""
    report = report or ConversionReport("labelme")
    target = LabelmeTarget(".", image_dir=image_dir)
    return [document for table in prepared_tables(tasks, target, report, "image_bbox", None, None)
            for document in target.documents(table, report)]


@gc_paused
def export_labelme(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelme"),
    *,
    image_dir: str | os.PathLike[str] | None = None,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``<task name without extension>.json`` per task (``indent=4``: the reference's exact
    bytes; ``jobs=N``: in N worker processes). ``imagePath`` is relative to the JSON file, as
    labelme reads it: the image's file name (the JSON beside its image), or with ``image_dir``
    the path from the JSON's folder to ``image_dir/<task name>``."""
    report = ConversionReport("labelme", strict=strict)
    run_export(tasks, [LabelmeTarget(output_dir, image_dir=image_dir, indent=indent)], [report], jobs=jobs,
               scheduler=scheduler, progress=progress, overwrite=overwrite)
    return report


class LabelmeTarget(PerImageTarget):
    """One labelme document per image task."""

    name = "labelme"
    geometry = RING_TYPES
    suffix = ".json"

    def __init__(self, output_dir, *, image_dir: str | os.PathLike[str] | None = None,
                 indent: int | None = None) -> None:
        super().__init__(output_dir)
        self.image_dir, self.indent = image_dir, indent

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [dump_json(document, self.indent) for document in self.documents(table, report)]

    def image_path(self, task_name: str) -> str:
        """``imagePath`` of a task's document, relative to the document."""
        if self.image_dir is None:
            return posixpath.basename(task_name)
        document_dir = os.path.dirname(os.path.join(str(self.published_dir), task_name))
        return Path(os.path.relpath(os.path.join(str(self.image_dir), task_name), document_dir)).as_posix()

    def documents(self, batch: AnnotationTable, report: ConversionReport) -> list[dict]:
        """The labelme documents of the tasks of a batch."""
        batch.sizeless(report, "written with that size (labelme reads it from the image)")
        shapes, flags = build_shapes(batch, report)
        return [
            {
                "version": LABELME_VERSION, "flags": frame_flags, "shapes": frame_shapes,
                "imagePath": self.image_path(frame.file_name), "imageData": None,
                "imageHeight": frame.height, "imageWidth": frame.width,
            }
            for frame, frame_shapes, frame_flags in zip(batch.frames, shapes, flags)
        ]


def _pairs(ring: list) -> list[list]:
    return [list(pair) for pair in zip(ring[0::2], ring[1::2])]


def shape_flags(annotation: dict) -> tuple[dict, bool]:
    """The switch attributes of an annotation as labelme shape flags, and whether others are lost."""
    attributes = annotation.get("attributes") or ()
    flags = {a["key"]: a["value"] for a in attributes if isinstance(a.get("value"), bool)}
    return flags, len(flags) < len(attributes)


def labelme_shapes(kind: str, value: object, points: list, group_id: int | None = None,
                   flags: dict | None = None) -> list[dict]:
    """The labelme shapes of one annotation: a segmentation gives one polygon per region (sharing
    ``group_id``), a line of more than two points a ``linestrip``; shapes with fewer points than
    labelme accepts are left out."""
    rings = [region[0] for region in points if region] if kind == "segmentation" else [points]
    shape_type = "linestrip" if kind == "line" and len(points) != 4 else SHAPE_TYPES[kind]
    return [
        {"label": value, "points": _pairs(ring), "group_id": group_id, "shape_type": shape_type,
         "flags": dict(flags or {})}
        for ring in rings if len(ring) // 2 >= MIN_POINTS[shape_type]
    ]


def build_shapes(batch: AnnotationTable, report: ConversionReport) -> tuple[list[list[dict]], list[dict]]:
    """Per frame its shapes and its image flags (one per classification value, set)."""
    keep = apply_policy(batch, LABELME_POLICY, report)
    shapes: list[list[dict]] = [[] for _ in batch.frames]
    flags: list[dict] = [{} for _ in batch.frames]
    groups = [0] * len(batch.frames)  # multi-region segmentations so far, per frame
    too_few, attributes_lost = np.zeros(len(batch), bool), np.zeros(len(batch), bool)
    for row in np.flatnonzero(keep).tolist():
        annotation, kind, frame = batch.annotations[row], batch.kinds[row], batch.frame[row]
        if kind == "classification":
            flags[frame][annotation.get("value")] = True
            continue
        group_id = None
        if kind == "segmentation" and len(batch.points[row]) > 1:
            groups[frame] += 1
            group_id = groups[frame]
        own_flags, attributes_lost[row] = shape_flags(annotation)
        made = labelme_shapes(kind, annotation.get("value"), batch.points[row], group_id, own_flags)
        too_few[row] = len(made) < (len([r for r in batch.points[row] if r]) if kind == "segmentation" else 1)
        shapes[frame] += made
    batch.note(report, too_few, TOO_FEW_POINTS)
    batch.note(report, attributes_lost, ATTRIBUTES_LOST)
    return shapes, flags


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
    """The FastLabel annotations of one labelme document: polygons sharing a label and a
    ``group_id`` become one segmentation (one region each), shape flags become switch attributes,
    image flags that are set become classification annotations."""
    annotations, groups = [], {}
    shapes = document.get("shapes") or []
    if not isinstance(shapes, list):
        raise FormatError(f"{place}: 'shapes' must be a list, got {type(shapes).__name__}")
    for position, shape in enumerate(shapes):
        annotation = _shape_annotation(shape, f"{place} shape #{position}", report)
        if annotation is None:
            continue
        key = (annotation["value"], _group(shape, f"{place} shape #{position}", report))
        if annotation["type"] != "polygon" or key[1] is None:
            annotations.append(annotation)
        elif key in groups:
            group = groups[key]
            if group["type"] == "polygon":  # its second region: a segmentation from now on
                group["type"], group["points"] = "segmentation", [[_closed(group["points"])]]
            group["points"].append([_closed(annotation["points"])])
        else:
            groups[key] = annotation
            annotations.append(annotation)
    return annotations + _flag_annotations(document, place, report)


def _image_size(document: dict, key: str, path: Path) -> int:
    value = document.get(key) or 0
    if isinstance(value, bool) or not is_number(value) or value < 0 or int(value) != value:
        raise FormatError(f"{path}: {key} must be a whole number >= 0, got {value!r:.40}")
    return int(value)


def _group(shape: dict, place: str, report: ConversionReport) -> int | None:
    """The shape's ``group_id`` (labelme's is a number or null); any other value is read as none."""
    group_id = shape.get("group_id")
    if group_id is not None and (isinstance(group_id, bool) or not isinstance(group_id, int)):
        report.note("shape with a group_id that is not a whole number, read without its group", place)
        return None
    return group_id


def _closed(ring: list) -> list:
    return ring if ring[:2] == ring[-2:] else ring + ring[:2]


def _shape_annotation(shape: object, place: str, report: ConversionReport) -> dict | None:
    """The annotation of one labelme shape, or None (reported) when it cannot be one."""
    if not isinstance(shape, dict):
        raise FormatError(f"{place}: a shape is an object, not {type(shape).__name__}")
    kind = IMPORT_SHAPE_TYPES.get(shape.get("shape_type"))
    if kind is None:
        report.note(f"labelme shape_type {shape.get('shape_type')!r} not supported, skipped (D34)", place)
        return None
    if not shape.get("label"):
        report.note("shape without a label, skipped (D35)", place)
        return None
    try:
        points = _labelme_points(shape["shape_type"], shape.get("points") or [])
    except (TypeError, ValueError) as error:
        raise FormatError(f"{place}: points are not pairs of numbers ({error})") from error
    low, high = MIN_POINTS.get(shape["shape_type"], 1), {"rectangle": 2, "point": 1}.get(shape["shape_type"])
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in points):
        report.note("shape with points that are not finite numbers, skipped", place)
        return None
    if shape["shape_type"] != "circle" and not low <= len(points) // 2 <= (high or len(points)):
        report.note(f"{shape['shape_type']} with {len(points) // 2} point(s), skipped (labelme's rules)", place)
        return None
    annotation = {"value": shape["label"], "points": points, "type": kind}
    flags = shape.get("flags")
    if isinstance(flags, dict) and flags:
        annotation["attributes"] = [{"key": key, "value": value, "type": "switch"} for key, value in flags.items()]
    return annotation


def _flag_annotations(document: dict, place: str, report: ConversionReport) -> list[dict]:
    flags = document.get("flags")
    if not isinstance(flags, dict):
        return []
    unset = [name for name, value in flags.items() if not value]
    if unset:
        report.note("labelme image flags that are not set, not kept (set ones become classifications)", place)
    return [{"value": name, "type": "classification", "attributes": []} for name, value in flags.items() if value]


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
        if not isinstance(document, dict):
            raise FormatError(f"{path}: a labelme file holds an object, not {type(document).__name__}")
        extension = os.path.splitext(str(document.get("imagePath") or ""))[1]
        key = os.path.splitext(path.relative_to(folder).as_posix())[0] + extension
        results[key] = {"name": key, "width": _image_size(document, "imageWidth", path),
                        "height": _image_size(document, "imageHeight", path),
                        "annotations": labelme_annotations(document, str(path), report)}
    return [results[key] for key in sorted(results)]
