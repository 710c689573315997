"""Ragged geometry of a whole batch as flat numpy arrays, and the maths on them.

A batch of shapes is held as one ``(P, 2)`` float64 coordinate buffer with offsets:
``ring_offsets`` (ring -> first point) and ``shape_ring_offsets`` (shape -> first ring).
Every function here works on whole arrays; none loops over points in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROUND_DECIMALS = 6
_SCALE = 10.0**ROUND_DECIMALS


@dataclass(frozen=True)
class Rings:
    """Shapes made of rings of points: ``coords[ring_offsets[r]:ring_offsets[r+1]]`` is ring r,
    rings ``shape_ring_offsets[s]:shape_ring_offsets[s+1]`` belong to shape s."""

    coords: np.ndarray
    ring_offsets: np.ndarray
    shape_ring_offsets: np.ndarray
    is_hole: np.ndarray

    @property
    def n_shapes(self) -> int:
        return len(self.shape_ring_offsets) - 1

    def ring_shape(self) -> np.ndarray:
        """Shape index of every ring."""
        return np.repeat(np.arange(self.n_shapes), np.diff(self.shape_ring_offsets))


def offsets(counts: np.ndarray) -> np.ndarray:
    """``[0, counts[0], counts[0] + counts[1], …]``: where each span of ``counts`` items starts, and the end.

    >>> offsets(np.array([2, 0, 3])).tolist()
    [0, 2, 2, 5]
    """
    starts = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    return starts


def span_indices(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices ``starts[i]``, ``starts[i] + 1``, … (``counts[i]`` of them) of every span, concatenated.

    >>> span_indices(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    starts, counts = np.asarray(starts, np.int64), np.asarray(counts, np.int64)
    return np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()), dtype=np.int64)


def python_round(values: np.ndarray, decimals: int = ROUND_DECIMALS) -> np.ndarray:
    """``round(v, decimals)`` of Python, bit for bit, on a whole float64 array.

    ``rint(v * 10**d) / 10**d`` equals Python's correctly rounded result except where
    ``v * 10**d`` lies within float error of a half; those few values go through ``round``.
    """
    scale = 10.0**decimals
    scaled = values * scale
    rounded = np.rint(scaled)
    result = rounded / scale
    frac = np.abs(scaled - np.trunc(scaled))
    doubtful = (np.abs(frac - 0.5) < 1e-6) | (np.abs(scaled) >= 2.0**52)
    if doubtful.any():
        flat_result, index = result.reshape(-1), np.flatnonzero(doubtful)
        flat_result[index] = [round(v, decimals) for v in np.ravel(values)[index].tolist()]
    return result


def truncate(values: np.ndarray, decimals: int) -> np.ndarray:
    """``int(v * 10**decimals) / 10**decimals`` of Python on a whole array (toward zero)."""
    scale = float(10**decimals)
    return np.trunc(values * scale) / scale


def outer_bounds(rings: Rings, coords: np.ndarray | None = None) -> np.ndarray:
    """``(S, 4)`` min x, min y, max x, max y over the outer rings of every shape.

    Shapes without outer points get NaN bounds. ``coords`` replaces ``rings.coords``
    (e.g. the 6-decimal rounded vertices).
    """
    coords = rings.coords if coords is None else coords
    n_rings = len(rings.ring_offsets) - 1
    ring_low = np.full((n_rings, 2), np.inf)
    ring_high = np.full((n_rings, 2), -np.inf)
    starts, ends = rings.ring_offsets[:-1], rings.ring_offsets[1:]
    nonempty = ends > starts
    if nonempty.any():
        # consecutive non-empty rings tile the point buffer, so reduceat gives exact per-ring values
        ring_low[nonempty] = np.minimum.reduceat(coords, starts[nonempty], axis=0)
        ring_high[nonempty] = np.maximum.reduceat(coords, starts[nonempty], axis=0)
    ring_low[rings.is_hole], ring_high[rings.is_hole] = np.inf, -np.inf
    out = np.full((rings.n_shapes, 4), np.nan)
    shape_starts, shape_ends = rings.shape_ring_offsets[:-1], rings.shape_ring_offsets[1:]
    has_rings = shape_ends > shape_starts
    if has_rings.any():
        out[has_rings, :2] = np.minimum.reduceat(ring_low, shape_starts[has_rings], axis=0)
        out[has_rings, 2:] = np.maximum.reduceat(ring_high, shape_starts[has_rings], axis=0)
    out[~np.isfinite(out)] = np.nan
    return out


def signed_ring_areas(rings: Rings) -> np.ndarray:
    """Signed shoelace area of every ring, ½·Σ x_i·y_{i-1} − y_i·x_{i-1} (cyclic): negative for a
    ring clockwise on screen (y down), positive counter-clockwise.

    Computed relative to each ring's first vertex, which is exact for integer coordinates and
    loses far less to cancellation than the raw sum for large float ones.
    """
    n_rings = len(rings.ring_offsets) - 1
    if len(rings.coords) == 0:
        return np.zeros(n_rings)
    starts, ends = rings.ring_offsets[:-1], rings.ring_offsets[1:]
    nonempty = ends > starts
    coords = rings.coords - np.repeat(rings.coords[np.minimum(starts, len(rings.coords) - 1)],
                                      ends - starts, axis=0)
    previous = np.roll(coords, 1, axis=0)
    previous[starts[nonempty]] = coords[ends[nonempty] - 1]
    cross = coords[:, 0] * previous[:, 1] - coords[:, 1] * previous[:, 0]
    sums = np.zeros(n_rings)
    sums[nonempty] = np.add.reduceat(cross, starts[nonempty])
    return 0.5 * sums


def ring_areas(rings: Rings) -> np.ndarray:
    """Shoelace area of every ring (see :func:`signed_ring_areas`)."""
    return np.abs(signed_ring_areas(rings))


def signed_ring_area(ring: np.ndarray) -> float:
    """The signed area of one ``(n, 2)`` ring (see :func:`signed_ring_areas`)."""
    coords = np.asarray(ring, np.float64).reshape(-1, 2)
    if not len(coords):
        return 0.0
    coords = coords - coords[0]
    previous = np.concatenate([coords[-1:], coords[:-1]])
    return 0.5 * float((coords[:, 0] * previous[:, 1] - coords[:, 1] * previous[:, 0]).sum())


def region_polygon(rings: list[np.ndarray]):
    """A valid shapely polygon of one region: outer ring first, then its holes (``buffer(0)``)."""
    import shapely

    return shapely.Polygon(rings[0], rings[1:]).buffer(0)


def outer_area_sums(rings: Rings) -> np.ndarray:
    """Sum of the outer-ring shoelace areas of every shape (holes not subtracted)."""
    areas = np.where(rings.is_hole, 0.0, ring_areas(rings))
    return np.bincount(rings.ring_shape(), weights=areas, minlength=rings.n_shapes)


QUARTER_TURNS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # cos, sin of 0, 90, 180, 270


def turn_cos_sin(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of angles in degrees, exactly 0 and ±1 at whole multiples of 90 degrees (where
    ``np.cos(np.radians(90))`` is 6e-17, which moves rotated corners off the pixel grid)."""
    cos, sin = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    quarters = np.divide(degrees, 90.0)
    exact = np.isfinite(quarters) & (quarters == np.round(quarters))
    if exact.any():
        turn = np.mod(np.round(quarters[exact]), 4).astype(np.int64)
        cos[exact], sin[exact] = QUARTER_TURNS[turn, 0], QUARTER_TURNS[turn, 1]
    return cos, sin


