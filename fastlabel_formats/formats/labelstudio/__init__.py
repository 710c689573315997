"""Label Studio JSON <-> FastLabel: the export a project's "JSON" button writes, a list of tasks each
with ``data`` (the image, audio or video URL), ``annotations[].result[]`` and ``predictions[]``.

Regions (coordinates are percentages of ``original_width`` / ``original_height``):

* ``rectanglelabels``: ``x, y, width, height`` and ``rotation`` (degrees, clockwise on screen, about
  the box's top-left corner) <-> a FastLabel bbox ``[x1, y1, x2, y2]`` whose ``rotation`` turns it
  about its centre: the same rectangle, its rotated top-left corner at Label Studio's ``x, y``;
* ``polygonlabels`` <-> polygon, ``keypointlabels`` <-> keypoint;
* ``brushlabels`` (Label Studio's RLE of the RGBA mask, its alpha channel painted where non-zero)
  <-> segmentation (every pixel kept: holes and separate parts included);
* ``choices`` of the task <-> one classification per chosen value; ``choices`` / ``textarea`` /
  ``number`` results that share a region's ``id`` (per-region controls) <-> that annotation's
  attributes (``key`` = the control's ``from_name``);
* audio ``labels`` (``start``, ``end`` in seconds) <-> an audio segmentation (``start``, ``end``);
* ``videorectangle`` tracks (keyframes, interpolated between) <-> FastLabel video bboxes (a box per
  frame; see :mod:`fastlabel_formats.formats.labelstudio_video`).

Predictions are kept apart from annotations: by default only the first annotation that is not
cancelled is read, and every prediction, further annotation and cancelled annotation left out is
counted in the report. ``predictions=True`` also reads the predictions (``"only"``: only them):
their regions carry the attributes ``score`` (the result's, else the prediction's) and
``model_version``; on the way back an annotation with either attribute is written as a prediction.
The labelling config is not in the export: control names (``from_name``, ``to_name``) are not
carried, and written back as ``label`` / ``choice`` / ``box`` / ``image`` (or as given). Video results
hold no size: the reader takes it from the video in ``images`` (or the results' ``original_width``).
Reading is :mod:`fastlabel_formats.formats.labelstudio_import`, the brush RLE
:mod:`fastlabel_formats.formats.labelstudio_brush`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...columns import bbox_points, has_points, rotations, row_kinds
from ...errors import FormatError
from ...files import atomic_output, output_path
from ...geometry import turn_cos_sin
from ...jsonparts import JsonListSpool, list_fragment, write_list
from ...report import ConversionReport
from ...run import Target, prepared_tables, run_export
from ...runtime import gc_paused
from ...selection import Policy, report_selection, select
from ...tasks import AnnotationTable
from .. import Format, Option
from .brush import brush_decode as brush_decode
from .brush import brush_encode
from .brush import brush_mask as brush_mask
from .reader import MODEL_VERSION, SCORE, labelstudio_tasks, labelstudio_to_fastlabel
from .reader import image_name as image_name
from .video import video_sequence

LS_TYPES = ("bbox", "polygon", "keypoint", "segmentation", "classification")
LS_POLICY = Policy(LS_TYPES, pointless=("classification",), skip_degenerate=False)
WRITTEN_TYPES = {"bbox": "rectanglelabels", "polygon": "polygonlabels", "keypoint": "keypointlabels",
                 "segmentation": "brushlabels", "classification": "choices", "audio": "labels"}
DEFAULT_FROM_NAMES = {"rectanglelabels": "label", "polygonlabels": "label", "keypointlabels": "label",
                      "brushlabels": "label", "choices": "choice", "labels": "label"}
VIDEO_KINDS = "{kind} annotation of a video not representable in {target} (video boxes are)"
BAD_TRACK = ("video bbox whose frames are not [x1, y1, x2, y2] numbers (or of a video without width and height) "
             "not written")
READ_OPTIONS = ("predictions", "annotation", "data_key")
SIZELESS = "{kind} annotation of an image with width or height 0 not written (Label Studio stores percentages)"
ATTRIBUTE_DROPPED = "attribute that Label Studio cannot hold (not text, a choice or a number), dropped"


@dataclass(frozen=True)
class WriteOptions:
    """Control names and the URL prefix of a written export."""

    from_names: Mapping[str, str]
    to_name: str
    data_key: str
    image_root: str | None
    frame_counts: Mapping[str, int] | None = None


def _frame_sizes(table: AnnotationTable) -> np.ndarray:
    """``(n, 2)`` width and height of every row's image."""
    return np.array([[f.width, f.height] for f in table.frames], np.float64).reshape(-1, 2)[table.frame]


