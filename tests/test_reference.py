"""Side by side with the official SDK (runs where ``fastlabel`` is installed: the ``bench`` extra).

On integer coordinates and outside the documented defects, the outputs must be identical.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic import make_tasks  # noqa: E402

from fastlabel_formats import to_coco, to_labelme, to_pascalvoc, to_yolo  # noqa: E402

reference = pytest.importorskip("fastlabel.converters")


@pytest.fixture(scope="module")
def tasks() -> list[dict]:
    return make_tasks(60, 20, seed=7, floats=False)


def without_colors(coco: dict) -> dict:
    return {**coco, "categories": [{**c, "color": None} for c in coco["categories"]]}


def test_coco_identical(tasks, tmp_path):
    expected = reference.to_coco("image_bbox", copy.deepcopy(tasks), str(tmp_path))
    assert without_colors(to_coco(tasks)) == without_colors(expected)  # D2 fixes the colours


@pytest.mark.parametrize("project_type", ["image_bbox", "image_segmentation"])
def test_yolo_coco_path_identical(tasks, tmp_path, project_type):
    expected, categories = reference.to_yolo(project_type, copy.deepcopy(tasks), [], str(tmp_path))
    labels, classes = to_yolo(tasks, project_type=project_type)
    assert classes == [c["name"] for c in categories]
    assert [(e["filename"], e.get("object", [])) for e in expected] == labels


def test_yolo_classes_path_identical_without_segmentations(tasks, tmp_path):
    plain = [dict(t, annotations=[a for a in t["annotations"] if a["type"] != "segmentation"]) for t in tasks]
    classes = ["car", "dog", "person", "cat", "zz"]
    expected, _ = reference.to_yolo("image_bbox", copy.deepcopy(plain), classes, str(tmp_path))
    labels, _ = to_yolo(plain, classes=classes)
    assert [(e["filename"], e.get("object", [])) for e in expected] == labels


def test_pascalvoc_identical(tasks, tmp_path):
    xmltodict = pytest.importorskip("xmltodict")
    expected = reference.to_pascalvoc("image_bbox", copy.deepcopy(tasks), str(tmp_path))
    texts = [xmltodict.unparse(e, pretty=True, indent="    ", full_document=False) for e in expected]
    assert texts == [text for _, text in to_pascalvoc(tasks)]


def test_labelme_identical_for_single_region_segmentations(tasks):
    single = [dict(t, annotations=[a for a in t["annotations"]
                                   if a["type"] != "segmentation" or len(a["points"]) == 1]) for t in tasks]
    assert to_labelme(single) == reference.to_labelme(copy.deepcopy(single))
