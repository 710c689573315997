"""Offline evaluation (``fastlabel_formats.evaluation``): every number equals pycocotools' COCOeval run
the way its users run it (``COCO(file)``, ``loadRes(file)``, ``evaluate/accumulate/summarize``), on
cocoapi's published example results, on the sample project with perturbed predictions and on
hypothesis-generated pairs, for every installed backend."""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import fastlabel_formats as ff
from fastlabel_formats.errors import FormatError
from fastlabel_formats.evaluation import BACKENDS, METRICS, EvaluationResult, cli_evaluate, evaluate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample_project"
COCOAPI = Path(__file__).parent / "fixtures" / "third_party" / "cocoapi"
FASTER = Path(__file__).parent / "fixtures" / "third_party" / "faster_coco_eval"
INSTALLED = [name for name in BACKENDS if importlib.util.find_spec(name.replace("-", "_")) is not None]
EXACT = 1e-9


def reference(gt_file: Path, results: list | Path, iou_type: str, categories: list[int] | None = None,
              sigmas: np.ndarray | None = None) -> np.ndarray:
    """pycocotools' summary numbers (``COCOeval.stats``), optionally for some categories only."""
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(gt_file))
        predicted = truth.loadRes(str(results) if isinstance(results, Path) else copy.deepcopy(results))
        evaluator = COCOeval(truth, predicted, iou_type)
        if categories is not None:
            evaluator.params.catIds = categories
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = sigmas
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def assert_same(result: EvaluationResult, expected: np.ndarray, values: dict | None = None) -> None:
    values = result.metrics if values is None else values
    names = [metric.name for metric in METRICS["keypoints" if result.iou_type == "keypoints" else "bbox"]]
    assert list(values) == names
    assert np.allclose(list(values.values()), expected, rtol=0, atol=EXACT), (values, expected)


def assert_classes_same(result: EvaluationResult, gt_file: Path, results: list | Path, names: list[str],
                        sigmas: np.ndarray | None = None) -> None:
    """Each named class's numbers equal pycocotools' run on that category alone."""
    ids = {category["name"]: category["id"] for category in json.loads(gt_file.read_text())["categories"]}
    for name in names:
        expected = reference(gt_file, results, result.iou_type, [ids[name]], sigmas)
        assert_same(result, expected, result.per_class[name])


# ---------------------------------------------------------------------------------------------
# cocoapi's published example results


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_cocoapi_example_results(iou_type, backend):
    gt_file = COCOAPI / "instances_val2014_subset.json"
    results = COCOAPI / f"instances_val2014_fake{iou_type}_subset_results.json"
    result = evaluate(gt_file, results, iou_type=iou_type, backend=backend)
    assert result.backend == backend
    expected = reference(gt_file, results, iou_type)
    assert expected[0] > 0.2  # a real evaluation, not an empty one
    assert_same(result, expected)
    assert result.report.ok
    assert_classes_same(result, gt_file, results, ["person", "dog", "bus"])
    assert result.per_class["toaster"]["AP"] == -1.0  # no ground truth: pycocotools' -1


@pytest.mark.parametrize("backend", INSTALLED)
def test_keypoint_example_results(backend):
    gt_file, results = FASTER / "keypoints_gt.json", FASTER / "keypoints_dt.json"
    result = evaluate(gt_file, results, iou_type="keypoints", backend=backend)
    expected = reference(gt_file, results, "keypoints")
    assert expected[0] > 0.1
    assert_same(result, expected)
    assert_same(result, expected, result.per_class["person"])


def test_results_of_unknown_images_are_reported_and_the_rest_scored(tmp_path):
    gt_file = COCOAPI / "instances_val2014_subset.json"
    results = json.loads((COCOAPI / "instances_val2014_fakebbox_subset_results.json").read_text())
    bad = [*results, {**results[0], "image_id": 999_999_999}, {**results[1], "score": "high"}]
    result = evaluate(gt_file, bad, iou_type="bbox", backend="pycocotools")
    assert_same(result, reference(gt_file, results, "bbox"))
    kinds = {finding.kind: finding for finding in result.report.findings.values()}
    assert kinds["predictions: result whose image_id is not an image of the ground truth, skipped"].examples == [
        f"predictions: result #{len(results)}"]
    assert "predictions: result without a numeric score, skipped" in kinds


# ---------------------------------------------------------------------------------------------
# The sample project with perturbed predictions


