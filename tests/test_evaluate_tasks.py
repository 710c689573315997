"""Prediction tasks scored straight from the chunk tables: each result is the box, RLE or keypoints
the COCO export writes for that annotation (rotated boxes, polygons, segmentations with holes, a
carried ``coco_bbox``), in task order, and what is skipped is reported with its task and annotation."""

from __future__ import annotations

import pytest

from fastlabel_formats.coco import to_coco
from fastlabel_formats.evaluate_inputs import _rle, detections, ground_truth
from fastlabel_formats.report import ConversionReport

SQUARE = [[[10, 10, 90, 10, 90, 90, 10, 90, 10, 10], [30, 30, 30, 60, 60, 60, 60, 30, 30, 30]]]


def scored(kind: str, value: str, score: object, **fields) -> dict:
    return {"type": kind, "value": value, "attributes": [{"key": "score", "value": score}], **fields}


def predictions() -> list[dict]:
    return [{"name": "a/one.png", "width": 120, "height": 100, "annotations": [
        scored("bbox", "car", 0.9, points=[10.5, 20.25, 50, 70], rotation=30),
        scored("polygon", "car", 0.4, points=[5, 5, 40, 8, 20, 30]),
        scored("segmentation", "sign", 0.7, points=SQUARE),
        {**scored("bbox", "sign", 0.8, points=[1, 1, 9, 9]),
         "attributes": [{"key": "score", "value": 0.8}, {"key": "coco_bbox", "value": [0, 0, 12, 12]}]},
        scored("bbox", "car", 0.3, points=[60, 60, 80, 90])]}]


def truth() -> dict:
    tasks = [{"name": "a/one.png", "width": 120, "height": 100, "annotations": [
        {"type": "bbox", "value": value, "points": [0, 0, 10, 10]} for value in ("car", "sign")]}]
    return ground_truth(tasks)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_each_result_is_what_the_coco_export_writes(iou_type):
    ground = truth()
    found = detections(predictions(), "auto", ground, iou_type, report=ConversionReport("t"))
    exported = to_coco(predictions(), holes="rle")
    names = {category["id"]: category["name"] for category in exported["categories"]}
    ids = {category["name"]: category["id"] for category in ground["categories"]}
    key = "bbox" if iou_type == "bbox" else "segmentation"
    expected = [{"image_id": 1, "category_id": ids[names[record["category_id"]]],
                 "score": record["attributes"]["score"],
                 key: record["bbox"] if iou_type == "bbox" else _rle(record["segmentation"], 100, 120)}
                for record in exported["annotations"]]
    order = [0.9, 0.4, 0.7, 0.8, 0.3]  # the task's order, not COCO's (by class and area)
    assert [result["score"] for result in found] == order
    assert sorted(found, key=lambda r: r["score"]) == sorted(expected, key=lambda r: r["score"])
    if iou_type == "bbox":
        assert found[3]["bbox"] == [0, 0, 12, 12] and found[0]["bbox"] != [10.5, 20.25, 39.5, 49.75]  # rotated


def test_what_is_skipped_is_reported_with_its_task_and_annotation():
    tasks = predictions()
    tasks[0]["annotations"][1]["value"] = "boat"
    tasks[0]["annotations"][4]["attributes"] = [{"key": "score", "value": "high"}]
    report = ConversionReport("t")
    found = detections(tasks, "auto", truth(), "bbox", report=report)
    assert len(found) == 3
    places = {kind: finding.examples for kind, finding in report.findings.items()}
    assert places["prediction of a class that is not in the ground truth, skipped"] == [
        "predictions: tasks: task 'a/one.png' annotation #1 (polygon)"]
    assert places["prediction without a numeric 'score' attribute, skipped"] == [
        "predictions: tasks: task 'a/one.png' annotation #4 (bbox)"]


def test_the_callers_tasks_are_not_changed():
    tasks, before = predictions(), predictions()
    detections(tasks, "auto", truth(), "bbox", report=ConversionReport("t"))
    assert tasks == before
