"""DOTA <-> FastLabel rotated boxes: datumaro's DOTA assets, the corner order, headers, losses and
hypothesis round trips both ways."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ann, task
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from fastlabel_formats import ConversionReport, FormatError
from fastlabel_formats.formats.dota import FORMAT, detect_dota, dota_annotations, dota_tasks, export_dota, to_dota

ASSETS = Path(__file__).parent / "fixtures" / "third_party" / "datumaro_dota"
DIFFICULT = [{"key": "difficult", "value": True, "type": "switch"}]


def parse_label_file(path: Path) -> list[tuple[list[float], str, str]]:
    """An independent reading of a DOTA label file: (8 numbers, class, difficult) per object line."""
    out = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 9:
            out.append(([float(v) for v in fields[:8]], fields[8], fields[9] if len(fields) > 9 else ""))
    return out


def box_of(points: list, degrees: float) -> np.ndarray:
    """The 4 corners (x1,y1),(x2,y1),(x2,y2),(x1,y2) of a box turned clockwise (screen) about its
    centre: formats-spec's rotated bbox, computed here without the package."""
    x1, y1, x2, y2 = min(points[0], points[2]), min(points[1], points[3]), max(points[0], points[2]), \
        max(points[1], points[3])
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    t = math.radians(degrees)
    return np.array([[cx + (x - cx) * math.cos(t) - (y - cy) * math.sin(t),
                      cy + (x - cx) * math.sin(t) + (y - cy) * math.cos(t)]
                     for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))])


def screen_clockwise(corners: np.ndarray) -> bool:
    x, y = corners[:, 0], corners[:, 1]
    return float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum()) > 0  # > 0: clockwise with y down


def angle_gap(a: float, b: float) -> float:
    gap = (a - b) % 360.0
    return min(gap, 360.0 - gap)


def test_datumaro_assets_read_as_their_files_say():
    report = ConversionReport("dota import")
    tasks = dota_tasks(ASSETS, report=report)
    assert report.ok, report.summary()
    labels = sorted(ASSETS.glob("*/labelTxt/*.txt"))
    assert [t["name"] for t in tasks] == [f"{p.parent.parent.name}/{p.stem}.jpg" for p in labels]
    for label, read in zip(labels, tasks):
        with Image.open(label.parent.parent / "images" / f"{label.stem}.jpg") as image:
            assert (read["width"], read["height"]) == image.size
        expected = parse_label_file(label)
        assert len(read["annotations"]) == len(expected)
        for annotation, (numbers, name, difficult) in zip(read["annotations"], expected):
            xs, ys = numbers[0::2], numbers[1::2]
            assert annotation["type"] == "bbox" and annotation["value"] == name
            assert annotation["points"] == [min(xs), min(ys), max(xs), max(ys)]
            assert annotation["rotation"] == 0  # counter-clockwise from the top-left: no turn
            assert annotation["attributes"] == [{"key": "difficult", "value": difficult == "1", "type": "switch"}]


def test_datumaro_assets_round_trip_to_the_same_quadrilaterals(tmp_path):
    tasks = dota_tasks(ASSETS)
    report = export_dota(tasks, tmp_path)
    assert report.ok, report.summary()
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt"))
    assert written == sorted(p.relative_to(ASSETS).as_posix() for p in ASSETS.glob("*/labelTxt/*.txt"))
    for relative in written:
        for (ours, name, flag), (theirs, their_name, their_flag) in zip(
                parse_label_file(tmp_path / relative), parse_label_file(ASSETS / relative), strict=True):
            ours, theirs = np.reshape(ours, (4, 2)), np.reshape(theirs, (4, 2))
            assert (name, flag) == (their_name, their_flag)
            assert ours[0].tolist() == theirs[0].tolist()  # the same first corner
            assert sorted(map(tuple, ours)) == sorted(map(tuple, theirs))
            assert screen_clockwise(ours) and not screen_clockwise(theirs)  # written clockwise


def test_export_writes_the_corners_clockwise_from_the_turned_top_left(frozen):
    tasks = frozen([task("a.png", 100, 100, ann("bbox", "plane", [30, 10, 10, 20], rotation=90,
                                                  attributes=DIFFICULT))])
    (path, text), = to_dota(tasks)
    assert path == "labelTxt/a.txt"
    # centre (20, 15), half sizes 10, 5; turned a quarter clockwise: top-left (10,10) -> (25, 5)
    assert text == "25 5 25 25 15 25 15 5 plane 1\n"