def box_corners(boxes: np.ndarray, degrees: np.ndarray | None = None) -> np.ndarray:
    """``(S, 4, 2)`` corners (x1,y1), (x2,y1), (x2,y2), (x1,y2) of ``[x1, y1, x2, y2]`` boxes,
    rotated by ``degrees`` (clockwise on screen) about each box centre."""
    x1, y1, x2, y2 = boxes.T
    corners = np.stack(
        [np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1), np.stack([x1, y2], 1)],
        axis=1,
    )
    if degrees is None:
        return corners
    cos, sin = turn_cos_sin(np.asarray(degrees, np.float64))
    cos, sin = cos[:, None], sin[:, None]
    centre_x, centre_y = ((x1 + x2) / 2)[:, None], ((y1 + y2) / 2)[:, None]
    dx, dy = corners[..., 0] - centre_x, corners[..., 1] - centre_y
    return np.stack([centre_x + dx * cos - dy * sin, centre_y + dx * sin + dy * cos], axis=2)


def corners_to_xywh(corners: np.ndarray) -> np.ndarray:
    """``(S, 4)`` axis-aligned x, y, w, h enclosing each shape's corners ``(S, K, 2)``."""
    low, high = corners.min(axis=1), corners.max(axis=1)
    return np.concatenate([low, high - low], axis=1)


def integral_to_int(values: np.ndarray) -> list:
    """``tolist()`` where integral floats become ``int`` (as the official SDK's JSON has them), other floats stay."""
    integral = np.isfinite(values) & (values == np.trunc(values)) & (np.abs(values) < 2.0**63)
    if integral.all():
        return values.astype(np.int64).tolist()
    if not integral.any():
        return values.tolist()
    out = values.astype(object)
    out[integral] = values[integral].astype(np.int64)
    return out.tolist()