def _box_values(table: AnnotationTable, rows: list[int]) -> dict[int, dict]:
    """``{row: value}`` of bbox rows: x, y (the rotated top-left corner), width, height (percent)
    and rotation."""
    boxes, angles = bbox_points(table)[rows], rotations(table)[rows]
    low, high = np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])
    half = (high - low) / 2
    cos, sin = turn_cos_sin(angles)
    centre = (low + high) / 2
    left = np.where(angles == 0, low[:, 0], centre[:, 0] - half[:, 0] * cos + half[:, 1] * sin)
    top = np.where(angles == 0, low[:, 1], centre[:, 1] - half[:, 0] * sin - half[:, 1] * cos)
    scaled = np.stack([left, top, 2 * half[:, 0], 2 * half[:, 1]], 1) * 100.0 / np.tile(_frame_sizes(table)[rows], 2)
    return {row: {"x": x, "y": y, "width": w, "height": h, "rotation": angle % 360}
            for row, (x, y, w, h), angle in zip(rows, scaled.tolist(), angles.tolist())}


def _point_values(table: AnnotationTable, rows: list[int]) -> dict[int, dict]:
    """``{row: value}`` of polygon and keypoint rows, their points in percent."""
    rings = table.rings
    first_ring = rings.shape_ring_offsets[rows]
    starts, counts = rings.ring_offsets[first_ring], np.diff(rings.ring_offsets)[first_ring]
    ends = np.cumsum(counts)
    index = np.arange(int(counts.sum())) + np.repeat(starts - (ends - counts), counts)
    percent = (rings.coords[index] * 100.0 / np.repeat(_frame_sizes(table)[rows], counts, axis=0)).tolist()
    values = {}
    for row, end, count in zip(rows, ends.tolist(), counts.tolist()):
        points = percent[end - count:end]
        values[row] = {"x": points[0][0], "y": points[0][1]} if table.kinds[row] == "keypoint" \
            else {"points": points, "closed": True}
    return values


def _brush_value(table: AnnotationTable, row: int) -> dict:
    """The brush RLE of a segmentation row, rendered on its whole image."""
    from ...raster import check_image_size, segmentation_mask

    frame = table.frames[table.frame[row]]
    check_image_size(frame.width, frame.height, table.place(row))
    mask, window = segmentation_mask(table.points[row], frame.width, frame.height)
    full = np.zeros((frame.height, frame.width), bool)
    full[window.y0:window.y1, window.x0:window.x1] = mask
    return {"format": "rle", "rle": brush_encode(full)}


def shape_values(table: AnnotationTable, rows: list[int]) -> dict[int, dict]:
    """``{row: value}`` (without the label) of every geometric row among ``rows``."""
    kinds = [table.kinds[row] for row in rows]
    values = _box_values(table, [row for row, kind in zip(rows, kinds) if kind == "bbox"])
    values.update(_point_values(table, [row for row, kind in zip(rows, kinds) if kind in ("polygon", "keypoint")]))
    values.update({row: _brush_value(table, row) for row, kind in zip(rows, kinds) if kind == "segmentation"})
    return values


def _attribute_results(table: AnnotationTable, row: int, region_id: str, options: WriteOptions,
                       report: ConversionReport) -> list[dict]:
    """The per-region control results of an annotation's attributes (score and model_version are
    the prediction's)."""
    out = []
    for attribute in table.annotations[row].get("attributes") or ():
        key, value, kind = attribute.get("key"), attribute.get("value"), attribute.get("type")
        if key in (SCORE, MODEL_VERSION):
            continue
        if kind == "text" and isinstance(value, str):
            control, control_value = "textarea", {"text": [value]}
        elif isinstance(value, str) and value:
            control, control_value = "choices", {"choices": [value]}
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            control, control_value = "choices", {"choices": list(value)}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            control, control_value = "number", {"number": value}
        else:
            report.note(ATTRIBUTE_DROPPED, f"{table.place(row)} attribute {key!r}")
            continue
        out.append({"id": region_id, "type": control, "value": control_value, "from_name": key,
                    "to_name": options.to_name, "origin": "manual"})
    return out


