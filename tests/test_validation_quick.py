"""``quick_problem`` settles the common annotation in one pass and hands every other to
``annotation_problem``: on any input the two name the same problem (or none)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.validation import NO_GEOMETRY, annotation_problem, quick_problem

ABSENT = object()
ODD = st.sampled_from([None, 0, 1, 2, -1, 1.0, 0.5, math.nan, math.inf, True, False, "", "x", [1, 2],
                       [[[[[[[[[[1]]]]]]]]]], {"a": 1}, ABSENT])
ATTRIBUTE = st.one_of(
    st.fixed_dictionaries({}, optional={"key": st.sampled_from(["truncated", "kind", 3, None]), "value": ODD,
                                        "type": st.sampled_from(["switch", "select", "text", 1])}),
    st.sampled_from(["x", 3, None, []]),
)
ATTRIBUTES = st.one_of(st.lists(ATTRIBUTE, max_size=4), st.sampled_from([ABSENT, None, "x", {}, 0, {"key": "a"}]))
KEYPOINTS = st.sampled_from([ABSENT, [], None, "x", [{"key": "nose", "value": [1, 2, 2]}], [1]])
ROTATION = st.sampled_from([ABSENT, 0, 0.0, 12.5, -3, math.nan, math.inf, "x", True, None, [0]])
KIND = st.sampled_from(["bbox", "polygon", "segmentation", "keypoint", "line", "pose_estimation", "circle",
                        "classification", 3, None, ["bbox"]])
POINTS = st.sampled_from([None, [], [0, 0, 1, 1], [0, 0, 1], [[[0, 0, 1, 0, 1, 1]]], [1, 2, 3], "x", [[[[[1]]]]]])


def _annotation(value: object, rotation: object, keypoints: object, attributes: object) -> dict:
    fields = {"value": value, "rotation": rotation, "keypoints": keypoints, "attributes": attributes}
    return {key: held for key, held in fields.items() if held is not ABSENT}


@settings(max_examples=600, deadline=None)
@given(KIND, st.builds(_annotation, ODD | st.just("cat"), ROTATION, KEYPOINTS, ATTRIBUTES), POINTS)
def test_quick_problem_names_what_annotation_problem_names(kind, annotation, points) -> None:
    assert quick_problem(kind, annotation, points) == annotation_problem(kind, annotation, points, NO_GEOMETRY)


def test_the_common_annotation_is_fine() -> None:
    attributes = [{"key": "truncated", "type": "switch", "value": True},
                  {"key": "kind", "type": "select", "value": "a"}]
    assert quick_problem("bbox", {"value": "cat", "rotation": 0, "attributes": attributes}, [0, 0, 1, 1]) is None
    assert quick_problem("bbox", {"value": "cat", "attributes": [{"key": "t", "type": "switch", "value": 2}]},
                         [0, 0, 1, 1]) is not None
