"""The column-by-column way of writing plain VOC documents (no parts, actions or poses) gives the
row-by-row way's text, classes and report on any table, and leaves the rest to it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, FormatError
from fastlabel_formats.columns import vertex_bounds
from fastlabel_formats.pascalvoc import VOC_POLICY, VOC_TYPES, row_documents, voc_documents
from fastlabel_formats.selection import apply_policy
from fastlabel_formats.table import gather
from fastlabel_formats.tasks import image_frames
from fastlabel_formats.voc_text import integer_texts, plain_documents

NAMES = ["car", "a&b", "<x>", "é文", "car ", 5, "bell\x07"]  # 5: not text; the bell: not in XML
PLAIN_FLAGS = [True, False, 0, 1, "1", "0"]  # as int() reads them: 0 or 1
FLAG_KEYS = ["truncated", "occluded", "difficult", "other"]
PLAIN_KEYS = ["kind", "truncated"]
OTHER_KEYS = [*PLAIN_KEYS, "pose", "part_of", "action.jump"]  # a pose, part or action: not plain
COORDINATE = st.one_of(st.integers(-50, 3000), st.floats(-50, 70000, allow_nan=False).map(lambda x: round(x, 2)))


def attributes(flags: list, keys: list[str]) -> st.SearchStrategy:
    """Attribute lists (or None) of switches of ``flags`` values and other attributes of ``keys``."""
    switch = st.builds(lambda key, value: {"key": key, "type": "switch", "value": value},
                       st.sampled_from(FLAG_KEYS), st.sampled_from(flags))
    other = st.builds(lambda key, kind, value: {"key": key, "type": kind, "value": value}, st.sampled_from(keys),
                      st.sampled_from(["text", "select", "switch"]), st.sampled_from(["car", True, "k1"]))
    return st.one_of(st.none(), st.lists(st.one_of(switch, switch, other), max_size=4))


@st.composite
def annotations(draw, attribute_lists: st.SearchStrategy):
    kind = draw(st.sampled_from(["bbox", "polygon", "segmentation"]))
    xs, ys = draw(st.lists(COORDINATE, min_size=3, max_size=3)), draw(st.lists(COORDINATE, min_size=3, max_size=3))
    points = [min(xs), min(ys), max(xs) + 5, max(ys) + 5] if kind == "bbox" else \
        [value for pair in zip(xs, ys) for value in pair]
    if kind == "segmentation":
        points = [[points + points[:2]]]
    extra = {} if (drawn := draw(attribute_lists)) is None else {"attributes": drawn}
    return ann(kind, draw(st.sampled_from(NAMES)), points, **extra)


@st.composite
def voc_tasks(draw) -> list[dict]:
    """Tasks whose attributes are mostly plain (flags 0 or 1, no pose, part or action), or anything."""
    plain = draw(st.booleans())
    drawn = attributes(PLAIN_FLAGS, PLAIN_KEYS) if plain else attributes([*PLAIN_FLAGS, 2, -1, "yes", None], OTHER_KEYS)
    frames = draw(st.lists(st.lists(annotations(drawn), max_size=5), min_size=1, max_size=4))
    return [task(f"d/{number}.jpg", 640, 480, *objects) for number, objects in enumerate(frames)]


def table_of(tasks: list[dict], vouched: bool = True):
    """The VOC table of ``tasks``; ``vouched`` as a reader's (switch values other than true/false kept)."""
    return gather(tasks, image_frames(tasks), "t.json", VOC_TYPES, 0, vouched)


def both_ways(tasks: list[dict], vouched: bool) -> tuple[object, object]:
    """voc_documents (text, classes, findings) beside the row-by-row way's on the same table, or
    the message of the FormatError each raises."""
    results = []
    for way in (voc_documents, row_way):
        report = ConversionReport("pascalvoc")
        try:
            documents, labels = way(table_of(tasks, vouched), report)
        except FormatError as error:
            results.append(str(error))
        else:
            results.append((documents, labels.classes, report.findings))
    return tuple(results)


def row_way(table, report: ConversionReport):
    table.sizeless(report, "written with that size")
    keep = apply_policy(table, VOC_POLICY, report)
    boxes = np.floor(vertex_bounds(table)[keep]).astype(np.int64).tolist()
    return row_documents(table, np.flatnonzero(keep).tolist(), boxes, report)


@settings(max_examples=100, deadline=None)
@given(voc_tasks(), st.booleans())
def test_voc_documents_equal_the_row_by_row_way(tasks, vouched):
    fast, slow = both_ways(tasks, vouched)
    assert fast == slow


def test_plain_tables_take_the_column_way_and_others_do_not():
    plain = [task("a.jpg", 9, 9, ann("bbox", "a&b", [1, 1, 5, 5], attributes=[
        {"key": "occluded", "type": "switch", "value": True},
        {"key": "occluded", "type": "switch", "value": "not read: the first switch wins"}]))]
    table = table_of(plain)
    documents, labels = plain_documents(table, np.arange(1), np.array([[1, 1, 5, 5]]))
    assert "<name>a&amp;b</name>" in documents[0][1] and "<occluded>1</occluded>" in documents[0][1]
    assert list(labels.classes) == ["a&b"]
    posed = table_of([task("a.jpg", 9, 9, ann("bbox", "a", [1, 1, 5, 5], attributes=[
        {"key": "pose", "type": "text", "value": "Left<"}]))])
    documents, _ = plain_documents(posed, np.arange(1), np.array([[1, 1, 5, 5]]))
    assert "<pose>Left&lt;</pose>" in documents[0][1]  # a pose takes the column way too
    for attributes in ([{"key": "truncated", "type": "switch", "value": 2}],  # written as 2
                       [{"key": "action.jump", "type": "switch", "value": True}]):
        table = table_of([task("a.jpg", 9, 9, ann("bbox", "a", [1, 1, 5, 5], attributes=attributes))])
        assert plain_documents(table, np.arange(1), np.array([[1, 1, 5, 5]])) is None


def test_an_unreadable_flag_is_named_with_its_annotation():
    bad = {"key": "difficult", "type": "switch", "value": "yes"}
    tasks = [task("a.jpg", 9, 9, ann("bbox", "a", [1, 1, 5, 5]), ann("bbox", "b", [1, 1, 5, 5], attributes=[bad]))]
    with pytest.raises(FormatError, match=r"a\.jpg.*annotation #1.*'yes'"):
        voc_documents(table_of(tasks), ConversionReport("pascalvoc"))


def test_a_flag_of_2_is_written_as_before():
    flag = {"key": "truncated", "type": "switch", "value": 2}
    [(_, text)] = voc_documents(table_of([task("a.jpg", 9, 9, ann("bbox", "a", [1, 1, 5, 5], attributes=[flag]))]),
                                ConversionReport("pascalvoc"))[0]
    assert "<truncated>2</truncated>" in text


@pytest.mark.parametrize("numbers", [[], [0, 7, 4095, 4096, 65535], [-3, 12], [65536, 1], [2**40, -2**40]])
def test_integer_texts_are_str(numbers):
    assert integer_texts(np.array(numbers, np.int64)).tolist() == [str(number) for number in numbers]
