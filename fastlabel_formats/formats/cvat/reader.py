"""CVAT for images / for video 1.1 XML -> FastLabel tasks, streamed with ``lxml.etree.iterparse``
(each ``<image>`` or ``<track>`` cleared once read: memory does not grow with the file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from ...errors import FormatError
from ...labelme import skipped_file
from ...report import ConversionReport
from ...runtime import gc_paused
from .meta import CvatMeta, parse_meta
from .plain import (
    NUMBER_AS_TEXT,
    PLANS,
    POINTS_GROUP,
    child_attributes,
    plain_parts,
    property_plan,
    shape_plan,
)
from .shapes import comma_number_rows, ellipse_polygon, mask_segmentation, number, numbers, parse_points
from .stream import SAFE_PARSING, Node, as_node, element_records, top_level


class Shape:
    """What reading one shape needs: the file's ``<meta>`` and report, the shape's label and colour
    (``{"color": ...}`` or ``{}``), its place (made text only when a loss is reported there) and its
    numbers when read beforehand (``values``, see :func:`image_annotations`)."""

    __slots__ = ("meta", "report", "where", "position", "tag", "label", "color", "values")

    def __init__(self, meta: CvatMeta, report: ConversionReport, where: str, tag: str = "",
                 position: int | None = None) -> None:
        self.meta, self.report, self.where, self.tag, self.position = meta, report, where, tag, position
        self.label, self.color, self.values = "", {}, None

    def place(self) -> str:
        """``<where> shape #n (tag)`` for a shape of an image, ``<where>`` for one of a track."""
        return self.where if self.position is None else f"{self.where} shape #{self.position} ({self.tag})"

    def note(self, kind: str) -> None:
        """Report a loss of ``kind`` at this shape."""
        self.report.note(kind, self.place())


def _box(element, attrs: dict, shape: Shape) -> list[dict]:
    values = shape.values
    if values is None or len(values) != 5:
        values = numbers([attrs.get("xtl"), attrs.get("ytl"), attrs.get("xbr"), attrs.get("ybr"),
                          attrs.get("rotation") or "0"])
    xtl, ytl, xbr, ybr, rotation = values
    return [{"type": "bbox", "value": shape.label, **shape.color, "points": [xtl, ytl, xbr, ybr],
             "rotation": rotation}]


def _flat(kind: str):
    def read(element, attrs: dict, shape: Shape) -> list[dict]:
        return [{"type": kind, "value": shape.label, **shape.color,
                 "points": parse_points(attrs.get("points"), shape.values)}]
    return read


def _points(element, attrs: dict, shape: Shape) -> list[dict]:
    flat = parse_points(attrs.get("points"), shape.values)
    return [{"type": "keypoint", "value": shape.label, **shape.color, "points": flat[i:i + 2]}
            for i in range(0, len(flat), 2)]


def _ellipse(element, attrs: dict, shape: Shape) -> list[dict]:
    cx, cy, rx, ry = (number(attrs.get(key)) for key in ("cx", "cy", "rx", "ry"))
    rotation = number(attrs.get("rotation") or 0)
    if rx == ry:
        return [{"type": "circle", "value": shape.label, **shape.color, "points": [cx, cy, rx]}]
    shape.note("CVAT ellipse with two radii written as a polygon of its outline")
    return [{"type": "polygon", "value": shape.label, **shape.color,
             "points": ellipse_polygon(cx, cy, rx, ry, rotation)}]


def _mask(element, attrs: dict, shape: Shape) -> list[dict]:
    counts = [int(count) for count in (attrs.get("rle") or "").split(",")]
    left, top, width, height = (int(number(attrs.get(key))) for key in ("left", "top", "width", "height"))
    return [{"type": "segmentation", "value": shape.label, **shape.color,
             "points": mask_segmentation(counts, left, top, width, height)}]


def _skeleton(element, attrs: dict, shape: Shape) -> list[dict]:
    spec = shape.meta.labels.get(shape.label)
    found = {}
    for node in element:
        if not isinstance(node.tag, str) or node.tag != "points" or not node.get("label"):
            continue
        visible = node.get("outside", "0") != "1"
        point = parse_points(node.get("points"))[:2] if visible else []
        found[node.get("label")] = point + [0 if node.get("occluded", "0") == "1" else 1] if point else []
    names = [*(spec.nodes if spec else ()), *(name for name in found if not spec or name not in spec.nodes)]
    edges = spec.edges if spec else []
    keypoints = [{"key": name, "name": name, "value": found.get(name, []),
                  "edges": [b if a == name else a for a, b in edges if name in (a, b)]} for name in names]
    return [{"type": "pose_estimation", "value": shape.label, **shape.color, "keypoints": keypoints}]


def _tag(element, attrs: dict, shape: Shape) -> list[dict]:
    return [{"type": "classification", "value": shape.label, **shape.color}]


SHAPES = {"box": _box, "polygon": _flat("polygon"), "polyline": _flat("line"), "points": _points,
          "ellipse": _ellipse, "mask": _mask, "skeleton": _skeleton, "tag": _tag}


