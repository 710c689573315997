"""Label Studio JSON -> FastLabel (the writing side and the format's record are
:mod:`fastlabel_formats.formats.labelstudio`, whose docstring says how each result is carried)."""

from __future__ import annotations

import math
import os
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ...files import json_list
from ...geometry import integral_to_int, turn_cos_sin
from ...report import ConversionReport
from ...runtime import gc_paused
from .brush import brush_mask
from .video import TURNING, video_points

SCORE, MODEL_VERSION = "score", "model_version"  # the attributes of a prediction's regions
CONTROL_TYPES = ("choices", "textarea", "number")  # per-region controls read as attributes
PREDICTION_MODES = (False, True, "only")
ANNOTATION_MODES = ("first", "all")
DATA_KEYS = ("image", "audio", "video")
NOT_FINITE = "region whose pixel coordinates are not finite numbers, skipped"
NOT_READ = "Label Studio result of type {!r} not read (FastLabel has no counterpart)"


class _Skip(Exception):
    """Internal: a result that is not read, why (the report's line) and the details (of its place)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind, self.detail = kind, detail


@dataclass
class _Pending:
    """Regions whose pixel coordinates are computed together once the whole file is read: boxes
    (``x, y, width, height, rotation`` and the image size) and point lists (percent ``x, y`` pairs)."""

    boxes: list = field(default_factory=list)
    box_owners: list = field(default_factory=list)
    coords: array = field(default_factory=lambda: array("d"))
    counts: list = field(default_factory=list)  # per point list: its pairs, image width and height
    owners: list = field(default_factory=list)  # (annotation, its result's context) of each point list

    def scaled(self, annotation: dict, values: list, width: int, height: int, context: object) -> None:
        self.coords.extend(values)
        self.counts.append((len(values) // 2, width, height))
        self.owners.append((annotation, context))

    def finish(self, report: ConversionReport) -> set[int]:
        """Fill in every region's points; the ids of those whose pixels are not finite numbers."""
        rejected = self._finish_boxes(report) | self._finish_lists(report)
        self.__init__()
        return rejected

    def _finish_lists(self, report: ConversionReport) -> set[int]:
        if not self.counts:
            return set()
        counts = np.array(self.counts, np.float64).reshape(-1, 3)
        pairs = counts[:, 0].astype(np.int64)
        scale = np.repeat(counts[:, 1:] / 100.0, pairs, axis=0)
        with np.errstate(over="ignore"):  # an overflow is a non-finite pixel, reported below
            pixels = (np.frombuffer(self.coords, np.float64).reshape(-1, 2) * scale).ravel()
        values = integral_to_int(pixels)
        ends = np.cumsum(pairs * 2).tolist()
        starts = [0, *ends[:-1]]  # every list has a pair at least (a keypoint; polygons three)
        finite = np.logical_and.reduceat(np.isfinite(pixels), np.array(starts, np.int64)).tolist()
        rejected = set()
        for (annotation, context), start, end, ok in zip(self.owners, starts, ends, finite):
            annotation["points"] = values[start:end]
            if not ok:
                rejected.add(id(annotation))
                report.note(NOT_FINITE, context.place)
        return rejected

    def _finish_boxes(self, report: ConversionReport) -> set[int]:
        if not self.boxes:
            return set()
        x, y, w, h, angle, width, height = np.array(self.boxes, np.float64).T
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is a non-finite pixel, reported below
            return self._box_points(x, y, w, h, angle, width, height, report)

    def _box_points(self, x, y, w, h, angle, width, height, report: ConversionReport) -> set[int]:
        left, top, box_w, box_h = x * width / 100.0, y * height / 100.0, w * width / 100.0, h * height / 100.0
        cos, sin = turn_cos_sin(angle)
        half_w, half_h = box_w / 2, box_h / 2
        centre_x = np.where(angle == 0, left + half_w, left + half_w * cos - half_h * sin)
        centre_y = np.where(angle == 0, top + half_h, top + half_w * sin + half_h * cos)
        corners = np.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], 1)
        corners[angle == 0] = np.stack([left, top, left + box_w, top + box_h], 1)[angle == 0]
        finite = np.isfinite(corners).all(axis=1).tolist()
        values = integral_to_int(corners.ravel())
        rejected = set()
        for number, ((annotation, context), ok) in enumerate(zip(self.box_owners, finite)):
            annotation["points"] = values[4 * number:4 * number + 4]
            if not ok:
                rejected.add(id(annotation))
                report.note(NOT_FINITE, context.place)
        return rejected


