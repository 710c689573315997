"""FastLabel video tasks -> MOT Challenge sequences (see the package)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from ...errors import where
from ...files import basename, safe_relative, write_atomic
from ...geometry import integral_to_int, python_round
from ...report import ConversionReport
from ...run import Target, export_alone, kept_parts
from ...runtime import gc_paused
from ...selection import apply_policy
from ...table import AnnotationTable, TaskChunk
from ...tasks import Frame
from ..plain_numbers import flat_texts, row_texts
from .layout import (
    DECIMALS,
    GT,
    LABELS,
    LABELS_KEY,
    MOT_CLASSES,
    MOT_POLICY,
    NO_CLASS,
    SEQINFO,
    SEQINFO_KEYS,
    TRACK_KEY,
)

_INI_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what seqinfo.ini takes as a key


@dataclass(frozen=True)
class SequenceInfo:
    """What the seqinfo.ini of a task needs, and the highest track id its annotations name."""

    fps: object = None
    frame_count: int | None = None
    width: int = 0
    height: int = 0
    metadata: tuple = ()
    top_id: int = 0
    labels: tuple | None = None  # the task's own class list (gt/labels.txt) when it names every value


def track_id(annotation: dict) -> int | None:
    """The ``track_id`` attribute of an annotation as an integer, or None."""
    for attribute in annotation.get("attributes") or ():
        if isinstance(attribute, dict) and attribute.get("key") == TRACK_KEY:
            try:
                return int(str(attribute.get("value")).strip())
            except ValueError:
                return None
    return None


def sequence_info(task: dict) -> SequenceInfo:
    """The :class:`SequenceInfo` of one task."""
    ids = [track_id(a) for a in task.get("annotations", ()) if isinstance(a, dict)]
    count = task.get("frameCount")
    metadata = tuple((m["key"], m.get("value")) for m in task.get("metadatas") or ()
                     if isinstance(m, dict) and isinstance(m.get("key"), str) and m["key"] != LABELS_KEY)
    return SequenceInfo(task.get("fps"), count if isinstance(count, int) and count > 0 else None,
                        task.get("width", 0), task.get("height", 0), metadata,
                        max([i for i in ids if i is not None] + [0]), task_labels(task))


def task_labels(task: dict) -> tuple | None:
    """The class list of a task's ``labels`` metadata, when it names every bbox value of the task."""
    text = next((m.get("value") for m in task.get("metadatas") or ()
                 if isinstance(m, dict) and m.get("key") == LABELS_KEY), None)
    if not isinstance(text, str) or not text:
        return None
    labels = tuple(text.splitlines())
    values = {a.get("value") for a in task.get("annotations", ()) if isinstance(a, dict) and a.get("type") == "bbox"}
    return labels if values - {NO_CLASS} <= set(labels) else None


def numbering(info: SequenceInfo, classes: Mapping[str, int], own_labels: bool) -> Mapping[str, int]:
    """The class numbers of one task: its own class list (``own_labels`` and it has one), else ``classes``."""
    if not (own_labels and info.labels):
        return classes
    return {**{name: number for number, name in enumerate(info.labels, 1)}, NO_CLASS: -1}


def class_numbers(values: Iterable[str], classes: list[str] | None = None) -> dict[str, int]:
    """MOT class number of every value: its line in ``classes`` when given (other values have
    none), else MOT's classes keep theirs and others follow from 13 (sorted); ``"-1"`` is -1."""
    if classes:
        return {**{name: number for number, name in enumerate(classes, 1)}, NO_CLASS: -1}
    numbers = {name: number for number, name in enumerate(MOT_CLASSES, 1)}
    for value in sorted(set(values) - set(numbers) - {NO_CLASS}):
        numbers[value] = len(numbers) + 1
    return {**numbers, NO_CLASS: -1}


@dataclass
class Sequence:
    """The rows written so far of one task: ``(id, frame, line)``, and the frames it has."""

    frames: int = 0
    last: int = 0
    rows: list = field(default_factory=list)


