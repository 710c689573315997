"""Hypothesis properties of the exporters' geometry."""

from __future__ import annotations

import copy
import math

import numpy as np
import orjson
from conftest import ann, task
from hypothesis import given
from hypothesis import strategies as st

from fastlabel_formats import to_coco, to_labelme, to_pascalvoc, to_yolo
from fastlabel_formats.geometry import python_round

# a 5 in the 7th decimal (what YOLO import produces, e.g. -7.4999999997e-06) is a rounding tie for 6 decimals
half_tie = st.integers(-50_000_000, 2_000_000_000).map(lambda n: n / 1e6 + 5e-7)
coordinate = st.one_of(
    st.integers(-50, 2000), st.floats(-50, 2000, allow_nan=False).map(lambda v: round(v, 3)), half_tie,
)
vertex = st.tuples(coordinate, coordinate)
polygon_points = st.lists(vertex, min_size=3, max_size=12).map(lambda vs: [c for v in vs for c in v])
size = st.integers(1, 4000)


@st.composite
def boxes(draw):
    x1, y1 = draw(coordinate), draw(coordinate)
    x2 = draw(coordinate.filter(lambda v: int(v) != int(x1)))
    y2 = draw(coordinate.filter(lambda v: int(v) != int(y1)))
    return [x1, y1, x2, y2]


@st.composite
def task_lists(draw):
    annotations = draw(st.lists(st.one_of(
        boxes().map(lambda p: ann("bbox", "box", p)),
        polygon_points.map(lambda p: ann("polygon", "poly", p)),
        st.lists(polygon_points, min_size=1, max_size=3).map(
            lambda rings: ann("segmentation", "seg", [[r + r[:2]] for r in rings])),
    ), max_size=8))
    return [task("t.jpg", draw(size), draw(size), *annotations)]


def bounds(values: list) -> list:
    xs, ys = [round(v, 6) for v in values[0::2]], [round(v, 6) for v in values[1::2]]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


@given(polygon_points)
def test_coco_polygon_keeps_every_vertex_and_bbox_is_vertex_bounds(points):
    [record] = to_coco([task("p.jpg", 10, 10, ann("polygon", "p", points))])["annotations"]
    assert record["segmentation"] == [points]
    assert record["bbox"] == bounds(points)


@given(boxes())
def test_coco_bbox_is_min_max_of_its_corners(points):
    [record] = to_coco([task("b.jpg", 10, 10, ann("bbox", "b", points))])["annotations"]
    assert record["bbox"] == bounds(points)
    assert record["area"] == abs((points[0] - points[2]) * (points[1] - points[3]))


