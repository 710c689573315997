"""FastLabel -> YOLO: the worked examples and defects of formats-spec.md §2, golden text by hand."""

from __future__ import annotations

from conftest import ann, task

from fastlabel_formats import ConversionReport, export_yolo, to_yolo

SEGMENTATION = [
    [[0, 0, 20, 0, 20, 20, 0, 20, 0, 0], [5, 5, 5, 10, 10, 10, 10, 5, 5, 5]],
    [[22, 22, 30, 22, 30, 30, 22, 30, 22, 22]],
]


def spec_tasks() -> list[dict]:
    return [
        task("sub/a.b.jpg", 100, 48,
             ann("bbox", "cat", [10, 10, 39, 29]),
             ann("polygon", "dog", [10, 10, 50, 10, 50, 40, 10, 40]),
             ann("segmentation", "seg", SEGMENTATION),
             ann("keypoint", "kp", [5, 5]),
             ann("bbox", "cat", [0, 0, 100, 48]),
             ann("bbox", "tiny", [0, 0, 1, 1])),
        task("noext", 10, 10),
    ]


def test_spec_example_coco_path(tmp_path, frozen):
    report = export_yolo(frozen(spec_tasks()), tmp_path)
    assert (tmp_path / "annotations/sub/a.b.txt").read_text() == (
        "0 0.245 0.40625 0.29 0.3958333\n"
        "0 0.5 0.5 1.0 1.0\n"
        "1 0.3 0.5208333 0.4 0.625\n"
        "2 0.15 0.3125 0.3 0.625\n"
        "3 0.005 0.0104166 0.01 0.0208333\n"
    )
    assert (tmp_path / "annotations/noext.txt").read_bytes() == b""
    assert (tmp_path / "classes.txt").read_text() == "cat\ndog\nseg\ntiny\n"
    assert len(report.files) == 3


def test_spec_example_segmentation_project():
    labels, classes = to_yolo(spec_tasks(), project_type="image_segmentation")
    lines = dict(labels)["sub/a.b.jpg"]
    assert lines[0] == "0 0.1 0.2083333 0.39 0.2083333 0.39 0.6041666 0.1 0.6041666 0.1 0.2083333"
    # one line per outer ring of the segmentation, holes dropped
    seg_lines = [line for line in lines if line.startswith("2 ")]
    assert seg_lines == ["2 0.0 0.0 0.2 0.0 0.2 0.4166666 0.0 0.4166666 0.0 0.0",
                         "2 0.22 0.4583333 0.3 0.4583333 0.3 0.625 0.22 0.625 0.22 0.4583333"]


def test_number_artefacts_are_kept():
    labels, _ = to_yolo([task("t.jpg", 49, 35, ann("bbox", "a", [0, 0, 49, 35]))])
    assert labels == [("t.jpg", ["0 0.4999999 0.5 0.9999999 1.0"])]
    labels, _ = to_yolo([task("t.jpg", 35, 35, ann("polygon", "a", [7, 7, 49, 0, 0, 35]))],
                        project_type="image_segmentation")
    assert labels[0][1] == ["0 0.1999999 0.1999999 1.4 0.0 0.0 1.0"]
    labels, _ = to_yolo([task("t.jpg", 100000, 100000, ann("bbox", "a", [0, 0, 2, 2]))])
    assert labels[0][1] == ["0 1e-05 1e-05 2e-05 2e-05"]


