"""The readers' own rows (table_readers) against the task-dict path: the same tables, the same
files written, the same losses reported; and the readers' fast paths against their careful ones."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats import coco_import, yolo_import
from fastlabel_formats.convert import read_tables, read_tasks, write_tasks
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import FrameMaker, stream_chunks
from fastlabel_formats.table import gather
from fastlabel_formats.table_readers import collecting, table_source
from fastlabel_formats.validation import RING_TYPES

ROOT = Path(__file__).parent
COCO_FILES = [ROOT / "fixtures/third_party/cocoapi/instances_val2014_subset.json",
              ROOT / "fixtures/third_party/datumaro_coco/coco_instances/instances_train.json",
              ROOT / "fixtures/third_party/mmpose/ochuman/test_ochuman.json",
              ROOT / "fixtures/third_party/datumaro/coco_person_keypoints/person_keypoints_train.json"]
SHARKS = ROOT / "fixtures/third_party/roboflow-python/sharks-tiny-yolov9/data.yaml"
GEOMETRIES = [RING_TYPES, frozenset({"bbox", "polygon", "segmentation"}), frozenset({"bbox"}), frozenset()]


def assert_same_table(ours, reference) -> None:
    """Every column of two annotation tables equal."""
    assert ours.frames == reference.frames and ours.first_frame == reference.first_frame
    assert ours.kinds == reference.kinds and ours.annotations == reference.annotations
    assert ours.points == reference.points and ours.malformed == reference.malformed
    for column in ("frame", "index"):
        np.testing.assert_array_equal(getattr(ours, column), getattr(reference, column))
    for column in ("coords", "ring_offsets", "shape_ring_offsets", "is_hole"):
        np.testing.assert_array_equal(getattr(ours.rings, column), getattr(reference.rings, column))


def assert_tables_as_gathered(source) -> int:
    """Each chunk table of a table source equals gather's of the same tasks, for several
    geometries; the number of chunks built from the reader's rows."""
    vouched = 0
    for block in source.blocks():
        chunks = stream_chunks(block.source, block.tasks(), FrameMaker(block.source), 2)
        for chunk in map(block.chunk, chunks):
            vouched += chunk.vouched
            for geometry in GEOMETRIES:
                reference = gather(chunk.tasks, chunk.frames, chunk.source, geometry, chunk.first_frame)
                assert_same_table(chunk.table(geometry), reference)
    return vouched


def coco_source(path: Path) -> tuple:
    report = ConversionReport("coco import")
    with collecting() as vouched:
        tasks = coco_import.coco_tasks(path, report=report)
    return table_source(tasks, vouched), report


