"""Image tiles merged back into one image task (the split is in
:mod:`fastlabel_formats.tile_split`): tile n at row (n-1)//cols, column (n-1)%cols, offsets from
the actual tile sizes; shapes of the same type and value that meet across a seam become one again,
line pieces are joined, a classification is kept once; nothing is left out without a report line."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import FormatError, where
from .geometry import region_polygon, signed_ring_area
from .pieces import merged_name, pieces, rounded
from .report import ConversionReport
from .tile_lines import LinePiece, joined_lines
from .validation import RING_TYPES, annotation_problem, is_number

MERGED_TYPES = ("bbox", "polygon", "segmentation")
IMAGE_DEFAULTS = {"attributes": [], "keypoints": [], "rotation": 0, "confidenceScore": -1}


def tile_grid(numbered: list[tuple[int, dict]], rows: int | None, cols: int | None) -> tuple[list, list, int, int]:
    """Per piece its (x, y) offset, and the merged width and height; FormatError on a bad grid."""
    count = len(numbered)
    for given, what in ((rows, "rows"), (cols, "cols")):
        if given is not None and (type(given) is not int or given < 1):
            raise FormatError(f"{what} must be a whole number >= 1, got {given!r:.40}")
    if rows is None or cols is None:
        side = int(round(count ** 0.5))
        if side * side != count:
            raise FormatError(f"{count} tiles are not a square grid; pass rows= and cols=")
        rows, cols = side, side
    if rows * cols != count:
        raise FormatError(f"a {rows}x{cols} grid needs {rows * cols} tiles, got {count}")
    size = {(k // cols, k % cols): (t.get("width", 0), t.get("height", 0)) for k, (_, t) in enumerate(numbered)}
    for (row, col), (width, height) in size.items():
        if width != size[(0, col)][0] or height != size[(row, 0)][1]:
            raise FormatError(f"tile {row * cols + col + 1} is {width}x{height}, but its column is "
                              f"{size[(0, col)][0]} wide and its row {size[(row, 0)][1]} high")
    xs = [sum(size[(0, c)][0] for c in range(col)) for col in range(cols + 1)]
    ys = [sum(size[(r, 0)][1] for r in range(row)) for row in range(rows + 1)]
    offsets = [(xs[k % cols], ys[k // cols]) for k in range(count)]
    return offsets, [(k // cols, k % cols) for k in range(count)], xs, ys


def translate(kind: str, points: object, dx: float, dy: float) -> object:
    """``points`` of a shape of ``kind`` moved by (dx, dy), rounded (circle: its centre)."""
    if kind == "segmentation":
        return [[translate("polygon", ring, dx, dy) for ring in region] for region in points]
    if kind == "circle":
        return [rounded(points[0] + dx), rounded(points[1] + dy), points[2]]
    return [rounded(v + (dx if i % 2 == 0 else dy)) for i, v in enumerate(points)]


def _outer_rings(kind: str, points: list) -> list[np.ndarray]:
    if kind == "bbox":
        x1, y1, x2, y2 = points
        return [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64)]
    if kind == "polygon":
        return [np.asarray(points, np.float64).reshape(-1, 2)]
    return [np.asarray(region[0], np.float64).reshape(-1, 2) for region in points if region and region[0]]


def _seam_intervals(kind: str, rings: list[np.ndarray], axis: int, seam: float, tol: float) -> list[tuple]:
    """Intervals (along the seam) covered by the parts of a shape lying on the seam."""
    if kind == "bbox":
        ring = rings[0]
        low, high = ring[:, axis].min(), ring[:, axis].max()
        if abs(high - seam) > tol and abs(low - seam) > tol:
            return []
        return [(ring[:, 1 - axis].min(), ring[:, 1 - axis].max())]
    intervals = []
    for ring in rings:
        following = np.roll(ring, -1, axis=0)
        near = (np.abs(ring[:, axis] - seam) <= tol) & (np.abs(following[:, axis] - seam) <= tol)
        for a, b in zip(ring[near, 1 - axis], following[near, 1 - axis]):
            if a != b:
                intervals.append((min(a, b), max(a, b)))
    return intervals


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, first: int, second: int) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _seam_pairs(items: list[dict], cell: dict, grid: tuple, tol: float) -> list[tuple[int, int]]:
    """Pairs of same type/value shapes in neighbouring tiles whose seam parts overlap: only shapes
    reaching the seam are looked at, bucketed by type and value, and swept along the seam."""
    xs, ys, rows, cols = grid
    pairs = []
    for (row, col), members in cell.items():
        for other_cell, axis, seam in (((row, col + 1), 0, xs[col + 1] if col + 1 < cols else None),
                                       ((row + 1, col), 1, ys[row + 1] if row + 1 < rows else None)):
            if seam is None or other_cell not in cell:
                continue
            near = [_near_seam(items, members, axis, seam, tol), _near_seam(items, cell[other_cell], axis, seam, tol)]
            for key, first in near[0].items():
                pairs += _sweep(first, near[1].get(key, []))
    return pairs


def _near_seam(items: list[dict], members: list[int], axis: int, seam: float, tol: float) -> dict:
    """``{(type, value): [(low, high, item)]}`` of the members' seam intervals."""
    buckets: dict = {}
    for index in members:
        item = items[index]
        for low, high in _seam_intervals(item["kind"], item["rings"], axis, seam, tol):
            buckets.setdefault((item["kind"], item["value"]), []).append((low, high, index))
    return buckets