def _prediction_key(annotation: dict) -> tuple[bool, str, object]:
    """Whether an annotation is a prediction's region, its model version and its score."""
    if not annotation.get("attributes"):
        return False, "", None
    found = {a.get("key"): a.get("value") for a in annotation["attributes"] if isinstance(a, dict)}
    score = found.get(SCORE)
    is_prediction = SCORE in found or MODEL_VERSION in found
    return is_prediction, str(found.get(MODEL_VERSION) or ""), score if isinstance(score, (int, float)) else None


def _region_result(table: AnnotationTable, row: int, values: dict[int, dict], audio: bool,
                   options: WriteOptions) -> dict:
    annotation = table.annotations[row]
    kind = "audio" if audio else table.kinds[row]
    written = WRITTEN_TYPES[kind]
    frame = table.frames[table.frame[row]]
    if kind == "classification":
        value = {"choices": [annotation["value"]]}
    elif kind == "audio":
        value = {"start": annotation["start"], "end": annotation["end"], "labels": [annotation["value"]]}
    else:
        value = {**values[row], written: [annotation["value"]]}
    result = {"id": f"r{int(table.index[row])}", "type": written, "value": value,
              "from_name": options.from_names.get(written, DEFAULT_FROM_NAMES[written]), "to_name": options.to_name,
              "origin": "manual"}
    if kind not in ("classification", "audio"):
        result.update(original_width=frame.width, original_height=frame.height, image_rotation=0)
    return result


def _is_audio(annotation: dict) -> bool:
    return all(isinstance(annotation.get(key), (int, float)) and not isinstance(annotation.get(key), bool)
               for key in ("start", "end")) and not annotation.get("points")


def audio_rows(table: AnnotationTable) -> np.ndarray:
    """Rows that are audio segments (``start`` and ``end``, no points)."""
    return table.cached("labelstudio audio", lambda t: np.fromiter(map(_is_audio, t.annotations), bool, len(t)))


def written_rows(table: AnnotationTable, report: ConversionReport) -> np.ndarray:
    """The rows Label Studio can hold (audio segments included), every other counted in ``report``."""
    audio = audio_rows(table)
    selected = select(table, LS_POLICY)
    sizeless = np.array([not (f.width and f.height) for f in table.frames], bool).reshape(-1)[table.frame]
    geometric = np.isin(row_kinds(table), LS_TYPES[:-1]) & has_points(table)
    unnamed = row_kinds(table) == "classification"
    for row in np.flatnonzero(unnamed).tolist():
        value = table.annotations[row].get("value")
        unnamed[row] = not (isinstance(value, str) and value)
    keep = (selected.keep & ~(sizeless & geometric) & ~unnamed) | audio
    report_selection(table, LS_POLICY, replace(selected, keep=keep, present=selected.present | audio), report)
    table.note(report, selected.keep & sizeless & geometric & ~audio, SIZELESS)
    table.note(report, selected.keep & unnamed & ~audio, "classification without a text value not written")
    return keep


def labelstudio_records(table: AnnotationTable, report: ConversionReport, options: WriteOptions) -> list[dict]:
    """One Label Studio task per frame of ``table``: its annotation, and a prediction per model version."""
    keep = written_rows(table, report)
    rows = np.flatnonzero(keep).tolist()
    audio = audio_rows(table)
    values = shape_values(table, [row for row in rows if not audio[row] and table.kinds[row] != "classification"])
    per_frame: list[dict] = [{} for _ in table.frames]
    for row, frame, is_audio in zip(rows, table.frame[rows].tolist(), audio[rows].tolist()):
        result = _region_result(table, row, values, is_audio, options)
        is_prediction, version, score = _prediction_key(table.annotations[row])
        if score is not None:
            result["score"] = score
        group = per_frame[frame].setdefault((is_prediction, version), [])
        group += [result, *_attribute_results(table, row, result["id"], options, report)]
    return [_task_record(table, number, frame, groups, options)
            for number, (frame, groups) in enumerate(zip(table.frames, per_frame))]


