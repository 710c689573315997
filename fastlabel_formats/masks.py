"""Mask -> FastLabel geometry: ``mask_to_polygon`` (§11b) and ``mask_to_segmentation`` (§11).

``mask_to_segmentation`` traces pixel-corner boundaries ("cracks") so that rendering its
output with the pixel-centre rule gives back the mask exactly; see :mod:`.cracks`. OpenCV's
border following supplies the border pixels and the nesting of components and holes.
"""

from __future__ import annotations

import os

import numpy as np

from .cracks import RIGHT_PIXEL, border_cracks, corners, signed_areas, trace
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
    foreground = read_mask(mask)
    rows, cols = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    if len(rows) == 0:
        return []
    origin = np.array([cols[0], rows[0]]) - 1  # work on the bounding box, padded by one pixel
    padded = np.pad(foreground[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 1)
    contours = Contours(padded)
    rings = trace(*border_cracks(padded, contours.points), padded.shape[1])
    vertices, offsets = corners(rings)
    outer = signed_areas(vertices, offsets) > 0
    component = contours.component_of_rings(rings, outer)
    points, first_corner = [], []
    for r in range(len(offsets) - 1):
        ring = vertices[offsets[r]:offsets[r + 1]] + origin
        points.append(_ring_from_start(ring, outer[r], contours.thin[component[r]]))
        top_left = ring[np.lexsort((ring[:, 0], ring[:, 1]))[0]]
        first_corner.append((int(top_left[1]), int(top_left[0])))
    holes: dict[int, list[int]] = {}
    for r in np.flatnonzero(~outer).tolist():
        holes.setdefault(int(component[r]), []).append(r)
    children: dict[int, list[int]] = {}
    outer_ring: dict[int, int] = {}
    for r in np.flatnonzero(outer).tolist():
        outer_ring[int(component[r])] = r
        children.setdefault(contours.enclosing_component(int(component[r])), []).append(int(component[r]))
    regions: list[list[list[int]]] = []
    _emit(-1, children, outer_ring, holes, points, first_corner, regions)
    return regions


class Contours:
    """OpenCV's border following of a padded mask: its border pixels and the nesting of outer
    borders (components, 8-connected) and hole borders (4-connected background)."""

    def __init__(self, padded: np.ndarray) -> None:
        import cv2

        found, hierarchy = cv2.findContours(padded.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_NONE)
        self.parent = hierarchy[0][:, 3].astype(np.int64)
        depth = np.zeros(len(found), np.int64)
        for contour in range(len(found)):
            ancestor = self.parent[contour]
            while ancestor != -1:
                depth[contour] += 1
                ancestor = self.parent[ancestor]
        self.points = np.concatenate([c.reshape(-1, 2) for c in found]).astype(np.int64)
        self.contour_of_point = np.repeat(np.arange(len(found)), [len(c) for c in found])
        self.hole_point = (depth % 2 == 1)[self.contour_of_point]
        self.width = padded.shape[1]
        boxes = np.array([cv2.boundingRect(c) for c in found])
        self.thin = (boxes[:, 2] == 1) | (boxes[:, 3] == 1)

    def _contour_at(self, pixels: np.ndarray, holes: bool) -> np.ndarray:
        chosen = self.hole_point if holes else ~self.hole_point
        if not chosen.any():
            return np.zeros(len(pixels), np.int64)
        ids = self.points[chosen, 1] * self.width + self.points[chosen, 0]
        order = np.argsort(ids, kind="stable")
        found = np.minimum(np.searchsorted(ids[order], pixels), len(order) - 1)
        return self.contour_of_point[chosen][order][found]

    def component_of_rings(self, rings, outer: np.ndarray) -> np.ndarray:
        """Per crack ring, the outer contour of its component (found at the pixel on its right)."""
        first_edge = rings.offsets[:-1]
        right = rings.start[first_edge] + RIGHT_PIXEL[rings.direction[first_edge]]
        pixels = right[:, 1] * self.width + right[:, 0]
        return np.where(outer, self._contour_at(pixels, False), self.parent[self._contour_at(pixels, True)])

    def enclosing_component(self, component: int) -> int:
        """The component in whose hole ``component`` lies, or -1 at the top level."""
        hole = self.parent[component]
        return -1 if hole == -1 else int(self.parent[hole])


def _emit(parent, children, outer_ring, holes, points, first_corner, regions) -> None:
    """Regions in reverse raster order of their first pixel, each followed by its islands; the
    holes of a region in reverse raster order of their first pixel."""
    for component in sorted(children.get(parent, ()), key=lambda c: first_corner[outer_ring[c]], reverse=True):
        hole_rings = sorted(holes.get(component, ()), key=lambda r: first_corner[r], reverse=True)
        regions.append([points[outer_ring[component]]] + [points[r] for r in hole_rings])
        _emit(component, children, outer_ring, holes, points, first_corner, regions)


def _ring_from_start(vertices: np.ndarray, is_outer: bool, thin: bool) -> list[int]:
    """Closed flat ring starting at the §11 start vertex: outer rings at the topmost, then
    rightmost vertex (top-left for a single row or column), holes at the topmost-leftmost one."""
    x, y = vertices[:, 0], vertices[:, 1]
    start = int(np.lexsort((-x, y))[0]) if is_outer and not thin else int(np.lexsort((x, y))[0])
    return np.concatenate([vertices[start:], vertices[:start], vertices[start:start + 1]]).ravel().tolist()