def _sweep(first: list[tuple], second: list[tuple]) -> list[tuple[int, int]]:
    """Index pairs of intervals from the two lists that overlap with positive length."""
    events = sorted([(low, high, index, 0) for low, high, index in first] +
                    [(low, high, index, 1) for low, high, index in second])
    active: list[list[tuple]] = [[], []]
    pairs = set()
    for low, high, index, side in events:
        for other in range(2):
            active[other] = [entry for entry in active[other] if entry[0] > low]
        pairs.update((index, o) if side == 0 else (o, index) for _, o in active[1 - side])
        active[side].append((high, index))
    return sorted(pairs)


def _snap(ring: np.ndarray, cell: tuple[int, int], xs: list, ys: list, tol: float) -> np.ndarray:
    """Vertices closer than ``tol`` to an inner edge of their own tile moved onto it (never a vertex
    a whole ``tol`` away, so a piece one pixel wide keeps its width)."""
    snapped = ring.copy()
    row, col = cell
    for axis, lines, index in ((0, xs, col), (1, ys, row)):
        low, high = lines[index], lines[index + 1]
        if index > 0:
            snapped[snapped[:, axis] < low + tol, axis] = low
        if index + 1 < len(lines) - 1:
            snapped[snapped[:, axis] > high - tol, axis] = high
    return snapped


def clean_ring(coords: np.ndarray, clockwise: bool) -> np.ndarray:
    """Open ring without repeated or collinear vertices, clockwise on screen (or not), starting at
    the vertex with the smallest y, then x."""
    ring = coords[:-1] if len(coords) > 1 and (coords[0] == coords[-1]).all() else coords
    incoming = np.diff(ring, axis=0, prepend=ring[-1:])
    outgoing = np.concatenate([incoming[1:], incoming[:1]])
    cross = incoming[:, 0] * outgoing[:, 1] - incoming[:, 1] * outgoing[:, 0]
    scale = np.sqrt((incoming**2).sum(axis=1) * (outgoing**2).sum(axis=1))
    ring = ring[np.abs(cross) > 1e-6 * scale]  # also drops cut points a seam left on a straight edge
    if (signed_ring_area(ring) < 0) != clockwise:
        ring = ring[::-1]
    start = int(np.lexsort((ring[:, 0], ring[:, 1]))[0])
    return np.concatenate([ring[start:], ring[:start]])


def flat(ring: np.ndarray, closed: bool = False) -> list:
    ring = np.concatenate([ring, ring[:1]]) if closed else ring
    return [rounded(float(v)) for v in ring.ravel()]