@dataclass(frozen=True)
class _Context:
    """One result being read: where (``place``, formatted when a message needs it), the image size,
    what the report gets and the pending regions."""

    entry_place: str
    number: int
    kind: object
    width: int
    height: int
    report: ConversionReport
    pending: _Pending

    @property
    def place(self) -> str:
        text = f"{self.entry_place} result #{self.number}"
        return f"{text} ({self.kind})" if isinstance(self.kind, str) else text


def _is_number(value: object) -> bool:
    return (type(value) is float and math.isfinite(value)) or type(value) is int


def _number(value: dict, key: str) -> float:
    number = value.get(key)
    if not _is_number(number):
        raise _Skip(f"region with a missing or non-numeric {key!r}, skipped")
    return number


def _sized(context: _Context) -> tuple[int, int]:
    if not (context.width and context.height):
        raise _Skip("region without original_width / original_height (Label Studio stores percentages; give "
                    "images= with the files to size it), skipped")
    return context.width, context.height


def _rectangle(value: dict, context: _Context, annotation: dict) -> None:
    numbers = [_number(value, key) for key in ("x", "y", "width", "height")]
    angle = value.get("rotation") or 0
    if not _is_number(angle):
        raise _Skip("region with a non-numeric 'rotation', skipped")
    annotation["type"] = "bbox"
    if angle:
        annotation["rotation"] = angle
    context.pending.boxes.append([*numbers, angle, *_sized(context)])
    context.pending.box_owners.append((annotation, context))


def _polygon(value: dict, context: _Context, annotation: dict) -> None:
    points = value.get("points")
    try:
        if type(points) is not list or len(points) < 3 or not all(type(p) is list and len(p) == 2 for p in points):
            raise TypeError
        flat = array("d", chain.from_iterable(points))
    except TypeError:
        raise _Skip("polygon without three or more [x, y] number points, skipped") from None
    if value.get("closed") is False:
        context.report.note("open Label Studio polygon read as a closed polygon", context.place)
    annotation["type"] = "polygon"
    context.pending.scaled(annotation, flat, *_sized(context), context)


def _keypoint(value: dict, context: _Context, annotation: dict) -> None:
    annotation["type"] = "keypoint"
    context.pending.scaled(annotation, [_number(value, "x"), _number(value, "y")], *_sized(context), context)


def _brush(value: dict, context: _Context, annotation: dict, result: dict) -> None:
    from ...masks import mask_to_segmentation

    width, height = _sized(context)
    rle = value.get("rle", result.get("rle"))
    if value.get("format", "rle") != "rle" or not isinstance(rle, list):
        raise _Skip("brush region without an 'rle' list, skipped")
    try:
        mask, partial = brush_mask(rle, width, height)
    except FormatError as error:
        raise _Skip("brush region with a malformed RLE, skipped", str(error)) from None
    if partial:
        context.report.note("brush pixels of partial opacity read as painted", context.place)
    segmentation = mask_to_segmentation(mask)
    if not segmentation:
        raise _Skip("brush region without painted pixels, skipped")
    annotation.update(type="segmentation", points=segmentation)


def _audio(value: dict, context: _Context, annotation: dict) -> None:
    if "text" in value or not all(isinstance(value.get(k), (int, float)) for k in ("start", "end")):
        raise _Skip("labels result that is no audio segment (text spans have no FastLabel counterpart), not read")
    annotation.update(type="segmentation", start=_number(value, "start"), end=_number(value, "end"))


def _video_rectangle(value: dict, context: _Context, annotation: dict) -> None:
    found = video_points(value, *_sized(context))
    if found is None:
        raise _Skip("video track without a sequence of keyframes with numeric frame, x, y, width, height, skipped")
    points, rotation, turning = found
    annotation.update(type="bbox", points=points)
    if rotation:
        annotation["rotation"] = rotation
    if turning:
        context.report.note(TURNING, context.place)


