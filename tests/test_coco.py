"""FastLabel -> COCO: every worked example of formats-spec.md §1, golden values by hand."""

from __future__ import annotations

import json

import pytest
from conftest import ann, task

from fastlabel_formats import FormatError, export_coco, to_coco


def spec_example_tasks() -> list[dict]:
    return [
        task("a.jpg", 100, 80,
             ann("polygon", "dog", [10, 10, 50, 10, 50, 40, 10, 40], color="#00ff00",
                 attributes=[{"key": "k", "value": "v", "type": "text"}]),
             ann("bbox", "cat", [0, 0, 20, 20], color="#ff0000"),
             ann("bbox", "cat", [5, 5, 7, 7], color="#ff0000")),
        task("empty.jpg", 10, 10),
        task("dir/b.jpg", 30, 20,
             ann("bbox", "ant", [1, 1, 4, 4], color="#0000ff"),
             ann("keypoint", "kp", [3, 3], color="#999999")),
    ]


def test_spec_example_images_categories_and_order(frozen):
    coco = to_coco(frozen(spec_example_tasks()))
    assert list(coco) == ["images", "categories", "annotations"]
    assert coco["images"] == [
        {"file_name": "a.jpg", "height": 80, "width": 100, "id": 1},
        {"file_name": "empty.jpg", "height": 10, "width": 10, "id": 2},
        {"file_name": "dir/b.jpg", "height": 20, "width": 30, "id": 3},
    ]
    assert [(c["id"], c["name"], c["supercategory"]) for c in coco["categories"]] == [
        (1, "ant", "ant"), (2, "cat", "cat"), (3, "dog", "dog")]
    # D2: each category takes the colour of the first annotation with its value
    assert [c["color"] for c in coco["categories"]] == ["#0000ff", "#ff0000", "#00ff00"]
    assert [(a["id"], a["image_id"], a["category_id"], a["area"]) for a in coco["annotations"]] == [
        (1, 1, 2, 4), (2, 1, 2, 400), (3, 1, 3, 1200), (4, 3, 1, 9)]


def test_spec_example_annotation_record():
    polygon = to_coco(spec_example_tasks())["annotations"][2]
    assert list(polygon) == ["num_keypoints", "keypoints", "segmentation", "iscrowd", "area",
                             "image_id", "bbox", "rotation", "category_id", "id", "attributes"]
    assert polygon == {
        "num_keypoints": 0, "keypoints": [], "segmentation": [[10, 10, 50, 10, 50, 40, 10, 40]],
        "iscrowd": 0, "area": 1200, "image_id": 1, "bbox": [10, 10, 40, 30], "rotation": 0,
        "category_id": 3, "id": 3, "attributes": {"k": "v"},
    }
    box = to_coco(spec_example_tasks())["annotations"][0]
    assert box["segmentation"] == [[5, 5, 7, 5, 7, 7, 5, 7, 5, 5]]
    assert all(isinstance(v, int) for v in box["bbox"] + [box["area"]])


def test_vertices_rounded_to_six_decimals_before_bounds():
    coco = to_coco([task("r.jpg", 10, 10,
                         ann("bbox", "a", [1.23456789, 2, 5.9999999, 7]),
                         ann("polygon", "b", [1.23456789, 2.0000004, 10.5, 2, 10.5, 9.9999999]))])
    box, polygon = coco["annotations"]
    assert box["bbox"] == [1.234568, 2, 4.765432, 5]
    assert polygon["bbox"] == [1.234568, 2, 9.265432, 8]
    # segmentation and area use the unrounded input
    assert box["segmentation"][0][:2] == [1.23456789, 2]


