"""Never harm the user's machine or data: device nodes, FIFOs and inputs are never replaced, one
run per output folder at a time, a staging folder that disappears fails the run, OS errors are
messages (never tracebacks), SIGTERM cleans up, and workers die with their parent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import fastlabel_formats as ff
from fastlabel_formats import run as run_module
from fastlabel_formats.cli import main
from fastlabel_formats.staging import run_lock

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_project"


def _tasks(count: int = 6) -> list[dict]:
    return [{"name": f"img{number}.jpg", "width": 40, "height": 30,
             "annotations": [{"type": "bbox", "value": "cat", "points": [1, 1, 10 + number, 12]}]}
            for number in range(count)]


def _tasks_file(folder: Path, count: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tasks.json"
    path.write_text(json.dumps(_tasks(count)))
    return path


def cli(*args: str, cwd: Path | None = None, timeout: float = 120, **options) -> subprocess.CompletedProcess:
    """The command line as a user runs it."""
    return subprocess.run([sys.executable, "-m", "fastlabel_formats", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, **options)


def _no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def device(tmp_path) -> Path:
    """A character device like /dev/null, made in a temporary folder (root only)."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device node here: {error}")
    return node


def _still_a_device(node: Path) -> bool:
    return stat.S_ISCHR(os.lstat(node).st_mode)


@pytest.mark.parametrize("command", [
    ["stats", "{tasks}", "--report-json", "{dev}"],
    ["validate", "{tasks}", "--fix", "-o", "{dev}"],
    ["convert", "{tasks}", "--from", "fastlabel", "--to", "labelme", "-o", "{dev}"],
    ["render", "{tasks}", "--semantic", "-o", "{dev}", "--overwrite"],
    ["draw", "{tasks}", "--images", "{images}", "-o", "{dev}", "--overwrite"],
    ["export", "{tasks}", "--to", "coco", "-o", "{tmp}/out", "--report-json", "{dev}"],
    ["integrate", "{tasks}", "--prefix", "img", "-o", "{dev}"],
])
def test_a_device_node_is_never_replaced(device, tmp_path, command):
    tasks = _tasks_file(tmp_path / "in")
    words = [word.format(tasks=tasks, dev=device, images=SAMPLE / "images", tmp=tmp_path) for word in command]
    result = cli(*words)
    assert result.returncode == 2, result.stderr
    assert "is a character device" in result.stderr
    _no_traceback(result)
    assert _still_a_device(device)


