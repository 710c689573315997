"""``validate --fix``: repaired copies of tasks — invalid polygons and segmentations made valid (each
ring filled by the rasters' even-odd rule, a region's holes cut out), shapes clipped to the image, degenerate shapes,
malformed and duplicate annotations dropped, keypoints outside the image dropped or unlabelled —
every change reported with its place. A repaired shape covers no pixel centre its original did
not (the exact raster rule): repairs only split, clip and drop."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from .errors import where
from .geometry import box_corners, integral_to_int, python_round
from .report import ConversionReport
from .source import task_source
from .tasks import labelled_keypoints
from .validation import RING_TYPES, annotation_problem

GRID = 1e-6  # repaired coordinates are snapped to this grid (the 6 decimals the formats keep)


def repair(tasks: object, *, report: ConversionReport | None = None) -> list[dict]:
    """Repaired copies of ``tasks`` (anything :func:`~fastlabel_formats.export_coco` takes); the
    caller's tasks are left as they are. Values that are not classes are not changed (validate
    still names them), nor are rotated boxes or video tracks."""
    report = report if report is not None else ConversionReport("validate --fix")
    source = task_source(tasks)
    return [repair_task(task, source.name, report) for task in source]


def repair_task(task: dict, source: str, report: ConversionReport) -> dict:
    """One task with its annotations repaired (see :func:`repair`)."""
    width, height = task.get("width") or 0, task.get("height") or 0
    import shapely

    box = shapely.box(0, 0, width, height) if width and height else None
    kept: list[dict] = []
    seen: set = set()
    for index, annotation in enumerate(task.get("annotations", ())):
        kind = annotation.get("type")
        place = where(source, task["name"], index, kind)
        for repaired in _repaired(annotation, kind, box, place, report):
            key = tuple(repr(repaired.get(field)) for field in ("type", "value", "points", "keypoints"))
            if key in seen and repaired.get("points"):
                report.note("duplicate annotation dropped", place)
                continue
            seen.add(key)
            kept.append(repaired)
    return {**task, "annotations": kept}


def _repaired(annotation: dict, kind: object, box, place: str, report: ConversionReport) -> list[dict]:
    """The annotation's repaired copies: none, one, or its parts."""
    points = annotation.get("points")
    problem = annotation_problem(kind, annotation, points, RING_TYPES)
    if problem:
        report.note("malformed annotation dropped", f"{place}: {problem}")
        return []
    try:
        copied = copy.deepcopy(annotation)
    except RecursionError:
        report.note("malformed annotation dropped", f"{place}: values nested too deep to copy")
        return []
    if isinstance(points, dict):
        report.note("video annotation left as it is (only image tasks are repaired)", place)
        return [copied]
    fixer = FIXERS.get(kind) if points or kind == "pose_estimation" else None
    return fixer(copied, box, place, report) if fixer else [copied]


def _numbers(values: np.ndarray) -> list:
    return integral_to_int(python_round(np.asarray(values, np.float64)))


