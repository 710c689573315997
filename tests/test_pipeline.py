"""The command line as a training pipeline runs it: readable files, no clashing output, clear exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ann, task

import fastlabel_formats as ff
from fastlabel_formats import FormatError, export_coco, export_yolo
from fastlabel_formats.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_project"


def run_cli(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastlabel_formats", *args], capture_output=True, text=True,
                          cwd=ROOT, **options)


def test_output_files_get_the_permissions_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        export_yolo(SAMPLE / "tasks.json", tmp_path / "yolo")
        export_coco(SAMPLE / "tasks.json", tmp_path / "coco")
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_two_tasks_writing_one_file_stop_the_run_before_anything_is_written(tmp_path, jobs):
    tasks = [task("x.jpg", 8, 8), task("a.jpg", 8, 8, ann("bbox", "c", [0, 0, 4, 4])), task("a.png", 8, 8)]
    with pytest.raises(FormatError, match=r"tasks 'a.jpg' \(#1\) and 'a.png' \(#2\) would write the same yolo file"):
        export_yolo(tasks, tmp_path / "out", jobs=jobs)
    assert not (tmp_path / "out").exists()
    export_coco(tasks, tmp_path / "coco")  # one file for all: no clash


def test_cli_refuses_bad_option_values_with_exit_code_2(tmp_path):
    tasks = str(SAMPLE / "tasks.json")
    (tmp_path / "file").write_text("x")
    cases = [["export", tasks, "--jobs", "0"], ["export", tasks, "--jobs", "-3"],
             ["export", tasks, "--project-type", "foo"], ["draw", tasks, "--images", "/nonexistent", "-o", "o"],
             ["split", tasks, "--grid", "0x3", "-o", str(tmp_path / "s")],
             ["export", tasks, "--to", "yolo", "-o", str(tmp_path / "file")],
             ["export", tasks, "--classes", "clss.txt", "-o", str(tmp_path / "c")],
             ["validate", tasks, "--fix"]]
    for case in cases:
        result = run_cli(*case)
        assert result.returncode == 2, (case, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip(), case


def test_cli_version_quiet_and_plain_progress_off_a_terminal(tmp_path):
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("fastlabel-formats ")
    quiet = run_cli("export", str(SAMPLE / "tasks.json"), "--quiet", "-o", str(tmp_path / "q"))
    assert quiet.returncode == 0 and quiet.stdout == "" and (tmp_path / "q/coco/annotations.json").is_file()
    loud = run_cli("export", str(SAMPLE / "tasks.json"), "-o", str(tmp_path / "l"))
    assert "\r" not in loud.stderr  # no bar redraws in a log


def test_ctrl_c_prints_interrupted_and_exits_130(tmp_path, monkeypatch, capsys):
    import fastlabel_formats.cli_commands as cli_commands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_commands, "export_targets", interrupted)
    assert main(["export", str(SAMPLE / "tasks.json"), "-o", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == "fastlabel-formats: interrupted"


def test_a_real_interrupt_of_a_running_export(tmp_path):
    tasks = [task(f"img{n:05d}.jpg", 64, 64, *[ann("polygon", "p", [1, 1, 30, 2, 20, 40] * 20)] * 30)
             for n in range(6000)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    process = subprocess.Popen([sys.executable, "-m", "fastlabel_formats", "export", str(tmp_path / "tasks.json"),
                                "--to", "coco,yolo", "--jobs", "2", "-o", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the export finished before the interrupt")
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert not list((tmp_path / "out").rglob(".*.parts-*"))  # no COCO part files left behind


def test_report_json_lists_every_target_and_each_loss_also_on_failure(tmp_path):
    report = tmp_path / "report.json"
    assert main(["export", str(SAMPLE / "tasks.json"), "--to", "coco,yolo", "-o", str(tmp_path / "out"),
                 "--report-json", str(report), "--quiet"]) == 0
    data = json.loads(report.read_text())
    assert data["exit_code"] == 0 and data["error"] is None and set(data["targets"]) == {"coco", "yolo"}
    kinds = {f["kind"] for f in data["targets"]["coco"]["findings"]}
    assert "classification annotation not representable in coco" in kinds
    assert data["targets"]["yolo"]["files"] == 7
    missing = SAMPLE.parent / "missing.json"
    assert main(["export", str(missing), "-o", str(tmp_path / "x"), "--report-json", str(report)]) == 2
    failed = json.loads(report.read_text())
    assert failed["exit_code"] == 2 and "cannot read" in failed["error"] and failed["targets"] == {}


def test_a_coco_file_given_as_tasks_says_which_command_reads_it(tmp_path, capsys):
    coco = ROOT / "tests/fixtures/third_party/datumaro/coco_person_keypoints/person_keypoints_train.json"
    assert main(["export", str(coco), "-o", str(tmp_path)]) == 2
    assert "this is a COCO file, not FastLabel tasks: use convert --from coco" in capsys.readouterr().err


def test_export_refuses_a_folder_with_an_earlier_export_and_overwrite_replaces_it(tmp_path, capsys):
    first = [task("old.jpg", 8, 8, ann("bbox", "c", [0, 0, 4, 4]))]
    second = [task("new.jpg", 8, 8, ann("bbox", "c", [0, 0, 4, 4]))]
    (tmp_path / "first.json").write_text(json.dumps(first))
    (tmp_path / "second.json").write_text(json.dumps(second))
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "first.json"), "--to", "yolo", "-o", str(out)]) == 0
    assert main(["export", str(tmp_path / "second.json"), "--to", "yolo", "-o", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err and (out / "yolo/annotations/old.txt").is_file()
    assert main(["export", str(tmp_path / "second.json"), "--to", "yolo", "-o", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in (out / "yolo/annotations").iterdir()) == ["new.txt"]  # no stale files
    assert sorted(p.name for p in out.iterdir()) == ["yolo"]  # no staging folders left


def test_a_failing_target_publishes_nothing_and_keeps_the_previous_export(tmp_path, monkeypatch, capsys):
    from fastlabel_formats.coco import CocoTarget

    (tmp_path / "tasks.json").write_text(json.dumps([task("a.jpg", 8, 8, ann("bbox", "c", [0, 0, 4, 4]))]))
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "tasks.json"), "--to", "yolo,coco", "-o", str(out)]) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def fail(self, report):
        raise FormatError("disk full (injected)")

    monkeypatch.setattr(CocoTarget, "finish", fail)
    assert main(["export", str(tmp_path / "tasks.json"), "--to", "yolo,coco", "-o", str(out), "--overwrite"]) == 2
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in out.iterdir()) == ["coco", "yolo"]


def test_from_auto_recognises_each_format(tmp_path, capsys):
    from fastlabel_formats.convert import detect_format

    datumaro = ROOT / "tests/fixtures/third_party/datumaro"
    assert main(["export", str(SAMPLE / "tasks.json"), "--to", "coco,yolo,voc,labelme", "-o", str(tmp_path)]) == 0
    assert detect_format(tmp_path / "coco/annotations.json") == "coco"
    assert detect_format(tmp_path / "yolo") == "yolo" and detect_format(datumaro / "yolo_strict") == "yolo"
    assert detect_format(tmp_path / "pascalvoc") == "pascalvoc" and detect_format(tmp_path / "labelme") == "labelme"
    assert detect_format(SAMPLE / "tasks.json") == "fastlabel"
    assert main(["convert", str(tmp_path / "coco/annotations.json"), "--from", "auto", "--to", "fastlabel",
                 "-o", str(tmp_path / "back")]) == 0
    assert "read as coco" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "back/tasks.json").read_text())) == 6


def test_remote_output_folders_are_published_with_a_manifest_and_quiet_is_silent(tmp_path, capsys):
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open("memory://pipeline/tasks.json", "wb") as stream:
        stream.write((SAMPLE / "tasks.json").read_bytes())
    assert main(["export", "memory://pipeline/tasks.json", "--to", "coco,yolo", "-o", "memory://pipeline/out",
                 "--jobs", "1", "--quiet"]) == 0
    written = fsspec.filesystem("memory").find("/pipeline/out")
    assert "/pipeline/out/coco/annotations.json" in written and "/pipeline/out/coco/_manifest.json" in written
    assert len(written) == 10  # + 6 labels, classes.txt and a manifest per target folder
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_symlink_inside_the_output_folder_cannot_lead_writes_outside(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = tmp_path / "out"
    (out / "annotations").mkdir(parents=True)
    (out / "annotations" / "evil").symlink_to(outside, target_is_directory=True)
    tasks = [task("evil/a.jpg", 8, 8, ann("bbox", "c", [0, 0, 4, 4]))]
    with pytest.raises(FormatError, match="leads outside the output folder through a symlink"):
        export_yolo(tasks, out)
    assert list(outside.iterdir()) == []
    linked = tmp_path / "linked-out"  # the output folder itself may be a symlink
    linked.symlink_to(outside, target_is_directory=True)
    export_yolo(tasks, linked)
    assert (outside / "annotations/evil/a.txt").is_file()


def test_a_killed_export_leaves_no_writer_and_the_next_run_cleans_up(tmp_path, capsys):
    tasks = [task(f"img{n:05d}.jpg", 64, 64, *[ann("polygon", "p", [1, 1, 30, 2, 20, 40] * 20)] * 30)
             for n in range(6000)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    command = [sys.executable, "-m", "fastlabel_formats", "export", str(tmp_path / "tasks.json"),
               "--to", "coco,yolo,labelme", "--jobs", "2", "-o", str(tmp_path / "out")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    if process.poll() is not None:
        pytest.skip("the export finished before it could be killed")
    process.kill()
    process.wait()
    time.sleep(1.5)
    staged = list((tmp_path / "out").glob(".yolo.new-*"))
    counts = [sum(1 for _ in folder.rglob("*")) for folder in staged]
    time.sleep(1)
    assert [sum(1 for _ in folder.rglob("*")) for folder in staged] == counts  # nobody writes any more
    assert main(["export", str(SAMPLE / "tasks.json"), "--to", "yolo", "-o", str(tmp_path / "out"), "-q"]) == 0, \
        capsys.readouterr().err
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "yolo" in left and not [name for name in left if name.startswith(".yolo.")]  # its stale sibling is gone


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_killed_dask_export_leaves_no_worker_behind(tmp_path):
    """SIGKILL of an export on a LocalCluster: its nannies and workers end with it, nothing writes."""
    pytest.importorskip("distributed")
    tasks = [task(f"img{n:05d}.jpg", 64, 64, *[ann("polygon", "p", [1, 1, 30, 2, 20, 40] * 20)] * 30)
             for n in range(20000)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    command = [sys.executable, "-m", "fastlabel_formats", "export", str(tmp_path / "tasks.json"), "--to", "yolo",
               "--scheduler", "local", "--jobs", "2", "-o", str(tmp_path / "out")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out").glob(".yolo.new-*/annotations/*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the workers write
    workers = _children(process.pid)
    workers += [grandchild for child in workers for grandchild in _children(child)]  # nannies' workers
    if process.poll() is not None or not workers:
        pytest.skip("the export finished before it could be killed")
    process.kill()
    process.wait()
    deadline = time.monotonic() + 20  # Dask's nannies notice their parent is gone within seconds
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _alive(workers) == []
    counts = [sum(1 for _ in folder.rglob("*")) for folder in (tmp_path / "out").glob(".yolo.new-*")]
    time.sleep(1)
    assert [sum(1 for _ in folder.rglob("*")) for folder in (tmp_path / "out").glob(".yolo.new-*")] == counts


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if "zombie" not in Path(f"/proc/{pid}/status").read_text().lower():
                alive.append(pid)
        except OSError:
            pass
    return alive


def _dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


def test_python_exports_keep_the_sdks_way_and_clean_a_killed_runs_temporary_files(tmp_path):
    """overwrite=None (the default) writes into the folder as it is, as the SDK does, after
    removing the temporary files of writers that are gone (a running writer's stay)."""
    out = tmp_path / "yolo"
    (out / "annotations").mkdir(parents=True)
    earlier = out / "annotations" / "old.txt"
    earlier.write_text("0 0.5 0.5 0.1 0.1\n")
    stale = out / "annotations" / f".a.txt.{_dead_pid()}-abcd_123.tmp"
    live = out / f".classes.txt.{os.getpid()}-zzzzzzzz.tmp"
    foreign = out / ".notes.tmp"
    for path in (stale, live, foreign):
        path.write_text("partial")
    export_yolo([task("a.jpg", 10, 10, ann("bbox", "cat", [1, 1, 5, 5]))], out)
    assert earlier.exists() and (out / "annotations" / "a.txt").exists()
    assert not stale.exists() and live.exists() and foreign.exists()


@pytest.mark.parametrize("export, published", [
    (lambda tasks, out, **o: export_coco(tasks, out, output_file_name="sub/coco.json", **o), "sub/coco.json"),
    (lambda tasks, out, **o: export_yolo(tasks, out, **o), "annotations/a.txt"),
    (lambda tasks, out, **o: ff.export_labelme(tasks, out, image_dir=out.parent / "images", **o), "a.json"),
    (lambda tasks, out, **o: ff.export_semantic_segmentation(tasks, out, **o), "a.png"),
    (lambda tasks, out, **o: ff.export_targets(tasks, {"voc": out}, **o)["pascalvoc"], "annotations/a.xml"),
])
def test_python_exports_with_overwrite_publish_their_folder_whole(tmp_path, export, published):
    tasks = [task("a.jpg", 10, 10, ann("bbox", "cat", [1, 1, 5, 5]))]
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("an earlier export")
    with pytest.raises(FormatError, match="is not empty"):
        export(tasks, out, overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == ["stale.txt"]
    with pytest.raises(FormatError):
        export([*tasks, task("b.jpg", 10, 10, ann("bbox", "cat", [1, 2, 3]))], out, overwrite=True, strict=True)
    assert sorted(p.name for p in out.iterdir()) == ["stale.txt"]  # a failed run leaves it as it was
    export(tasks, out, overwrite=True)
    assert (out / published).exists() and not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left beside it
    if published == "a.json":  # imagePath relative to where the document ends up
        assert json.loads((out / "a.json").read_text())["imagePath"] == "../images/a.jpg"


def test_a_ultralytics_export_with_overwrite_names_its_final_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "train").mkdir()
    (tmp_path / "images" / "train" / "a.jpg").write_bytes(b"jpeg")
    tasks = [task("train/a.jpg", 10, 10, ann("bbox", "cat", [1, 1, 5, 5]))]
    export_yolo(tasks, tmp_path / "ds", layout="ultralytics", images=tmp_path / "images", overwrite=True)
    assert f'path: "{tmp_path / "ds"}"' in (tmp_path / "ds" / "data.yaml").read_text()
