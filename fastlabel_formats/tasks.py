"""Reading and checking FastLabel tasks, and the columnar table of their annotations."""

from __future__ import annotations

import functools
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, repeat
from typing import Any

import numpy as np

from . import validation
from .errors import FormatError, where
from .files import json_list
from .geometry import Rings
from .report import EXAMPLES_KEPT, ConversionReport
from .validation import FLAT_COORDINATES as FLAT_COORDINATES
from .validation import RING_TYPES, annotation_problem, quick_problem
from .validation import layout_problem as layout_problem


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


CHUNK_ROWS = 2048


@dataclass
class TaskChunk:
    """The tasks and frames of one chunk before they become a table (``frames[i].task`` indexes
    ``tasks``; ``first_frame`` is the index of the first frame in the whole run)."""

    source: str
    tasks: list[dict]
    frames: list[Frame]
    first_frame: int = 0
    geometry: frozenset = RING_TYPES  # the types whose geometry the table holds
    _table: AnnotationTable | None = field(default=None, repr=False)

    def table(self, geometry: Iterable[str] | None = None) -> AnnotationTable:
        """The annotation table of this chunk (validated geometry of the ``geometry`` types, by
        default the chunk's; built once for those)."""
        if geometry is not None and frozenset(geometry) != self.geometry:
            return gather(self.tasks, self.frames, self.source, geometry, self.first_frame)
        if self._table is None:
            self._table = gather(self.tasks, self.frames, self.source, self.geometry, self.first_frame)
        return self._table

    def frame_annotations(self) -> Iterator[tuple[Frame, list[dict]]]:
        """Every frame with the annotations of its task."""
        for frame in self.frames:
            yield frame, self.tasks[frame.task].get("annotations", ())


def table_of(tasks: list[dict], source: str, geometry: Iterable[str] = RING_TYPES) -> AnnotationTable:
    """The table of whole image tasks (one frame each)."""
    return gather(tasks, image_frames(tasks), source, geometry)


def derived_column(compute: Callable[[AnnotationTable], Any]) -> Callable[[AnnotationTable], Any]:
    """``compute(table)`` computed once per table and cached in it (by the function's name)."""

    @functools.wraps(compute)
    def column(table: AnnotationTable) -> Any:
        return table.cached(compute.__name__, compute)

    return column


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


@dataclass(frozen=True)
class AnnotationTable:
    """The annotations of a chunk of frames (whole images, or frames of video tasks), one row each,
    with their validated geometry: self-contained and picklable, the unit of work of every target.

    ``rings`` holds one shape per row: bbox (its two corners), polygon, line and keypoint
    (one ring), segmentation (every ring, holes flagged); other types have no rings.
    ``annotations`` is the object column (value, attributes, keypoints, colour and other keys);
    derived columns (boxes, bounds, rotations, …) are computed once and cached in ``derived``.
    ``first_frame`` is the index of the first frame in the whole run (COCO image ids).
    """

    source: str
    frames: list[Frame]
    frame: np.ndarray
    index: np.ndarray
    kinds: list[str]
    annotations: list[dict]
    points: list
    rings: Rings
    first_frame: int = 0
    malformed: tuple = ()  # (place, problem) of each annotation left out (see validation)
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    def cached(self, name: str, compute: Callable[[AnnotationTable], object]) -> Any:
        """The derived column ``name``, computed by ``compute(table)`` the first time."""
        if name not in self.derived:
            self.derived[name] = compute(self)
        return self.derived[name]

    def __len__(self) -> int:
        return len(self.kinds)

    @property
    def is_video(self) -> bool:
        """True when the frames are frames of video tasks."""
        return any(frame.key is not None for frame in self.frames)

    def place(self, row: int) -> str:
        """Where row ``row`` came from, for messages."""
        frame = self.frames[self.frame[row]]
        text = where(self.source, frame.name, int(self.index[row]), self.kinds[row])
        return text if frame.key is None else f"{text} frame {frame.key}"

    def with_shapes(self, rows: list[int], kind: str, points: list) -> AnnotationTable:
        """A new table whose ``rows`` are of ``kind`` with ``points`` (rings rebuilt, nothing cached)."""
        ring_counts = np.diff(self.rings.shape_ring_offsets).tolist()
        geometry = {k for k, count in zip(self.kinds, ring_counts) if count} | {kind}  # the kinds with rings
        kinds, row_points = list(self.kinds), list(self.points)
        for row, shape in zip(rows, points):
            kinds[row], row_points[row] = kind, shape
        return replace(self, kinds=kinds, points=row_points,
                       rings=_batch_rings(kinds, row_points, frozenset(geometry)), derived={})

    def sizeless(self, report: ConversionReport, consequence: str) -> list[bool]:
        """Per frame whether it has no width or height; each such frame reported (``consequence``:
        what the target does with it)."""
        flags = [not (frame.width and frame.height) for frame in self.frames]
        for frame, flag in zip(self.frames, flags):
            if flag:
                report.note(f"image with width or height 0 {consequence}", where(self.source, frame.name))
        return flags

    def rows_mask(self, rows: np.ndarray) -> np.ndarray:
        """A boolean mask over the rows, True at the given row indices."""
        mask = np.zeros(len(self), bool)
        mask[rows] = True
        return mask

    def note(self, report: ConversionReport, rows: np.ndarray, problem: str) -> None:
        """Record ``problem`` (``{kind}`` and ``{target}`` filled in) for the rows of a boolean mask."""
        by_message: dict[str, list[int]] = {}
        for row in np.flatnonzero(rows).tolist():
            by_message.setdefault(problem.format(kind=self.kinds[row], target=report.target), []).append(row)
        for message, message_rows in by_message.items():
            report.add(message, len(message_rows), [self.place(r) for r in message_rows[:EXAMPLES_KEPT]])