def _fix_bbox(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    x1, y1, x2, y2 = annotation["points"]
    if annotation.get("rotation"):
        if box is not None and not box.covers(_rotated_box(annotation)):
            report.note("rotated bbox reaching outside the image left as it is", place)
        return [annotation]
    low, high = np.minimum([x1, y1], [x2, y2]), np.maximum([x1, y1], [x2, y2])
    if box is not None:
        size = np.array(box.bounds[2:])
        low, high = np.clip(low, 0, size), np.clip(high, 0, size)
    if (high <= low).any():
        report.note("bbox of no area dropped", place)
        return []
    fixed = _numbers(np.concatenate([low, high]))
    if fixed != annotation["points"]:
        report.note("bbox clipped to the image (or its corners put in order)", place)
    return [{**annotation, "points": fixed}]


def _rotated_box(annotation: dict):
    import shapely

    corners = box_corners(np.array([annotation["points"]], np.float64), np.array([float(annotation["rotation"])]))
    return shapely.Polygon(corners[0])


def _area(regions: list[list[list]], box, place: str, kind: str, report: ConversionReport) -> list | None:
    """The polygon parts (area > 0) of the union of the regions, each made valid, clipped to
    ``box``; None when the regions are valid and inside ``box`` already (nothing to change)."""
    import shapely

    ring_lists = [[_ring(ring) for ring in region] for region in regions]
    valid = all(ring is not None for rings in ring_lists for ring in rings) \
        and all(shapely.is_valid(shapely.Polygon(rings[0], rings[1:])) for rings in ring_lists)
    area = shapely.union_all([_region_area(rings) for rings in ring_lists if rings[0] is not None])
    if valid and (box is None or box.covers(area)):
        return None
    if not valid:
        report.note(f"{kind} made valid (self-intersections, holes outside: the even-odd rule)", place)
    if box is not None and not area.is_empty and not box.covers(area):
        area = area.intersection(box)
        report.note(f"{kind} clipped to the image", place)
    parts = [part for part in shapely.get_parts(shapely.set_precision(area, GRID))
             if isinstance(part, shapely.Polygon) and part.area > 0]
    if not parts:
        report.note(f"{kind} of no area dropped", place)
    return parts


def _region_area(rings: list[np.ndarray | None]):
    """What a region can paint: its outer ring's area (even-odd, as the rasters fill it) less the
    area of each of its holes — never more than the region paints, whatever its rings."""
    import shapely

    holes = [even_odd_area(hole) for hole in rings[1:] if hole is not None]
    outer = even_odd_area(rings[0])
    return outer.difference(shapely.union_all(holes)) if holes else outer


def even_odd_area(ring: np.ndarray):
    """The valid shapely area a ring encloses by the even-odd rule (as the rasters fill it),
    whatever its self-intersections, spikes and doubled edges: the faces of its noded edges whose
    inner point the ring's crossing number finds odd."""
    import shapely

    edges = shapely.unary_union(shapely.LineString(np.vstack([ring, ring[:1]])))
    faces = shapely.get_parts(shapely.polygonize([edges]))
    return shapely.union_all([face for face in faces if _crossings(ring, face.point_on_surface()) % 2])


def _crossings(ring: np.ndarray, point) -> int:
    """How many edges of ``ring`` a ray from ``point`` to the right crosses."""
    x1, y1 = ring[:, 0], ring[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    spans = (y1 > point.y) != (y2 > point.y)
    with np.errstate(divide="ignore", invalid="ignore"):
        meet = x1 + (x2 - x1) * (point.y - y1) / (y2 - y1)
    return int(np.count_nonzero(spans & (point.x < meet)))


def _pairs(ring: list) -> np.ndarray:
    return np.asarray(ring, np.float64).reshape(-1, 2)


def _ring(ring: list) -> np.ndarray | None:
    """The ring's vertices, or None when they are all on one line (it encloses nothing: a region
    with such an outer ring is dropped, such a hole is left out)."""
    pairs = _pairs(ring)
    return pairs if len(pairs) >= 3 and np.linalg.matrix_rank(pairs - pairs[0]) == 2 else None


def _closed_ring(ring) -> list:
    return _numbers(np.asarray(ring.coords).ravel())


def _fix_polygon(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    parts = _area([[annotation["points"]]], box, place, "polygon", report)
    if parts is None:
        return [annotation]
    if any(part.interiors for part in parts):  # a polygon has no holes: keep the pixels as a segmentation
        report.note("polygon with a hole after repair written as a segmentation", place)
        return [{**annotation, "type": "segmentation", "points": _segmentation_points(parts)}]
    if len(parts) > 1:
        report.note(f"polygon split into its {len(parts)} parts", place)
    return [{**annotation, "points": _closed_ring(part.exterior)[:-2]} for part in parts]


def _fix_segmentation(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    parts = _area(annotation["points"], box, place, "segmentation", report)
    if parts is None:
        return [annotation]
    return [{**annotation, "points": _segmentation_points(parts)}] if parts else []


def _segmentation_points(parts: list) -> list[list[list]]:
    """FastLabel segmentation points of shapely polygons: per polygon its closed outer ring and holes."""
    return [[_closed_ring(part.exterior), *(_closed_ring(hole) for hole in part.interiors)] for part in parts]


def _fix_line(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    import shapely

    line = shapely.LineString(_pairs(annotation["points"]))
    if box is None or box.covers(line):
        return [annotation]
    parts = [part for part in shapely.get_parts(line.intersection(box))
             if isinstance(part, shapely.LineString) and part.length > 0]
    report.note("line clipped to the image" if parts else "line outside the image dropped", place)
    return [{**annotation, "points": _numbers(np.asarray(part.coords).ravel())} for part in parts]


def _fix_keypoint(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    import shapely

    if box is None or box.covers(shapely.Point(annotation["points"])):
        return [annotation]
    report.note("keypoint outside the image dropped", place)
    return []


def _fix_pose(annotation: dict, box, place: str, report: ConversionReport) -> list[dict]:
    if box is None:
        return [annotation]
    width, height = box.bounds[2:]
    for keypoint in labelled_keypoints(annotation):
        x, y = keypoint["value"][:2]
        if not (0 <= x <= width and 0 <= y <= height):
            keypoint["value"] = []
            report.note("pose keypoint outside the image unlabelled", f"{place} keypoint {keypoint.get('key')!r}")
    return [annotation]


FIXERS: dict[str, Callable[..., list[dict]]] = {
    "bbox": _fix_bbox, "polygon": _fix_polygon, "segmentation": _fix_segmentation, "line": _fix_line,
    "keypoint": _fix_keypoint, "pose_estimation": _fix_pose,
}
