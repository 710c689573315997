"""Our files loaded by the tools users load them into (pycocotools' COCO and COCOeval), and other
people's files (datumaro's test assets, MIT) read by us."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pycocotools.coco as pycocotools_coco  # a dependency: never skipped
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.cocoeval import COCOeval

from fastlabel_formats import coco_tasks, coco_to_fastlabel, export_coco, to_coco
from fastlabel_formats.report import ConversionReport

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_project"
DATUMARO = Path(__file__).parent / "fixtures" / "third_party" / "datumaro"
DEFINITIONS = json.loads((SAMPLE / "annotations.json").read_text())


def load_coco(path: Path):
    with contextlib.redirect_stdout(io.StringIO()):
        return pycocotools_coco.COCO(str(path))


def evaluate(gt, results: list[dict], iou_type: str, sigmas: int | None = None) -> float:
    """AP@[.5:.95] of ``results`` against ``gt`` (quietly)."""
    with contextlib.redirect_stdout(io.StringIO()):
        detections = gt.loadRes(results)
        evaluation = COCOeval(gt, detections, iou_type)
        if sigmas is not None:
            evaluation.params.kpt_oks_sigmas = np.full(sigmas, 0.05)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return round(float(evaluation.stats[0]), 9)


def assert_coco_consumable(path: Path) -> None:
    """Every record has a usable bbox, area and mask, and the ground truth scored as results gives
    AP 1.0 for boxes, masks and (when there are keypoints) keypoints."""
    gt = load_coco(path)
    annotations = gt.loadAnns(gt.getAnnIds())
    for annotation in annotations:
        assert len(annotation["bbox"]) == 4 and annotation["area"] >= 0
        image = gt.imgs[annotation["image_id"]]
        assert gt.annToMask(annotation).shape == (image["height"], image["width"])
    scored = [{**a, "score": 1.0} for a in annotations]
    assert evaluate(gt, [{k: a[k] for k in ("image_id", "category_id", "bbox", "score")} for a in scored],
                    "bbox") == 1.0
    masks = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": gt.annToRLE(a),
              "score": 1.0} for a in annotations]  # loadRes takes masks as RLE only
    assert evaluate(gt, masks, "segm") == 1.0
    with_keypoints = [a for a in scored if a["num_keypoints"]]
    if with_keypoints:
        sizes = {len(gt.cats[a["category_id"]]["keypoints"]) for a in with_keypoints}
        assert len(sizes) == 1 and 3 * sizes.pop() == len(with_keypoints[0]["keypoints"])
        results = [{k: a[k] for k in ("image_id", "category_id", "keypoints", "score")} for a in with_keypoints]
        assert evaluate(gt, results, "keypoints", len(with_keypoints[0]["keypoints"]) // 3) == 1.0


@pytest.mark.parametrize("definitions", [DEFINITIONS, None], ids=["definitions", "no-definitions"])
def test_sample_export_loads_and_evaluates_in_pycocotools(tmp_path, definitions):
    export_coco(SAMPLE / "tasks.json", tmp_path, annotations=definitions)
    assert_coco_consumable(tmp_path / "annotations.json")
    coco = json.loads((tmp_path / "annotations.json").read_text())
    person = next(c for c in coco["categories"] if c["name"] == "person")
    pose = next(a for a in coco["annotations"] if a["category_id"] == person["id"])
    assert len(pose["keypoints"]) == 3 * len(person["keypoints"]) > 0  # keypoints kept without definitions too
    assert pose["num_keypoints"] == sum(v > 0 for v in pose["keypoints"][2::3])


def pose(value: str, located: list[tuple[str, float, float, int]]) -> dict:
    return {"type": "pose_estimation", "value": value,
            "keypoints": [{"key": k, "value": [x, y, v], "edges": []} for k, x, y, v in located]}


def test_pose_box_is_the_enclosing_box_of_its_labelled_keypoints():
    labelled = pose("person", [("nose", 12.5, 4, 1), ("hip", 3, 30.25, 0)])
    labelled["keypoints"].append({"key": "foot", "value": []})
    task = {"name": "p.jpg", "width": 40, "height": 40, "annotations": [labelled, pose("person", [])]}
    report = ConversionReport("coco")
    coco = to_coco([task], report=report)
    (record,) = coco["annotations"]
    assert record["bbox"] == [3, 4, 9.5, 26.25] and record["area"] == 9.5 * 26.25
    assert record["segmentation"] == [[3, 4, 12.5, 4, 12.5, 30.25, 3, 30.25, 3, 4]]
    assert record["keypoints"] == [12.5, 4, 2, 3, 30.25, 1, 0, 0, 0]
    assert coco["categories"][0]["keypoints"] == ["nose", "hip", "foot"]
    assert report.findings["pose_estimation annotation without labelled keypoints skipped"].count == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 40), st.sampled_from([0, 1])),
                         min_size=1, max_size=5), min_size=1, max_size=4))
def test_pose_projects_evaluate_to_ap_one(tmp_path_factory, poses):
    names = [f"k{i}" for i in range(5)]
    annotations = [pose("person", [(names[i], x, y, v) for i, (x, y, v) in enumerate(located)])
                   for located in poses]
    path = tmp_path_factory.mktemp("coco")
    export_coco([{"name": "a.jpg", "width": 64, "height": 48, "annotations": annotations}], path,
                annotations=[{"type": "pose_estimation", "value": "person", "color": "#ff0000",
                              "keypoints": [{"id": n, "key": n, "name": n, "edges": []} for n in names]}])
    coco = json.loads((path / "annotations.json").read_text())
    # a pose whose keypoints all lie on one line has a box of zero area: scored on keypoints only
    if all(a["area"] > 0 for a in coco["annotations"]):
        assert_coco_consumable(path / "annotations.json")
    gt = load_coco(path / "annotations.json")
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"],
                "score": 1.0} for a in coco["annotations"]]
    assert evaluate(gt, results, "keypoints", len(names)) == 1.0


def test_datumaro_keypoints_without_names_keep_their_points_and_box():
    path = DATUMARO / "coco_person_keypoints" / "person_keypoints_train.json"
    report = ConversionReport("coco import")
    (annotation,) = coco_to_fastlabel(path, report=report)["a.jpg"]
    assert annotation["type"] == "bbox" and annotation["points"] == [2, 2, 5, 3]
    assert [{k: kp[k] for k in ("key", "value")} for kp in annotation["keypoints"]] == [
        {"key": "1", "value": []}, {"key": "2", "value": [0, 2, 0]}, {"key": "3", "value": [4, 1, 1]}]
    assert not report.findings
    again = to_coco(coco_tasks(path))
    original = json.loads(path.read_text())["annotations"][0]
    (record,) = again["annotations"]
    assert record["keypoints"] == original["keypoints"] and record["bbox"] == original["bbox"]
    assert again["categories"][0]["keypoints"] == ["1", "2", "3"]
    sdk_mode = ConversionReport("coco import")
    (pose_only,) = coco_to_fastlabel(path, "pose_estimation", report=sdk_mode)["a.jpg"]
    assert pose_only["type"] == "pose_estimation" and len(pose_only["keypoints"]) == 3
    assert sum(f.count for f in sdk_mode.findings.values()) == 1  # the box it cannot keep, reported


def test_our_pose_box_is_not_read_back_as_a_second_annotation(tmp_path):
    annotations = [pose("person", [("a", 1, 2, 1), ("b", 9, 7, 1)])]
    task = {"name": "p.jpg", "width": 40, "height": 40, "annotations": annotations}
    export_coco([task], tmp_path)
    (back,) = coco_to_fastlabel(tmp_path / "annotations.json")["p.jpg"]
    assert back["type"] == "pose_estimation" and [k["value"] for k in back["keypoints"]] == [[1, 2, 1], [9, 7, 1]]


# labelme's own shape rules (labelme.utils.shape_to_mask and its canvas): points per shape type
LABELME_POINTS = {"rectangle": (2, 2), "circle": (2, 2), "line": (2, 2), "point": (1, 1), "linestrip": (2, None),
                  "polygon": (3, None)}
vertex = st.tuples(st.integers(0, 99), st.integers(0, 99))


def flat(vertices: list) -> list:
    return [c for v in vertices for c in v]


annotation_strategy = st.one_of(
    st.lists(vertex, min_size=2, max_size=2).map(lambda v: {"type": "bbox", "value": "b", "points": flat(v)}),
    st.lists(vertex, min_size=1, max_size=6).map(lambda v: {"type": "polygon", "value": "p", "points": flat(v)}),
    st.lists(vertex, min_size=2, max_size=6).map(lambda v: {"type": "line", "value": "l", "points": flat(v)}),
    vertex.map(lambda v: {"type": "keypoint", "value": "k", "points": list(v)}),
    st.lists(st.lists(vertex, min_size=3, max_size=5), min_size=1, max_size=3).map(
        lambda regions: {"type": "segmentation", "value": "s", "points": [[flat(r + r[:1])] for r in regions]}),
    st.sampled_from(["day", "night"]).map(lambda v: {"type": "classification", "value": v}),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(annotation_strategy, max_size=8))
def test_every_labelme_shape_passes_labelmes_rules_and_reads_back(annotations):
    from fastlabel_formats import to_labelme
    from fastlabel_formats.labelme import labelme_annotations

    task = {"name": "dir/a.jpg", "width": 100, "height": 100, "annotations": annotations}
    (document,) = to_labelme([task])
    assert document["imagePath"] == "a.jpg"
    for shape in document["shapes"]:
        low, high = LABELME_POINTS[shape["shape_type"]]
        assert low <= len(shape["points"]) <= (high or low + 10**6)
        assert shape["group_id"] is None or isinstance(shape["group_id"], int)
    back = labelme_annotations(document, "a.json", ConversionReport("labelme import"))
    assert [(a["type"], a["value"], a.get("points")) for a in back] == expected_back(annotations)


def expected_back(annotations: list[dict]) -> list[tuple]:
    """What a labelme round trip gives: polygons of fewer than 3 vertices left out, a one-region
    segmentation as a polygon (its closed ring), image flags after the shapes, once each."""
    out = []
    for a in annotations:
        if a["type"] == "segmentation" and len(a["points"]) == 1:
            out.append(("polygon", a["value"], a["points"][0][0]))
        elif a["type"] != "classification" and (a["type"] != "polygon" or len(a["points"]) >= 6):
            out.append((a["type"], a["value"], a["points"]))
    flags = dict.fromkeys(a["value"] for a in annotations if a["type"] == "classification")
    return out + [("classification", value, None) for value in flags]


def ultralytics_kind(lines: list[str]) -> str:
    """Ultralytics' rule: a label file is boxes (5 values a line) or segments (odd, ≥ 7), not both."""
    sizes = {len(line.split()) for line in lines}
    if not sizes or sizes == {5}:
        return "boxes"
    assert all(n >= 7 and n % 2 for n in sizes), f"a file mixing boxes and segments: {lines}"
    return "segments"


