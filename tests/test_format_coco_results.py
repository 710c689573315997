"""COCO results <-> FastLabel: our results loaded with pycocotools' ``loadRes`` and scored with
``COCOeval`` against the ground truth ``export_coco`` writes (AP 1.0 when they equal it), cocoapi's
own fake results read against a ground truth made for them, round trips both ways."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, FormatError, export_coco
from fastlabel_formats.formats.coco_results import (
    FORMAT,
    coco_results_tasks,
    detect_coco_results,
    export_coco_results,
    to_coco_results,
)

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools not installed")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "third_party" / "cocoapi_results"
PERSON = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
          "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
          "left_ankle", "right_ankle"]
SCORE = [{"key": "score", "value": 1.0}]


def _tasks() -> list[dict]:
    return [
        {"name": "a.jpg", "width": 100, "height": 80, "annotations": [
            {"type": "bbox", "value": "cat", "points": [10, 10, 40, 50], "attributes": SCORE},
            {"type": "polygon", "value": "dog", "points": [50, 10, 90, 10, 90, 60, 50, 60], "attributes": SCORE},
            {"type": "segmentation", "value": "dog", "points": [[[5, 55, 30, 55, 30, 75, 5, 75, 5, 55]]],
             "attributes": SCORE},
            {"type": "bbox", "value": "cat", "points": [60, 60, 70, 79], "rotation": 30, "attributes": SCORE}]},
        {"name": "sub/b.jpg", "width": 64, "height": 64, "annotations": [
            {"type": "bbox", "value": "cat", "points": [1, 1, 20, 20], "attributes": SCORE}]},
        {"name": "empty.jpg", "width": 32, "height": 32, "annotations": []},
    ]


def _evaluate(gt_path: Path, results: Path | list, iou_type: str) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(gt_path))
        detections = truth.loadRes(str(results) if isinstance(results, Path) else results)
        evaluation = COCOeval(truth, detections, iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_results_equal_to_the_ground_truth_score_ap_1(tmp_path, iou_type):
    tasks = _tasks()
    export_coco(tasks, tmp_path / "gt")
    gt = tmp_path / "gt" / "annotations.json"
    report = export_coco_results(tasks, tmp_path / "results", gt=gt, iou_type=iou_type)
    [path] = report.files
    written = json.loads(Path(path).read_text())
    assert len(written) == 5 and all(r["score"] == 1.0 for r in written)
    assert np.allclose(_evaluate(gt, Path(path), iou_type)[:3], 1.0)
    if iou_type == "bbox":  # the rotated box is written as its enclosing box, and says so
        assert list(report.findings) == ["bbox rotation dropped (a result box is its axis-aligned enclosing box)"]
    else:
        assert report.ok and all(isinstance(r["segmentation"]["counts"], str) and "bbox" not in r for r in written)


def test_keypoint_results_score_ap_1(tmp_path):
    keypoints = [{"key": name, "value": [10 + 3 * i, 20 + 2 * i, 1] if i % 4 else []} for i, name in enumerate(PERSON)]
    tasks = [{"name": "p.jpg", "width": 200, "height": 200, "annotations": [
        {"type": "pose_estimation", "value": "person", "keypoints": keypoints, "attributes": SCORE},
        {"type": "bbox", "value": "person", "points": [0, 0, 5, 5], "attributes": SCORE}]}]
    definitions = [{"type": "pose_estimation", "value": "person", "title": "person",
                    "keypoints": [{"id": n, "key": n, "name": n, "edges": []} for n in PERSON]}]
    export_coco(tasks, tmp_path / "gt", annotations=definitions)
    gt = tmp_path / "gt" / "annotations.json"
    report = ConversionReport("coco_results")
    results = to_coco_results(tasks, gt=gt, iou_type="keypoints", report=report)
    assert len(results) == 1 and len(results[0]["keypoints"]) == 3 * len(PERSON)
    assert list(report.findings) == [
        "bbox annotation without keypoints of its category not written in keypoint results"]
    assert np.allclose(_evaluate(gt, results, "keypoints")[:3], 1.0)


def test_ids_are_the_ground_truths_or_the_coco_exporters(tmp_path):
    tasks = _tasks()
    truth = {"images": [{"id": 70, "file_name": "sub/b.jpg", "width": 64, "height": 64},
                        {"id": 9, "file_name": "a.jpg", "width": 100, "height": 80}],
             "categories": [{"id": 5, "name": "dog"}, {"id": 3, "name": "cat"}], "annotations": []}
    results = to_coco_results(tasks, gt=truth)
    # in annotation order (COCOeval ranks results of equal score by it)
    assert [(r["image_id"], r["category_id"]) for r in results] == [(9, 3), (9, 5), (9, 5), (9, 3), (70, 3)]
    export_coco(tasks, tmp_path / "gt")
    coco = json.loads((tmp_path / "gt" / "annotations.json").read_text())
    records = {(a["image_id"], a["category_id"], tuple(a["bbox"])) for a in coco["annotations"]}
    assert {(r["image_id"], r["category_id"], tuple(r["bbox"])) for r in to_coco_results(tasks)} == records


def test_unscored_and_unknown_annotations_are_reported():
    tasks = copy.deepcopy(_tasks())
    tasks[0]["annotations"][0]["attributes"] = []
    tasks[0]["annotations"].append({"type": "bbox", "value": "bird", "points": [1, 1, 9, 9], "attributes": SCORE})
    truth = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "cat"},
                                                                           {"id": 2, "name": "dog"}]}
    report = ConversionReport("coco_results")
    results = to_coco_results(tasks, gt=truth, report=report)
    assert len(results) == 3
    assert {k: f.count for k, f in report.findings.items()} == {
        "annotation without a numeric score attribute not written (give score= for a default)": 1,
        "annotation whose value is no category of the ground truth not written": 1,
        "annotation of an image missing from the ground truth not written": 1,
        "bbox rotation dropped (a result box is its axis-aligned enclosing box)": 1}
    assert len(to_coco_results(tasks, gt=truth, score=0.5)) == 4


def _cocoapi_truth(results: list[dict], keypoints: bool) -> dict:
    """A ground truth for cocoapi's fake results: their images (large enough) and categories."""
    images = sorted({r["image_id"] for r in results})
    categories = sorted({r["category_id"] for r in results})
    return {"images": [{"id": i, "file_name": f"{i:012d}.jpg", "width": 1000, "height": 1000} for i in images],
            "categories": [{"id": c, "name": f"class{c}", **({"keypoints": PERSON} if keypoints else {})}
                           for c in categories], "annotations": []}


