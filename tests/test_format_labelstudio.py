"""Label Studio JSON <-> FastLabel: third-party exports (label-studio-sdk's test data) read and checked
against an independent parse, round trips both ways, the brush RLE against label-studio-converter."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, FormatError
from fastlabel_formats.formats.labelstudio import (
    FORMAT,
    brush_decode,
    brush_encode,
    detect_labelstudio,
    export_labelstudio,
    image_name,
    labelstudio_tasks,
    to_labelstudio,
)
from fastlabel_formats.geometry import box_corners
from fastlabel_formats.raster import segmentation_mask

FIXTURES = Path(__file__).parent / "fixtures" / "third_party" / "labelstudio"
THIRD_PARTY = sorted(FIXTURES.glob("*.json"))
REGIONS = {"rectanglelabels": "bbox", "polygonlabels": "polygon", "keypointlabels": "keypoint",
           "brushlabels": "segmentation"}


def _first_results(task: dict) -> list[dict]:
    """The results of a task's first annotation that is not cancelled (independent of the reader)."""
    for annotation in task.get("annotations") or []:
        if not annotation.get("was_cancelled"):
            return annotation["result"]
    return []


def _expected_regions(path: Path) -> list[tuple[str, dict]]:
    """``(FastLabel type, result)`` of every region the reader must give, in order."""
    out = []
    for task in json.loads(path.read_text()):
        for result in _first_results(task):
            if result["type"] in REGIONS and result.get("original_width"):
                out.append((REGIONS[result["type"]], result))
    return out


def _ls_corners(result: dict) -> np.ndarray:
    """The 4 corners in pixels of a Label Studio rectangle: rotated about its top-left corner."""
    value, width, height = result["value"], result["original_width"], result["original_height"]
    left, top = value["x"] * width / 100, value["y"] * height / 100
    w, h = value["width"] * width / 100, value["height"] * height / 100
    theta = math.radians(value.get("rotation") or 0)
    offsets = np.array([[0, 0], [w, 0], [w, h], [0, h]])
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return np.array([left, top]) + offsets @ rotation.T


@pytest.mark.parametrize("path", THIRD_PARTY, ids=lambda p: p.name)
def test_third_party_regions_and_geometry(path):
    report = ConversionReport("labelstudio import")
    tasks = labelstudio_tasks(path, report=report)
    annotations = [a for t in tasks for a in t["annotations"] if a["type"] != "classification"]
    expected = _expected_regions(path)
    assert [a["type"] for a in annotations] == [kind for kind, _ in expected]
    for annotation, (kind, result) in zip(annotations, expected):
        label = result["value"][result["type"]][0]
        assert annotation["value"] == label
        scale = np.array([result["original_width"], result["original_height"]]) / 100
        if kind == "bbox":
            corners = box_corners(np.array([annotation["points"]], float), np.array([annotation.get("rotation", 0)]))
            assert np.allclose(corners[0], _ls_corners(result), atol=1e-6)
        elif kind == "polygon":
            assert np.allclose(np.reshape(annotation["points"], (-1, 2)), np.array(result["value"]["points"]) * scale)
        elif kind == "keypoint":
            assert np.allclose(annotation["points"], [result["value"]["x"] * scale[0], result["value"]["y"] * scale[1]])


def test_nothing_left_out_silently_in_third_party_files():
    """Every result that is no region read is a report line: the counts add up."""
    for path in THIRD_PARTY:
        report = ConversionReport("labelstudio import")
        tasks = labelstudio_tasks(path, report=report)
        data = json.loads(path.read_text())
        results = sum(len(_first_results(t)) for t in data)
        further = sum(len(t.get("annotations") or []) for t in data)  # every annotation read or reported
        read = sum(len(t["annotations"]) for t in tasks)
        classifications = sum(1 for t in tasks for a in t["annotations"] if a["type"] == "classification")
        reported = sum(f.count for k, f in report.findings.items() if "result" in k or "region" in k)
        choice_results = sum(1 for t in data for r in _first_results(t) if r["type"] == "choices")
        assert read - classifications + choice_results + reported == results, path.name
        annotation_lines = sum(f.count for k, f in report.findings.items() if "annotation" in k and "result" not in k)
        assert annotation_lines == further - sum(1 for t in data if any(
            not a.get("was_cancelled") for a in t.get("annotations") or [])), path.name


