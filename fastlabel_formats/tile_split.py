"""``split``: an image task cut into a grid of tiles (the inverse of
:func:`~fastlabel_formats.integrate_image_tiles`). Each annotation is looked at once: its bounds
pick the tiles it can reach (a binary search on the tile edges), and its shape is clipped to those
tiles in one vectorised call, so the work grows with tiles reached, not tiles × annotations."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FormatError, where
from .geometry import box_corners, region_polygon
from .pieces import piece_name
from .report import ConversionReport
from .tasks import checked_task
from .tiles import clean_ring, flat, translate
from .validation import RING_TYPES, annotation_problem

# the most tiles one split may make (rows × cols); a larger grid is an error before any work.
# Raise it by setting ``fastlabel_formats.tile_split.MAX_TILES``.
MAX_TILES = 10_000
SPLIT_TYPES = ("bbox", "polygon", "segmentation", "keypoint", "line")
NOT_SPLIT = "annotation of a type that is not split, left out of the tiles"
MALFORMED = "malformed annotation left out of the tiles"


@dataclass(frozen=True)
class TileGrid:
    """The tiles of one image: column edges ``xs`` (cols + 1), row edges ``ys`` (rows + 1), and
    the shapely box of every tile, row-major."""

    xs: np.ndarray
    ys: np.ndarray
    boxes: np.ndarray

    @classmethod
    def of(cls, width: int, height: int, rows: int, cols: int) -> TileGrid:
        """The grid of ``rows`` × ``cols`` tiles whose sizes differ by at most one pixel."""
        import shapely

        xs = np.concatenate([[0], np.cumsum(_tile_sizes(width, cols))]).astype(np.float64)
        ys = np.concatenate([[0], np.cumsum(_tile_sizes(height, rows))]).astype(np.float64)
        x0, y0 = np.meshgrid(xs[:-1], ys[:-1])
        x1, y1 = np.meshgrid(xs[1:], ys[1:])
        return cls(xs, ys, shapely.box(x0.ravel(), y0.ravel(), x1.ravel(), y1.ravel()))

    @property
    def cols(self) -> int:
        return len(self.xs) - 1

    def reached(self, bounds: np.ndarray) -> np.ndarray:
        """Row-major numbers of the tiles whose closed box meets the closed ``bounds``
        (min x, min y, max x, max y)."""
        first_col, last_col = _edge_range(self.xs, bounds[0], bounds[2])
        first_row, last_row = _edge_range(self.ys, bounds[1], bounds[3])
        rows, cols = np.meshgrid(np.arange(first_row, last_row + 1), np.arange(first_col, last_col + 1), indexing="ij")
        return (rows * self.cols + cols).ravel()

    def origin(self, tile: int) -> tuple[float, float]:
        """The top-left corner of a tile in image coordinates."""
        row, col = divmod(tile, self.cols)
        return float(self.xs[col]), float(self.ys[row])


def _edge_range(edges: np.ndarray, low: float, high: float) -> tuple[int, int]:
    """First and last cell ``c`` with ``edges[c] <= high`` and ``edges[c + 1] >= low`` (clipped)."""
    last = len(edges) - 2
    first_cell = int(np.searchsorted(edges, low, "left")) - 1
    last_cell = int(np.searchsorted(edges, high, "right")) - 1
    return max(first_cell, 0), min(last_cell, last)


def _tile_sizes(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def split_image_task(task: dict, rows: int, cols: int, *, image_path: str | os.PathLike[str] | None = None,
                     output_dir: str | os.PathLike[str] | None = None,
                     report: ConversionReport | None = None) -> list[dict]:
    """The tiles of an image task (the inverse of :func:`integrate_image_tiles`), numbered
    row-major from the top left: bbox, polygon, segmentation and line annotations clipped to each
    tile, a keypoint in the tile holding it, a classification in every tile; other types (pose,
    circle, …) and malformed annotations are left out and counted in ``report``. With
    ``image_path`` and ``output_dir`` the tile images are cut and written as ``output_dir/<tile name>`` too."""
    _check_grid(checked_task(task), rows, cols)
    report = report if report is not None else ConversionReport("split")
    grid = TileGrid.of(task["width"], task["height"], rows, cols)
    per_tile: list[list[dict]] = [[] for _ in range(rows * cols)]
    for index, annotation in enumerate(task.get("annotations", ())):
        place = where("tasks", task["name"], index, annotation.get("type"))
        for tile, piece in _annotation_pieces(annotation, grid, place, report):
            per_tile[tile].append(piece)
    widths, heights = np.diff(grid.xs).astype(int).tolist(), np.diff(grid.ys).astype(int).tolist()
    tiles = [{"name": piece_name(task, number + 1), "width": widths[number % cols],
              "height": heights[number // cols], "annotations": annotations}
             for number, annotations in enumerate(per_tile)]
    if image_path is not None and output_dir is not None:
        _write_tile_images(task, tiles, cols, Path(image_path), output_dir)
    return tiles


def _annotation_pieces(annotation: dict, grid: TileGrid, place: str,
                       report: ConversionReport) -> Iterator[tuple[int, dict]]:
    """``(tile, piece in tile coordinates)`` of one annotation; a malformed one or one of a type
    that is not split is reported and yields nothing."""
    kind, points = annotation.get("type"), annotation.get("points")
    problem = annotation_problem(kind, annotation, points, RING_TYPES)
    if problem is None and isinstance(points, dict):
        problem = "video points in an image task"
    if problem is not None:
        report.note(MALFORMED, f"{place}: {problem}")
        return
    try:
        if kind == "classification":  # about the whole image: every tile carries it
            yield from ((tile, copy.deepcopy(annotation)) for tile in range(len(grid.boxes)))
        elif kind not in SPLIT_TYPES:
            report.note(NOT_SPLIT, place)
        elif points:
            for tile, piece in _image_pieces(annotation, grid):
                dx, dy = grid.origin(tile)
                yield tile, {**piece, "points": translate(piece["type"], piece["points"], -dx, -dy)}
    except RecursionError:
        report.note(MALFORMED, f"{place}: values nested too deep to copy")


def _image_pieces(annotation: dict, grid: TileGrid) -> Iterator[tuple[int, dict]]:
    """``(tile, piece in image coordinates)``: a rotated bbox wholly inside one tile stays a
    rotated bbox; cut by the tiles, its pieces are polygons of its rotated corners (the rotation
    is in their vertices, not repeated)."""
    kind, points = annotation["type"], annotation["points"]
    rest = {key: value for key, value in annotation.items() if key != "points"}
    if kind == "bbox" and annotation.get("rotation"):
        corners = box_corners(np.array([points], np.float64), np.array([annotation["rotation"]], np.float64))[0]
        bounds = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
        holder = _holding_tile(grid, bounds)
        if holder is not None:
            yield holder, copy.deepcopy(annotation)
            return
        kind, points = "polygon", corners.ravel().tolist()
        rest = {**rest, "type": "polygon", "rotation": 0}
    for tile, part in CLIPPERS[kind](points, grid):
        yield tile, {**copy.deepcopy(rest), "points": part}


def _holding_tile(grid: TileGrid, bounds: np.ndarray) -> int | None:
    """The tile whose closed box holds ``bounds`` whole, if any."""
    for tile in grid.reached(bounds).tolist():
        x0, y0, x1, y1 = grid.boxes[tile].bounds
        if x0 <= bounds[0] and y0 <= bounds[1] and bounds[2] <= x1 and bounds[3] <= y1:
            return tile
    return None


def _clip_bbox(points: list, grid: TileGrid) -> Iterator[tuple[int, list]]:
    x1, y1, x2, y2 = (float(v) for v in points)
    tiles = grid.reached(np.array([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]))
    cols, rows = tiles % grid.cols, tiles // grid.cols
    low_x, high_x = np.maximum(min(x1, x2), grid.xs[cols]), np.minimum(max(x1, x2), grid.xs[cols + 1])
    low_y, high_y = np.maximum(min(y1, y2), grid.ys[rows]), np.minimum(max(y1, y2), grid.ys[rows + 1])
    inside = (high_x > low_x) & (high_y > low_y)
    boxes = np.stack([low_x, low_y, high_x, high_y], axis=1)[inside].tolist()
    yield from zip(tiles[inside].tolist(), boxes)


def _clip_keypoint(points: list, grid: TileGrid) -> Iterator[tuple[int, list]]:
    x, y = float(points[0]), float(points[1])
    if grid.xs[0] <= x < grid.xs[-1] and grid.ys[0] <= y < grid.ys[-1]:
        col = int(np.searchsorted(grid.xs, x, "right")) - 1
        row = int(np.searchsorted(grid.ys, y, "right")) - 1
        yield row * grid.cols + col, list(points)


def _clip_line(points: list, grid: TileGrid) -> Iterator[tuple[int, list]]:
    import shapely

    line = shapely.LineString(np.asarray(points, np.float64).reshape(-1, 2))
    for tile, clipped in _clipped(line, grid):
        for part in shapely.get_parts(clipped):
            if part.geom_type == "LineString" and not part.is_empty:
                yield tile, flat(np.asarray(part.coords))


def _clip_area(kind: str, points: list, grid: TileGrid) -> Iterator[tuple[int, list]]:
    import shapely

    regions = [[points]] if kind == "polygon" else points
    area = shapely.union_all([region_polygon([np.asarray(ring, np.float64).reshape(-1, 2) for ring in region])
                              for region in regions if region])
    for tile, clipped in _clipped(area, grid):
        polygons = [p for p in shapely.get_parts(clipped) if p.geom_type == "Polygon" and not p.is_empty]
        if kind == "polygon":
            yield from ((tile, flat(clean_ring(np.asarray(p.exterior.coords), True))) for p in polygons)
        elif polygons:
            yield tile, [[flat(clean_ring(np.asarray(p.exterior.coords), True), closed=True)]
                         + [flat(clean_ring(np.asarray(h.coords), False), closed=True) for h in p.interiors]
                         for p in polygons]


def _clipped(shape, grid: TileGrid) -> Iterator[tuple[int, object]]:
    """``(tile, shape ∩ tile)`` for the tiles the shape's bounds reach, in one vectorised call."""
    import shapely

    if shape.is_empty:
        return
    tiles = grid.reached(np.asarray(shape.bounds, np.float64))
    yield from zip(tiles.tolist(), shapely.intersection(shape, grid.boxes[tiles]))


CLIPPERS = {"bbox": _clip_bbox, "keypoint": _clip_keypoint, "line": _clip_line,
            "polygon": lambda points, grid: _clip_area("polygon", points, grid),
            "segmentation": lambda points, grid: _clip_area("segmentation", points, grid)}


def _write_tile_images(task: dict, tiles: list[dict], cols: int, image_path: Path,
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


def _check_grid(task: dict, rows: object, cols: object) -> None:
    """FormatError unless rows × cols is a grid of at least one pixel per tile, at most MAX_TILES."""
    width, height = task.get("width"), task.get("height")
    if not all(type(v) is int for v in (rows, cols, width, height)):
        raise FormatError(f"task {task.get('name')!r}: rows, cols, width and height must be integers")
    if rows < 1 or cols < 1 or rows * cols > MAX_TILES or rows > height or cols > width:
        raise FormatError(f"task {task.get('name')!r}: a {rows}x{cols} grid cannot split a {width}x{height} "
                          f"image (at least 1x1, at most {MAX_TILES:,} tiles, at least one pixel each; raise "
                          "fastlabel_formats.tile_split.MAX_TILES for more)")
