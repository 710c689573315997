"""The columnar table of a chunk's annotations (:class:`AnnotationTable`), the unit of work of every
target, and how a chunk of tasks becomes one (:func:`gather`: validated, malformed rows left out)."""

from __future__ import annotations

import functools
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import chain, repeat
from typing import Any

import numpy as np

from . import validation
from .errors import where
from .geometry import Rings, offsets
from .report import EXAMPLES_KEPT, ConversionReport
from .tasks import Frame, frame_points, image_frames
from .validation import RING_TYPES, annotation_problem, quick_problem

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
    vouched: bool = False  # the reader made every annotation well-formed (see gather)
    read_rings: tuple | None = field(default=None, repr=False)  # (ReadRings, its rows of these tasks): see gather

    def table(self, geometry: Iterable[str] | None = None) -> AnnotationTable:
        """The annotation table of this chunk (validated geometry of the ``geometry`` types, by
        default the chunk's; built once for those)."""
        if geometry is not None and frozenset(geometry) != self.geometry:
            return gather(self.tasks, self.frames, self.source, geometry, self.first_frame, self.vouched,
                          self.read_rings)
        if self._table is None:
            self._table = gather(self.tasks, self.frames, self.source, self.geometry, self.first_frame, self.vouched,
                                 self.read_rings)
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
        picked = np.flatnonzero(rows)
        if not picked.size:
            return
        by_message: dict[str, list[np.ndarray]] = {}
        if "{kind" in problem:
            kinds = np.asarray(self.kinds, dtype=object)[picked]
            for kind in dict.fromkeys(kinds.tolist()):
                by_message.setdefault(problem.format(kind=kind, target=report.target), []).append(picked[kinds == kind])
        else:
            by_message[problem.format(kind=None, target=report.target)] = [picked]
        for message, parts in by_message.items():
            message_rows = np.sort(np.concatenate(parts))  # two kinds may name one message
            report.add(message, len(message_rows), [self.place(r) for r in message_rows[:EXAMPLES_KEPT].tolist()])


def gather(
    tasks: list[dict], frames: list[Frame], source: str, geometry: Iterable[str] = RING_TYPES, first_frame: int = 0,
    vouched: bool = False, read_rings: tuple | None = None,
) -> AnnotationTable:
    """The table of all annotations of ``frames``, with the rings of the ``geometry`` types.

    Malformed annotations (type, value, points, rotation or keypoints) are left out and listed
    in the table's ``malformed``. ``vouched``: the tasks' reader made every annotation well-formed
    but for its coordinates, so only those are checked (in bulk; any that is off: every row);
    ``read_rings``: ``(store, rows)``, the rows' kinds, points and geometry as the reader made and laid
    them out (and checked), taken from the :class:`~fastlabel_formats.table_rings.ReadRings` store as they are.
    """
    per_frame = [tasks[f.task].get("annotations", ()) for f in frames]
    counts = np.fromiter(map(len, per_frame), np.int64, len(per_frame))
    annotations = list(chain.from_iterable(per_frame))
    frame = np.repeat(np.arange(len(frames), dtype=np.int64), counts)
    index = np.arange(len(annotations), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    geometry = frozenset(geometry) & RING_TYPES
    if vouched and read_rings and read_rings[0] is not None:  # (a store does not travel to other processes)
        laid = read_rings[0].columns(read_rings[1], annotations, geometry)
        if laid is not None:
            return AnnotationTable(source, frames, frame, index, laid[0], annotations, laid[1], laid[2], first_frame,
                                   derived=laid[3])
        vouched = False  # not the rows as their reader made them (or not all laid out): every row checked
    row_kinds = [a.get("type") for a in annotations]
    if any(frame.key is not None for frame in frames):
        keys = [frames[f].key for f in frame.tolist()]
        points = [frame_points(a, key) for a, key in zip(annotations, keys)]
    else:
        points = [a.get("points") for a in annotations]
    table = AnnotationTable(source, frames, frame, index, row_kinds, annotations, points, _EMPTY_RINGS, first_frame)
    if vouched or not any(map(quick_problem, row_kinds, annotations, points)):
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
    layout = {kind: coordinates for kind, coordinates in _RING_LAYOUT.items() if kind in geometry}
    codes = np.fromiter(map(layout.get, kinds, repeat(0)), np.int64, len(kinds))
    codes[~np.fromiter(map(bool, points), bool, len(points))] = 0  # no points: no rings
    flat_rows, region_rows = np.flatnonzero(codes > 0), np.flatnonzero(codes == _REGIONS)
    region_rings, region_counts, holes = _region_rings(list(map(points.__getitem__, region_rows.tolist())))
    owner = np.concatenate([flat_rows, np.repeat(region_rows, region_counts)])
    order = np.argsort(owner, kind="stable")  # the flat rows' rings and the regions' rings, in row order
    ring_lists = list(map([*map(points.__getitem__, flat_rows.tolist()), *region_rings].__getitem__, order.tolist()))
    ring_sizes = np.fromiter(map(len, ring_lists), np.int64, len(ring_lists))
    expected = np.concatenate([codes[flat_rows], np.ones(len(region_rings), np.int64)])[order]
    if (ring_sizes % 2).any() or ((expected > 1) & (ring_sizes != expected)).any() \
            or (ring_sizes > 2 * validation.MAX_RING_VERTICES).any():
        raise _Malformed
    values = np.frombuffer(array("d", list(chain.from_iterable(ring_lists))), np.float64)
    if not np.isfinite(values).all():
        raise _Malformed
    point_offsets, shape_offsets = offsets(ring_sizes // 2), offsets(np.bincount(owner, minlength=len(kinds)))
    is_hole = np.concatenate([np.zeros(len(flat_rows), bool), holes])[order]
    return Rings(values.reshape(-1, 2), point_offsets, shape_offsets, is_hole)


_REGIONS = -1  # the layout of a segmentation: regions of rings
# per ring type the number of coordinates of its ring (1: any even number), or _REGIONS
_RING_LAYOUT = {kind: coordinates or 1 for kind, coordinates in validation.FLAT_COORDINATES.items()} | {
    "segmentation": _REGIONS}


def _region_rings(shapes: list) -> tuple[list, np.ndarray, np.ndarray]:
    """The rings of segmentations (each a list of regions, each a list of rings: the outer one, then
    its holes) in order, how many each shape has, and which are holes; raises on an empty region."""
    regions = list(chain.from_iterable(shapes))
    rings = list(chain.from_iterable(regions))
    per_shape = np.fromiter(map(len, shapes), np.int64, len(shapes))
    per_region = np.fromiter(map(len, regions), np.int64, len(regions))
    if not per_region.all() or not per_shape.all():
        raise _Malformed  # an empty region
    ring_ends = np.cumsum(per_region)
    region_ends = np.cumsum(per_shape)
    counts = np.diff(np.concatenate([[0], ring_ends[region_ends - 1]])) if len(shapes) else per_shape
    holes = np.ones(len(rings), bool)
    holes[ring_ends - per_region] = False  # the first ring of each region is its outer ring
    return rings, counts, holes
