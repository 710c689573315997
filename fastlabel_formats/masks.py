"""Mask -> FastLabel geometry: ``mask_to_polygon`` (§11b) and ``mask_to_segmentation`` (§11).

``mask_to_segmentation`` turns OpenCV's border chains into pixel-corner boundaries ("cracks") so
that rendering its output with the pixel-centre rule gives back the mask exactly (see
:mod:`.cracks`); OpenCV's contour tree gives the nesting of components and holes.
"""

from __future__ import annotations

import os

import numpy as np

from .cracks import Chains, crack_rings
from .errors import FormatError

SIMPLIFY_EPSILON = 3.0


def read_mask(mask: np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    """A 2-D boolean foreground mask (value != 0) from an array of any integer/bool dtype or an
    image path (read as colour, converted to 8-bit grey like the reference: 0.299R+0.587G+0.114B)."""
    import cv2

    if isinstance(mask, (str, os.PathLike)):
        image = cv2.imread(str(mask), cv2.IMREAD_COLOR)
        if image is None:
            raise FormatError(f"{mask}: cannot read the mask image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) != 0
    array = np.asarray(mask)
    if array.ndim != 2 or array.dtype.kind not in "biu":
        raise FormatError(f"mask must be a 2-D bool or integer array, got {array.dtype} with shape {array.shape}")
    return array != 0


def _nonzero_u8(mask: np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    """The mask as uint8 with the foreground nonzero (OpenCV's view of it), without a copy when
    it already is uint8 or bool."""
    if isinstance(mask, np.ndarray) and mask.ndim == 2 and mask.dtype in (np.uint8, np.bool_):
        return mask.view(np.uint8)
    return read_mask(mask).view(np.uint8)


def mask_to_polygon(mask: np.ndarray | str | os.PathLike[str]) -> list[int]:
    """One polygon (flat, open, clockwise on screen, through boundary pixel centres, simplified
    with Douglas–Peucker ε=3) of the first component in raster order that keeps ≥ 3 vertices
    (D47); ``[]`` when there is none."""
    import cv2

    foreground = read_mask(mask).astype(np.uint8)
    contours, _ = cv2.findContours(foreground, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    # each external contour starts at its component's first pixel in raster order
    for contour in sorted(contours, key=lambda c: (int(c[0, 0, 1]), int(c[0, 0, 0]))):
        simplified = cv2.approxPolyDP(contour, SIMPLIFY_EPSILON, True)
        if len(simplified) >= 3:
            return simplified[::-1].ravel().tolist()
    return []


def mask_to_segmentation(mask: np.ndarray | str | os.PathLike[str]) -> list[list[list[int]]]:
    """FastLabel segmentation points of a mask: one region per 8-connected component, its holes
    (enclosed 4-connected background) as further rings, components inside holes as regions of
    their own; rings closed, along pixel corners, so that rendering gives the mask back exactly.
    """
    import cv2

    foreground = _nonzero_u8(mask)
    left, top, width, height = cv2.boundingRect(foreground)
    if width == 0:
        return []
    # OpenCV pads the image itself, so borders on the image edge are traced like any other
    found, hierarchy = cv2.findContours(foreground[top:top + height, left:left + width], cv2.RETR_TREE,
                                        cv2.CHAIN_APPROX_NONE)
    parent = hierarchy[0][:, 3].astype(np.int64)
    stride = width + 2
    xy = np.concatenate([chain[::-1] for chain in found]).reshape(-1, 2).astype(np.int64)  # foreground right
    offsets = np.concatenate([[0], np.cumsum(np.fromiter(map(len, found), np.int64, len(found)))])
    vertices, ring_offsets = crack_rings(Chains(xy[:, 1] * stride + xy[:, 0], offsets, stride))
    outer = _nesting_depth(parent) % 2 == 0
    points, first_corner = _rings_from_start(vertices, ring_offsets, stride, outer, (left, top))
    holes: dict[int, list[int]] = {}
    for ring in np.flatnonzero(~outer).tolist():
        holes.setdefault(int(parent[ring]), []).append(ring)
    children: dict[int, list[int]] = {}
    for ring in np.flatnonzero(outer).tolist():
        hole = parent[ring]
        children.setdefault(-1 if hole == -1 else int(parent[hole]), []).append(ring)
    regions: list[list[list[int]]] = []
    _emit(-1, children, holes, points, first_corner, regions)
    return regions


def _nesting_depth(parent: np.ndarray) -> np.ndarray:
    """How many borders enclose each border (even: outer border of a component; odd: a hole)."""
    depth = np.zeros(len(parent), np.int64)
    ancestor = parent.copy()
    while (ancestor >= 0).any():
        inside = ancestor >= 0
        depth += inside
        ancestor[inside] = parent[ancestor[inside]]
    return depth


def _rings_from_start(vertices: np.ndarray, offsets: np.ndarray, stride: int, outer: np.ndarray,
                      origin: tuple[int, int]) -> tuple[list[list[int]], list[int]]:
    """Closed flat rings (packed ``y * stride + x`` vertices, shifted by ``origin``) starting at
    the §11 start vertex — the topmost vertex, rightmost among them for outer rings except those of
    a single row or column of pixels, else leftmost (the first of equals in ring order) — and each
    ring's topmost-leftmost corner, packed (so that its order is raster order)."""
    lengths = np.diff(offsets)
    y, x = np.divmod(vertices, stride)
    top_left = np.minimum.reduceat(vertices, offsets[:-1])
    extent = np.maximum.reduceat(vertices, offsets[:-1]) - top_left  # a rectangle's: height * stride + width
    thin = (lengths == 4) & ((extent < 2 * stride) | (extent % stride == 1))
    key = np.where(np.repeat(outer & ~thin, lengths), vertices + stride - 1 - 2 * x, vertices)
    first = np.minimum.reduceat(key * len(vertices) + np.arange(len(vertices)), offsets[:-1])
    starts = (2 * (first % len(vertices))).tolist()
    flat = np.stack([x + origin[0], y + origin[1]], axis=1).ravel().tolist()
    bounds = (2 * offsets).tolist()
    rings = [flat[start:end] + flat[begin:start] + flat[start:start + 2]
             for begin, end, start in zip(bounds, bounds[1:], starts)]
    return rings, top_left.tolist()


def _emit(parent, children, holes, points, first_corner, regions) -> None:
    """Regions in reverse raster order of their first pixel, each followed by its islands; the
    holes of a region in reverse raster order of their first pixel."""
    for outer_ring in sorted(children.get(parent, ()), key=lambda r: first_corner[r], reverse=True):
        hole_rings = sorted(holes.get(outer_ring, ()), key=lambda r: first_corner[r], reverse=True)
        regions.append([points[outer_ring]] + [points[r] for r in hole_rings])
        _emit(outer_ring, children, holes, points, first_corner, regions)