def test_headers_are_task_metadatas_both_ways(tmp_path):
    (tmp_path / "labelTxt").mkdir()
    (tmp_path / "labelTxt" / "P0001.txt").write_text(
        "imagesource:Google Earth\ngsd:0.146343590398\n1 1 5 1 5 3 1 3 small-vehicle 0\n")
    report = ConversionReport("dota import")
    tasks = dota_tasks(tmp_path, report=report)
    assert tasks[0]["metadatas"] == [{"key": "imagesource", "value": "Google Earth"},
                                     {"key": "gsd", "value": "0.146343590398"}]
    assert tasks[0]["name"] == "P0001.png" and tasks[0]["width"] == 0
    assert list(report.findings) == ["image not found beside the labels, size unknown (0)"]
    (_, text), = to_dota(tasks)
    assert text == (tmp_path / "labelTxt" / "P0001.txt").read_text()
    report = ConversionReport("dota")
    to_dota([{**tasks[0], "metadatas": [*tasks[0]["metadatas"], {"key": "weather", "value": "fog"}]}], report=report)
    assert report.findings["task metadata other than imagesource and gsd not carried by dota"].examples == [
        "tasks: task 'P0001.png'"]


def test_a_quadrilateral_that_is_no_rectangle_is_a_polygon_reported_with_its_line(tmp_path):
    label = tmp_path / "x.txt"
    label.write_text("0 0 10 0 12 5 0 5 harbor 1\n0 0 4 0 4 3 0 3 ship\nnot a line\n5 5 5 5 5 5 5 5 dot 0\n")
    report = ConversionReport("dota import")
    annotations = dota_tasks(label, report=report)[0]["annotations"]
    assert [a["type"] for a in annotations] == ["polygon", "bbox", "polygon"]
    assert annotations[0]["points"] == [0, 0, 10, 0, 12, 5, 0, 5]
    assert annotations[1] == {"type": "bbox", "value": "ship", "points": [0, 0, 4, 3], "rotation": 0, "attributes": []}
    not_rectangle = report.findings["DOTA quadrilateral that is not a rectangle read as a polygon"]
    assert not_rectangle.examples == [f"{label} line 1"]
    assert report.findings["DOTA quadrilateral of zero width or height read as a polygon"].examples == [
        f"{label} line 4"]
    assert [f.examples for k, f in report.findings.items() if k.startswith("line that")] == [[f"{label} line 3"]]
    # and back: the polygon's corners as they were, the box clockwise from its first corner
    (_, text), = to_dota([{"name": "x.png", "width": 20, "height": 20, "annotations": annotations}])
    assert text.splitlines()[:2] == ["0 0 10 0 12 5 0 5 harbor 1", "0 0 4 0 4 3 0 3 ship 0"]


def test_tolerance_fits_nearly_rectangular_integer_corners_and_says_so(tmp_path):
    label = tmp_path / "x.txt"
    label.write_text("10 0 20 10 10 20 0 10 roundabout 0\n11 0 20 10 10 20 0 10 roundabout 0\n")
    report = ConversionReport("dota import")
    first, second = dota_tasks(label, report=report, tolerance=1.0)[0]["annotations"]
    assert first["type"] == second["type"] == "bbox" and first["rotation"] == 45
    fitted = report.findings["DOTA quadrilateral fitted to a rotated box (corners moved up to 1.0 px)"]
    assert fitted.examples == [f"{label} line 2"]


def test_what_dota_cannot_carry_is_reported_with_places():
    tasks = [task("a.jpg", 50, 50,
                  ann("segmentation", "lake", [[[0, 0, 5, 0, 5, 5]]]),
                  ann("polygon", "field", [0, 0, 5, 0, 5, 5, 2, 7, 0, 5]),
                  ann("bbox", "flat", [1, 1, 1, 9]),
                  ann("bbox", "two words", [1, 1, 4, 9], attributes=[{"key": "colour", "value": "red"}]),
                  ann("line", "road", [0, 0, 9, 9]))]
    report = ConversionReport("dota")
    (_, text), = to_dota(tasks, report=report)
    assert text == "1 1 4 1 4 9 1 9 two-words 0\n"
    found = {kind: finding.examples for kind, finding in report.findings.items()}
    assert found == {
        "segmentation annotation not representable in dota": ["tasks: task 'a.jpg' annotation #0 (segmentation)"],
        "line annotation not representable in dota": ["tasks: task 'a.jpg' annotation #4 (line)"],
        "polygon without exactly 4 vertices not representable in dota": ["tasks: task 'a.jpg' annotation #1 (polygon)"],
        "bbox of zero width or height skipped (no DOTA quadrilateral)": ["tasks: task 'a.jpg' annotation #2 (bbox)"],
        "class name with whitespace written with '-' instead": ["tasks: task 'a.jpg' annotation #3 (bbox)"],
        "attributes other than difficult not carried by dota": ["tasks: task 'a.jpg' annotation #3 (bbox)"],
    }