@pytest.mark.parametrize("name", ["instances_val2014_fakebbox100_results.json",
                                  "person_keypoints_val2014_fakekeypoints100_results.json"])
def test_cocoapi_results_read_and_written_back(name):
    path = FIXTURES / name
    records = json.loads(path.read_text())
    keypoints = "keypoints" in records[0]
    truth = _cocoapi_truth(records, keypoints)
    report = ConversionReport("coco_results import")
    tasks = coco_results_tasks(path, gt=truth, report=report)
    annotations = [a for t in tasks for a in t["annotations"]]
    assert len(tasks) == len(truth["images"]) and len(annotations) == len(records)
    assert sorted(a["attributes"][0]["value"] for a in annotations) == sorted(r["score"] for r in records)
    again = to_coco_results(tasks, gt=truth, iou_type="keypoints" if keypoints else "bbox")
    key = "keypoints" if keypoints else "bbox"
    order = lambda r: (r["image_id"], r["category_id"], r["score"], tuple(r[key]))  # noqa: E731
    ordered, written = sorted(records, key=order), sorted(again, key=order)
    assert [(r["image_id"], r["category_id"]) for r in written] == [(r["image_id"], r["category_id"]) for r in ordered]
    for before, after in zip(ordered, written):
        if keypoints:  # positions kept; a visibility 0 with a position comes back as 1 (COCOeval ignores it)
            assert np.allclose(np.reshape(after[key], (-1, 3))[:, :2], np.reshape(before[key], (-1, 3))[:, :2])
        else:
            assert np.allclose(after[key], before[key], atol=1e-6)
    if keypoints:
        assert "result keypoint with visibility 0 (a position) read as invisible" in report.findings
    else:
        assert report.ok


def test_ground_truth_is_required_and_checked(tmp_path):
    with pytest.raises(FormatError, match="--gt"):
        coco_results_tasks([])
    with pytest.raises(FormatError, match="needs 'images' and 'categories'"):
        coco_results_tasks([], gt={"images": []})
    path = tmp_path / "results.json"
    path.write_text('{"image_id": 1}')
    with pytest.raises(FormatError, match="results.json: a COCO results file holds a list"):
        coco_results_tasks(path, gt={"images": [], "categories": []})


