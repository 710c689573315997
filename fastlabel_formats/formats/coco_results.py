"""COCO results <-> FastLabel: the list of detections that pycocotools' ``COCO.loadRes`` reads and
``COCOeval`` scores, ``[{image_id, category_id, bbox | segmentation | keypoints, score}]``.

A results file names images and categories by id only, so both ways go with a COCO ground-truth
file (``gt``): reading, each result becomes an annotation of its image's task (every image of the
ground truth is a task) carrying its ``score`` as the attribute ``{"key": "score", "value": s}``;
its geometry is read as the COCO reader reads a record (a box, an RLE mask with its holes, polygons,
keypoints named by the category). Writing, every annotation with a ``score`` attribute becomes one
result of the kind ``iou_type`` asks for (``loadRes`` takes one kind per file): ``"bbox"`` its COCO
box, ``"segm"`` its mask as compressed RLE (rasterised as pycocotools rasterises the same
annotation exported as ground truth, so that equal shapes score an IoU of 1), ``"keypoints"`` its
keypoints in the category's order. Image and category ids are the ground truth's (matched by file
name and category name), or without ``gt`` those ``export_coco`` gives the same tasks. Results are
written in annotation order (COCOeval ranks results of equal score by their order in the file) with
boxes to 6 decimals, so that a results file read and written back scores exactly the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import orjson

from ..coco import CocoTarget, carried_box, coco_annotations, coco_attributes, coco_tasks
from ..coco_import import ANNOTATION_STRUCTS
from ..columns import row_kinds, value_lookup
from ..errors import FormatError
from ..files import atomic_output, read_bytes, read_json
from ..geometry import integral_to_int, python_round
from ..jsonparts import list_fragment, write_list
from ..report import ConversionReport
from ..run import RunOptions, export_alone, kept_parts
from ..runtime import gc_paused
from ..sdk_order import CocoRows, coco_boxes, sdk_areas, sdk_xywh
from ..selection import report_selection, select
from ..table import AnnotationTable
from . import Format, Option

SCORE = "score"
RESULT_RECORD = ANNOTATION_STRUCTS[None]  # the COCO reader's record, as it reads a results file
IOU_TYPES = ("bbox", "segm", "keypoints")
NO_SCORE = "annotation without a numeric score attribute not written (give score= for a default)"


# ---------------------------------------------------------------------------------------------
# The ground truth


@dataclass(frozen=True)
class GroundTruth:
    """The ids a results file refers to: images by file name, categories by name (each with its
    keypoint names), and the document itself."""

    document: dict
    source: str
    images: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)
    keypoints: dict = field(default_factory=dict)


def ground_truth(gt: object) -> GroundTruth:
    """The ground truth of ``gt`` (a COCO file's path or its parsed dict); FormatError when it has
    no ``images`` and ``categories`` lists."""
    if gt is None:
        raise FormatError("COCO results refer to a ground-truth file by image and category ids: give it "
                          "(gt=, on the command line --gt: the COCO file the results were computed on)")
    document = truth_document(gt) if isinstance(gt, (str, os.PathLike)) else gt
    source = str(gt) if isinstance(gt, (str, os.PathLike)) else "gt"
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list) for k in ("images", "categories")):
        raise FormatError(f"{source}: a COCO ground truth needs 'images' and 'categories' lists")
    images = {}
    for image in document["images"]:
        if isinstance(image, dict) and isinstance(image.get("file_name"), str):
            images.setdefault(image["file_name"], image.get("id"))
    categories, keypoints = {}, {}
    for category in document["categories"]:
        name = _category_name(category)
        if name is not None and name not in categories:
            categories[name] = category["id"]
            names = category.get("keypoints")
            keypoints[name] = [str(n) for n in names] if isinstance(names, list) else []
    return GroundTruth(document, source, images, categories, keypoints)


class _TruthParts(msgspec.Struct):
    """What a results file needs of its ground truth (the rest is skipped unparsed)."""

    images: Any = None
    categories: Any = None


def truth_document(path: str | os.PathLike[str]) -> object:
    """``{"images", "categories"}`` of a ground-truth file, its annotations skipped (checked as JSON,
    not built); the whole parsed file when it is not an object (for the caller's message)."""
    data = read_bytes(path, "the COCO ground-truth file")
    try:
        parts = msgspec.json.decode(data, type=_TruthParts)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):  # the careful path names it
        return read_json(path, "the COCO ground-truth file")  # its error, or what it holds instead
    return {"images": parts.images, "categories": parts.categories}


def _category_name(category: object) -> str | None:
    """A category's name as the COCO reader gives it: ``name`` (a number as text), else ``supercategory``."""
    if not isinstance(category, dict) or "id" not in category:
        return None
    name = category.get("name")
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)
    return name or category.get("supercategory") or None


