"""Reading COCO skips one bad item and reports it with its place, never silently: duplicate ids and
file names, RLE masks that do not fit their image, image sizes written as floats, nesting too deep
to walk, and a file whose records were all skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from fastlabel_formats import ConversionReport, FormatError, coco_tasks, coco_to_fastlabel, to_coco
from fastlabel_formats.coco_import import ALL_SKIPPED, string_counts


def document(*annotations: dict, images: list | None = None, categories: list | None = None) -> dict:
    return {"images": images or [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 8}],
            "categories": categories or [{"id": 1, "name": "cat"}],
            "annotations": [{"id": n, "image_id": 1, "category_id": 1, **a} for n, a in enumerate(annotations, 1)]}


def read(coco: dict, mode: str | None = None) -> tuple[dict, ConversionReport]:
    report = ConversionReport("coco import")
    return coco_to_fastlabel(coco, mode, report=report), report


def examples(report: ConversionReport, kind: str) -> list[str]:
    return report.findings[kind].examples


def test_a_category_id_given_twice_keeps_the_first_and_says_where():
    coco = document({"bbox": [1, 1, 2, 2]}, categories=[{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}])
    result, report = read(coco)
    assert [a["value"] for a in result["a.jpg"]] == ["cat"]
    assert examples(report, "category id given twice, the later category ignored") == ["coco: categories[1] (id 1)"]


def test_one_file_name_twice_joins_the_annotations_of_both_entries():
    images = [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 8}, {"id": 2, "file_name": "a.jpg"}]
    coco = document({"bbox": [1, 1, 2, 2]}, {"bbox": [3, 3, 2, 2], "image_id": 2}, images=images)
    tasks = coco_tasks(coco, report=(report := ConversionReport("coco import")))
    assert len(tasks) == 1 and len(tasks[0]["annotations"]) == 2 and tasks[0]["width"] == 10
    assert examples(report, "image file_name given twice, the annotations of its entries joined into one task") == [
        "coco: images[1] (id 2, file_name 'a.jpg')"]
    assert not report.ok  # the summary no longer says "nothing dropped"


def test_an_image_id_and_an_annotation_id_given_twice_are_findings():
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}]
    coco = document({"bbox": [1, 1, 2, 2]}, {"bbox": [3, 3, 2, 2]}, images=images)
    coco["annotations"][1]["id"] = 1
    result, report = read(coco)
    assert len(result["a.jpg"]) == len(result["b.jpg"]) == 2
    assert examples(report, "image id given twice, its annotations given to each image with it") == [
        "coco: images[1] (id 1, file_name 'b.jpg')"]
    assert examples(report, "annotation id given twice (both read)") == ["coco: annotation #1 (id 1, as annotation #0)"]


def rle(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode()}


def test_rle_masks_must_fit_their_image_and_cover_it_exactly():
    mask = np.zeros((8, 10), np.uint8)
    mask[2:5, 3:7] = 1
    good = rle(mask)
    wrong_size = rle(np.zeros((10, 8), np.uint8) + 1)
    short_list = {"size": [8, 10], "counts": [5, 10]}
    long_list = {"size": [8, 10], "counts": [5, 100]}
    short_text = {**good, "counts": good["counts"][:-1]}
    negative = {"size": [8, 10], "counts": [5, -5, 80]}
    coco = document(*({"segmentation": s, "iscrowd": 1} for s in (good, wrong_size, short_list, long_list,
                                                                    short_text, negative)))
    result, report = read(coco)
    (kept,) = result["a.jpg"]
    assert kept["type"] == "segmentation" and kept["attributes"] == [{"key": "iscrowd", "value": True,
                                                                      "type": "switch"}]
    assert examples(report, "RLE mask of another size than its image, skipped") == [
        "coco: annotation #1 (mask 8×10, image 10×8)"]
    uncovered = examples(report, "RLE mask whose counts do not cover its size, skipped")
    assert [place.split(" (")[0] for place in uncovered] == ["coco: annotation #2", "coco: annotation #3",
                                                              "coco: annotation #4", "coco: annotation #5"]
    assert "counts: 15 pixels, size: 80" in uncovered[0]


def test_rle_of_an_image_without_a_size_is_read_at_its_own_size():
    mask = np.ones((4, 6), np.uint8)
    coco = document({"segmentation": rle(mask)}, images=[{"id": 1, "file_name": "a.jpg"}])
    (annotation,) = read(coco)[0]["a.jpg"]
    assert annotation["type"] == "segmentation" and annotation["points"] == [[[6, 0, 6, 4, 0, 4, 0, 0, 6, 0]]]


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 1)))
def test_compressed_counts_are_read_as_pycocotools_writes_them(mask):
    text = coco_mask.encode(np.asfortranarray(mask))["counts"].decode()
    runs = string_counts(text)
    flat = np.repeat(np.arange(len(runs)) % 2, runs).astype(np.uint8)
    assert sum(runs) == mask.size and (flat.reshape(mask.shape[::-1]).T == mask).all()


def test_string_counts_refuses_what_is_not_a_compressed_rle():
    assert string_counts("\x01") is None and string_counts("f") is None  # a group left open
    assert string_counts("") == []


def test_a_whole_width_written_as_a_float_converts_both_ways():
    images = [{"id": 1, "file_name": "a.jpg", "width": 64.0, "height": 48.0},
              {"id": 2, "file_name": "b.jpg", "width": 64.5, "height": "48"}]
    coco = document({"bbox": [1, 1, 2, 2]}, images=images)
    tasks = coco_tasks(coco, report=(report := ConversionReport("coco import")))
    assert [(t["width"], t["height"]) for t in tasks] == [(64, 48), (0, 0)]
    assert type(tasks[0]["width"]) is int
    assert to_coco(tasks)["images"][0] == {"file_name": "a.jpg", "height": 48, "width": 64, "id": 1}
    assert examples(report, "image width that is not a whole number of pixels, read as unknown (0)") == [
        "coco: images[1] (id 2, file_name 'b.jpg'): 64.5"]
    assert report.findings["image height that is not a whole number of pixels, read as unknown (0)"].count == 1


def nested(depth: int) -> list:
    outer = node = []
    for _ in range(depth):
        node.append([])
        node = node[0]
    return outer


def test_a_segmentation_nested_100000_deep_is_a_format_error_in_a_file(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(document({"bbox": [1, 1, 2, 2]})).replace('"bbox"', f'"segmentation": {deep}, "bbox"'))
    for mode in (None, "polygon", "bbox", "pose_estimation"):
        with pytest.raises(FormatError, match="deep.json: JSON nested too deeply"):
            coco_tasks(path, mode)


@pytest.mark.parametrize("mode", [None, "polygon", "bbox", "pose_estimation"])
def test_deep_values_in_a_dict_cost_their_record_only(mode):
    deep = nested(100_000)
    coco = document({"segmentation": deep, "bbox": [1, 1, 2, 2]}, {"segmentation": {"size": [8, 10], "counts": deep}},
                    {"bbox": [1, 1, 3, 3], "keypoints": deep, "attributes": {"x": deep}},
                    {"bbox": [0, 0, 1, 1], "image_id": deep})
    coco["images"][0]["width"] = deep
    result, report = read(coco, mode)
    assert len(result["a.jpg"]) <= 2 and not report.ok
    assert "coco: annotation #3 (image_id 'a list of 1')" in examples(
        report, "annotation of an image missing from images, skipped")
    if mode != "polygon":
        assert examples(report, "annotation with an attribute nested too deeply, skipped") == [
            "coco: annotation #2 (more than 32 levels)"]


def test_a_file_whose_records_were_all_skipped_says_so():
    coco = document({"category_id": 9, "bbox": [1, 1, 2, 2]}, {"category_id": 9, "bbox": [1, 1, 2, 2]})
    result, report = read(coco)
    assert result == {"a.jpg": []}
    assert examples(report, ALL_SKIPPED) == ["coco (2 annotation records)"]
    assert report.findings["annotation with an unknown category_id, skipped"].count == 2
    assert read(document())[1].ok  # an empty file is not a skipped one


def test_a_bad_visibility_costs_its_record_in_the_default_mode_and_raises_in_the_sdk_mode():
    coco = document({"bbox": [1, 1, 2, 2], "keypoints": [1, 1, 7]}, {"bbox": [1, 1, 2, 2]},
                    categories=[{"id": 1, "name": "cat", "keypoints": ["nose"]}])
    result, report = read(coco)
    assert len(result["a.jpg"]) == 1
    assert "Visibility flag" in examples(report, "annotation with a malformed value, skipped")[0]
    with pytest.raises(FormatError, match="annotation #0: Visibility flag"):
        coco_to_fastlabel(coco, "pose_estimation")


def test_another_tools_file_read_as_coco_is_an_error_not_an_empty_dataset(tmp_path):
    labelme = {"version": "5.0.1", "shapes": [], "imagePath": "a.jpg"}
    (tmp_path / "a.json").write_text(json.dumps(labelme))
    for source in (labelme, tmp_path / "a.json"):
        with pytest.raises(FormatError, match="no 'images', 'categories' or 'annotations': not a COCO file"):
            coco_tasks(source)
    assert coco_tasks({"images": [], "annotations": []}) == []


def test_a_labelled_keypoint_without_numbers_costs_its_record():
    coco = document({"bbox": [1, 1, 2, 2], "keypoints": [None, 1, 2]}, {"bbox": [1, 1, 2, 2], "keypoints": [1, 1, 2]},
                    categories=[{"id": 1, "name": "cat", "keypoints": ["nose"]}])
    result, report = read(coco)
    assert [a["keypoints"] for a in result["a.jpg"]] == [[{"key": "nose", "value": [1, 1, 1]}]]
    assert examples(report, "annotation with a malformed value, skipped") == [
        "coco: annotation #0: keypoint coordinates None, 1 are not finite numbers"]


@pytest.mark.parametrize("segmentation, kind", [
    ([[1, 1, "x", 1, 5, 5]], "bbox"),  # not numbers: read as its bbox
    ([[1, 1, 5, 1, 5, 5], [1, 2]], "polygon"),  # a polygon of one point: the other kept
    ([[1, 1, 5, 1, 5, 5, 7]], "bbox"),  # an odd count
    ([[1, 1, 5, 1, 10**400, 5]], "bbox"),  # an integer too large for a float
])
def test_a_segmentation_polygon_left_out_is_a_finding(tmp_path, segmentation, kind):
    """A polygon the reader cannot use is reported with its place, never dropped silently (the
    official SDK would fail on it), in a file and in a dict."""
    document = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
                "categories": [{"id": 1, "name": "c"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation,
                                 "bbox": [1, 1, 4, 4]},
                                {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]],
                                 "bbox": [1, 1, 4, 4]}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    for source, place in ((path, f"{path}: annotation #0"), (document, "coco: annotation #0")):
        report = ConversionReport("coco import")
        tasks = coco_tasks(source, report=report)
        assert [a["type"] for a in tasks[0]["annotations"]] == [kind, "polygon"]
        finding = report.findings["segmentation polygon that is not an even list of at least 6 finite numbers, dropped"]
        assert (finding.count, finding.examples) == (1, [place])
