"""FastLabel annotation tables -> the JSON of Label Studio task records, straight from the table's
columns: the bytes ``orjson`` writes for the records of
:func:`~fastlabel_formats.formats.labelstudio.writer.labelstudio_records` (the file's path when it
is not indented), without a dict per region.

Box, polygon and keypoint results are filled into byte templates from the texts of their numbers
(every number of a type dumped by one ``orjson`` call, then split); the other results are the
records' own dicts, dumped one by one."""

from __future__ import annotations

import numpy as np
import orjson

from ...jsonparts import number_texts
from ...report import ConversionReport
from ...table import AnnotationTable
from .writer import (
    PLAIN,
    REGION_VALUES,
    WriteOptions,
    attribute_results,
    box_percent,
    by_kind,
    kind_results,
    labelstudio_records,
    prediction_group,
    result_score,
    ring_percent,
    written_rows,
)

TEMPLATE_KINDS = ("bbox", "polygon", "keypoint")  # the others: their result dicts, dumped
# the value of each kind's result, its numbers' texts then its label's
VALUE_TEMPLATES = {
    "bbox": b'{"x":%s,"y":%s,"width":%s,"height":%s,"rotation":%s,"rectanglelabels":[%s]}',
    "polygon": b'{"points":%s,"closed":true,"polygonlabels":[%s]}',
    "keypoint": b'{"x":%s,"y":%s,"keypointlabels":[%s]}',
}
TASK = (b'{"id":%d,"data":{%s:%s},"annotations":[{"result":[%s],"was_cancelled":false,"ground_truth":false}],'
        b'"predictions":[%s]}')


def _dumped(value: object) -> bytes:
    """The JSON of ``value``, its ``%`` doubled (to be part of a byte template)."""
    return orjson.dumps(value).replace(b"%", b"%%")



def _box_columns(table: AnnotationTable, rows: np.ndarray) -> list[list[bytes]]:
    """The texts of x, y, width, height and rotation of bbox rows, a list each."""
    scaled, angles = box_percent(table, rows)
    texts = number_texts(np.column_stack([scaled, np.mod(angles, 360.0)]).ravel().tolist())  # np.mod is Python's %
    return [texts[column::5] for column in range(5)]


def _polygon_columns(table: AnnotationTable, rows: np.ndarray) -> list[list[bytes]]:
    """The texts of the point lists of polygon rows."""
    percent, ends, counts = ring_percent(table, rows)
    lists = [percent[end - count:end] for end, count in zip(ends, counts)]
    if 0 in counts:  # an empty list would not be cut out of the whole
        return [list(map(orjson.dumps, lists))]
    return [[b"[[" + text + b"]]" for text in orjson.dumps(lists)[3:-3].split(b"]],[[")]]  # numbers between brackets


def _keypoint_columns(table: AnnotationTable, rows: np.ndarray) -> list[list[bytes]]:
    """The texts of x and y of keypoint rows."""
    percent, ends, _ = ring_percent(table, rows)
    texts = number_texts([number for start in [0, *ends[:-1]] for number in percent[start]])  # its one point
    return [texts[0::2], texts[1::2]]


VALUE_COLUMNS = {"bbox": _box_columns, "polygon": _polygon_columns, "keypoint": _keypoint_columns}


def _templated(table: AnnotationTable, rows: np.ndarray, kind: str, options: WriteOptions) -> list[bytes]:
    """The results of ``rows``, all of ``kind`` (a box, polygon or keypoint)."""
    written = REGION_VALUES[kind][0]
    template = (b'{"id":"r%d","type":"' + written.encode() + b'","value":' + VALUE_TEMPLATES[kind] + b',"from_name":'
                + _dumped(options.from_name(written)) + b',"to_name":' + _dumped(options.to_name)
                + b',"origin":"manual","original_width":%s,"original_height":%s,"image_rotation":0}')
    annotations, frames = table.annotations, table.frame[rows]
    widths = np.array([orjson.dumps(frame.width) for frame in table.frames], object)[frames].tolist()
    heights = np.array([orjson.dumps(frame.height) for frame in table.frames], object)[frames].tolist()
    labels = [orjson.dumps(annotations[row]["value"]) for row in rows.tolist()]
    return [template % values for values in zip(table.index[rows].tolist(), *VALUE_COLUMNS[kind](table, rows), labels,
                                                 widths, heights)]