def shape_attributes(element, attrs: dict, shape: Shape) -> list[dict]:
    """The ``<attribute>`` children (typed by the label's specs) and the carried shape properties
    (``attrs``: the element's XML attributes)."""
    attributes = []
    for child in element:
        if child.tag == "attribute":
            name = child.get("name") or ""
            kind, is_number = shape.meta.attribute_type(shape.label, name)
            text = child.text or ""
            attributes.append({"key": name, "value": text.strip() == "true" if kind == "switch" else text,
                               "type": kind})
            if is_number:
                shape.note(NUMBER_AS_TEXT)
    carried, unknown = property_plan(shape.tag, tuple(attrs))
    for name in unknown:
        shape.note(f"CVAT shape property {name!r} not carried")
    for name, kind, default in carried:
        value = attrs[name]
        if value != default:
            attributes.append({"key": name, "value": value == "1" if kind == "switch" else value, "type": kind})
    return attributes


def shape_parts(element, attrs: dict, shape: Shape) -> list[dict] | None:
    """The FastLabel annotations of one shape without their attributes (type, value, colour, points or
    keypoints); None (reported) when unreadable."""
    reader = SHAPES.get(shape.tag)
    if reader is None:
        shape.note(f"CVAT <{shape.tag}> shape not understood, skipped")
        return None
    try:
        return reader(element, attrs, shape)
    except (TypeError, ValueError, KeyError) as error:
        shape.report.note("CVAT shape with unreadable geometry skipped", f"{shape.place()}: {error}")
        return None


def shape_annotations(element, shape: Shape) -> list[dict]:
    """The FastLabel annotations of one shape of an ``<image>`` (several for a points shape with
    several points, which share a ``cvat_points`` attribute: the shape's position)."""
    attrs = element.attrib if element.__class__ is Node else dict(element.items())
    label = attrs.get("label")
    if not label:
        shape.note("CVAT shape without a label, skipped")
        return []
    if attrs.get("outside") == "1":  # a track's shape where the object is not in view
        return []
    shape.label, shape.color = label, shape.meta.color(label)
    parts = shape_parts(element, attrs, shape)
    if not parts:
        return []
    attributes = shape_attributes(element, attrs, shape)
    if len(parts) == 1:
        parts[0]["attributes"] = attributes
        return parts
    return grouped(parts, attributes, shape.position)


def image_task(element, meta: CvatMeta, source: str, report: ConversionReport) -> dict | None:
    """The FastLabel task of one ``<image>`` (named ``<subset>/<name>`` when it has a subset)."""
    attrs = element.attrib
    name = attrs.get("name")
    if not name:
        report.note("CVAT image without a name, skipped", f"{source}: image id {attrs.get('id')!r}")
        return None
    if attrs.get("subset"):
        name = f"{attrs.get('subset')}/{name}"
    records = element if element.__class__ is Node else element_records(element)
    shape = Shape(meta, report, f"{source}: image {name!r}", position=0)
    return {"name": name, "width": _size(attrs.get("width")), "height": _size(attrs.get("height")),
            "annotations": image_annotations(records, shape)}


def image_annotations(records: list[list], shape: Shape) -> list[dict]:
    """The FastLabel annotations of an image's shape records (see :mod:`.stream`), in order."""
    known = PLANS.get
    plans = [known((tag, *attrib)) or shape_plan((tag, *attrib)) for tag, attrib, _ in records]
    rows = comma_number_rows([plan.numbers(record[1]) for plan, record in zip(plans, records)], pairs=True)
    annotations: list[dict] = []
    meta = shape.meta
    for position, (record, plan, values) in enumerate(zip(records, plans, rows)):
        tag, attrib, children = record
        parts = plan.kind and plain_parts(plan, attrib, values, meta)
        if not parts:
            shape.position, shape.tag, shape.values = position, tag, values
            annotations += shape_annotations(as_node(record), shape)
            continue
        attributes = child_attributes(children, attrib["label"], meta, shape, position, tag) if children else []
        if plan.current is not None:
            current = plan.current(attrib)
            carried = plan.known.get(current)
            if carried is None:
                carried = plan.properties(current)
            if carried:
                attributes += [attribute.copy() for attribute in carried]
        if len(parts) == 1:
            parts[0]["attributes"] = attributes
            annotations.append(parts[0])
        else:
            annotations += grouped(parts, attributes, position)
    return annotations


def grouped(parts: list[dict], attributes: list[dict], position: int) -> list[dict]:
    """The parts of one shape (a points shape's keypoints), each with ``attributes`` and a
    ``cvat_points`` attribute: the shape's ``position``."""
    attributes.append({"key": POINTS_GROUP, "value": str(position), "type": "text"})
    for part in parts:
        part["attributes"] = [attribute.copy() for attribute in attributes]
    return parts


@lru_cache(maxsize=1024)  # images of a file have a few sizes
def _size(text: str | None) -> int:
    try:
        return max(int(float(text)), 0)
    except (TypeError, ValueError):
        return 0


