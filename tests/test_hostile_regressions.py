"""What the hostile-input suite (tests/hostile.py) found, one regression test each: a FormatError
naming the place instead of a bare exception, and nothing wrong passed on."""

from __future__ import annotations

import math

import pytest
from conftest import ann, task
from PIL import Image

import fastlabel_formats as ff
from fastlabel_formats import FormatError, validation

SINGLE_TASK = [ff.render_semantic_mask, ff.render_instance_mask,
               lambda t: ff.draw_annotations(Image.new("RGB", (4, 4)), t),
               lambda t: ff.split_image_task(t, 1, 1), lambda t: ff.split_audio_task(t, [1]),
               lambda t: ff.split_video_task(t, [1])]


@pytest.mark.parametrize("function", SINGLE_TASK)
@pytest.mark.parametrize("bad", [5, "a.jpg", None, [task("a.jpg", 4, 4)], {"width": 4, "height": 4}])
def test_functions_of_one_task_check_it(function, bad):
    with pytest.raises(FormatError, match="task"):
        function(bad)


@pytest.mark.parametrize("convert", [ff.to_coco, ff.to_yolo, ff.to_pascalvoc, ff.to_labelme, ff.stats])
def test_a_nul_byte_in_a_name_or_path_is_named(convert):
    with pytest.raises(FormatError, match="NUL byte"):
        convert([task("a\x00b.jpg", 4, 4)])
    with pytest.raises(FormatError, match="cannot read"):
        convert("tasks\x00.json")


def test_a_list_whose_annotations_are_not_a_list():
    with pytest.raises(FormatError, match="'annotations' must be a list"):
        ff.to_coco([{"name": "a.jpg", "width": 4, "height": 4, "annotations": 7}])


@pytest.mark.parametrize("pieces, prefix, problem", [
    ([{"name": "a/1.mp3", "duration": 1, "annotations": []}], None, "prefix must be"),
    (7, "a", "expected a list of tasks"),
    ([5], "a", "task #0 is int"),
    ([{"name": "a/1.mp3", "duration": math.nan, "annotations": []}], "a", "duration: piece 1 has nan"),
    ([{"name": "a/1.mp3", "duration": 2, "annotations": [{"type": "segmentation", "value": "x", "start": math.inf,
                                                          "end": 2}]}], "a", "start inf is not a finite number"),
    ([{"name": "a/1.mp4", "frameCount": 2, "annotations": [{"type": "bbox", "value": "x", "points": {"x": {}}}]}],
     "a", "frame 'x' is not a frame number"),
    ([{"name": "a/1.mp4", "frameCount": 1.5, "annotations": []}], "a", "not a whole number"),
])
def test_integrate_names_what_is_wrong(pieces, prefix, problem):
    with pytest.raises(FormatError, match=problem):
        ff.integrate(pieces, prefix)


@pytest.mark.parametrize("lengths", [[1, "2"], [math.nan], "12", [-1], [[1]]])
def test_split_checks_its_lengths(lengths):
    audio = {"name": "a.mp3", "duration": 3, "annotations": []}
    with pytest.raises(FormatError, match="durations"):
        ff.split_audio_task(audio, lengths)
    with pytest.raises(FormatError, match="frame_counts"):
        ff.split_video_task({"name": "v.mp4", "frameCount": 3, "annotations": []}, lengths)


def test_importer_files_that_are_not_utf8_are_named(tmp_path):
    ff.export_yolo([task("a.jpg", 8, 8, ann("bbox", "cat", [1, 1, 4, 4]))], tmp_path / "yolo")
    label = tmp_path / "yolo" / "annotations" / "a.txt"
    label.write_bytes(b"0 0.5 \xff\xfe 0.5 0.5\n")
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    with pytest.raises(FormatError, match=r"a\.txt: the label file is not UTF-8 text \(byte 6\)"):
        ff.yolo_to_fastlabel(tmp_path / "yolo" / "classes.txt", tmp_path / "yolo" / "annotations", images=tmp_path)
    ff.export_pascalvoc([task("b.jpg", 8, 8, ann("bbox", "cat", [1, 1, 4, 4]))], tmp_path / "voc")
    xml = next((tmp_path / "voc").rglob("*.xml"))
    xml.write_bytes(xml.read_bytes().replace(b"cat", b"c\xff\xfet"))
    with pytest.raises(FormatError, match=r"b\.xml: not valid XML"):
        ff.pascalvoc_to_fastlabel(tmp_path / "voc")


def test_labelme_sizes_and_group_ids(tmp_path):
    import json

    shape = {"label": "cat", "points": [[1, 1], [5, 1], [5, 5]], "shape_type": "polygon", "group_id": [1]}
    document = {"shapes": [shape], "imagePath": "a.jpg", "imageWidth": 8, "imageHeight": 8}
    (tmp_path / "a.json").write_text(json.dumps(document))
    report = ff.ConversionReport("labelme")
    assert ff.labelme_to_fastlabel(tmp_path, report=report)["a.jpg"][0]["type"] == "polygon"
    assert "group_id that is not a whole number" in report.summary()
    (tmp_path / "a.json").write_text(json.dumps({**document, "imageHeight": "a/b"}))
    with pytest.raises(FormatError, match="imageHeight must be a whole number >= 0, got 'a/b'"):
        ff.labelme_to_fastlabel(tmp_path)


