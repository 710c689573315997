"""The COCO reader's rows laid out once (table_rings): a chunk's table taken from the store is the
table gather makes of the same tasks, whatever the order of the records; a chunk whose tasks changed
after reading, or a block sent to another process, makes its table the usual way."""

from __future__ import annotations

import pickle
import random
from array import array
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import coco_import
from fastlabel_formats.columns import has_points, rotations, value_codes
from fastlabel_formats.run import FrameMaker, stream_chunks
from fastlabel_formats.table import gather
from fastlabel_formats.table_readers import collecting, table_source
from fastlabel_formats.table_rings import laid_out
from fastlabel_formats.validation import RING_TYPES

GEOMETRIES = [RING_TYPES, frozenset({"bbox", "polygon"}), frozenset({"segmentation"}), frozenset()]
coordinates = st.one_of(st.integers(0, 3000), st.floats(0, 3000, allow_nan=False), st.just(2**53 + 1))
polygons = st.integers(3, 5).flatmap(lambda n: st.lists(coordinates, min_size=2 * n, max_size=2 * n))
rectangles = st.builds(lambda x, y, w, h: [x, y, x + w, y, x + w, y + h, x, y + h, x, y],
                       coordinates, coordinates, st.integers(1, 9), st.integers(1, 9))
records = st.fixed_dictionaries({
    "image_id": st.sampled_from([1, 2, 3, 4]), "category_id": st.sampled_from([1, 2, 1, 9]),
    "segmentation": st.one_of(st.none(), st.lists(polygons | rectangles, min_size=1, max_size=3)),
    "bbox": st.one_of(st.none(), st.lists(coordinates, min_size=4, max_size=4), st.just([1e308, 0, 1e308, 1])),
    "attributes": st.dictionaries(st.sampled_from(["a", "b"]), st.booleans(), max_size=2),
    "keypoints": st.sampled_from([None, [], [], [1, 2, 2]]),
})
IMAGES = [{"id": n, "file_name": f"{n}.jpg", "width": 64, "height": 48} for n in (1, 2, 3, 4)]
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]


def read_source(path: Path, annotations: list[dict]):
    path.write_bytes(orjson.dumps({"images": IMAGES, "categories": CATEGORIES, "annotations": annotations}))
    with collecting() as vouched:
        tasks = coco_import.coco_tasks(path)
    return table_source(tasks, vouched)


def chunks_of(source, images: int = 2):
    for block in source.blocks():
        yield from map(block.chunk, stream_chunks(block.source, block.tasks(), FrameMaker(block.source), images))


def assert_as_gathered(chunk) -> None:
    for geometry in GEOMETRIES:
        ours, reference = chunk.table(geometry), gather(chunk.tasks, chunk.frames, chunk.source, geometry)
        assert ours.kinds == reference.kinds and ours.annotations == reference.annotations
        assert ours.points == reference.points and ours.malformed == reference.malformed
        for column in ("frame", "index"):
            np.testing.assert_array_equal(getattr(ours, column), getattr(reference, column))
        for column in ("coords", "ring_offsets", "shape_ring_offsets", "is_hole"):
            ours_column, reference_column = getattr(ours.rings, column), getattr(reference.rings, column)
            assert ours_column.dtype == reference_column.dtype and ours_column.shape == reference_column.shape
            np.testing.assert_array_equal(ours_column, reference_column)
        for column in (rotations, has_points):  # known to the store, computed for gather's table
            assert column(ours).dtype == column(reference).dtype
            np.testing.assert_array_equal(column(ours), column(reference))
        (ours_codes, ours_values), (codes, values) = value_codes(ours), value_codes(reference)
        assert ours_codes.tolist() == codes.tolist() and ours_values == values


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=14), st.randoms(use_true_random=False))
def test_tables_from_the_store_are_gathers_in_any_record_order(tmp_path_factory, annotations, shuffle):
    shuffle.shuffle(annotations)
    for chunk in chunks_of(read_source(tmp_path_factory.mktemp("coco") / "a.json", annotations)):
        assert_as_gathered(chunk)


