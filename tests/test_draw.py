"""Images with annotations drawn (§6): the spec's pixel colours and D7, D19, D24–D28."""

from __future__ import annotations

import numpy as np
from conftest import ann, task
from PIL import Image

from fastlabel_formats import ConversionReport, draw_annotations, export_image_with_annotations

GREY = (200, 200, 200)


def drawn(*annotations: dict, size=(40, 30)) -> np.ndarray:
    image = Image.new("RGB", size, GREY)
    return np.array(draw_annotations(image, task("g.png", size[0], size[1], *annotations)))


def test_spec_colours_bbox_and_segmentation():
    out = drawn(ann("bbox", "b", [2, 2, 10, 8], color="#ff0000"),
                ann("segmentation", "s", [[[20, 10, 30, 10, 30, 20, 20, 20, 20, 10]]], color="#0000ff"))
    assert tuple(out[5, 5]) == (211, 161, 161)  # inside: thin fill over grey 200
    assert tuple(out[2, 2]) == (246, 35, 35) and tuple(out[8, 10]) == (246, 35, 35)  # outline, inclusive corners
    assert tuple(out[9, 11]) == GREY
    assert tuple(out[15, 25]) == (161, 161, 211)
    assert tuple(out[25, 35]) == GREY


def test_reversed_bbox_is_drawn_d7():
    assert (drawn(ann("bbox", "b", [10, 8, 2, 2], color="#ff0000")) ==
            drawn(ann("bbox", "b", [2, 2, 10, 8], color="#ff0000"))).all()


def test_a_rotated_bbox_is_drawn_as_its_rotated_corners():
    from fastlabel_formats.geometry import box_corners

    corners = box_corners(np.array([[8.0, 6, 30, 20]]), np.array([25.0])).ravel().tolist()
    rotated = drawn(ann("bbox", "b", [8, 6, 30, 20], rotation=25, color="#ff0000"))
    assert (rotated == drawn(ann("polygon", "b", corners, color="#ff0000"))).all()
    assert not (rotated == drawn(ann("bbox", "b", [8, 6, 30, 20], color="#ff0000"))).all()


def test_keypoint_stroke_does_not_leak_to_later_annotations_d24():
    alone = drawn(ann("bbox", "b", [12, 12, 30, 25], color="#00ff00"))
    after_keypoint = drawn(ann("keypoint", "k", [3, 3], color="#ff0000"),
                           ann("bbox", "b", [12, 12, 30, 25], color="#00ff00"))
    assert (alone[10:, 10:] == after_keypoint[10:, 10:]).all()


def test_segmentations_overwrite_and_follow_pixel_centres_d19_d28():
    red = ann("segmentation", "r", [[[0, 0, 20, 0, 20, 20, 0, 20, 0, 0]]], color="#ff0000")
    blue = ann("segmentation", "b", [[[10, 0, 10, 20, 30, 20, 30, 0, 10, 0]]], color="#0000ff")  # CCW
    out = drawn(red, blue)
    assert tuple(out[5, 15]) == (161, 161, 211)  # blue over red, not magenta
    assert tuple(out[5, 5]) == (211, 161, 161)
    assert tuple(out[19, 29]) == (161, 161, 211) and tuple(out[20, 29]) == GREY and tuple(out[5, 30]) == GREY


def test_unknown_types_and_bad_colours_are_skipped_and_reported_d26():
    report = ConversionReport("images")
    image = Image.new("RGB", (20, 20), GREY)
    t = task("g.png", 20, 20, ann("cuboid", "c", [1, 2, 3], color="#ff0000"),
             ann("bbox", "b", [1, 1, 5, 5], color="nope"), ann("classification", "c", color="#ff0000"))
    out = np.array(draw_annotations(image, t, report=report))
    assert (out == GREY).all()
    assert set(report.findings) == {"cuboid annotation: unknown type, not drawn",
                                    "annotation without a usable colour not drawn"}


def test_pose_lines_and_points():
    pose = {"type": "pose_estimation", "value": "p", "color": "#00ff00", "keypoints": [
        {"key": "a", "value": [10, 10, 1], "edges": ["b"]}, {"key": "b", "value": [60, 10, 0], "edges": ["a"]},
        {"key": "c", "value": [], "edges": ["a"]}]}
    out = drawn(pose, size=(80, 40))
    assert tuple(out[10, 10]) == (0, 255, 0) and tuple(out[10, 60]) == (0, 255, 0)  # opaque keypoints
    assert tuple(out[10, 35]) == (43, 243, 43)  # the edge: 200·(1 − 200/255) + 255·200/255


def test_export_matches_files_keeps_formats_and_does_not_mutate(tmp_path, frozen):
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    Image.new("RGB", (30, 20), GREY).save(images / "sub/a.PNG")
    Image.new("RGB", (30, 20), GREY).save(images / "b.jpg")
    Image.new("RGB", (30, 20), GREY).save(images / "orphan.png")
    polygon = ann("polygon", "p", [2, 2, 20, 2, 10, 15], color="#ff00ff")
    tasks = frozen([task("sub/a.PNG", 30, 20, polygon, ann("segmentation", "s", [[[0, 0, 4, 0, 4, 4, 0, 4, 0, 0]]],
                                                                             color="#0000ff")),
                    task("b.jpg", 30, 20, ann("bbox", "b", [1, 1, 5, 5], color="#ff0000")),
                    task("missing.jpg", 30, 20)])
    report = export_image_with_annotations(tasks, images, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in report.files) == ["b.jpg", "sub/a.PNG"]
    assert report.findings["image file without a task, skipped"].count == 1
    with Image.open(tmp_path / "out/sub/a.PNG") as png:
        assert png.format == "PNG" and png.mode == "RGB"  # D27
        assert png.getpixel((1, 1)) == (161, 161, 211)
    with Image.open(tmp_path / "out/b.jpg") as jpeg:
        assert jpeg.format == "JPEG"
    export_image_with_annotations(tasks, images, tmp_path / "two", jobs=2)
    assert (tmp_path / "two/sub/a.PNG").read_bytes() == (tmp_path / "out/sub/a.PNG").read_bytes()


def test_far_away_coordinates_are_clipped_before_drawing():
    import time

    started = time.perf_counter()
    far = drawn(ann("bbox", "b", [10, -1e308, 50, 40], color="#ff0000"))
    assert time.perf_counter() - started < 2
    assert (far == drawn(ann("bbox", "b", [10, -30, 50, 40], color="#ff0000"))).all()