@settings(max_examples=40, deadline=None)
@given(st.lists(annotation_strategy, max_size=8), st.booleans(), st.sampled_from(["image_bbox", "image_segmentation"]))
def test_every_yolo_file_is_boxes_only_or_segments_only(annotations, with_classes, project_type):
    from fastlabel_formats import to_yolo

    task = {"name": "a.jpg", "width": 100, "height": 100, "annotations": annotations}
    labels, _ = to_yolo([task], project_type=project_type, classes=["b", "p", "s"] if with_classes else None)
    for _, lines in labels:
        kind = ultralytics_kind(lines)
        assert kind == "boxes" or project_type == "image_segmentation"
        assert kind == "segments" or project_type != "image_segmentation" or not lines


def test_one_class_order_for_every_target_of_a_run(tmp_path):
    """Definitions order (else classes, else sorted values) in COCO categories, classes.txt and the
    semantic label map alike; unused definitions keep their ids, so train and val splits agree."""
    from fastlabel_formats.targets import TargetOptions, export_targets

    definitions = [{"type": "bbox", "value": "zebra", "color": "#111111"},
                   {"type": "keypoint", "value": "eye", "color": "#222222"},
                   {"type": "polygon", "value": "apple", "color": "#333333"}]
    splits = {"train": [{"name": "a.jpg", "width": 10, "height": 10,
                         "annotations": [{"type": "polygon", "value": "apple", "points": [0, 0, 5, 0, 5, 5]}]}],
              "val": [{"name": "b.jpg", "width": 10, "height": 10,
                       "annotations": [{"type": "bbox", "value": "zebra", "points": [0, 0, 5, 5]}]}]}
    for split, tasks in splits.items():
        export_targets(tasks, {t: tmp_path / split / t for t in ("coco", "yolo", "semantic")},
                       TargetOptions(annotations=definitions))
        coco = json.loads((tmp_path / split / "coco/annotations.json").read_text())
        assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "zebra"), (2, "apple")]
        assert (tmp_path / split / "yolo/classes.txt").read_text() == "zebra\napple\n"
        label_map = json.loads((tmp_path / split / "semantic/label_map.json").read_text())
        assert [(e["index"], e["name"]) for e in label_map] == [(0, "_background_"), (1, "zebra"), (2, "apple")]
    assert (tmp_path / "val/yolo/annotations/b.txt").read_text().startswith("0 ")
    assert (tmp_path / "train/yolo/annotations/a.txt").read_text().startswith("1 ")
    export_targets(splits["train"], {t: tmp_path / "classes" / t for t in ("coco", "semantic")},
                   TargetOptions(classes=["apple", "pear"]))
    coco = json.loads((tmp_path / "classes/coco/annotations.json").read_text())
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "apple"), (2, "pear")]
    with pytest.raises(Exception, match="not both"):
        export_targets(splits["train"], {"coco": tmp_path / "both"}, TargetOptions(annotations=definitions,
                                                                                   classes=["apple"]))


