"""FastLabel -> Pascal VOC XML: the SDK's ``annotations/`` folder, or the VOC dataset layout that
datumaro and other VOC tools open (``layout="voc"``: ``Annotations/``, ``ImageSets/Main/<split>.txt``,
``labelmap.txt``, ``JPEGImages/``). The reader is :mod:`fastlabel_formats.pascalvoc_import`.

Documents without parts or actions have the official SDK's exact text. They are produced from a fixed
template with every value escaped and checked for XML-legal characters; the tests parse each
document with lxml and compare it with the same tree serialised by lxml.

An object's ``<part>`` (a person's head, hands, feet) is a bbox annotation of its own in FastLabel
with a ``part_of`` text attribute naming its object's class, and ``<actions>`` are switch attributes
``action.<name>``. On the way back to VOC a part goes inside the object of that class whose box it
overlaps most (ties: the nearest object before it), so parts and actions survive a round trip.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .columns import vertex_bounds
from .errors import FormatError, where
from .files import basename, is_remote, write_atomic
from .report import ConversionReport
from .run import PerImageTarget, RunOptions, export_alone, kept_parts
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .table import AnnotationTable, TaskChunk
from .tasks import Frame
from .voc_text import (
    ACTION_PREFIX,
    BOX,
    INT64_END,
    OBJECT,
    PART_KEY,
    PLAIN_OBJECT,
    TAIL,
    UNSPECIFIED,
    VocLabels,
    document_head,
    flag_keys_only,
    plain_documents,
    xml_text,
)
from .yolo_layout import checked_split, link_image, split_of

VOC_TYPES = ("bbox", "polygon")
VOC_LAYOUTS = ("annotations", "voc")
VOC_POLICY = Policy(VOC_TYPES, rotation="bbox rotation dropped (VOC boxes are axis-aligned)")
BEYOND_INT64 = "{kind} with a coordinate at or beyond ±2**63 (no whole number VOC tools read), not written"
_XML_NAME = re.compile(r"(?!(?i:xml))[A-Za-z_][A-Za-z0-9_.-]*")
_PART = "\n        <part>\n            <name>{}</name>\n{}\n        </part>"
_ACTIONS = "\n        <actions>{}\n        </actions>"
_ACTION = "\n            <{0}>{1}</{0}>"


@gc_paused
def to_pascalvoc(
    tasks: object,
    *,
    project_type: str = "image_bbox",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    report: ConversionReport | None = None,
) -> list[tuple[str, str]]:
    """``[(image file name, XML text)]``, one document per image (video: per frame)."""
    report = report or ConversionReport("pascalvoc")
    parts = kept_parts(tasks, PascalVocTarget("."), lambda table, plan, report, ids: build_pascalvoc(table, report),
                       report, RunOptions(project_type, videos, frame_counts))
    return [document for documents in parts for document in documents]


@gc_paused
def export_pascalvoc(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "pascalvoc"),
    *,
    project_type: str = "image_bbox",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    layout: str = "annotations",
    images: str | os.PathLike[str] | None = None,
    copy_images: bool = False,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``annotations/<image name without extension>.xml`` per image (``jobs=N``: in N worker
    processes). ``layout="voc"``: the VOC dataset layout — ``Annotations/<name>.xml``,
    ``ImageSets/Main/<split>.txt`` (splits chosen as for the Ultralytics layout: the name's first
    folder when it is ``train``/``val``/``test``, else drawn from ``split``), ``labelmap.txt`` (classes,
    their parts and actions) and, with ``images``, ``JPEGImages/<task name>`` hard-linked (or copied)."""
    target = PascalVocTarget(output_dir, layout=layout, images=images, copy_images=copy_images, split=split,
                             seed=seed)
    return export_alone(tasks, target, strict=strict, project_type=project_type, videos=videos,
                        frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress,
                        overwrite=overwrite)


