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


def test_yolo_classes_path_identical_for_boxes(tasks, tmp_path):
    """The reference also writes polygon lines into detection files (which Ultralytics then reads as
    all segments); we write boxes only, so only box projects compare."""
    plain = [dict(t, annotations=[a for a in t["annotations"] if a["type"] not in ("segmentation", "polygon")])
             for t in tasks]
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
    """Equal up to what we change on purpose so that labelme opens the files: ``imagePath``
    relative to the JSON, lines of more than 2 points as ``linestrip``, switches as shape flags."""
    single = [dict(t, annotations=[a for a in t["annotations"]
                                   if a["type"] != "segmentation" or len(a["points"]) == 1]) for t in tasks]
    expected = reference.to_labelme(copy.deepcopy(single))
    for document, task in zip(expected, single):
        document["imagePath"] = document["imagePath"].rsplit("/", 1)[-1]
        shown = [a for a in task["annotations"] if a["type"] in ("polygon", "segmentation", "bbox", "keypoint", "line")
                 and a["points"]]
        for shape, annotation in zip(document["shapes"], shown):
            shape["flags"] = {a["key"]: a["value"] for a in annotation.get("attributes") or ()
                              if isinstance(a.get("value"), bool)}
            if shape["shape_type"] == "line" and len(shape["points"]) != 2:
                shape["shape_type"] = "linestrip"
    assert to_labelme(single) == expected


def test_drawn_images_identical_outside_the_defects(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from fastlabel_formats import export_image_with_annotations

    monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", "offline-test")
    fastlabel = pytest.importorskip("fastlabel")
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(images / "a.png")
    drawn_tasks = [{"name": "a.png", "width": 120, "height": 90, "annotations": [
        {"type": "bbox", "value": "b", "color": "#ff0000", "points": [5, 6, 50, 40]},
        {"type": "polygon", "value": "p", "color": "#00ff00", "points": [60, 10, 110, 20, 80, 70]},
        {"type": "line", "value": "l", "color": "#0000ff", "points": [0, 80, 60, 85, 119, 60]},
        {"type": "circle", "value": "c", "color": "#ffff00", "points": [30, 60, 9]},
        {"type": "keypoint", "value": "k", "color": "#00ffff", "points": [100, 80]},
    ]}]
    fastlabel.Client().export_image_with_annotations(copy.deepcopy(drawn_tasks), str(images), str(tmp_path / "ref"))
    export_image_with_annotations(drawn_tasks, images, tmp_path / "ours")
    with Image.open(tmp_path / "ref/a.png") as ref, Image.open(tmp_path / "ours/a.png") as ours:
        assert (np.array(ref.convert("RGB")) == np.array(ours)).all()