def test_unreadable_label_file_costs_that_file_only(tmp_path):
    (tmp_path / "labelTxt").mkdir()
    (tmp_path / "labelTxt" / "bad.txt").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "labelTxt" / "good.txt").write_text("0 0 2 0 2 2 0 2 a 0\n")
    report = ConversionReport("dota import")
    tasks = dota_tasks(tmp_path, report=report)
    assert [t["name"] for t in tasks] == ["good.png"]
    assert any(str(tmp_path / "labelTxt" / "bad.txt") in place for f in report.findings.values()
               for place in f.examples)
    with pytest.raises(FormatError, match="no such file or folder"):
        dota_tasks(tmp_path / "labelTxt" / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no DOTA label"):
        dota_tasks(tmp_path / "empty")


def test_detect(tmp_path):
    assert detect_dota(ASSETS) >= 0.9
    assert detect_dota(ASSETS / "val" / "labelTxt" / "val_001.txt") > 0.5
    assert detect_dota(Path(__file__)) == 0
    yolo_obb = tmp_path / "obb.txt"
    yolo_obb.write_text("0 0.1 0.2 0.3 0.2 0.3 0.4 0.1 0.4\n")
    assert detect_dota(yolo_obb) == 0
    assert FORMAT.name == "dota" and FORMAT.read is not None and FORMAT.target is not None


coordinate = st.floats(-2000, 6000, allow_nan=False)
size = st.floats(1, 3000, allow_nan=False)
angle = st.floats(-720, 720, allow_nan=False) | st.sampled_from([0, 90, 180, 270, -90, 45, 359.9999999])


@given(st.lists(st.tuples(coordinate, coordinate, size, size, angle), min_size=1, max_size=6))
def test_fastlabel_to_dota_to_fastlabel_keeps_every_rotated_box(boxes):
    annotations = [ann("bbox", f"c{n}", [x, y, x + w, y + h], rotation=r) for n, (x, y, w, h, r) in enumerate(boxes)]
    (_, text), = to_dota([task("g/a.png", 100, 100, *annotations)])
    lines = [line.split() for line in text.splitlines()]
    report = ConversionReport("dota import")
    back = dota_annotations(np.array([[float(v) for v in line[:8]] for line in lines]), [line[8] for line in lines],
                            [line[9] == "1" for line in lines], str, report)
    assert report.ok
    for (x, y, w, h, r), line, read in zip(boxes, lines, back, strict=True):
        written = np.reshape([float(v) for v in line[:8]], (4, 2))
        np.testing.assert_allclose(written, box_of([x, y, x + w, y + h], r), rtol=0, atol=1e-6)
        assert screen_clockwise(written)
        assert read["type"] == "bbox"
        np.testing.assert_allclose(read["points"], [x, y, x + w, y + h], rtol=0, atol=1e-6)
        assert angle_gap(read["rotation"], r) <= 1e-6 and 0 <= read["rotation"] < 360


@given(st.lists(st.tuples(st.lists(st.integers(-50, 5000), min_size=8, max_size=8), st.booleans()),
                min_size=1, max_size=5))
def test_dota_to_fastlabel_to_dota_keeps_every_clockwise_quadrilateral(tmp_path_factory, quads):
    folder = tmp_path_factory.mktemp("dota")
    lines = []
    for numbers, difficult in quads:
        corners = np.reshape(numbers, (4, 2))
        if not screen_clockwise(corners):
            corners = corners[[0, 3, 2, 1]]
        lines.append(" ".join(map(str, corners.ravel().tolist())) + f" thing {int(difficult)}")
    (folder / "q.txt").write_text("\n".join(lines) + "\n")
    tasks = dota_tasks(folder / "q.txt")
    (_, text), = to_dota(tasks)
    for ours, theirs in zip(text.splitlines(), lines, strict=True):
        mine, original = ours.split(), theirs.split()
        assert mine[8:] == original[8:]
        np.testing.assert_allclose([float(v) for v in mine[:8]], [float(v) for v in original[:8]], atol=1e-6)


def test_the_registry_target_writes_what_export_dota_writes(tmp_path):
    from fastlabel_formats.run import run_export
    from fastlabel_formats.targets import TargetOptions

    tasks = dota_tasks(ASSETS)
    report = ConversionReport("dota")
    run_export(tasks, [FORMAT.target(tmp_path / "registry", TargetOptions())], [report])
    export_dota(tasks, tmp_path / "verb")
    for path in (tmp_path / "verb").rglob("*.txt"):
        assert (tmp_path / "registry" / path.relative_to(tmp_path / "verb")).read_bytes() == path.read_bytes()
    assert report.ok and len(report.files) == 3
