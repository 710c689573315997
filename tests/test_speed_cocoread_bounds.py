"""columns.vertex_bounds rounds the bounds, not every vertex: the same bits as the bounds of the
rounded vertices (the sign of a zero included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fastlabel_formats.columns import vertex_bounds
from fastlabel_formats.geometry import outer_bounds, python_round
from fastlabel_formats.table import table_of

# values around zero and around the 6-decimal halves, where rounding and the sign of a zero matter
COORDINATE = st.one_of(st.sampled_from([0.0, -0.0, -1e-9, 1e-9, -4e-7, 4e-7, -5e-7, 5e-7, 2.5e-6, -2.5e-6]),
                       st.floats(-2000, 2000, allow_nan=False, allow_infinity=False))
RING = st.lists(st.tuples(COORDINATE, COORDINATE), min_size=3, max_size=6).map(
    lambda pairs: [value for pair in pairs for value in pair])
ANNOTATION = st.one_of(
    RING.map(lambda ring: {"type": "polygon", "value": "a", "points": ring}),
    st.lists(st.lists(RING, min_size=1, max_size=2), min_size=1, max_size=2).map(
        lambda regions: {"type": "segmentation", "value": "a", "points": regions}),
    st.tuples(COORDINATE, COORDINATE, COORDINATE, COORDINATE).map(
        lambda box: {"type": "bbox", "value": "a", "points": list(box)}),
)


@given(st.lists(ANNOTATION, max_size=8))
def test_vertex_bounds_are_the_bounds_of_the_rounded_vertices(annotations: list[dict]) -> None:
    table = table_of([{"name": "a.jpg", "width": 10, "height": 10, "annotations": annotations}], "test")
    expected = outer_bounds(table.rings, python_round(table.rings.coords))
    got = vertex_bounds(table)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(expected))