def test_rotated_boxes_of_the_obb_export():
    tasks = labelstudio_tasks(FIXTURES / "yolo_obb.json")
    rotated = [a for t in tasks for a in t["annotations"] if a.get("rotation")]
    assert len(rotated) >= 5
    # the box's size is kept: its corners (about the centre) are 'width' apart
    for annotation in rotated:
        x1, y1, x2, y2 = annotation["points"]
        assert x2 > x1 and y2 > y1


@pytest.mark.parametrize("path", [p for p in THIRD_PARTY if "doclang" not in p.name and "choices" not in p.name],
                         ids=lambda p: p.name)
def test_label_studio_round_trip_keeps_every_region(path):
    """Label Studio -> FastLabel -> Label Studio: the same regions, percentages within 1e-9,
    the brush RLE byte for byte."""
    original = [r for t in json.loads(path.read_text()) for r in _first_results(t) if r["type"] in REGIONS]
    report = ConversionReport("labelstudio")
    written = to_labelstudio(labelstudio_tasks(path), report=report)
    assert report.ok
    again = [r for t in written for r in t["annotations"][0]["result"] if r["type"] in REGIONS]
    assert [r["type"] for r in again] == [r["type"] for r in original]
    for before, after in zip(original, again):
        kind = before["type"]
        assert after["value"][kind] == before["value"][kind][:1]
        if kind == "brushlabels":
            assert after["value"]["rle"] == before["value"]["rle"]
        elif kind == "polygonlabels":
            assert np.allclose(after["value"]["points"], before["value"]["points"], atol=1e-9)
        else:
            keys = ("x", "y", "width", "height") if kind == "rectanglelabels" else ("x", "y")
            assert np.allclose([after["value"][k] for k in keys], [before["value"][k] for k in keys], atol=1e-9)
            if kind == "rectanglelabels":
                turn = (after["value"]["rotation"] - (before["value"].get("rotation") or 0)) % 360
                assert min(turn, 360 - turn) < 1e-9
        assert (after["original_width"], after["original_height"]) == (before["original_width"],
                                                                       before["original_height"])


def test_brush_decodes_as_label_studio_converter_does():
    converter = pytest.importorskip("label_studio_converter.brush", reason="label-studio-converter not installed")
    [task] = json.loads((FIXTURES / "brush_image2annotation.json").read_text())
    result = task["annotations"][0]["result"][0]
    width, height, rle = result["original_width"], result["original_height"], result["value"]["rle"]
    theirs = converter.decode_rle(rle)
    assert np.array_equal(brush_decode(rle), theirs)
    [annotation] = labelstudio_tasks(FIXTURES / "brush_image2annotation.json")[0]["annotations"]
    mask, window = segmentation_mask(annotation["points"], width, height)
    full = np.zeros((height, width), bool)
    full[window.y0:window.y1, window.x0:window.x1] = mask
    assert np.array_equal(full, theirs.reshape(height, width, 4)[:, :, 3] != 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 24), st.integers(1, 24), st.data())
def test_brush_encode_is_label_studio_converters(width, height, data):
    converter = pytest.importorskip("label_studio_converter.brush", reason="label-studio-converter not installed")
    bits = data.draw(st.lists(st.booleans(), min_size=width * height, max_size=width * height))
    mask = np.array(bits, bool).reshape(height, width)
    ours = brush_encode(mask)
    assert ours == list(converter.mask2rle(mask.astype(np.uint8) * 255))
    assert np.array_equal(brush_decode(ours).reshape(height, width, 4)[:, :, 3] != 0, mask)


def test_long_runs_of_the_brush_rle():
    mask = np.zeros((700, 700), bool)
    mask[300, 5:9] = True  # runs of 1.2 million values: pieces of 2^16
    assert np.array_equal(brush_decode(brush_encode(mask)).reshape(700, 700, 4)[:, :, 3] != 0, mask)


