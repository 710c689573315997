"""Label Studio JSON -> FastLabel (the writing side and the format's record are
:mod:`fastlabel_formats.formats.labelstudio`, whose docstring says how each result is carried)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ... import source as task_blocks
from ...errors import FormatError
from ...files import json_list
from ...report import ConversionReport
from ...runtime import gc_paused
from .quick import quick_regions
from .regions import REGION_TYPES, RegionBatch, Skip, read_region, result_place

SCORE, MODEL_VERSION = "score", "model_version"  # the attributes of a prediction's regions
CONTROL_TYPES = ("choices", "textarea", "number")  # per-region controls read as attributes
PREDICTION_MODES = (False, True, "only")
ANNOTATION_MODES = ("first", "all")
DATA_KEYS = ("image", "audio", "video")
NOT_READ = "Label Studio result of type {!r} not read (FastLabel has no counterpart)"


ANOTHER_SIZE = "result with another original size than the task's first, read with its own"


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
        raise Skip("choices result without a list of choices, skipped")
    return [{"value": choice, "type": "classification", "attributes": []} for choice in choices]


def _results(results: object, place: str, size: tuple[int, int], batch: RegionBatch, extra: list[dict]) -> list[dict]:
    """The FastLabel annotations of one annotation's (or prediction's) result list."""
    found = None if extra else quick_regions(results, place, size, batch)
    if found is None:
        found = _regions(results, place, size, batch, extra)
    out, regions, controls = found
    for number, result in controls:
        out += _control(result, regions, (place, number, result["type"]), batch.report, extra)
    return out


def _regions(results: object, place: str, size: tuple[int, int], batch: RegionBatch,
             extra: list[dict]) -> tuple[list[dict], dict, list[tuple[int, dict]]]:
    """``(annotations, {region id: annotation}, [(number, control result)])`` of one result list,
    every result checked and what is not read reported."""
    report = batch.report
    if not isinstance(results, list):
        report.note("annotation whose 'result' is not a list, skipped", place)
        return [], {}, []
    regions: dict[object, dict] = {}
    out: list[dict] = []
    controls: list[tuple[int, dict]] = []
    for number, result in enumerate(results):
        kind, (width, height) = None, size
        if isinstance(result, dict):
            kind, width, height = result.get("type"), result.get("original_width"), result.get("original_height")
            if not (type(width) is int and type(height) is int and width > 0 and height > 0):
                width, height = size
            elif size[0] and (width != size[0] or height != size[1]):
                report.note(ANOTHER_SIZE, result_place((place, number, kind)))
        try:
            if kind in REGION_TYPES:
                annotation = read_region(result, kind, width, height, (place, number, kind), batch)
                if extra:
                    annotation["attributes"] += _prediction_attributes(result, extra)
                if linkable(result.get("id")):
                    regions.setdefault(result.get("id"), annotation)
                out.append(annotation)
            elif kind in CONTROL_TYPES:
                controls.append((number, result))
            else:
                raise Skip(NOT_READ.format(kind) if kind else "result that is not an object with a type, skipped")
        except Skip as skip:
            where = result_place((place, number, kind))
            report.note(skip.kind, f"{where}: {skip.detail}" if skip.detail else where)
    return out, regions, controls


def linkable(region_id: object) -> bool:
    """Whether a result's ``id`` can name its region (a list or an object cannot: it names none)."""
    return type(region_id) not in (list, dict)


def _control(result: dict, regions: dict, where: tuple, report: ConversionReport, extra: list[dict]) -> list[dict]:
    """A control result: an attribute of its region, or (choices of the task) classifications."""
    region_id = result.get("id")
    region = regions.get(region_id) if region_id is not None and linkable(region_id) else None
    try:
        if region is not None:
            attribute = _control_attribute(result)
            if attribute is None:
                raise Skip("per-region control without a value, skipped")
            region["attributes"].append(attribute)
            return []
        if result["type"] != "choices":
            raise Skip(f"{result['type']} result of the whole task not read (FastLabel has no counterpart)")
        found = _classifications(result)
    except Skip as skip:
        report.note(str(skip), result_place(where))
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


def _read_task(task: object, position: int, source: str, options: ReadOptions, batch: RegionBatch) -> dict | None:
    """The FastLabel task of one Label Studio task (None when it has no data URL)."""
    report = batch.report
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
            annotations += _results(entry.get("result"), entry_place, size, batch, [])
    elif task.get("annotations"):
        report.add("annotation not read (predictions='only')", len(task["annotations"]), [place])
    for entry_place, entry in _chosen_predictions(task, place, options, report):
        annotations += _results(entry.get("result"), entry_place, size, batch, _prediction_extra(entry))
    return {"name": name, "width": size[0], "height": size[1], "annotations": annotations}