def test_bad_results_cost_only_themselves():
    truth = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
             "categories": [{"id": 1, "name": "cat"}]}
    results = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5},
               {"image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5},
               {"image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2], "score": 0.5},
               {"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}, "junk"]
    frozen, frozen_truth = copy.deepcopy(results), copy.deepcopy(truth)
    report = ConversionReport("coco_results import")
    [task] = coco_results_tasks(results, gt=truth, report=report)
    assert results == frozen and truth == frozen_truth
    assert [a["attributes"] for a in task["annotations"]] == [[{"key": "score", "value": 0.5}], []]
    places = [p for f in report.findings.values() for p in f.examples]
    assert sum(f.count for f in report.findings.values()) == 4
    assert any("results: result #1" in p for p in places) and any("results: result #3" in p for p in places)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 90), st.floats(0, 90), st.floats(0.5, 60), st.floats(0.5, 60),
                          st.floats(0, 1), st.sampled_from(["a", "b"])), min_size=1, max_size=8))
def test_results_round_trip(boxes):
    truth = {"images": [{"id": 4, "file_name": "x.jpg", "width": 160, "height": 160}],
             "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    results = [{"image_id": 4, "category_id": 1 if c == "a" else 2, "bbox": [x, y, w, h], "score": s}
               for x, y, w, h, s, c in boxes]
    tasks = coco_results_tasks(results, gt=truth)
    again = to_coco_results(tasks, gt=truth)
    key = lambda r: (r["category_id"], r["score"], tuple(r["bbox"]))  # noqa: E731
    assert len(again) == len(results)
    for before, after in zip(sorted(results, key=key), sorted(again, key=key)):
        assert (before["category_id"], before["score"]) == (after["category_id"], after["score"])
        assert np.allclose(before["bbox"], after["bbox"], atol=1e-6)


def test_detect_and_record(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 0.3}]))
    assert detect_coco_results(path) > 0.5
    assert detect_coco_results(FIXTURES / "LICENSE") == 0
    path.write_text('{"images": [], "annotations": []}')
    assert detect_coco_results(path) == 0
    assert FORMAT.name == "coco_results" and FORMAT.read is not None and FORMAT.target is not None


def test_auto_detection_and_worker_processes(tmp_path):
    from fastlabel_formats import formats

    for path in FIXTURES.glob("*.json"):
        assert formats.detect(path) == "coco_results"
    tasks = [{"name": f"i{n}.jpg", "width": 50, "height": 40, "annotations": [
        {"type": "bbox", "value": "a", "points": [1, 2, 3 + n, 4], "attributes": [{"key": "score", "value": n / 30}]}]}
        for n in range(30)]
    one = export_coco_results(tasks, tmp_path / "one")
    two = export_coco_results(tasks, tmp_path / "two", jobs=2)
    assert Path(one.files[0]).read_bytes() == Path(two.files[0]).read_bytes()
    assert [r["image_id"] for r in json.loads(Path(one.files[0]).read_bytes())] == list(range(1, 31))


REAL = Path(__file__).parent / "fixtures" / "third_party" / "cocoapi"  # COCO val2014 subset with its results


@pytest.mark.parametrize("name, iou_type", [("instances_val2014_fakebbox_subset_results.json", "bbox"),
                                            ("instances_val2014_fakesegm_subset_results.json", "segm")])
def test_cocoapi_results_on_their_ground_truth_score_the_same_after_a_round_trip(name, iou_type):
    """cocoapi's example results read against COCO's own ground truth and written back: COCOeval gives
    the same numbers, every box equal, every mask the same pixels."""
    gt, path = REAL / "instances_val2014_subset.json", REAL / name
    if not (gt.is_file() and path.is_file()):
        pytest.skip("the cocoapi val2014 subset is not in the fixtures")
    from pycocotools import mask as coco_mask

    report = ConversionReport("coco_results import")
    tasks = coco_results_tasks(path, gt=gt, report=report)
    assert report.ok
    again = to_coco_results(tasks, gt=gt, iou_type=iou_type, holes="rle")
    original = json.loads(path.read_text())
    assert [(r["image_id"], r["category_id"], r["score"]) for r in sorted(again, key=lambda r: r["image_id"])] == \
        [(r["image_id"], r["category_id"], r["score"]) for r in sorted(original, key=lambda r: r["image_id"])]
    for before, after in zip(sorted(original, key=lambda r: r["image_id"]), sorted(again, key=lambda r: r["image_id"])):
        if iou_type == "bbox":
            assert before["bbox"] == after["bbox"]
        else:
            assert np.array_equal(coco_mask.decode(before["segmentation"]), coco_mask.decode(after["segmentation"]))
    assert np.array_equal(_evaluate(gt, path, iou_type), _evaluate(gt, again, iou_type))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(-1e7, 1e7), st.floats(0, 1e18)),
                         min_size=4, max_size=4), max_size=20))
