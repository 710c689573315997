"""Pixel semantics (the official SDK's, with its defects fixed): truncated, staircased rings filled by
the pixel-centre rule.

A pixel (i, j) belongs to a ring iff its centre (i + .5, j + .5) lies inside the staircased
ring (even-odd). Staircased rings have integer axis-aligned edges, so only their vertical edges
decide: pixel i of row j is inside iff an odd number of vertical edges spanning row j lie at
x <= i. Masks are computed in the shape's own window, never on a full-image canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import span_indices


@dataclass(frozen=True)
class Window:
    """A pixel rectangle ``[x0, x1) × [y0, y1)`` of an image."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (max(self.y1 - self.y0, 0), max(self.x1 - self.x0, 0))

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0


def pixel_ring(ring: list | np.ndarray) -> np.ndarray:
    """``(k, 2)`` int64 vertices of a flat ring, every coordinate truncated toward zero."""
    return np.trunc(np.asarray(ring, dtype=np.float64)).astype(np.int64).reshape(-1, 2)


def _segment_positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, n-1 within each of the consecutive segments of the given lengths."""
    return span_indices(np.zeros(len(counts), np.int64), counts)


def vertical_edges(vertices: np.ndarray, ring_offsets: np.ndarray | None = None, windows: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ring, x, y_from, y_to)`` of the vertical edges of closed, staircased rings.

    ``vertices[ring_offsets[r]:ring_offsets[r+1]]`` is ring r (one ring when None). A diagonal
    edge (x0,y0)→(x1,y1) becomes m = min(|dx|,|dy|) steps, each vertical first: step k runs at
    x0 + int(dx/m·k) from y0 + int(dy/m·k) to y0 + int(dy/m·(k+1)), the last step forced to end
    on y1 (a staircase always ends on its vertex). With ``windows`` (``(x0, y0, x1, y1)`` per
    ring), only the steps near a window's rows are made (at most its height and a few more per
    edge, however far outside its vertices lie); every step crossing those rows is among them.
    """
    if ring_offsets is None:
        ring_offsets = np.array([0, len(vertices)])
    lengths = np.diff(ring_offsets)
    ring_of_vertex = np.repeat(np.arange(len(lengths)), lengths)
    following = np.arange(len(vertices)) + 1
    following[ring_offsets[1:][lengths > 0] - 1] = ring_offsets[:-1][lengths > 0]
    start, end = vertices, vertices[following]
    dx, dy = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
    straight = (dx == 0) & (dy != 0)
    diagonal = (dx != 0) & (dy != 0)
    all_steps = np.minimum(np.abs(dx), np.abs(dy))[diagonal]
    first_step, steps = _steps_near(windows, ring_of_vertex[diagonal], start[diagonal, 1], dy[diagonal], all_steps)
    edge = np.repeat(np.flatnonzero(diagonal), steps)
    k = np.repeat(first_step, steps) + _segment_positions(steps)
    m = np.repeat(all_steps, steps).astype(np.float64)
    step_y = dy[edge] / m
    x = start[edge, 0] + np.trunc(dx[edge] / m * k).astype(np.int64)
    y_from = start[edge, 1] + np.trunc(step_y * k).astype(np.int64)
    y_to = start[edge, 1] + np.trunc(step_y * (k + 1)).astype(np.int64)
    last = k == m - 1
    y_to[last] = end[edge[last], 1]
    return (
        np.concatenate([ring_of_vertex[straight], ring_of_vertex[edge]]),
        np.concatenate([start[straight, 0], x]),
        np.concatenate([start[straight, 1], y_from]),
        np.concatenate([end[straight, 1], y_to]),
    )


