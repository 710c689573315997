"""Cutting an input into blocks streams: whatever the read size, the blocks hold exactly the
input's tasks with their first lines, and memory depends on the read size, not on a task's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastlabel_formats.source as source_module
from fastlabel_formats import FormatError
from fastlabel_formats.source import task_source

ROOT = Path(__file__).resolve().parents[1]
TRICKY = 'ab"\\[]{},: \n'  # quotes, escapes and brackets inside strings, across every read boundary
VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet=TRICKY)),
                      lambda children: st.one_of(st.lists(children, max_size=3),
                                                 st.dictionaries(st.text(alphabet='k"\\]}'), children, max_size=3)),
                      max_leaves=8)


@contextmanager
def sizes(block: int, scan: int):
    """BLOCK_BYTES and SCAN_BYTES of the source module while the block runs."""
    before = source_module.BLOCK_BYTES, source_module.SCAN_BYTES
    source_module.BLOCK_BYTES, source_module.SCAN_BYTES = block, scan
    try:
        yield
    finally:
        source_module.BLOCK_BYTES, source_module.SCAN_BYTES = before


@contextmanager
def written(data: bytes, suffix: str):
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    try:
        yield path
    finally:
        os.unlink(path)


def check_blocks(path: str, data: bytes, expected: list) -> None:
    """The blocks of ``path`` hold ``expected`` in order, numbered, each with its first line."""
    tasks, first_task, end = [], 0, None
    for block in task_source(path).blocks():
        assert block.first_task == first_task and (end is None or block.offset == end)
        assert block.first_line == data.count(b"\n", 0, block.offset) + 1
        held = block.tasks(check=False)
        assert len(held) == block.count
        tasks += held
        first_task, end = first_task + block.count, block.offset + block.length
    assert tasks == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6), st.integers(0, 2), st.integers(1, 40), st.integers(1, 9))
def test_array_blocks_hold_the_tasks_whatever_the_read_size(elements, indent, block, scan):
    containers = [e if isinstance(e, (list, dict)) else [e] for e in elements]
    data = json.dumps(containers, indent=indent or None).encode()
    with written(data, ".json") as path, sizes(block, scan):
        check_blocks(path, data, containers)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.just(None), st.dictionaries(st.text(alphabet=TRICKY), st.text(alphabet=TRICKY),
                                                         max_size=3)), min_size=1, max_size=8),
       st.integers(1, 40), st.integers(1, 9), st.booleans())
def test_json_lines_blocks_hold_the_tasks_whatever_the_read_size(lines, block, scan, final_newline):
    """``None`` stands for a blank line (skipped, still counted for line numbers)."""
    text = "\n".join("  " if line is None else json.dumps(line) for line in lines) + ("\n" if final_newline else "")
    data = text.encode()
    with written(data, ".jsonl") as path, sizes(block, scan):
        check_blocks(path, data, [line for line in lines if line is not None])


@pytest.mark.parametrize("scan", [1, 3, 64, 1 << 20])
def test_a_cut_off_array_is_named_alike_whatever_the_read_size(scan):
    tasks = [{"name": f"t{n}.jpg", "note": 'a "quoted" \\ value'} for n in range(30)]
    data = json.dumps(tasks, indent=1).encode()
    end = len(data) * 2 // 3
    with written(data[:end], ".json") as path, sizes(40, scan):
        with pytest.raises(FormatError) as cut:
            list(task_source(path).blocks())
    # the first k tasks end where json.dumps(tasks[:k]) puts its closing bracket's line
    complete = max(k for k in range(31) if len(json.dumps(tasks[:k], indent=1)) - 2 <= end)
    lines = data[:end].count(b"\n") + 1
    assert str(cut.value).endswith(f"the array is cut off after task #{complete - 1} (file ends at line {lines}, "
                                   f"byte {end})")


@pytest.mark.parametrize("scan", [2, 1 << 20])
def test_data_after_the_array_is_refused_with_its_line(scan):
    with written(b'[{"name": "a"},\n {"name": "b"}\n]\n\n x', ".json") as path, sizes(8, scan):
        with pytest.raises(FormatError, match=r"data after the end of the array \(line 3\)"):
            list(task_source(path).blocks())


CUT_UNDER_A_LIMIT = """
import resource, sys
from fastlabel_formats.source import task_source

def vm_size():
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize"))

limit = vm_size() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
print(sum(block.count for block in task_source(sys.argv[1]).blocks()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and limits RLIMIT_AS")
def test_two_huge_tasks_are_cut_within_twice_the_largest_task(tmp_path):
    """The process that cuts blocks (the client of a cluster) may grow by at most twice the
    largest task (the issue's target); the scan reads SCAN_BYTES at a time and holds no task."""
    task_bytes = 24 << 20
    annotation = json.dumps({"type": "polygon", "value": "cat", "points": list(range(200))}).encode()
    body = b",".join([annotation] * (task_bytes // len(annotation)))
    path = tmp_path / "huge.json"
    with open(path, "wb") as stream:
        stream.write(b"[")
        for number in range(2):
            head = b'%s{"name": "huge_%d.jpg", "annotations": [' % (b"," if number else b"", number)
            stream.write(head + body + b"]}")
        stream.write(b"]")
    largest = (path.stat().st_size - 2) // 2
    result = subprocess.run([sys.executable, "-c", CUT_UNDER_A_LIMIT, str(path), str(2 * largest)],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                                 "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.split() == ["2"]