def test_result_boxes_round_as_each_box_alone(boxes):
    """The boxes of a whole table rounded at once equal each box rounded alone (the old per-result way)."""
    from fastlabel_formats.formats.coco_results import result_boxes
    from fastlabel_formats.geometry import integral_to_int, python_round

    alone = [integral_to_int(python_round(np.asarray(box, np.float64))) for box in boxes]
    together = result_boxes([{"bbox": box} for box in boxes])
    assert together == alone
    assert [list(map(type, box)) for box in together] == [list(map(type, box)) for box in alone]


def test_ground_truth_file_is_read_for_its_images_and_categories_only(tmp_path):
    """The ground truth's annotations are skipped but still checked as JSON; what is not a COCO
    object, or not JSON, is an error naming the file."""
    from fastlabel_formats.formats.coco_results import ground_truth

    document = {"info": {"x": [1, {"y": None}]}, "images": [{"id": 7, "file_name": "a.jpg", "width": 4, "height": 3}],
                "annotations": [{"anything": [1.5, "x", {"deep": [[]]}]}] * 3,
                "categories": [{"id": 2, "name": "cat", "keypoints": ["nose"]}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    truth = ground_truth(path)
    assert truth.document == {"images": document["images"], "categories": document["categories"]}
    assert (truth.images, truth.categories, truth.keypoints) == ({"a.jpg": 7}, {"cat": 2}, {"cat": ["nose"]})
    path.write_text(json.dumps(document)[:-40])  # cut inside the annotations
    with pytest.raises(FormatError, match="gt.json: not valid JSON"):
        ground_truth(path)
    path.write_text("[1, 2]")
    with pytest.raises(FormatError, match="needs 'images' and 'categories' lists"):
        ground_truth(path)


@pytest.mark.parametrize("name", ["instances_val2014_fakebbox100_results.json",
                                  "person_keypoints_val2014_fakekeypoints100_results.json"])
def test_a_results_file_reads_as_its_parsed_list(name, tmp_path):
    """A file decoded straight into records gives the tasks and findings of the same list parsed
    first; a file with an entry that is not an object is read the careful way, that entry reported."""
    path = FIXTURES / name
    records = json.loads(path.read_text())
    truth = _cocoapi_truth(records, "keypoints" in records[0])
    records[3].pop("score")
    path = tmp_path / name
    path.write_text(json.dumps(records))
    from_file, from_list = ConversionReport("coco_results import"), ConversionReport("coco_results import")
    tasks = coco_results_tasks(path, gt=truth, report=from_file)
    assert tasks == coco_results_tasks(copy.deepcopy(records), gt=truth, report=from_list)
    assert {kind: (f.count, [e.replace(str(path), "results") for e in f.examples])
            for kind, f in from_file.findings.items()} == \
        {kind: (f.count, f.examples) for kind, f in from_list.findings.items()}
    assert from_file.findings["result without a numeric score, read without one"].examples == [f"{path}: result #3"]
    path.write_text(json.dumps([*records[:5], 7, *records[5:]]))
    careful = ConversionReport("coco_results import")
    assert len([a for t in coco_results_tasks(path, gt=truth, report=careful) for a in t["annotations"]]) == \
        len(records)
    assert any("result #5" in example for f in careful.findings.values() for example in f.examples)


def test_results_and_ground_truth_nested_deeper_than_msgspec_reads_go_the_careful_way(tmp_path):
    """A value nested thousands deep (past msgspec's depth limit, within orjson's) is read as before."""
    deep = "[" * 5000 + "]" * 5000
    gt = tmp_path / "gt.json"
    gt.write_text('{"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}], '
                  '"categories": [{"id": 1, "name": "c"}], "annotations": [{"x": ' + deep + '}]}')
    results = tmp_path / "r.json"
    results.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5, "extra": '
                       + deep + '}]')
    tasks = coco_results_tasks(results, gt=gt)
    assert [a["points"] for a in tasks[0]["annotations"]] == [[1, 1, 3, 3]]
