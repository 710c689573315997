"""COCO's common records read at once: their loose boxes found in bulk as record by record, and their
tables (built from the reader's rows) as gather builds them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import coco_import
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import FrameMaker, stream_chunks
from fastlabel_formats.table import gather
from fastlabel_formats.table_readers import collecting, table_source
from fastlabel_formats.validation import RING_TYPES

GEOMETRIES = [RING_TYPES, frozenset({"bbox", "polygon"}), frozenset({"segmentation"})]
coordinates = st.one_of(st.integers(0, 3000), st.floats(0, 3000, allow_nan=False), st.just(2**52 + 1))
polygons = st.integers(3, 5).flatmap(lambda n: st.lists(coordinates, min_size=2 * n, max_size=2 * n))
rectangles = st.builds(lambda x, y, w, h: [x, y, x + w, y, x + w, y + h, x, y + h, x, y],
                       coordinates, coordinates, st.integers(1, 9), st.integers(1, 9))
boxes = st.one_of(st.none(), st.lists(coordinates | st.sampled_from([1e308, True]), min_size=4, max_size=4),
                  st.just(["a", 1, 2, 3]), st.just([1, 2, 3]))
records = st.fixed_dictionaries({
    "image_id": st.sampled_from([1, 2, 3]), "category_id": st.sampled_from([1, 2, 9]),
    "segmentation": st.one_of(st.none(), st.lists(polygons | rectangles, min_size=1, max_size=3),
                              st.just([[1, 2, 3]])),
    "bbox": boxes, "attributes": st.dictionaries(st.text(max_size=2), st.booleans(), max_size=2),
    "iscrowd": st.sampled_from([0, 0, 1]), "keypoints": st.sampled_from([None, [], [1, 2, 2]]),
})
IMAGES = [{"id": n, "file_name": f"{n}.jpg", "width": 64, "height": 48} for n in (1, 2, 3)]
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]


def read(document: dict, tables: bool) -> tuple[list[dict], list, list]:
    """The tasks of a COCO file (read for tables or not), the findings and the collected vouches."""
    handle = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    with handle:
        handle.write(orjson.dumps(document))
    report = ConversionReport("coco import")
    try:
        if not tables:
            return coco_import.coco_tasks(handle.name, report=report), list(report.findings), []
        with collecting() as vouched:
            tasks = coco_import.coco_tasks(handle.name, report=report)
        return tasks, list(report.findings), vouched
    finally:
        Path(handle.name).unlink()


def assert_tables_as_gathered(tasks: list[dict], vouched: list) -> int:
    """Every chunk table of the reader's rows equals gather's; the number of chunks vouched for."""
    made = 0
    for block in table_source(tasks, vouched).blocks():
        for chunk in map(block.chunk, stream_chunks(block.source, block.tasks(), FrameMaker(block.source), 2)):
            made += chunk.vouched
            for geometry in GEOMETRIES:
                ours, reference = chunk.table(geometry), gather(chunk.tasks, chunk.frames, chunk.source, geometry)
                assert ours.kinds == reference.kinds and ours.annotations == reference.annotations
                for column in ("coords", "ring_offsets", "shape_ring_offsets", "is_hole"):
                    np.testing.assert_array_equal(getattr(ours.rings, column), getattr(reference.rings, column))
    return made


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=12))
def test_read_for_tables_or_not_the_same_tasks_findings_and_tables(annotations):
    document = {"images": IMAGES, "categories": CATEGORIES, "annotations": annotations}
    tasks, findings, _ = read(document, tables=False)
    table_tasks, table_findings, vouched = read(document, tables=True)
    assert table_tasks == tasks and table_findings == findings
    assert_tables_as_gathered(table_tasks, vouched)


@pytest.mark.parametrize("huge", [False, True], ids=["at-once", "record-by-record"])
def test_loose_boxes_found_at_once_as_record_by_record(huge, monkeypatch):
    monkeypatch.setattr(coco_import, "RECORDS_PER_BLOCK", 3)  # blocks of 3 records: one falls back, one does not
    ring = [100, 50, 110, 50, 110, 55, 103, 58]
    listed = [[100, 50, 10, 8], [100, 50, 10.6, 8], [100.6, 50, 10, 8], [100, 50, 10, 8.4]]
    listed += [[1e308, 1e308, 0, 0]] if huge else []  # a box float arithmetic may not give as Python does
    annotations = [{"image_id": 1, "category_id": 1, "segmentation": [ring], "bbox": box} for box in listed]
    annotations.append({"image_id": 2, "category_id": 2, "segmentation": [ring, [120, 70, 130, 70, 125, 78]],
                        "bbox": [100, 50, 10, 8]})
    tasks, _, vouched = read({"images": IMAGES, "categories": CATEGORIES, "annotations": annotations}, tables=True)
    carried = [[a["value"] for a in annotation["attributes"]] for task in tasks for annotation in task["annotations"]]
    assert carried == [[], [[100, 50, 10.6, 8]], [[100.6, 50, 10, 8]], [], *([[]] if huge else []),
                       [[100, 50, 10, 8]]]
    assert assert_tables_as_gathered(tasks, vouched) > 0  # some chunks are the reader's rows
