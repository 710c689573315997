"""A Dask cluster of the caller's (a ``dask scheduler`` and ``dask worker`` processes started from
other folders, as on other machines) and object stores: the same bytes as an in-process run, paths
every worker can reach, connect checks, abort that stops the workers, staging in the store."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastlabel_formats import FormatError
from fastlabel_formats.cli import main
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import RunOptions, run_export
from fastlabel_formats.targets import TargetOptions, make_target

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from synthetic import make_tasks  # noqa: E402

TARGET_LIST = "coco,yolo,voc,labelme"
BASE_TASKS = make_tasks(50, 3, seed=7)
STARTUP = 60.0  # seconds for a scheduler or worker process to come up on a loaded machine


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def export(tasks: object, folders: dict, **run) -> dict[str, ConversionReport]:
    """Every target of ``{name: folder}`` written by one run (``run``: run_export's keywords)."""
    targets = [make_target(name, folder, TargetOptions()) for name, folder in folders.items()]
    reports = [ConversionReport(target.name) for target in targets]
    run_export(tasks, targets, reports, RunOptions(**run))
    return dict(zip(folders, reports))


def _dask_process(kind: str, arguments: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", f"distributed.cli.dask_{kind}", *arguments]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Cluster:
    """A scheduler on 127.0.0.1 and its workers, each a process started in a folder of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.workers = folder, []
        scheduler_file = folder / "scheduler.json"
        self.scheduler = _dask_process("scheduler", ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                                     "--scheduler-file", str(scheduler_file)], folder / "scheduler")
        deadline = time.monotonic() + STARTUP
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]

    def add_worker(self, name: str, env: dict | None = None) -> subprocess.Popen:
        worker = _dask_process("worker", [self.address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                          "--no-dashboard", "--name", name], self.folder / name, env)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=f"{STARTUP}s") as client:
            client.wait_for_workers(count, timeout=STARTUP)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("distributed", reason="needs the dask extra")
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.add_worker("w1")
        running.add_worker("w2")
        running.wait_for_workers(2)
        yield running
    finally:
        running.close()


@pytest.fixture()
def lonely(tmp_path):
    """A scheduler without workers (each test adds what it needs)."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    running = Cluster(tmp_path / "lonely")
    yield running
    running.close()


@pytest.fixture()
def tasks_file(tmp_path, monkeypatch) -> Path:
    import fastlabel_formats.source as source

    monkeypatch.setattr(source, "BLOCK_BYTES", 64 << 10)  # the client cuts several blocks
    path = tmp_path / "in" / "tasks.json"
    path.parent.mkdir()
    path.write_bytes(json.dumps(make_tasks(120, 8, seed=5)).encode())
    return path


def test_absolute_shared_paths_give_the_in_process_bytes(cluster, tasks_file, tmp_path):
    assert main(["export", str(tasks_file), "--to", TARGET_LIST, "-o", str(tmp_path / "here"), "-q"]) == 0
    assert main(["export", str(tasks_file), "--to", TARGET_LIST, "-o", str(tmp_path / "there"), "-q",
                 "--scheduler", cluster.address]) == 0
    expected = tree(tmp_path / "here")
    assert len(expected) > 300 and tree(tmp_path / "there") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "in", "there"]  # no staging, no marker left
    for worker in ("w1", "w2"):  # nothing landed in the workers' own folders
        assert not [p for p in (cluster.folder / worker).rglob("*") if p.suffix in (".txt", ".json", ".xml")]


def test_relative_paths_are_refused_before_anything_is_written(cluster, tasks_file, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(tasks_file), "--to", "yolo", "-o", "out", "--scheduler", cluster.address]) == 2
    assert "out/yolo: a relative path; with a Dask cluster" in capsys.readouterr().err
    assert main(["export", "in/tasks.json", "--to", "yolo", "-o", str(tmp_path / "out"),
                 "--scheduler", cluster.address]) == 2
    assert "in/tasks.json: a relative path" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_path_the_workers_cannot_see_is_refused(cluster, tasks_file, tmp_path, monkeypatch):
    from fastlabel_formats import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "_missing", lambda paths: list(paths))  # as if on their own disks
    with pytest.raises(FormatError, match=r"not visible to the Dask workers tcp://127\.0\.0\.1:\d+, tcp://"):
        export(str(tasks_file), {"yolo": tmp_path / "out"}, scheduler=cluster.address, overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_scheduler_without_workers_is_an_error_within_the_timeout(lonely, tasks_file, tmp_path, monkeypatch,
                                                                     capsys):
    from fastlabel_formats import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 2.0)
    assert main(["export", str(tasks_file), "--to", "yolo", "-o", str(tmp_path / "out"),
                 "--scheduler", lonely.address]) == 2
    assert f"the Dask scheduler at {lonely.address} has no worker (waited 2 s)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_worker_without_the_package_is_an_error_naming_it(lonely, tasks_file, tmp_path, capsys):
    poison = tmp_path / "poison" / "fastlabel_formats"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'fastlabel_formats'\")\n")
    lonely.add_worker("bare", env={**os.environ, "PYTHONPATH": str(poison.parent)})
    lonely.wait_for_workers(1)
    assert main(["export", str(tasks_file), "--to", "yolo", "-o", str(tmp_path / "out"),
                 "--scheduler", lonely.address]) == 2
    error = capsys.readouterr().err
    assert "cannot run this export" in error and "fastlabel_formats is not importable" in error
    assert "tcp://127.0.0.1:" in error and not (tmp_path / "out").exists()