def video_records(table: AnnotationTable, report: ConversionReport, options: WriteOptions) -> list[dict]:
    """One Label Studio task per video task of ``table`` (made at its first frame): its boxes as tracks."""
    records = []
    for number, frame in enumerate(table.frames):
        if frame.key != "1":
            continue
        groups: dict = {}
        for row in np.flatnonzero(table.frame == number).tolist():
            result = _track_result(table, row, options, report)
            if result is None:
                continue
            is_prediction, version, score = _prediction_key(table.annotations[row])
            if score is not None:
                result["score"] = score
            groups.setdefault((is_prediction, version), []).extend(
                [result, *_attribute_results(table, row, result["id"], options, report)])
        records.append(_task_record(table, number, frame, groups, options))
    return records


def _track_result(table: AnnotationTable, row: int, options: WriteOptions, report: ConversionReport) -> dict | None:
    """The ``videorectangle`` result of a video bbox (None, reported, for anything else)."""
    annotation, frame = table.annotations[row], table.frames[table.frame[row]]
    if table.kinds[row] != "bbox":
        table.note(report, table.rows_mask(np.array([row])), VIDEO_KINDS)
        return None
    frame_count = int((options.frame_counts or {}).get(frame.name, 0))
    sequence = video_sequence(annotation.get("points") or {}, annotation.get("rotation") or 0, frame.width,
                              frame.height, frame_count)
    if sequence is None:
        report.note(BAD_TRACK, table.place(row))
        return None
    value = {"sequence": sequence, "labels": [annotation["value"]]}
    if frame_count:
        value["framesCount"] = frame_count
    return {"id": f"r{int(table.index[row])}", "type": "videorectangle", "value": value,
            "from_name": options.from_names.get("videorectangle", "box"), "to_name": options.to_name,
            "origin": "manual"}


def _task_record(table: AnnotationTable, number: int, frame, groups: dict, options: WriteOptions) -> dict:
    root = options.image_root
    url = frame.name if root is None else f"{root.rstrip('/')}/{frame.name}"
    predictions = []
    for (is_prediction, version), results in groups.items():
        if is_prediction:
            scores = [r["score"] for r in results if "score" in r]
            prediction = {"model_version": version, "result": results}
            if scores:
                prediction["score"] = sum(scores) / len(scores)
            predictions.append(prediction)
    annotation = {"result": [r for (is_prediction, _), results in groups.items() if not is_prediction
                             for r in results], "was_cancelled": False, "ground_truth": False}
    return {"id": table.first_frame + number + 1, "data": {options.data_key: url}, "annotations": [annotation],
            "predictions": predictions}


