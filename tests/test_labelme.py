"""FastLabel -> labelme: formats-spec.md §4 and D15."""

from __future__ import annotations

import json

from conftest import ann, task

from fastlabel_formats import ConversionReport, export_labelme, to_labelme


def test_document_layout_and_shapes(frozen):
    seg = [[[0, 0, 4, 0, 4, 4, 0, 0], [1, 1, 1, 2, 2, 2, 1, 1]], [[10, 10, 12, 10, 12, 12, 10, 10]]]
    tasks = frozen([task("dir/a.b.png", 30, 20,
                         ann("bbox", "box", [9, 8, 2.5, 1]),
                         ann("polygon", "poly", [1, 2, 3, 4, 5, 6]),
                         ann("keypoint", "kp", [7, 8]),
                         ann("line", "ln", [0, 0, 1, 1, 2, 0]),
                         ann("segmentation", "seg", seg),
                         ann("circle", "c", [1, 1, 3]),
                         ann("polygon", "empty", []))])
    report = ConversionReport("labelme")
    [document] = to_labelme(tasks, report=report)
    assert list(document) == ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
    # imagePath is relative to the JSON (dir/a.b.json sits beside dir/a.b.png)
    assert document["version"] == "4.5.9" and document["imagePath"] == "a.b.png"
    assert (document["imageHeight"], document["imageWidth"], document["imageData"]) == (20, 30, None)
    shapes = [(s["label"], s["shape_type"], s["points"]) for s in document["shapes"]]
    assert shapes == [
        ("box", "rectangle", [[9, 8], [2.5, 1]]),
        ("poly", "polygon", [[1, 2], [3, 4], [5, 6]]),
        ("kp", "point", [[7, 8]]),
        ("ln", "linestrip", [[0, 0], [1, 1], [2, 0]]),  # labelme's "line" has exactly 2 points
        ("seg", "polygon", [[0, 0], [4, 0], [4, 4], [0, 0]]),
        ("seg", "polygon", [[10, 10], [12, 10], [12, 12], [10, 10]]),
        ("c", "circle", [[1, 1], [4, 1]]),  # labelme's circle: the centre and a point on the edge
    ]
    assert list(document["shapes"][0]) == ["label", "points", "group_id", "shape_type", "flags"]
    assert [s["group_id"] for s in document["shapes"]] == [None, None, None, None, 1, 1, None]
    assert set(report.findings) == {"segmentation holes dropped", "polygon annotation without points skipped"}


def test_files_and_reference_bytes(tmp_path):
    tasks = [task("sub/x.y.jpg", 3, 4, ann("bbox", "日本", [0, 0, 1, 1])), task("noext", 1, 1)]
    export_labelme(tasks, tmp_path, indent=4)
    written = (tmp_path / "sub/x.y.json").read_text(encoding="utf-8")
    assert written == json.dumps(to_labelme(tasks)[0], indent=4, ensure_ascii=False)
    assert "日本" in written
    assert json.loads((tmp_path / "noext.json").read_text())["shapes"] == []


def test_image_path_is_relative_to_the_json_file(tmp_path):
    tasks = [task("sub/x.jpg", 4, 4, ann("bbox", "b", [0, 0, 2, 2]))]
    export_labelme(tasks, tmp_path / "beside")
    assert json.loads((tmp_path / "beside/sub/x.json").read_text())["imagePath"] == "x.jpg"
    export_labelme(tasks, tmp_path / "labels", image_dir=tmp_path / "images")
    document = json.loads((tmp_path / "labels/sub/x.json").read_text())
    assert document["imagePath"] == "../../images/sub/x.jpg"
    assert (tmp_path / "labels/sub" / document["imagePath"]).resolve() == (tmp_path / "images/sub/x.jpg").resolve()


def test_regions_flags_and_switches_round_trip_through_files(tmp_path):
    from fastlabel_formats import labelme_to_fastlabel

    seg = [[[0, 0, 4, 0, 4, 4, 0, 0]], [[10, 10, 12, 10, 12, 12, 10, 10]]]
    switch = {"key": "occluded", "value": True, "type": "switch"}
    tasks = [task("a.jpg", 20, 20, {**ann("segmentation", "s", seg), "attributes": [switch]},
                  ann("polygon", "p", [1, 1, 5, 1, 5, 5]), {"type": "classification", "value": "night"})]
    report = export_labelme(tasks, tmp_path)
    assert not report.findings
    document = json.loads((tmp_path / "a.json").read_text())
    assert document["flags"] == {"night": True}
    assert document["shapes"][0]["flags"] == {"occluded": True}
    back = labelme_to_fastlabel(tmp_path)["a.jpg"]
    assert back[0] == {"value": "s", "points": seg, "type": "segmentation", "attributes": [switch]}
    assert back[1] == {"value": "p", "points": [1, 1, 5, 1, 5, 5], "type": "polygon"}
    assert back[2] == {"value": "night", "type": "classification", "attributes": []}
