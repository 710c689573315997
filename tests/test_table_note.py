"""A table's report lines for a mask of rows: the same lines, counts and examples as noting the rows
one by one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.report import EXAMPLES_KEPT, ConversionReport
from fastlabel_formats.table import table_of

KINDS = ["bbox", "polygon", "keypoint", "segmentation", "line"]
PROBLEMS = ["{kind} skipped", "empty {kind} in {target}", "a loss with no kind", "{target} keeps no {kind!r}"]


def noted_one_by_one(table, report: ConversionReport, rows: np.ndarray, problem: str) -> None:
    by_message: dict[str, list[int]] = {}
    for row in np.flatnonzero(rows).tolist():
        by_message.setdefault(problem.format(kind=table.kinds[row], target=report.target), []).append(row)
    for message, message_rows in by_message.items():
        report.add(message, len(message_rows), [table.place(r) for r in message_rows[:EXAMPLES_KEPT]])


POINTS = {"bbox": [0, 0, 4, 4], "keypoint": [1, 1], "segmentation": [[[0, 0, 4, 0, 4, 4]]]}


def points_of(kind: str) -> list:
    return POINTS.get(kind, [0, 0, 4, 0, 4, 4])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.booleans()), max_size=30), st.sampled_from(PROBLEMS))
def test_rows_are_noted_as_one_by_one(rows, problem):
    tasks = [{"name": f"t{i // 4}.jpg", "width": 9, "height": 9, "annotations": []} for i in range(0, len(rows), 4)]
    for i, (kind, _) in enumerate(rows):
        tasks[i // 4]["annotations"].append({"type": kind, "value": "v", "points": points_of(kind)})
    table = table_of(tasks, "tasks.json")
    mask = np.array([flag for _, flag in rows], bool)
    ours, expected = ConversionReport("yolo"), ConversionReport("yolo")
    table.note(ours, mask, problem)
    noted_one_by_one(table, expected, mask, problem)
    assert ours.findings == expected.findings