def plain_records(count: int) -> list[dict]:
    picked = random.Random(count)
    return [{"image_id": picked.choice([1, 2, 3, 4]), "category_id": 1,
             "segmentation": picked.choice([[[0, 0, 5, 0, 5, 5, 0, 5, 0, 0]], [[1, 1, 9, 1.5, 4, 7]],
                                            [[1, 1, 9, 1, 4, 7], [20, 20, 30, 20, 25, 28]]]),
             "bbox": None, "attributes": {"a": True}} for _ in range(count)]


def test_a_plain_file_takes_its_tables_from_the_store(tmp_path):
    chunks = list(chunks_of(read_source(tmp_path / "a.json", plain_records(40))))
    assert chunks and all(chunk.read_rings is not None for chunk in chunks)
    assert all("value_codes" in chunk.table().derived for chunk in chunks)  # the store's own
    for chunk in chunks:
        assert_as_gathered(chunk)


def test_tasks_changed_after_reading_make_their_tables_the_usual_way(tmp_path):
    source = read_source(tmp_path / "a.json", plain_records(40))
    first = source.items[0]["annotations"]
    first[0] = {**first[0], "type": "polygon", "points": [2, 2, 8, 2, 5, 9]}  # replaced: not one the reader laid out
    chunk = next(chunks_of(source))
    table = chunk.table()
    assert chunk.read_rings is not None and table.points[0] == [2, 2, 8, 2, 5, 9]
    assert_as_gathered(chunk)


def shifted(points: list) -> list:
    """``points`` (flat or nested) one further right and down."""
    return [shifted(item) if isinstance(item, list) else item + 1 for item in points]


@pytest.mark.parametrize("change", [
    lambda annotation: annotation.update(value="dog"),
    lambda annotation: annotation.update(points=shifted(annotation["points"])),
    lambda annotation: annotation.update(type="polygon", points=[3, 3, 9, 3, 6, 8]),
    lambda annotation: annotation.pop("value"),
    lambda annotation: annotation.update(rotation=30),
])
def test_an_annotation_changed_in_place_makes_its_table_the_usual_way(tmp_path, change):
    """The same dict with another value, point list or type is not the row the reader laid out."""
    source = read_source(tmp_path / "a.json", plain_records(40))
    first = source.items[0]["annotations"][0]
    change(first)
    chunk = next(chunks_of(source))
    table = chunk.table()
    if "value" in first:
        assert table.annotations[0] is first and table.points[0] == first["points"]
        assert value_codes(table)[1][value_codes(table)[0][0]] == first["value"]
    else:  # now malformed: left out and named
        assert table.annotations[0] is not first and len(table.malformed) == 1
    assert_as_gathered(chunk)


def test_a_block_sent_to_another_process_leaves_the_store_behind(tmp_path):
    source = read_source(tmp_path / "a.json", plain_records(40))
    for block in source.blocks():
        sent = pickle.loads(pickle.dumps(block))
        assert any(block.rings) and not any(sent.rings) and sent.vouched == block.vouched
        for chunk in map(sent.chunk, stream_chunks(sent.source, sent.tasks(), FrameMaker(sent.source), 2)):
            assert chunk.read_rings is None
            assert_as_gathered(chunk)


@given(st.lists(st.one_of(st.integers(-2**60, 2**60), st.floats(allow_nan=False, allow_infinity=False),
                          st.booleans()), min_size=3, max_size=8).map(lambda values: values[:len(values) // 2 * 2]))
def test_laid_out_numbers_are_array_d_s(values):
    block = laid_out(["polygon"], [values])
    assert block is not None
    assert block.coords.ravel().tobytes() == array("d", values).tobytes()


def test_laid_out_leaves_malformed_rows_to_the_table():
    assert laid_out(["polygon"], [[1, 2, 3]]) is None  # odd
    assert laid_out(["bbox"], [[1, 2, 3, 4, 5, 6]]) is None  # a box of 3 points
    assert laid_out(["segmentation"], [[[[0, 0, 1, 0, 1, 1], [0, 0, 1, 1, 0, 1]]]]) is None  # a hole
    assert laid_out(["polygon"], [[1e308 * 10, 0, 1, 1, 2, 2]]) is None  # not finite
    assert laid_out(["line"], [[0, 0, 1, 1]]) is None  # a kind the reader does not make
    assert laid_out(["polygon", "bbox"], [[0, 0, 1, 0, 1, 1], [0, 0, 2, 2]]) is not None