@pytest.mark.parametrize("path", COCO_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_coco_tables_equal_the_gathered_tables(path):
    source, _ = coco_source(path)
    assert_tables_as_gathered(source)


def test_sample_project_tables_are_built_from_the_rows(tmp_path):
    tasks = orjson.loads((ROOT.parent / "examples/sample_project/tasks.json").read_bytes())
    ff.export_coco(tasks, tmp_path / "coco")
    source, _ = coco_source(tmp_path / "coco/annotations.json")
    assert assert_tables_as_gathered(source) > 0  # some chunks come from the rows, and equal gather's


def test_yolo_tables_equal_the_gathered_tables():
    with collecting() as vouched:
        tasks = yolo_import.yolo_tasks(SHARKS)
    source = table_source(tasks, vouched)
    assert all(source.vouched) and assert_tables_as_gathered(source) > 0


# --- the COCO reader's common records: read at once exactly as record by record --------------

numbers = st.one_of(st.integers(-50, 3000), st.floats(-50, 3000, allow_nan=False), st.sampled_from([1e308, True]))
polygons = st.lists(numbers, min_size=0, max_size=12)
segmentations = st.one_of(st.none(), st.just([]), st.lists(polygons, min_size=1, max_size=3),
                          st.builds(lambda x, y: [[x, y, x + 5, y, x + 5, y + 4, x, y + 4, x, y]], numbers, numbers),
                          st.just({"counts": [0, 4], "size": [2, 2]}), st.just("text"))
attribute_values = st.one_of(st.booleans(), st.text(max_size=3), st.integers(-2**63, 2**63 - 1), st.none(),
                             st.just([1, [2]]), st.just({"a": 1}))
records = st.fixed_dictionaries({
    "id": st.integers(1, 6), "image_id": st.sampled_from([1, 2, 3, 9, "x", [1]]),
    "category_id": st.sampled_from([1, 2, 3, 4, 99]),
    "segmentation": segmentations, "bbox": st.one_of(st.none(), st.lists(numbers, min_size=3, max_size=5)),
    "attributes": st.one_of(st.none(), st.dictionaries(st.text(max_size=2), attribute_values, max_size=3),
                            st.just([1])),
    "iscrowd": st.sampled_from([0, 1, None]), "rotation": st.sampled_from([None, 0, 0.0, 30, "x", False]),
    "keypoints": st.sampled_from([None, [], [10, 20, 2, 0, 0, 0], {}]),
})
coordinates = st.one_of(st.integers(0, 3000), st.floats(0, 3000, allow_nan=False))
common_polygons = st.integers(3, 6).flatmap(lambda n: st.lists(coordinates, min_size=2 * n, max_size=2 * n))
common_records = st.fixed_dictionaries({
    "id": st.integers(1, 6), "image_id": st.sampled_from([1, 2, 3]), "category_id": st.sampled_from([1, 3]),
    "segmentation": st.one_of(st.none(), st.just([]), st.lists(common_polygons, min_size=1, max_size=3)),
    "bbox": st.one_of(st.none(), st.lists(coordinates, min_size=4, max_size=4)),
    "attributes": st.dictionaries(st.text(max_size=2), st.booleans() | st.text(max_size=3), max_size=2),
    "iscrowd": st.just(0), "rotation": st.sampled_from([None, 0]), "keypoints": st.sampled_from([None, []]),
})
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": 7}, {"id": 3, "supercategory": "animal"},
              {"id": 4, "name": True}]
IMAGES = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
          {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
          {"id": 3, "file_name": "a.jpg", "width": 10, "height": 10}]


def write_json(document: object) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    with handle:
        handle.write(orjson.dumps(document))
    return Path(handle.name)


@given(st.lists(common_records | records, max_size=12))
def test_coco_common_records_read_at_once_as_record_by_record(annotations):
    path = write_json({"images": IMAGES, "categories": CATEGORIES, "annotations": annotations})
    try:
        images, categories, parsed, source, owned = coco_import._coco_parts(path, None)
        report = ConversionReport("coco import")
        reading = coco_import.Reading(source, None, owned, coco_import._categories(categories, source, report),
                                       {1: (64, 48), 2: (64, 48)}, report)
        for record in parsed:
            if record is None or not coco_import._is_key(record.image_id):
                continue  # skipped before it is read
            plain = coco_import._plain_record(record, reading)
            if plain is not None:
                careful = ConversionReport("careful")
                assert plain == coco_import._read_one(record, "here", coco_import.Reading(
                    source, None, owned, reading.categories, reading.sizes, careful))
                assert not careful.findings  # nothing a common record could lose
        source_of_tables, _ = coco_source(path)
        assert_tables_as_gathered(source_of_tables)
    finally:
        path.unlink()


# --- YOLO: a box file read at once exactly as line by line ------------------------------------

label_lines = st.one_of(
    st.builds(lambda c, v: " ".join([c, *map(repr, v)]), st.sampled_from(["0", "1", "7", "x"]),
              st.lists(st.floats(-1, 2, allow_nan=False) | st.sampled_from([1e308, float("inf")]), min_size=3,
                       max_size=8)),
    st.sampled_from(["", "   ", "0 a b c d", "1 0.5 0.5 0.2 0.2"]))


box_lines = st.builds(lambda c, v: " ".join([c, *map(repr, v)]), st.sampled_from(["0", "1"]),
                      st.lists(st.floats(0, 1) | st.floats(-1e6, 1e6), min_size=4, max_size=4))


@given(st.lists(box_lines, max_size=10) | st.lists(box_lines | label_lines, max_size=10),
       st.sampled_from(["bbox", "bbox", "segmentation", "obb"]))
def test_yolo_box_files_read_at_once_as_line_by_line(lines, kind):
    classes, size = {"0": "cat", "1": "dog"}, (64, 48)
    tokens = [line.split() for line in lines]
    at_once = yolo_import.box_file_annotations(tokens, size, classes, kind)
    report = ConversionReport("yolo import")
    by_line = yolo_import._line_annotations(tokens, Path("a.txt"), size, classes, kind, report, None,
                                            yolo_import.LabelTally())
    if at_once is not None:
        assert at_once == by_line and not report.findings