def _track_entries(table: AnnotationTable, row: int) -> Iterable[tuple[int, object]]:
    """``(frame number, frame entry)`` of one row: the row's own frame (a video frame table) or
    every frame of its track (a table of whole tasks)."""
    points = table.annotations[row].get("points")
    if not isinstance(points, dict):
        return ()
    key = table.frames[table.frame[row]].key
    if key is not None:
        return ((int(key), points.get(key)),)
    return ((int(k), v) for k, v in points.items() if str(k).isdigit() and int(k) > 0)


def _frame_box(entry: object) -> list[float] | None:
    value = _box_value(entry)
    if value is None:
        return None
    box = np.asarray([v if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in value])
    if not np.isfinite(box).all():
        return None
    low, high = np.minimum(box[:2], box[2:]), np.maximum(box[:2], box[2:])
    return integral_to_int(python_round(np.concatenate([low, high - low]), DECIMALS))


def _box_value(entry: object) -> list | None:
    """The ``value`` of a frame entry when it is a list of 4 items."""
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, list) and len(value) == 4 else None


_PLAIN_NUMBERS = {int, float}


def frame_boxes(entries: list) -> list:
    """:func:`_frame_box` of every entry, worked out on all at once."""
    values = [_box_value(entry) for entry in entries]
    if None not in values and set(map(type, chain.from_iterable(values))) <= _PLAIN_NUMBERS:
        plain = [True] * len(values)  # every value a list of 4 ints and floats
        boxes = np.array(values, np.float64).reshape(-1, 4)
    else:
        plain = [value is not None and set(map(type, value)) <= _PLAIN_NUMBERS for value in values]
        boxes = np.array([value if usable else (np.nan,) * 4 for value, usable in zip(values, plain)],
                         np.float64).reshape(-1, 4)
    low, high = np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])
    rounded = integral_to_int(python_round(np.concatenate([low, high - low], axis=1), DECIMALS))
    finite = np.isfinite(boxes).all(axis=1) & (np.abs(boxes) < 2.0**53).all(axis=1)
    return [box if usable and good else _frame_box(entry)
            for box, usable, good, entry in zip(rounded, plain, finite.tolist(), entries)]


def _text(number: object) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def mot_rows(table: AnnotationTable, classes: Mapping[str, int], infos: Mapping[str, SequenceInfo],
             report: ConversionReport, own_labels: bool = True) -> dict[str, Sequence]:
    """The gt.txt rows of the tracks of ``table``, per task name (class numbers: see
    :func:`numbering`); what MOT cannot carry reported."""
    has_class = np.fromiter((a.get("value") in classes for a in table.annotations), bool, len(table))
    keep = apply_policy(table, MOT_POLICY, report, has_class)
    keep &= ~_note_rows(table, report, keep, lambda row: not isinstance(table.annotations[row].get("points"), dict),
                        "bbox of an image task (no frames) not representable in {target}")
    _note_rows(table, report, keep, lambda row: any(
        a.get("key") != TRACK_KEY for a in table.annotations[row].get("attributes") or ()),
        "attributes other than track_id not carried by {target}")
    sequences: dict[str, Sequence] = {}
    for frame in table.frames:
        sequence = sequences.setdefault(frame.name, Sequence())
        sequence.frames += frame.key is not None
    entries = [(row, frame, entry) for row in np.flatnonzero(keep).tolist()
               for frame, entry in _track_entries(table, row)]
    rows = dict.fromkeys(row for row, _, _ in entries)
    fields = {row: _row_fields(table, row, infos, classes, own_labels) for row in rows}
    boxes = frame_boxes([entry for _, _, entry in entries])
    broken, autogenerated = np.zeros(len(table), bool), np.zeros(len(table), bool)
    broken[[row for (row, _, _), box in zip(entries, boxes) if box is None]] = True
    written = [(row, frame, entry) for (row, frame, entry), box in zip(entries, boxes) if box is not None]
    autogenerated[[row for row, _, entry in written if entry.get("autogenerated")]] = True
    _add_lines(sequences, written, [box for box in boxes if box is not None], fields)
    table.note(report, broken, "track frame without a [x1, y1, x2, y2] box skipped")
    table.note(report, autogenerated, "interpolated (autogenerated) frames written as plain MOT rows")
    return sequences


