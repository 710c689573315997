"""The Label Studio writer makes each chunk's regions type by type: the file does not depend on
where chunks are cut, and holds exactly the records ``to_labelstudio`` gives."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport
from fastlabel_formats import table as table_module
from fastlabel_formats.formats.labelstudio import export_labelstudio, to_labelstudio

coordinate = st.floats(0, 500, allow_nan=False)
attribute = st.one_of(
    st.builds(lambda v: {"key": "colour", "value": v, "type": "select"}, st.sampled_from(["red", ""])),
    st.builds(lambda v: {"key": "note", "value": v, "type": "text"}, st.text(max_size=3)),
    st.builds(lambda v: {"key": "count", "value": v, "type": "number"}, st.integers(-3, 3) | coordinate),
    st.just({"key": "parts", "value": ["a", "b"], "type": "checkbox"}),
    st.just({"key": "on", "value": True, "type": "switch"}),
    st.builds(lambda v: {"key": "score", "value": v}, st.floats(0, 1)),
    st.builds(lambda v: {"key": "model_version", "value": v}, st.sampled_from(["m1", "m2"])),
)


@st.composite
def annotation(draw) -> dict:
    kind = draw(st.sampled_from(["bbox", "polygon", "keypoint", "classification", "line", "segmentation"]))
    if kind == "bbox":
        x, y = draw(coordinate), draw(coordinate)
        found = {"points": [x, y, x + draw(st.floats(0.5, 99)), y + draw(st.floats(0, 99))],
                 "rotation": draw(st.sampled_from([0, 30, 90, 200.5]))}
    elif kind in ("polygon", "line"):
        found = {"points": draw(st.lists(coordinate, min_size=6, max_size=10).filter(lambda p: len(p) % 2 == 0))}
    elif kind == "keypoint":
        found = {"points": [draw(coordinate), draw(coordinate)]}
    elif kind == "segmentation":
        x, y = draw(st.integers(0, 5)), draw(st.integers(0, 5))
        found = {"points": [[[x, y, x + 3, y, x + 3, y + 2, x, y + 2]]]}
    else:
        found = {}
    return {"type": kind, "value": draw(st.sampled_from(["car", "bus", "é\"q"])), **found,
            "attributes": draw(st.lists(attribute, max_size=3))}


@st.composite
def task_lists(draw) -> list[dict]:
    return [{"name": f"dir/img{number}.jpg", "width": draw(st.sampled_from([0, 8, 640])),
             "height": draw(st.sampled_from([0, 10, 480])), "annotations": draw(st.lists(annotation(), max_size=6))}
            for number in range(draw(st.integers(1, 6)))]


@settings(max_examples=40, deadline=None)
@given(task_lists(), st.integers(1, 5))
def test_the_file_holds_the_records_wherever_chunks_are_cut(tasks, chunk_rows):
    report = ConversionReport("labelstudio")
    records = to_labelstudio(tasks, report=report)
    original = table_module.CHUNK_ROWS
    table_module.CHUNK_ROWS = chunk_rows
    try:
        with tempfile.TemporaryDirectory() as folder:
            written = export_labelstudio(tasks, Path(folder) / "out")
            data = Path(written.files[0]).read_bytes()
    finally:
        table_module.CHUNK_ROWS = original
    assert data == orjson.dumps(records)
    assert {k: f.count for k, f in written.findings.items()} == {
        k: f.count for k, f in report.findings.items()}
    kept = sum(len(t["annotations"][0]["result"]) + sum(len(p["result"]) for p in t["predictions"]) for t in records)
    lost = sum(f.count for f in report.findings.values())
    controls = sum(1 for t in tasks for a in t["annotations"] for attr in a["attributes"]
                   if attr["key"] not in ("score", "model_version"))
    assert kept + lost >= sum(len(t["annotations"]) for t in tasks)  # every region written or reported
    assert kept <= sum(len(t["annotations"]) for t in tasks) + controls
