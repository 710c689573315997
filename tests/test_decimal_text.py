"""Numbers printed a whole array at once: the same text as Python's ``str``, byte for byte."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import decimal_text
from fastlabel_formats.decimal_text import render_tokens
from fastlabel_formats.geometry import truncate

EDGES = [0.0, -0.0, 1e-7, -1e-7, 5e-8, -5e-8, 1e-5, 9.99e-5, 1e-4, -1e-4, 0.9999999, 1.0, -1.0, 0.5, 1.5, 10.0,
         99999999.9999999, 1e8, 1e8 + 1, 123456.7, -0.1234567, 1e15, 1e16, 1e300, 5e-324, float("nan"),
         float("inf"), float("-inf"), 0.1 + 0.2, 2.0**53, 1 / 3, -2 / 3]


def python_text(values: list[float], decimals: int) -> bytes:
    """What the writers print: each value truncated to ``decimals`` places, as ``str``, one per line."""
    with np.errstate(over="ignore", invalid="ignore"):
        truncated = truncate(np.array(values, np.float64), decimals) + 0.0
    return "".join(f"{value}\n" for value in truncated.tolist()).encode()


def rendered(values: list[float], decimals: int) -> bytes:
    with np.errstate(over="ignore", invalid="ignore"):
        units = np.trunc(np.array(values, np.float64) * float(10**decimals))
    text, ends = render_tokens(units, True, ord("\n"), decimals)
    assert ends.tolist() == np.cumsum([len(line) + 1 for line in text.tobytes().split(b"\n")[:-1]]).tolist()
    return text.tobytes()


@pytest.mark.parametrize("decimals", [1, 3, 4, 6, 7])
def test_edges_print_as_str(decimals):
    assert rendered(EDGES, decimals) == python_text(EDGES, decimals)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50), st.integers(1, 7))
def test_any_float_prints_as_str(values, decimals):
    assert rendered(values, decimals) == python_text(values, decimals)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-3, 3) | st.floats(-1e-3, 1e-3) | st.floats(-1e9, 1e9), max_size=50))
def test_normalised_coordinates_print_as_str(values):
    assert rendered(values, 7) == python_text(values, 7)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**12, 10**12), max_size=30))
def test_integer_tokens_print_as_int(numbers):
    text, _ = render_tokens(np.array(numbers, np.float64), False, ord(" "), 7)
    assert text.tobytes() == "".join(f"{n} " for n in numbers).encode()


def test_tokens_mix_integers_fractions_and_separators():
    units = np.array([3, 5_000_000, 12_500_000, 0, 10])
    separators = np.frombuffer(b" \n \n\n", np.uint8)
    text, ends = render_tokens(units, np.array([False, True, True, True, False]), separators, 7)
    assert text.tobytes() == b"3 0.5\n1.25 0.0\n10\n"
    assert ends.tolist() == [2, 6, 11, 15, 18]


def test_empty_and_bad_decimals():
    text, ends = render_tokens(np.zeros(0), True, ord(" "), 7)
    assert text.size == 0 and ends.size == 0
    with pytest.raises(ValueError, match="decimals"):
        render_tokens(np.zeros(1), True, ord(" "), 8)


def test_batches_join_seamlessly(monkeypatch):
    values = [0.5, -1e-6, 12.25, float("nan"), 3.0, 1e-4] * 9
    whole = rendered(values, 7)
    monkeypatch.setattr(decimal_text, "_BATCH", 7)
    assert rendered(values, 7) == whole == python_text(values, 7)
