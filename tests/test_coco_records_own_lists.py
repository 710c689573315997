"""Records handed to the caller own their lists: changing a segmentation that ``to_coco`` returned
leaves the tasks as they were (only the writers, which serialise the records at once, share the
tasks' point lists)."""

from __future__ import annotations

import copy

import fastlabel_formats as ff

TASKS = [{"name": "a.jpg", "width": 100, "height": 80, "annotations": [
    {"type": "polygon", "value": "car", "points": [10, 10, 50, 10, 50, 40, 10, 40]},
    {"type": "segmentation", "value": "dog", "points": [[[1, 1, 30, 1, 30, 20, 1, 20]]]},
]}]


def test_to_coco_records_do_not_share_the_tasks_lists():
    tasks = copy.deepcopy(TASKS)
    coco = ff.to_coco(tasks)
    for record in coco["annotations"]:
        for ring in record["segmentation"]:
            ring[0] = -1.0
    assert tasks == TASKS