@given(boxes(), st.floats(-360, 360, allow_nan=False).filter(lambda r: r != 0))
def test_coco_rotated_bbox_encloses_the_rotated_corners(points, rotation):
    [record] = to_coco([task("b.jpg", 10, 10, ann("bbox", "b", points, rotation=rotation))])["annotations"]
    x1, y1, x2, y2 = points
    cx, cy, theta = (x1 + x2) / 2, (y1 + y2) / 2, math.radians(rotation)
    corners = [(cx + (x - cx) * math.cos(theta) - (y - cy) * math.sin(theta),
                cy + (x - cx) * math.sin(theta) + (y - cy) * math.cos(theta))
               for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    expected = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    assert np.allclose(record["bbox"], expected, atol=1e-5)


@given(task_lists())
def test_yolo_box_lines_reproduce_the_coco_box(tasks):
    coco = to_coco(tasks)
    labels, _ = to_yolo(tasks)
    width, height = tasks[0]["width"], tasks[0]["height"]
    lines = labels[0][1]
    assert len(lines) == len(coco["annotations"])
    for line, record in zip(lines, coco["annotations"]):
        klass, cx, cy, w, h = line.split()
        assert int(klass) == record["category_id"] - 1
        x, y, bw, bh = record["bbox"]
        assert abs(float(cx) * width - (x + bw / 2)) <= 1e-6 * width
        assert abs(float(cy) * height - (y + bh / 2)) <= 1e-6 * height
        assert abs(float(w) * width - bw) <= 1e-6 * width
        assert abs(float(h) * height - bh) <= 1e-6 * height


@given(task_lists())
def test_converters_do_not_mutate_and_are_deterministic(tasks):
    before = copy.deepcopy(tasks)
    for convert in (to_coco, to_yolo, to_pascalvoc, to_labelme):
        first = orjson.dumps(convert(tasks), option=orjson.OPT_SERIALIZE_NUMPY)
        assert tasks == before
        assert orjson.dumps(convert(copy.deepcopy(tasks)), option=orjson.OPT_SERIALIZE_NUMPY) == first


@given(task_lists())
def test_yolo_segmentation_lines_are_the_outer_rings(tasks):
    labels, _ = to_yolo(tasks, project_type="image_segmentation")
    width, height = tasks[0]["width"], tasks[0]["height"]
    rings = [r for record in to_coco(tasks)["annotations"] for r in record["segmentation"]]
    assert len(labels[0][1]) == len(rings)
    for line, ring in zip(labels[0][1], rings):
        values = [float(v) for v in line.split()[1:]]
        assert np.allclose(np.array(values[0::2]) * width, ring[0::2], atol=1e-6 * width)
        assert np.allclose(np.array(values[1::2]) * height, ring[1::2], atol=1e-6 * height)


@given(st.lists(task_lists(), min_size=1, max_size=4), st.integers(1, 6))
def test_chunked_conversion_equals_one_chunk(task_groups, chunk_rows):
    import fastlabel_formats.table as table_module

    tasks = [dict(group[0], name=f"t{i}.jpg") for i, group in enumerate(task_groups)]
    converters = (to_coco, to_yolo, to_pascalvoc, to_labelme)
    whole = [orjson.dumps(convert(tasks)) for convert in converters]
    saved, table_module.CHUNK_ROWS = table_module.CHUNK_ROWS, chunk_rows
    try:
        chunked = [orjson.dumps(convert(tasks)) for convert in converters]
    finally:
        table_module.CHUNK_ROWS = saved
    assert chunked == whole


@given(st.lists(st.one_of(half_tie, st.floats(-1e9, 1e9, allow_nan=False)), min_size=2, max_size=40).filter(
    lambda values: len(values) % 2 == 0))
def test_python_round_is_round_on_two_dimensional_arrays(values):
    coords = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    rounded = python_round(coords)
    assert rounded.shape == coords.shape
    assert rounded.ravel().tolist() == [round(v, 6) for v in values]


rotation = st.one_of(st.integers(-359, 359), st.floats(-360, 360, allow_nan=False).map(lambda r: round(r, 3))).filter(
    lambda r: r != 0 and abs(abs(r) % 90 - 45) > 1e-3)


@given(boxes(), rotation)
def test_a_rotated_bbox_round_trips_through_coco_in_every_mode(points, degrees):
    from fastlabel_formats import coco_to_fastlabel

    coco = to_coco([task("t.jpg", 100, 100, ann("bbox", "b", points, rotation=degrees))])
    (record,) = coco["annotations"]
    ring = np.array(record["segmentation"][0][:8], float).reshape(4, 2)
    x, y, w, h = record["bbox"]
    assert np.allclose([ring[:, 0].min(), ring[:, 1].min(), np.ptp(ring[:, 0]), np.ptp(ring[:, 1])], [x, y, w, h],
                       atol=2e-6)
    xs, ys = sorted(points[0::2]), sorted(points[1::2])
    for mode in ("bbox", None):
        (back,) = coco_to_fastlabel(coco, mode)["t.jpg"]
        assert back["type"] == "bbox" and back["rotation"] == degrees
        assert np.allclose(back["points"], [xs[0], ys[0], xs[1], ys[1]], atol=1e-5)


@given(boxes().filter(lambda p: abs(p[2] - p[0]) > 2 and abs(p[3] - p[1]) > 2), rotation)
def test_a_rotated_bbox_is_drawn_and_written_as_its_rotated_polygon(points, degrees):
    from fastlabel_formats.geometry import box_corners, python_round
    from fastlabel_formats.render import instance_values, render_mask

    corners = box_corners(np.array([points], float), np.array([degrees], float)).ravel().tolist()
    rotated = task("t.jpg", 64, 48, ann("bbox", "b", points, rotation=degrees))
    polygon = task("t.jpg", 64, 48, ann("polygon", "b", corners))
    masks = [render_mask(t, instance_values(t)) for t in (rotated, polygon)]
    assert np.array_equal(*masks)
    ring = task("t.jpg", 64, 48, ann("polygon", "b", python_round(np.array(corners)).tolist()))  # as COCO holds it
    lines = [to_yolo([t], project_type="image_segmentation")[0][0][1] for t in (rotated, ring)]
    assert lines[0][0].split()[1:9] == lines[1][0].split()[1:9]  # the same four corners


def centres_inside(rings: list[list[float]], width: int, height: int) -> np.ndarray:
    """Brute force: pixels whose centres lie inside the float rings (even-odd over all rings)."""
    inside = np.zeros((height, width), bool)
    for j in range(height):
        for i in range(width):
            x, y = i + 0.5, j + 0.5
            crossings = 0
            for ring in rings:
                xs, ys = ring[0::2], ring[1::2]
                for k in range(len(xs)):
                    ax, ay, bx, by = xs[k], ys[k], xs[(k + 1) % len(xs)], ys[(k + 1) % len(xs)]
                    if (ay <= y < by or by <= y < ay) and ax + (y - ay) * (bx - ax) / (by - ay) < x:
                        crossings += 1
            inside[j, i] = crossings % 2 == 1
    return inside


float_vertex = st.tuples(st.floats(-3, 27, allow_nan=False), st.floats(-3, 19, allow_nan=False))


@given(st.lists(float_vertex, min_size=3, max_size=7), st.lists(float_vertex, min_size=3, max_size=5))
def test_exact_raster_paints_the_pixel_centres_inside_the_float_shape(outer, hole):
    from fastlabel_formats.raster import segmentation_rle
    from fastlabel_formats.render import instance_values, render_mask

    flat_outer, flat_hole = [c for v in outer for c in v], [c for v in hole for c in v]
    polygon = task("t.jpg", 24, 16, ann("polygon", "p", flat_outer))
    expected = centres_inside([flat_outer], 24, 16)
    assert np.array_equal(render_mask(polygon, instance_values(polygon), raster="exact") > 0, expected)
    region = [flat_outer + flat_outer[:2], flat_hole + flat_hole[:2]]
    from pycocotools import mask as coco_mask

    rle, area = segmentation_rle([region], 24, 16, raster="exact")
    decoded = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    outer_mask, hole_mask = centres_inside([flat_outer], 24, 16), centres_inside([flat_hole], 24, 16)
    assert np.array_equal(decoded, outer_mask & ~hole_mask) and area == int((outer_mask & ~hole_mask).sum())


def test_exact_raster_is_an_option_and_misses_nothing_the_default_rule_misses():
    from fastlabel_formats.render import instance_values, render_mask

    ring = [10.6, 2.3, 30.2, 4.9, 27.7, 17.4, 6.1, 14.8]
    polygon = task("t.jpg", 40, 24, ann("polygon", "p", ring), ann("bbox", "b", [1.6, 18.2, 7.4, 22.9]))
    default = render_mask(polygon, instance_values(polygon))
    exact = render_mask(polygon, instance_values(polygon), raster="exact")
    truth = centres_inside([ring], 40, 24)
    assert np.array_equal(exact == 1, truth) and not np.array_equal(default == 1, truth)
    box_truth = np.zeros((24, 40), bool)
    box_truth[18:23, 2:7] = True  # centres inside [1.6, 7.4] × [18.2, 22.9]: columns 2-6, rows 18-22
    assert np.array_equal(exact == 2, box_truth)


# FastLabel -> X -> FastLabel for every format, on the geometry each format carries

float_coordinate = st.one_of(st.integers(0, 90), st.floats(0, 90, allow_nan=False).map(lambda v: round(v, 3)),
                             st.integers(0, 90_000_000).map(lambda n: n / 1e6 + 5e-7))
float_ring = st.lists(st.tuples(float_coordinate, float_coordinate), min_size=3, max_size=8).map(
    lambda vs: [c for v in vs for c in v])


@given(st.lists(float_ring, min_size=1, max_size=3), float_ring)
def test_coco_round_trip_keeps_every_vertex_of_polygons_and_regions(regions, polygon):
    from fastlabel_formats import coco_to_fastlabel

    segmentation = [[ring + ring[:2]] for ring in regions]
    tasks = [task("t.jpg", 100, 100, ann("polygon", "p", polygon), ann("segmentation", "s", segmentation))]
    back = {a["value"]: a for a in coco_to_fastlabel(to_coco(tasks), None)["t.jpg"]}
    assert back["p"]["points"] == polygon or back["p"]["type"] == "bbox"  # a 4-corner rectangle reads as a bbox
    if len(regions) > 1:
        assert back["s"]["type"] == "segmentation" and back["s"]["points"] == segmentation


@given(st.lists(st.tuples(float_coordinate, float_coordinate, st.sampled_from([0, 1])), min_size=1, max_size=5),
       st.booleans())
def test_coco_round_trip_keeps_pose_keypoints_with_and_without_definitions(located, with_definitions):
    from fastlabel_formats import coco_to_fastlabel

    keys = [f"k{i}" for i in range(len(located))]
    pose = {"type": "pose_estimation", "value": "person",
            "keypoints": [{"key": k, "value": [x, y, v]} for k, (x, y, v) in zip(keys, located)]}
    definitions = [{"type": "pose_estimation", "value": "person",
                    "keypoints": [{"id": k, "key": k, "name": k, "edges": []} for k in keys]}]
    coco = to_coco([task("t.jpg", 100, 100, pose)], annotations=definitions if with_definitions else None)
    (back,) = coco_to_fastlabel(coco, "pose_estimation")["t.jpg"]
    assert back["keypoints"] == pose["keypoints"]


@given(st.lists(boxes(), min_size=1, max_size=5), size, size)
def test_yolo_round_trip_keeps_boxes_to_the_format_precision(tmp_path_factory, box_list, width, height):
    from PIL import Image

    from fastlabel_formats import export_yolo, yolo_tasks

    folder = tmp_path_factory.mktemp("yolo")
    Image.new("RGB", (width, height)).save(folder / "t.png")
    export_yolo([task("t.png", width, height, *[ann("bbox", "b", p) for p in box_list])], folder / "out")
    (back,) = yolo_tasks(folder / "out/classes.txt", folder / "out", images=folder)
    expected = [[min(p[0], p[2]), min(p[1], p[3]), max(p[0], p[2]), max(p[1], p[3])] for p in box_list]
    got = [a["points"] for a in back["annotations"]]
    tolerance = 4e-7 * max(width, height) + 1e-6  # 7 truncated decimals of the image size, twice
    assert len(got) == len(expected)
    for box in expected:  # the same boxes in any order (lines follow the COCO order)
        match = next(i for i, other in enumerate(got) if np.allclose(other, box, atol=tolerance))
        got.pop(match)


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(1, 30), st.integers(1, 30)),
                min_size=1, max_size=5))