class PascalVocTarget(PerImageTarget):
    """One VOC XML document per image; with ``layout="voc"`` the VOC dataset layout around them."""

    name = "pascalvoc"
    geometry = frozenset(VOC_TYPES)
    folder = "annotations"
    suffix = ".xml"

    def __init__(self, output_dir, *, layout: str = "annotations", images: str | os.PathLike[str] | None = None,
                 copy_images: bool = False, split: Mapping[str, float] | None = None, seed: int = 0) -> None:
        super().__init__(output_dir)
        if layout not in VOC_LAYOUTS:
            raise FormatError(f"VOC layout must be one of {', '.join(VOC_LAYOUTS)}, got {layout!r}")
        self.dataset = layout == "voc"
        if self.dataset and images is not None and is_remote(output_dir):
            raise FormatError("layout='voc' with images links or copies them: give a local output folder")
        self.folder = "Annotations" if self.dataset else "annotations"
        self.images, self.copy_images, self.seed = images, copy_images, seed
        self.split = checked_split(split) if split else None
        self.members: dict[str, list[str]] = {}  # split -> image ids, in input order (the parent's)
        self.labels = VocLabels()

    def survey(self, chunk: TaskChunk) -> list[tuple[str, str]] | None:
        if not self.dataset:
            return None
        return [(split_of(frame.file_name, self.split, self.seed)[0], basename(frame.file_name))
                for frame in chunk.frames]

    def plan(self, survey: list[tuple[str, str]] | None) -> None:
        for split, image_id in survey or ():
            self.members.setdefault(split, []).append(image_id)

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport
               ) -> tuple[list[tuple[str, str]], VocLabels]:
        """The documents of the table's frames and the classes (parts, actions) they name."""
        return voc_documents(table, report)

    def write(self, table: AnnotationTable, part: tuple[list[tuple[str, str]], VocLabels], report: ConversionReport
              ) -> tuple[list[str], VocLabels]:
        """Write the documents (and place the images of the VOC layout); the paths and the classes."""
        documents, labels = part
        written = super().write(table, [text.encode() for _, text in documents], report)
        if self.dataset and self.images is not None:
            for frame in table.frames:
                self._place_image(frame, table.source, report)
        return written, labels

    def _place_image(self, frame: Frame, source: str, report: ConversionReport) -> None:
        target = self.output(frame.file_name, source, "JPEGImages")
        if not link_image(Path(self.images) / frame.file_name, Path(target), self.copy_images):
            report.note("image file missing, not placed in JPEGImages/", where(source, frame.name))

    def assemble(self, parts: list[tuple[list[str], VocLabels]], report: ConversionReport) -> None:
        super().assemble([written for written, _ in parts], report)
        for _, labels in parts:
            self.labels.merge(labels)

    def finish(self, report: ConversionReport) -> None:
        if not self.dataset:
            return
        for split in sorted(self.members):
            ids = self.members[split]
            for image_id in ids:
                if image_id != image_id.strip() or image_id.startswith("#"):
                    report.note("image name with outer spaces or a leading '#', which ImageSets lists cannot hold",
                                f"ImageSets/Main/{split}.txt {image_id!r}")
            text = "".join(f"{image_id}\n" for image_id in ids).encode()
            report.files.append(write_atomic(self.output(f"ImageSets/Main/{split}.txt", split), text))
        report.files.append(write_atomic(self.output("labelmap.txt", "labelmap.txt"), self.labels.text(report)))


class VocAttributes(NamedTuple):
    """What a VOC object takes from an annotation's attributes, read in one pass."""

    flags: tuple[int, int, int]  # truncated, occluded, difficult
    actions: list[tuple[str, int]]  # (action, 0 or 1) of the action.<name> switches, in attribute order
    pose: str
    part_of: str | None  # the class a VOC part belongs to, or None


NO_ATTRIBUTES = VocAttributes((0, 0, 0), [], UNSPECIFIED, None)


def voc_attributes(attributes: object) -> VocAttributes:
    """The flags (``int(value)`` of the first switch of each key), actions, pose and ``part_of``
    of an annotation's attributes."""
    if not attributes:
        return NO_ATTRIBUTES
    switches: dict = {}
    pose, part_of = None, None
    for attribute in attributes:
        key, value = attribute.get("key"), attribute.get("value")
        if attribute.get("type") == "switch":
            switches.setdefault(key, value)
        elif key == "pose" and value and pose is None:
            pose = str(value)
        if key == PART_KEY and part_of is None and isinstance(value, str) and value:
            part_of = value
    flags = (int(switches.get("truncated", 0)), int(switches.get("occluded", 0)), int(switches.get("difficult", 0)))
    actions = [(key[len(ACTION_PREFIX):], int(value)) for key, value in switches.items()
               if isinstance(key, str) and key.startswith(ACTION_PREFIX)]
    return VocAttributes(flags, actions, pose or UNSPECIFIED, part_of)


