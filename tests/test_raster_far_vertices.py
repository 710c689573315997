"""Rasterising rings whose vertices lie far outside their image: only the staircase steps near a
window's rows are made, and they are every step the fill keeps (so the masks are the same as with
every step made), in bounded memory however far the vertices lie."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, to_coco
from fastlabel_formats.raster import fill_rings, vertical_edges

coordinate = st.one_of(st.integers(-40, 80), st.integers(-10**6, 10**6))
rings = st.lists(st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=7), min_size=1, max_size=4)
windows = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 40), st.integers(0, 40))


def kept_edges(edges: tuple, windows: np.ndarray) -> list[tuple]:
    """The edge pieces the fill uses (as fill_rings cuts them), sorted."""
    ring, x, y_from, y_to = edges
    x0, y0, y1 = windows[ring, 0], windows[ring, 1], windows[ring, 3]
    low = np.clip(np.minimum(y_from, y_to), y0, y1) - y0
    high = np.clip(np.maximum(y_from, y_to), y0, y1) - y0
    column = np.maximum(x - x0, 0)
    keep = (high > low) & (column < np.maximum(windows[:, 2] - windows[:, 0], 0)[ring])
    return sorted(zip(ring[keep].tolist(), column[keep].tolist(), low[keep].tolist(), high[keep].tolist()))


@settings(max_examples=150, deadline=None)
@given(rings, st.lists(windows, min_size=4, max_size=4))
def test_the_steps_near_the_windows_are_every_step_the_fill_keeps(ring_list, boxes):
    vertices = np.array([point for ring in ring_list for point in ring], np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(ring) for ring in ring_list])])
    boxes = np.array([(x0, y0, x0 + w, y0 + h) for x0, y0, w, h in boxes[:len(ring_list)]], np.int64)
    near = vertical_edges(vertices, offsets, boxes)
    assert kept_edges(near, boxes) == kept_edges(vertical_edges(vertices, offsets), boxes)
    assert len(near[0]) <= len(vertical_edges(vertices, offsets)[0])


def test_a_ring_reaching_far_outside_its_image_is_filled_in_bounded_memory():
    """A vertex 2**40 pixels away (a diagonal edge of 2**40 steps) fills the window as the same
    ring cut at the image's edge would."""
    far = np.array([[1, 1], [2**40 + 1, 2**40 + 1], [1, 2**40 + 1]], np.int64)
    mask = fill_rings(far, np.array([0, 3]), np.array([[0, 0, 64, 48]]))[0]
    near = fill_rings(np.array([[1, 1], [100, 100], [1, 100]], np.int64), np.array([0, 3]),
                      np.array([[0, 0, 64, 48]]))[0]
    assert mask.shape == (48, 64) and mask.any()
    np.testing.assert_array_equal(mask, near)  # the same diagonal through the window
    tasks = [{"name": "a.jpg", "width": 64, "height": 48, "annotations": [
        {"type": "segmentation", "value": "c", "points": [[[1, 1, 2**40 + 1, 1, 5, 5]], [[1, 1, 3, 1, 3, 3]]]}]}]
    document = to_coco(tasks, holes="rle", report=ConversionReport("coco"))
    assert document["annotations"][0]["segmentation"]["size"] == [48, 64]
