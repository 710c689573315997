"""DOTA coordinates read in one call (JSON decoding) and written in one call (orjson) give what
numpy reading them and ``str`` writing them give, value for value and character for character."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.formats.dota import _floats, coordinate_array, format_coordinates
from fastlabel_formats.geometry import integral_to_int, python_round

finite = st.floats(-1e17, 1e17, allow_nan=False)
awkward = st.sampled_from(["-0", "-0.0", "0", "1e5", "+5", ".5", "5.", "007", "nan", "inf", "1e400", "-1e-400",
                           "9007199254740993", "1" * 30, "x"])
token = st.one_of(finite.map(repr), finite.map(lambda v: f"{v:.2f}"), st.integers(-10**6, 10**6).map(str), awkward)


def numpy_coordinates(fields: list[list[str]]) -> np.ndarray:
    try:
        numbers = np.array(fields, dtype=np.float64).reshape(-1, 8)
    except ValueError:
        numbers = np.array([_floats(row) for row in fields], dtype=np.float64).reshape(-1, 8)
    numbers[~np.isfinite(numbers).all(axis=1)] = np.nan
    return numbers


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(token, min_size=8, max_size=8), min_size=1, max_size=5))
def test_coordinates_read_as_numpy_reads_them(fields):
    got, want = coordinate_array(fields), numpy_coordinates(fields)
    assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(want))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(finite, st.sampled_from([0.0, -0.0, 1e-6, 0.5, 1e16])), min_size=8, max_size=8),
                min_size=1, max_size=6))
def test_coordinates_written_as_str_writes_them(rows):
    corners = np.array(rows, np.float64)
    assert format_coordinates(corners) == [" ".join(map(str, row))
                                           for row in integral_to_int(python_round(corners, 9))]
