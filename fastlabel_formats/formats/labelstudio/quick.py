"""The quick read of one annotation's result list when every region in it is typical: a box,
polygon or keypoint of the task's image size, with one label, finite numbers and nothing to report
(per-region controls are left to the caller, as on the general path). Anything else — another
region type, a missing or other size, a second label, an open polygon, an editor-rotated image —
sends the whole list to the general path of :mod:`fastlabel_formats.formats.labelstudio.reader`,
which reads and reports it; nothing is recorded before the list is known to be typical."""

from __future__ import annotations

from itertools import chain

from .regions import ONLY_LISTS, ONLY_PAIRS, RegionBatch

CONTROL_TYPES = frozenset(("choices", "textarea", "number"))
QUICK_TYPES = frozenset(("rectanglelabels", "polygonlabels", "keypointlabels"))
NUMBERS = frozenset((int, float))  # not bool; whether they are finite is checked once per list (see _finite)


class _Atypical(Exception):
    """Internal: a result the quick path does not read."""


def _box(value: dict, annotation: dict, found: tuple, where: tuple) -> None:
    numbers = [value.get("x"), value.get("y"), value.get("width"), value.get("height"), value.get("rotation") or 0]
    if not NUMBERS.issuperset(map(type, numbers)):
        raise _Atypical
    annotation["type"] = "bbox"
    if numbers[4]:
        annotation["rotation"] = numbers[4]
    numbers += found[0]
    found[1].extend(numbers)
    found[2].append((annotation, where))


def _polygon(value: dict, annotation: dict, found: tuple, where: tuple) -> None:
    points = value.get("points")
    if type(points) is not list or len(points) < 3 or set(map(type, points)) != ONLY_LISTS \
            or set(map(len, points)) != ONLY_PAIRS or value.get("closed") is False:
        raise _Atypical
    flat = list(chain.from_iterable(points))
    if not NUMBERS.issuperset(map(type, flat)):
        raise _Atypical
    annotation["type"] = "polygon"
    found[3].extend(flat)
    found[4].extend((len(points), *found[0]))
    found[5].append((annotation, where))


def _keypoint(value: dict, annotation: dict, found: tuple, where: tuple) -> None:
    numbers = [value.get("x"), value.get("y")]
    if not NUMBERS.issuperset(map(type, numbers)):
        raise _Atypical
    annotation["type"] = "keypoint"
    found[3].extend(numbers)
    found[4].extend((1, *found[0]))
    found[5].append((annotation, where))


SHAPES = {"rectanglelabels": _box, "polygonlabels": _polygon, "keypointlabels": _keypoint}


def _region(result: dict, kind: str, size: tuple[int, int], found: tuple, where: tuple) -> dict:
    """The annotation of one typical region (its numbers added to ``found``), else ``_Atypical``."""
    value = result.get("value")
    if result.get("original_width") != size[0] or result.get("original_height") != size[1] \
            or type(value) is not dict or result.get("image_rotation"):
        raise _Atypical
    labels = value.get(kind)
    if not (type(labels) is list and len(labels) == 1 and type(labels[0]) is str and labels[0]):
        raise _Atypical
    annotation = {"value": labels[0], "type": None, "attributes": []}
    SHAPES[kind](value, annotation, found, where)
    return annotation


def quick_regions(results: object, place: str, size: tuple[int, int],
                  batch: RegionBatch) -> tuple[list[dict], dict, list[tuple[int, dict]]] | None:
    """``(annotations, {region id: annotation}, [(number, control result)])`` of a result list whose
    every region is typical (their pixels left to ``batch``), else None with nothing recorded."""
    if type(results) is not list or not (size[0] and size[1]):
        return None
    # the image size, then as in the batch: boxes' numbers and owners, point lists' coordinates, counts and owners
    found: tuple = ((size[0], size[1]), [], [], [], [], [])
    out, regions, controls = [], {}, []
    try:
        for number, result in enumerate(results):
            kind = result.get("type") if type(result) is dict else None
            if kind in CONTROL_TYPES:
                controls.append((number, result))
            elif kind in QUICK_TYPES and type(result.get("id")) not in (list, dict):  # else: not linkable
                annotation = _region(result, kind, size, found, (place, number, kind))
                regions.setdefault(result.get("id"), annotation)
                out.append(annotation)
            else:
                raise _Atypical
    except _Atypical:
        return None
    if not (_finite(found[1]) and _finite(found[3])):
        return None
    _record(batch, found)
    return out, regions, controls


def _finite(numbers: list) -> bool:
    """Whether a list of ints and floats holds finite numbers only (a sum that overflows counts as not)."""
    try:
        total = sum(numbers)
    except OverflowError:  # an int too large for a float
        return False
    return total - total == 0


def _record(batch: RegionBatch, found: tuple) -> None:
    """Hand the regions' numbers and owners to ``batch``."""
    _, boxes, box_owners, coords, counts, owners = found
    batch.boxes += boxes
    batch.box_owners += box_owners
    batch.coords += coords
    batch.counts += counts
    batch.owners += owners
