"""FastLabel annotation tables -> Label Studio task records (the target and the verbs are
:mod:`fastlabel_formats.formats.labelstudio`, whose docstring says how each region is carried).

Each chunk's regions are made per type over the whole table: the geometry of every box, polygon
and keypoint in one numpy pass, then one dict per region by a comprehension; only regions with
attributes (per-region controls, prediction scores) take a call of their own. These records are what
``to_labelstudio`` returns and an indented file holds; the compact file's bytes are made from the
same columns by :mod:`fastlabel_formats.formats.labelstudio.writer_json`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ...columns import bbox_points, has_points, rotations
from ...geometry import span_indices, turn_cos_sin
from ...report import ConversionReport
from ...selection import Policy, report_selection, select
from ...table import AnnotationTable
from .reader import MODEL_VERSION, SCORE
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
SIZELESS = "{kind} annotation of an image with width or height 0 not written (Label Studio stores percentages)"
ATTRIBUTE_DROPPED = "attribute that Label Studio cannot hold (not text, a choice or a number), dropped"
PLAIN = (False, "")  # the group of a task's annotation (the others: (True, model version) of its predictions)


@dataclass(frozen=True)
class WriteOptions:
    """Control names and the URL prefix of a written export."""

    from_names: Mapping[str, str]
    to_name: str
    data_key: str
    image_root: str | None
    frame_counts: Mapping[str, int] | None = None

    def from_name(self, written: str) -> str:
        return self.from_names.get(written, DEFAULT_FROM_NAMES[written])


def _frame_sizes(table: AnnotationTable) -> np.ndarray:
    """``(n, 2)`` width and height of every row's image."""

    def compute(cached_table: AnnotationTable) -> np.ndarray:
        sizes = [[frame.width, frame.height] for frame in cached_table.frames]
        return np.array(sizes, np.float64).reshape(-1, 2)[cached_table.frame]

    return table.cached("labelstudio frame sizes", compute)


def box_percent(table: AnnotationTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 4)`` x, y (the rotated top-left corner), width and height in percent of bbox rows, and
    their rotations."""
    boxes, angles = bbox_points(table)[rows], rotations(table)[rows]
    low, high = np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])
    half = (high - low) / 2
    cos, sin = turn_cos_sin(angles)
    centre = (low + high) / 2
    left = np.where(angles == 0, low[:, 0], centre[:, 0] - half[:, 0] * cos + half[:, 1] * sin)
    top = np.where(angles == 0, low[:, 1], centre[:, 1] - half[:, 0] * sin - half[:, 1] * cos)
    scaled = np.stack([left, top, 2 * half[:, 0], 2 * half[:, 1]], 1) * 100.0 / np.tile(_frame_sizes(table)[rows], 2)
    return scaled, angles


def _box_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    """The values of bbox rows: x, y (the rotated top-left corner), width, height (percent), rotation
    and label."""
    scaled, angles = box_percent(table, rows)
    return [{"x": x, "y": y, "width": w, "height": h, "rotation": angle % 360, "rectanglelabels": label}
            for (x, y, w, h), angle, label in zip(scaled.tolist(), angles.tolist(), labels)]


def ring_percent(table: AnnotationTable, rows: np.ndarray) -> tuple[list, list[int], list[int]]:
    """The first ring's points of ``rows`` in percent (``[x, y]`` lists, all rows joined), and
    where each row's end and how many it has."""
    rings = table.rings
    first_ring = rings.shape_ring_offsets[rows]
    starts, counts = rings.ring_offsets[first_ring], np.diff(rings.ring_offsets)[first_ring]
    ends = np.cumsum(counts)
    index = span_indices(starts, counts)
    percent = (rings.coords[index] * 100.0 / np.repeat(_frame_sizes(table)[rows], counts, axis=0)).tolist()
    return percent, ends.tolist(), counts.tolist()


def _polygon_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    percent, ends, counts = ring_percent(table, rows)
    return [{"points": percent[end - count:end], "closed": True, "polygonlabels": label}
            for end, count, label in zip(ends, counts, labels)]


def _keypoint_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    percent, ends, _ = ring_percent(table, rows)
    starts = [0, *ends[:-1]]  # a keypoint's ring is its one point
    return [{"x": percent[start][0], "y": percent[start][1], "keypointlabels": label}
            for start, label in zip(starts, labels)]


