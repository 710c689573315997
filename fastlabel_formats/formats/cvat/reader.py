"""CVAT for images / for video 1.1 XML -> FastLabel tasks, streamed with ``lxml.etree.iterparse``
(each ``<image>`` or ``<track>`` cleared once read: memory does not grow with the file)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ...errors import FormatError
from ...labelme import skipped_file
from ...report import ConversionReport
from .meta import CvatMeta, parse_meta
from .shapes import ellipse_polygon, mask_segmentation, number, parse_points

# XML attributes of a shape carried as FastLabel attributes: (name, FastLabel type, CVAT's default)
PROPERTIES = (("occluded", "switch", "0"), ("z_order", "text", "0"), ("group_id", "text", "0"),
              ("source", "text", "manual"), ("track_id", "text", None))
GEOMETRY_KEYS = {"box": {"xtl", "ytl", "xbr", "ybr", "rotation"}, "polygon": {"points"}, "polyline": {"points"},
                 "points": {"points"}, "ellipse": {"cx", "cy", "rx", "ry", "rotation"},
                 "mask": {"rle", "left", "top", "width", "height"}, "skeleton": set(), "tag": set()}
TRACK_KEYS = {"frame", "outside", "keyframe"}
_PROPERTY_TYPES = {name: (kind, default) for name, kind, default in PROPERTIES}
_BASE_KEYS = frozenset(TRACK_KEYS | {"label"})
KNOWN_KEYS = {tag: frozenset(keys | _BASE_KEYS) for tag, keys in GEOMETRY_KEYS.items()}  # not carried as attributes
POINTS_GROUP = "cvat_points"  # the keypoints of one CVAT points shape with several points share this value
SAFE_PARSING = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}
NUMBER_AS_TEXT = "CVAT number attribute carried as a text attribute"


def _box(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    points = [number(element.get(key)) for key in ("xtl", "ytl", "xbr", "ybr")]
    return [{"type": "bbox", "points": points, "rotation": number(element.get("rotation") or 0)}]


def _flat(kind: str):
    def read(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
        return [{"type": kind, "points": parse_points(element.get("points"))}]
    return read


def _points(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    flat = parse_points(element.get("points"))
    return [{"type": "keypoint", "points": flat[i:i + 2]} for i in range(0, len(flat), 2)]


def _ellipse(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    cx, cy, rx, ry = (number(element.get(key)) for key in ("cx", "cy", "rx", "ry"))
    rotation = number(element.get("rotation") or 0)
    if rx == ry:
        return [{"type": "circle", "points": [cx, cy, rx]}]
    report.note("CVAT ellipse with two radii written as a polygon of its outline", place)
    return [{"type": "polygon", "points": ellipse_polygon(cx, cy, rx, ry, rotation)}]


def _mask(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    counts = [int(count) for count in (element.get("rle") or "").split(",")]
    left, top, width, height = (int(number(element.get(key))) for key in ("left", "top", "width", "height"))
    return [{"type": "segmentation", "points": mask_segmentation(counts, left, top, width, height)}]


def _skeleton(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    label = element.get("label")
    spec = meta.labels.get(label)
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
    return [{"type": "pose_estimation", "keypoints": keypoints}]


def _tag(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    return [{"type": "classification"}]


SHAPES = {"box": _box, "polygon": _flat("polygon"), "polyline": _flat("line"), "points": _points,
          "ellipse": _ellipse, "mask": _mask, "skeleton": _skeleton, "tag": _tag}


def shape_attributes(element, label: str, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict]:
    """The ``<attribute>`` children (typed by the label's specs) and the carried shape properties."""
    attributes = []
    for child in element.iterchildren("attribute") if len(element) else ():
        kind, is_number = meta.attribute_type(label, child.get("name") or "")
        text = child.text or ""
        attributes.append({"key": child.get("name") or "", "value": text.strip() == "true" if kind == "switch"
                           else text, "type": kind})
        if is_number:
            report.note(NUMBER_AS_TEXT, place)
    known = KNOWN_KEYS.get(element.tag, _BASE_KEYS)
    for name, value in element.items():
        if name in known:
            continue
        carried = _PROPERTY_TYPES.get(name)
        if carried is None:
            report.note(f"CVAT shape property {name!r} not carried", place)
        elif value != carried[1]:
            attributes.append({"key": name, "value": value == "1" if carried[0] == "switch" else value,
                               "type": carried[0]})
    return attributes


def shape_parts(element, meta: CvatMeta, place: str, report: ConversionReport) -> list[dict] | None:
    """The FastLabel geometry (type, points or keypoints) of one shape; None (reported) when unreadable."""
    reader = SHAPES.get(element.tag)
    if reader is None:
        report.note(f"CVAT <{element.tag}> shape not understood, skipped", place)
        return None
    try:
        return reader(element, meta, place, report)
    except (TypeError, ValueError, KeyError) as error:
        report.note("CVAT shape with unreadable geometry skipped", f"{place}: {error}")
        return None


def shape_annotations(element, meta: CvatMeta, place: str, report: ConversionReport, group: str = "0"
                      ) -> list[dict]:
    """The FastLabel annotations of one shape of an ``<image>`` (several for a points shape with
    several points, which share a ``cvat_points`` attribute of value ``group``)."""
    label = element.get("label")
    if not label:
        report.note("CVAT shape without a label, skipped", place)
        return []
    if element.get("outside") == "1":  # a track's shape where the object is not in view
        return []
    parts = shape_parts(element, meta, place, report)
    if not parts:
        return []
    attributes = shape_attributes(element, label, meta, place, report)
    if len(parts) > 1:
        attributes.append({"key": POINTS_GROUP, "value": group, "type": "text"})
    color = meta.color(label)
    if len(parts) == 1:
        return [{"type": parts[0].pop("type"), "value": label, **color, **parts[0], "attributes": attributes}]
    return [{"type": part.pop("type"), "value": label, **color, **part, "attributes": [dict(a) for a in attributes]}
            for part in parts]


def image_task(element, meta: CvatMeta, source: str, report: ConversionReport) -> dict | None:
    """The FastLabel task of one ``<image>`` (named ``<subset>/<name>`` when it has a subset)."""
    name = element.get("name")
    if not name:
        report.note("CVAT image without a name, skipped", f"{source}: image id {element.get('id')!r}")
        return None
    if element.get("subset"):
        name = f"{element.get('subset')}/{name}"
    task = {"name": name, "width": _size(element.get("width")), "height": _size(element.get("height")),
            "annotations": []}
    for position, child in enumerate(child for child in element if isinstance(child.tag, str)):
        place = f"{source}: image {name!r} shape #{position} ({child.tag})"
        task["annotations"] += shape_annotations(child, meta, place, report, str(position))
    return task


def _size(text: str | None) -> int:
    try:
        return max(int(float(text)), 0)
    except (TypeError, ValueError):
        return 0


def _release(element) -> None:
    """Free a read element and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


def root_tag(path: str | os.PathLike[str]) -> str | None:
    """The tag of a file's root element (the first bytes read only), or None for broken XML."""
    from lxml import etree

    try:
        for _, element in etree.iterparse(str(path), events=("start",), **SAFE_PARSING):
            return element.tag
    except (etree.XMLSyntaxError, OSError):
        return None
    return None


TOP_LEVEL = ("meta", "image", "track", "tag")


def _new_image(task: dict | None, names: set, source: str, report: ConversionReport) -> list[dict]:
    """``[task]``, or ``[]`` when it is None or a second image of its name (reported)."""
    if task is None:
        return []
    if task["name"] in names:
        report.note("second CVAT image of one name, skipped", f"{source}: image {task['name']!r}")
        return []
    names.add(task["name"])
    return [task]


def iter_file_tasks(path: str | os.PathLike[str], report: ConversionReport) -> Iterator[dict]:
    """The tasks of one CVAT XML file in document order: one per ``<image>``, or one video task
    holding every ``<track>``."""
    from lxml import etree

    from .video import VideoTask

    source, meta, video, names, used = str(path), CvatMeta(), None, set(), set()
    try:
        for _, element in etree.iterparse(source, events=("end",), tag=TOP_LEVEL, **SAFE_PARSING):
            if element.tag == "meta":
                meta = parse_meta(element)
            elif element.tag == "image":
                for task in _new_image(image_task(element, meta, source, report), names, source, report):
                    used.update(annotation["value"] for annotation in task["annotations"])
                    yield task
            elif element.tag == "track":
                video = video or VideoTask(meta, source, Path(source).stem)
                video.add(element, report)
            elif element.getparent() is not None and element.getparent().tag == "annotations":
                report.note("CVAT frame tag of a video not carried (FastLabel video has no frame tags)",
                            f"{source}: tag {element.get('label')!r} frame {element.get('frame')}")
            else:
                continue  # an image's tag, read with its image
            _release(element)
    except etree.XMLSyntaxError as error:
        raise FormatError(f"{source}: not valid XML ({error})") from error
    if video is not None:
        used.update(annotation["value"] for annotation in video.annotations)
        yield video.task()
    for label in meta.labels:
        if label not in used:
            report.note(UNUSED_LABEL, f"{source}: label {label!r}")


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


def cvat_tasks(source: str | os.PathLike[str], *, report: ConversionReport | None = None,
               strict: bool = False) -> list[dict]:
    """FastLabel tasks of a CVAT for images or for video 1.1 XML file (or a folder of them)."""
    report = report if report is not None else ConversionReport("cvat import", strict=strict)
    return list(iter_cvat_tasks(source, report=report))
