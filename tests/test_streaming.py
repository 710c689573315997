"""Every input kind (task list, JSON array, JSON Lines, a folder of pages, any iterable) and every
mode (in-process, spawned workers) writes the same bytes for every target; bad streamed input is
named like bad in-memory input, and a cut-off array writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import fastlabel_formats.source as source_module
import fastlabel_formats.table as table_module
from fastlabel_formats import FormatError, export_coco, export_image_with_annotations, export_yolo, to_coco
from fastlabel_formats.source import element_cut, task_source, top_level_ends
from fastlabel_formats.targets import TargetOptions, export_targets

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_project"
TARGET_RUNS = {  # one pass of several targets, and the options that change their bytes
    "plain": (("coco", "yolo", "voc", "labelme", "semantic", "instance"), TargetOptions()),
    "rle+indent": (("coco", "labelme"), TargetOptions(holes="rle", indent=4)),
    "segmentation+obb": (("yolo",), TargetOptions(project_type="image_segmentation", obb=True)),
    "classes": (("yolo", "semantic"), TargetOptions(classes=("car", "dog", "sign", "person", "lake", "roof",
                                                             "donut", "cat", "road"))),
}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_inputs(tasks: list[dict], folder: Path) -> dict[str, object]:
    """The same tasks as every kind of input."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tasks.json").write_bytes(json.dumps(tasks, indent=1).encode())
    (folder / "tasks.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in tasks))
    pages = folder / "pages"
    pages.mkdir()
    for number in range(0, max(len(tasks), 1), 3):
        page = tasks[number:number + 3]
        suffix = ".jsonl" if number % 2 else ".json"
        body = b"".join(orjson.dumps(t) + b"\n" for t in page) if suffix == ".jsonl" else orjson.dumps(page)
        (pages / f"page-{number:04d}{suffix}").write_bytes(body)
    return {"list": tasks, "array": folder / "tasks.json", "jsonl": str(folder / "tasks.jsonl"), "pages": pages,
            "iterable": (t for t in tasks)}


def export_all(tasks: object, out: Path, run: str, jobs: int = 1) -> dict[str, bytes]:
    names, options = TARGET_RUNS[run]
    reports = export_targets(tasks, {name: out / name for name in names}, options, jobs=jobs)
    written = tree(out)
    assert sorted(written) == sorted(str(p.relative_to(out)) for r in reports.values() for p in r.files)
    return written


@pytest.fixture
def small_blocks(monkeypatch):
    """Make the JSON array reader cut files of a few KB into many blocks."""
    monkeypatch.setattr(source_module, "BLOCK_BYTES", 512)
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 7)


@pytest.mark.parametrize("run", list(TARGET_RUNS))
def test_every_input_kind_writes_the_same_bytes_on_the_sample_project(tmp_path, small_blocks, run):
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes())
    expected = export_all(tasks, tmp_path / "expected", run)
    for kind, source in write_inputs(tasks, tmp_path / "inputs").items():
        assert export_all(source, tmp_path / kind, run) == expected, kind


def test_spawned_workers_write_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 5)  # read in the parent only: chunks are cut there
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes()) * 3
    tasks = [{**t, "name": f"{n}/{t['name']}"} for n, t in enumerate(tasks)]
    tasks.append(task("empty.jpg", 10, 10))
    for run in ("plain", "rle+indent"):
        expected = export_all(tasks, tmp_path / f"one-{run}", run)
        assert export_all(tasks, tmp_path / f"two-{run}", run, jobs=2) == expected


def test_drawn_images_are_the_same_from_every_input_kind(tmp_path, small_blocks):
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes())
    export_image_with_annotations(tasks, SAMPLE / "images", tmp_path / "expected")
    expected = tree(tmp_path / "expected")
    assert len(expected) == len(tasks)
    for kind, source in write_inputs(tasks, tmp_path / "inputs").items():
        export_image_with_annotations(source, SAMPLE / "images", tmp_path / kind)
        assert tree(tmp_path / kind) == expected, kind


coordinate = st.integers(0, 60)
shape = st.one_of(
    st.tuples(coordinate, coordinate, coordinate, coordinate).map(lambda p: ann("bbox", "box", list(p))),
    st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=6).map(
        lambda vs: ann("polygon", "poly", [c for v in vs for c in v])),
    st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=5).map(
        lambda vs: ann("segmentation", "seg", [[[c for v in vs + vs[:1] for c in v]]])),
    st.just(ann("classification", "cls")),
)
projects = st.lists(st.lists(shape, max_size=5), min_size=1, max_size=8).map(
    lambda per_task: [task(f"t{n}.jpg", 64, 48, *annotations) for n, annotations in enumerate(per_task)])


