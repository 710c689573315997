"""The array-wise pieces of plain VOC documents held against the row-by-row readers and templates
they replace: flags and poses against ``voc_attributes``, object openings and bounds against the
official template, whole documents against the row-by-row way on odd values."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st
from test_voc_plain_path import both_ways

from fastlabel_formats.errors import FormatError
from fastlabel_formats.pascalvoc import voc_attributes
from fastlabel_formats.tasks import image_frames
from fastlabel_formats.voc_text import (
    BOX,
    OBJECT,
    bound_texts,
    flag_keys_only,
    joined_documents,
    object_attributes,
    object_openings,
    values_of,
    xml_text,
    xml_texts,
)


class Attribute(Mapping):
    """An attribute that is a mapping but not a dict."""

    def __init__(self, items: dict) -> None:
        self.items_ = items

    def __getitem__(self, key):
        return self.items_[key]

    def __iter__(self):
        return iter(self.items_)

    def __len__(self) -> int:
        return len(self.items_)

    def __repr__(self) -> str:
        return f"Attribute({self.items_!r})"


KEYS = ["truncated", "occluded", "difficult", "kind", "pose", "part_of", "action.jump", 7, None]
TYPES = ["switch", "text", "select", "checkbox", None]
VALUES = [True, False, 0, 1, 2, -1, "1", "0", "yes", None, 1.0, 0.5, float("inf"), ["a"], "k1"]


@st.composite
def attribute(draw) -> Mapping:
    """An attribute of any type and value, some without a type or value, some not dicts; mostly flags."""
    flag = draw(st.integers(0, 2))
    items = {"key": draw(st.sampled_from(KEYS[:3] if flag else KEYS))}
    if flag or draw(st.integers(0, 5)):
        items["type"] = "switch" if flag else draw(st.sampled_from(TYPES))
    if flag == 2 or draw(st.integers(0, 5)):
        items["value"] = draw(st.sampled_from(VALUES[:5] if draw(st.integers(0, 3)) else VALUES))
    return Attribute(items) if not draw(st.integers(0, 9)) else items


ATTRIBUTE_LISTS = st.lists(st.one_of(st.none(), st.just([]), st.lists(attribute(), max_size=5)), max_size=8)


def read_one_by_one(attribute_lists: list) -> object:
    """``object_attributes`` as ``voc_attributes`` reads each row (None when some row has a part or
    an action, or a flag is not 0 or 1), or "error" when it raises (the row-by-row way then names the row)."""
    try:
        keys = {attribute.get("key") for attributes in attribute_lists if attributes for attribute in attributes}
        if not flag_keys_only(keys - {"pose"}):
            return None
        read = [voc_attributes(attributes) for attributes in attribute_lists]
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        return "error"
    if any(flag not in (0, 1) for row in read for flag in row.flags):
        return None
    codes = [4 * truncated + 2 * occluded + difficult for truncated, occluded, difficult in (row.flags for row in read)]
    return codes, [row.pose for row in read] if "pose" in keys else None


def read_by_columns(attribute_lists: list) -> object:
    try:
        read = object_attributes(attribute_lists)
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        return "error"
    return None if read is None else (read[0].tolist(), read[1])


@settings(max_examples=400, deadline=None)
@given(ATTRIBUTE_LISTS)
def test_flags_and_poses_read_what_voc_attributes_reads(attribute_lists):
    expected = read_one_by_one(attribute_lists)
    assert read_by_columns(attribute_lists) == expected
    assert expected is None or isinstance(expected, str) or len(expected[0]) == len(attribute_lists)


def test_the_first_switch_of_each_flag_and_the_first_pose_given_are_read():
    rows = [[{"key": "occluded", "type": "switch", "value": True}, {"key": "occluded", "type": "switch", "value": 0},
             {"key": "difficult", "type": "text", "value": "1"}, {"key": "difficult", "type": "switch", "value": 1}],
            None, [{"key": "truncated", "type": "switch", "value": "1"}, {"key": "pose", "type": "switch", "value": 1},
                   {"key": "pose", "type": "text", "value": ""}, {"key": "pose", "type": "text", "value": "Left"},
                   {"key": "pose", "type": "text", "value": "Right"}]]
    codes, poses = object_attributes(rows)
    assert codes.tolist() == [3, 0, 4] and poses == ["Unspecified", "Unspecified", "Left"]
    assert object_attributes(rows[:2])[1] is None  # no pose key: no poses


class Blank:
    """A pose value that is given but prints as nothing."""

    def __str__(self) -> str:
        return ""


def test_a_pose_that_prints_as_nothing_is_unspecified():
    rows = [[{"key": "pose", "type": "text", "value": Blank()}, {"key": "pose", "type": "text", "value": "Left"}]]
    assert object_attributes(rows)[1] == ["Unspecified"] == [voc_attributes(rows[0]).pose]


@pytest.mark.parametrize("value", [2, -1, "2"])
def test_a_flag_other_than_0_or_1_is_not_plain(value):
    rows = [[{"key": "occluded", "type": "switch", "value": True}],
            [{"key": "truncated", "type": "switch", "value": value}]]
    assert object_attributes(rows) is None


@pytest.mark.parametrize("key", ["part_of", "action.jump"])
def test_parts_and_actions_are_not_plain(key):
    assert object_attributes([[{"key": key, "type": "switch", "value": True}]]) is None


def test_attributes_that_are_not_lists_are_refused():
    with pytest.raises((TypeError, ValueError)):
        object_attributes([iter([{"key": "truncated", "type": "switch", "value": True}])])


def test_values_of_reads_dicts_and_other_mappings():
    items = [{"key": "a"}, {}, Attribute({"key": "b"})]
    assert values_of(items, "key") == ["a", None, "b"]
    assert values_of(items[:2], "key") == ["a", None]


NAMES = st.one_of(st.sampled_from(["car", "a&b", "<x>", "é文", "car ", "1", "True"]), st.text(max_size=4),
                  st.integers(-3, 3), st.booleans(), st.sampled_from([1.0, -0.0, 1e16]))
BOUNDS = st.one_of(st.integers(-5, 5000), st.integers(65530, 70000), st.integers(-2**62, 2**62))


POSES = st.one_of(st.none(), st.sampled_from(["Unspecified", "Left", "a&<b>", "\x07"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NAMES, POSES, st.integers(0, 7), st.lists(BOUNDS, min_size=4, max_size=4)), max_size=12))
def test_an_object_is_its_opening_and_bounds_as_the_template_writes_it(objects):
    names = [str(name) for name, _, _, _ in objects]
    poses = None if any(pose is None for _, pose, _, _ in objects) else [pose for _, pose, _, _ in objects]
    codes = np.array([code for _, _, code, _ in objects], np.int64)
    boxes = np.array([box for _, _, _, box in objects], np.int64).reshape(-1, 4)
    try:
        expected = [OBJECT.format(xml_text(name), xml_text(pose if poses else "Unspecified"), code >> 2,
                                  code >> 1 & 1, code & 1, BOX.format(" " * 8, *box), "")
                    for (name, pose, code, box) in objects]
    except ValueError:  # a character XML cannot hold: refused both ways
        with pytest.raises(ValueError):
            object_openings(names, codes, poses)
        return
    openings, opening_of = object_openings(names, codes, poses)
    bounds, bound_of = bound_texts(boxes)
    assert len(set(openings.tolist())) == len(openings)  # each distinct opening made once
    assert ["".join([openings[opening], *bounds[bound].tolist()]) for opening, bound in zip(opening_of, bound_of)] \
        == expected


ODD_TEXT = st.lists(st.sampled_from(["a", "&", "<", ">", "\x00", "\x07", "\t", "\ud800", "\ufffe", "é", "文", "&amp;"]),
                    max_size=4).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(ODD_TEXT, st.integers(), st.booleans()), max_size=6))
def test_xml_texts_are_xml_text_of_each(values):
    try:
        expected = [xml_text(value) for value in values]
    except FormatError as error:
        with pytest.raises(FormatError, match=re.escape(str(error))):
            xml_texts(values)
    else:
        assert xml_texts(values) == expected


def test_xml_text_tells_equal_values_of_other_types_apart():
    assert [xml_text(1), xml_text(True), xml_text(1.0)] == ["1", "True", "1.0"]


def test_documents_are_joined_per_frame_empty_ones_included():
    frames = [task(name, 4, 3) for name in ("a&.jpg", "b.jpg", "c.jpg")]
    pieces = np.array([["<o1>", "1", "2"], ["<o2>", "3", "4"]], object)
    documents = joined_documents(image_frames(frames), np.array([1, 1]), pieces)
    assert [name for name, _ in documents] == ["a&.jpg", "b.jpg", "c.jpg"]
    assert documents[0][1].startswith("<annotation>\n    <filename>a&amp;.jpg</filename>")
    assert documents[1][1].endswith("<segmented>0</segmented><o1>12<o2>34\n</annotation>")
    assert documents[2][1].endswith("<segmented>0</segmented>\n</annotation>")


ODD = st.sampled_from([-0.0, 0.0, 0.5, 65535.9, 65536.0, 1e12, -1e12, 2.0**53, -7.5, 1e-300])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["a&b", 5, "<c>", True, 1, "1.0", 1.0]),
                                   st.lists(ODD, min_size=2, max_size=2), st.lists(ODD, min_size=2, max_size=2),
                                   st.sampled_from([None, [], [{"key": "difficult", "type": "switch", "value": True}],
                                                    [{"key": "truncated", "value": True}],
                                                    [{"key": "pose", "type": "text", "value": "Left&"}],
                                                    [{"key": "pose", "type": "select", "value": 3}]])),
                         max_size=4), min_size=1, max_size=3), st.booleans())
def test_odd_numbers_and_names_read_as_the_row_by_row_way(frames, vouched):
    tasks = []
    for number, objects in enumerate(frames):
        annotations = []
        for name, (x, y), (width, height), attributes in objects:
            extra = {} if attributes is None else {"attributes": attributes}
            annotations.append(ann("bbox", name, [x, y, x + abs(width), y + abs(height)], **extra))
        tasks.append(task(f"{number}.jpg", 640, 480, *annotations))
    fast, slow = both_ways(tasks, vouched)
    assert fast == slow
