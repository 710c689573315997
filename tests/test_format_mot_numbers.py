"""MOT gt.txt rows read in one call (JSON decoding) and written in one call (orjson) give what
reading and writing them line by line and value by value gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.formats.mot.reader import parse_row, plain_rows
from fastlabel_formats.formats.mot.writer import _text, number_texts
from fastlabel_formats.formats.plain_numbers import row_texts

finite = st.floats(-1e17, 1e17, allow_nan=False)
field = st.one_of(finite.map(repr), finite.map(lambda v: f"{v:.2f}"), st.integers(-10**6, 10**6).map(str),
                  st.sampled_from(["-0", "-0.0", "1.0", "1e2", " 3 ", "+5", ".5", "007", "nan", "1e400", "",
                                   "12345678901234567890", "x"]))
frame = st.one_of(st.integers(-2, 10**5).map(str), st.sampled_from(["1.0", "+1", "01"]))


@settings(max_examples=150, deadline=None)
@given(st.integers(6, 9).flatmap(lambda width: st.lists(
    st.tuples(frame, st.lists(field, min_size=width - 1, max_size=width - 1)), min_size=1, max_size=6)))
def test_rows_read_at_once_as_line_by_line(rows):
    lines = [",".join([first, *rest]) for first, rest in rows]
    got = plain_rows(lines)
    if got is not None:
        assert got == [parse_row(line) for line in lines]
        assert [[type(v) for v in row[2]] for row in got] == [[type(v) for v in parse_row(line)[2]] for line in lines]


numbers = st.one_of(finite, st.integers(-2**60, 2**60), st.sampled_from([0.0, -0.0, 1e-5, 1.0, 1e16, True, "x", None]))


@settings(max_examples=150, deadline=None)
@given(st.lists(numbers, max_size=8), st.lists(st.lists(st.one_of(finite, st.integers(-10**6, 10**6)), min_size=4,
                                                        max_size=4), max_size=5))
def test_numbers_written_at_once_as_one_by_one(values, boxes):
    assert number_texts(values) == [_text(value) for value in values]
    assert row_texts(boxes, ",") == [",".join(map(str, box)) for box in boxes]


def test_a_plain_file_is_read_at_once():
    lines = ["1,1,10,20,30.5,40,1,1,0.5", "2,1,11,20,30.5,40,0,1,1.0", "2,-1,1e2,-0,3,4,1,3,1"]
    assert plain_rows(lines) == [parse_row(line) for line in lines]
    assert plain_rows([*lines, "3,2,1,1,1,1"]) is None  # lines of different lengths: line by line