def _brush_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    """The brush RLE of segmentation rows, each rendered on its whole image."""
    from ...raster import check_image_size, segmentation_mask
    from .brush import brush_encode

    values = []
    for row, label in zip(rows.tolist(), labels):
        frame = table.frames[table.frame[row]]
        check_image_size(frame.width, frame.height, table.place(row))
        mask, window = segmentation_mask(table.points[row], frame.width, frame.height)
        full = np.zeros((frame.height, frame.width), bool)
        full[window.y0:window.y1, window.x0:window.x1] = mask
        values.append({"format": "rle", "rle": brush_encode(full), "brushlabels": label})
    return values


def _choice_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    return [{"choices": label} for label in labels]


def _audio_values(table: AnnotationTable, rows: np.ndarray, labels: list) -> list[dict]:
    annotations = table.annotations
    return [{"start": annotations[row]["start"], "end": annotations[row]["end"], "labels": label}
            for row, label in zip(rows.tolist(), labels)]


# kind: (result type, the values of rows given their labels, whether the result carries the image size)
REGION_VALUES = {
    "bbox": ("rectanglelabels", _box_values, True),
    "polygon": ("polygonlabels", _polygon_values, True),
    "keypoint": ("keypointlabels", _keypoint_values, True),
    "segmentation": ("brushlabels", _brush_values, True),
    "classification": ("choices", _choice_values, False),
    "audio": ("labels", _audio_values, False),
}


def kind_results(table: AnnotationTable, rows: np.ndarray, kind: str, options: WriteOptions) -> list[dict]:
    """The results of ``rows``, all of ``kind`` (or audio segments)."""
    written, values_of, sized = REGION_VALUES[kind]
    annotations = table.annotations
    values = values_of(table, rows, [[annotations[row]["value"]] for row in rows.tolist()])
    from_name, to_name, ids = options.from_name(written), options.to_name, table.index[rows].tolist()
    if not sized:
        return [{"id": f"r{number}", "type": written, "value": value, "from_name": from_name, "to_name": to_name,
                 "origin": "manual"} for number, value in zip(ids, values)]
    widths, heights = [f.width for f in table.frames], [f.height for f in table.frames]
    return [{"id": f"r{number}", "type": written, "value": value, "from_name": from_name, "to_name": to_name,
             "origin": "manual", "original_width": widths[frame], "original_height": heights[frame],
             "image_rotation": 0}
            for number, value, frame in zip(ids, values, table.frame[rows].tolist())]


REGION_KINDS = tuple(REGION_VALUES)
AUDIO, NOT_WRITTEN = REGION_KINDS.index("audio"), len(REGION_KINDS)


def region_kinds(table: AnnotationTable) -> np.ndarray:
    """Per row the number in ``REGION_KINDS`` of its result's kind (audio segments ``AUDIO``, rows of
    any other type ``NOT_WRITTEN``)."""

    def compute(cached_table: AnnotationTable) -> np.ndarray:
        numbers = {kind: number for number, kind in enumerate(REGION_KINDS) if number != AUDIO}
        out = np.fromiter((numbers.get(kind, NOT_WRITTEN) for kind in cached_table.kinds), np.int8, len(cached_table))
        out[audio_rows(cached_table)] = AUDIO
        return out

    return table.cached("labelstudio kinds", compute)