def test_a_fifo_is_refused_as_input_and_as_output(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    tasks = _tasks_file(tmp_path / "in")
    for words in (["export", str(fifo), "--to", "coco", "-o", str(tmp_path / "out")],
                  ["stats", str(tasks), "--from", "fastlabel", "--report-json", str(fifo)],
                  ["render", str(tasks), "--semantic", "-o", str(fifo), "--overwrite"]):
        result = cli(*words, timeout=60)  # a FIFO opened for reading would block for ever
        assert result.returncode == 2, (words, result.stderr)
        assert "FIFO" in result.stderr
        _no_traceback(result)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_overwrite_refuses_a_folder_that_holds_the_input(tmp_path):
    data = tmp_path / "data"
    tasks = _tasks_file(data)
    (data / "photo.jpg").write_bytes(b"not really a photo")
    assert main(["render", str(tasks), "--semantic", "-o", str(data), "--overwrite"]) == 2
    assert tasks.exists() and (data / "photo.jpg").exists()
    assert main(["export", str(tasks), "--to", "yolo", "--layout", "ultralytics", "--images", str(data),
                 "-o", str(tmp_path), "--overwrite"]) == 0  # out/yolo holds no input: fine
    (tmp_path / "yolo" / "tasks.json").write_text("[]")
    assert main(["export", str(tmp_path / "yolo" / "tasks.json"), "--to", "yolo", "-o", str(tmp_path),
                 "--overwrite"]) == 2
    assert (tmp_path / "yolo" / "tasks.json").exists()


def test_overwrite_refuses_the_current_folder(tmp_path):
    folder = tmp_path / "here"
    tasks = _tasks_file(tmp_path / "in")
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = cli("render", str(tasks), "--semantic", "-o", ".", "--overwrite", cwd=folder)
    assert result.returncode == 2 and "current folder" in result.stderr, result.stderr
    _no_traceback(result)
    assert (folder / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "in"]  # no staging folder left


def test_a_second_run_into_a_locked_folder_fails_at_once_naming_the_pid(tmp_path, capsys):
    tasks = _tasks_file(tmp_path / "in")
    out = tmp_path / "out"
    with run_lock(out / "coco"):
        assert main(["export", str(tasks), "--to", "coco", "-o", str(out), "--overwrite"]) == 2
        assert f"another run (pid {os.getpid()})" in capsys.readouterr().err
        assert not (out / "coco").exists()
    assert main(["export", str(tasks), "--to", "coco", "-o", str(out)]) == 0  # the lock is free again
    assert (out / "coco" / "annotations.json").exists()
    assert not (out / ".coco.lock").exists()


def test_what_a_killed_run_left_is_removed_under_the_lock_only(tmp_path):
    tasks = _tasks_file(tmp_path / "in")
    out = tmp_path / "out"
    stale = out / ".coco.new-0123456789"
    stale.mkdir(parents=True)
    (stale / "half.json").write_text("{")
    (out / ".coco.old-0123456789").symlink_to(tmp_path / "in")  # a stale symlink: removed, not followed
    with run_lock(out / "coco"):
        assert main(["export", str(tasks), "--to", "coco", "-o", str(out), "--overwrite"]) == 2
        assert stale.exists()  # its owner may be running: kept
    assert main(["export", str(tasks), "--to", "coco", "-o", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["coco"]
    assert (tmp_path / "in" / "tasks.json").exists()


def test_a_staging_folder_that_disappears_fails_the_run_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    tasks = _tasks_file(tmp_path / "in", count=40)
    out = tmp_path / "out"
    merge = run_module._merge

    def delete_staging(report, findings):
        for sibling in out.glob(".coco.new-*"):
            shutil.rmtree(sibling)
        return merge(report, findings)

    monkeypatch.setattr(run_module, "_merge", delete_staging)
    assert main(["export", str(tasks), "--to", "coco", "-o", str(out), "--overwrite"]) == 1
    assert "staging folder disappeared" in capsys.readouterr().err
    assert not (out / "coco").exists() and not list(out.glob(".coco.*"))


def test_a_symlinked_output_folder_stays_a_symlink(tmp_path):
    tasks = _tasks_file(tmp_path / "in")
    real = tmp_path / "real"
    (real / "coco").mkdir(parents=True)
    (real / "coco" / "old.json").write_text("{}")
    link = tmp_path / "link"
    link.symlink_to(real)
    (link / "yolo").mkdir()
    assert main(["export", str(tasks), "--to", "coco", "-o", str(link), "--overwrite"]) == 0
    assert link.is_symlink() and (real / "coco" / "annotations.json").exists()
    assert not (real / "coco" / "old.json").exists()
    coco_link = tmp_path / "coco_link"
    coco_link.symlink_to(real / "coco")
    assert ff.export_coco(tasks, coco_link, overwrite=True).ok
    assert coco_link.is_symlink() and (real / "coco" / "annotations.json").exists()


def test_a_dangling_output_symlink_and_a_file_in_the_way_are_messages(tmp_path):
    tasks = _tasks_file(tmp_path / "in")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    result = cli("render", str(tasks), "--semantic", "-o", str(tmp_path / "dangling"), "--overwrite")
    assert result.returncode == 2 and "symlink to nothing" in result.stderr, result.stderr
    (tmp_path / "file").write_text("x")
    result = cli("export", str(tasks), "--to", "coco", "-o", str(tmp_path / "file" / "below"))
    assert result.returncode == 2 and "file" in result.stderr, result.stderr
    _no_traceback(result)
    assert not (tmp_path / "nowhere").exists() and (tmp_path / "file").read_text() == "x"


def test_a_long_task_name_is_written(tmp_path):
    name = "n" * 240 + ".jpg"  # a temporary name beside it would pass 255 bytes
    tasks = [{"name": name, "width": 20, "height": 20,
              "annotations": [{"type": "bbox", "value": "cat", "points": [1, 1, 5, 5]}]}]
    assert ff.export_labelme(tasks, tmp_path / "labelme").ok
    assert (tmp_path / "labelme" / ("n" * 240 + ".json")).exists()


def test_a_report_inside_the_replaced_folder_is_refused_before_any_work(tmp_path, capsys):
    tasks = _tasks_file(tmp_path / "in")
    assert main(["export", str(tasks), "--to", "coco", "-o", str(tmp_path / "out"),
                 "--report-json", str(tmp_path / "out" / "coco" / "report.json")]) == 2
    assert "inside the output folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "coco").exists()
    assert main(["export", str(tasks), "--to", "coco", "-o", str(tmp_path / "out"),
                 "--report-json", str(tmp_path / "in")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_validate_fix_checks_its_options_before_it_writes(tmp_path):
    tasks = _tasks_file(tmp_path / "in")
    fixed = tmp_path / "fixed.json"
    assert main(["validate", str(tasks), "--fix", "-o", str(fixed), "--classes", "missing/classes.txt"]) == 2
    assert not fixed.exists()
    assert main(["validate", str(tasks), "--fix", "-o", str(tasks)]) == 2  # the input itself
    assert json.loads(tasks.read_text()) == _tasks()


def test_debug_keeps_the_exit_code_and_shows_the_traceback(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.json"), "--to", "coco", "-o", str(tmp_path / "o"),
                 "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("words", [
    ["export", "{tasks}", "--jobs", "99999999999999999999"],
    ["render", "{tasks}", "--semantic", "--start-index", "99999999999999999999"],
    ["export", "{tasks}", "--scheduler", "tcp://"],
    ["split", "{tasks}", "--grid", "1000x1000"],
    ["integrate", "{tasks}", "--prefix", "a", "--tol", "nan"],
])
def test_option_values_out_of_range_are_usage_errors(tmp_path, words):
    tasks = _tasks_file(tmp_path / "in")
    result = cli(*[word.format(tasks=tasks) for word in words], "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    _no_traceback(result)
    assert not (tmp_path / "out").exists()


def test_a_file_size_limit_is_an_error_message_and_keeps_nothing(tmp_path):
    tasks = _tasks_file(tmp_path / "in", count=300)
    import resource

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = cli("export", str(tasks), "--to", "coco", "-o", str(tmp_path / "out"), preexec_fn=small_files)
    assert result.returncode == 1, result.stderr
    assert "File too large" in result.stderr and "annotations.json" in result.stderr
    assert ".new-" not in result.stderr and ".tmp" not in result.stderr  # the names the user knows
    _no_traceback(result)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [] if (tmp_path / "out").exists() else True


def test_sigterm_cleans_up_like_ctrl_c(tmp_path, monkeypatch, capsys):
    tasks = _tasks_file(tmp_path / "in", count=40)
    out = tmp_path / "out"
    merge = run_module._merge
    monkeypatch.setattr(run_module, "_merge", lambda *args: (os.kill(os.getpid(), signal.SIGTERM), merge(*args)))
    assert main(["export", str(tasks), "--to", "coco,yolo", "-o", str(out)]) == 143
    assert "terminated" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def _marked_processes(mark: str) -> list[int]:
    """Pids of the processes whose environment holds ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


KILLED_WHILE_WORKERS_START = """
import os, signal, sys
from fastlabel_formats.parallel import Runner
with Runner(2) as runner:
    runner._pool.submit(abs, 1)  # the workers are being spawned now
    os.kill(os.getpid(), signal.SIG{signal})
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the workers")
@pytest.mark.parametrize("kill", ["KILL", "TERM"] * 3)
def test_workers_killed_with_their_parent_while_they_start_do_not_outlive_it(kill):
    mark = f"FF_ORPHAN_{uuid.uuid4().hex}"
    environment = {**os.environ, mark: "1"}
    subprocess.run([sys.executable, "-c", KILLED_WHILE_WORKERS_START.format(signal=kill)], env=environment,
                   capture_output=True, timeout=60)
    deadline = time.monotonic() + 20  # a bound, not a speed: the workers notice within 0.2 s
    while _marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _marked_processes(mark) == []


def _wait_for(condition, what: str, seconds: float = 60) -> None:
    """Poll ``condition`` (a bound on a state change, not a speed)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _export(tasks: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fastlabel_formats", "export", str(tasks), "--to", "yolo,coco",
                             "-o", str(out), "--overwrite", "--jobs", "1", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_overlapping_runs_one_fails_at_once_the_other_publishes_whole(tmp_path):
    tasks = _tasks_file(tmp_path / "in", count=3000)
    out = tmp_path / "out"
    first = _export(tasks, out)
    try:
        _wait_for(lambda: (out / ".coco.lock").exists() and list(out.glob(".yolo.new-*")), "the first run's staging")
        first.send_signal(signal.SIGSTOP)  # the first run holds its locks, mid-write
        second = cli("export", str(tasks), "--to", "coco", "-o", str(out), "--overwrite")
        assert second.returncode == 2 and f"another run (pid {first.pid})" in second.stderr, second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert len(list((out / "yolo" / "annotations").glob("*.txt"))) == 3000
    assert len(json.loads((out / "coco" / "annotations.json").read_text())["images"]) == 3000
    assert sorted(p.name for p in out.iterdir()) == ["coco", "yolo"]


def test_a_sigkilled_run_publishes_nothing_and_the_next_one_cleans_up(tmp_path):
    tasks = _tasks_file(tmp_path / "in", count=3000)
    out = tmp_path / "out"
    (out / "yolo").mkdir(parents=True)
    (out / "yolo" / "previous.txt").write_text("the previous export")
    killed = _export(tasks, out)
    _wait_for(lambda: any(True for folder in out.glob(".yolo.new-*") for _ in folder.rglob("*.txt")), "files staged")
    killed.kill()
    killed.wait(timeout=60)
    assert (out / "yolo" / "previous.txt").read_text() == "the previous export"  # nothing published
    assert not (out / "coco").exists()
    assert main(["export", str(tasks), "--to", "yolo,coco", "-o", str(out), "--overwrite", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["coco", "yolo"]  # the killed run's staging and locks gone
    assert len(list((out / "yolo" / "annotations").glob("*.txt"))) == 3000


def test_paths_the_cli_fuzz_census_found_are_messages(tmp_path, capsys):
    """NUL bytes in an output file or an input, a URL protocol fsspec does not know, a URL naming
    nothing: exit 2 with a message, never a traceback."""
    tasks = _tasks_file(tmp_path / "in")
    for words in (["integrate", str(tasks), "--prefix", "img", "-o", "x\x00y"],
                  ["export", "x\x00y", "--to", "coco", "--images", str(tmp_path), "-o", str(tmp_path / "o"),
                   "--overwrite"],
                  ["render", str(tasks), "--semantic", "-o", "tcp://x"],
                  ["render", str(tasks), "--semantic", "-o", "tcp://"],
                  ["draw", "tcp://", "--images", str(tmp_path), "-o", str(tmp_path / "d")]):
        assert main(words) == 2, words
        assert "fastlabel-formats: error:" in capsys.readouterr().err


@pytest.mark.parametrize("overwrite", [None, True, False])
def test_a_report_names_the_files_where_the_run_left_them(tmp_path, overwrite):
    """A staged run's report names each file in the output folder it was published as (through a
    symlink when the folder was given as one), never in the hidden folder it was written in."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    if overwrite is not False:
        ff.export_yolo(_tasks(2), tmp_path / "link")
    reports = ff.export_targets(_tasks(3), {"yolo": tmp_path / "link", "coco": tmp_path / "coco"},
                                overwrite=overwrite)
    for report, folder in ((reports["yolo"], tmp_path / "link"), (reports["coco"], tmp_path / "coco")):
        assert len(report.files) and all(path.is_file() for path in report.files)
        assert all(path.parent in (folder, folder / "annotations") for path in report.files)
    assert sorted(p.name for p in reports["yolo"].files) == ["classes.txt", "img0.txt", "img1.txt", "img2.txt"]
