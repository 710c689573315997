"""A JSON array file small enough to be parsed at once (``TaskSource.blocks(parse_up_to=...)``) gives
the blocks of tasks the scanning reader gives: the same tasks in order, numbered alike, the same
files written from them, and the scanning reader's message for a file that does not parse."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats import source
from fastlabel_formats.errors import FormatError
from fastlabel_formats.source import task_source

TASK = st.builds(lambda number, boxes: {"name": f"img_{number}.jpg", "width": 64, "height": 48, "annotations": [
    {"type": "bbox", "value": value, "points": [x, 1, x + 5, 9.5]} for value, x in boxes]},
    st.integers(0, 10**6), st.lists(st.tuples(st.sampled_from(["cat", "dog"]), st.integers(0, 50)), max_size=5))


def blocks_of(path, parse_up_to: int) -> list[tuple[int, int, list]]:
    return [(block.first_task, block.count, block.tasks()) for block in task_source(str(path)).blocks(parse_up_to)]


@settings(max_examples=40, deadline=None)
@given(st.lists(TASK, min_size=1, max_size=30, unique_by=lambda task: task["name"]), st.sampled_from([1, 7, 100]))
def test_parsed_at_once_gives_the_scanned_tasks(tmp_path_factory, tasks, block_rows) -> None:
    path = tmp_path_factory.mktemp("tasks") / "tasks.json"
    path.write_bytes(orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
    source.BLOCK_ROWS, kept = block_rows, source.BLOCK_ROWS
    try:
        whole, scanned = blocks_of(path, 1 << 30), blocks_of(path, 0)
    finally:
        source.BLOCK_ROWS = kept
    assert [task for _, _, part in whole for task in part] == [task for _, _, part in scanned for task in part] == tasks
    assert [first for first, _, _ in whole] == [sum(count for _, count, _ in whole[:i]) for i in range(len(whole))]
    assert all(count == len(part) for _, count, part in whole)
    assert {block.kind for block in task_source(str(path)).blocks(1 << 30)} == {"list"}


def test_a_larger_file_or_one_that_does_not_parse_is_scanned(tmp_path) -> None:
    path = tmp_path / "tasks.json"
    path.write_bytes(b'[{"name": "a.jpg"},\n{"name": "b.jpg", "annotations": [}]')
    with pytest.raises(FormatError) as scanned:
        blocks_of(path, 0)
    with pytest.raises(FormatError) as whole:
        blocks_of(path, 1 << 30)
    assert str(whole.value) == str(scanned.value) and "task #1" in str(whole.value)
    path.write_bytes(orjson.dumps([{"name": "a.jpg"}, {"name": "b.jpg"}]))
    assert [block.kind for block in task_source(str(path)).blocks(5)] == ["array"]
    assert [block.kind for block in task_source(str(path)).blocks(1 << 20)] == ["list"]
    path.write_bytes(orjson.dumps({"name": "a.jpg"}))  # one task, not an array
    assert [block.kind for block in task_source(str(path)).blocks(1 << 20)] == ["document"]


@pytest.mark.parametrize("export", [ff.export_coco, ff.export_yolo])
def test_a_run_over_the_parsed_file_writes_the_same_bytes(tmp_path, monkeypatch, export) -> None:
    tasks = [{"name": f"{number:03}.jpg", "width": 100, "height": 80, "annotations": [
        {"type": "bbox", "value": "cat", "points": [number, 1.5, number + 10, 20.25]},
        {"type": "polygon", "value": "dog", "points": [1, 2, 30, 4, 5, 60]},
        {"type": "segmentation", "value": "dog", "points": [[[0, 0, 9, 0, 9, 9], [1, 1, 2, 1, 2, 2]]]},
        {"type": "bbox", "value": "cat", "points": [1, 2, 3]}]} for number in range(40)]
    path = tmp_path / "tasks.json"
    path.write_bytes(orjson.dumps(tasks))
    monkeypatch.setattr(source, "BLOCK_ROWS", 50)
    scanned = export(path, tmp_path / "scanned", overwrite=True)
    blocks, kinds = source.TaskSource.blocks, []

    def parsed_at_once(self, parse_up_to=0):
        for block in blocks(self, 1 << 30):
            kinds.append(block.kind)
            yield block

    monkeypatch.setattr(source.TaskSource, "blocks", parsed_at_once)
    whole = export(path, tmp_path / "whole", overwrite=True)
    assert set(kinds) == {"list"} and len(kinds) > 1
    assert whole.findings == scanned.findings and whole.findings
    files = sorted(p.relative_to(tmp_path / "scanned") for p in (tmp_path / "scanned").rglob("*") if p.is_file())
    assert files and all((tmp_path / "whole" / f).read_bytes() == (tmp_path / "scanned" / f).read_bytes()
                         for f in files)


def test_a_path_with_a_nul_byte_fails_as_when_scanned(tmp_path) -> None:
    path = f"{tmp_path}/tas\x00ks.json"
    with pytest.raises(Exception) as scanned:
        blocks_of(path, 0)
    with pytest.raises(Exception) as whole:
        blocks_of(path, 1 << 30)
    assert (type(whole.value), str(whole.value)) == (type(scanned.value), str(scanned.value))