def _prediction_task() -> dict:
    region = {"id": "a", "type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 200,
              "original_height": 100, "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                                "rectanglelabels": ["car"]}}
    predicted = copy.deepcopy(region) | {"id": "p", "score": 0.25}
    return {"id": 7, "data": {"image": "/data/upload/3/cars.jpg"},
            "annotations": [{"id": 1, "result": [region]}],
            "predictions": [{"model_version": "m1", "score": 0.5, "result": [predicted]},
                            {"model_version": "m2", "score": 0.75,
                             "result": [copy.deepcopy(region) | {"id": "q"}]}]}


def test_predictions_kept_apart_and_counted():
    task = _prediction_task()
    frozen = copy.deepcopy(task)
    report = ConversionReport("labelstudio import")
    [read] = labelstudio_tasks([task], report=report)
    assert task == frozen  # the caller's data is not changed
    assert read["name"] == "cars.jpg" and (read["width"], read["height"]) == (200, 100)
    assert [a["points"] for a in read["annotations"]] == [[20, 20, 80, 60]]
    assert report.findings["prediction not read (predictions=True reads them)"].count == 2
    [both] = labelstudio_tasks([task], predictions=True)
    scores = [{a["key"]: a["value"] for a in annotation["attributes"]} for annotation in both["annotations"]]
    assert scores == [{}, {"score": 0.25, "model_version": "m1"}, {"score": 0.75, "model_version": "m2"}]
    [only] = labelstudio_tasks([task], predictions="only")
    assert len(only["annotations"]) == 2
    # back to Label Studio: the scored regions are predictions again, one per model version
    [written] = to_labelstudio([both])
    assert len(written["annotations"][0]["result"]) == 1
    assert [(p["model_version"], p["score"], [r["score"] for r in p["result"]]) for p in written["predictions"]] == [
        ("m1", 0.25, [0.25]), ("m2", 0.75, [0.75])]


def test_choices_and_per_region_controls():
    region = {"id": "r1", "type": "polygonlabels", "original_width": 10, "original_height": 10,
              "value": {"points": [[0, 0], [50, 0], [50, 50]], "polygonlabels": ["roof"]}}
    controls = [{"id": "r1", "type": "choices", "from_name": "material", "value": {"choices": ["tile"]}},
                {"id": "r1", "type": "textarea", "from_name": "note", "value": {"text": ["old"]}},
                {"type": "choices", "from_name": "weather", "value": {"choices": ["sunny", "dry"]}},
                {"type": "textarea", "from_name": "comment", "value": {"text": ["hello"]}}]
    report = ConversionReport("labelstudio import")
    [task] = labelstudio_tasks([{"data": {"image": "house.png"}, "annotations": [{"result": [region, *controls]}]}],
                               report=report)
    polygon, sunny, dry = task["annotations"]
    assert polygon["points"] == [0, 0, 5, 0, 5, 5]
    assert polygon["attributes"] == [{"key": "material", "value": "tile", "type": "select"},
                                     {"key": "note", "value": "old", "type": "text"}]
    assert [(a["type"], a["value"]) for a in (sunny, dry)] == [("classification", "sunny"), ("classification", "dry")]
    assert list(report.findings) == ["textarea result of the whole task not read (FastLabel has no counterpart)"]
    [written] = to_labelstudio([task])
    results = written["annotations"][0]["result"]
    assert [(r["type"], r.get("from_name")) for r in results] == [
        ("polygonlabels", "label"), ("choices", "material"), ("textarea", "note"), ("choices", "choice"),
        ("choices", "choice")]
    assert results[1]["id"] == results[0]["id"]
    [again] = labelstudio_tasks([written])
    assert again["annotations"] == task["annotations"]


def test_bad_results_cost_only_themselves():
    good = {"type": "keypointlabels", "original_width": 100, "original_height": 50,
            "value": {"x": 10, "y": 10, "keypointlabels": ["eye"]}}
    bad = [{"type": "rectanglelabels", "original_width": 100, "original_height": 50, "value": {"x": "a"}},
           {"type": "polygonlabels", "original_width": 100, "original_height": 50,
            "value": {"points": [[1, 2]], "polygonlabels": ["p"]}},
           {"type": "brushlabels", "original_width": 4, "original_height": 4,
            "value": {"format": "rle", "rle": [1, 2, 3], "brushlabels": ["b"]}},
           {"type": "keypointlabels", "value": {"x": 1, "y": 1, "keypointlabels": []}},
           "not an object", {"type": "relation", "from_id": "a", "to_id": "b"}]
    report = ConversionReport("labelstudio import")
    [task] = labelstudio_tasks([{"id": 3, "data": {"image": "x.jpg"}, "annotations": [{"result": [*bad, good]}]},
                                {"id": 4, "data": {}}], report=report)
    assert task["annotations"] == [{"value": "eye", "type": "keypoint", "points": [10, 5], "attributes": []}]
    places = [place for finding in report.findings.values() for place in finding.examples]
    # each bad result, the task without data, and the brush's own size (told, then read with it)
    assert sum(f.count for f in report.findings.values()) == len(bad) + 2
    assert report.findings["result with another original size than the task's first, read with its own"].count == 1
    assert any("task #0 (id 3) annotation #0 result #2 (brushlabels)" in place for place in places)
    assert any("task #1 (id 4)" in place for place in places)


def test_malformed_file_names_it(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"images": 3')
    with pytest.raises(FormatError, match="export.json"):
        labelstudio_tasks(path)
    path.write_text('"text"')
    with pytest.raises(FormatError, match="export.json: a Label Studio export holds a list"):
        labelstudio_tasks(path)
    with pytest.raises(FormatError, match="predictions must be"):
        labelstudio_tasks([], predictions="maybe")


def test_image_names_of_data_urls():
    assert image_name("/data/local-files/?d=photos/dir/a%20b.jpg") == "photos/dir/a b.jpg"
    assert image_name("/data/upload/12/5f1e-cat.jpg") == "5f1e-cat.jpg"
    assert image_name("s3://bucket/set/img.png") == "img.png"
    assert image_name("https://example.com/pages/page-1.png?x=1") == "page-1.png"
    assert image_name("dir/sub/a.jpg") == "dir/sub/a.jpg"


def test_losses_reported_on_export():
    tasks = [{"name": "a.jpg", "width": 10, "height": 10, "annotations": [
        {"type": "line", "value": "l", "points": [0, 0, 1, 1]},
        {"type": "bbox", "value": "b", "points": [1, 1, 5, 5], "attributes": [{"key": "on", "value": True,
                                                                               "type": "switch"}]}]},
        {"name": "b.jpg", "width": 0, "height": 0, "annotations": [{"type": "bbox", "value": "b",
                                                                    "points": [1, 1, 2, 2]}]}]
    report = ConversionReport("labelstudio")
    written = to_labelstudio(tasks, report=report)
    assert [len(t["annotations"][0]["result"]) for t in written] == [1, 0]
    assert set(report.findings) == {
        "line annotation not representable in labelstudio",
        "attribute that Label Studio cannot hold (not text, a choice or a number), dropped",
        "bbox annotation of an image with width or height 0 not written (Label Studio stores percentages)"}


def test_audio_segments_round_trip():
    result = {"id": "s", "type": "labels", "from_name": "label", "to_name": "audio",
              "value": {"start": 1.5, "end": 3.25, "channel": 0, "labels": ["speech"]}}
    [task] = labelstudio_tasks([{"data": {"audio": "/data/upload/1/talk.wav"}, "annotations": [{"result": [result]}]}])
    assert task["annotations"] == [{"value": "speech", "type": "segmentation", "start": 1.5, "end": 3.25,
                                    "attributes": []}]
    [written] = to_labelstudio([task], project_type="audio_segmentation")
    assert written["data"] == {"audio": "talk.wav"}
    [again] = written["annotations"][0]["result"]
    assert (again["type"], again["value"], again["to_name"]) == ("labels", {"start": 1.5, "end": 3.25,
                                                                           "labels": ["speech"]}, "audio")


coordinate = st.floats(0, 500, allow_nan=False, allow_subnormal=False)


@st.composite
def fastlabel_tasks(draw):
    width, height = draw(st.integers(1, 600)), draw(st.integers(1, 600))
    annotations = []
    for number in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["bbox", "polygon", "keypoint"]))
        if kind == "bbox":
            x1, y1 = draw(coordinate), draw(coordinate)
            w, h = draw(st.floats(0.5, 200)), draw(st.floats(0.5, 200))
            annotation = {"type": "bbox", "points": [x1, y1, x1 + w, y1 + h]}
            rotation = draw(st.one_of(st.just(0), st.floats(0, 359.5)))
            if rotation:
                annotation["rotation"] = rotation
        elif kind == "polygon":
            annotation = {"type": "polygon", "points": draw(st.lists(coordinate, min_size=6, max_size=12).filter(
                lambda p: len(p) % 2 == 0))}
        else:
            annotation = {"type": "keypoint", "points": [draw(coordinate), draw(coordinate)]}
        annotations.append({**annotation, "value": f"v{number % 3}", "attributes": []})
    return {"name": f"img{draw(st.integers(0, 9))}.jpg", "width": width, "height": height, "annotations": annotations}