@settings(max_examples=25)
@given(projects, st.integers(1, 9))
def test_generated_projects_write_the_same_bytes_from_every_input_kind(tmp_path_factory, tasks, chunk_rows):
    folder = tmp_path_factory.mktemp("generated")
    original = table_module.CHUNK_ROWS, source_module.BLOCK_BYTES
    table_module.CHUNK_ROWS, source_module.BLOCK_BYTES = chunk_rows, 256
    try:
        expected = export_all(tasks, folder / "expected", "plain")
        for kind, source in write_inputs(tasks, folder / "inputs").items():
            assert export_all(source, folder / kind, "plain") == expected, kind
    finally:
        table_module.CHUNK_ROWS, source_module.BLOCK_BYTES = original


def video_tasks() -> list[dict]:
    track = {str(k): {"value": [k, k, k + 10, k + 8], "autogenerated": False} for k in (1, 3, 4, 9)}
    return [task("v/a.mp4", 64, 48, ann("bbox", "car", track)), task("v/empty.mp4", 64, 48),
            task("v/b.mp4", 64, 48, ann("bbox", "dog", {"2": {"value": [0, 0, 5, 5]}}))]


def test_video_projects_stream_and_spawn_alike(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 3)  # a video's frames span several tables
    counts = {"v/a.mp4": 10, "v/empty.mp4": 2, "v/b.mp4": 3}
    tasks = video_tasks()
    options = TargetOptions(project_type="video_bbox")
    outputs = []
    for number, (source, jobs) in enumerate([(tasks, 1), (iter(tasks), 1), (tasks, 2)]):
        export_targets(source, {n: tmp_path / str(number) / n for n in ("coco", "yolo", "voc")}, options,
                       frame_counts=counts, jobs=jobs)
        outputs.append(tree(tmp_path / str(number)))
    assert outputs[0] == outputs[1] == outputs[2]
    coco = json.loads(outputs[0]["coco/annotations.json"])
    assert [i["id"] for i in coco["images"]] == list(range(1, 16))
    assert [(a["id"], a["image_id"]) for a in coco["annotations"]] == [(1, 1), (2, 3), (3, 4), (4, 9), (5, 14)]


def test_to_coco_takes_any_iterable_and_a_client_style_pager():
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes())

    def pages():  # what iter_image_tasks yields: task dicts, a page at a time
        for start in range(0, len(tasks), 4):
            yield from tasks[start:start + 4]

    assert to_coco(pages()) == to_coco(tasks)


def test_a_bad_task_in_a_stream_is_named_like_in_a_list(tmp_path, small_blocks):
    tasks = [task(f"t{n}.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5])) for n in range(40)]
    tasks[33]["annotations"].append(ann("bbox", "a", [1, 2, 3]))
    with pytest.raises(FormatError) as in_memory:
        export_coco(tasks, tmp_path / "list", strict=True)
    listed = str(in_memory.value).splitlines()[1]
    assert listed.endswith("tasks: task 't33.jpg' annotation #1 (bbox): expected 4 coordinates, got 3")
    lenient = export_coco(tasks, tmp_path / "list").findings["malformed annotation skipped"].examples
    again = write_inputs(tasks, tmp_path / "again")  # a one-shot iterable is used up by one run
    for kind, source in write_inputs(tasks, tmp_path / "inputs").items():
        with pytest.raises(FormatError) as streamed:
            export_coco(source, tmp_path / kind, strict=True)
        assert str(streamed.value).splitlines()[1].split(": ", 1)[1] == listed.split(": ", 1)[1], kind
        examples = export_coco(again[kind], tmp_path / kind).findings["malformed annotation skipped"].examples
        assert [e.split(": ", 1)[1] for e in examples] == [e.split(": ", 1)[1] for e in lenient], kind


def test_a_cut_off_array_says_where_it_ends_and_writes_nothing(tmp_path, small_blocks):
    tasks = [task(f"t{n}.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5])) for n in range(60)]
    data = json.dumps(tasks).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(data[:len(data) * 2 // 3])
    for export in (export_coco, export_yolo):
        with pytest.raises(FormatError, match=r"cut\.json: not valid JSON: the array is cut off after task #\d+"):
            export(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_malformed_json_in_a_large_array_names_the_task_and_line(tmp_path, small_blocks):
    tasks = [task(f"t{n}.jpg", 10, 10) for n in range(50)]
    lines = json.dumps(tasks, indent=1).splitlines()
    bad_line = next(n for n, line in enumerate(lines) if '"t41.jpg"' in line)
    lines[bad_line] = lines[bad_line].replace('"t41.jpg"', '"t41.jpg" oops')
    path = tmp_path / "bad.json"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=rf"bad\.json: task #41: not valid JSON: .*\(line {bad_line + 1} column"):
        export_coco(path, tmp_path / "out")
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"name": "a"}\n\n{"name": "b",}\n')
    with pytest.raises(FormatError, match=r"bad\.jsonl: line 3: not valid JSON"):
        list(task_source(str(jsonl)))


@given(st.lists(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet='ab"\\[]{},: \n')),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(alphabet='k"\\]}'),
                                                                               children, max_size=3)),
    max_leaves=8), max_size=6), st.integers(0, 2))
