"""Boundary rings of a mask along pixel edges ("cracks"), for ``mask_to_segmentation`` (§11).

Every crack between a foreground and a background pixel (found from the border pixels that
``cv2.findContours`` visits) becomes a directed unit edge with the foreground on its right (outer
boundaries clockwise on screen, holes counter-clockwise). Where two foreground pixels touch only
diagonally a vertex has two ways out; taking the left turn keeps an 8-connected component in one
ring. Rings are the cycles of the resulting successor
permutation, found for all edges at once by pointer jumping (no per-pixel Python loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# directions in clockwise order: east, south, west, north (y grows downward)
STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], np.int64)
# the pixel (dx, dy) relative to an edge's start vertex on its right (foreground) side
RIGHT_PIXEL = np.array([[0, 0], [-1, 0], [-1, -1], [0, -1]], np.int64)


@dataclass(frozen=True)
class CrackRings:
    """Rings as runs of directed edges: ring r is ``start[offsets[r]:offsets[r+1]]`` (vertices in
    padded pixel-corner coordinates) with ``direction`` of each edge."""

    start: np.ndarray
    direction: np.ndarray
    offsets: np.ndarray


# a background 4-neighbour (dx, dy) of a foreground pixel -> the crack's start (relative to the
# pixel's top-left corner) and direction, foreground on the right
_BORDER_CRACKS = (((0, -1), (0, 0), 0), ((0, 1), (1, 1), 2), ((-1, 0), (0, 1), 3), ((1, 0), (1, 0), 1))


def border_cracks(padded: np.ndarray, border_pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start vertices ``(E, 2)`` and directions ``(E,)`` of every crack between a foreground
    pixel and a background pixel, given (at least) all foreground pixels that have a background
    4-neighbour as ``(x, y)`` rows. ``padded`` has one background pixel on every side."""
    width = padded.shape[1]
    y, x = np.divmod(np.unique(border_pixels[:, 1] * width + border_pixels[:, 0]), width)
    starts, directions = [], []
    for (dx, dy), (sx, sy), direction in _BORDER_CRACKS:
        background = ~padded[y + dy, x + dx]
        starts.append(np.stack([x[background] + sx, y[background] + sy], 1))
        directions.append(np.full(int(background.sum()), direction))
    return np.concatenate(starts).astype(np.int64), np.concatenate(directions).astype(np.int64)


def successors(start: np.ndarray, direction: np.ndarray, width: int) -> np.ndarray:
    """The edge that follows each edge: the only one leaving its end vertex, or the left turn."""
    end = start + STEP[direction]
    start_id = start[:, 1] * (width + 1) + start[:, 0]
    end_id = end[:, 1] * (width + 1) + end[:, 0]
    by_start = np.argsort(start_id, kind="stable")
    first = np.searchsorted(start_id[by_start], end_id, side="left")
    count = np.searchsorted(start_id[by_start], end_id, side="right") - first
    candidate = by_start[first]
    two = np.flatnonzero(count == 2)
    if len(two):
        other = by_start[first[two] + 1]
        left_turn = (direction[two] + 3) % 4
        candidate[two] = np.where(direction[candidate[two]] == left_turn, candidate[two], other)
    return candidate


def trace(start: np.ndarray, direction: np.ndarray, width: int) -> CrackRings:
    """Split the edges into rings, each in traversal order beginning at its lowest edge index."""
    following = successors(start, direction, width)
    n = len(start)
    label, jump = np.arange(n), following.copy()
    for _ in range(max(int(np.ceil(np.log2(max(n, 2)))), 1) + 1):
        label = np.minimum(label, label[jump])
        jump = jump[jump]
    # list ranking: distance of each edge to the edge that closes its ring
    terminal = following == label  # the edge whose successor is the ring's first edge
    succ = np.where(terminal, np.arange(n), following)
    distance = np.where(terminal, 0, 1)
    for _ in range(max(int(np.ceil(np.log2(max(n, 2)))), 1) + 1):
        distance = distance + distance[succ]
        succ = succ[succ]
    order = np.lexsort((-distance, label))
    ring_starts = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1]]) if n else np.zeros(0, int)
    return CrackRings(start[order], direction[order], np.append(ring_starts, n).astype(np.int64))


def corners(rings: CrackRings) -> tuple[np.ndarray, np.ndarray]:
    """Per ring, the vertices where the direction changes (collinear middle vertices dropped),
    as ``(vertices (K, 2), offsets)``."""
    offsets = rings.offsets
    lengths = np.diff(offsets)
    ring_of_edge = np.repeat(np.arange(len(lengths)), lengths)
    previous = np.arange(len(rings.direction)) - 1
    previous[offsets[:-1]] = offsets[1:] - 1
    turn = rings.direction != rings.direction[previous]
    kept = np.flatnonzero(turn)
    counts = np.bincount(ring_of_edge[kept], minlength=len(lengths))
    return rings.start[kept], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def signed_areas(vertices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Shoelace S = Σ(x_{i−1}·y_i − x_i·y_{i−1}) per ring, > 0 for clockwise rings on screen."""
    lengths = np.diff(offsets)
    previous = np.arange(len(vertices)) - 1
    previous[offsets[:-1][lengths > 0]] = offsets[1:][lengths > 0] - 1
    cross = vertices[previous, 0] * vertices[:, 1] - vertices[:, 0] * vertices[previous, 1]
    return np.add.reduceat(cross, offsets[:-1]) if len(vertices) else np.zeros(len(lengths))