def voc_flags(attributes: object) -> VocAttributes:
    """:func:`voc_attributes` of attributes known to hold no pose, ``part_of`` or action key."""
    if not attributes:
        return NO_ATTRIBUTES
    # reversed: the first switch of each key is written last and wins
    switches = {a.get("key"): a.get("value") for a in reversed(attributes) if a.get("type") == "switch"}
    flags = (int(switches.get("truncated", 0)), int(switches.get("occluded", 0)), int(switches.get("difficult", 0)))
    return VocAttributes(flags, [], UNSPECIFIED, None)


def only_flags(attribute_lists: list) -> bool:
    """True when no attribute in ``attribute_lists`` (of a table's rows) has a pose, ``part_of``
    or action key, so that :func:`voc_flags` reads them all."""
    return flag_keys_only({attribute.get("key") for attributes in attribute_lists if attributes
                           for attribute in attributes})


def _overlap(box: list, other: list) -> float:
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    return max(width, 0) * max(height, 0)


def assign_parts(table: AnnotationTable, rows: list[int], boxes: dict[int, list],
                 read: dict[int, VocAttributes | None]) -> tuple[dict, list]:
    """``({object row: [part rows]}, [part rows without an object])``: a part goes to the object of
    its ``part_of`` class in its frame whose box it overlaps most (ties: the nearest before it)."""
    parts = [(row, read[row].part_of) for row in rows if read[row] is not None and read[row].part_of is not None]
    if not parts:
        return {}, []
    owners: dict[tuple, list[int]] = {}
    part_rows = {row for row, _ in parts}
    for row in rows:
        if row not in part_rows:
            owners.setdefault((table.frame[row], table.annotations[row].get("value")), []).append(row)
    assigned: dict[int, list[int]] = {}
    orphans = []
    for part, owner_class in parts:
        candidates = owners.get((table.frame[part], owner_class))
        if not candidates:
            orphans.append(part)
            continue
        best = max(candidates, key=lambda row: (_overlap(boxes[part], boxes[row]), row < part, -abs(row - part)))
        assigned.setdefault(best, []).append(part)
    return assigned, orphans


def _object_extras(table: AnnotationTable, row: int, parts: list[int], boxes: dict[int, list],
                   report: ConversionReport, read: VocAttributes) -> tuple[str, list[str], list[str]]:
    """The ``<part>`` and ``<actions>`` text of an object, its part names and its action names."""
    if not parts and not read.actions:
        return "", [], []
    part_names = [str(table.annotations[part].get("value")) for part in parts]
    text = "".join(_PART.format(xml_text(name), BOX.format(" " * 12, *boxes[part]))
                   for name, part in zip(part_names, parts))
    actions = []
    for action, value in read.actions:
        if _XML_NAME.fullmatch(action):
            actions.append((action, value))
        else:
            report.note("action whose name cannot be an XML element name, not written", table.place(row))
    if actions:
        text += _ACTIONS.format("".join(_ACTION.format(action, value) for action, value in actions))
    return text, part_names, [action for action, _ in actions]


def _object_text(table: AnnotationTable, row: int, parts: list[int], boxes: dict[int, list],
                 report: ConversionReport, labels: VocLabels, read: VocAttributes | None) -> str:
    """The ``<object>`` element of one row, its parts inside; its class recorded in ``labels``."""
    annotation = table.annotations[row]
    try:
        read = read or voc_attributes(annotation.get("attributes"))  # None: they did not read; say why
        name = xml_text(annotation["value"])
        extras, part_names, actions = _object_extras(table, row, parts, boxes, report, read)
        text = OBJECT.format(name, xml_text(read.pose), *read.flags, BOX.format(" " * 8, *boxes[row]), extras)
    except (AttributeError, TypeError, ValueError) as error:
        raise FormatError(f"{table.place(row)}: {error}") from error
    labels.add(str(annotation["value"]), part_names, actions)
    return text


