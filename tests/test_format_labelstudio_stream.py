"""Label Studio exports are read a block of whole tasks at a time: the file is consumed in parts, and
a file far larger than the memory a read may use is read whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import orjson
import pytest

from fastlabel_formats import ConversionReport, FormatError
from fastlabel_formats import source as task_source
from fastlabel_formats.formats.labelstudio import iter_labelstudio_tasks, labelstudio_tasks, to_labelstudio


def _tasks(count: int) -> list[dict]:
    return [{"name": f"img{number:04d}.jpg", "width": 200, "height": 100, "annotations": [
        {"type": "bbox", "value": "car", "points": [10, 20, 60 + number % 50, 45], "attributes": []},
        {"type": "polygon", "value": "roof", "points": [50, 60, 100, 62, 80, 90], "attributes": []}]}
        for number in range(count)]


def test_the_file_is_read_in_parts(tmp_path, monkeypatch):
    """Tasks come out before the end of the file is read: a file cut short after the first task
    was handed on fails only when the reader gets there (a reader that had parsed the whole file
    would not notice)."""
    monkeypatch.setattr(task_source, "BLOCK_BYTES", 4096)
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(to_labelstudio(_tasks(300))))
    size = path.stat().st_size
    assert size > 20 * 4096
    stream = iter_labelstudio_tasks(path)
    first = next(stream)
    assert first["name"] == "img0000.jpg" and first["annotations"][0]["points"] == [10, 20, 60, 45]
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(FormatError, match="export.json: not valid JSON: the array is cut off after task #"):
        list(stream)


def test_blocks_read_as_the_whole_file(tmp_path, monkeypatch):
    """Read in blocks of 4 KB or whole (as parsed data): the same tasks, the same report; a
    non-finite pixel, an image in two tasks (joined) and task numbers that run on across blocks."""
    tasks = to_labelstudio(_tasks(120))
    tasks[70]["annotations"][0]["result"][0]["value"]["x"] = 1e308  # 1e308 % of 200 pixels overflows
    tasks[90]["data"] = dict(tasks[3]["data"])
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(tasks))
    whole_report, block_report = ConversionReport("whole"), ConversionReport("blocks")
    whole = labelstudio_tasks(orjson.loads(path.read_bytes()), report=whole_report)
    monkeypatch.setattr(task_source, "BLOCK_BYTES", 4096)
    blocks = labelstudio_tasks(path, report=block_report)
    assert blocks == whole and len(blocks) == 119
    assert {kind: finding.count for kind, finding in block_report.findings.items()} == {
        "region whose pixel coordinates are not finite numbers, skipped": 1,
        "second task of one image: its annotations joined to the first's": 1}
    places = [place for finding in block_report.findings.values() for place in finding.examples]
    assert any("task #70 (id 71) annotation #0 result #0" in place for place in places)
    assert any("task #90 ('img0003.jpg')" in place for place in places)


STREAM_UNDER_A_LIMIT = textwrap.dedent("""
    import json, resource, sys
    import orjson
    from fastlabel_formats import source
    from fastlabel_formats.formats.labelstudio import iter_labelstudio_tasks

    path, headroom = sys.argv[1], int(sys.argv[2])
    source.BLOCK_BYTES = 1 << 20
    next(iter_labelstudio_tasks(path))  # every module a read needs, loaded before the limit
    with open("/proc/self/status") as status:
        used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (used + headroom, used + headroom))
    count = regions = 0
    for task in iter_labelstudio_tasks(path):
        count += 1
        regions += len(task["annotations"])
    try:
        whole = len(orjson.loads(open(path, "rb").read()))
    except (MemoryError, orjson.JSONDecodeError) as error:  # orjson: "memory allocation failed"
        whole = None if isinstance(error, MemoryError) or "memory" in str(error) else repr(error)
    print(json.dumps({"count": count, "regions": regions, "whole": whole}))
""")


def test_an_export_larger_than_the_memory_allowed_is_read(tmp_path):
    """Under an address-space limit 48 MB above what the interpreter holds (a read in blocks of
    1 MB grows by about 20 MB), a 10 MB export (about 70 MB once parsed whole, which the limit
    refuses) is read task by task."""
    template = orjson.dumps(to_labelstudio(_tasks(1))[0]).replace(b"img0000.jpg", b"%06d.jpg")
    count = 10_000_000 // len(template) + 1
    path = tmp_path / "large.json"
    with open(path, "wb") as stream:
        stream.write(b"[" + b",".join(template.replace(b"%06d", b"%06d" % n) for n in range(count)) + b"]")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", STREAM_UNDER_A_LIMIT, str(path), str(48 << 20)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert (found["count"], found["regions"]) == (count, 2 * count)
    assert found["whole"] is None  # the limit binds: the file parsed whole does not fit
