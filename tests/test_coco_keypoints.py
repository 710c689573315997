"""COCO keypoint files of other people (mmpose's samples of COCO, AP-10K, CrowdPose and OCHuman,
datumaro's person_keypoints) through FastLabel and back: one record stays one record, with its
keypoints, crowd flag, box and mask; the category keeps its keypoint list (unlabelled names and
their order) and its skeleton; pycocotools' COCOeval scores the round trip AP 1.0 against the source
for bbox, segm and keypoints, with each dataset's own OKS sigmas."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fastlabel_formats import ConversionReport, coco_tasks, coco_to_fastlabel, to_coco
from fastlabel_formats.coco_records import BOX_TOLERANCE

THIRD_PARTY = Path(__file__).parent / "fixtures" / "third_party"
# each dataset's OKS sigmas, as mmpose's configs/_base_/datasets/<name>.py give them
COCO_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087,
               0.087, 0.089, 0.089]
AP10K_SIGMAS = [0.025, 0.025, 0.026, 0.035, 0.035, 0.079, 0.072, 0.062, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089,
                0.107, 0.087, 0.089]
CROWDPOSE_SIGMAS = [0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079]
# file, holes mode (RLE sources are written back as RLE), sigmas
SOURCES = {
    "mmpose/coco/test_coco.json": ("drop", COCO_SIGMAS),
    "mmpose/ap10k/test_ap10k.json": ("drop", AP10K_SIGMAS),
    "mmpose/crowdpose/test_crowdpose.json": ("drop", CROWDPOSE_SIGMAS),
    "mmpose/ochuman/test_ochuman.json": ("rle", COCO_SIGMAS),
    "datumaro_coco/coco_person_keypoints/person_keypoints_val.json": ("rle", [0.079] * 3),
    "datumaro/coco_person_keypoints/person_keypoints_train.json": ("drop", [0.079] * 3),
}
# instance files (no keypoints), the shape of CVAT's COCO export (datumaro writes it for CVAT)
INSTANCES = {
    "datumaro_coco/coco_instances/instances_train.json": ("drop", []),
    "datumaro_coco/coco_instances/instances_val.json": ("rle", []),
}


def round_trip(name: str, holes: str) -> tuple[dict, dict, ConversionReport]:
    """The source document, the COCO written from its FastLabel tasks (as JSON, as a user keeps
    them), and the import's report."""
    path = THIRD_PARTY / name
    report = ConversionReport("coco import")
    tasks = json.loads(json.dumps(coco_tasks(path, report=report)))
    return json.loads(path.read_text()), to_coco(tasks, holes=holes), report


def record_keys(coco: dict) -> Counter:
    """Each record as (file name, category name, crowd flag, labelled keypoint triplets)."""
    files = {image["id"]: image["file_name"] for image in coco["images"]}
    names = {category["id"]: category["name"] for category in coco["categories"]}
    keys = Counter()
    for record in coco["annotations"]:
        values = record.get("keypoints") or []
        triplets = tuple((x, y, v) if v else (0, 0, 0) for x, y, v in zip(values[0::3], values[1::3], values[2::3]))
        keys[files[record["image_id"]], names[record["category_id"]], record.get("iscrowd", 0), triplets] += 1
    return keys


@pytest.mark.parametrize("name", [*SOURCES, *INSTANCES])
def test_every_record_comes_back_as_one_record_with_its_keypoints_and_crowd_flag(name):
    source, again, _ = round_trip(name, {**SOURCES, **INSTANCES}[name][0])
    assert len(again["annotations"]) == len(source["annotations"])
    assert record_keys(again) == record_keys(source)


@pytest.mark.parametrize("name", SOURCES)
def test_categories_keep_their_keypoint_names_in_order_and_their_skeleton(name):
    source, again, report = round_trip(name, SOURCES[name][0])
    by_name = {category["name"]: category for category in source["categories"]}
    for category in again["categories"]:
        original = by_name[category["name"]]
        count = len(original["keypoints"]) or len(category["keypoints"])  # datumaro names none: positions
        assert category["keypoints"] == (original["keypoints"] or [str(i) for i in range(1, count + 1)])
        first = 0 if any(0 in pair for pair in original["skeleton"]) else 1  # datumaro numbers from 0
        expected = {(a - first + 1, b - first + 1) for a, b in original["skeleton"] if max(a, b) - first < count}
        assert {tuple(pair) for pair in category["skeleton"]} == expected and expected
        dropped = len(original["skeleton"]) - len(expected)
        finding = report.findings.get("skeleton entry that is not a pair of the category's keypoint numbers, dropped")
        assert (finding.count if finding else 0) == dropped


