"""A JPEG's size read by imagesize is the size Pillow reads (no EXIF turn), for every kind of JPEG;
a JPEG imagesize cannot read goes to Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fastlabel_formats import yolo_layout
from fastlabel_formats.errors import FormatError


def jpeg(width: int, height: int, mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def pillow_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.size


def turned(width: int, height: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg(width, height, exif=exif.tobytes())


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 700), st.integers(1, 700), st.sampled_from(["RGB", "L", "CMYK"]), st.booleans(),
       st.sampled_from([None, 3, 6, 8]))
def test_jpeg_size_is_pillows(tmp_path_factory, width, height, mode, progressive, orientation):
    data = turned(width, height, orientation) if orientation and mode == "RGB" else \
        jpeg(width, height, mode, progressive=progressive)
    path = tmp_path_factory.mktemp("jpeg") / "a.jpg"
    path.write_bytes(data)
    assert yolo_layout.jpeg_size(path) == pillow_size(data) == (width, height)  # EXIF turns nothing
    assert yolo_layout.image_size(path) == (width, height)


def test_a_jpeg_cut_short_goes_to_pillow_and_is_named(tmp_path: Path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg(40, 30)[:20])  # the start of the file, before its frame header
    assert yolo_layout.jpeg_size(path) is None
    with pytest.raises(FormatError, match="cut.jpg"):
        yolo_layout.image_size(path)
