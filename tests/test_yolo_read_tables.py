"""YOLO box files read a block at a time with numpy (:mod:`fastlabel_formats.yolo_text`) read what
``float()`` and the line-by-line reader read, and the geometry the reader lays out for the tables
(:func:`fastlabel_formats.table_rings.box_rings`) is the one the tables gather."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_table_readers import GEOMETRIES, assert_same_table

from fastlabel_formats import convert, yolo_import, yolo_text
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import FrameMaker, stream_chunks
from fastlabel_formats.table import gather
from fastlabel_formats.table_readers import collecting, table_source

# --- the values of a block of files, as float() reads them -----------------------------------------

digits = st.text("0123456789", min_size=0, max_size=20)
values = st.one_of(
    st.builds(lambda sign, whole, point, fraction: sign + whole + point + fraction,
              st.sampled_from(["", "", "-", "+"]), digits, st.sampled_from(["", ".", "."]), digits),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr), st.floats(0, 1).map(lambda v: f"{v:.7f}"),
    st.sampled_from(["1e-05", ".", "-", "1.2.3", "1-2", "0x1", "inf", "nan", "1_0", "٣", "", "+-1", "4.", ".5",
                     "0.9007199254740993", "0.9999999999999999", "-98765432.12345679", "0.12345678901234567"]))
classes = st.sampled_from(["0", "1", "2", "7", "01", "+1", "1.0", "x", "12", "999999999", "1234567890"])
separators = st.sampled_from([" ", " ", "  ", "\t", " \t "])
lines = st.one_of(
    st.builds(lambda c, vs, sep, end: sep.join([c, *vs]) + end, classes, st.lists(values, min_size=4, max_size=4),
              separators, st.sampled_from(["", " ", "\t"])),
    st.builds(lambda c, vs: " ".join([c, *vs]), classes, st.lists(values, min_size=0, max_size=7)),
    st.sampled_from(["", "  ", "\ufeff0 0.5 0.5 0.2 0.2", "0 0.5 0.5 0.2 0.2\x0b", "0\xa00.5 0.5 0.2 0.2"]))
texts = st.builds(lambda rows, end, last: end.join(rows) + (end if last else ""),
                  st.lists(lines, max_size=5), st.sampled_from(["\n", "\r\n", "\n", "\r"]), st.booleans())
KNOWN = np.array([True, True, False, False, False, False, False, True])

NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")
CLASS = re.compile(r"0|[1-9]\d{0,8}")


def plain_number(token: str) -> bool:
    """A value read at once: digits with at most one point and a first sign, short, exact as an integer."""
    return bool(NUMBER.fullmatch(token)) and len(token) <= yolo_text.LONGEST_VALUE \
        and int(re.sub(r"[-+.]", "", token)) < 2 ** 53


def plain_file(data: bytes) -> list[tuple[int, list[float]]] | None:
    """The rows of a plain box file (by the rules the module's docstring gives), None for any other."""
    if not yolo_text.plain_bytes(data):
        return None
    rows = []
    for line in data.decode("ascii").split("\n"):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 5 or not CLASS.fullmatch(tokens[0]) or int(tokens[0]) >= len(KNOWN) \
                or not KNOWN[int(tokens[0])] or not all(map(plain_number, tokens[1:])):
            return None
        rows.append((int(tokens[0]), [float(token) for token in tokens[1:]]))
    return rows


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, max_size=6))
def test_plain_box_files_read_at_once_as_float_reads_them(files):
    data = [text.encode("utf-8") for text in files]
    chosen = [item for item in data if yolo_text.plain_bytes(item)]
    found = yolo_text.box_lines(chosen, KNOWN)
    expected = [plain_file(item) for item in chosen]
    assert found.plain.tolist() == [rows is not None for rows in expected]
    for number, rows in enumerate(expected):
        start, end = found.first_rows[number:number + 2].tolist()
        assert found.classes[start:end].tolist() == [row[0] for row in rows or []]
        expected_values = np.array([row[1] for row in rows or []], np.float64).reshape(-1, 4)
        assert found.values[start:end].tobytes() == expected_values.tobytes()  # bit for bit, -0.0 included


EDGES = ["0 0.9007199254740993 0.5 0.5 0.5", "1 0.9999999999999999 .5 5. -0", "7 -98765432.12345679 1 1 1",
         "0 0.12345678901234567 1 1 1", "0 900719925474099.1 1 1 1", "0 9007199254740991 1 1 1", "01 1 1 1 1",
         "2 1 1 1 1", "8 1 1 1 1", "1.0 1 1 1 1", "+1 1 1 1 1", "0 +-1 1 1 1", "0 1 1 1 1 1", "0 1- 1 1 1", "0 . 1 1 1",
         "0 1234567890123456789 1 1 1", "0 0.000000000000001 1 1 1"]


@pytest.mark.parametrize("line", EDGES)
def test_edge_lines_read_at_once_as_float_reads_them(line):
    found = yolo_text.box_lines([line.encode()], KNOWN)
    expected = plain_file(line.encode())
    assert found.plain.tolist() == [expected is not None]
    if expected:
        assert found.values.tobytes() == np.array([expected[0][1]], np.float64).tobytes()