def test_rotated_bbox_d1():
    coco = to_coco([task("r.jpg", 100, 100,
                         ann("bbox", "a", [0, 0, 10, 20], rotation=90),
                         ann("bbox", "b", [10.5, 10, 30, 20.25], rotation=30))])
    by_category = {a["category_id"]: a for a in coco["annotations"]}
    assert by_category[1]["bbox"] == [-5, 5, 20, 10]
    assert by_category[1]["rotation"] == 90
    # the rotated rectangle itself, the one geometry its bbox encloses (not the un-rotated box)
    assert by_category[1]["segmentation"] == [[15, 5, 15, 15, -5, 15, -5, 5, 15, 5]]
    assert by_category[1]["area"] == 200
    assert by_category[2]["bbox"] == [9.243752, 5.81162, 22.012495, 18.62676]


def test_bbox_area_is_absolute_d3():
    coco = to_coco([task("r.jpg", 10, 10, ann("bbox", "a", [8, 2, 2, 8]), ann("bbox", "a", [0, 0, 5, 1]))])
    assert [a["area"] for a in coco["annotations"]] == [5, 36]
    assert coco["annotations"][1]["bbox"] == [2, 2, 6, 6]


@pytest.mark.parametrize(("points", "kept"), [
    ([1, 1, 1.9, 5], False), ([0.9, 0, 1.1, 5], True), ([3, 3, 3, 9], False), ([3, 3, 9, 3.5], False)])
def test_degenerate_bbox_rule(points, kept):
    coco = to_coco([task("r.jpg", 10, 10, ann("bbox", "a", points))])
    assert len(coco["annotations"]) == (1 if kept else 0)


def test_unsupported_and_empty_annotations_are_skipped_and_reported():
    from fastlabel_formats import ConversionReport
    report = ConversionReport("coco")
    coco = to_coco([task("r.jpg", 10, 10, ann("keypoint", "k", [1, 1]), ann("line", "l", [1, 1, 2, 2]),
                         ann("polygon", "p", []), ann("classification", "c"))], report=report)
    assert coco["annotations"] == []
    assert [c["name"] for c in coco["categories"]] == ["p"]
    assert {f.kind: f.count for f in report.findings.values()} == {
        "keypoint annotation not representable in coco": 1,
        "line annotation not representable in coco": 1,
        "classification annotation not representable in coco": 1,
        "polygon annotation without points skipped": 1,
    }


def test_segmentation_outer_rings_and_area_without_holes():
    seg = [[[0, 0, 10, 0, 10, 10, 0, 10, 0, 0], [2, 2, 2, 4, 4, 4, 4, 2, 2, 2]], [[20, 20, 30, 20, 30, 22, 20, 20]]]
    record = to_coco([task("s.jpg", 40, 40, ann("segmentation", "s", seg))])["annotations"][0]
    assert record["segmentation"] == [seg[0][0], seg[1][0]]
    assert record["area"] == 100 + 10  # holes are not subtracted (reference behaviour)
    assert record["bbox"] == [0, 0, 30, 22]


DEFINITIONS = [
    {"type": "segmentation", "value": "zebra", "color": "#111111"},
    {"type": "pose_estimation", "value": "person", "color": "#222222", "keypoints": [
        {"id": "a", "key": "head", "color": "#aa0000", "edges": ["c"]},
        {"id": "b", "key": "neck", "color": "#00aa00", "edges": ["a"]},
        {"id": "c", "key": "hip", "color": "#0000aa", "edges": []},
        {"id": "d", "key": "extra", "color": "#000000", "edges": ["zzz"]}]},
    {"type": "bbox", "value": "car", "color": "#333333"},
    {"type": "bbox", "value": "unused", "color": "#444444"},
]


def pose_task() -> dict:
    return task("p.jpg", 100, 100,
                {"type": "pose_estimation", "value": "person", "keypoints": [
                    {"key": "head", "value": [10, 11, 1]}, {"key": "neck", "value": [20, 21, 0]},
                    {"key": "hip", "value": []}]},
                ann("bbox", "car", [0, 0, 10, 10]), ann("segmentation", "zebra", [[[0, 0, 4, 0, 4, 4, 0, 0]]]),
                ann("bbox", "unknown", [0, 0, 5, 5]))


