"""Offline evaluation of predictions against labels: pycocotools' COCO metrics (AP, AP50, AP75,
AP small/medium/large, AR at 1/10/100 detections and by size; for keypoints the ten OKS metrics),
overall and per class, with the numbers pycocotools' ``COCOeval`` gives.

The ground truth is any format the package reads (a COCO file is used as it is, so that a COCO
results file's ids keep their meaning; anything else becomes COCO through :func:`to_coco`). The
predictions are a COCO results list (``[{image_id, category_id, bbox | segmentation | keypoints,
score}]``, passed to the backend unchanged), tasks of any readable format whose annotations carry
the attribute ``{"key": "score", "value": s}``, or YOLO label files with a confidence column
(``class x y w h conf`` / ``class x1 y1 ... xn yn conf``, what Ultralytics' ``save_conf`` writes).
Predictions name their image by file name and their class by name; what cannot be matched or has no
score is skipped and reported in the result's ``report`` with its place.

The scoring engine is ``hotcoco`` or ``faster-coco-eval`` when installed, else pycocotools; each is
run on the same COCO documents and the result names the one used.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson

from .errors import FormatError
from .evaluate_inputs import SCORE as SCORE
from .evaluate_inputs import check_ground_truth, detections, ground_truth
from .report import ConversionReport

IOU_TYPES = ("bbox", "segm", "keypoints")
BACKENDS = ("hotcoco", "faster-coco-eval", "pycocotools")  # the order "auto" tries them in (fastest first)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)  # pycocotools'
# pycocotools' sigmas of COCO's 17 person keypoints; other keypoint lists get 1/n each (as Ultralytics does)
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
AREAS = {"bbox": ("all", "small", "medium", "large"), "keypoints": ("all", "medium", "large")}
MAX_DETECTIONS = {"bbox": (1, 10, 100), "keypoints": (20,)}


@dataclass(frozen=True)
class Metric:
    """One number of pycocotools' summary: AP or AR, at one IoU threshold (None: 0.50:0.95), one
    area range and one detections cap."""

    name: str
    precision: bool
    iou: float | None
    area: str
    max_detections: int


METRICS = {
    "bbox": tuple(Metric(*row) for row in (
        ("AP", True, None, "all", 100), ("AP50", True, 0.5, "all", 100), ("AP75", True, 0.75, "all", 100),
        ("APs", True, None, "small", 100), ("APm", True, None, "medium", 100), ("APl", True, None, "large", 100),
        ("AR1", False, None, "all", 1), ("AR10", False, None, "all", 10), ("AR100", False, None, "all", 100),
        ("ARs", False, None, "small", 100), ("ARm", False, None, "medium", 100), ("ARl", False, None, "large", 100))),
    "keypoints": tuple(Metric(*row) for row in (
        ("AP", True, None, "all", 20), ("AP50", True, 0.5, "all", 20), ("AP75", True, 0.75, "all", 20),
        ("APm", True, None, "medium", 20), ("APl", True, None, "large", 20),
        ("AR", False, None, "all", 20), ("AR50", False, 0.5, "all", 20), ("AR75", False, 0.75, "all", 20),
        ("ARm", False, None, "medium", 20), ("ARl", False, None, "large", 20))),
}


def _kind(iou_type: str) -> str:
    """The metric table of ``iou_type`` (segm shares bbox's)."""
    return "keypoints" if iou_type == "keypoints" else "bbox"


# ---------------------------------------------------------------------------------------------
# The result


@dataclass
class EvaluationResult:
    """The COCO metrics of one evaluation. ``metrics`` and each class's entry of ``per_class`` map
    a metric name (``AP``, ``AP50``, ...) to its value; -1.0 where pycocotools gives -1 (no ground
    truth in that range). ``precision`` is pycocotools' precision array at all areas and the largest
    detections cap, ``[iou threshold, recall threshold, class]``."""

    iou_type: str
    backend: str
    metrics: dict[str, float]
    per_class: dict[str, dict[str, float]]
    counts: dict[str, int]
    report: ConversionReport
    precision: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0, 0)))
    classes: list[str] = field(default_factory=list)

    def pr_curve(self, iou: float = 0.5, category: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(recall, precision)`` at IoU ``iou`` for one class, or averaged over the classes that
        have ground truth (precision -1 where pycocotools has none)."""
        index = int(np.argmin(np.abs(IOU_THRESHOLDS - iou)))
        curves = self.precision[index]
        if category is not None:
            curve = curves[:, self.classes.index(category)]
        else:
            valid = curves[:, (curves > -1).all(axis=0)]
            curve = valid.mean(axis=1) if valid.size else np.full(curves.shape[0], -1.0)
        return np.linspace(0.0, 1.0, curves.shape[0]), curve

    def to_dict(self) -> dict:
        """The result as plain JSON values (the report's findings with their first places)."""
        findings = [{"kind": f.kind, "count": f.count, "examples": f.examples} for f in self.report.findings.values()]
        return {"iou_type": self.iou_type, "backend": self.backend, "metrics": self.metrics,
                "per_class": self.per_class, "counts": self.counts, "findings": findings}

    def to_json(self, indent: bool = True) -> str:
        """:meth:`to_dict` as JSON text."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 if indent else 0).decode()

    def summary(self) -> str:
        """A text table: the overall metrics, then one row per class."""
        names = [metric.name for metric in METRICS[_kind(self.iou_type)]]
        width = max([5, *map(len, self.per_class)])
        head = (f"{self.iou_type} evaluation by {self.backend}: {self.counts['images']:,} image(s), "
                f"{self.counts['ground_truth']:,} labelled object(s), {self.counts['predictions']:,} prediction(s)")
        header = f"{'class':<{width}} " + " ".join(f"{name:>6}" for name in names)
        rows = [_row("all", self.metrics, names, width)]
        rows += [_row(name, values, names, width) for name, values in self.per_class.items()]
        rule = "-" * len(header)
        lines = [head, rule, header, rule, rows[0], rule, *rows[1:]]
        if not self.report.ok:
            lines += ["", self.report.summary()]
        return "\n".join(lines)


def _row(label: str, values: dict[str, float], names: list[str], width: int) -> str:
    cells = " ".join(f"{values[name]:>6.3f}" if values[name] > -1 else f"{'-':>6}" for name in names)
    return f"{label:<{width}} {cells}"


# ---------------------------------------------------------------------------------------------
# The entry point


def evaluate(gt: object, predictions: object, *, iou_type: str = "bbox", gt_format: str = "auto",
             pred_format: str = "auto", backend: str = "auto", annotations: Sequence[dict] | None = None,
             classes_file: str | os.PathLike[str] | None = None, images: str | os.PathLike[str] | None = None,
             kpt_oks_sigmas: Sequence[float] | None = None,
             report: ConversionReport | None = None) -> EvaluationResult:
    """The COCO metrics of ``predictions`` against ``gt`` (paths in any readable format, a COCO
    dict, a list of FastLabel tasks or, for predictions, a COCO results list).

    ``iou_type``: ``bbox``, ``segm`` or ``keypoints``. ``backend``: ``auto`` (the fastest installed),
    ``hotcoco``, ``faster-coco-eval`` or ``pycocotools``. ``annotations``: the project's annotation
    definitions (categories and keypoint names of a FastLabel ground truth). ``classes_file``: the
    class names of YOLO predictions (default ``PRED/classes.txt``, else the ground truth's).
    ``images``: the images' folder, for sizes of formats that need them. ``kpt_oks_sigmas``: one
    per keypoint (default COCO's for 17 keypoints, else 1/n each)."""
    if iou_type not in IOU_TYPES:
        raise FormatError(f"iou_type must be one of {', '.join(IOU_TYPES)}, got {iou_type!r}")
    name, engine = backend_engine(backend)
    report = report or ConversionReport("evaluate")
    truth_report, predictions_report = ConversionReport("COCO"), ConversionReport("COCO")
    ground = ground_truth(gt, gt_format, annotations=annotations, images=images, report=truth_report)
    check_ground_truth(ground, iou_type, "gt" if isinstance(gt, dict) else str(gt))
    options = {"classes_file": classes_file, "images": images, "annotations": annotations, "gt": gt}
    found = detections(predictions, pred_format, ground, iou_type, report=predictions_report, **options)
    for side, part in (("ground truth", truth_report), ("predictions", predictions_report)):
        for finding in part.findings.values():
            report.add(f"{side}: {finding.kind}", finding.count, finding.examples)
    sigmas = _sigmas(ground, kpt_oks_sigmas) if iou_type == "keypoints" else None
    precision, recall = engine(ground, found, iou_type, sigmas)
    return _result(ground, found, iou_type, name, precision, recall, report)


def _result(ground: dict, found: list[dict], iou_type: str, backend: str, precision: np.ndarray,
            recall: np.ndarray, report: ConversionReport) -> EvaluationResult:
    """The metrics of pycocotools' precision ``[T, R, K, A, M]`` and recall ``[T, K, A, M]`` arrays."""
    categories = sorted(ground["categories"], key=lambda category: category["id"])
    metrics = METRICS[_kind(iou_type)]
    overall = {metric.name: _value(precision, recall, metric, iou_type, slice(None)) for metric in metrics}
    per_class = {name: {metric.name: _value(precision, recall, metric, iou_type, slice(k, k + 1)) for metric in metrics}
                 for k, name in enumerate(_class_names(categories))}
    counts = {"images": len(ground["images"]), "ground_truth": len(ground["annotations"]), "predictions": len(found)}
    return EvaluationResult(iou_type, backend, overall, per_class, counts, report,
                            precision[:, :, :, 0, -1].copy(), list(per_class))


def _class_names(categories: list[dict]) -> list[str]:
    """Each category's name, with its id where another category has the same name."""
    names = [str(category.get("name", category["id"])) for category in categories]
    return [f"{name} (id {category['id']})" if names.count(name) > 1 else name
            for name, category in zip(names, categories)]


def _value(precision: np.ndarray, recall: np.ndarray, metric: Metric, iou_type: str, classes: slice) -> float:
    """One summary number, as pycocotools' ``COCOeval._summarize`` computes it."""
    area = AREAS[_kind(iou_type)].index(metric.area)
    cap = MAX_DETECTIONS[_kind(iou_type)].index(metric.max_detections)
    values = precision[:, :, classes, area, cap] if metric.precision else recall[:, classes, area, cap]
    if metric.iou is not None:
        values = values[np.where(metric.iou == IOU_THRESHOLDS)[0]]
    kept = values[values > -1]
    return float(np.mean(kept)) if kept.size else -1.0


# ---------------------------------------------------------------------------------------------
# The engines


def _sigmas(ground: dict, given: Sequence[float] | None) -> np.ndarray:
    """The OKS sigmas: ``given``, else COCO's for 17 keypoints, else 1/n each; FormatError when the
    keypoint categories do not all have the same number of keypoints (one sigma list scores all)."""
    counts = {len(category.get("keypoints") or []) for category in ground["categories"]} - {0}
    if len(counts) > 1:
        raise FormatError(f"keypoint categories with different numbers of keypoints ({sorted(counts)}): "
                          f"evaluate one kind of pose at a time")
    count = counts.pop() if counts else 17
    if given is not None:
        if len(given) != count:
            raise FormatError(f"kpt_oks_sigmas has {len(given)} value(s) for {count} keypoints")
        return np.asarray(given, np.float64)
    return COCO_SIGMAS if count == 17 else np.ones(count) / count


Engine = Callable[[dict, list, str, "np.ndarray | None"], tuple[np.ndarray, np.ndarray]]


def backend_engine(backend: str = "auto") -> tuple[str, Engine]:
    """``(name, engine)`` of ``backend`` (``auto``: the first of :data:`BACKENDS` installed);
    FormatError when the one asked for is not installed."""
    if backend not in ("auto", *BACKENDS):
        raise FormatError(f"backend must be one of auto, {', '.join(BACKENDS)}; got {backend!r}")
    for name in BACKENDS if backend == "auto" else (backend,):
        module = _MODULES[name]
        if importlib.util.find_spec(module) is not None:
            return name, _ENGINES[name]
    raise FormatError(f"the {backend} backend is not installed (pip install {backend})")


def _copy(value: object) -> object:
    """A deep copy (the engines write into the documents they are given)."""
    return orjson.loads(orjson.dumps(value))


def _detections_document(ground: dict) -> dict:
    """An empty results document (loadRes cannot take an empty list)."""
    return {"images": ground["images"], "categories": ground["categories"], "annotations": []}


def _scored(evaluator: object, sigmas: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if sigmas is not None:
        evaluator.params.kpt_oks_sigmas = sigmas
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    return np.asarray(evaluator.eval["precision"]), np.asarray(evaluator.eval["recall"])


def _pycocotools(ground: dict, found: list, iou_type: str, sigmas: np.ndarray | None) -> tuple:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def coco(document: dict) -> COCO:
        made = COCO()
        made.dataset = document
        with contextlib.redirect_stdout(io.StringIO()):
            made.createIndex()
        return made

    truth = coco(_copy(ground))
    with contextlib.redirect_stdout(io.StringIO()):
        predicted = truth.loadRes(_copy(found)) if found else coco(_copy(_detections_document(ground)))
    return _scored(COCOeval(truth, predicted, iou_type), sigmas)


def _faster_coco_eval(ground: dict, found: list, iou_type: str, sigmas: np.ndarray | None) -> tuple:
    from faster_coco_eval import COCO, COCOeval_faster

    truth = COCO(_copy(ground))
    predicted = truth.loadRes(_copy(found)) if found else COCO(_copy(_detections_document(ground)))
    return _scored(COCOeval_faster(truth, predicted, iou_type), sigmas)


def _hotcoco(ground: dict, found: list, iou_type: str, sigmas: np.ndarray | None) -> tuple:
    import hotcoco

    # hotcoco reads the documents into its own structures and leaves them as they were
    truth = hotcoco.COCO(ground)
    predicted = truth.loadRes(found) if found else hotcoco.COCO(_detections_document(ground))
    evaluator = hotcoco.COCOeval(truth, predicted, iou_type)
    if sigmas is not None:
        evaluator.params.kpt_oks_sigmas = [float(s) for s in sigmas]
    return _scored(evaluator, None)


_MODULES = {"faster-coco-eval": "faster_coco_eval", "hotcoco": "hotcoco", "pycocotools": "pycocotools"}
_ENGINES: dict[str, Engine] = {"faster-coco-eval": _faster_coco_eval, "hotcoco": _hotcoco,
                               "pycocotools": _pycocotools}


# ---------------------------------------------------------------------------------------------
# The command line


def cli_evaluate(args: argparse.Namespace) -> int:
    """``fastlabel-formats evaluate GT PRED``: the summary table (or ``--json``) on stdout."""
    result = evaluate(args.gt, args.pred, iou_type=args.iou_type, gt_format=args.gt_from, pred_format=args.pred_from,
                      backend=getattr(args, "backend", "auto"), classes_file=getattr(args, "classes_file", None),
                      images=getattr(args, "images", None))
    sys.stdout.write((result.to_json() if args.json else result.summary()) + "\n")
    return 0
