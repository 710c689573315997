"""``validate``: the checks that find what breaks training and rasterisation, with their places."""

from __future__ import annotations

import json

import numpy as np
import shapely
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, validate
from fastlabel_formats.cli import main
from fastlabel_formats.repair import repair


def rectangles(right: int, bottom: int):
    """Lists of distinct boxes, polygons and segmentations of rectangles inside right × bottom."""
    return st.lists(st.tuples(st.integers(1, right - 20), st.integers(1, bottom - 20), st.integers(2, 19),
                              st.integers(2, 19), st.sampled_from(["bbox", "polygon", "segmentation"])),
                    max_size=6, unique=True).map(lambda shapes: [_rectangle(*shape) for shape in shapes])


def _rectangle(x: int, y: int, w: int, h: int, kind: str) -> dict:
    ring = [x, y, x + w, y, x + w, y + h, x, y + h]
    return ann(kind, "v", {"bbox": [x, y, x + w, y + h], "polygon": ring, "segmentation": [[ring + ring[:2]]]}[kind])


@settings(max_examples=60, deadline=None)
@given(rectangles(100, 80))
def test_valid_shapes_inside_the_image_give_no_finding(annotations):
    assert validate([task("t.jpg", 100, 80, *annotations)]).ok


def test_every_kind_of_problem_is_found_with_its_place(tmp_path, capsys):
    bowtie = [0, 0, 10, 10, 10, 0, 0, 10]
    outer, far_hole = [0, 0, 20, 0, 20, 20, 0, 20, 0, 0], [30, 30, 35, 30, 35, 35, 30, 30]
    tasks = [task("a.jpg", 40, 40,
                  ann("polygon", "v", bowtie), ann("segmentation", "v", [[outer, far_hole]]),
                  ann("polygon", "v", [1, 1, 5, 5, 9, 9]), ann("polygon", "v", [1, 1, 1, 1, 2, 2]),
                  ann("bbox", "v", [30, 30, 50, 35]), ann("bbox", "v", [1, 1, 1, 9]),
                  ann("bbox", "other", [2, 2, 4, 4]), ann("bbox", "v", [2, 2, 6, 6]), ann("bbox", "v", [2, 2, 6, 6]),
                  {"type": "pose_estimation", "value": "v", "keypoints": [{"key": "k", "value": [45, 5, 1]}]},
                  ann("bbox", "v", [1, 2, 3]))]
    report = validate(tasks, classes=["v"])
    found = {kind: finding.examples[0].split(": ", 1)[1] for kind, finding in report.findings.items()}
    assert found["polygon: self-intersection"] == "task 'a.jpg' annotation #0 (polygon)"
    assert found["segmentation: hole lies outside shell"] == "task 'a.jpg' annotation #1 (segmentation)"
    assert found["polygon: zero area"] == "task 'a.jpg' annotation #2 (polygon)"
    assert found["polygon with a ring of fewer than 3 distinct vertices"] == "task 'a.jpg' annotation #3 (polygon)"
    assert found["bbox reaching outside the image"] == "task 'a.jpg' annotation #4 (bbox)"
    assert found["bbox of zero width or height"] == "task 'a.jpg' annotation #5 (bbox)"
    assert found["value not in the classes"] == "task 'a.jpg' annotation #6 (bbox)"
    assert found["duplicate annotation (same type, value and points in one image)"] == \
        "task 'a.jpg' annotation #8 (bbox)"
    assert found["pose_estimation with keypoints outside the image"] == "task 'a.jpg' annotation #9 (pose_estimation)"
    assert found["malformed annotation skipped"].startswith("task 'a.jpg' annotation #10 (bbox)")
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    assert main(["validate", str(path), "--classes", "v"]) == 1
    assert "self-intersection" in capsys.readouterr().out
    path.write_text(json.dumps([task("ok.jpg", 10, 10, ann("bbox", "v", [1, 1, 5, 5]))]))
    assert main(["validate", str(path)]) == 0