@settings(max_examples=60, deadline=None)
@given(fastlabel_tasks())
def test_fastlabel_round_trip_is_exact(task):
    report = ConversionReport("labelstudio")
    [again] = labelstudio_tasks(to_labelstudio([task], report=report))
    assert report.ok
    assert [(a["type"], a["value"]) for a in again["annotations"]] == [(a["type"], a["value"])
                                                                       for a in task["annotations"]]
    for before, after in zip(task["annotations"], again["annotations"]):
        if before["type"] == "bbox":
            rotation = np.array([before.get("rotation", 0)]), np.array([after.get("rotation", 0)])
            assert np.allclose(box_corners(np.array([before["points"]]), rotation[0]),
                               box_corners(np.array([after["points"]], float), rotation[1]), atol=1e-6)
        else:
            assert np.allclose(before["points"], after["points"], atol=1e-6)


def test_export_file_detect_and_record(tmp_path):
    tasks = labelstudio_tasks(FIXTURES / "coco_data.json")
    report = export_labelstudio(tasks, tmp_path / "out", image_root="/data/local-files/?d=images")
    [path] = report.files
    written = json.loads(Path(path).read_text())
    assert written[0]["data"] == {"image": "/data/local-files/?d=images/test_image1.jpg"}
    indented = export_labelstudio(tasks, tmp_path / "indented", image_root="/data/local-files/?d=images",
                                  indent=2).files[0]
    assert Path(indented).read_text() == json.dumps(written, indent=2, ensure_ascii=False)
    [again] = labelstudio_tasks(path)
    assert again["name"] == "images/test_image1.jpg"
    assert [(a["type"], a["value"]) for a in again["annotations"]] == [(a["type"], a["value"])
                                                                       for a in tasks[0]["annotations"]]
    for before, after in zip(tasks[0]["annotations"], again["annotations"]):
        assert np.allclose(before["points"], after["points"], rtol=0, atol=1e-9)
    assert detect_labelstudio(Path(path)) > 0.5
    assert detect_labelstudio(FIXTURES / "LICENSE") == 0
    coco = tmp_path / "coco.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    assert detect_labelstudio(coco) == 0
    assert FORMAT.name == "labelstudio" and FORMAT.read is not None and FORMAT.target is not None


