"""``validate``: what in a project breaks training and rasterisation, with its places — malformed
annotations, invalid polygons (self-intersecting, a hole outside or touching its outer ring, fewer
than 3 distinct vertices, zero area), shapes and keypoints outside the image, values that are not
classes, and duplicate annotations. Nothing is written; the report is the result."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

from .columns import bbox_points, row_kinds, vertex_bounds
from .errors import FormatError
from .report import ConversionReport
from .run import RunOptions, Target, kept_parts
from .shape_findings import AREA_TYPES, shape_problems
from .table import AnnotationTable
from .tasks import labelled_keypoints
from .validation import RING_TYPES


class _Checked(Target):
    """The tables of a validation carry every ring type's geometry."""

    name = "validate"
    geometry = RING_TYPES


def validate(tasks: object, *, classes: Sequence[str] | None = None, annotations: Sequence[dict] | None = None,
             project_type: str = "image_bbox", report: ConversionReport | None = None) -> ConversionReport:
    """The findings of every check over ``tasks`` (any input :func:`~fastlabel_formats.export_coco`
    takes); ``classes`` or the definitions' values (``annotations``) name the known values."""
    report = report or ConversionReport("validate")
    known = known_values(classes, annotations)
    kept_parts(tasks, _Checked("."), lambda table, plan, report, ids: check_table(table, report, known), report,
               RunOptions(project_type))
    return report


def known_values(classes: object, annotations: object) -> set | None:
    """The values ``classes`` (a list of names) or the definitions (``annotations``) make known;
    FormatError when either is not a list of those."""
    for given, what, fits in ((classes, "classes", lambda c: isinstance(c, str)),
                              (annotations, "annotations (definitions)", lambda d: isinstance(d, dict))):
        if given is None:
            continue
        listed = not isinstance(given, (str, bytes, dict)) and isinstance(given, Sequence)
        odd = type(given).__name__ if not listed else next((type(g).__name__ for g in given if not fits(g)), None)
        if odd is not None:
            raise FormatError(f"{what} must be a list of {'names' if what == 'classes' else 'objects'}, "
                              f"got {'a list holding ' * listed}{odd}")
    if classes:
        return set(classes)
    return {d.get("value") for d in annotations if isinstance(d.get("value"), str)} if annotations else None


def check_table(table: AnnotationTable, report: ConversionReport, known: set | None) -> None:
    """Every check on one table, each finding counted with its places."""
    kinds = row_kinds(table)
    for message, rows in shape_problems(table).items():
        table.note(report, rows, message)
    boxes = bbox_points(table)
    flat = (kinds == "bbox") & ((boxes[:, 0] == boxes[:, 2]) | (boxes[:, 1] == boxes[:, 3]))
    table.note(report, flat, "bbox of zero width or height")
    table.note(report, _outside(table), "{kind} reaching outside the image")
    table.note(report, _keypoints_outside(table), "{kind} with keypoints outside the image")
    if known is not None:
        values = np.array([a.get("value") in known for a in table.annotations], bool)
        classed = np.isin(kinds, ("bbox", *AREA_TYPES, "pose_estimation"))
        table.note(report, ~values & classed, "value not in the classes")
    table.note(report, _duplicates(table), "duplicate annotation (same type, value and points in one image)")


def _outside(table: AnnotationTable) -> np.ndarray:
    """Rows with a vertex left of or above 0, or right of or below the image's width / height."""
    bounds = vertex_bounds(table)
    sizes = np.array([(f.width, f.height) for f in table.frames], np.float64).reshape(-1, 2)[table.frame]
    known = ~np.isnan(bounds[:, 0]) & (sizes > 0).all(axis=1)
    outside = (bounds[:, 0] < 0) | (bounds[:, 1] < 0) | (bounds[:, 2] > sizes[:, 0]) | (bounds[:, 3] > sizes[:, 1])
    return known & outside


def _keypoints_outside(table: AnnotationTable) -> np.ndarray:
    out = np.zeros(len(table), bool)
    for row, annotation in enumerate(table.annotations):
        frame = table.frames[table.frame[row]]
        located = [k["value"][:2] for k in labelled_keypoints(annotation)]
        if located and frame.width and frame.height:
            xy = np.asarray(located, np.float64)
            out[row] = bool((xy < 0).any() or (xy[:, 0] > frame.width).any() or (xy[:, 1] > frame.height).any())
    return out


def _duplicates(table: AnnotationTable) -> np.ndarray:
    """Rows repeating an earlier row of the same frame (type, value and points)."""
    seen: set = set()
    out = np.zeros(len(table), bool)
    for row, (kind, annotation, points) in enumerate(zip(table.kinds, table.annotations, table.points)):
        if not points:
            continue
        key = (int(table.frame[row]), kind, repr(annotation.get("value")), _points_key(points))
        out[row] = key in seen
        seen.add(key)
    return out


def stats(tasks: object, *, project_type: str = "image_bbox") -> dict:
    """Counts of a project: images, images without annotations, annotations per type and per class,
    per class per split (a task name's first folder when it is ``train`` / ``val`` / ``test``) and
    the box sizes (width, height of every bbox: min, median, max)."""
    counts = _Counts()
    kept_parts(tasks, _Checked("."), lambda table, plan, report, ids: counts.add(table), ConversionReport("stats"),
               RunOptions(project_type))
    return counts.summary()


class _Counts:
    """What :func:`stats` counts, table by table."""

    def __init__(self) -> None:
        self.images = self.empty = 0
        self.per_type: dict[str, int] = {}
        self.per_class: dict[str, int] = {}
        self.per_split: dict[str, dict[str, int]] = {}
        self.sizes: list[np.ndarray] = []

    def add(self, table: AnnotationTable) -> None:
        """Count one table."""
        self.images += len(table.frames)
        self.empty += len(table.frames) - len(set(table.frame.tolist()))
        for frame, kind, annotation in zip(table.frame.tolist(), table.kinds, table.annotations):
            value = str(annotation.get("value"))
            split = table.frames[frame].file_name.split("/", 1)[0]
            self.per_type[kind] = self.per_type.get(kind, 0) + 1
            self.per_class[value] = self.per_class.get(value, 0) + 1
            if split in ("train", "val", "test"):
                self.per_split.setdefault(split, {}).setdefault(value, 0)
                self.per_split[split][value] += 1
        boxes = bbox_points(table)
        boxes = boxes[~np.isnan(boxes[:, 0])]
        self.sizes.append(np.abs(boxes[:, 2:] - boxes[:, :2]))

    def summary(self) -> dict:
        """The counts as :func:`stats` gives them."""
        box_sizes = np.concatenate(self.sizes) if self.sizes else np.zeros((0, 2))
        summary = {name: [float(f(box_sizes[:, i])) for f in (np.min, np.median, np.max)] if len(box_sizes) else []
                   for i, name in enumerate(("width", "height"))}
        return {"images": self.images, "images_without_annotations": self.empty, "annotations_per_type": self.per_type,
                "annotations_per_class": dict(sorted(self.per_class.items())), "per_split": self.per_split,
                "bbox_sizes_min_median_max": summary}


def _points_key(points: object) -> bytes | str:
    """``points`` as a key telling apart every value that differs (1 from 1.0 too)."""
    try:
        return orjson.dumps(points)
    except TypeError:  # not JSON (a caller's own objects)
        return repr(points)