def sample_tasks() -> list[dict]:
    return json.loads((SAMPLE / "tasks.json").read_text())


def perturbed(tasks: list[dict], seed: int) -> list[dict]:
    """Predictions: each box of ``tasks`` moved a little (sometimes twice, sometimes missed), a false
    box per image, each with a score (boxes unrotated); the pose's keypoints moved a little."""
    rng, out = random.Random(seed), []
    for task in tasks:
        found = []
        for annotation in task["annotations"]:
            if annotation["type"] == "bbox":
                for _ in range(rng.choice([0, 1, 1, 2])):
                    points = [round(v + rng.uniform(-12, 12), 2) for v in annotation["points"]]
                    found.append(_scored({**annotation, "points": points, "rotation": 0}, rng))
            elif annotation["type"] == "pose_estimation":
                keypoints = [{**k, "value": [round(k["value"][0] + rng.uniform(-3, 3), 2),
                                             round(k["value"][1] + rng.uniform(-3, 3), 2), k["value"][2]]}
                             for k in annotation["keypoints"]]
                found.append(_scored({**annotation, "keypoints": keypoints}, rng))
        false_box = {"type": "bbox", "value": "car", "points": [10, 10, 60, 50]}
        found.append(_scored(false_box, rng))
        out.append({**task, "annotations": found})
    return out


def _scored(annotation: dict, rng: random.Random) -> dict:
    return {**annotation, "attributes": [{"key": "score", "value": round(rng.random(), 4)}]}


def independent_results(predictions: list[dict], gt: dict, iou_type: str) -> list[dict]:
    """The COCO results of ``predictions`` computed here, from the task dicts alone."""
    images = {image["file_name"]: image for image in gt["images"]}
    categories = {category["name"]: category for category in gt["categories"]}
    results = []
    for task in predictions:
        image = images[task["name"]]
        for annotation in task["annotations"]:
            category = categories.get(annotation["value"])
            if category is None:  # a class the ground truth does not have: not scored
                continue
            made = _independent(annotation, category, image, iou_type)
            if made is not None:
                results.append({"image_id": image["id"], "category_id": category["id"],
                                "score": annotation["attributes"][0]["value"], **made})
    return results


