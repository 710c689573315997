"""The table's bulk path (every row's rings laid out at once, raising on anything off) gives the table
that checking and laying out each annotation on its own gives: the same rows kept, the same
malformed ones named with their places and problems, the same rings — on any mix of well-formed
and malformed annotations."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.table import gather
from fastlabel_formats.tasks import image_frames
from fastlabel_formats.validation import RING_TYPES, annotation_problem

NUMBER = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -1.25, 1e300, math.nan, math.inf, True, "1", None]))
COORDINATES = st.lists(NUMBER, max_size=9)
RING = st.one_of(COORDINATES, st.sampled_from([[0, 0, 4, 0, 4, 4], [1, 1, 2, 1, 2, 2, 1, 2], "ab", 3, {"x": 1}]))
REGION = st.one_of(st.lists(RING, max_size=3), st.sampled_from([[], "x", 1, {}]))
SEGMENTATION = st.one_of(st.lists(REGION, max_size=3), st.sampled_from([[], None, "x", {"a": 1}]))
FLAT = st.one_of(COORDINATES, st.sampled_from([[0, 0, 4, 4], [1, 2], [[1, 2], [3, 4]], [], None, "xyzw", {"a": 1}]))
KIND = st.sampled_from(["bbox", "polygon", "line", "keypoint", "segmentation", "circle", "classification", 3])


@st.composite
def annotations(draw) -> dict:
    kind = draw(KIND)
    points = draw(SEGMENTATION if kind == "segmentation" else FLAT)
    annotation = {"type": kind, "value": draw(st.sampled_from(["cat", "dog", 3])), "points": points}
    if draw(st.booleans()):
        annotation["rotation"] = draw(st.sampled_from([0, 12.5, math.nan, "x"]))
    return annotation


TASKS = st.lists(st.builds(lambda anns: {"name": "t", "width": 8, "height": 8, "annotations": anns},
                           st.lists(annotations(), max_size=6)), min_size=1, max_size=4)
GEOMETRY = st.sampled_from([RING_TYPES, frozenset({"bbox", "polygon", "segmentation"}), frozenset({"bbox"})])


def reference_rings(kinds: list, points: list, geometry: frozenset) -> tuple[list, list, list]:
    """Per row its rings (lists of numbers) and their hole flags, laid out one annotation at a time."""
    rings, holes, per_row = [], [], []
    for kind, shape in zip(kinds, points):
        row = []
        if shape and kind in geometry:
            if kind == "segmentation":
                for region in shape:
                    row += [(ring, position > 0) for position, ring in enumerate(region)]
            else:
                row = [(shape, False)]
        per_row.append(len(row))
        rings += [ring for ring, _ in row]
        holes += [hole for _, hole in row]
    return rings, holes, per_row


@settings(max_examples=400, deadline=None)
@given(TASKS, GEOMETRY)
def test_the_bulk_table_is_the_one_of_annotation_by_annotation(tasks, geometry) -> None:
    table = gather(tasks, image_frames(tasks), "tasks.json", geometry)
    rows = [(position, index, annotation) for position, task in enumerate(tasks)
            for index, annotation in enumerate(task["annotations"])]
    problems = [annotation_problem(a.get("type"), a, a.get("points"), geometry) for _, _, a in rows]
    kept = [row for row, problem in zip(rows, problems) if problem is None]
    assert [problem for _, problem in table.malformed] == [p for p in problems if p]
    assert [place.split(" annotation #")[1].split(" ")[0] for place, _ in table.malformed] == \
        [str(index) for (_, index, _), problem in zip(rows, problems) if problem]
    assert table.frame.tolist() == [position for position, _, _ in kept]
    assert table.index.tolist() == [index for _, index, _ in kept]
    assert all(a is b for a, (_, _, b) in zip(table.annotations, kept)) and len(table) == len(kept)
    rings, holes, per_row = reference_rings(table.kinds, table.points, geometry)
    assert np.diff(table.rings.shape_ring_offsets).tolist() == per_row
    assert table.rings.is_hole.tolist() == holes
    offsets = table.rings.ring_offsets
    laid = [table.rings.coords[start:end].ravel().tolist() for start, end in zip(offsets[:-1], offsets[1:])]
    assert laid == [[float(v) for v in ring] for ring in rings]


def test_an_empty_region_is_malformed_whatever_else_the_chunk_holds() -> None:
    alone = [{"name": "a", "annotations": [{"type": "segmentation", "value": "cat", "points": [[]]}]}]
    beside = [{"name": "b", "annotations": [
        {"type": "segmentation", "value": "cat", "points": [[[0, 0, 4, 0, 4, 4]]]},
        {"type": "segmentation", "value": "cat", "points": [[]]}]}]
    for tasks in (alone, beside):
        table = gather(tasks, image_frames(tasks), "tasks.json")
        assert [problem for _, problem in table.malformed] == [
            "expected regions as non-empty lists of rings (list of list of numbers)"]


def test_rings_of_a_mixed_chunk_are_in_row_order() -> None:
    tasks = [{"name": "a", "annotations": [
        {"type": "segmentation", "value": "cat",
         "points": [[[0, 0, 4, 0, 4, 4], [1, 1, 2, 1, 2, 2]], [[9, 9, 8, 8, 7, 9]]]},
        {"type": "bbox", "value": "cat", "points": [1, 2, 3, 4]},
        {"type": "classification", "value": "cat"},
        {"type": "polygon", "value": "cat", "points": [5, 5, 6, 5, 6, 6]}]}]
    rings = gather(tasks, image_frames(tasks), "tasks.json").rings
    assert rings.shape_ring_offsets.tolist() == [0, 3, 4, 4, 5]
    assert rings.ring_offsets.tolist() == [0, 3, 6, 9, 11, 14]
    assert rings.is_hole.tolist() == [False, True, False, False, False]
    assert rings.coords[9:11].tolist() == [[1.0, 2.0], [3.0, 4.0]]
