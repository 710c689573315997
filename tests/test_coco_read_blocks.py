"""COCO's common records read a block at a time (coco_blocks) exactly as record by record: the same
annotations (numbers of the same types, lists shared with the caller's data as the one-by-one path
shares them), the same findings in the same order, the same tables; odd records left to the careful path."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastlabel_formats import coco_blocks, coco_import
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import FrameMaker, stream_chunks
from fastlabel_formats.table import gather
from fastlabel_formats.table_readers import collecting, table_source
from fastlabel_formats.table_rings import laid_out
from fastlabel_formats.validation import RING_TYPES

STRUCT = coco_import.ANNOTATION_STRUCTS[None]
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": 7}, {"id": "1", "name": "dog"}, {"id": 3},
              {"id": 4, "name": ""}]
IMAGES = [{"id": n, "file_name": f"{n}.jpg", "width": 64, "height": 48} for n in (1, 2, 3)]

plain_numbers = st.one_of(st.integers(-3000, 3000), st.floats(-3000, 3000, allow_nan=False))
odd_numbers = st.one_of(plain_numbers, st.booleans(), st.sampled_from([2**53 + 1, 2**60, -2**52, 2**1030, 1e300,
                                                                       1e308, "1", None]))
nan_numbers = st.sampled_from([math.nan, math.inf, -math.inf])


def ring_of(numbers, sizes=(3, 4, 5)):
    return st.sampled_from(sizes).flatmap(lambda n: st.lists(numbers, min_size=2 * n, max_size=2 * n))


def closed(ring: list) -> list:
    return ring + ring[:2]


def rectangle(x1, y1, x2, y2) -> list:
    return [x1, y1, x2, y1, x2, y2, x1, y2, x1, y1]


def rings(numbers):
    return st.one_of(ring_of(numbers), ring_of(numbers).map(closed), st.builds(rectangle, *[numbers] * 4),
                     st.builds(lambda x, y1, y2: rectangle(x, y1, x, y2), numbers, numbers, numbers),  # x1 == x2
                     st.lists(numbers, min_size=2, max_size=5))  # 4 numbers, too few, odd


def records(numbers):
    """COCO annotation records, common ones and odd ones (numbers: what their coordinates may be)."""
    return st.fixed_dictionaries({
        "id": st.one_of(st.integers(1, 40), st.none(), st.just("a")),
        "image_id": st.sampled_from([1, 1, 2, 3, 9]),
        "category_id": st.sampled_from([1, 1, 2, "1", 3, 4, 1.0, True, None, [1], 99]),
        "segmentation": st.one_of(st.none(), st.just([]), st.lists(rings(numbers), min_size=1, max_size=3),
                                  st.just({"counts": [0, 4], "size": [2, 2]}), st.just("text"),
                                  st.lists(rings(numbers), min_size=1, max_size=2).map(lambda s: [*s, "x"])),
        "bbox": st.one_of(st.none(), st.lists(numbers, min_size=4, max_size=4), st.lists(plain_numbers, max_size=5)),
        "attributes": st.one_of(st.none(), st.just([1]), st.dictionaries(
            st.text(max_size=2), st.one_of(st.booleans(), st.text(max_size=2), st.integers(), st.none(),
                                           st.floats(allow_nan=False, allow_infinity=False), st.just([1, [2]]),
                                           st.just({"a": {"b": 1}})),
            max_size=3)),
        "iscrowd": st.sampled_from([0, 0, 1, True, None, "x"]),
        "rotation": st.sampled_from([None, 0, 0, 0.0, False, 30, "x"]),
        "keypoints": st.sampled_from([None, [], [], [10, 20, 2], {}]),
    })


common_records = st.fixed_dictionaries({
    "id": st.integers(), "image_id": st.just(1), "category_id": st.sampled_from([1, 2, "1"]),
    "segmentation": st.one_of(st.none(), st.lists(rings(plain_numbers), min_size=1, max_size=3)),
    "bbox": st.lists(plain_numbers, min_size=4, max_size=4),
    "attributes": st.dictionaries(st.text(max_size=2), st.booleans() | st.text(max_size=2), max_size=2),
    "iscrowd": st.just(0), "rotation": st.sampled_from([None, 0]), "keypoints": st.sampled_from([None, []]),
})


def typed(value: object) -> object:
    """``value`` with the type of every number (and NaN comparable): equal only when equal with the same types."""
    if isinstance(value, list):
        return ["list", [typed(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", [(key, typed(item)) for key, item in value.items()]]
    return [type(value).__name__, repr(value)]


def shared(annotation: dict, record: dict) -> list[bool]:
    """Per list of an annotation's points whether it is one of the record's own ring lists."""
    own = {id(ring) for ring in record["segmentation"]} if type(record["segmentation"]) is list else set()
    points = annotation.get("points") or []
    lists = [points] + [ring for region in points if type(region) is list for ring in region if type(ring) is list]
    return [id(item) in own for item in lists]


def reading_of(owned: bool, report: ConversionReport | None = None) -> coco_import.Reading:
    report = report or ConversionReport("coco import")
    return coco_import.Reading("here", None, owned, coco_import._categories(CATEGORIES, "here", report),
                               {1: (64, 48), 2: (64, 48), 3: (64, 48)}, report)


def assert_block_as_one_by_one(listed: list[dict], owned: bool) -> list[int]:
    """The records of ``listed`` the block path reads are read as record by record; the rows it read."""
    structs = [coco_import._as_struct(record, STRUCT) for record in listed]
    common = coco_blocks.common_block(structs, reading_of(owned))
    if common is None:
        return []
    coco_blocks.loose_attributes(common)
    for row, made in zip(common.rows, common.made):
        single = coco_import._plain_record(structs[row], reading_of(owned))
        careful = ConversionReport("careful")
        assert typed(single) == typed([made]) == typed(coco_import._read_one(structs[row], "here",
                                                                             reading_of(owned, careful)))
        assert not careful.findings
        assert shared(made, listed[row]) == shared(single[0], listed[row])
    if common.held:  # the layout is the one the table would make
        reference = laid_out(common.kinds, common.points)
        for column in ("coords", "ring_sizes", "row_rings", "kind_codes"):
            np.testing.assert_array_equal(getattr(common.laid, column), getattr(reference, column))
    return common.rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(odd_numbers) | records(plain_numbers) | common_records, max_size=10), st.booleans())
def test_block_reads_records_as_one_by_one(listed, owned):
    assert_block_as_one_by_one(listed, owned)


@settings(max_examples=40, deadline=None)
@given(st.lists(records(nan_numbers | plain_numbers), max_size=8))
def test_block_leaves_non_finite_numbers_to_the_careful_path(listed):
    assert_block_as_one_by_one(listed, owned=False)  # (a JSON file holds none: given as a dict)


@settings(max_examples=60, deadline=None)
@given(st.lists(common_records, min_size=1, max_size=10), st.booleans())
def test_block_reads_every_common_record_with_plain_numbers(listed, owned):
    structs = [coco_import._as_struct(record, STRUCT) for record in listed]
    made_one_by_one = [row for row, struct in enumerate(structs)
                       if coco_import._common_record(struct, reading_of(owned)) is not None]
    assert assert_block_as_one_by_one(listed, owned) == made_one_by_one


# --- whole files: blocks against record by record ---------------------------------------------------

def read(document: dict, as_file: bool, one_by_one: bool, monkeypatch) -> tuple:
    """The tasks, findings and tables (the chunks' tables against gather's) of a COCO document."""
    with monkeypatch.context() as patch:
        patch.setattr(coco_import, "RECORDS_PER_BLOCK", 3)  # blocks of 3 records
        if one_by_one:
            patch.setattr(coco_import, "_block_lists", lambda *args: None)
        report = ConversionReport("coco import")
        source = document
        if as_file:  # (one name: the findings name it)
            source = Path(tempfile.gettempdir()) / "test_coco_read_blocks.json"
            source.write_text(json.dumps(document))
        with collecting() as vouched:
            tasks = coco_import.coco_tasks(source, report=report)
    findings = [(f.kind, f.count, f.examples) for f in report.findings.values()]
    return tasks, findings, table_source(tasks, vouched)


def tables(source) -> list:
    """Per chunk of a table source its table's columns (built from the reader's rows when vouched for),
    each checked against gather's."""
    out = []
    for block in source.blocks():
        for chunk in map(block.chunk, stream_chunks(block.source, block.tasks(), FrameMaker(block.source), 2)):
            ours, reference = chunk.table(RING_TYPES), gather(chunk.tasks, chunk.frames, chunk.source, RING_TYPES)
            assert typed(ours.annotations) == typed(reference.annotations) and ours.kinds == reference.kinds
            for column in ("coords", "ring_offsets", "shape_ring_offsets", "is_hole"):
                np.testing.assert_array_equal(getattr(ours.rings, column), getattr(reference.rings, column))
            out.append(chunk.vouched)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(listed=st.lists(records(odd_numbers) | common_records, max_size=12), as_file=st.booleans())
