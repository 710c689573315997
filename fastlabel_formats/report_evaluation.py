"""The evaluation section of ``report`` (:mod:`fastlabel_formats.report_html`) when it is given
predictions: the numbers of an :class:`~fastlabel_formats.evaluation.EvaluationResult`, its
precision–recall curves at IoU 0.5 and 0.75 as inline SVG (the mean over the classes, and one curve
per class that the page's class filter picks out), the per-class table and what evaluation skipped."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import orjson

from .evaluation import METRICS, EvaluationResult

PR_IOUS = (0.5, 0.75)  # the IoU thresholds with a precision–recall chart
PR_CLASSES = 100  # classes with a curve of their own (the page's most frequent first); the rest are counted
TABLE_CLASSES = 1000  # classes in the per-class table (in the result's order); the rest are counted
PR_WIDTH, PR_HEIGHT = 360, 300  # pixels of one chart
PR_LEFT, PR_TOP, PR_RIGHT, PR_BOTTOM = 40, 10, 12, 34  # margins around the plot area
PLOT_WIDTH, PLOT_HEIGHT = PR_WIDTH - PR_LEFT - PR_RIGHT, PR_HEIGHT - PR_TOP - PR_BOTTOM
NOT_SCORED = -1.0  # pycocotools' value where a class has no ground truth

STYLE = """
table.metrics{border-collapse:collapse;font-size:12px;background:#fff}
table.metrics th,table.metrics td{border:1px solid #ddd;padding:2px 6px;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
.pr-charts{display:flex;flex-wrap:wrap;gap:20px}
polyline.pr-mean{fill:none;stroke:#222;stroke-width:2.5}
polyline.pr-class{fill:none;stroke:#9ab;stroke-width:1;opacity:.6}
body[data-filter]:not([data-filter=""]) polyline.pr-class{stroke:#ff1f5a;stroke-width:2.5;opacity:1}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def pr_point(recall: float, precision: float) -> tuple[float, float]:
    """Where ``(recall, precision)`` sits in a chart, in SVG pixels."""
    return PR_LEFT + recall * PLOT_WIDTH, PR_TOP + (1.0 - precision) * PLOT_HEIGHT


def evaluation_section(result: EvaluationResult, shown: Sequence[str]) -> str:
    """The ``<section id="evaluation">`` of ``result``; ``shown``: the page's classes in its order
    (the first :data:`PR_CLASSES` of them that were scored get their own curve)."""
    scored = [name for name in shown if name in result.per_class and _has_truth(result, name)]
    scored += [name for name in result.classes if name not in scored and _has_truth(result, name)]
    curves, more = scored[:PR_CLASSES], len(scored) - PR_CLASSES
    charts = "".join(_pr_chart(result, iou, curves) for iou in PR_IOUS)
    note = (f'<p class="muted">{more:,} more scored class(es) without a curve of their own (the mean includes '
            f'them)</p>' if more > 0 else "")
    return (f'<section id="evaluation"><h2>Evaluation of the predictions</h2>{_numbers(result)}'
            f'<h3>Precision–recall</h3><p class="muted">pycocotools\' interpolated precision at 101 recall '
            f'steps, all areas, up to {METRICS[_kind(result)][0].max_detections} detections per image: the mean '
            f'over the classes with ground truth in black, each class in grey (the class picked in the filter '
            f'in red)</p>'
            f'<div class="pr-charts">{charts}</div>{note}<h3>Per class</h3>{_table(result)}'
            f'{_skipped(result)}</section>')


def _kind(result: EvaluationResult) -> str:
    return "keypoints" if result.iou_type == "keypoints" else "bbox"


def _has_truth(result: EvaluationResult, name: str) -> bool:
    return bool(result.precision.size) and bool((result.pr_curve(PR_IOUS[0], name)[1] > NOT_SCORED).all())


def _numbers(result: EvaluationResult) -> str:
    counts = [("images", f"{result.counts['images']:,}"), ("labelled objects", f"{result.counts['ground_truth']:,}"),
              ("predictions", f"{result.counts['predictions']:,}")]
    metrics = [(name, _value(value)) for name, value in list(result.metrics.items())[:3]]
    cards = "".join(f'<div class="number"><b>{value}</b>{_e(name)}</div>' for name, value in counts + metrics)
    return (f'<p>{_e(result.iou_type)} evaluation by <b>{_e(result.backend)}</b> (COCO metrics, the numbers of '
            f'pycocotools\' COCOeval)</p><div class="numbers" id="evaluation-numbers">{cards}</div>')


def _value(value: float) -> str:
    return f"{value:.3f}" if value > NOT_SCORED else "–"


def _polyline(recall: np.ndarray, precision: np.ndarray, css: str, name: str | None) -> str:
    """One curve; its exact precision values in ``data-precision`` (recall: the chart's ``data-recall``)."""
    points = " ".join(f"{x:.2f},{y:.2f}" for x, y in map(pr_point, recall.tolist(), precision.tolist()))
    values = _e(orjson.dumps(precision.tolist()).decode())
    if name is None:
        return f'<polyline class="{css}" data-precision="{values}" points="{points}"><title>mean</title></polyline>'
    classes = _e(orjson.dumps([name]).decode())
    return (f'<polyline class="{css}" data-classes="{classes}" data-text="{_e(name)}" data-class="{_e(name)}" '
            f'data-precision="{values}" points="{points}"><title>{_e(name)}</title></polyline>')


def _pr_chart(result: EvaluationResult, iou: float, names: list[str]) -> str:
    """The SVG chart at IoU ``iou``: axes, one curve per class of ``names``, the mean on top."""
    recall, mean = result.pr_curve(iou)
    parts = [_axes(iou)]
    parts += [_polyline(recall, result.pr_curve(iou, name)[1], "pr-class", name) for name in names]
    if (mean > NOT_SCORED).all():
        parts.append(_polyline(recall, mean, "pr-mean", None))
    else:
        parts.append(f'<text x="{PR_LEFT + 10}" y="{PR_TOP + 20}" font-size="12">no ground truth to score</text>')
    recalls = _e(orjson.dumps(recall.tolist()).decode())
    return (f'<svg class="pr-curve" data-iou="{iou}" data-recall="{recalls}" width="{PR_WIDTH}" '
            f'height="{PR_HEIGHT}" role="img"><title>precision–recall at IoU {iou}</title>{"".join(parts)}</svg>')


def _axes(iou: float) -> str:
    """The frame, ticks at 0, 0.5 and 1 on both axes, and the axis names."""
    x0, y0 = pr_point(0.0, 0.0)
    x1, y1 = pr_point(1.0, 1.0)
    parts = [f'<rect x="{x0}" y="{y1}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" fill="#fff" stroke="#999"/>']
    for tick in (0.0, 0.5, 1.0):
        x, y = pr_point(tick, tick)
        parts.append(f'<text x="{x:.1f}" y="{y0 + 12}" font-size="10" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{x0 - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{PR_HEIGHT - 4}" font-size="11" text-anchor="middle">'
                 f'recall (IoU {iou})</text>')
    parts.append(f'<text x="10" y="{(y0 + y1) / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 10 {(y0 + y1) / 2})">precision</text>')
    return "".join(parts)


def _table(result: EvaluationResult) -> str:
    """The metrics overall and per class, each class's row filterable."""
    names = [metric.name for metric in METRICS[_kind(result)]]
    header = "".join(f"<th>{_e(name)}</th>" for name in ["class", *names])

    def cells(values: dict[str, float]) -> str:
        return "".join(f"<td>{_value(values[name])}</td>" for name in names)

    rows = [f"<tr><td><b>all</b></td>{cells(result.metrics)}</tr>"]
    listed = list(result.per_class.items())[:TABLE_CLASSES]
    rows += [f'<tr data-classes="{_e(orjson.dumps([name]).decode())}" data-text="{_e(name)}"><td>{_e(name)}</td>'
             f'{cells(values)}</tr>' for name, values in listed]
    more = len(result.per_class) - len(listed)
    note = f'<p class="muted">… and {more:,} more class(es)</p>' if more > 0 else ""
    return f'<table class="metrics" id="evaluation-table"><tr>{header}</tr>{"".join(rows)}</table>{note}'


def _skipped(result: EvaluationResult) -> str:
    if result.report.ok:
        return ""
    items = "".join(f"<li>{finding.count:,} × {_e(kind)}: {_e('; '.join(finding.examples[:3]))}</li>"
                    for kind, finding in result.report.findings.items())
    return f"<h3>Not scored</h3><ul>{items}</ul>"