def _independent(annotation: dict, category: dict, image: dict, iou_type: str) -> dict | None:
    if iou_type == "keypoints":
        if annotation["type"] != "pose_estimation":
            return None
        by_key = {k["key"]: k["value"] for k in annotation["keypoints"]}
        return {"keypoints": [v for key in category["keypoints"]
                              for v in (*by_key[key][:2], 2 if by_key[key][2] else 1)]}
    x1, y1, x2, y2 = annotation["points"] if "points" in annotation else _keypoint_bounds(annotation["keypoints"])
    if iou_type == "bbox":
        return {"bbox": [x1, y1, x2 - x1, y2 - y1]}
    rle = mask_utils.merge(mask_utils.frPyObjects([[x1, y1, x2, y1, x2, y2, x1, y2]], image["height"], image["width"]))
    return {"segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}}


def _keypoint_bounds(keypoints: list[dict]) -> list[float]:
    """The box of a pose's labelled keypoints (what COCO records as a pose's bbox)."""
    xs, ys = [k["value"][0] for k in keypoints if k["value"]], [k["value"][1] for k in keypoints if k["value"]]
    return [min(xs), min(ys), max(xs), max(ys)]


@pytest.fixture(scope="module")
def sample_gt(tmp_path_factory) -> Path:
    """The sample project exported by ``export_coco`` (the file pycocotools reads)."""
    folder = tmp_path_factory.mktemp("gt")
    annotations = json.loads((SAMPLE / "annotations.json").read_text())
    ff.export_coco(sample_tasks(), folder, annotations=annotations, holes="rle")
    return folder / "annotations.json"


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_sample_project_perturbed(iou_type, backend, sample_gt, tmp_path):
    predictions = perturbed(sample_tasks(), seed=7)
    pred_file = tmp_path / "predictions.json"
    pred_file.write_text(json.dumps(predictions))
    annotations = json.loads((SAMPLE / "annotations.json").read_text())
    result = evaluate(SAMPLE / "tasks.json", pred_file, iou_type=iou_type, backend=backend,
                      annotations=annotations, gt_format="fastlabel", pred_format="fastlabel")
    results = independent_results(predictions, json.loads(sample_gt.read_text()), iou_type)
    sigmas = np.ones(3) / 3 if iou_type == "keypoints" else None
    expected = reference(sample_gt, results, iou_type, sigmas=sigmas)
    assert 0 < expected[0] < 1
    assert_same(result, expected)
    names = ["person"] if iou_type == "keypoints" else ["car", "sign"]
    assert_classes_same(result, sample_gt, results, names, sigmas)
    assert result.counts["predictions"] == len(results)


@pytest.mark.parametrize("backend", INSTALLED)
def test_caller_data_not_changed(backend):
    tasks, predictions = sample_tasks(), perturbed(sample_tasks(), seed=3)
    before = copy.deepcopy((tasks, predictions))
    evaluate(tasks, predictions, iou_type="segm", backend=backend)
    assert (tasks, predictions) == before
    gt = json.loads((COCOAPI / "instances_val2014_subset.json").read_text())
    results = json.loads((COCOAPI / "instances_val2014_fakesegm_subset_results.json").read_text())
    before = copy.deepcopy((gt, results))
    evaluate(gt, results, iou_type="segm", backend=backend)
    assert (gt, results) == before


def test_predictions_without_score_or_of_unknown_class_are_reported():
    tasks = sample_tasks()
    predictions = [{"name": "street/cars.png", "width": 320, "height": 240, "annotations": [
        {"type": "bbox", "value": "car", "points": [30, 120, 150, 200], "attributes": []},
        {"type": "bbox", "value": "boat", "points": [30, 120, 150, 200],
         "attributes": [{"key": "score", "value": 0.5}]},
        {"type": "bbox", "value": "car", "points": [30, 120, 150, 200], "attributes": [{"key": "score", "value": 0.9}]},
    ]}, {"name": "elsewhere.png", "width": 10, "height": 10, "annotations": [
        {"type": "bbox", "value": "car", "points": [1, 1, 5, 5], "attributes": [{"key": "score", "value": 0.5}]}]}]
    result = evaluate(tasks, predictions, backend="pycocotools")
    kinds = {f.kind: f.count for f in result.report.findings.values()}
    assert kinds["predictions: prediction without a numeric 'score' attribute, skipped"] == 1
    assert kinds["predictions: prediction of a class that is not in the ground truth, skipped"] == 1
    assert kinds["predictions: prediction for an image that is not in the ground truth, skipped"] == 1
    assert result.counts["predictions"] == 1
    assert result.per_class["car"]["AP50"] == pytest.approx(51 / 101)  # 1 of 2 cars found: 51 of 101 recall steps


def test_no_predictions_scores_zero():
    result = evaluate(sample_tasks(), [], backend="pycocotools")
    assert result.metrics["AP"] == 0.0 and result.metrics["AR100"] == 0.0


# ---------------------------------------------------------------------------------------------
# YOLO predictions with a confidence column


def test_yolo_predictions_with_confidence(tmp_path, sample_gt):
    predictions = [task for task in perturbed(sample_tasks(), seed=11)]
    classes = ["car", "sign"]
    labels = tmp_path / "labels"
    for task in predictions:
        lines = []
        for annotation in task["annotations"]:
            if annotation["type"] != "bbox" or annotation["value"] not in classes:
                continue
            x1, y1, x2, y2 = annotation["points"]
            w, h = task["width"], task["height"]
            values = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
            lines.append(" ".join([str(classes.index(annotation["value"])), *map(repr, values),
                                   str(annotation["attributes"][0]["value"])]))
        (labels / task["name"]).parent.mkdir(parents=True, exist_ok=True)
        (labels / task["name"]).with_suffix(".txt").write_text("\n".join(lines) + "\n")
    (labels / "classes.txt").write_text("car\nsign\n")
    with (labels / "street" / "cars.txt").open("a") as cars:
        cars.write("0 0.5 0.5 0.1\n")  # no confidence: reported
    (labels / "houses" / "roof.txt").write_bytes(b"\xff\xfe0 0.5 0.5 0.1 0.1 0.9\n")  # not UTF-8: reported
    result = evaluate(SAMPLE / "tasks.json", labels, backend="pycocotools")
    kept = [{**task, "annotations": [a for a in task["annotations"] if a["value"] in classes and a["type"] == "bbox"]}
            for task in predictions if task["name"] != "houses/roof.png"]
    results = independent_results(kept, json.loads(sample_gt.read_text()), "bbox")
    assert result.counts["predictions"] == len(results)
    assert_same(result, reference(sample_gt, results, "bbox"))
    findings = {f.kind: f.examples for f in result.report.findings.values() if f.kind.startswith("predictions:")}
    cars = labels / "street" / "cars.txt"
    assert findings.pop("predictions: line that is not a box or polygon followed by a confidence, skipped") == [
        f"{cars}: line {len(cars.read_text().splitlines())}"]
    [(kind, [place])] = findings.items()
    assert "cannot be read as text" in kind and "roof.txt" in place


# ---------------------------------------------------------------------------------------------
# Hypothesis: random ground truth and predictions


# two predictions of one score: pycocotools takes the first in the results' order (the task's)
TIED = ([{"name": "a.jpg", "width": 300, "height": 300, "annotations": [
    {"type": "bbox", "value": "a", "points": [0, 0, 2, 2]}]}],
    [{"name": "a.jpg", "width": 300, "height": 300, "annotations": [
        {"type": "bbox", "value": "a", "points": [0, 0, 1, 2], "attributes": [{"key": "score", "value": 0.5}]},
        {"type": "bbox", "value": "a", "points": [0, 0, 1, 1], "attributes": [{"key": "score", "value": 0.5}]}]}])


@st.composite
def gt_and_predictions(draw):
    """Up to 3 images of boxes of 2 classes (whole-pixel corners) and predictions near and far."""
    tasks, predictions = [], []
    for index in range(draw(st.integers(1, 3))):
        boxes = draw(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 150), st.integers(0, 150),
                                        st.integers(2, 90), st.integers(2, 90)), min_size=1, max_size=5))
        annotations = [{"type": "bbox", "value": v, "points": [x, y, x + w, y + h]} for v, x, y, w, h in boxes]
        guesses = draw(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 200), st.integers(0, 200),
                                          st.integers(1, 100), st.integers(1, 100), st.integers(1, 1000)),
                                max_size=6))
        found = [{"type": "bbox", "value": v, "points": [x / 4, y / 4, x / 4 + w, y / 4 + h],
                  "attributes": [{"key": "score", "value": s / 1000}]} for v, x, y, w, h, s in guesses]
        for value, x, y, w, h in boxes[: draw(st.integers(0, len(boxes)))]:
            shift = draw(st.integers(-8, 8)) / 4
            found.append({"type": "bbox", "value": value, "points": [x + shift, y, x + w + shift, y + h],
                          "attributes": [{"key": "score", "value": draw(st.integers(1, 1000)) / 1000}]})
        name = f"img{index}.jpg"
        tasks.append({"name": name, "width": 300, "height": 300, "annotations": annotations})
        predictions.append({"name": name, "width": 300, "height": 300, "annotations": found})
    return tasks, predictions


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=gt_and_predictions(), iou_type=st.sampled_from(["bbox", "segm"]))
@example(pair=TIED, iou_type="bbox")
def test_random_pairs_equal_pycocotools(pair, iou_type, tmp_path):
    tasks, predictions = pair
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(independent_gt(tasks)))
    results = independent_results(predictions, json.loads(gt_file.read_text()), iou_type)
    expected = reference(gt_file, results, iou_type) if results else None
    for backend in INSTALLED:
        result = evaluate(tasks, predictions, iou_type=iou_type, backend=backend)
        if expected is not None:
            assert_same(result, expected)
        else:  # nothing scorable: nothing found
            assert set(result.metrics.values()) <= {0.0, -1.0}


