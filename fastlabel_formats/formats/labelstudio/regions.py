"""Label Studio region results -> FastLabel annotations: each region type's checks, and the batch
that turns the regions of a run of tasks from percent into pixels at once (the task-level reading
is :mod:`fastlabel_formats.formats.labelstudio.reader`)."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from ...errors import FormatError
from ...geometry import integral_to_int, turn_cos_sin
from ...report import ConversionReport
from .brush import brush_mask
from .video import TURNING, video_points

NOT_FINITE = "region whose pixel coordinates are not finite numbers, skipped"


class Skip(Exception):
    """Internal: a result that is not read, why (the report's line) and the details (of its place)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind, self.detail = kind, detail


def result_place(where: tuple) -> str:
    """The place of a result, ``(annotation's place, result number, result type)``, for messages."""
    entry_place, number, kind = where
    text = f"{entry_place} result #{number}"
    return f"{text} ({kind})" if isinstance(kind, str) else text


@dataclass
class RegionBatch:
    """The report of a read and the regions of a run of tasks whose pixel coordinates are computed
    together once the run is read: boxes (``x, y, width, height, rotation`` and the image size) and
    point lists (percent ``x, y`` pairs). Owners are ``(annotation, where)`` (see :func:`result_place`)."""

    report: ConversionReport
    boxes: list = field(default_factory=list)  # 7 numbers a box, one after the other
    box_owners: list = field(default_factory=list)
    coords: list = field(default_factory=list)  # x, y, x, y, ... of every point list
    counts: list = field(default_factory=list)  # per point list: its pairs, image width and height
    owners: list = field(default_factory=list)

    def scaled(self, annotation: dict, values: list, width: int, height: int, where: tuple) -> None:
        self.coords += values
        self.counts += (len(values) // 2, width, height)
        self.owners.append((annotation, where))

    def finish(self) -> set[int]:
        """Fill in every region's points; the ids of those whose pixels are not finite numbers."""
        rejected = self._finish_boxes() | self._finish_lists()
        self.__init__(self.report)
        return rejected

    def _rejected(self, owners: list, finite: np.ndarray) -> set[int]:
        rejected = set()
        for number in np.flatnonzero(~finite).tolist():
            annotation, where = owners[number]
            rejected.add(id(annotation))
            self.report.note(NOT_FINITE, result_place(where))
        return rejected

    def _finish_lists(self) -> set[int]:
        if not self.counts:
            return set()
        counts = np.array(self.counts, np.float64).reshape(-1, 3)
        pairs = counts[:, 0].astype(np.int64)
        scale = np.repeat(counts[:, 1:] / 100.0, pairs, axis=0)
        with np.errstate(over="ignore"):  # an overflow is a non-finite pixel, reported below
            pixels = (_floats(self.coords).reshape(-1, 2) * scale).ravel()
        values = integral_to_int(pixels)
        ends = np.cumsum(pairs * 2).tolist()
        starts = [0, *ends[:-1]]  # every list has a pair at least (a keypoint; polygons three)
        for (annotation, _), start, end in zip(self.owners, starts, ends):
            annotation["points"] = values[start:end]
        return self._rejected(self.owners, np.logical_and.reduceat(np.isfinite(pixels), starts))

    def _finish_boxes(self) -> set[int]:
        if not self.boxes:
            return set()
        x, y, w, h, angle, width, height = _floats(self.boxes).reshape(-1, 7).T
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is a non-finite pixel, reported below
            corners = _box_corners(x, y, w, h, angle, width, height)
        values = integral_to_int(corners.ravel())
        for number, (annotation, _) in enumerate(self.box_owners):
            annotation["points"] = values[4 * number:4 * number + 4]
        return self._rejected(self.box_owners, np.isfinite(corners).all(axis=1))


def _floats(numbers: list) -> np.ndarray:
    """``numbers`` as float64, an int too large for a float infinite (its region is then reported
    as not finite)."""
    try:
        return np.array(numbers, np.float64)
    except OverflowError:
        return np.array([_float(number) for number in numbers], np.float64)


def _float(number: object) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _box_corners(x, y, w, h, angle, width, height) -> np.ndarray:
    """``(n, 4)`` x1, y1, x2, y2 in pixels of Label Studio rectangles (percent, turned about
    their top-left corner), turned back about their centre."""
    left, top, box_w, box_h = x * width / 100.0, y * height / 100.0, w * width / 100.0, h * height / 100.0
    cos, sin = turn_cos_sin(angle)
    half_w, half_h = box_w / 2, box_h / 2
    centre_x = np.where(angle == 0, left + half_w, left + half_w * cos - half_h * sin)
    centre_y = np.where(angle == 0, top + half_h, top + half_w * sin + half_h * cos)
    corners = np.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], 1)
    corners[angle == 0] = np.stack([left, top, left + box_w, top + box_h], 1)[angle == 0]
    return corners


def _finite(numbers: list) -> bool:
    """Whether every item is an int or a finite float (a bool is neither)."""
    for number in numbers:
        kind = type(number)
        if kind is float:
            if number - number != 0.0:  # inf and nan
                return False
        elif kind is not int:
            return False
    return True


def _numbers(value: dict, keys: tuple[str, ...]) -> list:
    """The finite numbers ``value`` holds under ``keys`` (``Skip`` naming the first that is not one)."""
    numbers = [value.get(key) for key in keys]
    if not _finite(numbers):
        _check_numbers(numbers, keys)
    return numbers