# ---------------------------------------------------------------------------------------------
# Reading


def _is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _result_record(record: object, number: int, source: str, report: ConversionReport) -> object:
    """A result as a COCO annotation record: numbered, its score an attribute, keypoint scores in
    the visibility slot read as visible (COCOeval ignores them)."""
    if not isinstance(record, dict):
        return record  # the COCO reader reports it
    out = {**record, "id": number, "attributes": _score_attributes(record.get(SCORE), number, source, report)}
    keypoints = record.get("keypoints")
    if isinstance(keypoints, list) and len(keypoints) % 3 == 0:
        out["keypoints"] = _result_keypoints(keypoints, _place(source, number), report)
    return out


class _Score(msgspec.Struct, gc=False):
    """The score of a result (its other fields skipped)."""

    score: Any = None


def _result_structs(data: bytes, source: str, report: ConversionReport) -> list | None:
    """:func:`_result_record` of every result of a file, decoded straight into the COCO reader's
    records; None when some result is not an object (read by the careful path, which reports it)."""
    try:
        records = msgspec.json.decode(data, type=list[RESULT_RECORD])
        scores = msgspec.json.decode(data, type=list[_Score])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):  # the careful path names it
        return None
    for number, (record, scored) in enumerate(zip(records, scores), 1):
        record.id, record.attributes = number, _score_attributes(scored.score, number, source, report)
        keypoints = record.keypoints
        if isinstance(keypoints, list) and len(keypoints) % 3 == 0:
            record.keypoints = _result_keypoints(keypoints, _place(source, number), report)
    return records


def _score_attributes(score: object, number: int, source: str, report: ConversionReport) -> dict:
    """The attributes of result ``number``: its score, when it is a number (else reported)."""
    if _is_score(score):
        return {SCORE: score}
    report.note("result without a numeric score, read without one", _place(source, number))
    return {}


def _place(source: str, number: int) -> str:
    return f"{source}: result #{number - 1}"


def _result_keypoints(values: list, place: str, report: ConversionReport) -> list:
    """A result's keypoint triplets as COCO ground truth has them: COCOeval ignores a result's
    visibility and scores every position, so a visibility that is a score is read as visible, and a
    position with visibility 0 as labelled but invisible (else its position would be lost)."""
    out = list(values)
    for index in range(2, len(out), 3):
        visibility, position = out[index], out[index - 2:index]
        if visibility in (1, 2):
            continue
        if visibility == 0 and not any(position):
            continue
        out[index] = 1 if visibility == 0 else 2
        report.note("result keypoint with visibility 0 (a position) read as invisible" if visibility == 0
                    else "result keypoint visibility other than 0, 1, 2 (a score) read as visible", place)
    return out


def _result_records(results: object, report: ConversionReport) -> tuple[list, str]:
    """The COCO annotation records of a results file or list (see :func:`_result_record`), and the
    source's name for messages."""
    if isinstance(results, (str, os.PathLike)):
        data, source = read_bytes(results, "the COCO results file"), str(results)
        records = _result_structs(data, source, report)
        if records is not None:
            return records, source
        try:
            results = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise FormatError(f"{source}: not valid JSON: {error}") from error
    else:
        source = "results"
    if not isinstance(results, list):
        raise FormatError(f"{source}: a COCO results file holds a list of results, not {type(results).__name__}")
    return [_result_record(record, number, source, report) for number, record in enumerate(results, 1)], source


