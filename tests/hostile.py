"""Hostile input for every public function of the core (issue #14): valid projects with a few
parts replaced by wrong types, NaN/inf/huge numbers, missing keys, wrong nesting, empty regions,
absurd sizes; importer files truncated or not UTF-8. The only exception allowed is FormatError.

Run by ``tests/test_fuzz.py`` in a subprocess under a memory cap and a per-case time cap:

    python tests/hostile.py [--examples N] [--census] [TARGET ...]

``--census`` runs every case without stopping and counts the unexpected exceptions by target and
type (for finding them all at once); without it each target stops at its first failure, shrunk.
"""

from __future__ import annotations

import argparse
import copy
import math
import resource
import signal
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff
from fastlabel_formats import FormatError

CASE_SECONDS = 20.0  # one case, however hostile, ends well before this
MEMORY_CAP = 3 << 30  # address space of the fuzzing process (bytes)

HOSTILE_VALUES = [
    None, True, False, -1, 0, 1, 2**63, -(2**63), 10**30, 1e9, -1e9, 1e308, -1e308, math.nan, math.inf, -math.inf,
    0.5, 64.0, 100_000, 46_341, "", "a", "5", "\x00", "a\x00b", "../x", "a/b", "é",
    [], [[]], [[[]]], [None], [1], [[1, 2]], [[[1, 2]]],
    [1e308, 1e308, 1e308, 1e308], [math.nan] * 4, list(range(7)), {}, {"a": 1}, {"value": None}, "1e400",
]
hostile = st.sampled_from(HOSTILE_VALUES)


def valid_task(name: str = "img/a.jpg") -> dict:
    """An image task with one annotation of every type, attributes and keypoints."""
    return {"name": name, "width": 64, "height": 48, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 2, 30, 40], "rotation": 0,
         "attributes": [{"key": "occluded", "type": "switch", "value": True}]},
        {"type": "bbox", "value": "cat", "points": [10, 10, 20, 30], "rotation": 30},
        {"type": "polygon", "value": "dog", "points": [5, 5, 20, 5, 20, 20, 5, 20]},
        {"type": "segmentation", "value": "dog",
         "points": [[[1, 1, 30, 1, 30, 30, 1, 30, 1, 1], [5, 5, 10, 5, 10, 10, 5, 10, 5, 5]],
                    [[40, 40, 50, 40, 50, 47, 40, 40]]]},
        {"type": "keypoint", "value": "nose", "points": [3, 4]},
        {"type": "line", "value": "lane", "points": [0, 0, 10, 10, 20, 5]},
        {"type": "pose_estimation", "value": "person",
         "keypoints": [{"key": "head", "name": "head", "value": [10, 10, 2]}, {"key": "neck", "value": [12, 20, 1]}]},
        {"type": "classification", "value": "day", "attributes": [{"key": "weather", "type": "text", "value": "sun"}]},
    ]}


def mutate(data: st.DataObject, node: object, depth: int = 0) -> object:
    """``node`` (not mutated) with one part below it replaced, removed, duplicated or hostile."""
    if isinstance(node, dict) and node and depth < 6 and data.draw(st.integers(0, 9)) < 8:
        key = data.draw(st.sampled_from(sorted(node, key=str)))
        action = data.draw(st.sampled_from(["replace", "delete", "descend", "descend", "descend"]))
        changed = dict(node)
        if action == "delete":
            del changed[key]
        else:
            changed[key] = data.draw(hostile) if action == "replace" else mutate(data, node[key], depth + 1)
        return changed
    if isinstance(node, list) and node and depth < 6 and data.draw(st.integers(0, 9)) < 8:
        index = data.draw(st.integers(0, len(node) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "duplicate", "append", "descend", "descend"]))
        changed = list(node)
        if action == "delete":
            del changed[index]
        elif action == "duplicate":
            changed.insert(index, copy.deepcopy(node[index]))
        elif action == "append":
            changed.append(data.draw(hostile))
        else:
            changed[index] = data.draw(hostile) if action == "replace" else mutate(data, node[index], depth + 1)
        return changed
    return data.draw(hostile)


def hostile_tasks(data: st.DataObject) -> list:
    """Two valid tasks and an empty one, with one to three mutations anywhere."""
    tasks: object = [valid_task("img/a.jpg"), valid_task("b.png"), {"name": "c.jpg", "width": 8, "height": 8,
                                                                    "annotations": []}]
    for _ in range(data.draw(st.integers(1, 3))):
        tasks = mutate(data, tasks)
    return tasks


DEFINITIONS = [{"type": "pose_estimation", "value": "person", "title": "person",
                "skeleton": [[1, 2]], "keypoints": [{"key": "head", "name": "head"}, {"key": "neck", "name": "neck"}]},
               {"type": "bbox", "value": "cat", "title": "cat"}]


def _each(function: Callable) -> Callable:
    """``function`` applied to every task of the list (render, draw, split take one task)."""
    return lambda tasks, folder: [function(task) for task in (tasks if isinstance(tasks, list) else [tasks])]


