"""labelme points are checked and flattened in bulk when they are plain pairs of numbers: the answer
is the one the per-point check gives, for any points."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import labelme

coordinates = st.one_of(
    st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["1", None, [1], 10**400]),
)
points = st.lists(st.one_of(st.lists(coordinates, min_size=0, max_size=4), st.tuples(coordinates, coordinates),
                            coordinates), max_size=6)
plain_points = st.lists(st.lists(st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6)), min_size=2,
                                 max_size=2), max_size=8)


@settings(max_examples=400, deadline=None)
@given(st.one_of(points, plain_points))
def test_points_are_judged_as_one_by_one(shape_points):
    in_bulk = labelme._point_pairs(shape_points)
    with mock.patch.object(labelme, "_plain_pairs", lambda points: False):  # every point checked alone
        one_by_one = labelme._point_pairs(shape_points)
    assert in_bulk == one_by_one


@settings(max_examples=300, deadline=None)
@given(plain_points)
def test_flat_points_are_what_numpy_makes_of_them(shape_points):
    flat = labelme._flat(shape_points)
    expected = np.asarray(shape_points).ravel().tolist()
    assert flat == expected
    assert [type(v) for v in flat] == [type(v) for v in expected]  # one float makes every coordinate a float