def _merge_group(members: list[dict], xs: list, ys: list, tol: float) -> list | None:
    """The points of one merged annotation, or None when the members do not form one shape."""
    import shapely

    kind = members[0]["kind"]
    if kind == "bbox":
        corners = np.concatenate([m["rings"][0] for m in members])
        return [rounded(float(v)) for v in (*corners.min(axis=0), *corners.max(axis=0))]
    shapes = []
    for member in members:
        regions = [member["annotation"]["points"]] if kind == "polygon" else member["annotation"]["points"]
        for region in regions:
            rings = [_snap(np.asarray(r, np.float64).reshape(-1, 2), member["cell"], xs, ys, tol) for r in
                     ([region] if kind == "polygon" else region)]
            shapes.append(region_polygon(rings))
    union = shapely.union_all(shapes)
    if kind == "polygon":
        if union.geom_type != "Polygon":
            return None
        return flat(clean_ring(np.asarray(union.exterior.coords), clockwise=True))
    polygons = [union] if union.geom_type == "Polygon" else list(getattr(union, "geoms", []))
    return [[flat(clean_ring(np.asarray(p.exterior.coords), True), closed=True)]
            + [flat(clean_ring(np.asarray(h.coords), False), closed=True) for h in p.interiors]
            for p in polygons if p.geom_type == "Polygon" and not p.is_empty]


TRANSLATED_TYPES = ("pose_estimation", "circle")  # moved by their tile's offset, never merged
MALFORMED = "malformed annotation left out of the merged task"
LEFT_OUT = "annotation of a type that is not merged, left out (keep_other_types / --keep-other-types keeps it)"
UNKNOWN = "annotation of a type integrate cannot place, left out"
CLASSIFICATIONS_DIFFER = "classification of the same value with other attributes in a later tile (the first kept)"


@dataclass
class _Sorted:
    """The annotations of the tiles, sorted by what happens to them."""

    shapes: list[dict] = field(default_factory=list)  # bbox, polygon, segmentation: merged at seams
    lines: list[LinePiece] = field(default_factory=list)
    line_records: list[dict] = field(default_factory=list)
    classifications: dict[str, dict] = field(default_factory=dict)  # one per value
    passthrough: list[dict] = field(default_factory=list)  # translated, kept as they are


def _tile_items(numbered: list, offsets: list, cells: list, keep_other_types: bool, report: ConversionReport,
                prefix: str) -> _Sorted:
    found = _Sorted()
    for position, (number, task) in enumerate(numbered):
        for index, annotation in enumerate(task.get("annotations", ())):
            kind, points = annotation.get("type"), annotation.get("points")
            place = where(prefix, task["name"], index, kind)
            problem = annotation_problem(kind, annotation, points, RING_TYPES)
            if problem is None and isinstance(points, dict):
                problem = "video points in an image tile"
            if problem:
                report.note(MALFORMED, f"{place}: {problem}")
            elif kind in TRANSLATED_TYPES and not keep_other_types:
                report.note(LEFT_OUT, place)
            elif kind not in (*MERGED_TYPES, "line", "keypoint", "classification", *TRANSLATED_TYPES):
                report.note(UNKNOWN, place)
            else:
                try:
                    record = {"order": (number, index), "annotation": _moved(annotation, offsets[position])}
                except RecursionError:
                    report.note(MALFORMED, f"{place}: values nested too deep to copy")
                    continue
                _sort_one(found, record, cells[position], place, report)
    return found


def _moved(annotation: dict, offset: tuple) -> dict:
    """A copy of ``annotation`` moved by the tile ``offset`` (points, or a pose's keypoints)."""
    dx, dy = offset
    moved = copy.deepcopy(annotation)
    if annotation.get("points"):
        moved["points"] = translate(annotation["type"], annotation["points"], dx, dy)
    for keypoint in moved.get("keypoints") or ():
        if keypoint.get("value"):
            x, y, *rest = keypoint["value"]
            keypoint["value"] = [rounded(x + dx), rounded(y + dy), *rest]
    return moved