# --- the whole conversion: the same files and the same losses, in every mode -------------------

def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def converted(tmp_path: Path, read, source, source_format: str, target: str, jobs: int, **options):
    out = tmp_path / f"{read.__name__}-{target}-{jobs}"
    imported = ConversionReport("import")
    tasks = read(source, source_format, report=imported, **options)
    report = write_tasks(tasks, target, out, jobs=jobs, progress=False)
    findings = [(f.kind, f.count, f.examples) for r in (imported, report) for f in r.findings.values()]
    return tree(out), findings


CONVERSIONS = [(COCO_FILES[0], "coco", "yolo", 1), (COCO_FILES[1], "coco", "coco", 1),
               (COCO_FILES[2], "coco", "pascalvoc", 1), (COCO_FILES[0], "coco", "labelme", 1),
               (COCO_FILES[0], "coco", "fastlabel", 1), (SHARKS, "yolo", "coco", 1), (SHARKS, "yolo", "yolo", 1),
               (COCO_FILES[0], "coco", "coco", 2), (SHARKS, "yolo", "pascalvoc", 2),
               (ROOT / "fixtures/third_party/datumaro_mot/mot_seq_with_seqinfo", "mot", "coco", 1)]


@pytest.mark.parametrize(("source", "source_format", "target", "jobs"), CONVERSIONS,
                         ids=[f"{c[1]}-{c[2]}-jobs{c[3]}" for c in CONVERSIONS])
def test_tables_write_the_same_bytes_and_losses_as_task_dicts(tmp_path, source, source_format, target, jobs):
    files, findings = converted(tmp_path, read_tasks, source, source_format, target, jobs)
    assert files and (files, findings) == converted(tmp_path, read_tables, source, source_format, target, jobs)


def test_a_table_source_is_its_tasks(tmp_path):
    tasks = read_tasks(COCO_FILES[0], "coco")
    source = read_tables(COCO_FILES[0], "coco")
    assert len(source) == len(tasks) and list(source) == tasks and any(source.vouched)


# --- one pass: a run in this process parses each block of a file once ----------------------------

def test_a_file_is_parsed_once_and_written_as_when_parsed_twice(tmp_path, monkeypatch):
    from fastlabel_formats import source as source_module
    from fastlabel_formats import table_readers

    tasks = orjson.loads((ROOT.parent / "examples/sample_project/tasks.json").read_bytes())
    copies = [{**task, "name": f"{copy}/{task['name']}"} for copy in range(40) for task in tasks]
    path = tmp_path / "tasks.json"
    path.write_bytes(orjson.dumps(copies))
    monkeypatch.setattr(source_module, "BLOCK_BYTES", 1 << 14)  # several blocks
    blocks = len(list(source_module.task_source(path).blocks()))
    parses = []
    reader, whole = source_module._BLOCK_READERS["array"], source_module._parsed_whole
    monkeypatch.setitem(source_module._BLOCK_READERS, "array",
                        lambda block, data: parses.append(1) or reader(block, data))

    def parsed_whole(path, limit):  # a file that fits is parsed at once: counted as the parse of all its blocks
        found = whole(path, limit)
        parses.extend([1] * blocks if found is not None else [])
        return found

    monkeypatch.setattr(source_module, "_parsed_whole", parsed_whole)
    outputs = []
    for budget in (table_readers.PARSED_BYTES, path.stat().st_size // 2, 0):  # fits, does not fit, nothing kept
        monkeypatch.setattr(table_readers, "PARSED_BYTES", budget)
        parses.clear()
        reports = [ff.export_coco(path, tmp_path / f"coco-{budget}"), ff.export_yolo(path, tmp_path / f"yolo-{budget}")]
        outputs.append(([tree(tmp_path / f"{name}-{budget}") for name in ("coco", "yolo")],
                        [(f.kind, f.count, f.examples) for r in reports for f in r.findings.values()], len(parses)))
    assert blocks > 2 and outputs[0][:2] == outputs[1][:2] == outputs[2][:2]
    assert [parsed for _, _, parsed in outputs] == [2 * blocks, 4 * blocks, 4 * blocks]  # per export: once, twice
