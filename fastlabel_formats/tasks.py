"""Reading and checking FastLabel task JSON: the tasks, their frames and their annotations' points
(the columnar table of the annotations is :mod:`~fastlabel_formats.table`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

from .errors import FormatError, where
from .files import json_list


@dataclass(frozen=True)
class Frame:
    """One output image: an image task, or one frame (1-based ``key``) of a video task."""

    file_name: str
    width: int
    height: int
    task: int
    key: str | None = None
    task_name: str = ""

    @property
    def name(self) -> str:
        """The name of the task this frame belongs to."""
        return self.task_name or self.file_name


def is_video(project_type: object) -> bool:
    """The official SDK's test for a video project: a string starting with ``video_``."""
    return isinstance(project_type, str) and project_type.startswith("video_")


class TaskList(list):
    """A list of tasks that remembers the file it was read from (for messages)."""

    source: str = "tasks"


def load_tasks(tasks: str | os.PathLike[str] | Sequence[dict]) -> tuple[list[dict], str]:
    """The task list and a name for messages, from a list of task dicts or a JSON file path."""
    if isinstance(tasks, TaskList):
        return tasks, tasks.source
    data, source = json_list(tasks, "tasks file", "tasks")
    for position, task in enumerate(data):
        check_task(task, position, source)
    checked = TaskList(data)
    checked.source = source
    return checked, source


# the most annotations one task may have: a task is converted whole in memory (about 2.3 KB per
# annotation from its JSON to the written file), so 10⁶ would take 2.3 GB. A larger task is an error
# naming it. Raise it by setting ``fastlabel_formats.tasks.MAX_ANNOTATIONS_PER_TASK``.
MAX_ANNOTATIONS_PER_TASK = 100_000


def check_task(task: object, position: int, source: str) -> None:
    """Raise FormatError unless ``task`` has a string name, integer sizes >= 0 and a list of at
    most :data:`MAX_ANNOTATIONS_PER_TASK` annotation objects."""
    if not isinstance(task, dict):
        raise FormatError(f"{source}: task #{position} is {type(task).__name__}, not an object")
    name = task.get("name")
    if not isinstance(name, str) or not name:
        raise FormatError(f"{source}: task #{position} has no 'name'{_other_format(task)}")
    if "\x00" in name:
        raise FormatError(f"{source}: task #{position} name {name!r} holds a NUL byte")
    for key in ("width", "height"):
        size = task.get(key, 0)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise FormatError(f"{where(source, name)}: '{key}' must be an integer >= 0, got {size!r}")
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        raise FormatError(f"{where(source, name)}: 'annotations' must be a list of objects")
    if len(annotations) > MAX_ANNOTATIONS_PER_TASK:
        raise FormatError(f"{where(source, name)}: {len(annotations):,} annotations, more than the "
                          f"{MAX_ANNOTATIONS_PER_TASK:,} of one task (about 2.3 KB of memory each; raise "
                          "fastlabel_formats.tasks.MAX_ANNOTATIONS_PER_TASK for more)")
    if not all(map(isinstance, annotations, repeat(dict))):
        raise FormatError(f"{where(source, name)}: 'annotations' must be a list of objects")


def checked_task(task: object, source: str = "task") -> dict:
    """``task``, given on its own, after :func:`check_task`."""
    check_task(task, 0, source)
    return task  # type: ignore[return-value]


OTHER_FORMATS = (("coco", ("images", "annotations")), ("labelme", ("shapes", "imagePath")))


def _other_format(document: dict) -> str:
    """``"; this is a COCO file: …"`` when a would-be task is a document of another format."""
    for name, keys in OTHER_FORMATS:
        if all(key in document for key in keys):
            return (f"; this is a {name.upper() if name == 'coco' else name} file, not FastLabel tasks: "
                    f"use convert --from {name} (or {name}_to_fastlabel)")
    return ""


def image_frames(tasks: list[dict]) -> list[Frame]:
    """One frame per image task."""
    return [
        Frame(t["name"], t.get("width", 0), t.get("height", 0), i, None, t["name"]) for i, t in enumerate(tasks)
    ]


def labelled_keypoints(annotation: dict) -> list[dict]:
    """The keypoints of a pose annotation that carry a value (invisible ones included)."""
    return [k for k in annotation.get("keypoints") or () if isinstance(k, dict) and k.get("value")]


def frame_points(annotation: dict, key: str | None) -> object:
    """The annotation's points, or for a video frame the ``value`` stored under that key."""
    points = annotation.get("points")
    if key is None:
        return points
    if not isinstance(points, dict):
        return None
    entry = points.get(key)
    return entry.get("value") if isinstance(entry, dict) else None
