"""The Label Studio file is written from the table's columns (byte templates, no dict per region):
it holds exactly the bytes orjson writes for the records ``to_labelstudio`` makes, whatever the
numbers, names and attributes (``%`` and quotes in every text, scores of every kind, several
model versions in one task)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport
from fastlabel_formats.formats.labelstudio import export_labelstudio, to_labelstudio

text = st.sampled_from(["car", "100%", "%s", "é\"q\\", "a,b", "%d%%"])
coordinate = st.one_of(st.floats(-50, 700, allow_nan=False), st.integers(-50, 700),
                       st.sampled_from([0.1, 1e-7, 3.0, 123.456789012345, 1e15]))
attribute = st.one_of(
    st.builds(lambda v: {"key": "colour", "value": v, "type": "select"}, text),
    st.builds(lambda k, v: {"key": k, "value": v, "type": "text"}, text, text),
    st.builds(lambda v: {"key": "count", "value": v, "type": "number"}, st.integers(-3, 3) | coordinate),
    st.builds(lambda v: {"key": "score", "value": v}, st.one_of(st.floats(0, 1), st.just(True), st.integers(0, 1),
                                                                st.just("high"))),
    st.builds(lambda v: {"key": "model_version", "value": v}, st.sampled_from(["m1", "m%2", "", 3])),
)


@st.composite
def annotation(draw) -> dict:
    kind = draw(st.sampled_from(["bbox", "bbox", "polygon", "keypoint", "classification"]))
    found: dict = {}
    if kind == "bbox":
        x, y = draw(coordinate), draw(coordinate)
        found = {"points": [x, y, x + draw(st.floats(0.5, 99)), y + draw(st.floats(0, 99))],
                 "rotation": draw(st.sampled_from([0, 0.0, 30, 90, 200.5, 360, -45]))}
    elif kind == "polygon":
        found = {"points": draw(st.lists(coordinate, min_size=6, max_size=10).filter(lambda p: len(p) % 2 == 0))}
    elif kind == "keypoint":
        found = {"points": [draw(coordinate), draw(coordinate)]}
    return {"type": kind, "value": draw(text), **found, "attributes": draw(st.lists(attribute, max_size=3))}


@st.composite
def task_lists(draw) -> list[dict]:
    return [{"name": draw(st.sampled_from([f"dir/img{number}.jpg", f"a%b/{number}.png", f"é \"{number}\".jpg"])),
             "width": draw(st.sampled_from([640, 33, 1])), "height": draw(st.sampled_from([480, 7])),
             "annotations": draw(st.lists(annotation(), max_size=8))}
            for number in range(draw(st.integers(1, 5)))]


names = st.sampled_from([{}, {"image_root": "/data/local-files/?d=100%"},
                         {"from_names": {"rectanglelabels": "b%x", "polygonlabels": "\"p\""}, "to_name": "im%s"}])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_lists(), names)
def test_the_file_holds_the_bytes_of_the_records(tasks, options):
    report = ConversionReport("labelstudio")
    records = to_labelstudio(tasks, report=report, **options)
    with tempfile.TemporaryDirectory() as folder:
        written = export_labelstudio(tasks, Path(folder) / "out", **options)
        data = (Path(folder) / "out" / "labelstudio.json").read_bytes()
    assert data == orjson.dumps(records)
    assert {k: (f.count, f.examples) for k, f in written.findings.items()} == {
        k: (f.count, f.examples) for k, f in report.findings.items()}


def test_a_prediction_and_an_annotation_in_one_task():
    tasks = [{"name": "a.jpg", "width": 200, "height": 100, "annotations": [
        {"type": "bbox", "value": "car", "points": [10, 10, 30, 20], "attributes": []},
        {"type": "keypoint", "value": "eye", "points": [50, 50],
         "attributes": [{"key": "score", "value": 0.5}, {"key": "model_version", "value": "m1"},
                        {"key": "colour", "value": "red", "type": "select"}]},
        {"type": "keypoint", "value": "eye", "points": [20, 25], "attributes": [{"key": "score", "value": 1}]}]}]
    with tempfile.TemporaryDirectory() as folder:
        export_labelstudio(tasks, Path(folder) / "out")
        written = orjson.loads((Path(folder) / "out" / "labelstudio.json").read_bytes())
    task = written[0]
    assert [r["type"] for r in task["annotations"][0]["result"]] == ["rectanglelabels"]
    assert [(p["model_version"], p["score"], [r["type"] for r in p["result"]]) for p in task["predictions"]] == [
        ("m1", 0.5, ["keypointlabels", "choices"]), ("", 1.0, ["keypointlabels"])]
    assert task["predictions"][0]["result"][0]["value"] == {"x": 25.0, "y": 50.0, "keypointlabels": ["eye"]}
