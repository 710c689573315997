"""Index-colour masks and PNGs: formats-spec.md §5.2–§5.3 examples as hand-written arrays."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import shapely
from conftest import ann, task
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from fastlabel_formats import (
    COLOR_PALETTE,
    ConversionReport,
    FormatError,
    export_instance_segmentation,
    export_semantic_segmentation,
    render_instance_mask,
    render_semantic_mask,
)
from fastlabel_formats.render import render_mask


def picture(mask: np.ndarray) -> list[str]:
    return ["".join("." if v == 0 else str(v) for v in row) for row in mask]


def one(kind: str, points, width: int = 12, height: int = 10) -> np.ndarray:
    return render_instance_mask(task("t.png", width, height, ann(kind, "v", points)))


def block(x0: int, x1: int, y0: int, y1: int, width: int = 12, height: int = 10) -> np.ndarray:
    expected = np.zeros((height, width), np.uint8)
    expected[y0:y1, x0:x1] = 1
    return expected


def test_c18_instance_layout_and_segmentations_overwrite_d19():
    t = task("c18.png", 12, 8,
             ann("bbox", "b", [1, 1, 6, 5]), ann("keypoint", "a", [1, 1]),
             ann("polygon", "c", [4, 3, 9, 3, 9, 7, 4, 7]),
             ann("segmentation", "a", [[[3, 0, 8, 0, 8, 4, 3, 4, 3, 0]]]),
             ann("segmentation", "c", [[[0, 2, 5, 2, 5, 6, 0, 6, 0, 2]]]))
    assert picture(render_instance_mask(t)) == [
        "...33333....",
        ".1133333....",
        "44444333....",
        "444443332...",
        "444442222...",
        "444442222...",
        "....22222...",
        "............",
    ]


@pytest.mark.parametrize("start", range(4))
@pytest.mark.parametrize("clockwise", [True, False])
def test_rectangle_polygon_is_independent_of_vertex_order_d16(start, clockwise):
    corners = [(2, 3), (7, 3), (7, 6), (2, 6)]
    if not clockwise:
        corners = corners[::-1]
    ring = [c for v in corners[start:] + corners[:start] for c in v]
    assert (one("polygon", ring) == block(2, 7, 3, 6)).all()
    assert (one("segmentation", [[ring + ring[:2]]]) == block(2, 7, 3, 6)).all()


@pytest.mark.parametrize("points", [[2, 3, 7, 6], [7, 6, 2, 3], [7, 3, 2, 6], [7.9, 6.5, 2.7, 3.2]])
def test_bbox_any_corner_order_truncated(points):
    assert (one("bbox", points) == block(2, 7, 3, 6)).all()


def test_diagonal_triangles_d17():
    first = one("polygon", [1, 1, 9, 1, 1, 9])
    assert [np.flatnonzero(row).tolist() for row in first[1:9]] == [list(range(1, 9 - k)) for k in range(8)]
    second = one("polygon", [1, 1, 9, 9, 1, 9])
    assert second.sum() == 28 and not second[:, 0].any()  # reference paints (0,1)…(0,4) outside the shape
    assert [np.flatnonzero(row).tolist() for row in second[2:9]] == [list(range(1, k + 2)) for k in range(7)]
    for points in ([1, 1, 9, 1, 9, 9], ):
        polygon = one("polygon", points)
        segmentation = one("segmentation", [[points + points[:2]]])
        assert (polygon == segmentation).all() and polygon.sum() == 28
        assert [np.flatnonzero(row).tolist() for row in polygon[1:8]] == [list(range(2 + k, 9)) for k in range(7)]
        assert not polygon[9].any() and not polygon[0].any()


def test_staircase_of_a_long_diagonal_edge_d20():
    # edge (20,0)->(5,11): step k runs vertically at x = 20 + int(-15/11*k) from y=k to k+1,
    # so row k holds x_k..19 (row 0 is empty: its step and the right edge both sit at x=20)
    mask = one("polygon", [20, 0, 5, 11, 20, 11], width=24, height=14)
    rows = [np.flatnonzero(row).tolist() for row in mask[:11]]
    assert rows == [list(range(20 + int(-15 / 11 * k), 20)) for k in range(11)]
    assert rows[10] == list(range(7, 20)) and not mask[11:].any()


@pytest.mark.parametrize("hole", [[3, 3, 3, 6, 6, 6, 6, 3, 3, 3], [3, 3, 6, 3, 6, 6, 3, 6, 3, 3]])
@pytest.mark.parametrize("outer", [[1, 1, 9, 1, 9, 9, 1, 9, 1, 1], [1, 1, 1, 9, 9, 9, 9, 1, 1, 1]])
def test_hole_in_either_winding_d18(outer, hole):
    expected = block(1, 9, 1, 9)
    expected[3:6, 3:6] = 0
    assert (one("segmentation", [[outer, hole]]) == expected).all()


def test_hole_only_spares_its_own_segmentation():
    t = task("h.png", 12, 10, ann("bbox", "under", [0, 0, 12, 10]),
             ann("segmentation", "s", [[[1, 1, 9, 1, 9, 9, 1, 9, 1, 1], [3, 3, 3, 6, 6, 6, 6, 3, 3, 3]]]))
    mask = render_instance_mask(t)
    assert mask[4, 4] == 1 and mask[2, 2] == 2 and mask[0, 0] == 1


def test_empty_and_zero_area_shapes_consume_their_index_d21_d48():
    t = task("e.png", 10, 10, ann("bbox", "a", []), ann("polygon", "b", [2, 2, 2, 8, 2, 5]),
             ann("bbox", "c", [2, 2, 2, 8]), ann("segmentation", "d", []), ann("bbox", "e", [0, 0, 1, 1]))
    mask = render_instance_mask(t)
    assert np.unique(mask).tolist() == [0, 5] and mask[0, 0] == 5
    report = ConversionReport("instance")
    render_mask(t, [1, 2, 3, 4, 5], report=report)
    assert report.findings["shape covers no pixel centre, nothing painted"].count == 4


def test_semantic_default_classes_include_every_value_and_only_drawables_need_one_d22():
    t = task("s.png", 6, 4, ann("keypoint", "k", [1, 1]), ann("bbox", "z", [0, 0, 2, 2]),
             ann("line", "a", [0, 0, 1, 1]))
    assert render_semantic_mask(t)[0, 0] == 3  # classes a, k, z
    assert render_semantic_mask(t, classes=["z"])[0, 0] == 1  # k and a need no class
    assert render_semantic_mask(t, classes=["q", "z"], start_index=0)[0, 0] == 1
    with pytest.raises(FormatError, match=r"task 's.png' annotation #1 \(bbox\): value 'z' is missing from classes"):
        render_semantic_mask(t, classes=["a", "k"])


def test_more_than_255_instances_raise_or_need_uint16_d23():
    t = task("many.png", 400, 2, *[ann("bbox", "a", [i, 0, i + 1, 1]) for i in range(300)])
    with pytest.raises(FormatError, match=r"annotation #255 \(bbox\): index 256 does not fit uint8"):
        render_instance_mask(t)
    mask = render_instance_mask(t, dtype=np.uint16)
    assert mask[0, 299] == 300 and mask.dtype == np.uint16


def test_out_of_image_parts_are_clipped():
    mask = one("polygon", [-5, -5, 30, -5, 30, 3, -5, 3])
    assert (mask == block(0, 12, 0, 3)).all()


def decoded(path) -> tuple[np.ndarray, list[int], int]:
    with Image.open(path) as image:
        return np.array(image), image.getpalette(), image.info.get("bits", 8)


def test_png_files_palette_and_names(tmp_path, frozen):
    first = task("dir/a.b.jpg", 12, 8, ann("bbox", "b", [1, 1, 6, 5]), ann("polygon", "c", [4, 3, 9, 3, 9, 7, 4, 7]))
    tasks = frozen([first, task("zero.jpg", 0, 5, ann("bbox", "b", [0, 0, 1, 1]))])
    report = export_instance_segmentation(tasks, tmp_path)
    assert report.files == [tmp_path / "dir/a.b.png"]
    assert "image with width or height 0 skipped (no PNG)" in report.findings
    with Image.open(tmp_path / "dir/a.b.png") as image:
        assert image.mode == "P" and image.getpalette()[:174] == COLOR_PALETTE
        pixels = np.array(image)
    assert (pixels == render_instance_mask(tasks[0])).all()
    export_semantic_segmentation(tasks, tmp_path / "sem", classes=["c", "b"])
    with Image.open(tmp_path / "sem/dir/a.b.png") as image:
        assert np.unique(np.array(image)).tolist() == [0, 1, 2] and np.array(image)[1, 1] == 2


def test_small_custom_palette_stays_8_bit_d46(tmp_path):
    tasks = [task("p.png", 3, 1, ann("bbox", "a", [0, 0, 1, 1]), ann("bbox", "b", [1, 0, 2, 1]),
                  ann("bbox", "c", [2, 0, 3, 1]))]
    export_instance_segmentation(tasks, tmp_path, pallete=[255, 0, 0, 0, 255, 0])
    raw = (tmp_path / "p.png").read_bytes()
    assert raw[24] == 8  # IHDR bit depth
    with Image.open(io.BytesIO(raw)) as image:
        assert np.array(image).tolist() == [[1, 2, 3]]
        assert image.getpalette()[:6] == [255, 0, 0, 0, 255, 0]


def test_two_jobs_write_the_same_pngs(tmp_path):
    tasks = [task(f"i{i}.png", 40, 30, ann("polygon", "a", [i, 0, 39, i, 20, 29]), ann("bbox", "b", [1, 1, 9, 9]))
             for i in range(20)]
    export_instance_segmentation(tasks, tmp_path / "one")
    export_instance_segmentation(tasks, tmp_path / "two", jobs=2)
    assert all((tmp_path / "one" / f"i{i}.png").read_bytes() == (tmp_path / "two" / f"i{i}.png").read_bytes()
               for i in range(20))


rectangles = st.tuples(st.integers(-3, 15), st.integers(-3, 15), st.integers(1, 10), st.integers(1, 10))


@given(st.lists(rectangles, min_size=1, max_size=5), st.integers(0, 3), st.booleans())
def test_rectangles_match_pixel_centres_in_any_vertex_order(rects, start, reverse):
    shapes, annotations = [], []
    for x, y, w, h in rects:
        corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        corners = corners[::-1] if reverse else corners
        corners = corners[start:] + corners[:start]
        annotations.append(ann("polygon", "r", list(itertools.chain(*corners))))
        shapes.append(shapely.box(x, y, x + w, y + h))
    mask = render_instance_mask(task("r.png", 14, 12, *annotations))
    ys, xs = np.mgrid[0:12, 0:14] + 0.5
    expected = np.zeros((12, 14), np.uint8)
    for index, shape in enumerate(shapes, 1):
        expected[shapely.contains_xy(shape, xs, ys)] = index
    assert (mask == expected).all()


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=3, max_size=8))
def test_polygon_mask_is_independent_of_start_vertex(vertices):
    # (each diagonal edge's staircase goes vertical-first from its start, so reversing the
    # direction of a diagonal polygon mirrors its steps; rotating the start vertex changes nothing)
    base = one("polygon", list(itertools.chain(*vertices)), 32, 32)
    for start in range(1, len(vertices)):
        rotated = list(itertools.chain(*(vertices[start:] + vertices[:start])))
        assert (one("polygon", rotated, 32, 32) == base).all()


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 3), st.integers(1, 3)),
                min_size=1, max_size=6, unique_by=lambda r: (r[0], r[1])))
def test_non_overlapping_shapes_get_one_index_each(cells):
    # each shape lives in its own 4x4 block of a 16x16 image, so no two overlap
    annotations = []
    for number, (x, y, w, h) in enumerate(cells):
        ox, oy = 4 * (number % 4), 4 * (number // 4)
        kind = ("bbox", "polygon", "segmentation")[number % 3]
        box = [ox + x, oy + y, ox + min(x + w, 4), oy + min(y + h, 4)]
        ring = [box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3]]
        points = box if kind == "bbox" else ring if kind == "polygon" else [[ring + ring[:2]]]
        annotations.append(ann(kind, "v", points))
    mask = render_instance_mask(task("n.png", 16, 16, *annotations))
    assert sorted(np.unique(mask).tolist()) == [0] + list(range(1, len(cells) + 1))


def test_bad_sizes_and_unreadable_images_name_the_place(tmp_path):
    with pytest.raises(FormatError, match="task 'w.png': 'width' must be an integer >= 0, got -3"):
        render_instance_mask({"name": "w.png", "width": -3, "height": 4, "annotations": []})
    with pytest.raises(FormatError, match="task 'w.png': 'height' must be an integer >= 0, got 2.5"):
        export_semantic_segmentation([{"name": "w.png", "width": 3, "height": 2.5, "annotations": []}], tmp_path)
    from fastlabel_formats import export_image_with_annotations
    images = tmp_path / "images"
    images.mkdir()
    (images / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FormatError, match=r"broken.jpg: cannot read the image of task 'broken.jpg'"):
        export_image_with_annotations([task("broken.jpg", 3, 3)], images, tmp_path / "out")
