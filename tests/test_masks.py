"""Mask -> segmentation (§11) and mask -> polygon (§11b): spec examples and the round trip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastlabel_formats import FormatError, mask_to_polygon, mask_to_segmentation, render_instance_mask


def cells(height: int, width: int, *pixels: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    for x, y in pixels:
        mask[y, x] = True
    return mask


def rendered(mask: np.ndarray) -> np.ndarray:
    points = mask_to_segmentation(mask)
    annotations = [ann("segmentation", "m", points)] if points else []
    return render_instance_mask(task("m.png", mask.shape[1], mask.shape[0], *annotations)) > 0


def test_spec_examples():
    rectangle = np.zeros((6, 8), np.uint8)
    rectangle[1:4, 2:6] = 1
    assert mask_to_segmentation(rectangle) == [[[6, 1, 6, 4, 2, 4, 2, 1, 6, 1]]]
    assert mask_to_segmentation(cells(6, 6, (3, 2))) == [[[3, 2, 4, 2, 4, 3, 3, 3, 3, 2]]]
    assert mask_to_segmentation(cells(5, 6, (1, 2), (2, 2), (3, 2), (4, 2))) == [[[1, 2, 5, 2, 5, 3, 1, 3, 1, 2]]]
    blobs = cells(7, 10, *[(x, y) for x in (1, 2) for y in (1, 2)], *[(x, y) for x in (6, 7, 8) for y in (2, 3, 4)])
    assert mask_to_segmentation(blobs) == [[[9, 2, 9, 5, 6, 5, 6, 2, 9, 2]], [[3, 1, 3, 3, 1, 3, 1, 1, 3, 1]]]
    square = np.zeros((9, 9), np.int32)
    square[1:7, 1:7] = 7
    square[3:5, 3:5] = 0
    assert mask_to_segmentation(square) == [[[7, 1, 7, 7, 1, 7, 1, 1, 7, 1], [3, 3, 3, 5, 5, 5, 5, 3, 3, 3]]]
    staircase = cells(6, 6, (1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3))
    assert mask_to_segmentation(staircase) == [[[2, 1, 2, 2, 3, 2, 3, 3, 4, 3, 4, 4, 1, 4, 1, 1, 2, 1]]]
    assert mask_to_segmentation(np.zeros((4, 4), np.uint16)) == []


def test_diagonal_pixels_stay_one_region_d43():
    pair = cells(4, 4, (1, 1), (2, 2))
    [[ring]] = mask_to_segmentation(pair)
    assert ring == [2, 1, 2, 2, 3, 2, 3, 3, 2, 3, 2, 2, 1, 2, 1, 1, 2, 1]  # visits (2,2) twice
    assert (rendered(pair) == pair).all()
    ell = cells(4, 4, (1, 1), (1, 2), (2, 2))
    assert (rendered(ell) == ell).all()


def test_islands_in_a_hole_are_regions_after_their_parent_d44():
    mask = np.zeros((12, 12), bool)
    mask[1:11, 1:11] = True
    mask[2:10, 2:10] = False
    mask[3:5, 3:5] = True  # island 1
    mask[6:9, 6:9] = True  # island 2, with its own hole
    mask[7, 7] = False
    regions = mask_to_segmentation(mask)
    assert [len(region) for region in regions] == [2, 2, 1]
    assert regions[0][0][:2] == [11, 1]  # the frame first, then its islands in reverse raster order
    assert regions[1][0][:2] == [9, 6] and regions[1][1] == [7, 7, 7, 8, 8, 8, 8, 7, 7, 7]
    assert regions[2][0][:2] == [5, 3]
    assert (rendered(mask) == mask).all()


def test_inputs_bool_int_and_image_path(tmp_path):
    mask = np.zeros((5, 5), bool)
    mask[1:3, 1:4] = True
    expected = mask_to_segmentation(mask.astype(np.uint8))
    assert mask_to_segmentation(mask) == expected == mask_to_segmentation(mask.astype(np.int64) * 300)
    path = tmp_path / "m.png"
    image = np.zeros((5, 5, 3), np.uint8)
    image[1:3, 1:4] = (0, 0, 255)  # red in BGR: grey 76
    image[0, 0] = (1, 0, 0)  # rounds to grey 0: background, as in the reference
    cv2.imwrite(str(path), image)
    assert mask_to_segmentation(path) == expected
    with pytest.raises(FormatError, match="cannot read the mask image"):
        mask_to_segmentation(tmp_path / "missing.png")
    with pytest.raises(FormatError, match="2-D bool or integer"):
        mask_to_segmentation(np.zeros((2, 2, 3)))


random_masks = st.integers(1, 18).flatmap(lambda h: st.integers(1, 18).flatmap(
    lambda w: arrays(bool, (h, w), elements=st.booleans())))


@settings(max_examples=400)
@given(random_masks)
def test_rendering_the_segmentation_gives_the_mask_back(mask):
    assert (rendered(mask) == mask).all()


@given(random_masks)
def test_rings_are_closed_axis_aligned_outer_clockwise(mask):
    for region in mask_to_segmentation(mask):
        for position, ring in enumerate(region):
            xs, ys = np.array(ring[0::2]), np.array(ring[1::2])
            assert ring[:2] == ring[-2:]
            assert ((np.diff(xs) == 0) | (np.diff(ys) == 0)).all()
            area = np.sum(xs[:-1] * ys[1:] - xs[1:] * ys[:-1])
            assert (area > 0) == (position == 0)


def test_mask_to_polygon_reference_behaviour_and_d47():
    mask = np.zeros((100, 100), np.uint8)
    mask[30:70, 20:60] = 1
    assert mask_to_polygon(mask) == [59, 30, 59, 69, 20, 69, 20, 30]
    mask[5, 50] = 1  # a one-pixel blob first in raster order is not a polygon (D47)
    assert mask_to_polygon(mask) == [59, 30, 59, 69, 20, 69, 20, 30]
    two = np.zeros((50, 50), bool)
    two[30:40, 30:40] = True
    two[2:8, 2:8] = True
    assert mask_to_polygon(two) == [7, 2, 7, 7, 2, 7, 2, 2]
    assert mask_to_polygon(np.zeros((5, 5), bool)) == []


def test_masks_touching_the_image_edge_and_strided_views():
    full = np.ones((3, 5), np.uint8) * 255
    assert mask_to_segmentation(full) == [[[5, 0, 5, 3, 0, 3, 0, 0, 5, 0]]]
    corner = cells(4, 4, (3, 3), (0, 0))
    assert mask_to_segmentation(corner) == [[[3, 3, 4, 3, 4, 4, 3, 4, 3, 3]], [[0, 0, 1, 0, 1, 1, 0, 1, 0, 0]]]
    rng = np.random.default_rng(3)
    big = rng.random((40, 60)) < 0.5
    view = big[::2, 1::3]  # not contiguous
    assert mask_to_segmentation(view) == mask_to_segmentation(np.ascontiguousarray(view))
    assert (rendered(np.ascontiguousarray(view)) == view).all()


@settings(max_examples=300)
@given(random_masks)
def test_linear_nesting_equals_opencvs_tree(mask):
    """Beyond masks.TREE_BORDERS borders the nesting comes from two labellings; it must be OpenCV's."""
    from fastlabel_formats import masks

    expected = mask_to_segmentation(mask)
    original = masks.TREE_BORDERS
    masks.TREE_BORDERS = -1
    try:
        assert mask_to_segmentation(mask) == expected
    finally:
        masks.TREE_BORDERS = original