@gc_paused
def coco_results_tasks(
    results: str | os.PathLike[str] | Sequence[dict],
    *,
    gt: str | os.PathLike[str] | Mapping | None = None,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> list[dict]:
    """FastLabel tasks of a COCO results list against its ground truth ``gt``: every ground-truth
    image a task, each result an annotation of its image with the attribute ``score``."""
    truth = ground_truth(gt)
    report = report or ConversionReport("coco_results import", strict=strict)
    annotations, source = _result_records(results, report)
    inner = ConversionReport(report.target, strict=report.strict)
    try:
        tasks = coco_tasks({"images": truth.document["images"], "categories": truth.document["categories"],
                            "annotations": annotations}, None, report=inner)
    except FormatError as error:
        raise FormatError(str(error).replace("coco: annotation #", f"{source}: result #")) from None
    for finding in inner.findings.values():
        report.add(finding.kind.replace("annotation record", "result"), finding.count,
                   [place.replace("coco: annotation #", f"{source}: result #").replace("coco:", f"{source}:")
                    for place in finding.examples])
    return tasks


def coco_results_to_fastlabel(results: str | os.PathLike[str] | Sequence[dict], **options) -> dict[str, list[dict]]:
    """``{image file_name: [annotations]}`` of a results list (see :func:`coco_results_tasks`)."""
    return {task["name"]: task["annotations"] for task in coco_results_tasks(results, **options)}


# ---------------------------------------------------------------------------------------------
# Writing


class CocoResultsTarget(CocoTarget):
    """One COCO results file: the scored annotations of every chunk, in input order."""

    name = "coco_results"
    numbered = False  # results have no ids to number

    def __init__(self, output_dir: str | os.PathLike[str], *, gt: object = None, iou_type: str = "bbox",
                 output_file_name: str = "results.json", score: float | None = None, holes: str = "drop",
                 indent: int | None = None, annotations: Sequence[dict] | None = None,
                 classes: Sequence[str] | None = None, raster: str = "staircase") -> None:
        super().__init__(output_dir, annotations=annotations, output_file_name=output_file_name, holes=holes,
                         indent=indent, classes=classes, raster=raster)
        if iou_type not in IOU_TYPES:
            raise FormatError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
        if score is not None and not _is_score(score):
            raise FormatError(f"score must be a finite number, got {score!r}")
        self.truth = ground_truth(gt) if gt is not None else None
        self.iou_type, self.default_score = iou_type, score
        # a detection under a pixel wide is a result all the same
        self.policy = replace(self.policy, skip_degenerate=False, rotation="bbox rotation dropped (a result box "
                              "is its axis-aligned enclosing box)" if iou_type == "bbox" else None)

    def prepare(self, census, report: ConversionReport) -> None:
        super().prepare(census, report)
        self.category_names = {c["id"]: c["name"] for c in self.categories}
        if self.truth is not None:  # keypoints in the ground truth's order
            for category in self.categories:
                if self.truth.keypoints.get(category["name"]):
                    self.keypoint_keys[category["id"]] = self.truth.keypoints[category["name"]]

    def results(self, table: AnnotationTable, report: ConversionReport, share_input: bool = False) -> list[dict]:
        """The results of one table, in annotation order (``share_input``: as :func:`coco_annotations`)."""
        rows = self.rows(table, report)
        if self.iou_type == "bbox":
            records = box_records(table, rows)
            boxes = result_boxes(records)
        else:
            records = coco_annotations(table, rows, self, 1, report, share_input)
            boxes = [None] * len(records)
        out = []
        for row, record, box in zip(rows.order.tolist(), records, boxes):
            result = self.result(table, row, record, report, box)
            if result is not None:
                out.append(result)
        return out

    def rows(self, table: AnnotationTable, report: ConversionReport) -> CocoRows:
        """The rows written (every bbox, however small), in annotation order: COCOeval ranks results
        of equal score by their order in the file, so a results file read and written keeps its
        order. The others are reported."""
        kinds, boxes = row_kinds(table), coco_boxes(table)
        category = value_lookup(table, self.category_ids, 0)
        selected = select(table, self.policy, category > 0)
        report_selection(table, self.policy, selected, report)
        return CocoRows(np.flatnonzero(selected.keep), category, sdk_areas(table), sdk_xywh(table), boxes, kinds,
                        selected)

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport
               ) -> dict[tuple[None, str], bytes]:
        return {(None, "annotations"): list_fragment(self.results(table, report, share_input=True), self.indent)}

    def result(self, table: AnnotationTable, row: int, record: dict, report: ConversionReport,
               box: list | None = None) -> dict | None:
        """The result of one COCO record (None, reported, when it cannot be one; ``box``: its
        :func:`result_boxes` box in a bbox file)."""
        score = record["attributes"].get(SCORE, self.default_score)
        if not _is_score(score):
            report.note(NO_SCORE, table.place(row))
            return None
        ids = self.ids(table, row, record, report)
        if ids is None:
            return None
        geometry = {"bbox": box} if self.iou_type == "bbox" else self.geometry_of(table, row, record, report)
        return None if geometry is None else {"image_id": ids[0], "category_id": ids[1], **geometry, SCORE: score}

    def ids(self, table: AnnotationTable, row: int, record: dict, report: ConversionReport) -> tuple | None:
        """The image id and category id of a result: the ground truth's, else the exporter's."""
        if self.truth is None:
            return record["image_id"], record["category_id"]
        image_id = self.truth.images.get(table.frames[table.frame[row]].file_name)
        category = self.truth.categories.get(self.category_names[record["category_id"]])
        if image_id is None or category is None:
            report.note("annotation of an image missing from the ground truth not written" if image_id is None
                        else "annotation whose value is no category of the ground truth not written", table.place(row))
            return None
        return image_id, category

    def geometry_of(self, table: AnnotationTable, row: int, record: dict, report: ConversionReport) -> dict | None:
        """The ``segmentation`` or ``keypoints`` of a result of this file's kind."""
        kind, frame = table.kinds[row], table.frames[table.frame[row]]
        if self.iou_type == "keypoints":
            problem = None if record["num_keypoints"] and record["keypoints"] else \
                f"{kind} annotation without keypoints of its category not written in keypoint results"
        elif kind == "pose_estimation":
            problem = "pose_estimation annotation has no mask: not written in segm results"
        else:
            problem = None if frame.width and frame.height else \
                "annotation of an image with width or height 0 has no mask: not written in segm results"
        if problem:
            report.note(problem, table.place(row))
            return None
        if self.iou_type == "keypoints":
            return {"keypoints": record["keypoints"]}
        return {"segmentation": compressed_rle(record["segmentation"], frame.height, frame.width)}

    def write_file(self, split: str | None) -> Path | str:
        """The results list, from the annotation spool."""
        path = self.file_path(split)
        with atomic_output(path) as stream:
            write_list(stream, self._spool(split, "annotations"))
        return path


