"""The engine's protocol: targets encode chunk tables and assemble parts; the engine owns the order,
the record ids (numbered on in this process, counted in pass 1 and allotted per block elsewhere) and
the ``to_*`` functions' runs."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import orjson
import pytest
from conftest import ann, task
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlabel_formats.source as source_module
import fastlabel_formats.table as table_module
from fastlabel_formats import export_coco, export_yolo, to_coco, to_yolo
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import Ids, RunOptions, Target, export_alone, kept_parts, run_export, write_text_file

HOOKS = {"check_task", "survey", "record_count", "prepare", "plan", "encode", "assemble", "finish", "abort"}
HELPERS = {"write_into", "output"}  # the output folder's, used by the staging of a run


class Numbering(Target):
    """A tiny numbered target: one id per annotation, ``ids.txt`` lines ``id task value``."""

    name = "numbering"
    numbered = True

    def __init__(self, output_dir) -> None:
        super().__init__(output_dir)
        self.lines: list[str] = []

    def __getstate__(self) -> dict:
        return {**self.__dict__, "lines": []}  # the parent's

    def record_count(self, table) -> int:
        return len(table)

    def encode(self, table, plan, report, ids=None) -> list[str]:
        first = ids.take(len(table))
        return [f"{first + row} {table.frames[frame].name} {annotation.get('value')}"
                for row, (frame, annotation) in enumerate(zip(table.frame.tolist(), table.annotations))]

    def assemble(self, parts, report) -> None:
        for lines in parts:
            self.lines += lines

    def finish(self, report) -> None:
        report.files.append(write_text_file(self.output("ids.txt", "ids.txt"), self.lines))


class Uncounted(Numbering):
    """Fails if the engine counts its records in pass 1."""

    def record_count(self, table) -> int:
        raise AssertionError("counted in pass 1")


def project(sizes: list[int]) -> list[dict]:
    return [task(f"t{number}.jpg", 100, 80, *[ann("bbox", f"v{k % 3}", [k, k, k + 5, k + 6]) for k in range(size)])
            for number, size in enumerate(sizes)]


def expected_lines(tasks: list[dict]) -> list[str]:
    rows = [(t["name"], a["value"]) for t in tasks for a in t["annotations"]]
    return [f"{number} {name} {value}" for number, (name, value) in enumerate(rows, 1)]


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(source_module, "BLOCK_ROWS", 7)  # many blocks (cut in the parent)
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 3)  # several chunks per block in this process


def test_a_numbered_target_gets_the_same_ids_in_process_and_with_two_jobs(tmp_path, small_blocks):
    tasks = project([3, 0, 5, 1, 8, 2, 0, 4, 6, 1])
    export_alone(tasks, Numbering(tmp_path / "one"))
    export_alone(tasks, Numbering(tmp_path / "two"), jobs=2)
    one = (tmp_path / "one" / "ids.txt").read_text().splitlines()
    assert one == expected_lines(tasks)
    assert (tmp_path / "two" / "ids.txt").read_text().splitlines() == one


def test_a_run_in_this_process_counts_no_records_in_pass_one(tmp_path, small_blocks):
    tasks = project([4, 2, 7, 3])
    export_alone(tasks, Uncounted(tmp_path / "out"))
    assert (tmp_path / "out" / "ids.txt").read_text().splitlines() == expected_lines(tasks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.integers(1, 9))
def test_ids_run_on_across_chunks_and_blocks(monkeypatch, sizes, chunk_rows):
    monkeypatch.setattr(table_module, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(source_module, "BLOCK_ROWS", chunk_rows + 2)
    tasks = project(sizes)
    target = Numbering(".")
    lines = kept_parts(tasks, target, target.encode, ConversionReport("n"))
    assert [line for part in lines for line in part] == expected_lines(tasks)


def test_the_engine_numbers_a_block_from_the_counts_before_it(small_blocks):
    from fastlabel_formats.categories import Census
    from fastlabel_formats.run import BlockSurvey, _build_items, run_plan

    target = Numbering(".")
    run = run_plan("tasks", [target], [ConversionReport("n")], "image_bbox", None, None)
    surveys = [BlockSurvey(Census("tasks"), 1, [None], records=[count]) for count in (3, 0, 5, 2)]
    spread = [item[3][0].next for item in _build_items([None] * 4, surveys, [target], replace_in_process(run, False))]
    assert spread == [1, 4, 4, 9]
    here = [item[3][0] for item in _build_items([None] * 4, surveys, [target], run)]
    assert all(ids is here[0] for ids in here)  # one counter, numbered on as blocks are built


def replace_in_process(run, in_process: bool):
    from dataclasses import replace

    return replace(run, in_process=in_process)


def test_ids_take_consecutive_ranges():
    ids = Ids(5)
    assert (ids.take(3), ids.take(0), ids.take(2), ids.next) == (5, 8, 8, 10)


def test_the_target_base_class_keeps_only_its_hooks():
    public = {name for name, value in vars(Target).items() if callable(value) and not name.startswith("_")}
    assert public == HOOKS | HELPERS
    assert not hasattr(Target, "in_order")


def all_targets() -> list[type]:
    import importlib
    import pkgutil

    import fastlabel_formats

    for module in pkgutil.walk_packages(fastlabel_formats.__path__, "fastlabel_formats."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], [Target]
    while todo:
        found.append(todo.pop())
        todo += found[-1].__subclasses__()
    return [cls for cls in found if cls.__module__.startswith("fastlabel_formats")]


def test_no_target_grows_the_old_hooks_or_an_id_counter():
    targets = all_targets()
    assert len(targets) >= 10
    for cls in targets:
        own = vars(cls)
        assert not {"build", "block_result", "collect", "in_order"} & set(own), cls
        assert "next_id" not in inspect.getsource(cls), cls


def test_a_coco_target_keeps_no_counter_after_a_run(tmp_path):
    from fastlabel_formats.coco import CocoTarget

    target = CocoTarget(tmp_path / "out")
    export_alone(project([2, 3]), target)
    assert not [name for name, value in vars(target).items() if isinstance(value, (int, Ids))
                and not isinstance(value, bool) and name != "indent"]


def coco_tasks() -> st.SearchStrategy:
    box = st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 30), st.integers(1, 30)).map(
        lambda b: ann("bbox", "ab"[b[0] % 2], [b[0], b[1], b[0] + b[2], b[1] + b[3]]))
    polygon = st.integers(0, 40).map(lambda x: ann("polygon", "c", [x, 0, x + 9, 1.5, x + 4, 7]))
    annotations = st.lists(st.one_of(box, polygon), max_size=5)
    return st.lists(annotations, min_size=1, max_size=8).map(
        lambda tasks: [task(f"img{n}.jpg", 64, 48, *anns) for n, anns in enumerate(tasks)])


def exported(export, tasks, tmp_path_factory, monkeypatch, chunk_rows):
    """A new folder holding ``export(tasks)`` made in chunks of ``chunk_rows`` annotations."""
    monkeypatch.setattr(table_module, "CHUNK_ROWS", chunk_rows)
    folder = tmp_path_factory.mktemp("export")
    export(tasks, folder)
    return folder


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(coco_tasks(), st.integers(1, 6))
def test_to_coco_equals_the_assembled_export_file(tmp_path_factory, monkeypatch, tasks, chunk_rows):
    folder = exported(export_coco, tasks, tmp_path_factory, monkeypatch, chunk_rows)
    assert to_coco(tasks) == orjson.loads((folder / "annotations.json").read_bytes())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(coco_tasks(), st.integers(1, 6))
def test_to_yolo_equals_the_written_label_files(tmp_path_factory, monkeypatch, tasks, chunk_rows):
    folder = exported(export_yolo, tasks, tmp_path_factory, monkeypatch, chunk_rows)
    labels, names = to_yolo(tasks)
    written = {path.name: path.read_text().splitlines() for path in (folder / "annotations").glob("*.txt")}
    assert {Path(name).stem + ".txt": lines for name, lines in labels} == written
    assert names == (folder / "classes.txt").read_text().splitlines()


def test_to_coco_of_an_empty_input_is_empty_and_export_refuses_it(tmp_path):
    assert to_coco([]) == {"images": [], "categories": [], "annotations": []}
    with pytest.raises(Exception, match="holds no tasks"):
        export_coco([], tmp_path / "out")


def test_to_coco_numbers_records_in_a_second_run_from_one_again():
    tasks = project([2, 1])
    assert [r["id"] for r in to_coco(tasks)["annotations"]] == [1, 2, 3]
    assert [r["id"] for r in to_coco(tasks)["annotations"]] == [1, 2, 3]


def test_run_export_of_two_numbered_targets_numbers_each_on_its_own(tmp_path, small_blocks):
    tasks = project([3, 2, 4])
    targets = [Numbering(tmp_path / "a"), Numbering(tmp_path / "b")]
    run_export(tasks, targets, [ConversionReport("a"), ConversionReport("b")], RunOptions(jobs=2))
    assert (tmp_path / "a" / "ids.txt").read_text() == (tmp_path / "b" / "ids.txt").read_text()
    assert (tmp_path / "a" / "ids.txt").read_text().splitlines() == expected_lines(tasks)


NAMED_TASKS = [task("a.jpg", 100, 80, ann("bbox", "car", [1, 2, 30, 40]),
                    ann("classification", "weather", attributes=[]))]


@pytest.mark.parametrize("convert", [to_coco, lambda tasks, report: to_yolo(tasks, report=report)])
def test_a_callers_report_names_its_own_target_in_the_losses(convert):
    report = ConversionReport("mine")
    convert(NAMED_TASKS, report=report)
    assert list(report.findings) == ["classification annotation not representable in mine"]


def test_evaluate_names_the_ground_truth_losses_with_its_own_report():
    from fastlabel_formats.evaluation import evaluate

    predictions = [task("a.jpg", 100, 80, ann("bbox", "car", [1, 2, 30, 40],
                                              attributes=[{"key": "score", "value": 0.9}]))]
    result = evaluate(NAMED_TASKS, predictions)
    assert list(result.report.findings) == ["ground truth: classification annotation not representable in COCO"]


def test_an_in_place_run_removes_the_part_folders_of_a_killed_run_only(tmp_path):
    """A run whose parent was killed while its workers spooled COCO parts leaves its parts folder
    beside the output; the next run (holding the folder's lock) removes it once its process is gone,
    and keeps one whose process still runs, as it does the atomic writers' temporaries."""
    import subprocess
    import sys

    from fastlabel_formats.files import PARTS_FOLDER_NAME, parts_folder_name

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out = tmp_path / "out"
    left, running = (out / name.replace(f"-{os.getpid()}-", f"-{pid}-", 1)
                     for name, pid in ((parts_folder_name("annotations.json"), int(gone.stdout)),
                                       (parts_folder_name("annotations.json"), os.getppid())))
    for folder in (left, running):
        folder.mkdir(parents=True)
        (folder / "0123456789abcdef0123456789abcdef.part").write_bytes(b'{"id":1}')
    assert PARTS_FOLDER_NAME.fullmatch(left.name) and PARTS_FOLDER_NAME.fullmatch(running.name)
    export_coco(NAMED_TASKS, out)
    assert sorted(path.name for path in out.iterdir()) == sorted(["annotations.json", running.name])