SHAPES = {"rectanglelabels": _rectangle, "polygonlabels": _polygon, "keypointlabels": _keypoint, "labels": _audio,
          "videorectangle": _video_rectangle}
LABEL_KEYS = {"videorectangle": "labels"}  # the key of a region's labels when it is not its type


def _label(result: dict, kind: str, context: _Context) -> str:
    labels = result["value"].get(kind)
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) and label for label in labels):
        raise _Skip("region without a label, skipped")
    if len(labels) > 1:
        context.report.note("region with several labels: the first kept as its value, the others dropped",
                            context.place)
    return labels[0]


def _region(result: dict, context: _Context) -> dict:
    """The FastLabel annotation of one region result (``_Skip`` when it is not read)."""
    kind = result.get("type")
    value = result.get("value")
    if not isinstance(value, dict):
        raise _Skip("result without a 'value' object, skipped")
    annotation = {"value": _label(result, LABEL_KEYS.get(kind, kind), context), "type": None, "attributes": []}
    if kind == "brushlabels":
        _brush(value, context, annotation, result)
    else:
        SHAPES[kind](value, context, annotation)
    if result.get("image_rotation"):
        context.report.note("region of an image rotated in the editor (image_rotation), read as given",
                            context.place)
    return annotation


def _control_attribute(result: dict) -> dict | None:
    """The attribute of a per-region control result (None when it carries nothing)."""
    value, kind, key = result.get("value") or {}, result.get("type"), result.get("from_name") or result.get("type")
    if kind == "choices":
        choices = value.get("choices")
        if not isinstance(choices, list) or not choices:
            return None
        return {"key": key, "value": choices[0], "type": "select"} if len(choices) == 1 \
            else {"key": key, "value": list(choices), "type": "checkbox"}
    if kind == "textarea":
        text = value.get("text")
        return {"key": key, "value": "\n".join(map(str, text)) if isinstance(text, list) else str(text or ""),
                "type": "text"}
    number = value.get("number")
    return {"key": key, "value": number, "type": "number"} if isinstance(number, (int, float)) else None


def _classifications(result: dict) -> list[dict]:
    choices = (result.get("value") or {}).get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
        raise _Skip("choices result without a list of choices, skipped")
    return [{"value": choice, "type": "classification", "attributes": []} for choice in choices]


def _results(results: object, place: str, size: tuple[int, int], report: ConversionReport,
             extra: list[dict], pending: _Pending) -> list[dict]:
    """The FastLabel annotations of one annotation's (or prediction's) result list."""
    if not isinstance(results, list):
        report.note("annotation whose 'result' is not a list, skipped", place)
        return []
    regions: dict[object, dict] = {}
    out: list[dict] = []
    controls: list[tuple[int, dict]] = []
    for number, result in enumerate(results):
        kind = result.get("type") if isinstance(result, dict) else None
        context = _Context(place, number, kind, *_result_size(result, size), report, pending)
        if size[0] and (context.width, context.height) != size:
            report.note("result with another original size than the task's first, read with its own", context.place)
        try:
            if kind in SHAPES or kind == "brushlabels":
                annotation = _region(result, context)
                annotation["attributes"] += _prediction_attributes(result, extra)
                regions.setdefault(result.get("id"), annotation)
                out.append(annotation)
            elif kind in CONTROL_TYPES:
                controls.append((number, result))
            else:
                raise _Skip(NOT_READ.format(kind) if kind else "result that is not an object with a type, skipped")
        except _Skip as skip:
            report.note(skip.kind, f"{context.place}: {skip.detail}" if skip.detail else context.place)
    for number, result in controls:
        out += _control(result, regions, f"{place} result #{number} ({result['type']})", report, extra)
    return out


def _control(result: dict, regions: dict, place: str, report: ConversionReport, extra: list[dict]) -> list[dict]:
    """A control result: an attribute of its region, or (choices of the task) classifications."""
    region = regions.get(result.get("id")) if result.get("id") is not None else None
    try:
        if region is not None:
            attribute = _control_attribute(result)
            if attribute is None:
                raise _Skip("per-region control without a value, skipped")
            region["attributes"].append(attribute)
            return []
        if result["type"] != "choices":
            raise _Skip(f"{result['type']} result of the whole task not read (FastLabel has no counterpart)")
        found = _classifications(result)
    except _Skip as skip:
        report.note(str(skip), place)
        return []
    for annotation in found:
        annotation["attributes"] += _prediction_attributes(result, extra)
    return found


