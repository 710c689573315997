"""The compact COCO writer's plain-box records (their JSON made from the numbers at once) are the
bytes orjson writes for the records :func:`to_coco` builds, whatever mix of rows a table holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats import coco_json
from fastlabel_formats.jsonparts import number_texts

numbers = st.one_of(st.integers(-5000, 5000), st.floats(-5000, 5000, allow_nan=False, allow_infinity=False),
                    st.sampled_from([0.1 + 0.2, 1e-7, 123456789.125, -0.0, 2.5e15]))
boxes = st.tuples(numbers, numbers, numbers, numbers).map(list)
attributes = st.one_of(st.just([]), st.just(None), st.lists(st.fixed_dictionaries({
    "key": st.sampled_from(["iscrowd", "occluded", "coco_bbox"]),
    "value": st.one_of(st.booleans(), st.integers(0, 2), st.just([1, 2, 3, 4]))}), max_size=2))
rotations = st.sampled_from([None, 0, 0.0, 15, 30.5, False])


@st.composite
def annotations(draw) -> dict:
    kind = draw(st.sampled_from(["bbox", "bbox", "bbox", "polygon", "pose_estimation"]))
    annotation = {"type": kind, "value": draw(st.sampled_from(["cat", "dog", "bird"]))}
    if kind == "bbox":
        annotation["points"] = draw(boxes)
    elif kind == "polygon":
        annotation["points"] = draw(st.lists(numbers, min_size=6, max_size=10).filter(lambda p: len(p) % 2 == 0))
    else:
        annotation["keypoints"] = [{"key": "nose", "value": [draw(numbers), draw(numbers), 1]}]
    if (rotation := draw(rotations)) is not None:
        annotation["rotation"] = rotation
    if (attribute_list := draw(attributes)) is not None:
        annotation["attributes"] = attribute_list
    if kind == "bbox" and draw(st.booleans()):
        annotation["keypoints"] = draw(st.sampled_from([[], [{"key": "nose", "value": [1, 2, 1]}]]))
    return annotation


tasks_lists = st.lists(st.builds(lambda number, found: {"name": f"img_{number}.jpg", "width": 640, "height": 480,
                                                          "annotations": found},
                                 st.integers(0, 10**6), st.lists(annotations(), max_size=6)),
                       min_size=1, max_size=5, unique_by=lambda task: task["name"])


def written(tasks: list[dict], **options) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        ff.export_coco(tasks, folder, overwrite=True, **options)
        return (Path(folder) / "annotations.json").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks_lists)
def test_compact_file_is_orjson_of_the_records(tasks):
    assert written(tasks) == orjson.dumps(ff.to_coco(tasks))


def test_plain_and_other_records_keep_their_ids_and_order():
    plain = {"type": "bbox", "value": "cat", "points": [10, 20.5, 30, 40]}
    rotated = {**plain, "rotation": 0.0}
    with_attribute = {**plain, "attributes": [{"key": "iscrowd", "value": True}]}
    tasks = [{"name": "a.jpg", "width": 64, "height": 64, "annotations": [plain, rotated, with_attribute, plain]},
             {"name": "b.jpg", "width": 64, "height": 64, "annotations": [with_attribute, plain]}]
    document = orjson.loads(written(tasks))
    assert [record["id"] for record in document["annotations"]] == list(range(1, 7))
    assert [record["image_id"] for record in document["annotations"]] == [1, 1, 1, 1, 2, 2]
    assert sorted(record["iscrowd"] for record in document["annotations"]) == [0, 0, 0, 0, 1, 1]
    assert sum(type(record["rotation"]) is float for record in document["annotations"]) == 1
    assert written(tasks) == orjson.dumps(ff.to_coco(tasks))


def test_plain_box_json_writes_each_number_as_orjson():
    assert number_texts([1, -0.0, 0.1 + 0.2, 1e-7, 2.5e15, True]) == \
        [b"1", b"-0.0", b"0.30000000000000004", b"1e-7", b"2500000000000000.0", b"true"]
    record = coco_json.PLAIN_BOX_RECORD % ((b"1",) * 11 + (2,) + (b"3",) * 4 + (4, 5))
    assert list(orjson.loads(record)) == ["num_keypoints", "keypoints", "segmentation", "iscrowd", "area",
                                          "image_id", "bbox", "rotation", "category_id", "id", "attributes"]


def test_parallel_build_writes_the_same_bytes(tmp_path):
    tasks = [{"name": f"{number:03}.jpg", "width": 100, "height": 80,
              "annotations": [{"type": "bbox", "value": "cat", "points": [number, 1.5, number + 10, 20.25]},
                              {"type": "bbox", "value": "dog", "points": [1, 2, 3, 4], "rotation": 10}]}
             for number in range(40)]
    assert written(tasks, jobs=2) == written(tasks) == orjson.dumps(ff.to_coco(tasks))


def test_findings_keep_their_order(tmp_path):
    tasks = [{"name": "a.jpg", "width": 0, "height": 0, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 2, 3, 4]},
        {"type": "line", "value": "dog", "points": [1, 2, 3, 4]},
        {"type": "bbox", "value": "cat", "points": [1, 1, 1, 1]}]}]
    report = ff.export_coco(tasks, tmp_path, overwrite=True)
    assert [kind.split(" (")[0] for kind in report.findings] == [
        "image with width or height 0 written with that size", "line annotation not representable in coco",
        "degenerate bbox"]
    dict_report = ff.ConversionReport("coco")
    ff.to_coco(tasks, report=dict_report)
    assert list(dict_report.findings) == list(report.findings)