@pytest.mark.parametrize("path", THIRD_PARTY, ids=lambda p: p.name)
def test_auto_detection_picks_label_studio(path):
    from fastlabel_formats import formats

    assert formats.detect(path) == "labelstudio"


def test_label_studio_converter_reads_our_export(tmp_path):
    """label-studio-converter's COCO export of our Label Studio file gives the boxes (rotated
    ones as their enclosing box, by its own trigonometry) and polygons that our COCO export gives
    of the same tasks. Square images: the converter turns boxes in percent space."""
    pytest.importorskip("ujson", reason="label-studio-converter's dependencies not installed")
    pytest.importorskip("label_studio_tools", reason="label-studio-converter's dependencies not installed")
    converter_module = pytest.importorskip("label_studio_converter", reason="label-studio-converter not installed")
    from PIL import Image

    from fastlabel_formats import to_coco

    images = tmp_path / "images"
    images.mkdir()
    tasks = []
    for number, size in enumerate((120, 300)):
        Image.new("RGB", (size, size)).save(images / f"img{number}.png")
        tasks.append({"name": f"img{number}.png", "width": size, "height": size, "annotations": [
            {"type": "bbox", "value": "car", "points": [10, 20, 60, 45], "attributes": []},
            {"type": "bbox", "value": "car", "points": [30.5, 40, 90, 70.25], "rotation": 30, "attributes": []},
            {"type": "bbox", "value": "bus", "points": [5, 5, 25, 55], "rotation": 300, "attributes": []},
            {"type": "polygon", "value": "roof", "points": [50, 60, 100, 62, 80, 110], "attributes": []}]})
    export_labelstudio(tasks, tmp_path / "ls", image_root=str(images),
                       from_names={"rectanglelabels": "box", "polygonlabels": "poly"})
    config = ('<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image">'
              '<Label value="car"/><Label value="bus"/></RectangleLabels><PolygonLabels name="poly" toName="image">'
              '<Label value="roof"/></PolygonLabels></View>')
    converter = converter_module.Converter(config=config, project_dir=str(tmp_path))
    converter.convert_to_coco(str(tmp_path / "ls" / "labelstudio.json"), str(tmp_path / "out"), is_dir=False)
    theirs = json.loads((tmp_path / "out" / "result.json").read_text())
    ours = to_coco(tasks)

    def boxes(coco: dict, first_image: int) -> list:
        names = {c["id"]: c["name"] for c in coco["categories"]}
        return sorted(((names[r["category_id"]], r["image_id"] - first_image), np.round(r["bbox"], 6).tolist())
                      for r in coco["annotations"])

    found, expected = boxes(theirs, 0), boxes(ours, 1)  # the converter numbers images from 0
    assert [k for k, _ in found] == [k for k, _ in expected] and len(found) == 8
    for (_, box), (_, our_box) in zip(found, expected):
        assert np.allclose(box, our_box, rtol=0, atol=1e-6)
    polygons = [r["segmentation"][0] for r in theirs["annotations"] if r["segmentation"]]
    assert len(polygons) == 2 and all(np.allclose(p, [50, 60, 100, 62, 80, 110]) for p in polygons)