def test_ap10k_keeps_all_17_names_although_no_animal_has_all_17_labelled():
    source, again, _ = round_trip("mmpose/ap10k/test_ap10k.json", "drop")
    assert all(sum(v > 0 for v in record["keypoints"][2::3]) < 17 for record in source["annotations"])
    assert [len(category["keypoints"]) for category in again["categories"]] == [17, 17]


def evaluate(gt: COCO, results: list[dict], kind: str, sigmas: list[float]) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(gt, gt.loadRes(results), kind)
        evaluation.params.kpt_oks_sigmas = np.array(sigmas)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


@pytest.mark.parametrize("name", [*SOURCES, *INSTANCES])
def test_cocoeval_scores_the_round_trip_ap_one_against_the_source(name, tmp_path):
    holes, sigmas = {**SOURCES, **INSTANCES}[name]
    source, again, _ = round_trip(name, holes)
    for record in source["annotations"]:  # CrowdPose's records have no area, which COCOeval needs
        record.setdefault("area", record["bbox"][2] * record["bbox"][3])
    (tmp_path / "source.json").write_text(json.dumps(source))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "source.json"))
    image_ids = {image["file_name"]: image["id"] for image in source["images"]}
    files = {image["id"]: image["file_name"] for image in again["images"]}
    category_ids = {category["name"]: category["id"] for category in source["categories"]}
    names = {category["id"]: category["name"] for category in again["categories"]}
    results = [{**record, "image_id": image_ids[files[record["image_id"]]],
                "category_id": category_ids[names[record["category_id"]]], "score": 1.0}
               for record in again["annotations"]]
    assert evaluate(gt, [{k: v for k, v in r.items() if k != "segmentation"} for r in results], "bbox",
                    sigmas) == pytest.approx(1.0)
    if any(record.get("segmentation") for record in source["annotations"]):
        assert evaluate(gt, results, "segm", sigmas) == pytest.approx(1.0)
    with_keypoints = [r for r in results if r["num_keypoints"]]  # COCOeval ignores the others
    if sigmas:
        assert evaluate(gt, with_keypoints, "keypoints", sigmas) == pytest.approx(1.0)


def test_a_person_with_keypoints_and_a_mask_is_one_annotation_carrying_both():
    (person, *_) = coco_to_fastlabel(THIRD_PARTY / "mmpose/coco/test_coco.json")["000000000785.jpg"]
    assert person["type"] == "polygon" and len(person["keypoints"]) == 17
    assert person["keypoints"][15]["key"] == "left_ankle" and person["keypoints"][15]["edges"] == ["left_knee"]
    assert sum(1 for k in person["keypoints"] if k["value"]) == 17 and person["attributes"] == []
    lone = coco_to_fastlabel(THIRD_PARTY / "mmpose/crowdpose/test_crowdpose.json")["103319.jpg"]
    assert {a["type"] for a in lone} == {"bbox"} and all(len(a["keypoints"]) == 14 for a in lone)


def test_a_box_drawn_apart_from_its_mask_is_carried_and_written_back():
    source = json.loads((THIRD_PARTY / "mmpose/ochuman/test_ochuman.json").read_text())
    tasks = coco_tasks(THIRD_PARTY / "mmpose/ochuman/test_ochuman.json")
    carried = [a for t in tasks for a in t["annotations"] if any(x["key"] == "coco_bbox" for x in a["attributes"])]
    assert len(carried) == len(source["annotations"]) and {a["type"] for a in carried} == {"segmentation"}
    again = to_coco(tasks)
    assert sorted(r["bbox"] for r in again["annotations"]) == sorted(r["bbox"] for r in source["annotations"])
    assert all("coco_bbox" not in r["attributes"] for r in again["annotations"])


