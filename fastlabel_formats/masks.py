"""Mask -> FastLabel geometry: ``mask_to_polygon`` (the official SDK's helper) and
``mask_to_segmentation`` (rings that render back to the same pixels).

``mask_to_segmentation`` turns OpenCV's border chains into pixel-corner boundaries ("cracks") so
that rendering its output with the pixel-centre rule gives back the mask exactly (see
:mod:`.cracks`); OpenCV's contour tree gives the nesting of components and holes.
"""

from __future__ import annotations

import os

import numpy as np

from .cracks import Chains, crack_rings
from .errors import FormatError
from .files import read_bytes
from .runtime import gc_paused

SIMPLIFY_EPSILON = 3.0


def read_mask(mask: np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    """A 2-D boolean foreground mask (value != 0) from an array of any integer/bool dtype or an
    image path (read as colour, converted to 8-bit grey like the official SDK: 0.299R+0.587G+0.114B)."""
    import cv2

    if isinstance(mask, (str, os.PathLike)):
        image = cv2.imdecode(np.frombuffer(read_bytes(mask, "the mask image"), np.uint8), cv2.IMREAD_COLOR)
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
    with Douglas–Peucker ε=3) of the first component in raster order that keeps ≥ 3 vertices;
    ``[]`` when there is none."""
    import cv2

    foreground = read_mask(mask).astype(np.uint8)
    contours, _ = cv2.findContours(foreground, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    # each external contour starts at its component's first pixel in raster order
    for contour in sorted(contours, key=lambda c: (int(c[0, 0, 1]), int(c[0, 0, 0]))):
        simplified = cv2.approxPolyDP(contour, SIMPLIFY_EPSILON, True)
        if len(simplified) >= 3:
            return simplified[::-1].ravel().tolist()
    return []


@gc_paused  # millions of small acyclic lists for a checkerboard
def mask_to_segmentation(mask: np.ndarray | str | os.PathLike[str]) -> list[list[list[int]]]:
    """FastLabel segmentation points of a mask: one region per 8-connected component, its holes
    (enclosed 4-connected background) as further rings, components inside holes as regions of
    their own; rings closed, along pixel corners, so that rendering gives the mask back exactly.
    Linear in the pixels, whatever the mask (a checkerboard has a hole per background pixel).
    """
    foreground, (left, top) = _foreground_window(_nonzero_u8(mask))
    if foreground.size == 0:
        return []
    found, tree_parent = _trace(foreground)
    stride = foreground.shape[1] + 2
    vertices, ring_offsets = crack_rings(_chains(found, stride))
    top_left = np.minimum.reduceat(vertices, ring_offsets[:-1])
    # a ring's topmost-leftmost corner is the top-left corner of the first pixel, in raster order, of
    # what it encloses: of its component (foreground) for an outer border, of its hole for a hole
    first_y, first_x = np.divmod(top_left, stride)
    outer = foreground[first_y, first_x] != 0
    parent = tree_parent if tree_parent is not None else _ring_parents(foreground, first_y, first_x, outer)
    rings = _closed_rings(vertices, ring_offsets, top_left, stride, outer, (left, top))
    return _regions(rings, outer, parent, top_left)


# OpenCV indexes pixels with 32-bit integers; a foreground window beyond this crashes it
MAX_TRACED_PIXELS = 2**31 - 1


def _foreground_window(foreground: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The smallest window of the mask holding all its foreground, and its top-left corner."""
    rows, columns = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    if len(rows) == 0:
        return foreground[:0, :0], (0, 0)
    top, left = int(rows[0]), int(columns[0])
    window = foreground[top:int(rows[-1]) + 1, left:int(columns[-1]) + 1]
    if (window.shape[0] + 2) * (window.shape[1] + 2) > MAX_TRACED_PIXELS:
        raise FormatError(f"mask: its foreground spans {window.shape[1]:,} × {window.shape[0]:,} pixels, "
                          f"more than the {MAX_TRACED_PIXELS:,} OpenCV can trace")
    return window, (left, top)


# Up to this many borders OpenCV's own nesting (RETR_TREE) costs less than two labellings; beyond
# it, it grows with the square of the borders (an 800² checkerboard: 320,000 borders, 10 s).
TREE_BORDERS = 10_000


