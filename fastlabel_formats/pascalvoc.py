"""FastLabel -> Pascal VOC XML (``formats-spec.md`` §3), with D13 and D14 fixed.

The documents have the reference's exact text. They are produced from a fixed template with
every value escaped and checked for XML-legal characters; the tests parse each document
with lxml and compare it with the same tree serialised by lxml.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from .columns import vertex_bounds
from .errors import FormatError
from .report import ConversionReport
from .run import PerImageTarget, prepared_tables, run_export
from .runtime import gc_paused
from .selection import Policy, apply_policy
from .tasks import AnnotationTable

VOC_TYPES = ("bbox", "polygon")
VOC_FLAGS = ("truncated", "occluded", "difficult")
VOC_POLICY = Policy(VOC_TYPES, rotation="bbox rotation dropped (VOC boxes are axis-aligned)")
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HEAD = (
    "<annotation>\n    <filename>{}</filename>\n    <size>\n        <width>{}</width>\n"
    "        <height>{}</height>\n        <depth>3</depth>\n    </size>\n    <segmented>0</segmented>"
)
_OBJECT = (
    "\n    <object>\n        <name>{}</name>\n        <pose>Unspecified</pose>\n"
    "        <truncated>{}</truncated>\n        <occluded>{}</occluded>\n        <difficult>{}</difficult>\n"
    "        <bndbox>\n            <xmin>{}</xmin>\n            <ymin>{}</ymin>\n"
    "            <xmax>{}</xmax>\n            <ymax>{}</ymax>\n        </bndbox>\n    </object>"
)
_TAIL = "\n</annotation>"


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
    target = PascalVocTarget(".")
    return [document for table in prepared_tables(tasks, target, report, project_type, videos, frame_counts)
            for document in build_pascalvoc(table, report)]


@gc_paused
def export_pascalvoc(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "pascalvoc"),
    *,
    project_type: str = "image_bbox",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``annotations/<image basename>.xml`` per image (``jobs=N``: in N worker processes)."""
    report = ConversionReport("pascalvoc", strict=strict)
    run_export(tasks, [PascalVocTarget(output_dir)], [report], project_type=project_type, videos=videos,
               frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress, overwrite=overwrite)
    return report


class PascalVocTarget(PerImageTarget):
    """One VOC XML document per image."""

    name = "pascalvoc"
    geometry = frozenset(VOC_TYPES)
    folder = "annotations"
    suffix = ".xml"

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        return [text.encode() for _, text in build_pascalvoc(table, report)]


@lru_cache(maxsize=4096)
def xml_text(value: object) -> str:
    """``value`` as escaped XML character data; FormatError for characters XML cannot hold."""
    text = str(value)
    if _ILLEGAL_XML.search(text):
        raise FormatError(f"{text!r} contains characters that XML 1.0 cannot represent")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def voc_flags(attributes: object) -> tuple[int, int, int]:
    """truncated, occluded, difficult: ``int(value)`` of the first switch attribute of that key."""
    if not attributes:
        return (0, 0, 0)
    # reversed: the first switch of each key is written last and wins
    switches = {a.get("key"): a.get("value") for a in reversed(attributes) if a.get("type") == "switch"}
    return (int(switches.get("truncated", 0)), int(switches.get("occluded", 0)), int(switches.get("difficult", 0)))


def build_pascalvoc(batch: AnnotationTable, report: ConversionReport) -> list[tuple[str, str]]:
    """The XML text of every frame of a batch."""
    batch.sizeless(report, "written with that size")
    keep = apply_policy(batch, VOC_POLICY, report)
    boxes = np.floor(vertex_bounds(batch)[keep]).astype(np.int64).tolist()
    rows = np.flatnonzero(keep).tolist()
    objects: list[list[str]] = [[] for _ in batch.frames]
    for row, (xmin, ymin, xmax, ymax) in zip(rows, boxes):
        annotation = batch.annotations[row]
        try:
            flags = voc_flags(annotation.get("attributes"))
            name = xml_text(annotation["value"])
        except (AttributeError, TypeError, ValueError) as error:
            raise FormatError(f"{batch.place(row)}: {error}") from error
        objects[batch.frame[row]].append(_OBJECT.format(name, *flags, xmin, ymin, xmax, ymax))
    return [
        (frame.file_name,
         _HEAD.format(xml_text(frame.file_name), frame.width, frame.height) + "".join(parts) + _TAIL)
        for frame, parts in zip(batch.frames, objects)
    ]


