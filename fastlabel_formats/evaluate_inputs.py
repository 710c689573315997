"""The two COCO documents an evaluation scores (:mod:`fastlabel_formats.evaluation`): the ground truth
and the results of the predictions, its image and category ids.

The ground truth is any format the package reads: a COCO file (or dict) as it is, so that a COCO
results file's ids keep their meaning; anything else through :func:`to_coco`. The predictions are a
COCO results list (checked, passed on unchanged), tasks of any readable format whose annotations
carry the attribute ``{"key": "score", "value": s}`` (each the box, RLE or keypoints :func:`to_coco`
would write, made straight from the chunk tables it reads, and matched to the ground truth by file
name and class name), or YOLO label files with a confidence column. Whatever
cannot be matched or has no score is skipped and reported with its place.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from .coco import CocoTarget, carried_box, to_coco
from .convert import detect_format, read_tasks
from .errors import FormatError
from .files import read_json, read_text
from .geometry import integral_to_int
from .report import ConversionReport
from .run import Ids, kept_parts
from .runtime import gc_paused
from .sdk_order import coco_rows, coco_selection
from .table import AnnotationTable
from .yolo_import import LINE_READERS, line_kind, yolo_classes

SCORE = "score"

# ---------------------------------------------------------------------------------------------
# The ground truth


def ground_truth(gt: object, gt_format: str = "auto", *, annotations: Sequence[dict] | None = None,
                 images: str | os.PathLike[str] | None = None, report: ConversionReport | None = None) -> dict:
    """The COCO document the predictions are scored against: a COCO file or dict as it is (what
    pycocotools needs and a record lacks filled in, see :func:`completed_coco`), anything else
    through :func:`to_coco`."""
    report = report or ConversionReport("evaluate")
    document = gt if isinstance(gt, dict) else _coco_file(gt, gt_format)
    if document is not None:
        return completed_coco(document, "gt" if isinstance(gt, dict) else str(gt), report)
    tasks = read_tasks(gt, gt_format, images=images, report=report) if isinstance(gt, (str, os.PathLike)) else gt
    return to_coco(tasks, annotations=annotations, holes="rle", report=report)


def _coco_file(gt: object, gt_format: str) -> dict | None:
    """The parsed COCO file ``gt`` names (None when it is no COCO file)."""
    if not isinstance(gt, (str, os.PathLike)) or not Path(gt).is_file():
        return None
    if gt_format not in ("coco", "auto") or (gt_format == "auto" and _detected(gt) != "coco"):
        return None
    document = read_json(gt, "the COCO ground-truth file")
    return document if isinstance(document, dict) else None


def _detected(path: str | os.PathLike[str]) -> str | None:
    try:
        return detect_format(path)
    except (FormatError, OSError):
        return None


def completed_coco(document: dict, source: str, report: ConversionReport) -> dict:
    """``document`` with what pycocotools' evaluation reads and a record lacks filled in (each
    reported with its place), its ids kept: ``iscrowd`` 0, ``bbox`` and ``area`` of the record's
    segmentation as pycocotools rasterises it (else ``area`` of its box), a free ``id``. A record
    without a known image, a category or any geometry is skipped."""
    if not all(isinstance(document.get(key), list) for key in ("images", "annotations", "categories")):
        raise FormatError(f"{source}: a COCO ground truth needs 'images', 'annotations' and 'categories' lists")
    sizes = {image.get("id"): (image.get("height"), image.get("width")) for image in document["images"]
             if isinstance(image, dict)}
    records, changed = [], False
    for index, record in enumerate(document["annotations"]):
        made, problem = _completed_record(record, sizes)
        if problem:
            report.note(problem, f"{source}: annotations[{index}]")
        changed |= made is not record
        if made is not None:
            records.append(made)
    if not changed:
        return document
    free = max((r["id"] for r in records if isinstance(r.get("id"), int)), default=0) + 1
    records = [r if "id" in r else {**r, "id": free + n} for n, r in enumerate(records)]
    return {**document, "annotations": records}


GROUND_TRUTH_KEYS = ("id", "bbox", "area", "iscrowd")
NEEDED = {"segm": ("segmentation",), "keypoints": ("keypoints", "num_keypoints")}  # what each evaluation reads


def check_ground_truth(ground: dict, iou_type: str, source: str = "gt") -> None:
    """FormatError when records of ``ground`` lack what an ``iou_type`` evaluation reads (pycocotools
    would stop with a KeyError), naming how many and the first."""
    needed = NEEDED.get(iou_type, ())
    lacking = [index for index, record in enumerate(ground["annotations"]) if any(key not in record for key in needed)]
    if lacking:
        raise FormatError(f"{source}: {len(lacking):,} ground-truth record(s) without {' and '.join(needed)}, which a "
                          f"{iou_type} evaluation reads (first: annotations[{lacking[0]}])")


def _completed_record(record: object, sizes: dict) -> tuple[dict | None, str]:
    """``(record, "")`` when it is complete, ``(record filled in, note)``, or ``(None, why skipped)``."""
    if not isinstance(record, dict) or record.get("image_id") not in sizes or "category_id" not in record:
        return None, "ground-truth record without a known image_id or a category_id, skipped"
    missing = [key for key in GROUND_TRUTH_KEYS if key not in record]
    if not missing:
        return record, ""
    segmentation = record.get("segmentation")
    if "bbox" not in record and not segmentation:
        return None, "ground-truth record without a bbox or segmentation, skipped"
    made = {"iscrowd": 0, **record}
    if segmentation and ("bbox" not in record or "area" not in record):
        height, width = sizes[record["image_id"]]
        rle = _rle(segmentation, height, width)
        made = {"bbox": mask_utils.toBbox(rle).tolist(), "area": float(mask_utils.area(rle)), **made}
    else:
        made = {"area": float(record["bbox"][2] * record["bbox"][3]), **made}
    return made, f"ground-truth record without {', '.join(missing)}: filled in (area of its mask or box, iscrowd 0)"


# ---------------------------------------------------------------------------------------------
# The predictions


def detections(predictions: object, pred_format: str, ground: dict, iou_type: str, *,
               report: ConversionReport, classes_file: str | os.PathLike[str] | None = None,
               images: str | os.PathLike[str] | None = None, annotations: Sequence[dict] | None = None,
               gt: object = None) -> list[dict]:
    """The COCO results of ``predictions`` against ``ground`` (ids and categories its own)."""
    if isinstance(predictions, list) and (not predictions or _is_result(predictions[0])):
        return _checked_results(predictions, ground, iou_type, report)
    if isinstance(predictions, (str, os.PathLike)):
        fmt = _prediction_format(predictions, pred_format)
        if fmt in RESULTS_FORMATS:
            return _checked_results(_results_file(predictions), ground, iou_type, report)
        if fmt == "yolo":
            classes = _yolo_class_names(predictions, classes_file, gt)
            tasks = yolo_prediction_tasks(predictions, ground, classes, report)
        else:
            tasks = read_tasks(predictions, fmt, images=images, classes_file=classes_file, report=report)
    else:
        tasks = predictions
    return task_results(tasks, ground, iou_type, report, annotations)


RESULTS_FORMATS = ("coco_results", "coco-results")


def _results_file(path: str | os.PathLike[str]) -> list:
    """The list of a COCO results file; FormatError when it holds something else."""
    results = read_json(path, "the predictions file")
    if not isinstance(results, list):
        raise FormatError(f"{path}: a COCO results file holds a JSON list of results, found {type(results).__name__}")
    return results


def _is_result(item: object) -> bool:
    return isinstance(item, dict) and "image_id" in item and "name" not in item


def _prediction_format(path: str | os.PathLike[str], pred_format: str) -> str:
    """The format of a predictions path: as given, detected, or a folder of ``.txt`` files (what
    Ultralytics' ``predict`` writes, without a classes file) taken for YOLO."""
    if pred_format != "auto":
        return pred_format
    detected = _detected(path)
    if detected is not None:
        return detected
    if Path(path).is_dir() and any(Path(path).rglob("*.txt")):
        return "yolo"
    if Path(path).is_file() and Path(path).suffix.lower() == ".json":
        return RESULTS_FORMATS[0]  # a JSON file no reader claims: what loadRes reads is checked as it is read
    raise FormatError(f"{path}: cannot tell the format of the predictions; give it (pred_format= / --pred-from)")


def _checked_results(results: list, ground: dict, iou_type: str, report: ConversionReport) -> list[dict]:
    """The results that name an image and a category of ``ground``, have a numeric score and the
    geometry of ``iou_type``; each other one is reported with its index."""
    images = {image.get("id") for image in ground["images"] if isinstance(image, dict)}
    categories = {category.get("id") for category in ground["categories"] if isinstance(category, dict)}
    need = {"bbox": "bbox", "segm": "segmentation", "keypoints": "keypoints"}[iou_type]
    kept = []
    for index, result in enumerate(results):
        problem = _result_problem(result, images, categories, need)
        if problem:
            report.note(problem, f"predictions: result #{index}")
        else:
            kept.append(result)
    return kept


def _result_problem(result: object, images: set, categories: set, need: str) -> str:
    if not isinstance(result, dict):
        return "result that is not an object, skipped"
    if result.get("image_id") not in images:
        return "result whose image_id is not an image of the ground truth, skipped"
    if result.get("category_id") not in categories:
        return "result whose category_id is not a category of the ground truth, skipped"
    if not _is_score(result.get("score")):
        return "result without a numeric score, skipped"
    if not result.get(need):
        return f"result without {need}, skipped"
    return ""


def _is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@gc_paused
def task_results(tasks: object, ground: dict, iou_type: str, report: ConversionReport,
                 annotations: Sequence[dict] | None = None) -> list[dict]:
    """COCO results of prediction tasks whose annotations carry a numeric ``score`` attribute, made
    straight from the chunk tables :func:`to_coco` reads (each kept annotation's COCO box, RLE or
    keypoints as :func:`to_coco` would write them), in task order; each image matched to ``ground``
    by file name (else by the name without folders when one ground-truth image has it) and each
    class by name."""
    target = CocoTarget(".", annotations=annotations, holes="rle")
    matches: _Matches | None = None  # made once the categories are known

    def results(table: AnnotationTable, plan: object, report: ConversionReport, _: object) -> list[dict]:
        nonlocal matches
        matches = matches or _Matches(ground, target.categories)
        return _table_results(table, target, matches, iou_type, report)

    return [result for found in kept_parts(tasks, target, results, report) for result in found]


class _Matches:
    """The ground-truth image of a prediction's file name and the ground-truth category of its class."""

    def __init__(self, ground: dict, own_categories: list[dict]) -> None:
        truth = [image for image in ground["images"] if isinstance(image, dict)
                 and isinstance(image.get("file_name"), str)]
        self.by_name = {image["file_name"]: image for image in truth}
        self.by_base: dict[str, list[dict]] = {}
        for image in truth:
            self.by_base.setdefault(Path(image["file_name"]).name, []).append(image)
        by_name = {str(category.get("name")): category for category in ground["categories"]
                   if isinstance(category, dict)}
        self.categories = {category["id"]: (category, by_name.get(str(category["name"])))
                           for category in own_categories}

    def image(self, file_name: str) -> dict | None:
        same_base = self.by_base.get(Path(file_name).name, [])
        return self.by_name.get(file_name) or (same_base[0] if len(same_base) == 1 else None)


def _table_results(table: AnnotationTable, target: CocoTarget, matches: _Matches, iou_type: str,
                   report: ConversionReport) -> list[dict]:
    """The COCO results of one table's scored annotations (the others reported with their place)."""
    if iou_type == "bbox":  # only the boxes: the records' other fields are not made
        rows = coco_rows(table, target.category_ids, report, target.policy)
        shapes = [{"bbox": box} for box in integral_to_int(rows.xywh[rows.order])]
    else:
        shapes = target.table_records(table, Ids(), report, share_input=True)[1]  # as before: scored, then dropped
        rows = coco_selection(table, target.category_ids)
    order, categories = rows.order.tolist(), rows.category[rows.order].tolist()
    images = [matches.image(frame.file_name) for frame in table.frames]
    found = []
    for position in np.argsort(rows.order, kind="stable").tolist():  # task order
        row = order[position]
        own_category, category = matches.categories[categories[position]]
        image, attributes = images[table.frame[row]], _attributes(table.annotations[row])
        problem = _prediction_problem(image, category, attributes)
        result = None if problem else _result_of(shapes[position], attributes, image, category, own_category,
                                                 iou_type)
        if result is None:
            report.note(problem or "prediction without keypoints, not scored by a keypoints evaluation",
                        f"predictions: {table.place(row)}")
        else:
            found.append(result)
    return found


def _attributes(annotation: dict) -> dict:
    """``{key: value}`` of an annotation's attributes, later duplicates winning (as COCO's record has them)."""
    return {attribute["key"]: attribute["value"] for attribute in annotation.get("attributes") or ()}


def _prediction_problem(image: dict | None, category: dict | None, attributes: dict) -> str:
    if image is None:
        return "prediction for an image that is not in the ground truth, skipped"
    if category is None:
        return "prediction of a class that is not in the ground truth, skipped"
    if not _is_score(attributes.get(SCORE)):
        return "prediction without a numeric 'score' attribute, skipped"
    return ""


def _result_of(shape: dict, attributes: dict, image: dict, category: dict, own_category: dict,
               iou_type: str) -> dict | None:
    """The COCO result of one scored prediction, from its COCO record's ``shape`` fields (None when
    it has no geometry of ``iou_type``)."""
    result = {"image_id": image["id"], "category_id": category["id"], "score": attributes[SCORE]}
    if iou_type == "bbox":
        return {**result, "bbox": carried_box(attributes, shape["bbox"])}
    if iou_type == "segm":
        return {**result, "segmentation": _rle(shape["segmentation"], image["height"], image["width"])}
    keypoints = _keypoints(shape.get("keypoints") or [], own_category.get("keypoints") or [],
                           category.get("keypoints") or [])
    return {**result, "keypoints": keypoints} if keypoints else None


def _rle(segmentation: object, height: int, width: int) -> dict:
    """A segmentation as compressed RLE (``counts`` a string), rasterised by pycocotools."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.decode() if isinstance(counts, bytes) else counts}


def _keypoints(values: list, own_names: list, names: list) -> list:
    """``values`` (x, y, v per keypoint of ``own_names``) in the order of ``names``; [] when no
    keypoint is labelled."""
    if not any(values[2::3]):
        return []
    if own_names == names or not own_names:
        return list(values)
    by_name = {name: values[3 * i:3 * i + 3] for i, name in enumerate(own_names)}
    return [value for name in names for value in by_name.get(name, [0, 0, 0])]


# ---------------------------------------------------------------------------------------------
# YOLO predictions with a confidence column


def _yolo_class_names(predictions: str | os.PathLike[str], classes_file: object, gt: object) -> dict[str, str]:
    """The class names of YOLO predictions: ``classes_file``, else ``PRED/classes.txt``, else the
    ground truth's classes file (a YOLO folder's ``classes.txt``)."""
    candidates = [classes_file, Path(predictions) / "classes.txt"]
    if isinstance(gt, (str, os.PathLike)) and Path(gt).is_dir():
        candidates.append(Path(gt) / "classes.txt")
    for candidate in candidates:
        if candidate is not None and Path(candidate).is_file():
            return yolo_classes(candidate)
    raise FormatError(f"{predictions}: YOLO predictions name classes by number: give the classes file "
                      f"(classes_file= / --classes-file, one name per line)")


def yolo_prediction_tasks(folder: str | os.PathLike[str], ground: dict, classes: dict[str, str],
                          report: ConversionReport) -> list[dict]:
    """FastLabel tasks of YOLO label files whose lines end with a confidence, each matched to the
    ground-truth image of the same path without extension (or the same file stem), the confidence
    as the ``score`` attribute. Lines that are not ``class values... conf`` are reported."""
    root = Path(folder)
    by_path = {Path(image["file_name"]).with_suffix("").as_posix(): image for image in ground["images"]}
    by_stem: dict[str, list[dict]] = {}
    for image in ground["images"]:
        by_stem.setdefault(Path(image["file_name"]).stem, []).append(image)
    tasks = []
    for label in sorted(path for path in root.rglob("*.txt") if path.name != "classes.txt"):
        stem = label.relative_to(root).with_suffix("").as_posix()
        same_stem = by_stem.get(label.stem, [])
        image = by_path.get(stem) or (same_stem[0] if len(same_stem) == 1 else None)
        if image is None:
            report.note("prediction file without a ground-truth image of its name, skipped", str(label))
            continue
        try:
            lines = read_text(label, "the predictions' label file").removeprefix("\ufeff").splitlines()
        except FormatError as error:
            report.note("prediction file that cannot be read as text, skipped", str(error))
            continue
        annotations = [made for number, line in enumerate(lines, 1)
                       if (made := _yolo_line(line.split(), image, classes, f"{label}: line {number}", report))]
        tasks.append({"name": image["file_name"], "width": image["width"], "height": image["height"],
                      "annotations": annotations})
    return tasks


def _yolo_line(tokens: list[str], image: dict, classes: dict[str, str], place: str,
               report: ConversionReport) -> dict | None:
    """The scored annotation of one ``class values... conf`` line (None for a blank or bad one)."""
    if not tokens:
        return None
    try:
        values = [float(token) for token in tokens[1:]]
    except ValueError:
        values = []
    kind = line_kind("bbox", len(values) - 1) if values and all(map(math.isfinite, values)) else None
    if tokens[0] not in classes or kind is None:
        why = "class id missing from the classes file" if tokens[0] not in classes else \
            "line that is not a box or polygon followed by a confidence"
        report.note(f"{why}, skipped", place)
        return None
    points, _ = LINE_READERS[kind](values[:-1], image["width"], image["height"])
    return {"type": kind, "value": classes[tokens[0]], "points": points,
            "attributes": [{"key": SCORE, "value": values[-1]}]}