def test_coco_lists_and_huge_rotations():
    with pytest.raises(FormatError, match="'images' must be a list, got int"):
        ff.coco_to_fastlabel({"images": 5, "categories": [], "annotations": []})
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2],
                             "segmentation": [], "rotation": 99999999999999999999}]}
    [annotation] = ff.coco_to_fastlabel(coco, "bbox")["a.jpg"]
    assert all(math.isfinite(v) for v in annotation["points"])


def test_rings_beyond_the_vertex_limit_are_malformed(monkeypatch):
    monkeypatch.setattr(validation, "MAX_RING_VERTICES", 3)
    square = [0, 0, 4, 0, 4, 4, 0, 4]
    report = ff.ConversionReport("coco")
    coco = ff.to_coco([task("a.jpg", 8, 8, ann("polygon", "x", square), ann("polygon", "x", square[:6]),
                            ann("segmentation", "x", [[square + square[:2]]]))], report=report)
    assert len(coco["annotations"]) == 1
    assert "4 vertices, more than the 3 of one ring" in report.summary()
    assert "5 vertices, more than the 3 of one ring" in report.summary()


def test_a_mask_path_that_is_not_there_is_named_quietly(tmp_path, capfd):
    with pytest.raises(FormatError, match="missing.png: cannot read the mask image"):
        ff.mask_to_segmentation(tmp_path / "missing.png")
    assert "WARN" not in capfd.readouterr().err  # OpenCV is not asked to open it


def test_a_coco_rle_of_an_absurd_size_is_skipped_before_decoding():
    import time

    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100_000, "height": 100_000}],
            "categories": [{"id": 1, "name": "x"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 10, 10],
                             "area": 1, "segmentation": {"size": [100_000, 100_000], "counts": "abc"}}]}
    report = ff.ConversionReport("coco import")
    started = time.perf_counter()
    assert ff.coco_to_fastlabel(coco, report=report) == {"a.jpg": []}
    assert time.perf_counter() - started < 5 and "skipped" in report.summary()


def test_found_by_a_longer_census(tmp_path):
    """An object where COCO has a category id; a labelme ``shapes`` that is a number."""
    import json

    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}],
            "categories": [{"id": 1, "name": "x"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": {}, "bbox": [1, 1, 2, 2]}]}
    report = ff.ConversionReport("coco import")
    assert ff.coco_to_fastlabel(coco, report=report) == {"a.jpg": []}
    assert "unknown category_id" in report.summary()
    (tmp_path / "a.json").write_text(json.dumps({"shapes": 5, "imagePath": "a.jpg"}))
    with pytest.raises(FormatError, match="'shapes' must be a list, got int"):
        ff.labelme_to_fastlabel(tmp_path)


def _nested(levels: int) -> list:
    value: list = [1]
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("call", [
    lambda deep: ff.integrate([{"name": "a/1.mp3", "duration": 2, "annotations": [
        {"type": "segment", "value": deep, "start": 0, "end": 1}]}], "a"),
    lambda deep: ff.integrate([{"name": "a/1.mp4", "frameCount": 2, "annotations": [
        {"type": "bbox", "value": "v", "points": {"1": {"value": deep}}}]}], "a"),
    lambda deep: ff.split_audio_task({"name": "a.mp3", "duration": 2, "annotations": [
        {"type": "segment", "value": "v", "attributes": [{"key": "k", "value": deep}], "start": 0, "end": 1}]}, [1, 1]),
    lambda deep: ff.split_video_task({"name": "a.mp4", "frameCount": 2, "annotations": [
        {"type": "bbox", "value": "v", "points": {"1": {"value": deep}}}]}, [1, 1]),
])
def test_audio_and_video_values_nested_past_the_stack_are_named(call):
    with pytest.raises(FormatError, match=r"annotation #0 \(\w+\): values nested deeper than MAX_POINTS_DEPTH"):
        call(_nested(5000))


@pytest.mark.parametrize("call, problem", [
    (lambda: ff.validate([], classes=5), "classes must be a list of names, got int"),
    (lambda: ff.validate([], classes=[{"a": 1}]), "classes must be a list of names, got a list holding dict"),
    (lambda: ff.validate([], annotations="x"), r"annotations \(definitions\) must be a list of objects, got str"),
    (lambda: ff.validate([], annotations=[5]), r"annotations \(definitions\) must be a list of objects"),
    (lambda: ff.integrate([task("a/1.jpg", 4, 4)], "a", kind=["image"]), "kind must be one of"),
    (lambda: ff.integrate_image_tiles([task("a/1.jpg", 4, 4)], "a", rows={}, cols=1), "rows must be a whole number"),
    (lambda: ff.integrate_image_tiles([task("a/1.jpg", 4, 4)], "a", rows=-1, cols=-1), "rows must be a whole number"),
    (lambda: ff.integrate_image_tiles([task("a/1.jpg", 4, 4)], "a", tol=math.nan), "tol must be a finite number"),
])
def test_odd_arguments_of_validate_and_integrate_are_named(call, problem):
    with pytest.raises(FormatError, match=problem):
        call()