def test_files_read_in_blocks_as_one_by_one(listed, as_file, monkeypatch):
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": listed}
    before = copy.deepcopy(document)
    tasks, findings, source = read(document, as_file, False, monkeypatch)
    reference_tasks, reference_findings, reference_source = read(document, as_file, True, monkeypatch)
    assert typed(tasks) == typed(reference_tasks) and findings == reference_findings
    assert typed(document) == typed(before)  # the caller's data as it was
    if not as_file:  # lists shared with the caller's data as record by record
        own = {id(ring): number for number, ring in enumerate(_caller_lists(listed))}
        assert [[own.get(id(p), -1) for p in _lists(task)] for task in tasks] == \
            [[own.get(id(p), -1) for p in _lists(task)] for task in reference_tasks]
    tables(source)
    tables(reference_source)


def _caller_lists(listed: list[dict]) -> list:
    """The lists of the caller's records that an annotation's points may be."""
    return [item for record in listed for key in ("segmentation", "bbox") if type(record[key]) is list
            for item in (record[key], *record[key]) if type(item) is list]


def _lists(task: dict) -> list:
    """The point lists of a task's annotations (the lists themselves, for their identity)."""
    out = []
    for annotation in task["annotations"]:
        points = annotation.get("points")
        if type(points) is list:
            out.append(points)
            out += [ring for region in points if type(region) is list for ring in region if type(ring) is list]
    return out


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "dict"])
def test_common_blocks_are_vouched_for_and_laid_out(as_file, monkeypatch):
    ring = [100, 50, 110, 50, 110, 55, 103, 58]
    listed = [{"id": n, "image_id": 1 + n % 2, "category_id": 1, "segmentation": [ring], "bbox": [100, 50, 10, 8]}
              for n in range(7)]
    listed[3]["segmentation"] = [ring, rectangle(1, 2, 3, 4)]  # several polygons: a segmentation
    listed[4]["segmentation"] = [rectangle(1, 2, 3, 4)]  # a box
    listed[5]["segmentation"], listed[5]["bbox"] = None, [1.5, 2, 3, 4]  # a lone box
    listed[6]["bbox"] = [100, 50, 10.6, 8]  # a loose box
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": listed}
    tasks, findings, source = read(document, as_file, False, monkeypatch)
    annotations = tasks[0]["annotations"] + tasks[1]["annotations"]
    assert [a["type"] for a in annotations] == ["polygon", "polygon", "bbox", "polygon", "polygon", "segmentation",
                                                "bbox"]
    assert annotations[6]["points"] == [1.5, 2, 4.5, 6] and annotations[3]["attributes"][-1]["value"][2] == 10.6
    assert all(tables(source)) and not findings
    assert typed(tasks) == typed(read(document, as_file, True, monkeypatch)[0])


