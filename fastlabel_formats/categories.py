"""The census of a run's input: its class values, their colours and order, found in one cheap pass
before anything is written (COCO categories, YOLO class names and semantic classes come from it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat

CLASSED_TYPES = ("bbox", "polygon", "segmentation", "pose_estimation")  # what COCO and YOLO classify
KEYPOINT_DEFINITION_TYPES = ("pose_estimation", "bbox")
_PLAIN = (int, float, bool, type(None))  # values that name no class: settled once counted


@dataclass
class Census:
    """What a pass over the tasks found: how many, every value, and per value of the classed
    types the colour of its first annotation, in order of first occurrence."""

    source: str = "tasks"
    tasks: int = 0
    first_color: dict = field(default_factory=dict)
    values: set = field(default_factory=set)
    # per value with keypoints, its keypoints in order of first occurrence: {key: {"key", "color", "edges"}}
    keypoints: dict = field(default_factory=dict)
    # values whose further annotations change nothing above but their keypoints (a value of a
    # classed type once its colour is known; any other but a string)
    settled: set = field(default_factory=set, repr=False)

    def add(self, task: dict) -> None:
        """Count one (already checked) task and its values."""
        self.tasks += 1
        annotations = task.get("annotations", ())
        try:
            values = set(map(dict.get, annotations, repeat("value")))
        except TypeError:  # a list or an object as a value
            self._add_each(annotations)
            return
        if values - self.settled or any(map(dict.get, annotations, repeat("keypoints"))):  # else: nothing new to see
            self._add_each(annotations)

    def add_all(self, tasks: Sequence[dict]) -> None:
        """:meth:`add` each of ``tasks`` in order."""
        for task in tasks:
            self.add(task)

    def _add_each(self, annotations: Sequence[dict]) -> None:
        """Count the values, first colours and keypoints of ``annotations`` one by one."""
        for annotation in annotations:
            value, kind = annotation.get("value"), annotation.get("type")
            if isinstance(value, (str, int, float)):  # a list or an object cannot name a class
                self.values.add(value)
            if kind in CLASSED_TYPES and type(value) is str:  # other values: malformed, skipped by the table
                if value not in self.first_color:
                    self.first_color[value] = annotation.get("color")
                if annotation.get("keypoints") and _usable(kind, annotation):  # a pose, or a bbox with keypoints
                    _add_keypoints(self.keypoints.setdefault(value, {}), annotation["keypoints"])
            if type(value) in _PLAIN or (type(value) is str and value in self.first_color):
                self.settled.add(value)

    def merge(self, other: Census) -> None:
        """Add the census of the tasks that come after ours."""
        self.tasks += other.tasks
        for value, color in other.first_color.items():
            self.first_color.setdefault(value, color)
        self.values |= other.values
        for value, keypoints in other.keypoints.items():
            _add_keypoints(self.keypoints.setdefault(value, {}), keypoints.values())

    def class_names(self) -> list[str]:
        """The values of the classed types, sorted (the default class order)."""
        return sorted(self.first_color)

    def all_values(self) -> list:
        """Every value of any type, sorted (the official SDK's default semantic classes)."""
        return sorted(self.values)

    def categories(self, definitions: Sequence[dict] | None = None, classes: Sequence[str] | None = None
                   ) -> list[dict]:
        """COCO categories in the run's class order (:func:`class_order`): every project definition
        of a classed type (used or not, so that separately exported splits agree) and any other
        whose value is used; else ``classes``; else the sorted values. Without definitions a pose
        value's keypoints are those its annotations name."""
        if definitions:
            kept = [d for d in definitions if d.get("type") in CLASSED_TYPES or d.get("value") in self.first_color]
            return [definition_category(i, d) for i, d in enumerate(kept, 1)]
        return [category(i, v, self.first_color.get(v), list(self.keypoints.get(v, {}).values()))
                for i, v in enumerate(classes or self.class_names(), 1)]

    def class_order(self, definitions: Sequence[dict] | None = None, classes: Sequence[str] | None = None
                    ) -> list[str]:
        """The one class order of a run: the values of the classed definitions in their order,
        else ``classes`` as given, else the sorted values of the classed annotations."""
        if definitions:
            return list(dict.fromkeys(c["name"] for c in self.categories(definitions)))
        return list(classes) if classes else self.class_names()


def _add_keypoints(known: dict, keypoints: object) -> None:
    """Add the keypoints not yet in ``known`` (by key, in order) and the edges not yet listed; the
    key doubles as the id the edges name (annotation keypoints list their edges by key)."""
    for keypoint in keypoints:
        if not isinstance(keypoint, dict) or not isinstance(keypoint.get("key"), str):
            continue
        entry = known.setdefault(keypoint["key"], {"id": keypoint["key"], "key": keypoint["key"],
                                                   "color": keypoint.get("color"), "edges": []})
        entry["edges"] += [e for e in keypoint.get("edges") or () if isinstance(e, str) and e not in entry["edges"]]


def category(category_id: int, value: str, color: object, keypoints: Sequence[dict] = ()) -> dict:
    """One COCO category record."""
    return {
        "skeleton": coco_skeleton(keypoints),
        "keypoints": [k["key"] for k in keypoints],
        "keypoint_colors": [k.get("color") for k in keypoints],
        "color": color,
        "supercategory": value,
        "id": category_id,
        "name": value,
    }


def definition_category(category_id: int, definition: dict) -> dict:
    """The COCO category of one project annotation definition (keypoints for pose and bbox)."""
    keypoints = definition.get("keypoints") or [] if definition.get("type") in KEYPOINT_DEFINITION_TYPES else []
    return category(category_id, definition["value"], definition.get("color"), keypoints)


def coco_skeleton(keypoints: Sequence[dict]) -> list[list[int]]:
    """1-based ``[self, target]`` pairs of the keypoint edges, each unordered pair once (one-directional edges kept)."""
    position = {k.get("id"): p for p, k in enumerate(keypoints, 1)}
    skeleton, seen = [], set()
    for own, keypoint in enumerate(keypoints, 1):
        for edge in keypoint.get("edges") or ():
            target = position.get(edge)
            if target is None or frozenset((own, target)) in seen:
                continue
            seen.add(frozenset((own, target)))
            skeleton.append([own, target])
    return skeleton


def first_index(names: Sequence) -> dict:
    """``{name: position of its first occurrence}``."""
    index: dict = {}
    for position, name in enumerate(names):
        index.setdefault(name, position)
    return index


def _usable(kind: object, annotation: dict) -> bool:
    """Whether the tables will take ``annotation`` (a malformed one is skipped and reported there)."""
    from .validation import quick_problem

    return not quick_problem(kind, annotation, annotation.get("points"))
