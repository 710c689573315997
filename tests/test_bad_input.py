"""Bad input: a FormatError that names the place, nothing written outside the output folder."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import ann, task

from fastlabel_formats import (
    ConversionReport,
    FormatError,
    export_coco,
    export_labelme,
    export_pascalvoc,
    export_yolo,
    to_coco,
    to_labelme,
    to_pascalvoc,
    to_yolo,
)
from fastlabel_formats.files import write_atomic

CONVERTERS = [to_coco, to_yolo, to_pascalvoc, to_labelme]
EXPORTERS = [export_coco, export_yolo, export_pascalvoc, export_labelme]


def one(annotation: dict, name: str = "a.jpg") -> list[dict]:
    return [task(name, 10, 10, ann("bbox", "ok", [0, 0, 5, 5]), ann("bbox", "ok", [0, 0, 5, 5]),
                 ann("bbox", "ok", [0, 0, 5, 5]), annotation)]


READERS = {  # which converters read (and so validate) the points of each type
    "bbox": CONVERTERS, "polygon": CONVERTERS, "segmentation": [to_coco, to_yolo, to_labelme],
    "keypoint": [to_labelme], "line": [to_labelme],
}
MALFORMED = [
    (ann("bbox", "x", [1, 2, 3]), r"annotation #3 \(bbox\): expected 4 coordinates, got 3"),
    (ann("keypoint", "x", [1, 2, 3]), r"annotation #3 \(keypoint\): expected 2 coordinates, got 3"),
    (ann("polygon", "x", [1, 2, 3, 4, 5]), r"annotation #3 \(polygon\): expected an even number of coordinates, got 5"),
    (ann("polygon", "x", [[1, 2], [3, 4], [5, 6]]), r"annotation #3 \(polygon\): expected a flat list of numbers"),
    (ann("segmentation", "x", [1, 2, 3, 4, 5, 6]),
     r"annotation #3 \(segmentation\): expected regions as non-empty lists of rings"),
    (ann("segmentation", "x", [[[1, 2, 3, 4, 5]]]), r"annotation #3 \(segmentation\): ring with an odd number"),
    (ann("bbox", "x", [0, 0, float("nan"), 5]), r"annotation #3 \(bbox\): coordinate nan is not a finite number"),
    (ann("polygon", "x", [0, 0, float("inf"), 5, 1, 1]), r"annotation #3 \(polygon\): coordinate inf is not a finite"),
    (ann("bbox", "x", [0, "0", 5, 5]), r"annotation #3 \(bbox\): coordinate '0' is not a finite number"),
    (ann("line", "x", [0, None, 5, 5]), r"annotation #3 \(line\): coordinate None is not a finite number"),
    (ann("segmentation", "x", [[[0, 0, 5, 0, "5", 5]]]), r"annotation #3 \(segmentation\): coordinate '5'"),
    (ann("bbox", "x", {"1": [0, 0, 1, 1]}), r"annotation #3 \(bbox\): expected a flat list of numbers"),
    (ann("polygon", "x", [0, 0, 10**400, 5, 1, 1]), r"annotation #3 \(polygon\): coordinate 1000"),
]


def written(result: object) -> int:
    """How many annotations a converter's result holds (labels, records, objects or shapes)."""
    if isinstance(result, dict):
        return len(result["annotations"])
    if isinstance(result, tuple):
        return sum(len(lines) for _, lines in result[0])
    documents = [text for _, text in result] if result and isinstance(result[0], tuple) else result
    return sum(text.count("<object>") if isinstance(text, str) else len(text["shapes"]) for text in documents)


@pytest.mark.parametrize(("convert", "annotation", "problem"), [
    (convert, annotation, problem) for annotation, problem in MALFORMED for convert in READERS[annotation["type"]]])
def test_malformed_annotations_are_skipped_and_reported_with_place_and_problem(convert, annotation, problem):
    report = ConversionReport(convert.__name__)
    assert written(convert(one(annotation), report=report)) == 3  # the three good boxes
    (finding,) = report.findings.values()
    assert finding.kind == "malformed annotation skipped" and finding.count == 1
    assert re.match(r"tasks: task 'a.jpg' " + problem, finding.examples[0])


@pytest.mark.parametrize("export", EXPORTERS)
def test_strict_runs_fail_before_writing_and_list_the_first_twenty(tmp_path, export):
    bad = [ann("bbox", "x", [1, 2, 3]) for _ in range(25)]
    tasks = [task("a.jpg", 10, 10, ann("bbox", "ok", [0, 0, 5, 5])), task("b.jpg", 10, 10, *bad)]
    with pytest.raises(FormatError) as failure:
        export(tasks, tmp_path / "out", strict=True)
    lines = str(failure.value).splitlines()
    assert lines[0] == "25 malformed annotation(s) (strict mode, nothing written):"
    assert lines[1] == "  tasks: task 'b.jpg' annotation #0 (bbox): expected 4 coordinates, got 3"
    assert len(lines) == 22 and lines[-1] == "  … and 5 more"
    assert not (tmp_path / "out").exists()
    report = export(tasks, tmp_path / "lenient")
    assert report.findings["malformed annotation skipped"].count == 25 and report.files


