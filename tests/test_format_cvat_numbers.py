"""CVAT numbers read and written in one pass (JSON decoding, printf formatting) give what reading
and writing them one by one gives: the same values, the same types, the same text, the same errors."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.formats.cvat.shapes import number, number_text, number_texts, numbers, parse_points, points_text

finite = st.floats(allow_nan=False, allow_infinity=False)
awkward = st.sampled_from(["-0", "-0.0", "0.0", "12.00", "1e2", "1E-2", "+5", ".5", "5.", "007", " 5", "1_0", "nan",
                           "inf", "1e400", "9007199254740993", "4503599627370496.5", "", "x", "1,2", "0x10", "١٢"])
number_text_strategy = st.one_of(
    finite.map(repr), finite.map(lambda v: f"{v:.2f}"), finite.map(lambda v: f"{v:e}"),
    st.integers(-2**60, 2**60).map(str), st.floats(-1e4, 1e4).map(lambda v: f"{v:.9f}"), awkward)


def one_by_one(texts: list) -> list | str:
    """``[number(t) for t in texts]``, or the text of the error it raises."""
    try:
        return [number(text) for text in texts]
    except (TypeError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def same_values(got: list, want: list) -> bool:
    return [(type(v), v, math.copysign(1, v) if isinstance(v, float) else 0) for v in got] == \
        [(type(v), v, math.copysign(1, v) if isinstance(v, float) else 0) for v in want]


@settings(max_examples=150, deadline=None)
@given(st.lists(number_text_strategy, min_size=1, max_size=9))
def test_numbers_read_as_number_reads_each(texts):
    want = one_by_one(texts)
    try:
        got = numbers(texts)
    except (TypeError, ValueError) as error:
        got = f"{type(error).__name__}: {error}"
    assert got == want if isinstance(want, str) else same_values(got, want)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(number_text_strategy, number_text_strategy), min_size=1, max_size=6))
def test_points_read_as_their_numbers_one_by_one(pairs):
    text = ";".join(f"{x},{y}" for x, y in pairs)
    want = one_by_one(text.replace(";", ",").split(","))
    try:
        got = parse_points(text)
    except ValueError as error:
        got = f"ValueError: {error}"
    if isinstance(want, list) and isinstance(got, list):
        assert same_values(got, want)
    else:
        assert isinstance(got, str) and (got == want or "pairs" in got)


writable = st.one_of(finite, st.integers(-2**60, 2**60), st.sampled_from([-0.0, 0.0, 2.0**53, 1e16, 1e-5, 0.1,
                                                                          float("nan"), float("inf"), True]))


@settings(max_examples=150, deadline=None)
@given(st.lists(writable, min_size=1, max_size=10))
def test_numbers_written_as_number_text_writes_each(values):
    assert number_texts(values) == [number_text(value) for value in values]
    if len(values) % 2 == 0:
        assert points_text(values) == ";".join(f"{number_text(values[i])},{number_text(values[i + 1])}"
                                               for i in range(0, len(values), 2))
