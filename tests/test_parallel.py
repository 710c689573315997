"""``jobs=2``: the same files as ``jobs=1``, the same report counts, errors raised in the caller."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ann, task

import fastlabel_formats.table as table_module
from fastlabel_formats import FormatError, export_coco, export_labelme, export_pascalvoc, export_yolo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic import make_tasks  # noqa: E402

EXPORTERS = [export_coco, export_yolo, export_pascalvoc, export_labelme]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("export", EXPORTERS)
def test_two_jobs_write_the_same_files(tmp_path, monkeypatch, export):
    tasks = make_tasks(40, 12, seed=3)
    tasks[5]["annotations"].append(ann("circle", "c", [1, 1, 2]))
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 50)  # about 10 chunks
    one = export(tasks, tmp_path / "one")
    two = export(tasks, tmp_path / "two", jobs=2)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert {k: f.count for k, f in one.findings.items()} == {k: f.count for k, f in two.findings.items()}
    assert sorted(one.files) != [] and len(one.files) == len(two.files)


def test_a_worker_error_is_raised_in_the_caller(tmp_path, monkeypatch):
    tasks = [task(f"t{i}.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5])) for i in range(12)]
    tasks[9]["annotations"].append(ann("circle", "c", [1, 1, 2]))
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 2)
    for export in (export_coco, export_yolo, export_pascalvoc):  # labelme writes circles
        with pytest.raises(FormatError, match=r"task 't9.jpg' annotation #1 \(circle\)"):
            export(tasks, tmp_path / export.__name__, jobs=2, strict=True)


def test_bulk_results_are_promoted_to_the_oldest_generation_small_calls_are_not():
    import gc

    from fastlabel_formats.runtime import PROMOTE_AFTER, gc_paused

    @gc_paused
    def build(count: int) -> list:
        return [[number] for number in range(count)]

    assert gc.isenabled()
    gc.collect()
    small = build(10)
    assert gc.get_count()[0] >= 10 and gc.isenabled()
    big = build(PROMOTE_AFTER + 1)
    assert gc.get_count()[0] < 100 and gc.isenabled()  # moved, not left for a young collection
    assert any(item is big for item in gc.get_objects(generation=2))
    assert len(small) == 10 and gc.get_freeze_count() == 0