REFUSAL = "a Label Studio export holds a list of tasks, not"


def _task_runs(source: str | os.PathLike[str] | Sequence[dict]) -> Iterator[tuple[str, Callable[[], list]]]:
    """``(name for messages, parse)`` of consecutive runs of the export's tasks (``parse()`` gives
    them): a local file larger than a block, block by block (see
    :class:`~fastlabel_formats.source.TaskSource`); anything else (a smaller file, a file that holds
    no array, data already parsed) at once."""
    whole = partial(json_list, source, "the Label Studio file", "labelstudio", REFUSAL)
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source) \
            and os.path.getsize(source) > task_blocks.BLOCK_BYTES:
        name = str(source)
        for block in task_blocks.TaskSource(name, source, "array").blocks():
            if block.kind == "document":  # not an array: one task, or not an export at all
                yield name, lambda: whole()[0]
            else:
                yield name, partial(block.tasks, check=False)
        return
    yield (source if isinstance(source, (str, os.PathLike)) else "labelstudio"), lambda: whole()[0]


def _read_options(predictions: bool | str, annotation: str, data_key: str | None,
                  images: str | os.PathLike[str] | None) -> ReadOptions:
    if predictions not in PREDICTION_MODES:
        raise FormatError(f"predictions must be one of {PREDICTION_MODES}, got {predictions!r}")
    if annotation not in ANNOTATION_MODES:
        raise FormatError(f"annotation must be one of {ANNOTATION_MODES}, got {annotation!r}")
    return ReadOptions(predictions, annotation, data_key, images)


@gc_paused
def _read_run(parse: Callable[[], list], source_name: str, first: int, options: ReadOptions,
              batch: RegionBatch) -> tuple[list[tuple[str, dict]], int]:
    """``(place, FastLabel task)`` of each task of one run with a data URL, and the run's task count."""
    read, tasks = [], parse()
    for position, task in enumerate(tasks, first):
        found = _read_task(task, position, source_name, options, batch)
        if found is not None:
            read.append((f"{source_name}: task #{position}", found))
    rejected = batch.finish()
    if rejected:
        for _, found in read:
            found["annotations"] = [a for a in found["annotations"] if id(a) not in rejected]
    return read, len(tasks)


def _placed_tasks(source: str | os.PathLike[str] | Sequence[dict], options: ReadOptions,
                  report: ConversionReport) -> Iterator[tuple[str, dict]]:
    """``(place, FastLabel task)`` of each Label Studio task with a data URL, run by run (only the
    run being read is held, parsed)."""
    batch, position = RegionBatch(report), 0
    for source_name, parse in _task_runs(source):
        read, count = _read_run(parse, str(source_name), position, options, batch)
        position += count
        yield from read


def iter_labelstudio_tasks(
    source: str | os.PathLike[str] | Sequence[dict],
    *,
    predictions: bool | str = False,
    annotation: str = "first",
    data_key: str | None = None,
    images: str | os.PathLike[str] | None = None,
    report: ConversionReport | None = None,
) -> Iterator[dict]:
    """One FastLabel task per Label Studio task that has a data URL, in file order; a file is read
    a block of whole tasks at a time, so its size does not bound what can be read. Tasks of one
    image are not joined here (:func:`labelstudio_tasks` joins them); options as there."""
    options = _read_options(predictions, annotation, data_key, images)
    report = report if report is not None else ConversionReport("labelstudio import")
    return (task for _, task in _placed_tasks(source, options, report))


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
    options = _read_options(predictions, annotation, data_key, images)
    report = report or ConversionReport("labelstudio import", strict=strict)
    tasks: dict[str, dict] = {}
    for place, read in _placed_tasks(source, options, report):
        joined = tasks.setdefault(read["name"], read)
        if joined is not read:
            report.note("second task of one image: its annotations joined to the first's",
                        f"{place} ({read['name']!r})")
            joined["annotations"] += read["annotations"]
    return list(tasks.values())


def labelstudio_to_fastlabel(source: str | os.PathLike[str] | Sequence[dict], **options) -> dict[str, list[dict]]:
    """``{task name: [FastLabel annotations]}`` (see :func:`labelstudio_tasks` for ``options``)."""
    return {task["name"]: task["annotations"] for task in labelstudio_tasks(source, **options)}
