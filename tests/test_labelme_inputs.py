"""labelme files from other tools and versions: labelme 3.x, X-AnyLabeling, folders holding other
JSON, broken shapes and documents; group ids both ways; imagePath that labelme can open."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
from pathlib import Path

import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fastlabel_formats import ConversionReport, FormatError, export_labelme, labelme_tasks, to_labelme

THIRD_PARTY = Path(__file__).parent / "fixtures" / "third_party"
LABELME3 = THIRD_PARTY / "labelme3_schema"
XANY = THIRD_PARTY / "x_anylabeling_schema"
SAMPLE = Path(__file__).parent.parent / "examples" / "sample_project"


def flat(points: list) -> list[float]:
    return [float(v) for point in points for v in point]


def read(folder: Path, **kwargs) -> tuple[list[dict], ConversionReport]:
    report = ConversionReport("labelme import", **kwargs)
    return labelme_tasks(folder, report=report), report


def test_labelme3_shapes_without_shape_type_are_polygons_sized_from_image_data():
    document = json.loads((LABELME3 / "pets.json").read_text())
    [pets], report = read(LABELME3)
    assert report.ok
    with Image.open(io.BytesIO(base64.b64decode(document["imageData"]))) as image:
        assert (pets["width"], pets["height"]) == image.size == (24, 16)
    assert pets["name"] == "pets.png"
    assert [a["type"] for a in pets["annotations"]] == ["polygon"] * len(document["shapes"])
    assert [a["value"] for a in pets["annotations"]] == [s["label"] for s in document["shapes"]]
    assert [[float(v) for v in a["points"]] for a in pets["annotations"]] == [flat(s["points"])
                                                                                for s in document["shapes"]]


def test_size_from_the_image_beside_the_file_when_the_document_has_none(tmp_path):
    Image.new("RGB", (7, 5)).save(tmp_path / "a.png")
    for name, size in (("a.json", {}), ("b.json", {"imageWidth": -1, "imageHeight": -1})):
        (tmp_path / name).write_text(json.dumps({"shapes": [], "imagePath": "a.png", **size}))
    (tmp_path / "c.json").write_text(json.dumps({"shapes": [], "imagePath": "missing.png", "imageData": "%%%"}))
    tasks, report = read(tmp_path)
    assert [(t["name"], t["width"], t["height"]) for t in tasks] == [("a.png", 7, 5), ("b.png", 7, 5),
                                                                      ("c.png", 0, 0)]


def test_x_anylabeling_file_corner_rectangles_group_ids_and_extras():
    document = json.loads((XANY / "street.json").read_text())
    [street], report = read(XANY)
    assert report.ok
    assert [a["value"] for a in street["annotations"]] == [s["label"] for s in document["shapes"]]
    for annotation, shape in zip(street["annotations"], document["shapes"]):
        xs, ys = [p[0] for p in shape["points"]], [p[1] for p in shape["points"]]
        if shape["shape_type"] == "rectangle":  # 4 corners: the box of the corners
            assert annotation["type"] == "bbox" and annotation["points"] == [min(xs), min(ys), max(xs), max(ys)]
        elif shape["shape_type"] == "rotation":  # the box turned clockwise about its centre gives the corners
            assert annotation["type"] == "bbox"
            assert flat(rotated_corners(annotation)) == pytest.approx(flat(shape["points"]))
        else:
            assert annotation["points"] == flat(shape["points"])
        groups = [a["value"] for a in annotation.get("attributes", ()) if a["key"] == "group_id"]
        assert groups == ([str(shape["group_id"])] if shape["group_id"] is not None else [])
    car = street["annotations"][3]["attributes"]
    assert {"key": "difficult", "value": True, "type": "switch"} in car
    assert {"key": "colour", "value": "red", "type": "text"} in car
    assert (street["width"], street["height"]) == (document["imageWidth"], document["imageHeight"])


def rotated_corners(annotation: dict) -> list[list[float]]:
    x1, y1, x2, y2 = annotation["points"]
    turn = math.radians(annotation.get("rotation", 0))
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    return [[centre_x + (x - centre_x) * math.cos(turn) - (y - centre_y) * math.sin(turn),
             centre_y + (x - centre_x) * math.sin(turn) + (y - centre_y) * math.cos(turn)]
            for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))]


def test_a_rotation_that_is_no_rectangle_is_reported(tmp_path):
    shape = {"label": "r", "shape_type": "rotation", "points": [[0, 0], [4, 0], [5, 3], [0, 3]]}
    (tmp_path / "a.json").write_text(json.dumps({"shapes": [shape], "imagePath": "a.jpg"}))
    [a], report = read(tmp_path)
    assert a["annotations"] == []
    assert [f.examples for f in report.findings.values()] == [[f"{tmp_path / 'a.json'} shape #0"]]


def test_four_points_that_are_not_a_box_become_a_polygon(tmp_path):
    shape = {"label": "r", "shape_type": "rectangle", "points": [[0, 0], [4, 1], [4, 4], [0, 4]]}
    (tmp_path / "a.json").write_text(json.dumps({"shapes": [shape], "imagePath": "a.jpg"}))
    [a], report = read(tmp_path)
    assert a["annotations"] == [{"value": "r", "points": [0, 0, 4, 1, 4, 4, 0, 4], "type": "polygon"}]
    assert "read as a polygon" in next(iter(report.findings))


def test_other_json_files_are_skipped_and_reported_never_empty_tasks(tmp_path):
    shutil.copy(LABELME3 / "pets.json", tmp_path / "pets.json")
    (tmp_path / "coco.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text('{"shapes": [')
    tasks, report = read(tmp_path)
    assert [t["name"] for t in tasks] == ["pets.png"]
    places = sorted(place for finding in report.findings.values() for place in finding.examples)
    assert [place.split(" (")[0] for place in places] == [str(tmp_path / n) for n in ("broken.json", "coco.json",
                                                                                      "list.json")]
    assert "not an object" not in json.dumps(places) and "holds an object, not list" in places[2]
    os.remove(tmp_path / "pets.json")
    with pytest.raises(FormatError, match="no labelme file found"):
        read(tmp_path)


def test_one_bad_shape_costs_that_shape_only(tmp_path):
    shapes = [{"label": "z", "shape_type": "point", "points": [[1, 2, 3]]},  # 3-D: not flattened
              {"label": "z", "shape_type": "polygon", "points": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]},
              {"label": "c", "shape_type": "circle", "points": [[5, 5]]},
              {"label": "c", "shape_type": "circle", "points": [[5, 5], ["x", 1]]},
              {"label": "c", "shape_type": "circle", "points": "none"},
              "not a shape",
              {"label": "c", "shape_type": "circle", "points": [[-1e308, 0], [1e308, 0]]},  # radius overflows
              {"label": "ok", "shape_type": "circle", "points": [[5, 5], [8, 9]]}]
    (tmp_path / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.jpg"}))
    [a], report = read(tmp_path)
    assert a["annotations"] == [{"value": "ok", "points": [5, 5, 5], "type": "circle"}]
    places = sorted(place for finding in report.findings.values() for place in finding.examples)
    assert places == [f"{tmp_path / 'a.json'} shape #{n}" for n in range(7)]
    assert any("3-D" in kind for kind in report.findings)
    with pytest.raises(FormatError, match=r"a.json shape #0: .*3-D"):
        read(tmp_path, strict=True)


def test_point_group_ids_survive_labelme_fastlabel_labelme():
    [street], _ = read(XANY)
    document = to_labelme([street])[0]
    groups = {shape["label"]: shape["group_id"] for shape in document["shapes"]}
    assert groups == {"person": 1, "nose": 1, "left_eye": 1, "car": None, "road": None, "sign": None}


def test_generated_segmentation_groups_avoid_the_explicit_ones():
    group = [{"key": "group_id", "value": "1", "type": "text"}]
    regions = [[[0, 0, 4, 0, 4, 4, 0, 0]], [[6, 6, 8, 6, 8, 8, 6, 6]]]
    tasks = [task("a.jpg", 10, 10, ann("keypoint", "k", [1, 1], attributes=group), ann("segmentation", "s", regions))]
    report = ConversionReport("labelme")
    shapes = to_labelme(tasks, report=report)[0]["shapes"]
    assert [(s["label"], s["group_id"]) for s in shapes] == [("k", 1), ("s", 2), ("s", 2)]
    assert report.ok  # the group_id attribute is carried, not lost


kinds = st.sampled_from(["bbox", "keypoint", "polygon", "line", "circle"])
groups = st.one_of(st.none(), st.integers(-3, 40))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(kinds, groups, st.integers(0, 50), st.integers(0, 50)), max_size=6))
def test_group_ids_round_trip_through_files(tmp_path_factory, shapes):
    folder = tmp_path_factory.mktemp("groups")
    geometry = {"bbox": lambda x, y: [x, y, x + 3, y + 2], "keypoint": lambda x, y: [x, y],
                "polygon": lambda x, y: [x, y, x + 4, y, x + 4, y + 4], "line": lambda x, y: [x, y, x + 5, y + 1],
                "circle": lambda x, y: [x, y, 3]}
    annotations = [ann(kind, f"{kind}{n}", geometry[kind](x, y), **(
        {"attributes": [{"key": "group_id", "value": str(group_id), "type": "text"}]} if group_id is not None else {}))
        for n, (kind, group_id, x, y) in enumerate(shapes)]
    export_labelme([task("t.jpg", 60, 60, *annotations)], folder)
    assert labelme_tasks(folder)[0]["annotations"] == annotations


def test_labelme_files_of_the_sample_project_open_their_images(tmp_path):
    tasks = json.loads((SAMPLE / "tasks.json").read_text())
    tasks[0] = {key: value for key, value in tasks[0].items() if key not in ("width", "height")}
    report = export_labelme(tasks, tmp_path / "labelme", image_dir=SAMPLE / "images")
    assert not [k for k in report.findings if "image file missing" in k or "width or height 0" in k]
    for path in sorted((tmp_path / "labelme").rglob("*.json")):
        document = json.loads(path.read_text())
        image = Path(os.path.join(os.path.dirname(path), document["imagePath"]))  # labelme's LabelFile rule
        assert image.is_file(), path
        with Image.open(image) as opened:
            assert opened.size == (document["imageWidth"], document["imageHeight"])
    report = export_labelme(tasks[:1], tmp_path / "elsewhere", image_dir=tmp_path / "no-images")
    assert report.findings["image file missing from the image folder (imagePath names it anyway)"].count == 1