def test_element_boundaries_are_found_outside_strings(elements, indent):
    containers = [e if isinstance(e, (list, dict)) else [e] for e in elements]
    text = json.dumps(containers, indent=indent or None).encode()
    inside = text[text.index(b"[") + 1:]
    cut, ended, count = element_cut(inside)
    assert ended and cut == inside.rindex(b"]") and count == len(containers)
    ends = top_level_ends(inside[:cut]).tolist()
    starts = [0, *ends]
    parsed = [json.loads(inside[a:b].lstrip().lstrip(b",")) for a, b in zip(starts, ends)]
    assert parsed == containers


def test_element_boundaries_past_255_quotes():
    """The quote parity is counted in a wrapping byte: more than 255 quotes still pair up."""
    containers = [{"names": [f"x]{i}}}" for i in range(200)], "end": "[{"} for _ in range(3)]
    inside = json.dumps(containers).encode()[1:]
    cut, ended, count = element_cut(inside)
    assert ended and count == 3 and cut == len(inside) - 1
    assert [json.loads(inside[:end]) for end in top_level_ends(inside[:cut]).tolist()[:1]] == containers[:1]


def test_remote_paths_need_fsspec_or_read_through_it(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes())
    with fsspec.open("memory://project/tasks.jsonl", "wb") as stream:
        stream.write(b"".join(orjson.dumps(t) + b"\n" for t in tasks))
    assert to_coco("memory://project/tasks.jsonl") == to_coco(tasks)


def test_images_of_drawn_tasks_without_files_are_reported(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 8)).save(images / "a.png")
    report = export_image_with_annotations([task("a.png", 8, 8), task("gone.png", 8, 8), task("a.png", 8, 8)],
                                           images, tmp_path / "out")
    assert report.findings["task without an image file, not drawn"].count == 1
    assert report.findings["task name given twice, only the first drawn"].count == 1


def test_a_dask_local_cluster_writes_the_same_bytes(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 5)
    monkeypatch.setattr(source_module, "BLOCK_ROWS", 12)  # several blocks for two workers
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes()) * 4
    tasks = [{**t, "name": f"{n}/{t['name']}"} for n, t in enumerate(tasks)]
    inputs = write_inputs(tasks, tmp_path / "inputs")
    expected = export_all(tasks, tmp_path / "expected", "plain")
    names, options = TARGET_RUNS["plain"]
    for kind in ("list", "jsonl"):
        reports = export_targets(inputs[kind], {n: tmp_path / kind / n for n in names}, options, jobs=2,
                                 scheduler="local")
        assert tree(tmp_path / kind) == expected, kind
        assert reports["coco"].findings.keys() == {"line annotation not representable in coco",
                                                   "keypoint annotation not representable in coco",
                                                   "classification annotation not representable in coco",
                                                   "segmentation holes dropped (use holes='rle')"}


def test_fsspec_memory_paths_in_and_out():
    fsspec = pytest.importorskip("fsspec")
    tasks = orjson.loads((SAMPLE / "tasks.json").read_bytes())
    with fsspec.open("memory://in/tasks.json", "wb") as stream:
        stream.write(orjson.dumps(tasks))
    reports = export_targets("memory://in/tasks.json", {"coco": "memory://out/coco", "yolo": "memory://out/yolo"})
    memory = fsspec.filesystem("memory")
    assert memory.cat("memory://out/coco/annotations.json") == orjson.dumps(to_coco(tasks))
    labels = sorted(p for p in memory.find("memory://out/yolo") if p.endswith(".txt"))
    assert len(labels) == len(tasks) + 1 and reports["yolo"].files  # one per task, and classes.txt


