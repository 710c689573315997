"""``validate``: what in a project breaks training and rasterisation, with its places — malformed
annotations, invalid polygons (self-intersecting, a hole outside or touching its outer ring, fewer
than 3 distinct vertices, zero area), shapes and keypoints outside the image, values that are not
classes, and duplicate annotations. Nothing is written; the report is the result."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .columns import bbox_points, row_kinds, vertex_bounds
from .errors import FormatError
from .report import ConversionReport
from .run import Target, prepared_tables
from .tasks import RING_TYPES, AnnotationTable, labelled_keypoints

AREA_TYPES = ("polygon", "segmentation")
FEW_VERTICES = "{kind} with a ring of fewer than 3 distinct vertices"


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
    for table in prepared_tables(tasks, _Checked("."), report, project_type, None, None):
        check_table(table, report, known)
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
    for message, rows in _shape_problems(table).items():
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


def _shape_problems(table: AnnotationTable) -> dict[str, np.ndarray]:
    """``{report line: rows}`` of polygons and segmentations with a ring of fewer than 3 distinct
    vertices, of zero area, or that shapely finds invalid (one pass over their rings)."""
    import shapely

    rings, kinds = table.rings, row_kinds(table)
    found: dict[str, np.ndarray] = {}
    for row in _suspect_rows(shapely, rings, np.flatnonzero(np.isin(kinds, AREA_TYPES))).tolist():
        first, last = rings.shape_ring_offsets[row], rings.shape_ring_offsets[row + 1]
        parts = [rings.coords[rings.ring_offsets[r]:rings.ring_offsets[r + 1]] for r in range(first, last)]
        if any(len(np.unique(p, axis=0)) < 3 for p in parts):
            reasons = {FEW_VERTICES}
        else:
            reasons = {f"{{kind}}: {reason}" for reason in _region_reasons(shapely, parts, rings.is_hole[first:last])}
        for reason in reasons:
            found.setdefault(reason, np.zeros(len(table), bool))[row] = True
    return found


def _suspect_rows(shapely, rings, rows: np.ndarray) -> np.ndarray:
    """The ``rows`` that one vectorised shapely pass cannot clear: a ring of fewer than 3 points or a
    region (an outer ring and its holes) that is not valid. The others have nothing to report."""
    first, counts = rings.shape_ring_offsets[rows], np.diff(rings.shape_ring_offsets)[rows]
    ring_row = np.repeat(rows, counts)
    ring_ids = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts - first, counts)
    sizes = np.diff(rings.ring_offsets)[ring_ids]
    short = np.unique(ring_row[sizes < 3])
    keep = ~np.isin(ring_row, short)
    ring_row, ring_ids, sizes = ring_row[keep], ring_ids[keep], sizes[keep]
    if not len(ring_ids):
        return short
    points = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes - rings.ring_offsets[ring_ids], sizes)
    try:
        rings_made = shapely.linearrings(rings.coords[points], indices=np.repeat(np.arange(len(sizes)), sizes))
        starts = ~rings.is_hole[ring_ids] | np.r_[True, ring_row[1:] != ring_row[:-1]]
        valid = shapely.is_valid(shapely.polygons(rings_made, indices=np.cumsum(starts) - 1))
    except (ValueError, shapely.errors.GEOSException):
        return rows  # let the exact checks name the problem
    return np.union1d(short, ring_row[starts][~valid])


def _region_reasons(shapely, parts: list[np.ndarray], holes: np.ndarray) -> set[str]:
    """What is wrong with the regions of one shape (each an outer ring and the holes after it)."""
    reasons, start = set(), 0
    for end in [*np.flatnonzero(~holes)[1:].tolist(), len(parts)]:
        if np.linalg.matrix_rank(parts[start] - parts[start][0]) < 2:  # collinear (shapely: "self-intersection")
            reasons.add("zero area")
        else:
            polygon = shapely.Polygon(parts[start], parts[start + 1:end])
            if not shapely.is_valid(polygon):
                reasons.add(shapely.is_valid_reason(polygon).split("[")[0].strip().lower())
        start = end
    return reasons


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
        key = (int(table.frame[row]), kind, repr(annotation.get("value")), repr(points))
        out[row] = key in seen
        seen.add(key)
    return out


def stats(tasks: object, *, project_type: str = "image_bbox") -> dict:
    """Counts of a project: images, images without annotations, annotations per type and per class,
    per class per split (a task name's first folder when it is ``train`` / ``val`` / ``test``) and
    the box sizes (width, height of every bbox: min, median, max)."""
    images = empty = 0
    per_type: dict[str, int] = {}
    per_class: dict[str, int] = {}
    per_split: dict[str, dict[str, int]] = {}
    sizes: list[np.ndarray] = []
    for table in prepared_tables(tasks, _Checked("."), ConversionReport("stats"), project_type, None, None):
        images += len(table.frames)
        empty += len(table.frames) - len(set(table.frame.tolist()))
        for frame, kind, annotation in zip(table.frame.tolist(), table.kinds, table.annotations):
            value = str(annotation.get("value"))
            split = table.frames[frame].file_name.split("/", 1)[0]
            per_type[kind] = per_type.get(kind, 0) + 1
            per_class[value] = per_class.get(value, 0) + 1
            if split in ("train", "val", "test"):
                per_split.setdefault(split, {}).setdefault(value, 0)
                per_split[split][value] += 1
        boxes = bbox_points(table)
        boxes = boxes[~np.isnan(boxes[:, 0])]
        sizes.append(np.abs(boxes[:, 2:] - boxes[:, :2]))
    box_sizes = np.concatenate(sizes) if sizes else np.zeros((0, 2))
    summary = {name: [float(f(box_sizes[:, i])) for f in (np.min, np.median, np.max)] if len(box_sizes) else []
               for i, name in enumerate(("width", "height"))}
    return {"images": images, "images_without_annotations": empty, "annotations_per_type": per_type,
            "annotations_per_class": dict(sorted(per_class.items())), "per_split": per_split,
            "bbox_sizes_min_median_max": summary}