def by_kind(table: AnnotationTable, rows: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """``(kind, positions in rows)`` of each region kind that ``rows`` hold, in ``REGION_KINDS`` order."""
    kinds = region_kinds(table)[rows]
    for number, kind in enumerate(REGION_KINDS):
        positions = np.flatnonzero(kinds == number)
        if positions.size:
            yield kind, positions


def region_results(table: AnnotationTable, rows: np.ndarray, options: WriteOptions) -> list[dict]:
    """The result of each of ``rows`` (written rows, in order), made type by type."""
    out: list = [None] * len(rows)
    for kind, positions in by_kind(table, rows):
        for position, result in zip(positions.tolist(), kind_results(table, rows[positions], kind, options)):
            out[position] = result
    return out


def _control(attribute: dict) -> tuple[str, dict] | None:
    """The per-region control (type and value) that holds an attribute (None when none can)."""
    value = attribute["value"]
    if isinstance(value, str):
        if attribute.get("type") == "text":
            return "textarea", {"text": [value]}
        return ("choices", {"choices": [value]}) if value else None
    if isinstance(value, list):
        return ("choices", {"choices": list(value)}) if value and all(isinstance(v, str) for v in value) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number", {"number": value}
    return None


def attribute_results(table: AnnotationTable, row: int, result_id: str, options: WriteOptions,
                      report: ConversionReport) -> tuple[list[dict], dict | None]:
    """The control results of a region's attributes, and its ``score`` / ``model_version`` (None
    when it has neither: not a prediction); an attribute no control can hold is reported."""
    added, prediction = [], None
    for attribute in table.annotations[row].get("attributes") or ():
        key = attribute["key"]
        if key == SCORE or key == MODEL_VERSION:
            prediction = prediction or {}
            prediction[key] = attribute["value"]
            continue
        control = _control(attribute)
        if control is None:
            report.note(ATTRIBUTE_DROPPED, f"{table.place(row)} attribute {key!r}")
            continue
        added.append({"id": result_id, "type": control[0], "value": control[1], "from_name": key,
                      "to_name": options.to_name, "origin": "manual"})
    return added, prediction


def prediction_group(prediction: dict) -> tuple[bool, str]:
    """The group of a prediction's regions: its model version's."""
    return True, str(prediction.get(MODEL_VERSION) or "")


def result_score(prediction: dict) -> object:
    """A prediction's score carried by its result (None when it has none)."""
    score = prediction.get(SCORE)
    return score if isinstance(score, (int, float)) else None


def _grouped(groups: dict, table: AnnotationTable, row: int, result: dict, options: WriteOptions,
             report: ConversionReport) -> None:
    """Add a region and its attributes' control results to its group: the annotation, or (with a
    ``score`` or ``model_version`` attribute) the prediction of its model version, the score on the result."""
    controls, prediction = attribute_results(table, row, result["id"], options, report)
    if prediction is None:
        group = groups.get(PLAIN)
        if group is None:
            group = groups[PLAIN] = []
    else:
        score = result_score(prediction)
        if score is not None:
            result["score"] = score
        group = groups.setdefault(prediction_group(prediction), [])
    group.append(result)
    group += controls


def _is_audio(annotation: dict) -> bool:
    return all(isinstance(annotation.get(key), (int, float)) and not isinstance(annotation.get(key), bool)
               for key in ("start", "end")) and not annotation.get("points")


def audio_rows(table: AnnotationTable) -> np.ndarray:
    """Rows that are audio segments (``start`` and ``end``, no points)."""

    def compute(cached_table: AnnotationTable) -> np.ndarray:
        out = np.zeros(len(cached_table), bool)
        annotations = cached_table.annotations
        out[[row for row, annotation in enumerate(annotations) if "start" in annotation
             and _is_audio(annotation)]] = True
        return out

    return table.cached("labelstudio audio", compute)


def written_rows(table: AnnotationTable, report: ConversionReport) -> np.ndarray:
    """The rows Label Studio can hold (audio segments included), every other counted in ``report``."""
    audio = audio_rows(table)
    selected = select(table, LS_POLICY)
    sizeless = np.array([not (f.width and f.height) for f in table.frames], bool).reshape(-1)[table.frame]
    kinds = region_kinds(table)
    geometric = (kinds < REGION_KINDS.index("classification")) & has_points(table)  # the kinds before it have points
    unnamed = kinds == REGION_KINDS.index("classification")
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
    rows = np.flatnonzero(written_rows(table, report))
    per_frame: list[dict] = [{} for _ in table.frames]
    annotations = table.annotations
    for row, frame, result in zip(rows.tolist(), table.frame[rows].tolist(), region_results(table, rows, options)):
        if annotations[row].get("attributes"):
            _grouped(per_frame[frame], table, row, result, options, report)
        else:
            per_frame[frame].setdefault(PLAIN, []).append(result)
    return [task_record(table, number, frame, groups, options)
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
            if result is not None:
                _grouped(groups, table, row, result, options, report)
        records.append(task_record(table, number, frame, groups, options))
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


def task_record(table: AnnotationTable, number: int, frame, groups: dict, options: WriteOptions) -> dict:
    """The Label Studio task of one frame: its data URL, its annotation and its predictions."""
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