def test_without_the_dask_extra_the_scheduler_option_says_what_to_install(tmp_path, monkeypatch, capsys):
    import sys

    from fastlabel_formats.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    code = main(["export", str(SAMPLE / "tasks.json"), "--to", "coco", "-o", str(tmp_path), "--scheduler", "local"])
    assert code == 2
    assert "pip install 'fastlabel-formats[dask]'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def spawn_pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client


def test_an_empty_project_is_an_error_from_every_input_kind(tmp_path):
    for kind, source in {"list": [], **write_inputs([], tmp_path / "inputs")}.items():
        with pytest.raises(FormatError, match="holds no tasks; nothing written"):
            export_targets(source, {"coco": tmp_path / kind / "coco"}, TargetOptions(), overwrite=True)
        assert not (tmp_path / kind).exists(), kind


track = st.dictionaries(st.integers(1, 6).map(str), st.tuples(coordinate, coordinate).map(
    lambda p: {"value": [p[0], p[1], p[0] + 9, p[1] + 7]}), max_size=4)
video_projects = st.lists(st.lists(track.map(lambda points: ann("bbox", "car", points)), max_size=3), min_size=1,
                          max_size=4).map(
    lambda per_task: [task(f"v/{n}.mp4", 64, 48, *annotations) for n, annotations in enumerate(per_task)])


@settings(max_examples=15)
@given(projects, video_projects, st.integers(1, 9))
def test_generated_projects_write_the_same_bytes_in_every_mode(tmp_path_factory, spawn_pool, dask_client,
                                                                images, videos, chunk_rows):
    folder = tmp_path_factory.mktemp("modes")
    runs = {"image": (images, ("coco", "yolo", "voc", "labelme", "semantic", "instance"), TargetOptions(), None),
            "video": (videos, ("coco", "yolo", "voc"), TargetOptions(project_type="video_bbox"),
                      {t["name"]: 6 for t in videos})}
    original = table_module.CHUNK_ROWS, source_module.BLOCK_ROWS
    table_module.CHUNK_ROWS, source_module.BLOCK_ROWS = chunk_rows, 4 * chunk_rows  # the parent cuts blocks
    try:
        for name, (tasks, targets, options, counts) in runs.items():
            outputs = []
            for mode, scheduler in (("one", None), ("pool", spawn_pool), ("dask", dask_client)):
                out = folder / name / mode
                export_targets(tasks, {t: out / t for t in targets}, options, frame_counts=counts,
                               scheduler=scheduler)
                outputs.append(tree(out))
            assert outputs[0] == outputs[1] == outputs[2], name
    finally:
        table_module.CHUNK_ROWS, source_module.BLOCK_ROWS = original


def test_a_failing_parallel_coco_export_leaves_no_part_files(tmp_path, monkeypatch):
    monkeypatch.setattr(source_module, "BLOCK_ROWS", 6)
    tasks = [task(f"t{n}.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5])) for n in range(30)]
    tasks[25]["annotations"].append(ann("circle", "c", [1, 1, 2]))
    with pytest.raises(FormatError, match=r"task 't25.jpg' annotation #1 \(circle\)"):
        export_coco(tasks, tmp_path / "out", jobs=2, strict=True)
    assert not [p for p in (tmp_path / "out").rglob("*") if ".parts-" in str(p)]


def test_malformed_annotations_keep_coco_ids_identical_in_every_mode(tmp_path, small_blocks):
    """Pass 1 counts each block's records from the same table pass 2 builds (malformed annotations
    left out of both), so blocks built anywhere number alike."""
    tasks = [task(f"t{n}.jpg", 10, 10, ann("bbox", "a", [0, 0, 5, 5]), ann("polygon", "b", [0, 0, 4, 0, 4, 4]))
             for n in range(40)]
    for n in (3, 17, 18, 33):
        tasks[n]["annotations"].insert(1, ann("bbox", "a", [1, 2, 3]))
    tasks[20]["annotations"].append({"type": "polygon", "value": "b", "points": [0, 0, "x", 1, 2, 2]})
    outputs = {}
    for jobs in (1, 2):
        report = export_coco(tasks, tmp_path / f"jobs{jobs}", jobs=jobs)
        assert report.findings["malformed annotation skipped"].count == 5
        outputs[jobs] = (tmp_path / f"jobs{jobs}" / "annotations.json").read_bytes()
    assert outputs[1] == outputs[2]
    ids = [a["id"] for a in orjson.loads(outputs[1])["annotations"]]
    assert ids == list(range(1, 81))
    assert [a["id"] for a in to_coco(tasks)["annotations"]] == ids