def test_the_crowd_mask_of_datumaro_keeps_its_flag_its_box_and_its_pixels():
    path = THIRD_PARTY / "datumaro_coco/coco_person_keypoints/person_keypoints_val.json"
    source = json.loads(path.read_text())
    again = to_coco(coco_tasks(path), holes="rle")
    (crowd,) = [r for r in again["annotations"] if r["iscrowd"]]
    (original,) = [r for r in source["annotations"] if r["iscrowd"]]
    assert crowd["bbox"] == original["bbox"] and crowd["keypoints"] == original["keypoints"]
    assert (pixels(crowd["segmentation"], 10, 5) == pixels(original["segmentation"], 10, 5)).all()
    assert pixels(crowd["segmentation"], 10, 5).sum() == 20  # counts [0, 20, 30]: columns 0 and 1


def pixels(segmentation: list | dict, height: int, width: int) -> np.ndarray:
    """The mask pycocotools makes of a segmentation (as ``COCO.annToMask`` does)."""
    from pycocotools import mask as coco_mask

    if isinstance(segmentation, dict) and isinstance(segmentation["counts"], str):
        return coco_mask.decode({**segmentation, "counts": segmentation["counts"].encode()})
    rles = coco_mask.frPyObjects(segmentation, height, width)
    return coco_mask.decode(coco_mask.merge(rles) if isinstance(rles, list) else rles)


def test_attributes_and_crowd_flags_of_a_cvat_style_export_come_back():
    source, again, report = round_trip("datumaro_coco/coco_instances/instances_val.json", "rle")
    assert [(r["iscrowd"], r.get("attributes", {})) for r in source["annotations"]] == [
        (0, {"x": 1, "y": "hello"}), (1, {})]
    by_crowd = {r["iscrowd"]: r for r in again["annotations"]}
    assert by_crowd[0]["attributes"] == {"x": 1, "y": "hello"} and by_crowd[1]["attributes"] == {"iscrowd": True}
    assert report.ok


NAMES = ["nose", "left_eye", "right_eye", "neck", "tail"]
SKELETON = [[1, 2], [1, 3], [4, 1], [5, 4]]
coordinate = st.integers(0, 99).map(float) | st.floats(0, 99, allow_nan=False).map(lambda v: round(v, 3))
triplet = st.one_of(st.just((0, 0, 0)), st.tuples(coordinate, coordinate, st.sampled_from([1, 2])))
ring = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=6).map(lambda vs: [c for v in vs for c in v])
record = st.fixed_dictionaries({
    "keypoints": st.lists(triplet, min_size=5, max_size=5).map(lambda ts: [c for t in ts for c in t]),
    "segmentation": st.lists(ring, min_size=0, max_size=2),
    "iscrowd": st.sampled_from([0, 0, 1]),
    "bbox": st.tuples(coordinate, coordinate, st.integers(1, 50), st.integers(1, 50)).map(list),
})


@settings(max_examples=40, deadline=None)
@given(st.lists(record, min_size=1, max_size=4))
def test_any_keypoint_record_survives_fastlabel_and_back(records):
    """Generated COCO keypoint records (with or without polygons, crowd or not, keypoints labelled
    or not): through FastLabel task JSON and back they stay one record each, with the same
    keypoints, crowd flag and box, and the category keeps its names and skeleton."""
    annotations = [{**r, "id": n, "image_id": 1, "category_id": 7, "area": 1.0} for n, r in enumerate(records, 1)]
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 150, "height": 150}],
            "categories": [{"id": 7, "name": "animal", "keypoints": NAMES, "skeleton": SKELETON}],
            "annotations": annotations}
    report = ConversionReport("coco import")
    again = to_coco(json.loads(json.dumps(coco_tasks(coco, report=report))))
    assert report.ok and len(again["annotations"]) == len(annotations)
    (category,) = again["categories"]
    assert category["keypoints"] == NAMES and sorted(category["skeleton"]) == sorted(SKELETON)
    assert record_keys(again) == record_keys(coco)
    # the boxes: as given (a record's box is its own, or carried beside its polygons)
    boxes = np.array(sorted(r["bbox"] for r in again["annotations"]), float)
    assert np.allclose(boxes, sorted(a["bbox"] for a in annotations), atol=BOX_TOLERANCE)