# Pascal VOC -> FastLabel (§9, D36–D38); truncated / occluded / difficult kept as switch attributes


def _voc_number(text: str | None, place: str) -> int | float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FormatError(f"{place}: bndbox value {text!r} is not a number") from None
    if not math.isfinite(value):  # nan, inf, 1e400: no box
        raise FormatError(f"{place}: bndbox value {text!r} is not a finite number")
    return int(value) if value.is_integer() else value


def voc_objects(root, place: str, report: ConversionReport) -> list[dict]:
    """The FastLabel bbox annotations of one parsed VOC document."""
    annotations = []
    for position, element in enumerate(root.iter("object")):
        where_object = f"{place} object #{position}"
        name = (element.findtext("name") or "").strip()
        if not name:
            report.note("object without a name, skipped", where_object)
            continue
        box = element.find("bndbox")
        if box is None:
            report.note("object without bndbox, skipped", where_object)
            continue
        points = [_voc_number(box.findtext(k), where_object) for k in ("xmin", "ymin", "xmax", "ymax")]  # D36
        flags = [{"key": flag, "value": (element.findtext(flag) or "0").strip() == "1", "type": "switch"}
                 for flag in VOC_FLAGS if element.find(flag) is not None]
        actions = [{"key": f"action.{action.tag}", "value": (action.text or "0").strip() == "1", "type": "switch"}
                   for action in element.findall("actions/*")]
        annotations.append({"value": name, "points": points, "type": "bbox", "attributes": flags + actions})
        annotations += _voc_parts(element, name, where_object, report)
    return annotations


def _voc_parts(element, owner: str, place: str, report: ConversionReport) -> list[dict]:
    """The ``<part>`` boxes of an object (a person's head, hands, feet) as bbox annotations of their
    own, each with a ``part_of`` attribute naming its object's class."""
    parts = []
    for number, part in enumerate(element.findall("part")):
        name, box = (part.findtext("name") or "").strip(), part.find("bndbox")
        if not name or box is None:
            report.note("VOC part without a name or bndbox, skipped", f"{place} part #{number}")
            continue
        points = [_voc_number(box.findtext(k), place) for k in ("xmin", "ymin", "xmax", "ymax")]
        parts.append({"value": name, "points": points, "type": "bbox",
                      "attributes": [{"key": "part_of", "value": owner, "type": "text"}]})
    return parts


@gc_paused
def pascalvoc_to_fastlabel(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> dict[str, list[dict]]:
    """``{image path: [bbox annotations]}`` of every ``*.xml`` under ``folder_path`` (keys sorted;
    ``.xml`` replaced by the extension of ``<filename>``). Parsed without entity expansion or
    network access."""
    return {t["name"]: t["annotations"] for t in pascalvoc_tasks(folder_path, report=report, strict=strict)}


def _voc_size(root, key: str) -> int:
    text = (root.findtext(f"size/{key}") or "0").strip()
    return int(float(text)) if text.replace(".", "", 1).isdigit() else 0


@gc_paused
def pascalvoc_tasks(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a Pascal VOC folder, sorted by name."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    report = report or ConversionReport("pascalvoc import", strict=strict)
    folder = Path(folder_path)
    results: dict[str, dict] = {}
    for path in sorted(folder.rglob("*.xml")):
        try:
            root = etree.parse(str(path), parser).getroot()
        except (etree.XMLSyntaxError, OSError) as error:  # OSError: bytes not in the declared encoding
            raise FormatError(f"{path}: not valid XML: {error}") from error
        extension = os.path.splitext(root.findtext("filename") or "")[1]
        key = os.path.splitext(path.relative_to(folder).as_posix())[0] + extension
        results[key] = {"name": key, "width": _voc_size(root, "width"), "height": _voc_size(root, "height"),
                        "annotations": voc_objects(root, str(path), report)}  # D37: no <object> gives []
    return [results[key] for key in sorted(results)]