class LabelStudioTarget(Target):
    """One Label Studio JSON file (``output_file_name``) of every task, built chunk by chunk."""

    name = "labelstudio"
    geometry = frozenset(("bbox", "polygon", "keypoint", "segmentation"))

    def __init__(self, output_dir: str | os.PathLike[str], *, output_file_name: str = "labelstudio.json",
                 project_type: str = "image_bbox", image_root: str | None = None,
                 from_names: Mapping[str, str] | None = None, to_name: str | None = None,
                 frame_counts: Mapping[str, int] | None = None, indent: int | None = None) -> None:
        super().__init__(output_dir)
        if not output_file_name.lower().endswith(".json"):
            raise FormatError(f"output_file_name {output_file_name!r} must end with .json")
        data_key = next((kind for kind in ("audio", "video") if project_type.startswith(kind)), "image")
        self.options = WriteOptions(dict(from_names or {}), to_name or data_key, data_key, image_root,
                                    frame_counts)
        self.output_file_name, self.indent = output_file_name, indent
        self.spool: JsonListSpool | None = None

    def path(self) -> Path | str:
        return output_path(self.output_dir, self.output_file_name, "output_file_name")

    def __getstate__(self) -> dict:
        return {**self.__dict__, "spool": None}

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> tuple[bytes, object]:
        records = video_records if table.is_video else labelstudio_records
        return list_fragment(records(table, report, self.options), self.indent), plan

    def collect(self, result: list[bytes], report: ConversionReport) -> None:
        if self.spool is None:
            self.spool = JsonListSpool(self.path(), "tasks", self.indent)
        for fragment in result:
            self.spool.append(fragment)

    def finish(self, report: ConversionReport) -> None:
        try:
            path = self.path()
            with atomic_output(path) as stream:
                write_list(stream, self.spool)
            report.files.append(path)
        finally:
            self.abort()

    def abort(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


@gc_paused
def to_labelstudio(tasks: object, *, project_type: str = "image_bbox", image_root: str | None = None,
                   from_names: Mapping[str, str] | None = None, to_name: str | None = None,
                   frame_counts: Mapping[str, int] | None = None,
                   report: ConversionReport | None = None) -> list[dict]:
    """The Label Studio tasks of ``tasks`` (a list, a path or any iterable of FastLabel tasks); video
    projects need ``frame_counts`` (``{task name: frames}``)."""
    report = report or ConversionReport("labelstudio")
    target = LabelStudioTarget(".", project_type=project_type, image_root=image_root, from_names=from_names,
                               to_name=to_name, frame_counts=frame_counts)
    records = []
    for table in prepared_tables(tasks, target, report, project_type, None, frame_counts):
        records += (video_records if table.is_video else labelstudio_records)(table, report, target.options)
    return records


@gc_paused
def export_labelstudio(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelstudio"),
    *,
    project_type: str = "image_bbox",
    output_file_name: str = "labelstudio.json",
    image_root: str | None = None,
    from_names: Mapping[str, str] | None = None,
    to_name: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``output_dir/output_file_name``: one Label Studio task per FastLabel task, its regions
    as one annotation and the regions carrying ``score`` / ``model_version`` as predictions.
    ``image_root`` prefixes each task name in ``data`` (e.g. ``/data/local-files/?d=images``);
    ``from_names`` maps a Label Studio result type to its control's name, ``to_name`` names the
    object tag (default ``image``, ``audio`` / ``video`` for audio / video projects). Video projects
    need ``frame_counts`` (``{task name: frames}``): their boxes become ``videorectangle`` tracks."""
    report = ConversionReport("labelstudio", strict=strict)
    target = LabelStudioTarget(output_dir, output_file_name=output_file_name, project_type=project_type,
                               image_root=image_root, from_names=from_names, to_name=to_name,
                               frame_counts=frame_counts, indent=indent)
    run_export(tasks, [target], [report], project_type=project_type, frame_counts=frame_counts, jobs=jobs,
               scheduler=scheduler, progress=progress, overwrite=overwrite)
    return report


def read_labelstudio(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a Label Studio JSON export; of the ``options`` it takes ``predictions``,
    ``annotation`` and ``data_key`` (see :func:`labelstudio_tasks`), the others are other formats'."""
    own = {key: options[key] for key in READ_OPTIONS if options.get(key) is not None}
    own["predictions"] = {"no": False, "yes": True}.get(own.get("predictions"), own.get("predictions", False))
    return labelstudio_tasks(source, report=report, images=images, **own)


def detect_labelstudio(path: Path) -> float:
    """A JSON array whose first 64 KB hold a task's ``data`` and a ``result`` list or ``predictions``."""
    if not path.is_file() or path.suffix.lower() != ".json":
        return 0.0
    with path.open("rb") as stream:
        head = stream.read(1 << 16).lstrip()
    if not head.startswith(b"[") or b'"data"' not in head:
        return 0.0
    return 0.85 if b'"result"' in head or b'"predictions"' in head else 0.0


FORMAT = Format(
    name="labelstudio", summary="Label Studio JSON export (tasks with annotations and predictions)",
    aliases=("label-studio",), read=read_labelstudio, detect=detect_labelstudio,
    target=lambda out, options: LabelStudioTarget(out, project_type=options.project_type,
                                                  image_root=options.image_dir, indent=options.indent),
    options=(Option("--predictions", "predictions", "Label Studio read: the predictions too, or only them",
                    choices=("no", "yes", "only")),
             Option("--annotation", "annotation", "Label Studio read: the first annotation of a task, or all",
                    choices=("first", "all"))),
    source_help="Label Studio JSON export", verbs={"to_labelstudio": to_labelstudio,
                                                   "export_labelstudio": export_labelstudio,
                                                   "labelstudio_tasks": labelstudio_tasks,
                                                   "labelstudio_to_fastlabel": labelstudio_to_fastlabel})