def test_pascalvoc_round_trip_keeps_integer_boxes_and_flags(tmp_path_factory, sizes):
    from fastlabel_formats import export_pascalvoc, pascalvoc_to_fastlabel

    folder = tmp_path_factory.mktemp("voc")
    flags = [{"key": "difficult", "value": True, "type": "switch"}]
    annotations = [dict(ann("bbox", "b", [x, y, x + w, y + h]), attributes=flags) for x, y, w, h in sizes]
    export_pascalvoc([task("t.jpg", 100, 100, *annotations)], folder)
    back = pascalvoc_to_fastlabel(folder / "annotations")["t.jpg"]
    assert [a["points"] for a in back] == [a["points"] for a in annotations]
    assert all({"key": "difficult", "value": True, "type": "switch"} in a["attributes"] for a in back)


@st.composite
def quarter_turned_boxes(draw):
    """A box with integer corners whose width and height have the same parity (so a quarter turn
    about its centre has integer corners too), inside 40 × 40 however turned, and a multiple of 90 degrees."""
    x1, y1 = draw(st.integers(8, 20)), draw(st.integers(8, 20))
    w = draw(st.integers(1, 14))
    h = draw(st.integers(0, 7).map(lambda k: 2 * k + w % 2).filter(lambda v: v > 0))
    return [x1, y1, x1 + w, y1 + h], draw(st.integers(-5, 5)) * 90