def test_classes_path_keeps_passed_order_d8_and_outer_rings_d10(tmp_path):
    classes = ["seg", "tiny", "dog", "cat", "zzz", "dog"]
    export_yolo(spec_tasks(), tmp_path, classes=classes, project_type="image_segmentation")
    assert (tmp_path / "classes.txt").read_text() == "seg\ntiny\ndog\ncat\nzzz\ndog\n"
    assert (tmp_path / "annotations/sub/a.b.txt").read_text().splitlines() == [
        "0 0.0 0.0 0.2 0.0 0.2 0.4166666 0.0 0.4166666 0.0 0.0",
        "0 0.22 0.4583333 0.3 0.4583333 0.3 0.625 0.22 0.625 0.22 0.4583333",
        "1 0.0 0.0 0.01 0.0 0.01 0.0208333 0.0 0.0208333 0.0 0.0",
        "2 0.1 0.2083333 0.5 0.2083333 0.5 0.8333333 0.1 0.8333333",
        "3 0.0 0.0 1.0 0.0 1.0 1.0 0.0 1.0 0.0 0.0",
        "3 0.1 0.2083333 0.39 0.2083333 0.39 0.6041666 0.1 0.6041666 0.1 0.2083333",
    ]


def test_classes_path_detection_files_hold_boxes_only(tmp_path):
    """Ultralytics reads a file with one polygon line as all segments: detection output is boxes."""
    report = export_yolo(spec_tasks(), tmp_path, classes=["seg", "tiny", "dog", "cat"])
    assert (tmp_path / "annotations/sub/a.b.txt").read_text().splitlines() == [
        "0 0.15 0.3125 0.3 0.625",
        "1 0.005 0.0104166 0.01 0.0208333",
        "2 0.3 0.5208333 0.4 0.625",
        "3 0.245 0.40625 0.29 0.3958333",
        "3 0.5 0.5 1.0 1.0",
    ]
    assert report.findings["polygon written as its bounding box"].count == 1
    assert report.findings["segmentation written as its bounding box"].count == 1


def test_classes_path_numeric_class_order_d9():
    classes = [f"c{i}" for i in range(12)]
    labels, _ = to_yolo([task("t.jpg", 10, 10, ann("bbox", "c10", [0, 0, 2, 2]),
                              ann("bbox", "c2", [0, 0, 2, 2]), ann("bbox", "c1", [0, 0, 2, 2]))],
                        classes=classes)
    assert [line.split()[0] for line in labels[0][1]] == ["1", "2", "10"]


def test_classes_path_polygons_by_text_and_boxes_in_annotation_order():
    annotations = (ann("polygon", "a", [5, 5, 6, 5, 6, 6]), ann("polygon", "a", [1, 1, 2, 1, 2, 2]),
                   ann("bbox", "a", [0, 0, 2, 2]))
    labels, _ = to_yolo([task("t.jpg", 10, 10, *annotations)], classes=["a"], project_type="image_segmentation")
    assert labels[0][1] == ["0 0.0 0.0 0.2 0.0 0.2 0.2 0.0 0.2 0.0 0.0", "0 0.1 0.1 0.2 0.1 0.2 0.2",
                            "0 0.5 0.5 0.6 0.5 0.6 0.6"]
    labels, _ = to_yolo([task("t.jpg", 10, 10, *annotations)], classes=["a"])
    assert labels[0][1] == ["0 0.55 0.55 0.1 0.1", "0 0.15 0.15 0.1 0.1", "0 0.1 0.1 0.2 0.2"]


def test_zero_size_images_are_skipped_on_both_paths_d11(tmp_path):
    tasks = [task("zero.jpg", 0, 10, ann("bbox", "a", [0, 0, 2, 2])), task("ok.jpg", 10, 10)]
    for classes in (None, ["a"]):
        report = ConversionReport("yolo")
        labels, _ = to_yolo(tasks, classes=classes, report=report)
        assert [name for name, _ in labels] == ["ok.jpg"]
        assert "image with width or height 0 skipped (no label file)" in report.findings


def test_pose_is_skipped_d12():
    report = ConversionReport("yolo")
    pose = {"type": "pose_estimation", "value": "p", "keypoints": [{"key": "a", "value": [1, 2, 1]}]}
    empty_pose = {"type": "pose_estimation", "value": "p", "keypoints": []}
    labels, classes = to_yolo([task("t.jpg", 10, 10, pose, empty_pose, ann("bbox", "q", [0, 0, 5, 5]))],
                              report=report)
    assert labels == [("t.jpg", ["1 0.25 0.25 0.5 0.5"])]
    assert classes == ["p", "q"]
    assert report.findings["pose_estimation has no box or polygon in YOLO, skipped"].count == 1
    assert report.findings["pose_estimation annotation without labelled keypoints skipped"].count == 1


