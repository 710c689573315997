"""COCO ``holes="rle"``: exact masks by the pixel-centre rule (§5.2), with pycocotools RLE."""

from __future__ import annotations

import numpy as np
import shapely
from conftest import ann, task
from hypothesis import given
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from fastlabel_formats import ConversionReport, to_coco
from fastlabel_formats.raster import Window, fill_ring, pixel_ring


def rows_of(mask: np.ndarray) -> list[str]:
    return ["".join("#" if v else "." for v in row) for row in mask]


def test_spec_triangles_staircase_interior():
    window = Window(0, 0, 10, 10)
    first = fill_ring(pixel_ring([1, 1, 9, 1, 1, 9]), window)
    assert [np.flatnonzero(r).tolist() for r in first[1:9]] == [list(range(1, 9 - k)) for k in range(8)]
    second = fill_ring(pixel_ring([1, 1, 9, 9, 1, 9]), window)
    assert second.sum() == 28 and not second[:, 0].any() and not second[:2].any()
    assert [np.flatnonzero(r).tolist() for r in second[2:9]] == [list(range(1, k + 2)) for k in range(7)]
    third = fill_ring(pixel_ring([1, 1, 9, 1, 9, 9]), window)
    assert third.sum() == 28 and third[1, 2:9].all() and not third[1, :2].any() and third[7, 8]


def test_rectangle_independent_of_vertex_order_and_winding():
    window = Window(0, 0, 10, 10)
    expected = np.zeros((10, 10), bool)
    expected[3:6, 2:7] = True
    corners = [(2, 3), (7, 3), (7, 6), (2, 6)]
    for start in range(4):
        for order in (corners, corners[::-1]):
            ring = [c for v in order[start:] + order[:start] for c in v]
            assert (fill_ring(pixel_ring(ring), window) == expected).all()
    assert (fill_ring(pixel_ring([7.9, 6.5, 2.7, 6.5, 2.7, 3.2, 7.9, 3.2]), window) == expected).all()


def decode(record: dict) -> np.ndarray:
    rle = dict(record["segmentation"], counts=record["segmentation"]["counts"].encode())
    return coco_mask.decode(rle).astype(bool)


def test_segmentation_with_hole_as_rle():
    seg = [[[1, 1, 9, 1, 9, 9, 1, 9, 1, 1], [3, 3, 3, 6, 6, 6, 6, 3, 3, 3]]]
    report = ConversionReport("coco")
    coco = to_coco([task("s.jpg", 12, 10, ann("segmentation", "s", seg))], holes="rle", report=report)
    [record] = coco["annotations"]
    assert record["segmentation"]["size"] == [10, 12]
    mask = decode(record)
    expected = np.zeros((10, 12), bool)
    expected[1:9, 1:9] = True
    expected[3:6, 3:6] = False
    assert (mask == expected).all()
    assert record["area"] == 64 - 9 == int(coco_mask.area(dict(record["segmentation"],
                                                               counts=record["segmentation"]["counts"].encode())))
    assert record["bbox"] == [1, 1, 8, 8] and report.ok


def test_simple_segmentations_stay_polygons_and_holes_are_reported_when_dropped():
    simple = ann("segmentation", "s", [[[0, 0, 4, 0, 4, 4, 0, 0]]])
    holed = ann("segmentation", "s", [[[0, 0, 8, 0, 8, 8, 0, 8, 0, 0], [2, 2, 2, 4, 4, 4, 4, 2, 2, 2]]])
    coco = to_coco([task("s.jpg", 10, 10, simple, holed)], holes="rle")
    assert isinstance(coco["annotations"][0]["segmentation"], list)
    assert isinstance(coco["annotations"][1]["segmentation"], dict)
    report = ConversionReport("coco")
    to_coco([task("s.jpg", 10, 10, simple, holed)], report=report)
    assert report.findings["segmentation holes dropped (use holes='rle')"].count == 1


rect = st.tuples(st.integers(-3, 20), st.integers(-3, 20), st.integers(1, 12), st.integers(1, 12))


@given(st.lists(st.tuples(rect, st.lists(rect, max_size=2)), min_size=1, max_size=3), st.integers(1, 25),
       st.integers(1, 25))
def test_rle_matches_pixel_centres_inside_the_shapes(regions, width, height):
    points, shapes = [], []
    for (x, y, w, h), holes in regions:
        outer = shapely.box(x, y, x + w, y + h)
        rings = [[x, y, x + w, y, x + w, y + h, x, y + h, x, y]]
        region_shape = outer
        for hx, hy, hw, hh in holes:
            hx, hy = x + hx % w, y + hy % h
            hw, hh = min(hw, x + w - hx), min(hh, y + h - hy)
            rings.append([hx, hy, hx, hy + hh, hx + hw, hy + hh, hx + hw, hy, hx, hy])
            region_shape = region_shape.difference(shapely.box(hx, hy, hx + hw, hy + hh))
        points.append(rings)
        shapes.append(region_shape)
    segmentation = ann("segmentation", "s", points)
    # a second region forces RLE even without holes
    coco = to_coco([task("s.jpg", width, height, segmentation)], holes="rle")
    [record] = coco["annotations"]
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    expected = np.zeros((height, width), bool)
    for shape in shapes:
        expected |= shapely.contains_xy(shape, xs, ys)
    if len(points) == 1 and len(points[0]) == 1:
        assert record["segmentation"] == [points[0][0]]
    else:
        assert (decode(record) == expected).all()
        assert record["area"] == expected.sum()
