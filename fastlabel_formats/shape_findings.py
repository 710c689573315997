"""The polygon and segmentation findings of ``validate`` for a whole table in a few vectorised
passes: shapes with a ring too short to be one (fewer than 3 distinct vertices); of the other shapes,
those with a region (an outer ring and its holes) shapely finds invalid: a ring of fewer than 3
distinct vertices, else each region of zero area and each invalid one, named by shapely's reason.
The findings are those of checking shape by shape (the distinct vertices of each such ring, shapely's
``is_valid_reason`` of each region, the rank of each outer ring of a shape found invalid); only rings
that are nearly collinear have their rank computed one by one, as ``numpy.linalg.matrix_rank`` does."""

from __future__ import annotations

import numpy as np

from .columns import row_kinds
from .geometry import span_indices
from .table import AnnotationTable

AREA_TYPES = ("polygon", "segmentation")
FEW_VERTICES = "{kind} with a ring of fewer than 3 distinct vertices"
ZERO_AREA = "zero area"
VALID = "Valid Geometry"  # shapely's reason for a valid geometry
# (smallest / largest singular value)² of an outer ring's vertices (less its first) above which the
# ring has rank 2 beyond doubt; rings at or below it (or whose sums overflow) are ranked exactly by SVD
CLEARLY_FLAT_FREE = 1e-8


def shape_problems(table: AnnotationTable) -> dict[str, np.ndarray]:
    """``{report line: rows}`` of the polygons and segmentations with a ring of fewer than 3 distinct
    vertices, else, when shapely finds a region invalid, with a region of zero area or an invalid
    one (``{kind}: reason``)."""
    rings = table.rings
    rows = np.flatnonzero(np.isin(row_kinds(table), AREA_TYPES))
    counts = np.diff(rings.shape_ring_offsets)[rows]
    ring_rows = np.repeat(rows, counts)
    ring_ids = rings.shape_ring_offsets[ring_rows] + _ranks(counts)
    small = np.diff(rings.ring_offsets)[ring_ids] < 4  # too few to make a ring of, unless 3 distinct
    few = _few_vertices(rings, ring_rows[small], ring_ids[small])
    keep = ~np.isin(ring_rows, few)
    pairs = [(row, FEW_VERTICES) for row in few.tolist()] + _region_problems(rings, ring_rows[keep], ring_ids[keep])
    found: dict[str, np.ndarray] = {}
    for row, reason in sorted(pairs):
        found.setdefault(reason, np.zeros(len(table), bool))[row] = True
    return found


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, n-1 for each n of ``counts``, concatenated."""
    return span_indices(np.zeros(len(counts), np.int64), counts)


def _points(rings, ring_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of ``ring_ids`` concatenated, and the position in ``ring_ids`` of each one's ring."""
    sizes = np.diff(rings.ring_offsets)[ring_ids]
    starts = np.repeat(rings.ring_offsets[ring_ids], sizes)
    return rings.coords[starts + _ranks(sizes)], np.repeat(np.arange(len(ring_ids)), sizes)


def _few_vertices(rings, ring_rows: np.ndarray, ring_ids: np.ndarray) -> np.ndarray:
    """The rows (of ``ring_rows``) that have a ring (of ``ring_ids``) of fewer than 3 distinct vertices."""
    return np.unique(ring_rows[_distinct_vertices(rings, ring_ids) < 3])


def _distinct_vertices(rings, ring_ids: np.ndarray) -> np.ndarray:
    """How many distinct vertices each ring of ``ring_ids`` has (as ``np.unique(ring, axis=0)`` counts them)."""
    coords, owner = _points(rings, ring_ids)
    order = np.lexsort((coords[:, 1], coords[:, 0], owner))
    coords, owner = coords[order], owner[order]
    new = np.ones(len(owner), bool)
    new[1:] = (owner[1:] != owner[:-1]) | (coords[1:, 0] != coords[:-1, 0]) | (coords[1:, 1] != coords[:-1, 1])
    return np.bincount(owner[new], minlength=len(ring_ids))


def _region_problems(rings, ring_rows: np.ndarray, ring_ids: np.ndarray) -> list[tuple[int, str]]:
    """``(row, reason)`` of the rows that have a region shapely finds invalid (their rings in
    ``ring_ids``; a region starts at each outer ring and at each row's first ring): a ring of fewer
    than 3 distinct vertices, else each region that is flat (``zero area``) and each invalid one."""
    if not len(ring_ids):
        return []
    starts = ~rings.is_hole[ring_ids]
    starts[0] = True
    starts[1:] |= ring_rows[1:] != ring_rows[:-1]
    region_rows = ring_rows[starts]
    reasons = np.array(_validity_reasons(rings, ring_ids, np.cumsum(starts) - 1), object)
    suspect = np.unique(region_rows[reasons != VALID])
    of_suspect = np.isin(ring_rows, suspect)
    few = _few_vertices(rings, ring_rows[of_suspect], ring_ids[of_suspect])
    named = np.flatnonzero(np.isin(region_rows, suspect) & ~np.isin(region_rows, few))
    flat = _flat(rings, ring_ids[starts][named])
    return [(row, FEW_VERTICES) for row in few.tolist()] + [
        (row, "{kind}: " + (ZERO_AREA if is_flat else reason.split("[")[0].strip().lower()))
        for row, is_flat, reason in zip(region_rows[named].tolist(), flat.tolist(), reasons[named].tolist())
        if is_flat or reason != VALID]


def _flat(rings, outer: np.ndarray) -> np.ndarray:
    """Whether each ring of ``outer`` has rank < 2 (its vertices less its first on one line)."""
    coords, owner = _points(rings, outer)
    first = rings.coords[rings.ring_offsets[outer]]
    with np.errstate(over="ignore", invalid="ignore"):
        moved = coords - first[owner]
        xx, xy, yy = (np.bincount(owner, weights=w, minlength=len(outer))
                      for w in (moved[:, 0] ** 2, moved[:, 0] * moved[:, 1], moved[:, 1] ** 2))
        largest = (xx + yy) / 2 + np.hypot((xx - yy) / 2, xy)
        spread = (xx * yy - xy ** 2) / largest ** 2  # (smallest / largest singular value)²
    doubtful = np.flatnonzero(~(np.isfinite(spread) & (spread > CLEARLY_FLAT_FREE)))
    flat = np.zeros(len(outer), bool)
    for index in doubtful.tolist():
        ring = rings.coords[rings.ring_offsets[outer[index]]:rings.ring_offsets[outer[index] + 1]]
        flat[index] = np.linalg.matrix_rank(ring - ring[0]) < 2
    return flat


def _validity_reasons(rings, ring_ids: np.ndarray, region: np.ndarray) -> list[str]:
    """shapely's ``is_valid_reason`` of each region (its rings ``ring_ids`` numbered by ``region``)."""
    import shapely

    coords, owner = _points(rings, ring_ids)
    try:
        made = shapely.polygons(shapely.linearrings(coords, indices=owner), indices=region)
        return shapely.is_valid_reason(made).tolist()
    except (ValueError, shapely.errors.GEOSException):  # region by region, as a shape-by-shape check meets it
        parts = [rings.coords[rings.ring_offsets[r]:rings.ring_offsets[r + 1]] for r in ring_ids.tolist()]
        bounds = [*np.flatnonzero(np.r_[True, region[1:] != region[:-1]]).tolist(), len(parts)]
        return [shapely.is_valid_reason(shapely.Polygon(parts[start], parts[start + 1:end]))
                for start, end in zip(bounds, bounds[1:])]