def _sdk_track(frames_count: int = 10_000_000) -> dict:
    """label-studio-sdk's ``test_video_disabled_till_end`` track (its expected frames in the test)."""
    return {"id": "tJhYZLMC9G", "type": "videorectangle", "from_name": "box", "to_name": "video",
            "value": {"labels": ["Airplane"], "framesCount": frames_count, "sequence": [
                {"frame": 1, "enabled": True, "x": 38, "y": 38, "width": 41, "height": 22, "rotation": 0, "time": 1.22},
                {"frame": 5, "enabled": False, "x": 40, "y": 49, "width": 56, "height": 34, "rotation": 30,
                 "time": 3.44}]}}


def test_video_track_read_as_label_studio_interpolates(tmp_path):
    import cv2

    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (200, 100))
    for _ in range(3):
        writer.write(np.zeros((100, 200, 3), np.uint8))
    writer.release()
    report = ConversionReport("labelstudio import")
    task = {"data": {"video": "/data/upload/1/clip.avi"}, "annotations": [{"result": [_sdk_track()]}]}
    [read] = labelstudio_tasks([task], images=tmp_path, report=report)
    assert (read["name"], read["width"], read["height"]) == ("clip.avi", 200, 100)
    [track] = read["annotations"]
    assert (track["type"], track["value"], track.get("rotation", 0)) == ("bbox", "Airplane", 0)
    assert sorted(track["points"], key=int) == ["1", "2", "3", "4", "5"]  # hidden after the disabled keyframe
    assert [track["points"][k]["autogenerated"] for k in "12345"] == [False, True, True, True, False]
    assert list(report.findings) == ["video track whose keyframes turn: read with its first keyframe's rotation"]
    # frame 3 as the SDK's test expects it: x 39, y 43.5, width 48.5, height 28, rotation 15 (percent)
    expected = _ls_corners({"value": {"x": 39, "y": 43.5, "width": 48.5, "height": 28, "rotation": 15},
                            "original_width": 200, "original_height": 100})
    x1, y1, x2, y2 = track["points"]["3"]["value"]
    assert np.allclose([(x1 + x2) / 2, (y1 + y2) / 2], expected.mean(axis=0))
    assert np.allclose([x2 - x1, y2 - y1], [48.5 * 2, 28])


def test_video_tracks_round_trip():
    points = {str(f): {"value": [10 + f, 20, 30 + f, 40], "autogenerated": f not in (1, 4)} for f in range(1, 5)}
    points.update({"6": {"value": [5, 5, 9, 9], "autogenerated": False},
                   "7": {"value": [6, 7, 10, 12], "autogenerated": True},  # not on the line from 6 to 9
                   "8": {"value": [7, 5, 11, 9], "autogenerated": True},
                   "9": {"value": [8, 5, 12, 9], "autogenerated": False}})
    task = {"name": "clip.mp4", "width": 320, "height": 240, "annotations": [
        {"type": "bbox", "value": "car", "points": points, "rotation": 20, "attributes": []},
        {"type": "polygon", "value": "lane", "points": {"1": {"value": [0, 0, 5, 0, 5, 5],
                                                              "autogenerated": False}}, "attributes": []}]}
    report = ConversionReport("labelstudio")
    [written] = to_labelstudio([task], project_type="video_bbox", frame_counts={"clip.mp4": 12}, report=report)
    assert list(report.findings) == ["polygon annotation of a video not representable in labelstudio (video boxes are)"]
    assert written["data"] == {"video": "clip.mp4"}
    [result] = written["annotations"][0]["result"]
    sequence = result["value"]["sequence"]
    # 7 is off the line from 6 to 9, and then 8 off the line from 7 to 9: both become keyframes
    assert [(k["frame"], k["enabled"]) for k in sequence] == [(1, True), (4, False), (6, True), (7, True),
                                                              (8, True), (9, False)]
    [again] = labelstudio_tasks([{**written, "annotations": [{"result": [
        {**result, "original_width": 320, "original_height": 240}]}]}])
    [track] = again["annotations"]
    assert sorted(track["points"], key=int) == sorted(points, key=int) and track["rotation"] == 20
    for frame, entry in points.items():
        assert np.allclose(track["points"][frame]["value"], entry["value"], atol=1e-6)