def independent_gt(tasks: list[dict]) -> dict:
    """The COCO ground truth of box tasks, written here (classes numbered by first appearance)."""
    names = list(dict.fromkeys(a["value"] for task in tasks for a in task["annotations"]))
    images, records = [], []
    for image_id, task in enumerate(tasks, 1):
        images.append({"id": image_id, "file_name": task["name"], "width": task["width"], "height": task["height"]})
        for annotation in task["annotations"]:
            x1, y1, x2, y2 = annotation["points"]
            category = names.index(annotation["value"]) + 1
            records.append({"id": len(records) + 1, "image_id": image_id, "category_id": category,
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
                            "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]]})
    categories = [{"id": i, "name": name} for i, name in enumerate(names, 1)]
    return {"images": images, "annotations": records, "categories": categories}


# ---------------------------------------------------------------------------------------------
# The result's shapes and the command line


def test_summary_and_json():
    result = evaluate(COCOAPI / "instances_val2014_subset.json",
                      COCOAPI / "instances_val2014_fakebbox_subset_results.json")
    assert result.backend == INSTALLED[0]
    text = result.summary()
    assert f"by {result.backend}" in text and "\nperson " in text and "AR100" in text
    data = json.loads(result.to_json())
    assert data["metrics"] == result.metrics and data["backend"] == result.backend
    assert data["per_class"]["person"] == result.per_class["person"]
    recall, precision = result.pr_curve(0.5, "person")
    assert recall.shape == precision.shape == (101,) and precision[0] >= precision[-1]


def test_cli_evaluate_prints_json(capsys):
    args = argparse.Namespace(gt=str(COCOAPI / "instances_val2014_subset.json"),
                              pred=str(COCOAPI / "instances_val2014_fakesegm_subset_results.json"), iou_type="segm",
                              json=True, gt_from="auto", pred_from="auto", backend="pycocotools")
    assert cli_evaluate(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["iou_type"] == "segm" and data["backend"] == "pycocotools"


@pytest.mark.parametrize(("options", "message"), [
    ({"iou_type": "mask"}, "iou_type must be one of"),
    ({"backend": "detectron"}, "backend must be one of"),
])
def test_bad_options(options, message):
    with pytest.raises(FormatError, match=message):
        evaluate(sample_tasks(), [], **options)


def test_missing_backend_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "hotcoco" else real(name, *a))
    with pytest.raises(FormatError, match="hotcoco backend is not installed"):
        evaluate(sample_tasks(), [], backend="hotcoco")


def test_coco_ground_truth_without_areas_gets_them_ids_kept(sample_gt):
    document = json.loads(sample_gt.read_text())
    results = independent_results(perturbed(sample_tasks(), seed=5), document, "bbox")
    without_areas = {**document, "annotations": [{k: v for k, v in r.items() if k != "area"}
                                                 for r in document["annotations"]]}
    result = evaluate(without_areas, results, backend="pycocotools")
    assert_same(result, reference(sample_gt, results, "bbox"))
    assert any("without area: filled in" in kind for kind in result.report.findings)


def test_tasks_named_with_a_folder_match_coco_file_names_and_score_as_results_do():
    """FastLabel predictions of cocoapi's example boxes, their images under a folder (as a FastLabel
    project names them): matched to the ground truth by file name and scored as the results file."""
    gt_file = COCOAPI / "instances_val2014_subset.json"
    gt = json.loads(gt_file.read_text())
    results = json.loads((COCOAPI / "instances_val2014_fakebbox_subset_results.json").read_text())
    names = {category["id"]: category["name"] for category in gt["categories"]}
    tasks = {image["id"]: {"name": f"val2014/{image['file_name']}", "width": image["width"],
                           "height": image["height"], "annotations": []} for image in gt["images"]}
    for result in results:
        x, y, w, h = result["bbox"]
        tasks[result["image_id"]]["annotations"].append({
            "type": "bbox", "value": names[result["category_id"]], "points": [x, y, x + w, y + h],
            "attributes": [{"key": "score", "value": result["score"]}]})
    result = evaluate(gt_file, list(tasks.values()), backend=INSTALLED[0])
    assert result.counts["predictions"] == len(results)
    # the boxes as exported: corners to 6 decimals, then w = x2 - x1 (not always w again in floating
    # point, and some of cocoapi's example boxes sit exactly on an IoU threshold)
    as_held = [{**r, "bbox": [x, y, round(x + w, 6) - x, round(y + h, 6) - y]}
               for r in results for x, y, w, h in [r["bbox"]]]
    assert_same(result, reference(gt_file, as_held, "bbox"))


def test_segm_evaluation_of_boxes_only_ground_truth_names_the_missing_segmentation(tmp_path):
    gt = json.loads((COCOAPI / "instances_val2014_subset.json").read_text())
    for record in gt["annotations"][3:]:
        del record["segmentation"]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    results = COCOAPI / "instances_val2014_fakesegm_subset_results.json"
    message = r"gt.json: \d+ ground-truth record\(s\) without segmentation.*annotations\[3\]"
    with pytest.raises(FormatError, match=message):
        evaluate(tmp_path / "gt.json", results, iou_type="segm")
