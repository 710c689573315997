"""Inputs the fast paths must refuse as the scanning reader does (found by the review of the fast paths)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_EXPORT_INPUT = """
import sys
import fastlabel_formats as ff
from fastlabel_formats.errors import FormatError
try:
    ff.export_coco(sys.argv[1], sys.argv[2])
except FormatError as error:
    print("FormatError:", error)
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_fifo_given_as_tasks_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "tasks.json"
    os.mkfifo(fifo)
    try:
        result = subprocess.run([sys.executable, "-c", _EXPORT_INPUT, str(fifo), str(tmp_path / "out")],
                                capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("export_coco waited for ever on a FIFO given as its tasks")
    assert "FIFO" in result.stdout, result.stdout + result.stderr