def box_records(table: AnnotationTable, rows: CocoRows) -> list[dict]:
    """What a bbox result takes of the COCO record of each row of ``rows.order`` (its attributes,
    box, image and category), without the rest of the record."""
    order = rows.order.tolist()
    attributes = coco_attributes([table.annotations[row] for row in order], table, order)
    image_ids = (table.frame[rows.order] + table.first_frame + 1).tolist()
    return [{"attributes": listed, "bbox": carried_box(listed, box), "image_id": image, "category_id": category}
            for listed, box, image, category in zip(attributes, integral_to_int(rows.xywh[rows.order]), image_ids,
                                                    rows.category[rows.order].tolist())]


def result_boxes(records: Sequence[dict]) -> list[list]:
    """The ``bbox`` of each record's result: rounded to 6 decimals, as the vertices are (a width is
    then no longer x2 - x1 to the last bit), integral values written as integers."""
    boxes = np.asarray([record["bbox"] for record in records], np.float64).reshape(-1, 4)
    return integral_to_int(python_round(boxes))


def compressed_rle(segmentation: object, height: int, width: int) -> dict:
    """A COCO segmentation (polygons or RLE) as one compressed RLE, as pycocotools' ``annToRLE``
    makes it of a ground-truth record."""
    from pycocotools import mask as coco_mask

    if isinstance(segmentation, dict):
        counts = segmentation["counts"]
        if isinstance(counts, str):
            return {"size": list(segmentation["size"]), "counts": counts}
        rle = coco_mask.frPyObjects(segmentation, height, width)
    else:
        rle = coco_mask.merge(coco_mask.frPyObjects([list(map(float, ring)) for ring in segmentation], height, width))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