def _steps_near(windows: np.ndarray | None, ring: np.ndarray, y_start: np.ndarray, dy: np.ndarray,
                steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first step, number of steps)`` of each diagonal edge whose steps can cross its ring's
    window rows (every step without ``windows``): the rows of step k start at y + dy/m·k, so the
    steps reaching rows y0..y1 lie between (y0 - y)·m/dy and (y1 - y)·m/dy, widened by two steps
    for the truncation and the float error."""
    if windows is None or not len(steps):
        return np.zeros(len(steps), np.int64), steps
    per_step = dy / steps
    ends = (windows[ring][:, [1, 3]] - y_start[:, None]) / per_step[:, None]
    low = np.clip(np.floor(ends.min(axis=1)) - 2, 0, steps)
    high = np.clip(np.ceil(ends.max(axis=1)) + 3, 0, steps)
    return low.astype(np.int64), np.maximum(high - low, 0).astype(np.int64)


def ring_window(vertices: np.ndarray, width: int, height: int) -> Window:
    """The ring's bounding pixels clipped to the image."""
    if len(vertices) == 0:
        return Window(0, 0, 0, 0)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    return Window(max(int(low[0]), 0), max(int(low[1]), 0), min(int(high[0]), width),
                  min(int(high[1]), height))


def fill_rings(vertices: np.ndarray, ring_offsets: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
    """Boolean mask of every ring over its window ``windows[r] = (x0, y0, x1, y1)``: the pixels
    whose centres lie inside the staircased ring (even-odd), all rings in one pass.

    Each window row is cut into runs at the columns where a vertical edge crosses it (an even
    number of crossings at one column cancels); runs alternate outside / inside, so all masks
    come out of a single ``np.repeat``.
    """
    n_rings = len(ring_offsets) - 1
    windows = np.asarray(windows, np.int64).reshape(n_rings, 4)
    if n_rings == 0:
        return []
    cols = np.maximum(windows[:, 2] - windows[:, 0], 0)
    rows = np.maximum(windows[:, 3] - windows[:, 1], 0)
    slots = np.concatenate([[0], np.cumsum(rows * cols)])
    first_row = np.concatenate([[0], np.cumsum(rows)])  # global row number of each ring's first row
    ring, x, y_from, y_to = vertical_edges(vertices, ring_offsets, windows)
    x0, y0, y1 = windows[ring, 0], windows[ring, 1], windows[ring, 3]
    low = np.clip(np.minimum(y_from, y_to), y0, y1) - y0
    high = np.clip(np.maximum(y_from, y_to), y0, y1) - y0
    column = np.maximum(x - x0, 0)
    keep = (high > low) & (column < cols[ring])
    ring, low, column, spans = ring[keep], low[keep], column[keep], (high - low)[keep]
    crossing_row = np.repeat(first_row[ring] + low, spans) + _segment_positions(spans)
    crossing_column = np.repeat(column, spans)
    key, count = np.unique(crossing_row * (int(cols.max()) + 1) + crossing_column, return_counts=True)
    key = key[count % 2 == 1]
    crossing_row, crossing_column = np.divmod(key, int(cols.max()) + 1)
    row_ring = np.repeat(np.arange(n_rings), rows)
    row_width = cols[row_ring]
    row_start = slots[row_ring] + (np.arange(int(first_row[-1])) - first_row[row_ring]) * row_width
    rank = np.arange(len(key)) - np.searchsorted(crossing_row, crossing_row, side="left")
    positions = np.concatenate([row_start, row_start[crossing_row] + crossing_column])
    values = np.concatenate([np.zeros(len(row_start), bool), rank % 2 == 0])
    order = np.argsort(positions, kind="stable")  # a row's start sorts before a crossing at column 0
    positions, values = positions[order], values[order]
    lengths = np.diff(np.append(positions, slots[-1]))
    flat = np.repeat(values, lengths)
    return [flat[slots[r]:slots[r + 1]].reshape(rows[r], cols[r]) for r in range(n_rings)]


def fill_ring(vertices: np.ndarray, window: Window) -> np.ndarray:
    """Boolean mask over ``window`` of the pixels whose centres lie inside the ring."""
    if window.empty or len(vertices) < 3:
        return np.zeros(window.shape, bool)
    box = np.array([[window.x0, window.y0, window.x1, window.y1]])
    return fill_rings(vertices, np.array([0, len(vertices)]), box)[0]


def segmentation_window(points: list, width: int, height: int, exact: bool = False) -> Window:
    """The window covering every outer ring of a segmentation (its truncated vertices, or every
    pixel centre the float rings can hold), clipped to the image."""
    outers = [np.asarray(region[0], np.float64).reshape(-1, 2) for region in points if region and region[0]]
    if not outers:
        return Window(0, 0, 0, 0)
    vertices = np.concatenate(outers)
    if not exact:
        return ring_window(np.trunc(vertices).astype(np.int64), width, height)
    low, high = np.floor(vertices.min(axis=0)), np.ceil(vertices.max(axis=0))
    return Window(max(int(low[0]), 0), max(int(low[1]), 0), min(int(high[0]), width), min(int(high[1]), height))


def segmentation_mask(points: list, width: int, height: int, raster: str = "staircase") -> tuple[np.ndarray, Window]:
    """The union of a segmentation's regions (each outer ring minus its holes) over its window,
    every ring filled in one pass (``raster``: the SDK's rule, or ``"exact"``)."""
    exact = check_raster(raster) == "exact"
    as_vertices = (lambda ring: np.asarray(ring, np.float64).reshape(-1, 2)) if exact else pixel_ring
    window = segmentation_window(points, width, height, exact)
    mask = np.zeros(window.shape, bool)
    rings = [(number, position, as_vertices(ring)) for number, region in enumerate(points)
             for position, ring in enumerate(region)]
    rings = [ring for ring in rings if len(ring[2]) >= 3]  # fewer vertices cover no pixel
    if window.empty or not rings:
        return mask, window
    offsets = np.cumsum([0] + [len(vertices) for _, _, vertices in rings])
    box = np.array([[window.x0, window.y0, window.x1, window.y1]] * len(rings))
    fill = fill_rings_exact if exact else fill_rings
    filled = fill(np.concatenate([vertices for _, _, vertices in rings]), offsets, box)
    regions: dict[int, np.ndarray] = {}
    for (number, position, _), ring_mask in zip(rings, filled):
        if position == 0:
            regions[number] = ring_mask.copy()
        elif number in regions:
            regions[number] &= ~ring_mask
    for region in regions.values():
        mask |= region
    return mask, window


def window_rle_counts(mask: np.ndarray, window: Window, width: int, height: int) -> list[int]:
    """Uncompressed COCO RLE counts (column-major, starting with zeros) of a window mask."""
    columns = np.zeros((mask.shape[1], mask.shape[0] + 2), np.int8)
    columns[:, 1:-1] = mask.T
    change = np.diff(columns, axis=1)
    col_start, pos_start = np.nonzero(change == 1)
    col_end, pos_end = np.nonzero(change == -1)
    starts = (window.x0 + col_start) * height + window.y0 + pos_start
    ends = (window.x0 + col_end) * height + window.y0 + pos_end
    joined = np.zeros(len(starts), bool)
    joined[:-1] = ends[:-1] == starts[1:]
    keep_start = np.concatenate([[True], ~joined[:-1]]) if len(starts) else joined
    starts, ends = starts[keep_start], ends[~joined]
    bounds = np.empty(2 * len(starts), np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    return np.diff(np.concatenate([[0], bounds, [width * height]])).tolist()


def segmentation_rle(points: list, width: int, height: int, raster: str = "staircase") -> tuple[dict, int]:
    """Compressed COCO RLE ``{"size": [h, w], "counts": str}`` of a segmentation, and its pixel area."""
    from pycocotools import mask as coco_mask

    check_image_size(width, height, "segmentation RLE")
    mask, window = segmentation_mask(points, width, height, raster)
    counts = window_rle_counts(mask, window, width, height)
    rle = coco_mask.frPyObjects({"counts": counts, "size": [height, width]}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}, int(mask.sum())


# The exact rule (raster="exact"): a pixel belongs to a ring iff its centre lies inside the ring
# itself, float coordinates as they are (even-odd), not inside the truncated, staircased ring.

RASTER_RULES = ("staircase", "exact")
# the largest image rendered, rasterised to RLE or drawn: Pillow's decompression-bomb limit (an
# image this size is a 90 MB mask); a task claiming more is an error before anything is allocated.
# Raise it by setting ``fastlabel_formats.raster.MAX_IMAGE_PIXELS``.
MAX_IMAGE_PIXELS = 89_478_485


def check_image_size(width: int, height: int, place: str) -> None:
    """FormatError when an image of ``width`` × ``height`` pixels exceeds :data:`MAX_IMAGE_PIXELS`."""
    if width * height > MAX_IMAGE_PIXELS:
        from .errors import FormatError

        raise FormatError(f"{place}: an image of {width:,} × {height:,} pixels is more than the "
                          f"{MAX_IMAGE_PIXELS:,} this renders (raise fastlabel_formats.raster.MAX_IMAGE_PIXELS)")


def check_raster(rule: str) -> str:
    """``rule`` when it is a rasterisation rule, else FormatError."""
    if rule not in RASTER_RULES:
        from .errors import FormatError

        raise FormatError(f"raster must be one of {RASTER_RULES}, got {rule!r}")
    return rule


def exact_windows(coords: np.ndarray, ring_offsets: np.ndarray) -> np.ndarray:
    """``(R, 4)`` pixel windows ``x0, y0, x1, y1`` holding every pixel centre a float ring can
    contain (unclipped; empty for an empty ring)."""
    starts, ends = ring_offsets[:-1], ring_offsets[1:]
    windows = np.zeros((len(starts), 4), np.int64)
    nonempty = ends > starts
    if nonempty.any():
        low = np.minimum.reduceat(coords, starts[nonempty], axis=0)
        high = np.maximum.reduceat(coords, starts[nonempty], axis=0)
        windows[nonempty, :2] = np.floor(low).astype(np.int64)
        windows[nonempty, 2:] = np.ceil(high).astype(np.int64)
    return windows


def fill_rings_exact(coords: np.ndarray, ring_offsets: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
    """Boolean mask of every float ring over its window ``(x0, y0, x1, y1)``: the pixels whose
    centres lie inside it (even-odd), all rings in one pass. Each edge crossing a row's centre
    line flips the parity of every pixel right of the crossing."""
    windows = np.asarray(windows, np.int64).reshape(-1, 4)
    cols, rows = np.maximum(windows[:, 2] - windows[:, 0], 0), np.maximum(windows[:, 3] - windows[:, 1], 0)
    slots = np.concatenate([[0], np.cumsum(rows * (cols + 1))])  # one spare column for crossings past the edge
    lengths = np.diff(ring_offsets)
    ring = np.repeat(np.arange(len(lengths)), lengths)
    following = np.arange(len(coords)) + 1
    following[ring_offsets[1:][lengths > 0] - 1] = ring_offsets[:-1][lengths > 0]
    start, end = coords, coords[following]
    y_low = np.ceil(np.minimum(start[:, 1], end[:, 1]) - 0.5).astype(np.int64)  # centre rows y + .5 in [min, max)
    y_high = np.ceil(np.maximum(start[:, 1], end[:, 1]) - 0.5).astype(np.int64)
    y_low, y_high = np.maximum(y_low, windows[ring, 1]), np.minimum(y_high, windows[ring, 3])
    spans = np.maximum(y_high - y_low, 0) * (lengths[ring] >= 3)
    edge = np.repeat(np.arange(len(coords)), spans)
    y = np.repeat(y_low, spans) + np.arange(int(spans.sum())) - np.repeat(np.cumsum(spans) - spans, spans)
    x0, y0, x1, y1 = start[edge, 0], start[edge, 1], end[edge, 0], end[edge, 1]
    crossing = x0 + (y + 0.5 - y0) * (x1 - x0) / (y1 - y0)
    owner = ring[edge]
    column = np.clip(np.floor(crossing - 0.5).astype(np.int64) + 1 - windows[owner, 0], 0, cols[owner])
    flat = np.bincount(slots[owner] + (y - windows[owner, 1]) * (cols[owner] + 1) + column,
                       minlength=int(slots[-1])) % 2
    return [np.cumsum(flat[slots[r]:slots[r + 1]].reshape(rows[r], cols[r] + 1), axis=1)[:, :cols[r]] % 2 == 1
            for r in range(len(lengths))]