def test_stats_count_images_types_classes_splits_and_box_sizes(tmp_path, capsys):
    from fastlabel_formats import stats

    tasks = [task("train/a.jpg", 40, 40, ann("bbox", "cat", [0, 0, 10, 20]), ann("polygon", "dog", [1, 1, 5, 1, 5, 5])),
             task("val/b.jpg", 40, 40, ann("bbox", "cat", [0, 0, 30, 4])), task("c.jpg", 40, 40)]
    counts = stats(tasks)
    assert counts["images"] == 3 and counts["images_without_annotations"] == 1
    assert counts["annotations_per_type"] == {"bbox": 2, "polygon": 1}
    assert counts["annotations_per_class"] == {"cat": 2, "dog": 1}
    assert counts["per_split"] == {"train": {"cat": 1, "dog": 1}, "val": {"cat": 1}}
    assert counts["bbox_sizes_min_median_max"] == {"width": [10, 20, 30], "height": [4, 12, 20]}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    assert main(["stats", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(counts))


WIDTH, HEIGHT = 60, 40
coordinates = st.tuples(st.integers(-20, WIDTH + 20), st.integers(-20, HEIGHT + 20))
any_ring = st.lists(coordinates, min_size=3, max_size=9).map(lambda pairs: [v for pair in pairs for v in pair])
any_shape = st.one_of(
    st.tuples(st.just("polygon"), any_ring),
    st.tuples(st.just("segmentation"), st.lists(st.lists(any_ring.map(lambda r: r + r[:2]), min_size=1, max_size=3),
                                                min_size=1, max_size=2)),
    st.tuples(st.just("bbox"), st.tuples(coordinates, coordinates).map(lambda c: [*c[0], *c[1]])),
    st.tuples(st.just("line"), any_ring), st.tuples(st.just("keypoint"), coordinates.map(list)))


def _exact_pixels(annotation: dict) -> np.ndarray:
    from fastlabel_formats import render_instance_mask

    if annotation["type"] not in ("bbox", "polygon", "segmentation"):
        return np.zeros((HEIGHT, WIDTH), bool)
    return render_instance_mask(task("t.jpg", WIDTH, HEIGHT, annotation), raster="exact") > 0


def _outline(annotation: dict):
    points = annotation["points"]
    rings = {"bbox": lambda: [[points[0], points[1], points[2], points[1], points[2], points[3], points[0], points[3],
                               points[0], points[1]]],
             "polygon": lambda: [points + points[:2]],
             "segmentation": lambda: [ring for region in points for ring in region]}.get(annotation["type"], list)()
    return shapely.MultiLineString([np.reshape(ring, (-1, 2)) for ring in rings if len(ring) >= 4])


@settings(max_examples=150, deadline=None)
@given(st.lists(any_shape, min_size=1, max_size=5))
def test_repaired_tasks_validate_clean_and_cover_no_new_pixel(shapes):
    """Self-intersecting, out-of-image, degenerate and duplicate shapes: the repaired project has
    no finding, each repaired shape paints only pixel centres its original painted (the exact
    rule), and repairing again changes nothing."""
    original = task("t.jpg", WIDTH, HEIGHT, *(ann(kind, "v", points) for kind, points in shapes))
    before = json.dumps(original)
    report = ConversionReport("fix")
    [fixed] = repair([original], report=report)
    assert json.dumps(original) == before  # the caller's task is untouched
    assert validate([fixed]).ok, validate([fixed]).summary()
    painted = np.zeros((HEIGHT, WIDTH), bool)
    for annotation in original["annotations"]:
        painted |= _exact_pixels(annotation)
    outlines = shapely.union_all([_outline(a) for a in original["annotations"]])
    repainted = np.zeros((HEIGHT, WIDTH), bool)
    for annotation in fixed["annotations"]:
        repainted |= _exact_pixels(annotation)
    kept = np.zeros((HEIGHT, WIDTH), bool)  # polygons and boxes lose no pixel either
    for annotation in original["annotations"]:
        kept |= _exact_pixels(annotation) if annotation["type"] in ("polygon", "bbox") else kept
    for row, column in np.argwhere((repainted & ~painted) | (kept & ~repainted)).tolist():
        # only a centre on an original edge may change sides (new vertices sit on a 1e-6 grid)
        assert shapely.Point(column + 0.5, row + 0.5).distance(outlines) < 1e-5, (row, column)
    again = ConversionReport("again")
    assert repair([fixed], report=again) == [fixed] and again.ok, again.summary()


@settings(max_examples=60, deadline=None)
@given(rectangles(WIDTH, HEIGHT))
def test_repair_leaves_valid_shapes_alone(annotations):
    original = task("t.jpg", WIDTH, HEIGHT, *annotations)
    report = ConversionReport("fix")
    [fixed] = repair([original], report=report)
    assert report.ok, report.summary()
    assert [a["type"] for a in fixed["annotations"]] == [a["type"] for a in annotations]
    for before, after in zip(annotations, fixed["annotations"]):
        assert (_exact_pixels(before) == _exact_pixels(after)).all()


def test_validate_fix_writes_the_repaired_tasks_and_lists_every_change(tmp_path, capsys):
    bowtie = [0, 0, 10, 10, 10, 0, 0, 10]
    tasks = [task("a.jpg", 20, 20, ann("polygon", "x", bowtie), ann("bbox", "x", [15, 15, 25, 25]),
                  ann("bbox", "x", [15, 15, 25, 25]), ann("bbox", "y", [1, 1, 2]), ann("keypoint", "k", [30, 3]))]
    source = tmp_path / "tasks.json"
    source.write_text(json.dumps(tasks))
    assert main(["validate", str(source), "--fix"]) == 2
    assert "give -o FIXED.json" in capsys.readouterr().err
    assert main(["validate", str(source)]) == 1
    capsys.readouterr()
    assert main(["validate", str(source), "--fix", "-o", str(tmp_path / "fixed.json")]) == 0
    out = capsys.readouterr().out
    for change in ("polygon made valid", "polygon split into its 2 parts", "bbox clipped to the image",
                   "duplicate annotation dropped", "malformed annotation dropped", "keypoint outside the image dropped",
                   "validate (the repaired tasks): nothing found"):
        assert change in out
    [fixed] = json.loads((tmp_path / "fixed.json").read_text())
    assert [(a["type"], a["points"]) for a in fixed["annotations"]] == [
        ("polygon", [5, 5, 0, 0, 0, 10]), ("polygon", [5, 5, 10, 10, 10, 0]), ("bbox", [15, 15, 20, 20])]
    assert main(["validate", str(tmp_path / "fixed.json")]) == 0
    assert json.loads(source.read_text()) == tasks  # the input is left as it was