def gather(
    tasks: list[dict], frames: list[Frame], source: str, geometry: Iterable[str] = RING_TYPES, first_frame: int = 0
) -> AnnotationTable:
    """The table of all annotations of ``frames``, with the rings of the ``geometry`` types.

    Malformed annotations (type, value, points, rotation or keypoints) are left out and listed
    in the table's ``malformed``.
    """
    per_frame = [tasks[f.task].get("annotations", ()) for f in frames]
    counts = np.fromiter(map(len, per_frame), np.int64, len(per_frame))
    annotations = list(chain.from_iterable(per_frame))
    frame = np.repeat(np.arange(len(frames), dtype=np.int64), counts)
    index = np.arange(len(annotations), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    row_kinds = [a.get("type") for a in annotations]
    if any(frame.key is not None for frame in frames):
        keys = [frames[f].key for f in frame.tolist()]
        points = [frame_points(a, key) for a, key in zip(annotations, keys)]
    else:
        points = [a.get("points") for a in annotations]
    table = AnnotationTable(source, frames, frame, index, row_kinds, annotations, points, _EMPTY_RINGS, first_frame)
    geometry = frozenset(geometry) & RING_TYPES
    if not any(map(quick_problem, row_kinds, annotations, points)):
        try:
            return replace(table, rings=_batch_rings(row_kinds, points, geometry))
        except (TypeError, ValueError, OverflowError, _Malformed):
            pass  # some coordinates are not numbers or not in pairs: find which
    table = _without_malformed(table, geometry)
    return replace(table, rings=_batch_rings(table.kinds, table.points, geometry))


def _without_malformed(table: AnnotationTable, geometry: frozenset) -> AnnotationTable:
    """The table without its malformed rows, their places and problems kept in ``malformed``."""
    problems = [annotation_problem(k, a, p, geometry) for k, a, p in zip(table.kinds, table.annotations, table.points)]
    bad = [row for row, problem in enumerate(problems) if problem]
    keep = np.ones(len(table), bool)
    keep[bad] = False
    rows = np.flatnonzero(keep).tolist()
    return replace(table, frame=table.frame[keep], index=table.index[keep], kinds=[table.kinds[r] for r in rows],
                   annotations=[table.annotations[r] for r in rows], points=[table.points[r] for r in rows],
                   malformed=tuple((table.place(row), problems[row]) for row in bad))


class _Malformed(Exception):
    """Internal: the fast path met something only the slow path can name."""


_EMPTY_RINGS = Rings(np.zeros((0, 2)), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(0, bool))


def _batch_rings(kinds: list, points: list, geometry: frozenset) -> Rings:
    """Rings of every row (see AnnotationTable); raises on any malformed layout or number."""
    flat_kinds = geometry - {"segmentation"}
    segmentation = "segmentation" in geometry
    row_rings = [
        ([p] if k in flat_kinds else [r for region in p for r in region] if segmentation and k == "segmentation"
         else []) if p else []
        for k, p in zip(kinds, points)
    ]
    rings_per_row = np.fromiter(map(len, row_rings), np.int64, len(row_rings))
    ring_lists = list(chain.from_iterable(row_rings))
    ring_sizes = np.fromiter(map(len, ring_lists), np.int64, len(ring_lists))
    ring_kind = np.repeat(np.asarray(kinds, dtype=object), rings_per_row)
    expected = np.where(ring_kind == "bbox", 4, np.where(ring_kind == "keypoint", 2, -1))
    if (ring_sizes % 2).any() or ((expected >= 0) & (ring_sizes != expected)).any() \
            or (ring_sizes > 2 * validation.MAX_RING_VERTICES).any():
        raise _Malformed
    values = np.frombuffer(array("d", list(chain.from_iterable(ring_lists))), np.float64)
    if not np.isfinite(values).all():
        raise _Malformed
    point_offsets = np.zeros(len(ring_lists) + 1, np.int64)
    np.cumsum(ring_sizes // 2, out=point_offsets[1:])
    shape_offsets = np.zeros(len(kinds) + 1, np.int64)
    np.cumsum(rings_per_row, out=shape_offsets[1:])
    return Rings(values.reshape(-1, 2), point_offsets, shape_offsets, _hole_flags(kinds, points, ring_kind))


def _hole_flags(kinds: list, points: list, ring_kind: np.ndarray) -> np.ndarray:
    """True for every ring that is not the first ring of its segmentation region."""
    holes = ring_kind == "segmentation"
    if holes.any():
        region_sizes = [len(region) for k, p in zip(kinds, points) if k == "segmentation" and p for region in p]
        if 0 in region_sizes:
            raise _Malformed  # an empty region
        first = np.concatenate([[0], np.cumsum(region_sizes)[:-1]])
        holes[np.flatnonzero(holes)[first]] = False
    return holes.astype(bool)