@pytest.mark.parametrize("ids", [[1, 2, 3, 4, 5, 6, 7, 3], [1, 2, 3, 9, 8, 7, 10, 8], [1, 2, 3, 4.0, 5, 6, 7, 4],
                                 [None, 2, 3, 4, None, 6, 2**70, 2**70]], ids=["rising", "falling", "float", "null"])
def test_ids_given_twice_across_blocks_are_reported_as_one_by_one(ids, monkeypatch):
    ring = [100, 50, 110, 50, 110, 55, 103, 58]
    listed = [{"id": number, "image_id": 1, "category_id": 1, "segmentation": [ring]} for number in ids]
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": listed}
    tasks, findings, _ = read(document, True, False, monkeypatch)
    assert (tasks, findings) == read(document, True, True, monkeypatch)[:2]
    assert findings[0][0] == "annotation id given twice (both read)" and findings[0][2][0].endswith("#7 (id "
                                                                                                 f"{ids[7]!r}, "
                                                                                                 "as annotation #"
                                                                                                 f"{ids.index(ids[7])})")


def test_common_records_of_a_block_read_one_by_one_keep_their_places(monkeypatch):
    """A common record the block leaves to the one-by-one path (a huge integer in its ring) is read
    there, in its place; the block's loose boxes and layout are then made with it."""
    ring = [100, 50, 110, 50, 110, 55, 103, 58]
    listed = [{"id": n, "image_id": 1, "category_id": 1, "segmentation": [ring], "bbox": [100, 50, 10, 8]}
              for n in range(6)]
    listed[1]["segmentation"] = [[2**60, 50, 110, 50, 110, 55]]
    listed[2]["bbox"] = [100, 50, 10.6, 8]  # a loose box, found with the huge one's
    listed[4]["keypoints"] = [101, 51, 2]  # not common: read one by one
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": listed}
    tasks, findings, source = read(document, True, False, monkeypatch)
    assert typed(tasks) == typed(read(document, True, True, monkeypatch)[0]) and not findings
    annotations = tasks[0]["annotations"]
    assert annotations[1]["points"][0] == 2**60 and annotations[2]["attributes"] == [
        {"key": "coco_bbox", "value": [100, 50, 10.6, 8]}] and "keypoints" in annotations[4]
    tables(source)


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "dict"])
def test_a_box_too_large_for_a_float_is_not_carried_and_costs_nothing_else(as_file, monkeypatch):
    ring = [0.0, 0, 1, 0, 1, 1]
    listed = [{"id": n, "image_id": 1, "category_id": 1, "segmentation": [ring], "bbox": [2**1030, 0, 0, 0]}
              for n in range(4)]
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": listed}
    tasks, findings, _ = read(document, as_file, False, monkeypatch)
    assert [a["attributes"] for a in tasks[0]["annotations"]] == [[]] * 4  # (it used to raise OverflowError)
    assert typed(tasks) == typed(read(document, as_file, True, monkeypatch)[0])