def test_obb_lines_are_rotated_corners():
    labels, _ = to_yolo([task("t.jpg", 100, 100, ann("bbox", "a", [40, 40, 60, 50], rotation=90),
                              ann("polygon", "b", [10, 10, 20, 10, 20, 30]))], obb=True)
    box, polygon = labels[0][1]
    # corners (40,40) (60,40) (60,50) (40,50) rotated 90° clockwise about (50,45)
    assert box == "0 0.55 0.35 0.55 0.55 0.45 0.55 0.45 0.35"
    assert polygon == "1 0.1 0.1 0.2 0.1 0.2 0.3 0.1 0.3"


def test_rotated_bbox_without_obb_is_its_enclosing_box():
    report = ConversionReport("yolo")
    labels, _ = to_yolo([task("t.jpg", 100, 100, ann("bbox", "a", [40, 40, 60, 50], rotation=90))], report=report)
    assert labels[0][1] == ["0 0.5 0.45 0.1 0.2"]
    assert any("rotated bbox" in kind for kind in report.findings)


def test_rounding_ties_in_the_seventh_decimal_do_not_crash_any_exporter(tmp_path):
    # a 5 in the 7th decimal used to send flat indices into a 2-D array (TypeError/IndexError)
    from fastlabel_formats import coco_to_fastlabel, export_coco, to_coco, to_pascalvoc, yolo_to_fastlabel

    tasks = [task("a.jpg", 10, 10, ann("bbox", "c", [1.0000005, 2, 4, 4]),
                  ann("polygon", "c", [-7.4999999997e-06, 2, 4, 4.0000005, 2.5000005, 1]))]
    assert sorted(a["bbox"][0] for a in to_coco(tasks)["annotations"]) == [-7e-06, 1.000001]
    assert "<xmin>1</xmin>" in to_pascalvoc(tasks)[0][1]
    export_yolo(tasks, tmp_path / "yolo")
    from PIL import Image

    Image.new("RGB", (10, 10)).save(tmp_path / "yolo/annotations/a.jpg")  # YOLO import reads sizes from images
    back = yolo_to_fastlabel(tmp_path / "yolo/classes.txt", tmp_path / "yolo/annotations")
    round_trip = [task("a.jpg", 10, 10, *back["a.jpg"])]
    export_coco(round_trip, tmp_path / "coco")
    assert len(coco_to_fastlabel(tmp_path / "coco/annotations.json")["a.jpg"]) == 2


def test_values_just_below_zero_print_as_zero_like_the_sdk():
    labels, _ = to_yolo([task("t.jpg", 1000, 1000, ann("polygon", "a", [-0.00001, 5, 5, -0.00005, 5, 8]))],
                        project_type="image_segmentation")
    assert labels[0][1] == ["0 0.0 0.005 0.005 0.0 0.005 0.008"]
    assert "-0.0" not in labels[0][1][0]


def test_rotated_box_lines_carry_the_numbers_of_the_coco_ring():
    from fastlabel_formats import to_coco

    width, height = 10, 10  # small images: the 6-decimal COCO corners show in the 7th decimal
    box = ann("bbox", "r", [2, 3, 9, 8], rotation=30)
    tasks = [task("t.jpg", width, height, box)]
    ring = to_coco(tasks)["annotations"][0]["segmentation"][0]
    expected = [int(v * (1.0 / (width if i % 2 == 0 else height)) * 10**7) / 10**7 for i, v in enumerate(ring)]
    ((_, (line,)),), _ = to_yolo(tasks, project_type="image_segmentation")
    assert line == " ".join(["0", *map(str, expected)])
    ((_, (obb,)),), _ = to_yolo(tasks, obb=True)
    assert obb == " ".join(["0", *map(str, expected[:8])])