def test_plain_bytes_are_what_str_split_splits_as_box_lines():
    assert yolo_text.plain_bytes(b"0 0.5 -0.5 +.5 5.\r\n\t1 1 1 1 1\n")
    for other in (b"\xef\xbb\xbf0 1 1 1 1", b"0 1e5 1 1 1", b"0 1 1 1 1\r", b"0\x0b1 1 1 1", b"0 1 1 1 1\x00"):
        assert not yolo_text.plain_bytes(other)


# --- whole datasets: the same tasks, findings and tables with or without reading at once -----------


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def dataset(folder: Path, files: list[str]) -> Path:
    """A classes file and one image (of a few sizes) per label text."""
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    (folder / "classes.txt").write_text("cat\ndog\n\n\n\n\n\nbird\n")
    for number, text in enumerate(files):
        (folder / "images" / f"{number}.png").write_bytes(png_bytes(*[(64, 48), (1920, 1080), (3, 7)][number % 3]))
        (folder / "labels" / f"{number}.txt").write_bytes(text.encode("utf-8"))
    return folder / "classes.txt"


def read(classes_file: Path, batch: int, monkeypatch, at_once: bool = True) -> tuple[bytes, list, list]:
    """The tasks (as text), the findings and the vouched-for geometry of a dataset read in ``batch`` files."""
    monkeypatch.setattr(yolo_import, "FILES_AT_ONCE", batch)
    monkeypatch.setattr(yolo_import, "plain_bytes", yolo_text.plain_bytes if at_once else lambda data: False)
    report = ConversionReport("yolo import")
    with collecting() as vouched:
        try:
            tasks = yolo_import.yolo_tasks(classes_file, classes_file.parent / "labels",
                                           images=classes_file.parent / "images", report=report)
        except Exception as error:  # noqa: BLE001 (the same error either way)
            return repr(error).encode(), [], []
    findings = [(kind, finding.count, finding.examples) for kind, finding in report.findings.items()]
    return repr(tasks).encode(), findings, vouched  # repr: every float bit for bit, ints of any size


box_texts = st.lists(st.builds(lambda c, v: " ".join([c, *(f"{x:.7f}" for x in v)]), st.sampled_from(["0", "1", "7"]),
                               st.lists(st.floats(0, 1), min_size=4, max_size=4)), max_size=5).map("\n".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(texts | box_texts, min_size=1, max_size=7), st.sampled_from([1, 3, 1024]))
def test_datasets_read_at_once_as_line_by_line(monkeypatch, files, batch):
    folder = Path(tempfile.mkdtemp())
    try:
        classes_file = dataset(folder, files)
        at_once, line_by_line = read(classes_file, batch, monkeypatch), read(classes_file, 1024, monkeypatch, False)
        assert at_once[:2] == line_by_line[:2]
        if at_once[2]:
            assert_tables_as_gathered(table_source(at_once[2][0][0], at_once[2]))
    finally:
        shutil.rmtree(folder)


def assert_tables_as_gathered(source) -> int:
    """Each chunk table of a table source equals gather's of the same tasks; the number of tables
    made from the reader's laid out geometry (those that come with their value codes)."""
    laid = 0
    for block in source.blocks():
        for chunk in map(block.chunk, stream_chunks(block.source, block.tasks(), FrameMaker(block.source), 2)):
            for geometry in GEOMETRIES:
                table = chunk.table(geometry)
                assert_same_table(table, gather(chunk.tasks, chunk.frames, chunk.source, geometry, chunk.first_frame))
                if "value_codes" in table.derived:
                    laid += 1
                    codes, dictionary = table.derived["value_codes"]
                    assert [dictionary[code] for code in codes] == [row["value"] for row in table.annotations]
    return laid


def test_box_dataset_tables_take_the_laid_out_geometry(tmp_path, monkeypatch):
    files = ["0 0.5 0.5 0.25 0.125\n1 0.1 0.2 0.3 0.4\n", "", "7 0.9 0.9 0.1 0.1", "0 0.5 0.5 0.2 0.2 0.3 0.4\n",
             "1 1e-05 0.5 0.5 0.5\n", "0\t-0.0 .5 5. 0.0000001\r\n"]
    classes_file = dataset(tmp_path, files * 3)
    tasks_json, findings, vouched = read(classes_file, 4, monkeypatch)
    assert not findings
    source = table_source(vouched[0][0], vouched)
    assert all(source.vouched) and assert_tables_as_gathered(source) > 0


@pytest.mark.parametrize("target", ["coco", "yolo", "pascalvoc"])
def test_conversions_write_the_same_bytes_read_at_once_or_not(tmp_path, monkeypatch, target):
    files = ["0 0.5 0.5 0.25 0.125\n1 0.1 0.2 0.3 0.4\n", "7 0.9 0.9 0.1 0.1", "0 0.5 0.5 0.2\n", "3 0.5 0.5 0.2 0.2\n",
             "1 1e-05 0.5 0.5 0.5\n0 0.1 0.1 0.1 0.1 0.2 0.2\n"]
    classes_file = dataset(tmp_path / "in", files * 4)
    written = []
    for at_once in (True, False):
        monkeypatch.setattr(yolo_import, "plain_bytes", yolo_text.plain_bytes if at_once else lambda data: False)
        out = tmp_path / f"out{at_once}"
        tasks = convert.read_tables(classes_file.parent / "labels", "yolo", images=classes_file.parent / "images",
                                    classes_file=classes_file)
        convert.write_tasks(tasks, target, out, progress=False)
        written.append({path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()})
    assert written[0] == written[1] and written[0]
