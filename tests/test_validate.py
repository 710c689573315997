"""``validate``: the checks that find what breaks training and rasterisation, with their places."""

from __future__ import annotations

import json

from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import validate
from fastlabel_formats.cli import main


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 80), st.integers(1, 60), st.integers(2, 19), st.integers(2, 19),
                          st.sampled_from(["bbox", "polygon", "segmentation"])), max_size=6, unique=True))
def test_valid_shapes_inside_the_image_give_no_finding(shapes):
    annotations = []
    for x, y, w, h, kind in shapes:
        ring = [x, y, x + w, y, x + w, y + h, x, y + h]
        points = {"bbox": [x, y, x + w, y + h], "polygon": ring, "segmentation": [[ring + ring[:2]]]}[kind]
        annotations.append(ann(kind, "v", points))
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