def _sort_one(found: _Sorted, record: dict, cell: tuple, place: str, report: ConversionReport) -> None:
    """File one moved annotation under what integrate does with it."""
    annotation = record["annotation"]
    kind, points = annotation.get("type"), annotation.get("points")
    if kind in MERGED_TYPES and points:
        found.shapes.append({**record, "kind": kind, "value": annotation.get("value"), "cell": cell,
                             "rings": _outer_rings(kind, points)})
    elif kind == "line" and points:
        found.lines.append(LinePiece(record["order"], repr(annotation.get("value")), cell,
                                     np.asarray(points, np.float64).reshape(-1, 2)))
        found.line_records.append(record)
    elif kind == "classification":
        first = found.classifications.setdefault(repr(annotation.get("value")), record)
        if first is not record and repr(first["annotation"].get("attributes")) != repr(annotation.get("attributes")):
            report.note(CLASSIFICATIONS_DIFFER, place)
    else:
        found.passthrough.append(record)


def _merged_shapes(items: list[dict], cells: list, xs: list, ys: list, tol: float) -> list[dict]:
    """The bbox, polygon and segmentation records after merging those that meet at a seam."""
    by_cell: dict = {}
    for position, item in enumerate(items):
        by_cell.setdefault(item["cell"], []).append(position)
    groups = _UnionFind(len(items))
    for first, second in _seam_pairs(items, by_cell, (xs, ys, len(ys) - 1, len(xs) - 1), tol):
        groups.union(first, second)
    members: dict[int, list[int]] = {}
    for position in range(len(items)):
        members.setdefault(groups.find(position), []).append(position)
    out = []
    for group in members.values():
        group_items = [items[p] for p in sorted(group, key=lambda p: items[p]["order"])]
        merged = _merge_group(group_items, xs, ys, tol) if len(group_items) > 1 else None
        if merged is None:
            out += group_items
        else:
            out.append({**group_items[0], "annotation": {**group_items[0]["annotation"], "points": merged}})
    return out


def _merged_lines(found: _Sorted, xs: list, ys: list, tol: float) -> list[dict]:
    """The line records after joining the pieces that meet at a seam (fields of the first piece)."""
    out = []
    for positions, coords in joined_lines(found.lines, xs, ys, tol):
        first = min(positions, key=lambda p: found.lines[p].order)
        record = found.line_records[first]
        points = record["annotation"]["points"] if len(positions) == 1 else flat(coords)
        out.append({**record, "annotation": {**record["annotation"], "points": points}})
    return out


def integrate_image_tiles(tasks: Sequence[dict], prefix: str, *, rows: int | None = None, cols: int | None = None,
                          tol: float = 1.0, keep_other_types: bool = False,
                          report: ConversionReport | None = None) -> dict:
    """One image task from its tiles. Merged: bbox, polygon and segmentation annotations of the
    same type and value that meet across a seam (within ``tol`` px, also across several tiles)
    become one; line pieces of the same value whose ends meet on a seam are joined into one line;
    a classification is kept once per value (the first tile's). Keypoints are moved into place.
    Pose and circle annotations are moved into place with ``keep_other_types`` (never merged),
    else left out; annotations of other types and malformed ones are left out. Everything left out
    is counted in ``report`` with its place."""
    if not is_number(tol) or isinstance(tol, bool) or tol < 0:
        raise FormatError(f"tol must be a finite number >= 0, got {tol!r:.40}")
    report = report if report is not None else ConversionReport("integrate")
    numbered = pieces(tasks, prefix)
    offsets, cells, xs, ys = tile_grid(numbered, rows, cols)
    found = _tile_items(numbered, offsets, cells, keep_other_types, report, prefix)
    out = [*_merged_shapes(found.shapes, cells, xs, ys, tol), *_merged_lines(found, xs, ys, tol),
           *found.classifications.values(), *found.passthrough]
    out.sort(key=lambda record: record["order"])
    return {"name": merged_name(prefix, numbered[0][1]), "width": xs[-1], "height": ys[-1],
            "annotations": [{**IMAGE_DEFAULTS, **record["annotation"]} for record in out]}