def test_nothing_is_dropped_silently_on_the_way_in_and_out(tmp_path):
    from fastlabel_formats import pascalvoc_to_fastlabel, to_yolo

    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}],
            "categories": [{"id": 1, "name": "crowd"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "iscrowd": 1},
                            {"image_id": 1, "file_name": "a.png", "segments_info": [{"id": 1, "category_id": 1}]}]}
    report = ConversionReport("coco import")
    (crowd,) = coco_to_fastlabel(coco, report=report)["a.jpg"]
    assert crowd["attributes"] == [{"key": "iscrowd", "value": True, "type": "switch"}]
    assert "COCO panoptic annotation not read" in next(iter(report.findings))
    again = to_coco([{"name": "a.jpg", "width": 8, "height": 8, "annotations": [crowd]}])
    assert again["annotations"][0]["iscrowd"] == 1
    voc = pascalvoc_to_fastlabel(DATUMARO / "voc")["2007_000001.jpg"]  # read from the root: no Annotations/
    person, head = voc[1], voc[2]
    assert {"key": "action.phoning", "value": True, "type": "switch"} in person["attributes"]
    assert head == {"value": "head", "points": [5.5, 6, 7.5, 8], "type": "bbox",
                    "attributes": [{"key": "part_of", "value": "person", "type": "text"}]}
    report = ConversionReport("yolo")
    regions = [[[0, 0, 2, 0, 2, 2, 0, 0]], [[4, 4, 6, 4, 6, 6, 4, 4]]]
    two_regions = {"type": "segmentation", "value": "s", "points": regions}
    to_yolo([{"name": "s.jpg", "width": 8, "height": 8, "annotations": [two_regions]}],
            project_type="image_segmentation", report=report)
    assert report.findings["segmentation of several regions written as one line each (one object each in YOLO)"]
    report = ConversionReport("coco")
    to_coco([{"name": "nosize.jpg", "annotations": []}], report=report)
    assert "image with width or height 0 written with that size (COCO consumers need it)" in report.findings
