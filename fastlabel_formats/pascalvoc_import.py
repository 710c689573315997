"""Pascal VOC XML -> FastLabel: one bbox annotation per ``<object>`` (its flags, pose and actions as
attributes) and per ``<part>`` (a ``part_of`` text attribute naming its object's class). The writing
side is :mod:`fastlabel_formats.pascalvoc`.

Each element's children are read once, in one pass (the first child of each tag, as ``find`` gives
it), rather than searched once per field. Every annotation the reader makes is well-formed (a class
name, a box of four finite numbers, plain attributes), so it vouches for its tasks: their tables check
only the coordinates (see :mod:`fastlabel_formats.table_readers`).
"""

from __future__ import annotations

import glob
import math
import os
from pathlib import Path

from .errors import FormatError
from .files import read_text
from .labelme import image_header_size, skipped_file
from .report import ConversionReport
from .runtime import gc_paused
from .table_readers import vouch
from .voc_text import ACTION_PREFIX, INT64_END, PART_KEY, UNSPECIFIED, VOC_FLAGS

BOX_KEYS = ("xmin", "ymin", "xmax", "ymax")


@gc_paused
def pascalvoc_to_fastlabel(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> dict[str, list[dict]]:
    """``{image path: [bbox annotations]}`` of every ``*.xml`` under ``folder_path`` (keys sorted;
    ``.xml`` replaced by the extension of ``<filename>``, an ``annotations``/``Annotations`` folder
    left out of the name). Parsed without entity expansion or network access."""
    return {t["name"]: t["annotations"] for t in pascalvoc_tasks(folder_path, report=report, strict=strict)}


@gc_paused
def pascalvoc_tasks(
    folder_path: str | os.PathLike[str], *, report: ConversionReport | None = None, strict: bool = False
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a Pascal VOC folder, sorted by name.
    Broken XML and XML that is not VOC are skipped and reported; FormatError when there were XML
    files and none was a VOC document."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    report = report or ConversionReport("pascalvoc import", strict=strict)
    folder = Path(folder_path)
    results: dict[str, dict] = {}
    first_skip = None
    for path in sorted(folder.rglob("*.xml")):
        root, why_not, detail = _voc_root(path, parser)
        key = root is not None and voc_task_name(path.relative_to(folder).as_posix(), root.findtext("filename") or "")
        if key in results:
            root, why_not, detail = None, "a second VOC file of one image, skipped", f"image {key!r}"
        if root is None:
            skipped = skipped_file(report, path, why_not, detail)
            first_skip = first_skip or skipped
            continue
        results[key] = {"name": key, "width": _voc_size(root, "width"), "height": _voc_size(root, "height"),
                        "annotations": voc_objects(root, str(path), report)}
    if not results and first_skip:
        raise FormatError(f"{folder}: no Pascal VOC file found, e.g. {first_skip}")
    for unannotated in _listed_images(folder, results, report):
        results[unannotated["name"]] = unannotated
    tasks = [results[key] for key in sorted(results)]
    vouch(tasks, [True] * len(tasks))  # every annotation made here, well-formed but for its coordinates
    return tasks


def _first_children(element) -> dict:
    """``{tag: the first child with it}`` of an element (what ``element.find(tag)`` gives, for every
    tag at once)."""
    return {child.tag: child for child in reversed(element)}


def _text(element) -> str:
    """What ``findtext`` gives of a found element (``""`` for none, or none found)."""
    return "" if element is None else element.text or ""


def _voc_box(box) -> tuple[list | None, str]:
    """``[xmin, ymin, xmax, ymax]`` of a ``<bndbox>``, or None and why it is not a box."""
    if box is None:
        return None, "without bndbox"
    texts = {child.tag: child.text for child in reversed(box)}
    points = []
    for key in BOX_KEYS:
        try:
            value = float(texts.get(key))
        except (TypeError, ValueError):
            return None, f"with a bndbox {key} that is not a number"
        if not math.isfinite(value):  # nan, inf, 1e400: no box
            return None, f"with a bndbox {key} that is not a finite number"
        points.append(int(value) if value.is_integer() and -INT64_END <= value < INT64_END else value)
    return points, ""


def _object_attributes(element, first: dict) -> list[dict]:
    """The VOC flags, a pose other than Unspecified and the actions of an ``<object>`` (``first``:
    its first child of each tag)."""
    attributes = [{"key": flag, "value": (first[flag].text or "0").strip() == "1", "type": "switch"}
                  for flag in VOC_FLAGS if flag in first]
    pose = _text(first.get("pose")).strip()
    if pose and pose != UNSPECIFIED:
        attributes.append({"key": "pose", "value": pose, "type": "text"})
    if "actions" in first:
        attributes += [{"key": f"{ACTION_PREFIX}{action.tag}", "value": (action.text or "0").strip() == "1",
                        "type": "switch"} for actions in element if actions.tag == "actions"
                       for action in actions if isinstance(action.tag, str)]
    return attributes


def voc_objects(root, place: str, report: ConversionReport) -> list[dict]:
    """The FastLabel bbox annotations of one parsed VOC document (each object followed by its
    parts); an object without a name or a usable box is skipped and reported with its index."""
    annotations = []
    for position, element in enumerate(root.iter("object")):
        where_object = f"{place} object #{position}"
        first = _first_children(element)
        name = _text(first.get("name")).strip()
        if not name:
            report.note("object without a name, skipped", where_object)
            continue
        points, problem = _voc_box(first.get("bndbox"))
        if points is None:
            report.note(f"object {problem}, skipped with its parts", where_object)
            continue
        annotations.append({"value": name, "points": points, "type": "bbox",
                            "attributes": _object_attributes(element, first)})
        if "part" in first:
            annotations += _voc_parts(element, name, where_object, report)
    return annotations


def _voc_parts(element, owner: str, place: str, report: ConversionReport) -> list[dict]:
    """The ``<part>`` boxes of an object as bbox annotations of their own, each with a ``part_of``
    attribute naming its object's class."""
    parts = []
    for number, part in enumerate(child for child in element if child.tag == "part"):
        first = _first_children(part)
        name = _text(first.get("name")).strip()
        points, problem = _voc_box(first.get("bndbox"))
        if not name or points is None:
            report.note(f"VOC part {problem or 'without a name'}, skipped", f"{place} part #{number}")
            continue
        parts.append({"value": name, "points": points, "type": "bbox",
                      "attributes": [{"key": PART_KEY, "value": owner, "type": "text"}]})
    return parts


def _voc_size(root, key: str) -> int:
    text = (root.findtext(f"size/{key}") or "0").strip()
    return int(float(text)) if text.replace(".", "", 1).isdigit() else 0


def voc_task_name(relative: str, filename: str) -> str:
    """The image name of a VOC file at ``relative`` (POSIX, inside the folder read): its path
    without ``.xml`` and without its first ``annotations`` folder (``Annotations/a.xml`` and our
    ``annotations/sub/a.xml`` are the images ``a`` and ``sub/a``), with the extension of ``<filename>``."""
    folders = relative.split("/")
    for position, folder in enumerate(folders[:-1]):
        if folder.lower() == "annotations":
            del folders[position]
            break
    return os.path.splitext("/".join(folders))[0] + os.path.splitext(filename)[1]


def _voc_root(path: Path, parser) -> tuple[object | None, str, str]:
    """The root element of a VOC file, or None, why it is not one and the details."""
    from lxml import etree

    try:
        root = etree.parse(str(path), parser).getroot()
    except (etree.XMLSyntaxError, OSError) as error:  # OSError: bytes not in the declared encoding
        return None, "not valid XML, skipped", str(error)[:160]
    if root is None or root.tag != "annotation":
        return None, "XML file that is not a VOC annotation, skipped", "no <annotation> root"
    return root, "", ""


def _listed_images(folder: Path, results: dict[str, dict], report: ConversionReport) -> list[dict]:
    """Images that an ``ImageSets/Main/<split>.txt`` of the dataset root lists and that have no VOC
    file: tasks without annotations, named after their file in ``JPEGImages/`` (sized from it)."""
    known = {os.path.splitext(name)[0] for name in results}
    found: dict[str, dict] = {}
    for list_path in sorted((folder / "ImageSets" / "Main").glob("*.txt")):
        if "_" in list_path.stem:  # <class>_<split>.txt: per-class flags of the same images
            continue
        for number, line in enumerate(read_text(list_path, "the image list").splitlines(), 1):
            image_id = line.strip()
            if not image_id or image_id.startswith("#") or image_id in known or image_id in found:
                continue
            images = [] if ".." in image_id.split("/") or image_id.startswith("/") else sorted(
                p for p in (folder / "JPEGImages").glob(f"{glob.escape(image_id)}.*") if p.is_file())
            if not images:
                report.note("image listed in ImageSets/Main without a VOC file or an image in JPEGImages, skipped",
                            f"{list_path} line {number}")
                continue
            width, height = image_header_size(images[0]) or (0, 0)
            name = images[0].relative_to(folder / "JPEGImages").as_posix()
            found[image_id] = {"name": name, "width": width, "height": height, "annotations": []}
    return list(found.values())
