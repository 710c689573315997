"""Image tiles merged back into one image task, and split (``formats-spec.md`` §13.1): tile n at row
(n-1)//cols, column (n-1)%cols, offsets from the actual tile sizes; shapes of the same type and
value that meet across a seam become one again."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import FormatError, where
from .geometry import box_corners, region_polygon, signed_ring_area
from .pieces import merged_name, piece_name, pieces, rounded
from .report import ConversionReport
from .tasks import checked_task

MERGED_TYPES = ("bbox", "polygon", "segmentation")
SPLIT_TYPES = (*MERGED_TYPES, "keypoint", "line")
IMAGE_DEFAULTS = {"attributes": [], "keypoints": [], "rotation": 0, "confidenceScore": -1}


def tile_grid(numbered: list[tuple[int, dict]], rows: int | None, cols: int | None) -> tuple[list, list, int, int]:
    """Per piece its (x, y) offset, and the merged width and height; FormatError on a bad grid."""
    count = len(numbered)
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


def _translate(kind: str, points: object, dx: float, dy: float) -> object:
    if kind == "segmentation":
        return [[_translate("polygon", ring, dx, dy) for ring in region] for region in points]
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


def _touch(first: list[tuple], second: list[tuple]) -> bool:
    return any(min(a_hi, b_hi) > max(a_lo, b_lo) for a_lo, a_hi in first for b_lo, b_hi in second)


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


def _clean_ring(coords: np.ndarray, clockwise: bool) -> np.ndarray:
    """Open ring without repeated or collinear vertices, clockwise on screen (or not), starting at
    the vertex with the smallest y, then x."""
    ring = coords[:-1] if len(coords) > 1 and (coords[0] == coords[-1]).all() else coords
    previous, following = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
    incoming, outgoing = ring - previous, following - ring
    cross = incoming[:, 0] * outgoing[:, 1] - incoming[:, 1] * outgoing[:, 0]
    scale = np.hypot(*incoming.T) * np.hypot(*outgoing.T)
    ring = ring[np.abs(cross) > 1e-6 * scale]  # also drops cut points a seam left on a straight edge
    if (signed_ring_area(ring) < 0) != clockwise:
        ring = ring[::-1]
    start = int(np.lexsort((ring[:, 0], ring[:, 1]))[0])
    return np.roll(ring, -start, axis=0)


def _flat(ring: np.ndarray, closed: bool = False) -> list:
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
        return _flat(_clean_ring(np.asarray(union.exterior.coords), clockwise=True))
    polygons = [union] if union.geom_type == "Polygon" else list(getattr(union, "geoms", []))
    return [[_flat(_clean_ring(np.asarray(p.exterior.coords), True), closed=True)]
            + [_flat(_clean_ring(np.asarray(h.coords), False), closed=True) for h in p.interiors]
            for p in polygons if p.geom_type == "Polygon" and not p.is_empty]


def _tile_items(numbered, offsets, cells, keep_other_types) -> tuple[list[dict], list[dict]]:
    items, passthrough = [], []
    for position, (number, task) in enumerate(numbered):
        dx, dy = offsets[position]
        for index, annotation in enumerate(task.get("annotations", ())):
            kind, points = annotation.get("type"), annotation.get("points")
            if kind not in MERGED_TYPES and not keep_other_types:
                continue
            shifted = {**copy.deepcopy(annotation), "points": _translate(kind, points, dx, dy) if points else points}
            record = {"order": (number, index), "annotation": shifted}
            if kind in MERGED_TYPES and points:
                items.append({**record, "kind": kind, "value": annotation.get("value"), "cell": cells[position],
                              "rings": _outer_rings(kind, shifted["points"])})
            else:
                passthrough.append(record)
    return items, passthrough


def integrate_image_tiles(tasks: Sequence[dict], prefix: str, *, rows: int | None = None, cols: int | None = None,
                          tol: float = 1.0, keep_other_types: bool = False) -> dict:
    """One image task from its tiles: bbox, polygon and segmentation annotations of the same type and
    value that meet across a seam (within ``tol`` px, also across several tiles) become one; others
    are translated. Other types are dropped unless ``keep_other_types``."""
    numbered = pieces(tasks, prefix)
    offsets, cells, xs, ys = tile_grid(numbered, rows, cols)
    items, passthrough = _tile_items(numbered, offsets, cells, keep_other_types)
    by_cell: dict = {}
    for position, item in enumerate(items):
        by_cell.setdefault(item["cell"], []).append(position)
    groups = _UnionFind(len(items))
    for first, second in _seam_pairs(items, by_cell, (xs, ys, len(ys) - 1, len(xs) - 1), tol):
        groups.union(first, second)
    members: dict[int, list[int]] = {}
    for position in range(len(items)):
        members.setdefault(groups.find(position), []).append(position)
    out = list(passthrough)
    for group in members.values():
        group_items = [items[p] for p in sorted(group, key=lambda p: items[p]["order"])]
        merged = _merge_group(group_items, xs, ys, tol) if len(group_items) > 1 else None
        if merged is None:
            out += group_items
        else:
            out.append({**group_items[0], "annotation": {**group_items[0]["annotation"], "points": merged}})
    out.sort(key=lambda record: record["order"])
    return {"name": merged_name(prefix, numbered[0][1]), "width": xs[-1], "height": ys[-1],
            "annotations": [{**IMAGE_DEFAULTS, **record["annotation"]} for record in out]}


def _tile_sizes(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def _clip(kind: str, points: object, box) -> list:
    """The parts of a shape inside a tile box, in image coordinates (a list of points per part)."""
    import shapely

    if kind == "bbox":
        x1, y1, x2, y2 = points
        low_x, high_x = max(min(x1, x2), box.bounds[0]), min(max(x1, x2), box.bounds[2])
        low_y, high_y = max(min(y1, y2), box.bounds[1]), min(max(y1, y2), box.bounds[3])
        return [[low_x, low_y, high_x, high_y]] if high_x > low_x and high_y > low_y else []
    if kind == "keypoint":
        x0, y0, x1, y1 = box.bounds
        return [list(points)] if x0 <= points[0] < x1 and y0 <= points[1] < y1 else []
    if kind == "line":
        clipped = shapely.intersection(shapely.LineString(np.asarray(points, float).reshape(-1, 2)), box)
        return [_flat(np.asarray(part.coords)) for part in getattr(clipped, "geoms", [clipped])
                if part.geom_type == "LineString" and not part.is_empty]
    regions = [[points]] if kind == "polygon" else points
    shapes = [region_polygon([np.asarray(ring, float).reshape(-1, 2) for ring in region])
              for region in regions if region]
    clipped = shapely.intersection(shapely.union_all(shapes), box)
    polygons = [p for p in getattr(clipped, "geoms", [clipped]) if p.geom_type == "Polygon" and not p.is_empty]
    if kind == "polygon":
        return [_flat(_clean_ring(np.asarray(p.exterior.coords), True)) for p in polygons]
    segmentation = [[_flat(_clean_ring(np.asarray(p.exterior.coords), True), closed=True)]
                    + [_flat(_clean_ring(np.asarray(h.coords), False), closed=True) for h in p.interiors]
                    for p in polygons]
    return [segmentation] if segmentation else []


def _tile_pieces(annotation: dict, box) -> list[dict]:
    """The annotation's pieces inside one tile, in image coordinates. A rotated bbox wholly inside
    stays a rotated bbox; cut by the tile, its pieces are polygons of its rotated corners (the
    rotation is in their vertices, not repeated)."""
    kind, points = annotation["type"], annotation["points"]
    rotation = annotation.get("rotation") or 0
    if kind == "bbox" and rotation:
        corners = box_corners(np.array([points], np.float64), np.array([rotation], np.float64)).reshape(-1)
        parts = _clip("polygon", corners.tolist(), box)
        if len(parts) == 1 and len(parts[0]) == 8 and np.allclose(sorted(parts[0]), sorted(corners.tolist())):
            return [copy.deepcopy(annotation)]
        return [{**copy.deepcopy(annotation), "type": "polygon", "points": part, "rotation": 0} for part in parts]
    return [{**copy.deepcopy(annotation), "points": part} for part in _clip(kind, points, box)]


def split_image_task(task: dict, rows: int, cols: int, *, image_path: str | os.PathLike[str] | None = None,
                     output_dir: str | os.PathLike[str] | None = None,
                     report: ConversionReport | None = None) -> list[dict]:
    """The tiles of an image task (the inverse of :func:`integrate_image_tiles`), numbered
    row-major from the top left: bbox, polygon, segmentation and line annotations clipped to each
    tile, a keypoint in the tile holding it, a classification in every tile; other types (pose,
    circle, …) are left out and counted in ``report``. With ``image_path`` and ``output_dir`` the
    tile images are cut and written as ``output_dir/<tile name>`` too."""
    import shapely

    _check_grid(checked_task(task), rows, cols)
    for index, annotation in enumerate(task.get("annotations", ())):
        if annotation.get("type") not in (*SPLIT_TYPES, "classification") and report is not None:
            report.note("annotation of a type that is not split, left out of the tiles",
                        where("tasks", task.get("name"), index, annotation.get("type")))
    tiles = _split_annotations(task, rows, cols, shapely)
    if image_path is not None and output_dir is not None:
        _write_tile_images(task, tiles, rows, cols, Path(image_path), output_dir)
    return tiles


def _write_tile_images(task: dict, tiles: list[dict], rows: int, cols: int, image_path: Path,
                       output_dir: str | os.PathLike[str]) -> None:
    import io

    from PIL import Image

    from .files import output_path, write_atomic

    with Image.open(image_path) as image:
        image.load()
        for number, tile_task in enumerate(tiles):
            row, col = divmod(number, cols)
            x0 = sum(t["width"] for t in tiles[row * cols:row * cols + col])
            y0 = sum(tiles[r * cols + col]["height"] for r in range(row))
            crop = image.crop((x0, y0, x0 + tile_task["width"], y0 + tile_task["height"]))
            stream = io.BytesIO()
            crop.save(stream, format=image.format or "PNG", quality=95)
            write_atomic(output_path(output_dir, tile_task["name"], f"task {task['name']!r}"), stream.getvalue())


MAX_TILES = 10_000  # tiles per image: a larger grid is an error before any work


def _check_grid(task: dict, rows: object, cols: object) -> None:
    """FormatError unless rows × cols is a grid of at least one pixel per tile, at most MAX_TILES."""
    width, height = task.get("width"), task.get("height")
    if not all(type(v) is int for v in (rows, cols, width, height)):
        raise FormatError(f"task {task.get('name')!r}: rows, cols, width and height must be integers")
    if rows < 1 or cols < 1 or rows * cols > MAX_TILES or rows > height or cols > width:
        raise FormatError(f"task {task.get('name')!r}: a {rows}x{cols} grid cannot split a {width}x{height} "
                          f"image (at least 1x1, at most {MAX_TILES:,} tiles, at least one pixel each)")


def _split_annotations(task: dict, rows: int, cols: int, shapely) -> list[dict]:
    widths, heights = _tile_sizes(task["width"], cols), _tile_sizes(task["height"], rows)
    tiles = []
    for row in range(rows):
        for col in range(cols):
            x0, y0 = sum(widths[:col]), sum(heights[:row])
            box = shapely.box(x0, y0, x0 + widths[col], y0 + heights[row])
            annotations = []
            for annotation in task.get("annotations", ()):
                kind, points = annotation.get("type"), annotation.get("points")
                if kind == "classification":  # about the whole image: every tile carries it
                    annotations.append(copy.deepcopy(annotation))
                elif kind in SPLIT_TYPES and points:
                    annotations += [{**piece, "points": _translate(piece["type"], piece["points"], -x0, -y0)}
                                    for piece in _tile_pieces(annotation, box)]
            tiles.append({"name": piece_name(task, row * cols + col + 1), "width": widths[col],
                          "height": heights[row], "annotations": annotations})
    return tiles
