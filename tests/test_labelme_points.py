"""labelme points are checked and flattened in bulk when they are plain pairs of numbers: the answer
is the one the per-point check gives, for any points."""

from __future__ import annotations

import copy
from unittest import mock

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastlabel_formats import labelme
from fastlabel_formats.report import ConversionReport

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
@example([[10**400, 0], [-10**400, 0], [1, 1]])  # summed as ints, the huge ones cancel out
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
    checked = labelme._plain_flat(shape_points)  # the common shapes' way: checked and flattened at once
    assert checked == flat and [type(v) for v in checked] == [type(v) for v in flat]


shape_values = {
    "label": st.one_of(st.sampled_from(["dog", "", " cat", None, 3, True]), st.text(max_size=3)),
    "points": st.one_of(plain_points, points, st.none()),
    "group_id": st.one_of(st.none(), st.integers(-2, 3), st.booleans(), st.sampled_from([1.0, "1", [1]])),
    "shape_type": st.sampled_from(["polygon", "rectangle", "point", "line", "linestrip", "circle", "rotation",
                                   "mask", "", None, ["polygon"], {"a": 1}]),
    "flags": st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.booleans(), st.none(),
                                                                                         st.integers()))),
    "description": st.sampled_from([None, "", "text", 0, False, [], {}]),
    "mask": st.sampled_from([None, "abc"]),
    "difficult": st.sampled_from([True, False, None]),
    "attributes": st.sampled_from([None, {}, {"k": "v"}]),
    "score": st.sampled_from([None, 0.5]),
}
shapes = st.one_of(
    st.fixed_dictionaries({}, optional=shape_values),
    st.fixed_dictionaries({key: shape_values[key] for key in ("label", "points", "shape_type")},
                          optional={key: shape_values[key] for key in ("group_id", "flags", "description", "mask")}),
    st.sampled_from([None, [], "shape"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(shapes, max_size=6))
def test_shapes_read_at_once_are_read_as_one_by_one(document_shapes):
    """The common shapes read at once give the annotations, groups and findings of the careful reader."""
    document = {"shapes": document_shapes}
    at_once = ConversionReport("labelme import")
    read = labelme.labelme_annotations(copy.deepcopy(document), "a.json", at_once)
    careful = ConversionReport("labelme import")
    with mock.patch.object(labelme, "_plain_shape", lambda shape: None):
        expected = labelme.labelme_annotations(copy.deepcopy(document), "a.json", careful)
    assert read == expected
    assert [[type(v) for v in a.get("points", ())] for a in read] == \
        [[type(v) for v in a.get("points", ())] for a in expected]
    assert at_once.findings == careful.findings
