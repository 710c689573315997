"""The Label Studio reader's quick path (result lists whose every region is typical) reads exactly
what the general path reads: the same tasks, the same losses at the same places, for typical lists
and for lists with anything the quick path leaves to the general one."""

from __future__ import annotations

import copy

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport
from fastlabel_formats.formats.labelstudio import labelstudio_tasks
from fastlabel_formats.formats.labelstudio import reader as reader_module
from fastlabel_formats.formats.labelstudio.quick import quick_regions

SIZE = (640, 480)
number = st.one_of(st.floats(-5, 105), st.integers(-5, 105), st.sampled_from([0, 0.0, 12.5, 50]))
odd_number = st.one_of(number, st.sampled_from([True, None, "3", float("nan"), float("inf"), 1e308, 10**400]))


def _maybe(draw, typical: st.SearchStrategy, odd: st.SearchStrategy):
    """Mostly a typical value, one time in 30 an odd one."""
    return draw(odd if draw(st.integers(0, 29)) == 0 else typical)


@st.composite
def region(draw, region_id: str) -> dict:
    kind = draw(st.sampled_from(["rectanglelabels", "polygonlabels", "keypointlabels"]))
    value_of = lambda: _maybe(draw, number, odd_number)  # noqa: E731
    if kind == "rectanglelabels":
        value = {"x": value_of(), "y": value_of(), "width": value_of(), "height": value_of()}
        if draw(st.booleans()):
            value["rotation"] = draw(st.sampled_from([0, 30, 90.5, -10, None]))
    elif kind == "keypointlabels":
        value = {"x": value_of(), "y": value_of()}
    else:
        points = [[value_of(), value_of()] for _ in range(draw(st.integers(2, 5)))]
        if draw(st.integers(0, 29)) == 0:
            points.append(draw(st.sampled_from([[1], [1, 2, 3], "p", None])))
        value = {"points": points, **_maybe(draw, st.sampled_from([{}, {"closed": True}]), st.just({"closed": False}))}
    odd_labels = st.sampled_from([[], ["a", "b"], [""], "car", [3]])
    value[kind] = _maybe(draw, st.sampled_from([["car"], ["é\"q"]]), odd_labels)
    result = {"id": region_id, "type": kind, "value": value, "from_name": "label", "to_name": "image"}
    width, height = _maybe(draw, st.just(SIZE), st.sampled_from([(320, 240), (640.0, 480), (None, None), (True, 1)]))
    if width is not None:
        result.update(original_width=width, original_height=height)
    if draw(st.integers(0, 29)) == 0:
        result["image_rotation"] = draw(st.sampled_from([0, 90]))
    return result


@st.composite
def result_list(draw) -> list:
    results = []
    for number_ in range(draw(st.integers(0, 6))):
        choice = draw(st.integers(0, 29))
        region_id = f"r{draw(st.integers(0, 3))}"
        if choice < 24:
            results.append(draw(region(region_id)))
        elif choice < 27:
            results.append({"id": region_id, "type": "choices", "from_name": "colour",
                            "value": {"choices": draw(st.sampled_from([["red"], ["a", "b"], [], "x"]))}})
        elif choice == 27:
            results.append({"id": region_id, "type": draw(st.sampled_from(["textarea", "number"])),
                            "value": {"text": ["t"], "number": 2}})
        elif choice == 28:
            results.append(draw(st.sampled_from([{"type": "brushlabels", "value": {}}, "text", None,
                                                 {"type": "rating", "value": {"rating": 2}}])))
        else:
            results.append({"id": f"c{number_}", "type": "choices", "value": {"choices": ["day"]}})
    return results


@st.composite
def exports(draw) -> list[dict]:
    return [{"id": number_, "data": {"image": f"/data/upload/1/img{number_}.jpg"},
             "annotations": [{"result": draw(result_list())} for _ in range(draw(st.integers(1, 2)))],
             "predictions": []}
            for number_ in range(draw(st.integers(1, 4)))]


def _read(export: list[dict], **options) -> tuple[bytes, dict]:
    report = ConversionReport("labelstudio import")
    tasks = labelstudio_tasks(copy.deepcopy(export), report=report, **options)
    return orjson.dumps(tasks), {kind: (found.count, found.examples) for kind, found in report.findings.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports(), st.sampled_from([{}, {"annotation": "all"}]))
def test_the_quick_path_reads_what_the_general_path_reads(export, options):
    quick = _read(export, **options)
    reader_module.quick_regions = lambda *args: None
    try:
        general = _read(export, **options)
    finally:
        reader_module.quick_regions = quick_regions
    assert quick == general


def test_a_typical_list_takes_the_quick_path_and_an_odd_one_does_not():
    from fastlabel_formats.formats.labelstudio.regions import RegionBatch

    box = {"id": "a", "type": "rectanglelabels", "original_width": 640, "original_height": 480,
           "value": {"x": 10, "y": 20.5, "width": 5, "height": 5, "rectanglelabels": ["car"]}}
    colour = {"id": "a", "type": "choices", "from_name": "colour", "value": {"choices": ["red"]}}
    batch = RegionBatch(ConversionReport("x"))
    found = quick_regions([box, colour], "f: task #0", SIZE, batch)
    assert found is not None and [a["type"] for a in found[0]] == ["bbox"] and found[2] == [(1, colour)]
    assert len(batch.boxes) == 7
    for odd in ({**box, "image_rotation": 90}, {**box, "original_width": 320},
                {**box, "value": {**box["value"], "x": float("inf")}}, {**box, "type": "brushlabels"}):
        batch = RegionBatch(ConversionReport("x"))
        assert quick_regions([box, odd], "f: task #0", SIZE, batch) is None
        assert batch.boxes == [] and batch.box_owners == []  # nothing recorded