def _files_under(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")}


def _client(arguments: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fastlabel_formats", *arguments], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds: float = STARTUP) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _many_tasks(path: Path, count: int, first_name: str | None = None) -> Path:
    """A tasks file of ``count`` tasks: BASE_TASKS repeated under the names img<number>.jpg."""
    tasks = [{**BASE_TASKS[number % len(BASE_TASKS)], "name": f"img{number:06d}.jpg"} for number in range(count)]
    if first_name:
        tasks[0]["name"] = first_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(tasks).encode())
    return path


def _writing(process: subprocess.Popen, folder: Path) -> bool:
    """Wait until the run of ``process`` has written some files into the staging folder of
    ``folder``; False when it ended first."""
    written = lambda: len(list(folder.glob(".yolo.new-*/annotations/*"))) > 50  # noqa: E731
    _wait_for(lambda: process.poll() is not None or written())
    if process.poll() is not None:
        assert process.returncode == 0, process.stderr.read()  # it ended: it must have succeeded
        return False
    return written()


def test_ctrl_c_and_a_failing_target_leave_no_staging_and_no_late_write(cluster, tmp_path):
    # the first task's label file cannot be written (its name is too long): the run fails in pass 2
    # while the other worker writes the next blocks
    bad = _many_tasks(tmp_path / "in" / "bad.json", 20000, "x" * 300 + ".jpg")
    big = _many_tasks(tmp_path / "in" / "tasks.json", 20000)
    interrupted = _client(["export", str(big), "--to", "yolo,labelme", "-o", str(tmp_path / "stopped"),
                           "--scheduler", cluster.address])
    failing = _client(["export", str(bad), "--to", "yolo", "-o", str(tmp_path / "failed"),
                       "--scheduler", cluster.address])
    if not _writing(interrupted, tmp_path / "stopped"):
        pytest.skip("the run finished (or never wrote) before it could be interrupted")
    interrupted.send_signal(signal.SIGINT)
    assert interrupted.wait(timeout=120) == 130, interrupted.stderr.read()
    assert failing.wait(timeout=120) == 1
    assert "File name too long" in failing.stderr.read()
    left = _files_under(tmp_path)
    assert not [name for name in left if ".new-" in name or name.endswith(".tmp")]
    assert not (tmp_path / "stopped").exists() and not (tmp_path / "failed").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # nothing is written after the client has gone
        assert _files_under(tmp_path) == left
        time.sleep(0.5)


def test_a_killed_worker_leaves_no_temporary_file_in_the_output(tmp_path):
    pytest.importorskip("distributed", reason="needs the dask extra")
    source = _many_tasks(tmp_path / "in" / "tasks.json", 20000)
    own = Cluster(tmp_path / "cluster")
    try:
        doomed = own.add_worker("doomed")
        own.add_worker("survivor")
        own.wait_for_workers(2)
        client = _client(["export", str(source), "--to", "yolo", "-o", str(tmp_path / "out"), "-q",
                          "--scheduler", own.address])
        if not _writing(client, tmp_path / "out"):
            pytest.skip("the run finished (or never wrote) before a worker could be killed")
        doomed.kill()
        assert client.wait(timeout=180) == 0, client.stderr.read()
    finally:
        own.close()
    _many_tasks(tmp_path / "base.json", len(BASE_TASKS))  # each label as in-process, from the repeated tasks
    assert main(["export", str(tmp_path / "base.json"), "--to", "yolo", "-o", str(tmp_path / "here"), "-q"]) == 0
    expected = tree(tmp_path / "here" / "yolo")
    published = tree(tmp_path / "out" / "yolo")
    assert not [name for name in published if name.endswith(".tmp") or "/." in f"/{name}"]
    assert published["classes.txt"] == expected["classes.txt"] and len(published) == 20001
    for number in range(0, 20000, 7):
        assert published[f"annotations/img{number:06d}.txt"] == \
            expected[f"annotations/img{number % len(BASE_TASKS):06d}.txt"]


# --- object stores: staged under a run prefix, published with a manifest written last ---------------------

def _store_tree(url: str) -> dict[str, bytes]:
    from fastlabel_formats.files import store_of

    file_system, inner = store_of(url)
    file_system.invalidate_cache()
    return {name[len(inner) + 1:]: file_system.cat_file(name) for name in sorted(file_system.find(inner))}


@pytest.fixture()
def memory_root():
    fsspec = pytest.importorskip("fsspec", reason="needs the dask extra (fsspec)")
    import uuid

    root = f"memory://h11-{uuid.uuid4().hex[:8]}"
    yield root
    with contextlib.suppress(FileNotFoundError):  # an interrupted run left nothing
        fsspec.filesystem("memory").rm(root.split("://")[1], recursive=True)


def test_an_object_store_folder_is_published_whole_with_a_manifest(memory_root, tasks_file, tmp_path):
    from fastlabel_formats.stores import MANIFEST, read_manifest

    export(str(tasks_file), {"yolo": f"{memory_root}/out/yolo", "coco": f"{memory_root}/out/coco"}, overwrite=False)
    export(str(tasks_file), {"yolo": tmp_path / "yolo", "coco": tmp_path / "coco"}, overwrite=False)
    for name in ("yolo", "coco"):
        published = _store_tree(f"{memory_root}/out/{name}")
        manifest = json.loads(published.pop(MANIFEST))
        assert published == tree(tmp_path / name)
        assert {entry["path"]: entry["size"] for entry in manifest["files"]} == \
            {path: len(data) for path, data in published.items()} == read_manifest(f"{memory_root}/out/{name}")
    assert {path.split("/")[1] for path in _store_tree(memory_root)} == {"yolo", "coco"}  # no staging prefix left


def test_a_non_empty_store_folder_is_refused_and_overwrite_replaces_it_whole(memory_root, tasks_file):
    from fastlabel_formats.files import write_atomic
    from fastlabel_formats.stores import read_manifest

    folder = f"{memory_root}/out/yolo"
    write_atomic(f"{folder}/annotations/stale.txt", b"0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(FormatError, match="is not empty"):
        export(str(tasks_file), {"yolo": folder}, overwrite=False)
    assert list(_store_tree(folder)) == ["annotations/stale.txt"]
    reports = export(str(tasks_file), {"yolo": folder}, overwrite=True)
    held = _store_tree(folder)
    assert "annotations/stale.txt" not in held and set(read_manifest(folder)) == set(held) - {"_manifest.json"}
    assert sorted(reports["yolo"].files) == sorted(f"{folder}/{name}" for name in read_manifest(folder))


def test_an_interrupted_store_run_publishes_nothing(memory_root, tasks_file, monkeypatch):
    from fastlabel_formats.stores import read_manifest

    calls = []

    def interrupted(self, report):
        calls.append(self.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(type(make_target("yolo", "unused", TargetOptions())), "finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(str(tasks_file), {"yolo": f"{memory_root}/out/yolo"}, overwrite=False)
    assert calls == ["yolo"] and _store_tree(memory_root) == {}  # no object, no staging prefix
    with pytest.raises(FormatError, match="has no _manifest.json: not a complete export"):
        read_manifest(f"{memory_root}/out/yolo")


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 and the fsspec options to reach it, with a bucket."""
    pytest.importorskip("s3fs", reason="needs s3fs (the s3 extra)")
    server_module = pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing",
               "client_kwargs": {"region_name": "us-east-1"}}
    import s3fs

    s3fs.S3FileSystem(**options, skip_instance_cache=True).mkdir("h11-bucket", region_name="us-west-2")
    yield options
    server.stop()


def test_s3_in_and_out_on_the_cluster_give_the_in_process_bytes(cluster, s3, tasks_file, tmp_path):
    import fsspec

    with fsspec.open("s3://h11-bucket/in/tasks.json", "wb", **s3) as stream:
        stream.write(tasks_file.read_bytes())
    folders = {"yolo": "s3://h11-bucket/cluster/yolo", "coco": "s3://h11-bucket/cluster/coco"}
    export("s3://h11-bucket/in/tasks.json", folders, scheduler=cluster.address, overwrite=False, storage_options=s3)
    export(str(tasks_file), {"yolo": tmp_path / "yolo", "coco": tmp_path / "coco"}, overwrite=False)
    with _options(s3):
        for name, folder in folders.items():
            published = _store_tree(folder)
            assert json.loads(published.pop("_manifest.json"))["files"]
            assert published == tree(tmp_path / name)
        assert not [name for name in _store_tree("s3://h11-bucket") if ".new-" in name]


def test_s3_prefix_refused_when_not_empty_overwrite_removes_stale_objects(s3, tasks_file):
    from fastlabel_formats.stores import read_manifest

    folder = "s3://h11-bucket/again/yolo"
    with _options(s3):
        import fsspec

        fsspec.filesystem("s3").pipe_file(folder[5:] + "/annotations/stale.txt", b"stale\n")
        with pytest.raises(FormatError, match="is not empty"):
            export(str(tasks_file), {"yolo": folder}, overwrite=False, storage_options=s3)
        export(str(tasks_file), {"yolo": folder}, overwrite=True, storage_options=s3)
        held = _store_tree(folder)
        assert "annotations/stale.txt" not in held and len(held) > 100
        assert set(read_manifest(folder)) == set(held) - {"_manifest.json"}


class _options:
    """fsspec defaults for the S3 protocol while the block runs (as --storage-option gives them)."""

    def __init__(self, options: dict) -> None:
        from fastlabel_formats.files import storage_options_set

        self.context = storage_options_set({"s3": options})

    def __enter__(self) -> None:
        self.context.__enter__()

    def __exit__(self, *exc) -> None:
        self.context.__exit__(*exc)


def test_a_missing_bucket_is_refused_before_the_run(s3, tasks_file):
    with pytest.raises(FormatError, match="s3://h11-nowhere/out/yolo: the bucket h11-nowhere does not exist"):
        export(str(tasks_file), {"yolo": "s3://h11-nowhere/out/yolo"}, overwrite=False, storage_options=s3)


def test_missing_store_credentials_are_a_message(s3, tasks_file, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(FormatError, match="the object store needs credentials .*--storage-option"):
        export(str(tasks_file), {"yolo": "s3://h11-bucket/nokey/yolo"}, overwrite=False,
               storage_options={"endpoint_url": s3["endpoint_url"]})


def test_a_block_that_kills_its_workers_is_a_message_naming_it():
    distributed = pytest.importorskip("distributed", reason="needs the dask extra")
    import logging
    from types import SimpleNamespace

    import dask

    from fastlabel_formats.parallel import Runner

    def die(block) -> None:
        os._exit(1)  # as the kernel's OOM killer ends a worker

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.CRITICAL)
    try:
        with distributed.Client(cluster) as client, Runner(1, client) as runner:
            with pytest.raises(FormatError, match=r"the block of tasks 11-30 of big\.json made 1 Dask workers die "
                                                  r".*--memory-limit"):
                list(runner.map(die, [(SimpleNamespace(first_task=10, count=20, source="big.json"),)]))
    finally:
        cluster.close()


def test_what_a_killed_writer_left_in_the_staging_folder_is_not_published(tasks_file, tmp_path, monkeypatch):
    """A Dask worker killed mid-write (on any machine: its pid means nothing here) leaves a
    temporary file in the staging folder; the block is redone elsewhere and the file is not published."""
    target_class = type(make_target("yolo", "unused", TargetOptions()))
    finish = target_class.finish

    def killed_writer_left(self, report):
        (Path(self.output_dir) / "annotations" / f".img_03955.txt.{os.getpid()}-abcde123.tmp").write_bytes(b"")
        finish(self, report)

    monkeypatch.setattr(target_class, "finish", killed_writer_left)
    export(str(tasks_file), {"yolo": tmp_path / "out"}, overwrite=False)
    published = tree(tmp_path / "out")
    assert len(published) > 100 and not [name for name in published if name.endswith(".tmp")]


def test_a_runs_own_temporary_files_are_found_by_its_tag_whatever_their_pid(tmp_path):
    from fastlabel_formats.files import remove_run_temporaries, write_atomic, writing_for

    ours, other, foreign = (tmp_path / name for name in (".a.txt.1-k3x9q001.tmp", ".b.txt.2-zzzzz001.tmp",
                                                         ".c.tmp"))
    for path in (ours, other, foreign):
        path.write_text("partial")
    with writing_for("k3x9q"):
        write_atomic(tmp_path / "d.txt", b"done")  # its temporary carried the tag and is gone
    assert remove_run_temporaries(tmp_path, "k3x9q") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.txt.2-zzzzz001.tmp", ".c.tmp", "d.txt"]
    assert remove_run_temporaries(tmp_path) == 1 and not other.exists() and foreign.exists()


def test_storage_options_from_key_value_texts():
    from fastlabel_formats.stores import parse_storage_options

    assert parse_storage_options(["endpoint_url=http://127.0.0.1:9000", "anon=false", "key=a=b",
                                  "client_kwargs.region_name=eu-west-1", 'config_kwargs={"retries": 3}']) == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": False, "key": "a=b",
        "client_kwargs": {"region_name": "eu-west-1"}, "config_kwargs": {"retries": 3}}
    for wrong in (["endpoint_url"], ["=x"], ["anon=true", "anon.x=2"]):
        with pytest.raises(FormatError, match="--storage-option"):
            parse_storage_options(wrong)
    with pytest.raises(FormatError, match="no input or output of this run is one"):
        export([{"name": "a.jpg", "width": 4, "height": 4, "annotations": []}], {"yolo": "/tmp/unused-h11"},
               storage_options={"anon": True})


def test_only_a_cluster_of_other_machines_is_checked_as_one():
    distributed = pytest.importorskip("distributed", reason="needs the dask extra")
    from concurrent.futures import ThreadPoolExecutor

    from fastlabel_formats.cluster import is_external

    assert not is_external(None) and not is_external("local") and is_external("tcp://10.0.0.1:8786")
    with ThreadPoolExecutor(1) as pool:
        assert not is_external(pool)
    assert is_external(distributed.Client.__new__(distributed.Client))  # a Client of an address


def test_workers_started_by_hand_get_the_local_clusters_tuning_from_a_config_file(tmp_path):
    pytest.importorskip("dask", reason="needs the dask extra")
    import dask.config

    from fastlabel_formats.cluster import QUIET_WORKERS, worker_config_yaml

    (tmp_path / "fastlabel-workers.yaml").write_text(worker_config_yaml())
    loaded = dask.config.collect(paths=[str(tmp_path)], env={})
    for key, value in QUIET_WORKERS.items():
        assert dask.config.get(key, config=loaded) == value, key