def _coordinates(points: list) -> list:
    """The coordinates of ``[x, y]`` pairs, flat; TypeError when one is not a number (what
    ``array('d')`` refuses)."""
    flat = list(chain.from_iterable(points))
    for number in flat:
        kind = type(number)
        if kind is not float and kind is not int and kind is not bool:
            array("d", [number])
    return flat


def _check_numbers(numbers: list, keys: tuple[str, ...]) -> None:
    for key, number in zip(keys, numbers):
        if not (type(number) is int or (type(number) is float and math.isfinite(number))):
            raise Skip(f"region with a missing or non-numeric {key!r}, skipped")


def _sized(width: int, height: int) -> tuple[int, int]:
    if not (width and height):
        raise Skip("region without original_width / original_height (Label Studio stores percentages; give "
                    "images= with the files to size it), skipped")
    return width, height


BOX_KEYS = ("x", "y", "width", "height")
ONLY_LISTS, ONLY_PAIRS = frozenset((list,)), frozenset((2,))
POINT_KEYS = ("x", "y")


def _rectangle(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch) -> None:
    numbers = [value.get("x"), value.get("y"), value.get("width"), value.get("height"), value.get("rotation") or 0]
    if not _finite(numbers):
        _check_numbers(numbers[:4], BOX_KEYS)
        if not (type(numbers[4]) is int or (type(numbers[4]) is float and math.isfinite(numbers[4]))):
            raise Skip("region with a non-numeric 'rotation', skipped")
    annotation["type"] = "bbox"
    if numbers[4]:
        annotation["rotation"] = numbers[4]
    if not (width and height):
        _sized(width, height)
    numbers += (width, height)
    batch.boxes += numbers
    batch.box_owners.append((annotation, where))


def _polygon(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch) -> None:
    points = value.get("points")
    try:
        if type(points) is not list or len(points) < 3 or set(map(type, points)) != ONLY_LISTS \
                or set(map(len, points)) != ONLY_PAIRS:
            raise TypeError
        flat = _coordinates(points)
    except TypeError:
        raise Skip("polygon without three or more [x, y] number points, skipped") from None
    if value.get("closed") is False:
        batch.report.note("open Label Studio polygon read as a closed polygon", result_place(where))
    annotation["type"] = "polygon"
    batch.scaled(annotation, flat, *_sized(width, height), where)


def _keypoint(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch) -> None:
    annotation["type"] = "keypoint"
    numbers = _numbers(value, POINT_KEYS)
    if not (width and height):
        _sized(width, height)
    batch.coords += numbers
    batch.counts += (1, width, height)
    batch.owners.append((annotation, where))


def _brush(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch,
           result: dict) -> None:
    from ...masks import mask_to_segmentation

    width, height = _sized(width, height)
    rle = value.get("rle", result.get("rle"))
    if value.get("format", "rle") != "rle" or not isinstance(rle, list):
        raise Skip("brush region without an 'rle' list, skipped")
    try:
        mask, partial = brush_mask(rle, width, height)
    except FormatError as error:
        raise Skip("brush region with a malformed RLE, skipped", str(error)) from None
    if partial:
        batch.report.note("brush pixels of partial opacity read as painted", result_place(where))
    segmentation = mask_to_segmentation(mask)
    if not segmentation:
        raise Skip("brush region without painted pixels, skipped")
    annotation.update(type="segmentation", points=segmentation)


def _audio(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch) -> None:
    if "text" in value or not all(isinstance(value.get(k), (int, float)) for k in ("start", "end")):
        raise Skip("labels result that is no audio segment (text spans have no FastLabel counterpart), not read")
    start, end = _numbers(value, ("start", "end"))
    annotation.update(type="segmentation", start=start, end=end)


def _video_rectangle(value: dict, annotation: dict, width: int, height: int, where: tuple, batch: RegionBatch) -> None:
    found = video_points(value, *_sized(width, height))
    if found is None:
        raise Skip("video track without a sequence of keyframes with numeric frame, x, y, width, height, skipped")
    points, rotation, turning = found
    annotation.update(type="bbox", points=points)
    if rotation:
        annotation["rotation"] = rotation
    if turning:
        batch.report.note(TURNING, result_place(where))


SHAPES = {"rectanglelabels": _rectangle, "polygonlabels": _polygon, "keypointlabels": _keypoint, "labels": _audio,
          "videorectangle": _video_rectangle}
REGION_TYPES = frozenset((*SHAPES, "brushlabels"))
LABEL_KEYS = {"videorectangle": "labels"}  # the key of a region's labels when it is not its type


def _label(labels: object, where: tuple, report: ConversionReport) -> str:
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) and label for label in labels):
        raise Skip("region without a label, skipped")
    if len(labels) > 1:
        report.note("region with several labels: the first kept as its value, the others dropped", result_place(where))
    return labels[0]


def read_region(result: dict, kind: str, width: int, height: int, where: tuple, batch: RegionBatch) -> dict:
    """The FastLabel annotation of one region result (``Skip`` when it is not read)."""
    value = result.get("value")
    if not isinstance(value, dict):
        raise Skip("result without a 'value' object, skipped")
    labels = value.get(LABEL_KEYS.get(kind, kind))
    if not (type(labels) is list and len(labels) == 1 and type(labels[0]) is str and labels[0]):
        labels = [_label(labels, where, batch.report)]
    annotation = {"value": labels[0], "type": None, "attributes": []}
    if kind == "brushlabels":
        _brush(value, annotation, width, height, where, batch, result)
    else:
        SHAPES[kind](value, annotation, width, height, where, batch)
    if result.get("image_rotation"):
        batch.report.note("region of an image rotated in the editor (image_rotation), read as given",
                          result_place(where))
    return annotation
