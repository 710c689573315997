"""Per-image files written into a run's staging folder go straight under their names (no temporary
file and rename), never replacing anything found there; runs into the folder as it is keep their
atomic writes; the trees are the same either way, and a failed run publishes nothing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import fastlabel_formats as ff
from fastlabel_formats import files
from fastlabel_formats.errors import FormatError
from fastlabel_formats.target import Target


def _tasks(count: int = 8) -> list[dict]:
    return [{"name": f"sub{number % 2}/img{number}.jpg", "width": 40, "height": 30,
             "annotations": [{"type": "bbox", "value": "cat" if number % 3 else "dog",
                              "points": [1, 1, 10 + number, 12]},
                             {"type": "polygon", "value": "cat", "points": [2, 2, 20, 3, 15, 18, 3, 16]}]}
            for number in range(count)]


EXPORTS = {"yolo": ff.export_yolo, "labelme": ff.export_labelme, "dota": ff.export_dota,
           "masks": ff.export_semantic_segmentation}


def _tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mode."""
    return {path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mode)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _spy(monkeypatch, name: str) -> list:
    """The paths ``files.<name>`` is called with from now on (it still runs)."""
    calls, original = [], getattr(files, name)

    def spy(path, data):
        calls.append(str(path))
        return original(path, data)

    monkeypatch.setattr(files, name, spy)
    return calls


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
@pytest.mark.parametrize("jobs", [1, 2])
def test_staged_runs_write_the_trees_of_an_in_place_run(tmp_path, fmt, jobs):
    export, tasks = EXPORTS[fmt], _tasks()
    replaced = tmp_path / "replaced"
    replaced.mkdir()
    (replaced / "stale.txt").write_text("an earlier export")
    reports = [export(tasks, tmp_path / "in_place", jobs=jobs), export(tasks, replaced, jobs=jobs, overwrite=True),
               export(tasks, tmp_path / "new", jobs=jobs, overwrite=False)]
    assert len({repr(sorted(report.findings.items())) for report in reports}) == 1
    expected = _tree(tmp_path / "in_place")
    assert expected
    assert _tree(replaced) == expected
    assert _tree(tmp_path / "new") == expected
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".") and not name.endswith(".lock")]


def test_in_place_runs_write_atomically_staged_runs_directly(tmp_path, monkeypatch):
    direct, atomic = _spy(monkeypatch, "write_new"), _spy(monkeypatch, "write_atomic")
    ff.export_yolo(_tasks(), tmp_path / "in_place")
    assert direct == [] and len([path for path in atomic if path.endswith(".txt")]) >= 8
    atomic.clear()
    ff.export_yolo(_tasks(), tmp_path / "staged", overwrite=True)
    assert len(direct) == 8 and all("/.staged.new-" in path for path in direct)
    assert not [path for path in atomic if "/annotations/" in path]  # only the class list, as one file


def _planting(monkeypatch, plant) -> None:
    """Call ``plant(staging folder)`` as soon as a run chooses its staging folder."""
    original = Target.write_into

    def write_into(self, folder):
        original(self, folder)
        plant(Path(folder))

    monkeypatch.setattr(Target, "write_into", write_into)


@pytest.mark.parametrize("kind, jobs", [("file", 1), ("symlink", 1), ("symlink", 2)])
def test_a_file_planted_in_the_staging_folder_is_never_replaced(tmp_path, monkeypatch, kind, jobs):
    outside = tmp_path / "outside.txt"
    outside.write_text("the user's file")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("the previous export")

    def plant(folder: Path) -> None:
        (folder / "annotations" / "sub0").mkdir(parents=True)
        planted = folder / "annotations" / "sub0" / "img2.txt"
        if kind == "symlink":
            planted.symlink_to(outside)
        else:
            planted.write_text("planted")

    _planting(monkeypatch, plant)
    with pytest.raises(FormatError, match=r"annotations/sub0/img2\.txt: already exists in the run's unpublished"):
        ff.export_yolo(_tasks(), out, overwrite=True, jobs=jobs)
    assert outside.read_text() == "the user's file"
    assert _tree(out) == {"old.txt": (b"the previous export", (out / "old.txt").stat().st_mode)}
    assert not [name for name in os.listdir(tmp_path) if ".new-" in name]


@pytest.mark.parametrize("overwrite", [True, False])
def test_a_failure_mid_run_publishes_nothing(tmp_path, monkeypatch, overwrite):
    out = tmp_path / "out"
    if overwrite:
        out.mkdir()
        (out / "old.txt").write_text("the previous export")
    written = []
    original = files._write_all

    def failing(handle, data):
        written.append(handle)
        if len(written) == 5:
            os.close(handle)
            raise OSError(errno.ENOSPC, "No space left on device")
        original(handle, data)

    monkeypatch.setattr(files, "_write_all", failing)
    with pytest.raises(OSError, match=r"img4\.txt") as raised:
        ff.export_yolo(_tasks(), out, overwrite=overwrite)
    assert raised.value.errno == errno.ENOSPC
    assert _tree(out) == ({"old.txt": (b"the previous export", (out / "old.txt").stat().st_mode)} if overwrite
                          else {}) or not out.exists()
    assert not [name for name in os.listdir(tmp_path) if ".new-" in name]


def test_write_new_removes_its_half_file_and_stops_when_told(tmp_path, monkeypatch):
    path = tmp_path / "a" / "b.txt"

    def interrupted(handle, data):
        os.write(handle, data[:2])
        os.close(handle)
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_new(path, b"hello")
    assert not path.exists()
    monkeypatch.undo()

    def stop() -> None:
        raise files.RunStopped

    with files.writing_for("abcde", stop), pytest.raises(files.RunStopped):
        files.write_many({path: b"hello"}, fresh=True)
    assert not path.exists()
    assert files.write_new(path, b"hello") == path and path.read_bytes() == b"hello"


def test_a_block_that_may_run_again_writes_atomically_even_when_fresh(tmp_path, monkeypatch):
    direct = _spy(monkeypatch, "write_new")
    path = tmp_path / "a.txt"
    path.write_bytes(b"a killed worker's first attempt")
    with files.writing_for("abcde", lambda: None):  # a Dask block: its stop check is set
        files.write_many({path: b"again"}, fresh=True)
    assert direct == [] and path.read_bytes() == b"again"