def _dumped_results(table: AnnotationTable, rows: np.ndarray, kind: str, options: WriteOptions) -> list[bytes]:
    """The results of ``rows`` of a kind without a template: their record dicts, dumped."""
    return [orjson.dumps(result) for result in kind_results(table, rows, kind, options)]


def result_texts(table: AnnotationTable, rows: np.ndarray, options: WriteOptions) -> list[bytes]:
    """The JSON of the result of each of ``rows`` (written rows, in order), made type by type."""
    out: list = [None] * len(rows)
    for kind, positions in by_kind(table, rows):
        made = (_templated if kind in TEMPLATE_KINDS else _dumped_results)(table, rows[positions], kind, options)
        for position, text in zip(positions.tolist(), made):
            out[position] = text
    return out


def _with_controls(table: AnnotationTable, row: int, text: bytes, options: WriteOptions,
                   report: ConversionReport) -> tuple[tuple[bool, str], bytes, object]:
    """The group of a region with attributes (as ``_grouped`` finds it), its result's JSON (with the
    score of a prediction) followed by its attributes' control results, and that score (None: none)."""
    controls, prediction = attribute_results(table, row, f"r{int(table.index[row])}", options, report)
    key, score = PLAIN, None
    if prediction is not None:
        key, score = prediction_group(prediction), result_score(prediction)
        if score is not None:
            text = text[:-1] + b',"score":' + orjson.dumps(score) + b"}"
    return key, b",".join([text, *map(orjson.dumps, controls)]), score


def _frame_groups(texts: list[bytes], keys: dict, start: int, end: int) -> tuple[bytes, list[bytes]]:
    """The annotation's results and the predictions of one frame whose results are ``texts[start:end]``
    (``keys``: group and score of each position of a prediction's region)."""
    plain: list[bytes] = []
    groups: dict = {}
    for position in range(start, end):
        found = keys.get(position)
        if found is None:
            plain.append(texts[position])
            continue
        group = groups.setdefault(found[0], ([], []))
        group[0].append(texts[position])
        if found[1] is not None:
            group[1].append(found[1])
    predictions = []
    for (_, version), (results, scores) in groups.items():
        score = b',"score":' + orjson.dumps(sum(scores) / len(scores)) if scores else b""
        predictions.append(b'{"model_version":' + orjson.dumps(version) + b',"result":[' + b",".join(results) + b"]"
                           + score + b"}")
    return b",".join(plain), predictions


def labelstudio_json(table: AnnotationTable, report: ConversionReport, options: WriteOptions) -> bytes:
    """The JSON of the Label Studio tasks of ``table``'s frames (as ``labelstudio_records`` makes
    them), comma-separated (no brackets)."""
    if np.any(np.diff(table.frame) < 0):  # rows out of frame order (a table not made by gather): the records
        return orjson.dumps(labelstudio_records(table, report, options))[1:-1]
    rows = np.flatnonzero(written_rows(table, report))
    texts = result_texts(table, rows, options)
    annotations = table.annotations
    keys: dict[int, tuple] = {}  # position: (group, score) of a prediction's region
    attributed = [(position, row) for position, row in enumerate(rows.tolist()) if annotations[row].get("attributes")]
    for position, row in attributed:
        key, texts[position], score = _with_controls(table, row, texts[position], options, report)
        if key is not PLAIN:
            keys[position] = key, score
    bounds = np.searchsorted(table.frame[rows], np.arange(len(table.frames) + 1)).tolist()
    root = options.image_root
    prefix = "" if root is None else root.rstrip("/") + "/"
    data_key, tasks = orjson.dumps(options.data_key), []
    for number, (frame, start, end) in enumerate(zip(table.frames, bounds, bounds[1:])):
        plain, predictions = _frame_groups(texts, keys, start, end) if keys else (b",".join(texts[start:end]), ())
        tasks.append(TASK % (table.first_frame + number + 1, data_key, orjson.dumps(prefix + frame.name), plain,
                             b",".join(predictions)))
    return b",".join(tasks)