def _add_lines(sequences: dict[str, Sequence], written: list[tuple], boxes: list[list],
               fields: dict[int, tuple[str, int, int]]) -> None:
    """The gt.txt line of each ``(row, frame, entry)`` added to its task's sequence (``fields``:
    each row's task name, track id and class number)."""
    frames = [frame for _, frame, _ in written]
    row_fields = [fields[row] for row, _, _ in written]
    lines = map("{},{},{},{},{},{}".format, frames, [number for _, number, _ in row_fields], row_texts(boxes, ","),
                number_texts([entry.get("conf", 1) for _, _, entry in written]),
                [label for _, _, label in row_fields],
                number_texts([entry.get("visibility", 1) for _, _, entry in written]))
    for (name, number, _), frame, line in zip(row_fields, frames, lines):
        sequences[name].rows.append((number, frame, line))
    for sequence in sequences.values():
        sequence.last = max((frame for _, frame, _ in sequence.rows), default=sequence.last)


def number_texts(values: list) -> list[str]:
    """:func:`_text` of every value (in one call when they are plain numbers)."""
    texts = flat_texts(values)
    return list(map(_text, values)) if texts is None else texts


def _row_fields(table: AnnotationTable, row: int, infos: Mapping[str, SequenceInfo], classes: Mapping[str, int],
                own_labels: bool) -> tuple[str, int, int]:
    """The task name, track id and class number of a row's rows."""
    annotation, name = table.annotations[row], table.frames[table.frame[row]].name
    info = infos.get(name, SequenceInfo())
    number = track_id(annotation)
    number = info.top_id + 1 + int(table.index[row]) if number is None else number
    return name, number, numbering(info, classes, own_labels)[annotation.get("value")]


def _note_rows(table: AnnotationTable, report: ConversionReport, rows: np.ndarray, test, problem: str) -> np.ndarray:
    found = np.zeros(len(table), bool)
    for row in np.flatnonzero(rows).tolist():
        found[row] = bool(test(row))
    table.note(report, found, problem)
    return found


def merge_sequences(parts: Iterable[dict[str, Sequence]]) -> dict[str, Sequence]:
    """The sequences of several chunk results (a task's frames may span chunks), in order."""
    merged: dict[str, Sequence] = {}
    for part in parts:
        for name, sequence in part.items():
            into = merged.setdefault(name, Sequence())
            into.frames += sequence.frames
            into.last = max(into.last, sequence.last)
            into.rows += sequence.rows
    return merged


def seqinfo_text(name: str, info: SequenceInfo, sequence: Sequence, report: ConversionReport) -> str:
    """The ``seqinfo.ini`` of a task."""
    metadata = {}
    for key, value in info.metadata:
        if _INI_KEY.fullmatch(key) and "\n" not in str(value) and key.lower() not in SEQINFO_KEYS.keys() - {"name"}:
            metadata[key] = value
        else:
            report.note("task metadata that seqinfo.ini cannot hold not carried by mot", name)
    fps = info.fps
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or fps <= 0:
        report.note("video without fps: seqinfo.ini frameRate written as 30", name)
        fps = 30
    entries = {"name": Path(basename(name)).name, "imDir": "img1", "frameRate": _text(fps),
               "seqLength": info.frame_count or sequence.frames or sequence.last, "imWidth": info.width,
               "imHeight": info.height, "imExt": ".jpg"}
    entries.update(metadata)
    return "[Sequence]\n" + "".join(f"{key}={value}\n" for key, value in entries.items())


def sequence_files(name: str, info: SequenceInfo, sequence: Sequence, classes: Mapping[str, int],
                   report: ConversionReport, own_labels: bool = True) -> dict[str, str]:
    """``{file inside the sequence folder: text}`` of one task."""
    rows = sorted(sequence.rows, key=lambda row: (row[0], row[1]))
    numbers = numbering(info, classes, own_labels)
    labels = [name for name, number in sorted(numbers.items(), key=lambda item: item[1]) if number > 0]
    return {GT: "".join(line + "\n" for _, _, line in rows), LABELS: "".join(f"{label}\n" for label in labels),
            SEQINFO: seqinfo_text(name, info, sequence, report)}