def _read_attributes(table: AnnotationTable, rows: list[int]) -> tuple[dict[int, VocAttributes | None], bool]:
    """Each row's VOC attributes (malformed ones as none: the object's own text reports them), and
    whether they are all plain flags (no pose, part or action)."""
    attribute_lists = [table.annotations[row].get("attributes") for row in rows]
    plain = only_flags(attribute_lists)
    try:
        return dict(zip(rows, map(voc_flags if plain else voc_attributes, attribute_lists))), plain
    except (AttributeError, TypeError, ValueError):
        pass  # find which
    read = {}
    for row, attributes in zip(rows, attribute_lists):
        try:
            read[row] = voc_attributes(attributes)
        except (AttributeError, TypeError, ValueError):
            read[row] = None
    return read, False


def _plain_objects(table: AnnotationTable, rows: list[int], boxes: list[list[int]],
                   read: dict[int, VocAttributes]) -> tuple[list[list[str]], VocLabels]:
    """The ``<object>`` elements of each frame, for rows without parts, actions or poses."""
    objects: list[list[str]] = [[] for _ in table.frames]
    frame_of, annotations, row = table.frame.tolist(), table.annotations, -1
    try:
        for row, box in zip(rows, boxes):
            objects[frame_of[row]].append(PLAIN_OBJECT.format(xml_text(annotations[row]["value"]),
                                                              *read[row].flags, *box))
    except (AttributeError, TypeError, ValueError) as error:
        raise FormatError(f"{table.place(row)}: {error}") from error
    names = dict.fromkeys(str(annotations[row]["value"]) for row in rows)
    return objects, VocLabels({name: ({}, {}) for name in names})


def _objects_with_parts(table: AnnotationTable, rows: list[int], boxes: dict[int, list[int]],
                        read: dict[int, VocAttributes | None], report: ConversionReport
                        ) -> tuple[list[list[str]], VocLabels]:
    """The ``<object>`` elements of each frame, each part inside the object it belongs to."""
    assigned, orphans = assign_parts(table, rows, boxes, read)
    table.note(report, table.rows_mask(np.asarray(orphans, np.int64)),
               "VOC part without an object of its part_of class in its image, written as an object")
    placed = {part for parts in assigned.values() for part in parts}
    objects: list[list[str]] = [[] for _ in table.frames]
    labels = VocLabels()
    for row in rows:
        if row not in placed:
            objects[table.frame[row]].append(_object_text(table, row, assigned.get(row, []), boxes, report, labels,
                                                          read[row]))
    return objects, labels


def voc_documents(table: AnnotationTable, report: ConversionReport) -> tuple[list[tuple[str, str]], VocLabels]:
    """The XML text of every frame of a table, and the classes (with parts and actions) written."""
    table.sizeless(report, "written with that size")
    keep = apply_policy(table, VOC_POLICY, report)
    bounds = np.floor(vertex_bounds(table))
    beyond = keep & ~((bounds > -INT64_END) & (bounds < INT64_END)).all(axis=1)  # (as float64 holds them)
    table.note(report, beyond, BEYOND_INT64)
    keep &= ~beyond
    rows = np.flatnonzero(keep)
    boxes = bounds[keep].astype(np.int64)
    try:
        plain = plain_documents(table, rows, boxes)
    except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError):
        plain = None  # row_documents names the row and the problem
    return plain if plain is not None else row_documents(table, rows.tolist(), boxes.tolist(), report)


def row_documents(table: AnnotationTable, rows: list[int], boxes: list[list[int]], report: ConversionReport
                  ) -> tuple[list[tuple[str, str]], VocLabels]:
    """:func:`voc_documents` of the kept ``rows`` (their ``boxes``) row by row: any table, every
    problem named with its row."""
    read, only = _read_attributes(table, rows)
    objects, labels = (_plain_objects(table, rows, boxes, read) if only  # type: ignore[arg-type]
                       else _objects_with_parts(table, rows, dict(zip(rows, boxes)), read, report))
    documents = [(frame.file_name, document_head(frame) + "".join(parts) + TAIL)
                 for frame, parts in zip(table.frames, objects)]
    return documents, labels


def build_pascalvoc(table: AnnotationTable, report: ConversionReport) -> list[tuple[str, str]]:
    """The XML text of every frame of a table."""
    return voc_documents(table, report)[0]