def _prediction_attributes(result: dict, extra: list[dict]) -> list[dict]:
    """A prediction's attributes, its result's own score first."""
    if not extra:
        return []
    score = result.get("score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return [{"key": SCORE, "value": score}, *[a for a in extra if a["key"] != SCORE]]
    return [dict(a) for a in extra]


def _result_size(result: object, size: tuple[int, int]) -> tuple[int, int]:
    """A result's ``original_width`` / ``original_height``, else the task's."""
    if not isinstance(result, dict):
        return size
    width, height = result.get("original_width"), result.get("original_height")
    if type(width) is int and type(height) is int and width > 0 and height > 0:
        return width, height
    return size


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ESCAPE = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _unquote(text: str) -> str:
    """``text`` with its ``%XX`` escapes decoded (UTF-8)."""
    return _ESCAPE.sub(lambda found: bytes.fromhex(found.group().replace("%", "")).decode("utf-8", "replace"), text)


def image_name(url: str) -> str:
    """The task name of a ``data`` URL: the path of a local-files URL (``?d=dir/a.jpg``), the file
    name of an upload, cloud or web URL or absolute path, else the text as it is (a relative path)."""
    path, _, query = url.partition("?")
    for parameter in query.split("&"):
        if parameter.startswith("d=") and len(parameter) > 2:
            return _unquote(parameter[2:].replace("+", " "))
    if _SCHEME.match(url) or url.startswith("/"):
        return _unquote(path.rstrip("/").rsplit("/", 1)[-1].partition("#")[0]) or url
    return url


def _task_name(task: dict, data_key: str | None) -> str | None:
    data = task.get("data")
    if not isinstance(data, dict):
        return None
    keys = [data_key] if data_key else [*DATA_KEYS, *data]
    url = next((data[key] for key in keys if isinstance(data.get(key), str) and data[key]), None)
    return image_name(url) if url else None


def _task_size(task: dict, name: str, images: str | os.PathLike[str] | None) -> tuple[int, int]:
    """The image size of the task's first result that has one, else the image's in ``images``."""
    for group in ("annotations", "completions", "predictions"):
        for entry in task.get(group) or ():
            for result in (entry.get("result") if isinstance(entry, dict) else None) or ():
                size = _result_size(result, (0, 0))
                if size[0]:
                    return size
    if images is not None:
        from ...labelme import image_header_size

        path = Path(images) / name
        return (image_header_size(path) or _video_size(path) or (0, 0)) if path.is_file() else (0, 0)
    return 0, 0


def _video_size(path: Path) -> tuple[int, int] | None:
    """The frame size of a video file (OpenCV), or None."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        size = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    return size if all(size) else None


@dataclass(frozen=True)
class ReadOptions:
    """How a Label Studio export is read (see :func:`labelstudio_tasks`)."""

    predictions: bool | str = False
    annotation: str = "first"
    data_key: str | None = None
    images: str | os.PathLike[str] | None = None


def _chosen_annotations(task: dict, place: str, options: ReadOptions, report: ConversionReport) -> list:
    """The annotations of a task to read: not cancelled, the first or all; the others reported."""
    entries = task.get("annotations", task.get("completions")) or []
    if not isinstance(entries, list):
        report.note("task whose 'annotations' is not a list, its annotations skipped", place)
        return []
    kept = []
    for number, entry in enumerate(entries):
        entry_place = f"{place} annotation #{number}"
        if not isinstance(entry, dict):
            report.note("annotation that is not an object, skipped", entry_place)
        elif entry.get("was_cancelled"):
            report.note("cancelled (skipped) annotation not read", entry_place)
        elif options.annotation == "first" and kept:
            report.note("further annotation of a task not read (annotation='all' reads every one)", entry_place)
        else:
            kept.append((entry_place, entry))
    return kept


def _chosen_predictions(task: dict, place: str, options: ReadOptions, report: ConversionReport) -> list:
    entries = task.get("predictions") or []
    if not isinstance(entries, list):
        report.note("task whose 'predictions' is not a list, its predictions skipped", place)
        return []
    places = [f"{place} prediction #{number}" for number in range(len(entries))]
    if not options.predictions:
        for entry_place in places:
            report.note("prediction not read (predictions=True reads them)", entry_place)
        return []
    return [(entry_place, entry) for entry_place, entry in zip(places, entries) if isinstance(entry, dict)]


def _prediction_extra(prediction: dict) -> list[dict]:
    extra = [{"key": MODEL_VERSION, "value": str(prediction.get("model_version") or ""), "type": "text"}]
    score = prediction.get("score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        extra.insert(0, {"key": SCORE, "value": score})
    return extra


def _read_task(task: object, position: int, source: str, options: ReadOptions, report: ConversionReport,
               pending: _Pending) -> dict | None:
    """The FastLabel task of one Label Studio task (None when it has no data URL)."""
    task_id = task.get("id") if isinstance(task, dict) else None
    place = f"{source}: task #{position}" + (f" (id {task_id!r})" if task_id is not None else "")
    name = _task_name(task, options.data_key) if isinstance(task, dict) else None
    if name is None:
        report.note("task without a data URL (no name for the FastLabel task), skipped", place)
        return None
    size = _task_size(task, name, options.images)
    annotations: list[dict] = []
    if options.predictions != "only":
        for entry_place, entry in _chosen_annotations(task, place, options, report):
            annotations += _results(entry.get("result"), entry_place, size, report, [], pending)
    elif task.get("annotations"):
        report.add("annotation not read (predictions='only')", len(task["annotations"]), [place])
    for entry_place, entry in _chosen_predictions(task, place, options, report):
        annotations += _results(entry.get("result"), entry_place, size, report, _prediction_extra(entry), pending)
    return {"name": name, "width": size[0], "height": size[1], "annotations": annotations}


@gc_paused
def labelstudio_tasks(
    source: str | os.PathLike[str] | Sequence[dict],
    *,
    predictions: bool | str = False,
    annotation: str = "first",
    data_key: str | None = None,
    images: str | os.PathLike[str] | None = None,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a Label Studio JSON export (a path, or
    the parsed list), in file order; tasks of one image are joined (reported).

    ``predictions``: False (default) reads annotations only, True annotations and predictions,
    ``"only"`` predictions only. ``annotation``: ``"first"`` (the first not cancelled) or ``"all"``
    (every annotator's regions joined). ``data_key``: the ``data`` key holding the URL (default
    ``image``, ``audio``, ``video``, else the first text). ``images``: a folder to size tasks whose
    results carry no ``original_width`` / ``original_height``."""
    if predictions not in PREDICTION_MODES:
        raise FormatError(f"predictions must be one of {PREDICTION_MODES}, got {predictions!r}")
    if annotation not in ANNOTATION_MODES:
        raise FormatError(f"annotation must be one of {ANNOTATION_MODES}, got {annotation!r}")
    report = report or ConversionReport("labelstudio import", strict=strict)
    data, source_name = json_list(source, "the Label Studio file", "labelstudio",
                                  "a Label Studio export holds a list of tasks, not")
    options = ReadOptions(predictions, annotation, data_key, images)
    tasks: dict[str, dict] = {}
    pending = _Pending()
    for position, task in enumerate(data):
        read = _read_task(task, position, source_name, options, report, pending)
        if read is None:
            continue
        if read["name"] in tasks:
            report.note("second task of one image: its annotations joined to the first's",
                        f"{source_name}: task #{position} ({read['name']!r})")
            tasks[read["name"]]["annotations"] += read["annotations"]
            continue
        tasks[read["name"]] = read
    rejected = pending.finish(report)
    if rejected:
        for task in tasks.values():
            task["annotations"] = [a for a in task["annotations"] if id(a) not in rejected]
    return list(tasks.values())


def labelstudio_to_fastlabel(source: str | os.PathLike[str] | Sequence[dict], **options) -> dict[str, list[dict]]:
    """``{task name: [FastLabel annotations]}`` (see :func:`labelstudio_tasks` for ``options``)."""
    return {task["name"]: task["annotations"] for task in labelstudio_tasks(source, **options)}