def test_every_annotator_and_infinite_coordinates():
    region = {"type": "keypointlabels", "original_width": 10, "original_height": 10,
              "value": {"x": 10, "y": 20, "keypointlabels": ["k"]}}
    far = copy.deepcopy(region)
    far["value"]["x"] = math.inf
    task = {"data": {"image": "a.png"}, "annotations": [{"result": [region, far]}, {"result": [region]},
                                                        {"result": [region], "was_cancelled": True}]}
    report = ConversionReport("labelstudio import")
    [first] = labelstudio_tasks([task], report=report)
    assert [a["points"] for a in first["annotations"]] == [[1, 2]]
    assert {k: f.count for k, f in report.findings.items()} == {
        "region with a missing or non-numeric 'x', skipped": 1,
        "further annotation of a task not read (annotation='all' reads every one)": 1,
        "cancelled (skipped) annotation not read": 1}
    [every] = labelstudio_tasks([task], annotation="all")
    assert [a["points"] for a in every["annotations"]] == [[1, 2], [1, 2]]
    huge = copy.deepcopy(region) | {"original_width": 2000}
    huge["value"]["x"] = 1e308  # 1e308 % of 2000 pixels overflows
    report = ConversionReport("labelstudio import")
    [task] = labelstudio_tasks([{"data": {"image": "b.png"}, "annotations": [{"result": [huge, huge]}]}],
                               report=report)
    assert task["annotations"] == []
    assert {k: f.count for k, f in report.findings.items()} == {
        "region whose pixel coordinates are not finite numbers, skipped": 2}


def test_worker_processes_write_the_same_file(tmp_path, monkeypatch):
    """Workers spool their parts to files beside the output (read back by the parent, then removed):
    the file is the one a run in this process writes, and nothing else is left."""
    from fastlabel_formats.jsonparts import JsonListSpool

    tasks = [{"name": f"i{n}.jpg", "width": 50, "height": 40, "annotations": [
        {"type": "bbox", "value": "a", "points": [1, 2, 3 + n, 4], "attributes": []}]} for n in range(30)]
    one = export_labelstudio(tasks, tmp_path / "one")
    read_back, append_part = [], JsonListSpool.append_part
    monkeypatch.setattr(JsonListSpool, "append_part", lambda spool, part: (read_back.append(part),
                                                                          append_part(spool, part)))
    two = export_labelstudio(tasks, tmp_path / "two", jobs=2)
    assert Path(one.files[0]).read_bytes() == Path(two.files[0]).read_bytes()
    assert len(json.loads(Path(one.files[0]).read_bytes())) == 30
    assert read_back and all(".parts-" in str(part) for part in read_back)  # spooled by the workers
    assert [p.name for p in (tmp_path / "two").iterdir()] == ["labelstudio.json"]


def test_a_result_id_that_is_a_list_names_no_region(tmp_path):
    """An ``id`` that cannot name a region (a list) is read without linking, never a crash: its
    region is read, its choices become a classification of the task."""
    result = {"id": ["x"], "type": "rectanglelabels", "original_width": 100, "original_height": 100,
              "value": {"x": 1, "y": 1, "width": 3, "height": 4, "rectanglelabels": ["c"]}}
    choice = {"id": ["x"], "type": "choices", "value": {"choices": ["a"]}}
    for results in ([result], [result, choice]):
        path = tmp_path / "ls.json"
        path.write_text(json.dumps([{"id": 1, "data": {"image": "a.jpg"}, "annotations": [{"result": results}]}]))
        tasks = labelstudio_tasks(path)
        assert [a["type"] for a in tasks[0]["annotations"]] == ["bbox", "classification"][:len(results)]
