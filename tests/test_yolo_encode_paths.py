"""The official SDK's rows (:mod:`fastlabel_formats.sdk_order`) and the table columns the YOLO and COCO
writers read agree with the per-row code they replace: the order sorted among the kept rows only,
kind masks, points, rotations and values read in bulk, the measures of the masks' path."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats.columns import (
    bbox_points,
    has_points,
    kind_mask,
    rotations,
    row_kinds,
    value_codes,
)
from fastlabel_formats.geometry import outer_area_sums
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.sdk_order import (
    SDK_POLICY,
    coco_areas,
    coco_boxes,
    coco_order,
    coco_selection,
    coco_xywh,
    sdk_areas,
    sdk_rows,
    sdk_selection,
    sdk_xywh,
)
from fastlabel_formats.selection import select
from fastlabel_formats.table import gather
from fastlabel_formats.tasks import image_frames

KINDS = ["bbox", "polygon", "segmentation", "pose_estimation", "classification", "line", "keypoint"]
VALUES = ["cat", "dog", "car"]
NUMBER = st.integers(-20, 120) | st.sampled_from([0.0, -0.0, 0.5, 2.0000005, 1e-7, 99.9999995])


@st.composite
def annotations(draw) -> dict:
    """One annotation of any kind, well formed, sometimes without points or rotated."""
    kind = draw(st.sampled_from(KINDS))
    annotation = {"type": kind, "value": draw(st.sampled_from(VALUES))}
    if kind in ("bbox", "keypoint"):
        annotation["points"] = draw(st.lists(NUMBER, min_size=4 if kind == "bbox" else 2,
                                             max_size=4 if kind == "bbox" else 2) | st.just([]))
    elif kind in ("polygon", "line"):
        annotation["points"] = [v for pair in draw(st.lists(st.tuples(NUMBER, NUMBER), min_size=2, max_size=6))
                                for v in pair]
    elif kind == "segmentation":
        rings = st.lists(st.tuples(NUMBER, NUMBER), min_size=3, max_size=5).map(
            lambda pairs: [v for pair in pairs for v in pair])
        annotation["points"] = draw(st.lists(st.lists(rings, min_size=1, max_size=2), min_size=1, max_size=2))
    elif kind == "pose_estimation":
        annotation["keypoints"] = [{"key": key, "value": [draw(NUMBER), draw(NUMBER), draw(st.sampled_from([0, 1]))]}
                                   for key in draw(st.lists(st.sampled_from(["nose", "eye", "ear"]), max_size=3,
                                                            unique=True))]
    if draw(st.booleans()):
        annotation["rotation"] = draw(st.sampled_from([0, 0.0, 30, -90, 12.5, None, False]))
    return annotation


TASKS = st.lists(st.lists(annotations(), max_size=8), min_size=1, max_size=4).map(
    lambda images: [{"name": f"img_{number}.jpg", "width": 100, "height": 80, "annotations": found}
                    for number, found in enumerate(images)])
GEOMETRIES = st.sampled_from([None, ("bbox", "polygon", "segmentation"), ("bbox",)])


def _table(tasks: list[dict], geometry: tuple | None = None):
    frames = image_frames(tasks)
    return gather(tasks, frames, "tasks.json") if geometry is None else gather(tasks, frames, "tasks.json", geometry)


def _full_order_filtered(table, category_ids: dict) -> np.ndarray:
    """The order as it was made: every row sorted by (frame, category, area), then the kept ones taken."""
    category = np.array([category_ids.get(a["value"], 0) for a in table.annotations], np.int64)
    keep = select(table, SDK_POLICY, category > 0).keep
    order = np.lexsort((coco_areas(table, row_kinds(table), coco_boxes(table)), category, table.frame))
    return order[keep[order]]


@settings(max_examples=80, deadline=None)
@given(TASKS, st.sets(st.sampled_from(VALUES), min_size=1))
def test_the_kept_rows_sorted_alone_are_the_order_of_every_row_filtered(tasks, named):
    table = _table(tasks)
    category_ids = {value: number for number, value in enumerate(sorted(named), 1)}
    rows = sdk_selection(table, category_ids)
    assert rows.order.tolist() == _full_order_filtered(table, category_ids).tolist()
    assert coco_selection(table, category_ids).order.tolist() == rows.order.tolist()


@settings(max_examples=80, deadline=None)
@given(TASKS, GEOMETRIES)
def test_the_masks_path_measures_as_the_kinds_path(tasks, geometry):
    table = _table(tasks, geometry)
    kinds, boxes = row_kinds(table), coco_boxes(table)
    assert sdk_areas(table).tobytes() == coco_areas(table, kinds, boxes).tobytes()
    assert sdk_xywh(table).tobytes() == coco_xywh(table, kinds, boxes).tobytes()


@settings(max_examples=80, deadline=None)
@given(TASKS, GEOMETRIES, st.lists(st.sampled_from(KINDS + ["other"]), max_size=3))
def test_columns_read_in_bulk_are_the_per_row_columns(tasks, geometry, asked):
    table = _table(tasks, geometry)
    assert kind_mask(table, *asked).tolist() == np.isin(np.asarray(table.kinds, object), asked).tolist()
    assert has_points(table).tolist() == [bool(points) for points in table.points]
    expected_rotations = np.asarray([a.get("rotation") or 0 for a in table.annotations], np.float64)
    assert rotations(table).tobytes() == expected_rotations.tobytes()
    codes, dictionary = value_codes(table)
    assert [dictionary[code] for code in codes.tolist()] == [a.get("value") for a in table.annotations]
    boxes = np.full((len(table), 4), np.nan)
    for row, (kind, points) in enumerate(zip(table.kinds, table.points)):
        if kind == "bbox" and points and (geometry is None or "bbox" in geometry):
            boxes[row] = points
    assert bbox_points(table).tobytes() == boxes.tobytes()


def test_areas_of_boxes_rings_and_others():
    tasks = [{"name": "a.jpg", "width": 10, "height": 10, "annotations": [
        {"type": "bbox", "value": "cat", "points": [4, 1, 1, 3]},
        {"type": "polygon", "value": "cat", "points": [0, 0, 4, 0, 4, 2]},
        {"type": "segmentation", "value": "cat", "points": [[[0, 0, 2, 0, 2, 2, 0, 2], [1, 1, 1.5, 1, 1.5, 1.5]]]},
        {"type": "classification", "value": "cat"}]}]
    table = _table(tasks)
    assert sdk_areas(table).tolist() == [6.0, 4.0, 4.0, 0.0]  # a hole not subtracted
    assert outer_area_sums(table.rings)[1] == 4.0


def test_columns_of_annotations_that_are_mappings_but_not_dicts():
    class Annotation(Mapping):
        def __init__(self, **fields):
            self.fields = fields

        def __getitem__(self, key):
            return self.fields[key]

        def __iter__(self):
            return iter(self.fields)

        def __len__(self):
            return len(self.fields)

    task = {"name": "a.jpg", "width": 10, "height": 10, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 5, 5]}]}
    table = _table([task])
    table = type(table)(**{**table.__dict__, "annotations": [Annotation(type="bbox", value="dog", points=[1, 1, 5, 5],
                                                                        rotation=30)], "derived": {}})
    assert rotations(table).tolist() == [30.0]
    assert value_codes(table)[1] == ["dog"]


def test_coco_order_of_keys_past_sixteen_bits_and_of_negative_frames():
    rng = np.random.default_rng(7)
    for frames, categories in ((3, 4), (40_000, 3), (2, 70_000)):
        frame = rng.integers(0, frames, 500)
        category = rng.integers(0, categories, 500)
        area = rng.choice([0.0, -0.0, 1.0, 2.5, np.nan], 500)
        assert coco_order(frame, category, area).tolist() == np.lexsort((area, category, frame)).tolist()
    frame, category, area = np.array([1, -1, 0]), np.array([1, 1, 1]), np.zeros(3)
    assert coco_order(frame, category, area).tolist() == [1, 2, 0]


def test_yolo_lines_follow_the_coco_records_order():
    tasks = [{"name": "a.jpg", "width": 100, "height": 100, "annotations": [
        {"type": "bbox", "value": "dog", "points": [0, 0, 50, 50]},
        {"type": "bbox", "value": "cat", "points": [0, 0, 10, 10]},
        {"type": "polygon", "value": "cat", "points": [0, 0, 4, 0, 4, 4]},
        {"type": "bbox", "value": "cat", "points": [0, 0, 2, 2], "rotation": 90},
        {"type": "pose_estimation", "value": "cat", "keypoints": [{"key": "nose", "value": [5, 5, 1]}]}]}]
    coco = ff.to_coco(tasks)
    lines, names = ff.to_yolo(tasks)
    boxes = [record["bbox"] for record in coco["annotations"] if record["num_keypoints"] == 0]
    widths = [round(float(line.split()[3]) * 100, 4) for line in lines[0][1]]
    assert widths == [box[2] for box in boxes]
    report = ConversionReport("yolo")
    table = _table(tasks)
    rows = sdk_rows(table, {"cat": 1, "dog": 2}, report)
    assert rows.order.tolist() == [4, 3, 2, 1, 0] and report.findings == {}  # areas 0 (one keypoint), 4, 8, 100, 2500


def test_the_yolo_writer_takes_the_sdk_rows_from_the_neutral_module():
    import inspect

    from fastlabel_formats import evaluate_inputs, yolo

    assert "from .coco import" not in inspect.getsource(yolo)
    assert "coco_rows" not in inspect.getsource(yolo)
    assert "from .sdk_order import" in inspect.getsource(evaluate_inputs)
