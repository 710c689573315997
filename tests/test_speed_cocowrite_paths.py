"""The quick paths of FastLabel -> COCO give what the plain ways give: attribute dicts built from
``(key, value)`` pairs, keypoints filled in after the records, and the streamed array cut from the
quote parity of each read (a read may end inside a string, after backslashes)."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
import fastlabel_formats.source as source_module
from fastlabel_formats import FormatError
from fastlabel_formats.coco import coco_attributes
from fastlabel_formats.table import table_of

keys = st.sampled_from(["iscrowd", "occluded", "coco_bbox", "kind"])
values = st.one_of(st.booleans(), st.integers(-2, 2), st.text(max_size=3), st.lists(st.integers(), max_size=4))
attribute = st.one_of(st.fixed_dictionaries({"key": keys, "value": values}),
                      st.fixed_dictionaries({"key": keys, "value": values, "name": st.text(max_size=2)}))
attribute_lists = st.one_of(st.none(), st.just([]), st.lists(attribute, max_size=4))


def reference_attributes(attributes: list | None) -> dict:
    """The plain way: a dict comprehension, later duplicates winning."""
    return {a["key"]: a["value"] for a in attributes} if attributes else {}


@given(st.lists(attribute_lists, min_size=1, max_size=6))
def test_attribute_dicts_are_the_comprehensions(lists):
    annotations = [{"type": "bbox", "value": "cat", "points": [1, 2, 3, 4],
                    **({} if found is None else {"attributes": found})} for found in lists]
    table = table_of([{"name": "a.jpg", "width": 8, "height": 8, "annotations": annotations}], "tasks")
    made = coco_attributes(table.annotations, table, list(range(len(table))))
    assert [list(d.items()) for d in made] == [list(reference_attributes(a.get("attributes")).items())
                                               for a in table.annotations]


@pytest.mark.parametrize("attributes", [[{"value": 1}], [["key", "value"]], 5])
def test_malformed_attributes_name_their_annotation(attributes):
    """(The table leaves such annotations out; a caller that gives them anyway learns which.)"""
    box = {"type": "bbox", "value": "cat", "points": [1, 2, 3, 4]}
    table = table_of([{"name": "a.jpg", "width": 8, "height": 8, "annotations": [box, box]}], "tasks")
    with pytest.raises(FormatError, match=r"a\.jpg.*#1.*attributes must be objects with key and value"):
        coco_attributes([box, {**box, "attributes": attributes}], table, [0, 1])


def test_keypoints_are_filled_in_their_records_in_key_order():
    keypoint = {"key": "nose", "value": [3, 4, 1]}
    tasks = [{"name": "a.jpg", "width": 64, "height": 64, "annotations": [
        {"type": "bbox", "value": "face", "points": [1, 2, 30, 40], "keypoints": [keypoint]},
        {"type": "bbox", "value": "face", "points": [5, 6, 7, 8], "attributes": [{"key": "kind", "value": "x"}]},
        {"type": "pose_estimation", "value": "body", "keypoints": [keypoint, {"key": "eye", "value": [9, 9, 0]}]},
        {"type": "polygon", "value": "face", "points": [1, 1, 9, 1, 9, 9]}]}]
    records = ff.to_coco(tasks)["annotations"]
    assert {tuple(record) for record in records} == {(
        "num_keypoints", "keypoints", "segmentation", "iscrowd", "area", "image_id", "bbox", "rotation",
        "category_id", "id", "attributes")}
    by_points = {record["num_keypoints"]: record["keypoints"] for record in records}
    assert by_points == {0: [], 1: [3, 4, 2], 2: [3, 4, 2, 9, 9, 1]}
    assert [record["keypoints"] is records[0]["keypoints"] for record in records[1:]] == [False] * 3


texts = st.text(alphabet='ab"\\[]{},: \n', max_size=12)
elements = st.lists(st.fixed_dictionaries({"name": texts, "tags": st.lists(texts, max_size=3)}), min_size=1,
                    max_size=8)


@settings(max_examples=80, deadline=None)
@given(elements, st.integers(1, 9), st.integers(0, 2))
def test_array_blocks_cut_across_tiny_reads(items, read_size, indent):
    """Reads of a few bytes end inside strings, between a backslash and what it escapes, inside
    brackets: the blocks still hold whole elements, all of them, in order."""
    data = json.dumps(items, indent=indent or None).encode()
    original = source_module.SCAN_BYTES, source_module.BLOCK_BYTES
    source_module.SCAN_BYTES, source_module.BLOCK_BYTES = read_size, read_size * 3
    try:
        reader = source_module.ArrayReader(_Stream(data[read_size:]), "tasks.json", data[:read_size])
        ranges = list(reader.ranges())
    finally:
        source_module.SCAN_BYTES, source_module.BLOCK_BYTES = original
    parsed = [orjson.loads(b"[" + data[offset:offset + length].lstrip().lstrip(b",") + b"]")
              for offset, length, _, _ in ranges]
    assert [len(block) for block in parsed] == [count for _, _, count, _ in ranges]
    assert [element for block in parsed for element in block] == items


class _Stream:
    """The rest of a file, read in pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int) -> bytes:
        piece, self.data = self.data[:size], self.data[size:]
        return piece