def task_infos(tasks: Iterable[dict]) -> dict[str, SequenceInfo]:
    """``{task name: SequenceInfo}``."""
    return {task["name"]: sequence_info(task) for task in tasks}


class MotTarget(Target):
    """One MOT sequence folder per video task: ``<task name without extension>/`` with
    ``gt/gt.txt``, ``gt/labels.txt`` and ``seqinfo.ini``. Reads a table of whole tasks (each
    annotation's track) or of video frames (``project_type="video_…"`` with frame counts)."""

    name = "mot"
    unique_outputs = True

    def __init__(self, output_dir, *, classes: list[str] | None = None) -> None:
        super().__init__(output_dir)
        self.class_list = list(classes) if classes else None
        self.classes: dict[str, int] = {}

    def file_name(self, frame: Frame) -> str:
        return f"{basename(frame.name)}/{GT}"

    def check_task(self, task: dict, source: str) -> None:
        safe_relative(self.file_name(Frame(task["name"], 0, 0, 0)), f"{source}: mot sequence {task['name']!r}")

    def survey(self, chunk: TaskChunk) -> dict[str, SequenceInfo]:
        return task_infos(chunk.tasks)

    def prepare(self, census, report: ConversionReport) -> None:
        self.classes = class_numbers(census.class_names(), self.class_list)

    def plan(self, survey: dict[str, SequenceInfo]) -> dict[str, SequenceInfo]:
        return survey

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport
               ) -> tuple[dict, dict]:
        """The table's rows per sequence, with the block's sequence infos (its plan)."""
        return mot_rows(table, self.classes, plan or {}, report, self.class_list is None), plan or {}

    def assemble(self, parts: list[tuple[dict, dict]], report: ConversionReport) -> None:
        """Write the block's sequences (a block holds whole tasks: each sequence is complete)."""
        merged = merge_sequences(sequences for sequences, _ in parts)
        infos, written = parts[0][1] if parts else {}, []
        for name, sequence in merged.items():
            for relative, text in sequence_files(name, infos.get(name, SequenceInfo()), sequence, self.classes,
                                                 report, self.class_list is None).items():
                path = self.output(f"{basename(name)}/{relative}", where(name, name))
                written.append(str(write_atomic(path, text.encode())))
        report.files.extend_written(written)


@gc_paused
def to_mot(tasks: object, *, classes: list[str] | None = None,
           report: ConversionReport | None = None) -> dict[str, dict[str, str]]:
    """``{sequence folder: {"gt/gt.txt": text, "gt/labels.txt": text, "seqinfo.ini": text}}``, one
    sequence per video task (``classes``: the class numbers' order, see :func:`class_numbers`)."""
    report = report or ConversionReport("mot")
    target = MotTarget(".", classes=classes)
    parts = kept_parts(tasks, target, lambda table, plan, report, _: target.encode(table, plan, report), report)
    infos = {name: info for _, block_infos in parts for name, info in block_infos.items()}
    merged = merge_sequences(rows for rows, _ in parts)
    return {basename(name): sequence_files(name, infos.get(name, SequenceInfo()), sequence, target.classes, report,
                                           classes is None)
            for name, sequence in merged.items()}


@gc_paused
def export_mot(tasks: object, output_dir: str | os.PathLike[str] = os.path.join("output", "mot"), *,
               classes: list[str] | None = None, strict: bool = False, progress: bool = False, jobs: int = 1,
               scheduler: object = None, overwrite: bool | None = None) -> ConversionReport:
    """Write one MOT sequence folder per video task (see :class:`MotTarget`; ``classes``: the class
    numbers' order, a value not in it skipped and reported)."""
    return export_alone(tasks, MotTarget(output_dir, classes=classes), strict=strict, jobs=jobs, scheduler=scheduler,
                        progress=progress, overwrite=overwrite)