def _draw(task: object) -> object:
    from PIL import Image

    return ff.draw_annotations(Image.new("RGB", (64, 48)), task)


TASK_TARGETS: dict[str, Callable] = {
    "to_coco": lambda tasks, folder: ff.to_coco(tasks),
    "to_coco_rle": lambda tasks, folder: ff.to_coco(tasks, holes="rle"),
    "to_coco_exact_pose": lambda tasks, folder: ff.to_coco(tasks, holes="rle", raster="exact",
                                                           annotations=DEFINITIONS),
    "to_yolo": lambda tasks, folder: ff.to_yolo(tasks),
    "to_yolo_segmentation": lambda tasks, folder: ff.to_yolo(tasks, project_type="image_segmentation"),
    "to_yolo_obb_classes": lambda tasks, folder: ff.to_yolo(tasks, obb=True, classes=["cat", "dog"]),
    "to_pascalvoc": lambda tasks, folder: ff.to_pascalvoc(tasks),
    "to_labelme": lambda tasks, folder: ff.to_labelme(tasks),
    "render_semantic_mask": _each(ff.render_semantic_mask),
    "render_instance_mask": _each(lambda task: ff.render_instance_mask(task, raster="exact")),
    "draw_annotations": _each(_draw),
    "split_image_task": _each(lambda task: ff.split_image_task(task, 2, 3)),
    "export_coco": lambda tasks, folder: ff.export_coco(tasks, folder, holes="rle"),
    "export_yolo": lambda tasks, folder: ff.export_yolo(tasks, folder),
    "export_pascalvoc": lambda tasks, folder: ff.export_pascalvoc(tasks, folder),
    "export_labelme": lambda tasks, folder: ff.export_labelme(tasks, folder),
    "export_semantic_segmentation": lambda tasks, folder: ff.export_semantic_segmentation(tasks, folder),
    "export_instance_segmentation": lambda tasks, folder: ff.export_instance_segmentation(tasks, folder),
    "export_targets": lambda tasks, folder: ff.export_targets(
        tasks, {name: Path(folder) / name for name in ("coco", "yolo", "voc", "labelme", "semantic")}),
    "validate": lambda tasks, folder: ff.validate(tasks, classes=["cat", "dog"]),
    "stats": lambda tasks, folder: ff.stats(tasks),
}


class CaseTimeout(Exception):
    """One case ran longer than CASE_SECONDS."""


def _alarm(signum, frame):
    raise CaseTimeout(f"a case ran longer than {CASE_SECONDS} s")


class Census:
    """Unexpected exceptions by (target, type, first line), in --census mode."""

    def __init__(self, counting: bool) -> None:
        self.counting = counting
        self.found: Counter = Counter()
        self.example: dict = {}

    def check(self, target: str, call: Callable[[], object], case: object) -> None:
        """Run one case: FormatError and success pass; anything else is counted or raised."""
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            call()
        except FormatError:
            pass
        except Exception as error:  # noqa: BLE001 - the point of the fuzzer
            if not self.counting:
                raise
            key = (target, type(error).__name__, str(error).splitlines()[0][:100] if str(error) else "")
            self.found[key] += 1
            self.example.setdefault(key, (repr(case)[:600], traceback.format_exc(limit=-4)))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def task_case(census: Census, target: str, examples: int) -> Callable[[], None]:
    """The hypothesis test of one task target."""
    function = TASK_TARGETS[target]

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def case(data):
        tasks = hostile_tasks(data)
        before = copy.deepcopy(tasks)
        with tempfile.TemporaryDirectory() as folder:
            census.check(target, lambda: function(tasks, folder), tasks)
        assert _same(tasks, before), "the caller's tasks were mutated"

    return case


def _same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--census", action="store_true")
    parser.add_argument("targets", nargs="*")
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    np.seterr(all="ignore")
    from hostile_files import OTHER_TARGETS  # importers, masks, integrate: cases of their own

    census = Census(args.census)
    failed = []
    for target in args.targets or list(TASK_TARGETS) + list(OTHER_TARGETS):
        case = task_case(census, target, args.examples) if target in TASK_TARGETS else OTHER_TARGETS[target](
            census, args.examples)
        try:
            case()
        except Exception as error:  # noqa: BLE001
            failed.append(target)
            print(f"FAIL {target}: {type(error).__name__}: {str(error)[:300]}", flush=True)
            traceback.print_exc(limit=-6)
        else:
            print(f"ok   {target}", flush=True)
    for (target, kind, message), count in census.found.most_common():
        print(f"{count:5d} {target}: {kind}: {message}")
        case, where = census.example[(target, kind, message)]
        print(f"      e.g. {case}\n      {where.strip().splitlines()[-3:]}")
    print(f"{len(failed)} target(s) failed: {failed}" if failed else "every target raised only FormatError")
    return 1 if failed or census.found else 0

if __name__ == "__main__":
    sys.exit(main())