def test_types_a_converter_does_not_read_are_not_validated_by_it():
    labels, _ = to_yolo(one(ann("keypoint", "x", [1, 2, 3])))
    assert len(labels[0][1]) == 3


@pytest.mark.parametrize(("field", "value"), [("width", -1), ("height", 1.5), ("width", "100"), ("height", True)])
def test_bad_image_size(field, value):
    bad = task("a.jpg", 10, 10)
    bad[field] = value
    with pytest.raises(FormatError, match=rf"task 'a.jpg': '{field}' must be an integer >= 0"):
        to_coco([bad])


def test_file_name_appears_in_messages(tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(one(ann("bbox", "x", [1, 2, 3]))))
    report = ConversionReport("yolo")
    to_yolo(path, report=report)
    assert report.findings["malformed annotation skipped"].examples[0].startswith(
        f"{path}: task 'a.jpg' annotation #3 (bbox): expected 4")
    path.write_text('[{"name": "a.jpg",\n "width": 1,, }]')
    with pytest.raises(FormatError, match=r"tasks.json: task #0: not valid JSON: .*line 2 column 1[34]"):
        to_yolo(str(path))
    with pytest.raises(FormatError, match="cannot read tasks file"):
        to_coco(tmp_path / "missing.json")


def test_structural_problems():
    with pytest.raises(FormatError, match="task #0 has no 'name'"):
        to_coco([{"width": 1, "height": 1, "annotations": []}])
    with pytest.raises(FormatError, match="'annotations' must be a list of objects"):
        to_coco([{"name": "a", "width": 1, "height": 1, "annotations": [1]}])
    report = ConversionReport("coco")
    to_coco([task("a", 1, 1, {"type": "bbox", "points": [0, 0, 1, 1]}, ann("bbox", "v", [0, 0, 1, 1]),
                  ann("bbox", "v", [0, 0, 1, 1], rotation="x"), ann("bbox", 7, [0, 0, 1, 1]),
                  ann("segmentation", "s", [[[0, 0, 1, 0, 1, 1]], []]),
                  {"type": ["bbox"], "value": "v", "points": [0, 0, 1, 1]})], report=report)
    assert [e.split(": ", 1)[1] for e in report.findings["malformed annotation skipped"].examples] == [
        "task 'a' annotation #0 (bbox): no 'value'",
        "task 'a' annotation #2 (bbox): rotation 'x' is not a finite number",
        "task 'a' annotation #3 (bbox): value 7 is not a string",
        "task 'a' annotation #4 (segmentation): expected regions as non-empty lists of rings (list of list of numbers)",
        "task 'a' annotation #5 (['bbox']): 'type' is ['bbox'], not a string"]


def test_unknown_types_are_skipped_not_errors():
    labels, classes = to_yolo([task("a.jpg", 10, 10, {"type": "cuboid", "value": "c", "points": {"x": 1}},
                                    ann("bbox", "b", [0, 0, 5, 5]))])
    assert labels == [("a.jpg", ["0 0.25 0.25 0.5 0.5"])] and classes == ["b"]


@pytest.mark.parametrize("export", [export_yolo, export_pascalvoc, export_labelme])
@pytest.mark.parametrize("name", ["../x.jpg", "a/../../x.jpg", "/abs/x.jpg", "../..", "C:\\x.jpg"])
def test_names_that_escape_the_output_folder_are_refused(tmp_path, export, name):
    out = tmp_path / "out"
    tasks = [task("fine.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5])), task(name, 10, 10)]
    with pytest.raises(FormatError, match="refusing|climbs out"):
        export(tasks, out)
    assert sorted(p.name for p in tmp_path.rglob("*")) == []  # nothing at all, not even inside out


def test_coco_output_file_name_cannot_escape(tmp_path):
    with pytest.raises(FormatError, match="climbs out"):
        export_coco([task("a.jpg", 1, 1)], tmp_path / "out", output_file_name="../evil.json")
    assert not (tmp_path / "evil.json").exists()


def test_strict_raises_instead_of_dropping(tmp_path):
    tasks = [task("a.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5]), ann("circle", "c", [5, 5, 2]))]
    for export in [export for export in EXPORTERS if export is not export_labelme]:  # labelme has circles
        with pytest.raises(FormatError, match=r"annotation #1 \(circle\): circle annotation not representable"):
            export(tasks, tmp_path / export.__name__, strict=True)
        assert not [p for p in tmp_path.joinpath(export.__name__).rglob("*") if p.is_file()]
    degenerate = [task("a.jpg", 10, 10, ann("bbox", "deg", [1, 1, 1.5, 9]))]
    with pytest.raises(FormatError, match=r"#0 \(bbox\): degenerate bbox .*strict mode"):
        export_yolo(degenerate, tmp_path / "deg", strict=True)
    assert export_yolo([task("a.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5]))], tmp_path / "ok", strict=True).ok


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