@gc_paused
def to_coco_results(
    tasks: object,
    *,
    gt: str | os.PathLike[str] | Mapping | None = None,
    iou_type: str = "bbox",
    score: float | None = None,
    project_type: str = "image_bbox",
    annotations: Sequence[dict] | None = None,
    holes: str = "drop",
    frame_counts: Mapping[str, int] | None = None,
    report: ConversionReport | None = None,
) -> list[dict]:
    """The COCO results list of the scored annotations of ``tasks`` (see the module's docstring)."""
    report = report or ConversionReport("coco_results")
    target = CocoResultsTarget(".", gt=gt, iou_type=iou_type, score=score, annotations=annotations, holes=holes)
    parts = kept_parts(tasks, target, lambda table, plan, report, ids: target.results(table, report), report,
                       RunOptions(project_type, frame_counts=frame_counts))
    return [result for results in parts for result in results]


@gc_paused
def export_coco_results(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "coco_results"),
    *,
    gt: str | os.PathLike[str] | Mapping | None = None,
    iou_type: str = "bbox",
    score: float | None = None,
    output_file_name: str = "results.json",
    project_type: str = "image_bbox",
    annotations: Sequence[dict] | None = None,
    holes: str = "drop",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``output_dir/output_file_name``: the results list that ``COCO.loadRes`` reads, one result
    per annotation with a ``score`` attribute (``score``: the score of those without one), of the
    kind ``iou_type`` (``bbox``, ``segm`` or ``keypoints``), ids from ``gt`` when given."""
    target = CocoResultsTarget(output_dir, gt=gt, iou_type=iou_type, score=score, output_file_name=output_file_name,
                               annotations=annotations, holes=holes, indent=indent)
    return export_alone(tasks, target, strict=strict, project_type=project_type, videos=videos,
                        frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress,
                        overwrite=overwrite)


def read_coco_results(source, *, report=None, images=None, gt=None, **options) -> list[dict]:
    """The tasks of a COCO results file against its ground truth (the option ``gt``, required)."""
    return coco_results_tasks(source, gt=gt, report=report)


def detect_coco_results(path: Path) -> float:
    """A JSON array whose first 64 KB are objects with ``image_id``, ``category_id`` and ``score``."""
    if not path.is_file():
        return 0.0
    with path.open("rb") as stream:
        head = stream.read(1 << 16).lstrip()
    if not head.startswith(b"[") or not head[1:].lstrip().startswith(b"{"):
        return 0.0
    return 0.9 if all(key in head for key in (b'"image_id"', b'"category_id"', b'"score"')) else 0.0


FORMAT = Format(
    name="coco_results", summary="COCO results list (COCO.loadRes / COCOeval), with a ground-truth file",
    aliases=("coco-results",), read=read_coco_results, detect=detect_coco_results,
    target=lambda out, options: CocoResultsTarget(
        out, annotations=options.annotations, classes=options.classes, holes=options.holes, indent=options.indent,
        raster=options.raster, **{key: options.extra[key] for key in ("gt", "iou_type", "score")
                                  if options.extra.get(key) is not None}),
    options=(Option("--gt", "gt", "COCO results: the ground-truth COCO file (image and category ids)", write=True),
             Option("--iou-type", "iou_type", "COCO results written: what each result holds",
                    choices=("bbox", "segm", "keypoints"), read=False, write=True),
             Option("--score", "score", "COCO results written: the score of annotations without one", type=float,
                    read=False, write=True)),
    source_help="COCO results JSON (with --gt, its ground-truth COCO file)",
    verbs={"to_coco_results": to_coco_results, "export_coco_results": export_coco_results,
           "coco_results_tasks": coco_results_tasks, "coco_results_to_fastlabel": coco_results_to_fastlabel})