@pytest.mark.parametrize("indent", [None, 2])
def test_a_spool_past_its_memory_writes_the_same_bytes(tmp_path, monkeypatch, indent):
    """Fragments kept in memory, or moved to the temporary file once they outgrow it (and parts of
    workers copied in): the same document."""
    import fastlabel_formats.jsonparts as jsonparts

    tasks = [{"name": f"{number:03}.jpg", "width": 100, "height": 80, "annotations": [
        {"type": "bbox", "value": "cat", "points": [number, 1.5, number + 10, 20.25]},
        {"type": "bbox", "value": "dog", "points": [1, 2, 3, 4], "attributes": [{"key": "a", "value": number}]}]}
        for number in range(30)]
    written = {}
    for limit, jobs in ((1 << 30, 1), (200, 1), (200, 2)):
        monkeypatch.setattr(jsonparts, "SPOOL_IN_MEMORY", limit)
        ff.export_coco(tasks, tmp_path / f"{limit}-{jobs}", overwrite=True, indent=indent, jobs=jobs)
        written[limit, jobs] = (tmp_path / f"{limit}-{jobs}" / "annotations.json").read_bytes()
        assert sorted(p.name for p in (tmp_path / f"{limit}-{jobs}").iterdir()) == ["annotations.json"]
    assert len(set(written.values())) == 1
    assert orjson.loads(written[200, 1]) == ff.to_coco(tasks)


def reference_integral_to_int(values: np.ndarray) -> list:
    """The plain way: every number an object, the integral ones made ints."""
    out = values.astype(object)
    integral = np.isfinite(values) & (values == np.trunc(values)) & (np.abs(values) < 2.0**63)
    out[integral] = values[integral].astype(np.int64)
    return out.tolist()


numbers = st.one_of(st.floats(), st.integers(-10**6, 10**6).map(float),
                    st.sampled_from([-0.0, 2.0**63, -(2.0**63), 2.0**62, 1e300, 0.5]))


@given(st.lists(numbers, max_size=12), st.sampled_from([(-1,), (-1, 2)]))
def test_integral_to_int_whatever_the_mix(found, shape):
    """All integral, none, or some: the same ints and floats (as orjson writes them) as the plain way."""
    from fastlabel_formats.geometry import integral_to_int

    values = np.array(found[:len(found) // 2 * 2], np.float64).reshape(shape)
    made, expected = integral_to_int(values), reference_integral_to_int(values)
    assert orjson.dumps(made) == orjson.dumps(expected)
    assert [type(v) for v in np.ravel(np.array(made, dtype=object))] == \
        [type(v) for v in np.ravel(np.array(expected, dtype=object))]