def test_checkerboard_beyond_the_tree_limit_round_trips():
    """A checkerboard has a hole per background pixel (151² of them: past TREE_BORDERS, on the
    labelling path); islands inside holes of islands come back too."""
    from fastlabel_formats import masks

    board = np.indices((151, 151)).sum(axis=0) % 2 == 0
    regions = mask_to_segmentation(board)
    assert sum(map(len, regions)) > masks.TREE_BORDERS
    assert (rendered(board) == board).all()
    nested = np.zeros((40, 40), bool)
    for inset in range(0, 20, 4):  # concentric square rings, each inside the previous one's hole
        nested[inset:40 - inset, inset:40 - inset] = inset % 8 == 0
    nested = nested | (board[:40, :40] & (np.abs(np.indices((40, 40)) - 20).max(axis=0) < 3))
    assert (rendered(nested) == nested).all()


def test_a_foreground_beyond_opencvs_indices_is_an_error(monkeypatch):
    from fastlabel_formats import masks

    monkeypatch.setattr(masks, "MAX_TRACED_PIXELS", 100)
    mask = np.zeros((50, 50), bool)
    mask[1, 1] = mask[20, 20] = True
    with pytest.raises(FormatError, match="more than the 100 OpenCV can trace"):
        mask_to_segmentation(mask)
    assert mask_to_segmentation(mask[:5, :5]) == [[[1, 1, 2, 1, 2, 2, 1, 2, 1, 1]]]