def root_tag(path: str | os.PathLike[str]) -> str | None:
    """The tag of a file's root element (the first bytes read only), or None for broken XML."""
    from lxml import etree

    try:
        for _, element in etree.iterparse(str(path), events=("start",), **SAFE_PARSING):
            return element.tag
    except (etree.XMLSyntaxError, OSError):
        return None
    return None


IN_MEMORY_NAMES = 20_000  # image names kept in a set; beyond, in a temporary SQLite table on disk


class SeenNames:
    """The image names read so far, to tell a second image of one name: a set until it holds
    :data:`IN_MEMORY_NAMES`, then a temporary on-disk SQLite table (memory stays bounded)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.database = None

    def add(self, name: str) -> bool:
        """Record ``name``; False when it was recorded before."""
        if self.database is not None:
            return self.database.execute("INSERT OR IGNORE INTO seen VALUES (?)", (name,)).rowcount == 1
        if name in self.names:
            return False
        self.names.add(name)
        if len(self.names) >= IN_MEMORY_NAMES:
            self._spill()
        return True

    def _spill(self) -> None:
        import sqlite3

        self.database = sqlite3.connect("", check_same_thread=False)  # "": private, on disk, gone once closed
        self.database.execute("CREATE TABLE seen (name TEXT PRIMARY KEY) WITHOUT ROWID")
        self.database.executemany("INSERT INTO seen VALUES (?)", ((name,) for name in self.names))
        self.names = set()

    def close(self) -> None:
        """Drop what was recorded."""
        if self.database is not None:
            self.database.close()
            self.database = None
        self.names = set()


def _new_image(task: dict | None, names: SeenNames, source: str, report: ConversionReport) -> list[dict]:
    """``[task]``, or ``[]`` when it is None or a second image of its name (reported)."""
    if task is None:
        return []
    if not names.add(task["name"]):
        report.note("second CVAT image of one name, skipped", f"{source}: image {task['name']!r}")
        return []
    return [task]


def iter_file_tasks(path: str | os.PathLike[str], report: ConversionReport) -> Iterator[dict]:
    """The tasks of one CVAT XML file in document order: one per ``<image>``, or one video task
    holding every ``<track>``."""
    from lxml import etree

    from .video import VideoTask

    source, meta, video, names, used = str(path), CvatMeta(), None, SeenNames(), set()
    try:
        for tag, element in top_level(source):
            if tag == "meta":
                meta = parse_meta(element)
            elif tag == "image":
                for task in _new_image(image_task(element, meta, source, report), names, source, report):
                    used.update(map(_VALUE, task["annotations"]))
                    yield task
            elif tag == "track":
                video = video or VideoTask(meta, source, Path(source).stem)
                video.add(element, report)
            else:
                report.note("CVAT frame tag of a video not carried (FastLabel video has no frame tags)",
                            f"{source}: tag {element.get('label')!r} frame {element.get('frame')}")
    except etree.XMLSyntaxError as error:
        raise FormatError(f"{source}: not valid XML ({error})") from error
    finally:
        names.close()
    if video is not None:
        used.update(annotation["value"] for annotation in video.annotations)
        yield video.task()
    for label in meta.labels:
        if label not in used:
            report.note(UNUSED_LABEL, f"{source}: label {label!r}")


_VALUE = itemgetter("value")
UNUSED_LABEL = "CVAT label that no annotation carries, not kept (FastLabel tasks hold no label list)"


def cvat_files(source: str | os.PathLike[str], report: ConversionReport) -> list[Path]:
    """The CVAT XML files of a file or a folder (others in the folder skipped and reported)."""
    path = Path(source)
    if path.is_file():
        if root_tag(path) != "annotations":
            raise FormatError(f"{path}: not a CVAT XML file (no <annotations> root element)")
        return [path]
    if not path.is_dir():
        raise FormatError(f"{path}: no such file or folder")
    found, first_skip = [], None
    for candidate in sorted(path.rglob("*.xml")):
        if root_tag(candidate) == "annotations":
            found.append(candidate)
        else:
            first_skip = first_skip or skipped_file(report, candidate, "XML file that is not CVAT XML, skipped",
                                                    "no <annotations> root element")
    if not found:
        raise FormatError(f"{path}: no CVAT XML file found" + (f", e.g. {first_skip}" if first_skip else ""))
    return found


def iter_cvat_tasks(source: str | os.PathLike[str], *, report: ConversionReport | None = None) -> Iterator[dict]:
    """FastLabel tasks of a CVAT XML file or of every CVAT XML file of a folder, one at a time."""
    report = report if report is not None else ConversionReport("cvat import")
    for path in cvat_files(source, report):
        yield from iter_file_tasks(path, report)


@gc_paused
def cvat_tasks(source: str | os.PathLike[str], *, report: ConversionReport | None = None,
               strict: bool = False) -> list[dict]:
    """FastLabel tasks of a CVAT for images or for video 1.1 XML file (or a folder of them)."""
    report = report if report is not None else ConversionReport("cvat import", strict=strict)
    return list(iter_cvat_tasks(source, report=report))