def _trace(foreground: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Every border of the mask as an OpenCV chain, and the index of the border each lies in
    (-1: none), or None when there are too many borders to ask OpenCV for it."""
    import cv2

    found, _ = cv2.findContours(foreground, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    if len(found) > TREE_BORDERS:
        return found, None
    found, hierarchy = cv2.findContours(foreground, cv2.RETR_TREE, cv2.CHAIN_APPROX_NONE)  # the same chains
    return found, hierarchy[0][:, 3].astype(np.int64)


def _chains(found: list[np.ndarray], stride: int) -> Chains:
    """OpenCV's chains reversed (foreground on the right), packed ``y * stride + x``."""
    lengths = np.fromiter(map(len, found), np.int64, len(found))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    reversed_order = np.repeat(offsets[:-1] + offsets[1:] - 1, lengths) - np.arange(offsets[-1])
    xy = np.concatenate(found).reshape(-1, 2)[reversed_order].astype(np.int64)
    return Chains(xy[:, 1] * stride + xy[:, 0], offsets, stride)


def _ring_parents(foreground: np.ndarray, first_y: np.ndarray, first_x: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Per border, the border it lies in (-1: none), from the first pixel each encloses, in linear
    time: a hole lies in the component of the pixel above its first pixel; a component lies in the
    hole of the background pixel left of its first pixel, unless that is the unbounded background."""
    import cv2

    padded = cv2.copyMakeBorder(foreground, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    _, component = cv2.connectedComponents(padded, connectivity=8, ltype=cv2.CV_32S)
    _, background = cv2.connectedComponents((padded == 0).view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    y, x = first_y + 1, first_x + 1  # in the padded image
    ring_of_component = np.full(int(component.max()) + 1, -1, np.int64)
    ring_of_component[component[y[outer], x[outer]]] = np.flatnonzero(outer)
    ring_of_hole = np.full(int(background.max()) + 1, -1, np.int64)
    ring_of_hole[background[y[~outer], x[~outer]]] = np.flatnonzero(~outer)  # the unbounded one stays -1
    return np.where(outer, ring_of_hole[background[y, x - 1]], ring_of_component[component[y - 1, x]])


def _closed_rings(vertices: np.ndarray, offsets: np.ndarray, top_left: np.ndarray, stride: int,
                  outer: np.ndarray, origin: tuple[int, int]) -> list[list[int]]:
    """Closed flat rings (packed ``y * stride + x`` vertices, shifted by ``origin``) starting at
    the start vertex FastLabel uses: the topmost vertex, rightmost among them for outer rings except those of
    a single row or column of pixels, else leftmost (the first of equals in ring order)."""
    lengths = np.diff(offsets)
    y, x = np.divmod(vertices, stride)
    extent = np.maximum.reduceat(vertices, offsets[:-1]) - top_left  # a rectangle's: height * stride + width
    thin = (lengths == 4) & ((extent < 2 * stride) | (extent % stride == 1))
    key = np.where(np.repeat(outer & ~thin, lengths), vertices + stride - 1 - 2 * x, vertices)
    start = np.minimum.reduceat(key * len(vertices) + np.arange(len(vertices)), offsets[:-1]) % len(vertices)
    closed = lengths + 1  # each ring rotated to its start vertex, which it repeats at the end
    closed_offsets = np.concatenate([[0], np.cumsum(closed)])
    step = np.arange(closed_offsets[-1]) - np.repeat(closed_offsets[:-1], closed)
    shift = np.repeat(start - offsets[:-1], closed)
    index = np.repeat(offsets[:-1], closed) + (shift + step) % np.repeat(lengths, closed)
    return _ring_lists(np.stack([x[index] + origin[0], y[index] + origin[1]], axis=1), closed_offsets)


def _ring_lists(points: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    """Ring r, ``points[offsets[r]:offsets[r+1]]``, as a flat list ``[x0, y0, x1, y1, …]``; the
    rings of one length are converted together (a checkerboard's 10⁶ holes in one call)."""
    lengths = np.diff(offsets)
    by_length = np.argsort(lengths, kind="stable")
    group_starts = np.flatnonzero(np.diff(lengths[by_length], prepend=-1))
    rings: list[list[int]] = [[]] * len(lengths)
    for begin, end in zip(group_starts.tolist(), np.append(group_starts[1:], len(lengths)).tolist()):
        members = by_length[begin:end]
        length = int(lengths[members[0]])
        block = points[offsets[members, None] + np.arange(length)].reshape(len(members), 2 * length)
        for ring, flat in zip(members.tolist(), block.tolist()):
            rings[ring] = flat
    return rings


def _by_container(containers: np.ndarray, rings: np.ndarray, top_left: np.ndarray) -> dict[int, list[int]]:
    """``rings`` grouped by the ring that contains them, each group in reverse raster order of
    the rings' first pixels."""
    order = np.lexsort((-top_left[rings], containers))
    containers, rings = containers[order], rings[order]
    cuts = np.flatnonzero(np.diff(containers)) + 1
    groups = np.split(rings, cuts)
    return dict(zip(containers[np.r_[0, cuts]].tolist() if len(rings) else [], (g.tolist() for g in groups)))


def _regions(rings: list[list[int]], outer: np.ndarray, parent: np.ndarray,
             top_left: np.ndarray) -> list[list[list[int]]]:
    """Regions in reverse raster order of their first pixel, each followed by its islands (depth
    first); the holes of a region in reverse raster order of their first pixel."""
    outer_rings, hole_rings = np.flatnonzero(outer), np.flatnonzero(~outer)
    holes = _by_container(parent[hole_rings], hole_rings, top_left)
    enclosing_hole = parent[outer_rings]
    region_around = np.where(enclosing_hole >= 0, parent[np.maximum(enclosing_hole, 0)], -1)
    islands = _by_container(region_around, outer_rings, top_left)
    regions: list[list[list[int]]] = []
    pending = islands.get(-1, [])[::-1]
    while pending:
        ring = pending.pop()
        regions.append([rings[ring]] + [rings[hole] for hole in holes.get(ring, ())])
        pending.extend(islands.get(ring, [])[::-1])
    return regions
