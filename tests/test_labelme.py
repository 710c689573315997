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
    assert document["version"] == "4.5.9" and document["imagePath"] == "dir/a.b.png"
    assert (document["imageHeight"], document["imageWidth"], document["imageData"]) == (20, 30, None)
    shapes = [(s["label"], s["shape_type"], s["points"]) for s in document["shapes"]]
    assert shapes == [
        ("box", "rectangle", [[9, 8], [2.5, 1]]),
        ("poly", "polygon", [[1, 2], [3, 4], [5, 6]]),
        ("kp", "point", [[7, 8]]),
        ("ln", "line", [[0, 0], [1, 1], [2, 0]]),
        ("seg", "polygon", [[0, 0], [4, 0], [4, 4], [0, 0]]),
        ("seg", "polygon", [[10, 10], [12, 10], [12, 12], [10, 10]]),
    ]
    assert list(document["shapes"][0]) == ["label", "points", "group_id", "shape_type", "flags"]
    assert set(report.findings) == {"segmentation holes dropped", "circle annotation not representable in labelme",
                                    "polygon annotation without points skipped"}


def test_files_and_reference_bytes(tmp_path):
    tasks = [task("sub/x.y.jpg", 3, 4, ann("bbox", "日本", [0, 0, 1, 1])), task("noext", 1, 1)]
    export_labelme(tasks, tmp_path, indent=4)
    written = (tmp_path / "sub/x.y.json").read_text(encoding="utf-8")
    assert written == json.dumps(to_labelme(tasks)[0], indent=4, ensure_ascii=False)
    assert "日本" in written
    assert json.loads((tmp_path / "noext.json").read_text())["shapes"] == []