def _turned_equivalent(points: list, degrees: int) -> list:
    """The axis-aligned box a quarter-turned box covers."""
    x1, y1, x2, y2 = points
    if degrees % 180 == 0:
        return list(points)
    cx2, cy2, w, h = x1 + x2, y1 + y2, x2 - x1, y2 - y1  # doubled centre
    return [(cx2 - h) // 2, (cy2 - w) // 2, (cx2 + h) // 2, (cy2 + w) // 2]


@given(quarter_turned_boxes())
def test_a_box_turned_by_quarter_turns_paints_as_its_axis_aligned_box(turned):
    """Every exporter draws a box turned by a multiple of 90 degrees exactly as the axis-aligned
    box it covers: the PNG rasters (both rules), the drawn image and the COCO ring."""
    from PIL import Image

    from fastlabel_formats import draw_annotations, render_instance_mask

    points, degrees = turned
    equivalent = _turned_equivalent(points, degrees)
    rotated = task("t.jpg", 40, 40, ann("bbox", "b", points, rotation=degrees))
    plain = task("t.jpg", 40, 40, ann("bbox", "b", equivalent))
    for raster in ("staircase", "exact"):
        masks = [render_instance_mask(t, raster=raster) for t in (rotated, plain)]
        assert np.array_equal(*masks) and np.count_nonzero(masks[0]) == (equivalent[2] - equivalent[0]) * (
            equivalent[3] - equivalent[1])
    drawn = [np.asarray(draw_annotations(Image.new("RGB", (40, 40)), t)) for t in (rotated, plain)]
    assert np.count_nonzero(drawn[0].any(axis=2)) == np.count_nonzero(drawn[1].any(axis=2))
    (ring,) = to_coco([rotated])["annotations"][0]["segmentation"]
    x1, y1, x2, y2 = equivalent
    assert sorted(zip(ring[0:8:2], ring[1:8:2])) == sorted([(x1, y1), (x2, y1), (x2, y2), (x1, y2)])
    assert all(type(v) is int for v in ring)


def test_the_issue_box_turned_by_90_degrees_paints_35_pixels():
    from fastlabel_formats import render_semantic_mask

    turned = task("t.png", 10, 10, ann("bbox", "b", [2, 3, 9, 8], rotation=90))
    for raster in ("staircase", "exact"):
        mask = render_semantic_mask(turned, raster=raster)
        assert np.count_nonzero(mask) == 35
        assert np.array_equal(np.argwhere(mask)[[0, -1]], [[2, 3], [8, 7]])  # rows 2..8, columns 3..7