def test_definitions_order_keypoints_and_skeleton_d4_d5():
    coco = to_coco([pose_task()], annotations=DEFINITIONS)
    # every classed definition is a category, used or not: splits exported apart get the same ids
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "zebra"), (2, "person"), (3, "car"),
                                                                  (4, "unused")]
    person = coco["categories"][1]
    assert person["keypoints"] == ["head", "neck", "hip", "extra"]
    assert person["keypoint_colors"] == ["#aa0000", "#00aa00", "#0000aa", "#000000"]
    assert person["skeleton"] == [[1, 3], [2, 1]]
    assert coco["categories"][2]["keypoints"] == [] and coco["categories"][2]["skeleton"] == []
    pose = next(a for a in coco["annotations"] if a["category_id"] == 2)
    assert pose["num_keypoints"] == 2
    assert pose["keypoints"] == [10, 11, 2, 20, 21, 1, 0, 0, 0, 0, 0, 0]
    # the enclosing box of the labelled keypoints (invisible ones included), as bbox, area and ring
    assert pose["bbox"] == [10, 11, 10, 10] and pose["area"] == 100
    assert pose["segmentation"] == [[10, 11, 20, 11, 20, 21, 10, 21, 10, 11]]
    # the value without a definition is dropped
    assert len(coco["annotations"]) == 3


def test_output_file_name_and_reference_bytes(tmp_path):
    with pytest.raises(FormatError, match="must end with .json"):
        export_coco(spec_example_tasks(), tmp_path, output_file_name="coco.txt")
    assert not any(tmp_path.iterdir())
    report = export_coco(spec_example_tasks(), tmp_path, output_file_name="X.JSON", indent=4)
    written = (tmp_path / "X.JSON").read_text(encoding="utf-8")
    expected = to_coco(spec_example_tasks())
    assert written == json.dumps(expected, indent=4, ensure_ascii=False)
    assert report.files == [tmp_path / "X.JSON"]
    export_coco(spec_example_tasks(), tmp_path)
    assert json.loads((tmp_path / "annotations.json").read_bytes()) == expected


def test_video_frames_from_counts():
    video_task = task("dir/clip.mp4", 64, 48,
                      ann("bbox", "car", {"1": {"value": [0, 0, 10, 10], "autogenerated": False},
                                          "3": {"value": [5, 5, 20, 20], "autogenerated": True},
                                          "9": {"value": [1, 1, 2, 2], "autogenerated": True}}))
    second = task("long.name.mp4", 64, 48)
    coco = to_coco([video_task, second], project_type="video_bbox",
                   frame_counts={"dir/clip.mp4": 3, "long.name.mp4": 12})
    names = [i["file_name"] for i in coco["images"]]
    assert names[:3] == ["clip_0.jpg", "clip_1.jpg", "clip_2.jpg"]
    assert names[3:5] == ["long.name_00.jpg", "long.name_01.jpg"] and names[-1] == "long.name_11.jpg"
    assert [i["id"] for i in coco["images"]] == list(range(1, 16))
    assert [(a["image_id"], a["bbox"]) for a in coco["annotations"]] == [(1, [0, 0, 10, 10]), (3, [5, 5, 15, 15])]


def test_video_without_frames_is_a_clear_error():
    with pytest.raises(FormatError, match="clip.mp4.*frame count"):
        to_coco([task("clip.mp4", 10, 10)], project_type="video_bbox")


def test_streamed_file_equals_the_dict_across_chunks(tmp_path, monkeypatch):
    import orjson

    import fastlabel_formats.table as table_module
    tasks = spec_example_tasks() * 3
    expected = orjson.dumps(to_coco(tasks))
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 2)
    export_coco(tasks, tmp_path)
    assert (tmp_path / "annotations.json").read_bytes() == expected
    assert [a["id"] for a in to_coco(tasks)["annotations"]] == list(range(1, 13))
    assert [a["image_id"] for a in to_coco(tasks)["annotations"]][-4:] == [7, 7, 7, 9]
