"""The COCO writer's array paths agree with the per-value code they replace: number texts dumped
from an array, the records' order sorted on one key, and the bounds of tables of plain bboxes."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats.coco_json import plain_box_json, plain_boxes, plain_boxes_json
from fastlabel_formats.columns import rounded_outer_bounds, row_kinds, two_corner_bounds
from fastlabel_formats.geometry import integral_to_int
from fastlabel_formats.jsonparts import array_texts, number_texts
from fastlabel_formats.sdk_order import coco_order, coco_selection, coco_xywh
from fastlabel_formats.table import gather
from fastlabel_formats.tasks import image_frames

# values that exercise the texts and the rounding: integral, tiny, huge, signed zeros, halves at 6 decimals
EDGY = st.sampled_from([0.0, -0.0, 1.0, -3.0, 0.5, 2.0000005, 1e-7, 1e16, 2.0**63, -(2.0**63), 1e300, 5e-324,
                        1919.9999995, 0.0000005, -0.0000004])
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | EDGY
COORDS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | EDGY.filter(lambda v: abs(v) <= 1e6)


@settings(max_examples=200, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=40))
def test_array_texts_are_the_texts_of_the_python_numbers(values):
    array = np.array(values, np.float64)
    assert array_texts(array) == number_texts(integral_to_int(array))


@pytest.mark.parametrize("values", [[1.0, 2.0, -0.0], [0.5] * 20 + [3.0], [0.5, 3.0, 1e16, 0.25], [1, 2, -7]])
def test_array_texts_of_few_some_and_all_integral_values(values):
    array = np.array(values)
    assert array_texts(array) == number_texts(integral_to_int(array) if array.dtype.kind == "f" else values)


def test_array_texts_of_a_two_dimensional_array_are_row_by_row():
    boxes = np.array([[1.0, 2.5, 3.0, 4.0], [0.25, -0.0, 1e16, 7.0]])
    assert array_texts(boxes) == [b"1", b"2.5", b"3", b"4", b"0.25", b"0", b"10000000000000000", b"7"]
    assert array_texts(np.zeros(0)) == []


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_coco_order_is_the_lexsort_of_frame_category_and_area(data):
    count = data.draw(st.integers(0, 30))
    frame = np.array(data.draw(st.lists(st.integers(0, 4), min_size=count, max_size=count)), np.int64)
    category = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=count, max_size=count)), np.int64)
    area = np.array(data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, 2.0, np.nan, 7.25]) | st.floats(0, 10),
                                       min_size=count, max_size=count)), np.float64)
    np.testing.assert_array_equal(coco_order(frame, category, area), np.lexsort((area, category, frame)))


def test_coco_order_keeps_row_order_among_equal_keys():
    frame, category = np.zeros(5, np.int64), np.ones(5, np.int64)
    area = np.array([2.0, 1.0, 2.0, -0.0, 0.0])
    assert coco_order(frame, category, area).tolist() == [3, 4, 1, 0, 2]


def _table(boxes: list[list[float]], extra: list[dict] = ()) -> object:
    annotations = [{"type": "bbox", "value": "car", "points": box} for box in boxes] + list(extra)
    tasks = [{"name": "a.jpg", "width": 100, "height": 100, "annotations": annotations}]
    return gather(tasks, image_frames(tasks), "tasks.json")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(COORDS, min_size=4, max_size=4), max_size=12))
def test_two_corner_bounds_are_the_vertex_bounds_bit_for_bit(boxes):
    table = _table(boxes)
    bounds = two_corner_bounds(table, row_kinds(table))
    assert bounds is not None
    expected = rounded_outer_bounds(table)
    assert bounds.shape == expected.shape
    assert bounds.tobytes() == expected.tobytes()  # the same bits: signed zeros and NaN included


def test_two_corner_bounds_leave_other_shapes_to_the_vertex_bounds():
    polygon = {"type": "polygon", "value": "car", "points": [0, 0, 5, 0, 5, 5]}
    table = _table([[1, 2, 3, 4]], [polygon])
    assert two_corner_bounds(table, row_kinds(table)) is None
    kinds = row_kinds(table)
    boxes = np.full((len(table), 4), np.nan)
    xywh = coco_xywh(table, kinds, boxes)
    assert xywh[:, 2:].tolist() == [[2.0, 2.0], [5.0, 5.0]]


def test_two_corner_bounds_of_a_zero_corner_keep_its_sign_as_the_vertex_bounds_do():
    table = _table([[-0.0000001, 0.0, 3.0, -0.0], [0.0, -0.0, -0.0000002, 1.0]])
    assert two_corner_bounds(table, row_kinds(table)).tobytes() == rounded_outer_bounds(table).tobytes()


PLAIN_NUMBERS = st.integers(-5000, 5000) | st.floats(-5000, 5000, allow_nan=False) | EDGY.filter(lambda v: abs(v) < 1e6)
PLAIN_TASKS = st.lists(st.builds(
    lambda number, boxes: {"name": f"img_{number}.jpg", "width": 640, "height": 480,
                           "annotations": [{"type": "bbox", "value": value, "points": box} for value, box in boxes]},
    st.integers(0, 10**6), st.lists(st.tuples(st.sampled_from(["cat", "dog"]), st.lists(PLAIN_NUMBERS, min_size=4,
                                                                                     max_size=4)), max_size=6)),
    min_size=1, max_size=4, unique_by=lambda task: task["name"])


@settings(max_examples=80, deadline=None)
@given(PLAIN_TASKS, st.integers(1, 10**9))
def test_plain_boxes_laid_out_at_once_are_the_joined_records(tasks, first_id):
    coco = ff.to_coco(tasks)
    table = gather(tasks, image_frames(tasks), "tasks.json")
    rows = coco_selection(table, {category["name"]: category["id"] for category in coco["categories"]})
    positions = np.arange(len(rows.order))
    assert plain_boxes(table, rows).all()
    assert plain_boxes_json(table, rows, positions, first_id) == b",".join(plain_box_json(table, rows, positions,
                                                                                         first_id))
    records = coco["annotations"]
    for record, number in zip(records, range(first_id, first_id + len(records))):
        record["id"] = number
    assert plain_boxes_json(table, rows, positions, first_id) == orjson.dumps(records)[1:-1]


def test_a_file_of_plain_boxes_is_the_orjson_of_its_records(tmp_path):
    tasks = [{"name": "a.jpg", "width": 64, "height": 48, "annotations": [
        {"type": "bbox", "value": "dog", "points": [1, 2.5, 0.1 + 0.2, 4]},
        {"type": "bbox", "value": "cat", "points": [10.0, 20, 30, 1e-7]}]}]
    ff.export_coco(tasks, tmp_path, overwrite=True)
    assert (tmp_path / "annotations.json").read_bytes() == orjson.dumps(ff.to_coco(tasks))
