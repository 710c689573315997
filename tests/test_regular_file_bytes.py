"""The quick readers of many small files (YOLO labels, image headers) read regular files only: a
pipe or a folder is an error at once, never a wait."""

from __future__ import annotations

import os

import pytest

from fastlabel_formats import yolo_layout
from fastlabel_formats.errors import FormatError
from fastlabel_formats.files import regular_file_bytes


def test_a_regular_file_is_read_whole_or_its_start(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"0 0.5 0.5 0.2 0.2\n" * 100_000)
    assert regular_file_bytes(path) == path.read_bytes()
    assert regular_file_bytes(path, 7) == b"0 0.5 0"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    pipe = tmp_path / "label.txt"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="not a regular file"):
        regular_file_bytes(pipe)
    os.mkfifo(tmp_path / "image.png")
    with pytest.raises(FormatError, match="image.png"):
        yolo_layout.image_size(tmp_path / "image.png")


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(OSError, match="not a regular file"):
        regular_file_bytes(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_the_whole_file_readers_name_a_pipe_a_device_or_a_folder(tmp_path):
    from fastlabel_formats.files import read_bytes

    pipe = tmp_path / "a.json"
    os.mkfifo(pipe)
    with pytest.raises(FormatError, match=r"a\.json: the labelme file is a FIFO, not a regular file$"):
        read_bytes(pipe, "the labelme file")
    with pytest.raises(FormatError, match=r"^/dev/null: the input is a device, not a regular file$"):
        read_bytes("/dev/null", "input")
    with pytest.raises(FormatError, match=r"cannot read the labelme file \(Is a directory\)"):
        read_bytes(tmp_path, "the labelme file")
    (tmp_path / "b.json").write_bytes(b"{}")
    assert read_bytes(tmp_path / "b.json") == b"{}"
