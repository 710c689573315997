"""Object-store folders replaced in place: every object written once at its final key (no staging
copy), stale objects gone, the manifest last; a failed run publishes nothing and keeps an earlier
export only when it wrote nothing."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

from fastlabel_formats import FormatError
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import RunOptions, run_export
from fastlabel_formats.stores import MANIFEST, read_manifest, staged_store
from fastlabel_formats.targets import TargetOptions, make_target

fsspec = pytest.importorskip("fsspec", reason="needs the dask extra (fsspec)")

TASKS = [{"id": f"t{n}", "name": f"img_{n:03d}.jpg", "width": 64, "height": 48, "status": "completed",
          "annotations": [{"type": "bbox", "value": "cat", "points": [1, 2, 30, 40]}]} for n in range(12)]


@pytest.fixture()
def folder():
    root = f"memory://stores-{uuid.uuid4().hex[:8]}"
    yield f"{root}/out/yolo"
    with contextlib.suppress(FileNotFoundError):
        fsspec.filesystem("memory").rm(root.split("://")[1], recursive=True)


def export(tasks: list, folder: str, **run) -> ConversionReport:
    report = ConversionReport("yolo")
    run_export(tasks, [make_target("yolo", folder, TargetOptions())], [report], RunOptions(**run))
    return report


def held(folder: str) -> dict[str, bytes]:
    file_system = fsspec.filesystem("memory")
    inner = folder.split("://")[1]
    file_system.invalidate_cache()
    return {name[len(inner) + 2:]: file_system.cat_file(name) for name in sorted(file_system.find(inner))}


def test_overwrite_writes_each_object_once_and_removes_stale_ones(folder, monkeypatch):
    export(TASKS, folder, overwrite=False)
    fsspec.filesystem("memory").pipe_file(folder.split("://")[1] + "/annotations/stale.txt", b"stale\n")
    copies = []
    monkeypatch.setattr(type(fsspec.filesystem("memory")), "copy", lambda *args, **kw: copies.append(args))
    report = export(TASKS[:5], folder, overwrite=True)
    objects = held(folder)
    assert copies == []  # nothing staged elsewhere and copied into place
    assert set(objects) == {MANIFEST, "classes.txt", *(f"annotations/img_{n:03d}.txt" for n in range(5))}
    assert set(read_manifest(folder)) == set(objects) - {MANIFEST}
    assert sorted(report.files) == sorted(f"{folder}/{name}" for name in read_manifest(folder))


def test_a_run_refused_before_writing_leaves_the_earlier_export_complete(folder):
    export(TASKS, folder, overwrite=False)
    before = held(folder)
    broken = [*TASKS[:3], {"id": "bad", "name": "img_000.jpg", "width": 64, "height": 48, "annotations": []}]
    with pytest.raises(FormatError):  # two tasks writing one file: refused before anything is written
        export(broken, folder, overwrite=True)
    assert held(folder) == before
    assert set(read_manifest(folder)) == set(before) - {MANIFEST}


def test_a_run_failing_after_its_writes_publishes_nothing_and_leaves_no_object(folder, monkeypatch):
    export(TASKS, folder, overwrite=False)
    target_type = type(make_target("yolo", "unused", TargetOptions()))

    def interrupted(self, report):
        raise KeyboardInterrupt

    monkeypatch.setattr(target_type, "finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(TASKS[:4], folder, overwrite=True)
    assert held(folder) == {}
    with pytest.raises(FormatError, match="has no _manifest.json"):
        read_manifest(folder)


def test_a_manifest_written_last_names_exactly_what_was_reported(folder):
    objects = {f"{folder}/a.txt": b"a", f"{folder}/sub/b.txt": b"bb", f"{folder}/left-over.txt": b"x"}
    reported: list[str] = []
    with staged_store({"0": folder}, False, lambda name: reported) as places:
        assert places == {"0": folder}  # written in place, no staging prefix
        fsspec.filesystem("memory").pipe({path.split("://")[1]: data for path, data in objects.items()})
        assert MANIFEST not in held(folder)  # not an export until the block ends
        reported += [f"{folder}/a.txt", f"{folder}/sub/b.txt"]
    manifest = json.loads(held(folder)[MANIFEST])
    assert [(e["path"], e["size"]) for e in manifest["files"]] == [("a.txt", 1), ("sub/b.txt", 2)]
    assert set(held(folder)) == {MANIFEST, "a.txt", "sub/b.txt"}


@pytest.mark.parametrize("bucket", ["s3://bucket", "gs://bucket/"])
def test_a_bucket_itself_is_refused_as_the_output(bucket):
    with pytest.raises(FormatError, match="give a folder inside the bucket"):
        with staged_store({"0": bucket}, True, lambda name: []):
            pass
