"""The official SDK's rows of an annotation table: which rows its COCO export keeps, their category ids
and its order (per image by category, then area, ties in row order) — the order of the COCO records
and of the YOLO lines alike — with the numbers its records carry (boxes, areas, ``[x, y, w, h]``),
each computed once per table and only when a writer asks for it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .categories import CLASSED_TYPES
from .columns import (
    bbox_points,
    keypoint_boxes,
    kind_mask,
    rotations,
    row_kinds,
    value_lookup,
    vertex_bounds,
)
from .geometry import box_corners, corners_to_xywh, outer_area_sums, python_round
from .report import ConversionReport
from .selection import Policy, Selected, report_selection, select
from .table import AnnotationTable, derived_column

SDK_TYPES = CLASSED_TYPES
SDK_GEOMETRY = ("bbox", "polygon", "segmentation")
SDK_POLICY = Policy(SDK_TYPES, keypoint_kinds=("pose_estimation",),
                    missing_value="value missing from the annotation definitions, skipped")


@dataclass(frozen=True)
class SdkRows:
    """The rows the official SDK keeps, in its order (``order``), every row's category id (0: none)
    and the selection's masks."""

    order: np.ndarray
    category: np.ndarray
    selected: Selected


@dataclass(frozen=True)
class CocoRows:
    """The kept rows of a table in COCO order, with their category ids, areas and boxes."""

    order: np.ndarray
    category: np.ndarray
    area: np.ndarray
    xywh: np.ndarray
    boxes: np.ndarray
    kinds: np.ndarray
    selected: Selected


def sdk_selection(table: AnnotationTable, category_ids: dict) -> SdkRows:
    """The rows the official SDK keeps, in its order (cached in the table)."""
    key = f"sdk_selection {sorted(category_ids.items())}"
    return table.cached(key, lambda table: _sdk_selection(table, category_ids))


def _sdk_selection(table: AnnotationTable, category_ids: dict) -> SdkRows:
    category = value_lookup(table, category_ids, 0)
    selected = select(table, SDK_POLICY, category > 0)
    kept = np.flatnonzero(selected.keep)  # ordered among themselves: the order of all rows, filtered
    order = kept[coco_order(table.frame[kept], category[kept], sdk_areas(table)[kept])]
    return SdkRows(order, category, selected)


def sdk_rows(table: AnnotationTable, category_ids: dict, report: ConversionReport,
             policy: Policy | None = None) -> SdkRows:
    """:func:`sdk_selection`, the skipped rows (and losses of ``policy``) counted in ``report``."""
    rows = sdk_selection(table, category_ids)
    report_selection(table, policy or SDK_POLICY, rows.selected, report)
    return rows


def coco_selection(table: AnnotationTable, category_ids: dict) -> CocoRows:
    """The rows COCO keeps, measured and in the official SDK's order."""
    return measured(table, sdk_selection(table, category_ids))


def coco_rows(table: AnnotationTable, category_ids: dict, report: ConversionReport,
              policy: Policy | None = None) -> CocoRows:
    """:func:`coco_selection`, the skipped rows (and losses of ``policy``) counted in ``report``."""
    return measured(table, sdk_rows(table, category_ids, report, policy))


def measured(table: AnnotationTable, rows: SdkRows) -> CocoRows:
    """``rows`` with every row's area, ``[x, y, w, h]``, box and kind."""
    return CocoRows(rows.order, rows.category, sdk_areas(table), sdk_xywh(table), coco_boxes(table), row_kinds(table),
                    rows.selected)


def coco_record_count(table: AnnotationTable, values: set | None) -> int:
    """How many COCO records ``table`` gives (the rule of :func:`sdk_selection`); ``values``: the
    values that have a category (None: all)."""
    has_class = None if values is None else value_lookup(table, dict.fromkeys(values, 1), 0) > 0
    return int(np.count_nonzero(select(table, SDK_POLICY, has_class).keep))


def coco_order(frame: np.ndarray, category: np.ndarray, area: np.ndarray) -> np.ndarray:
    """``np.lexsort((area, category, frame))`` (rows by frame, then category, then area, ties in row
    order): sorted by area, then stably by frame and category as one integer key (a 16-bit one, which
    numpy sorts by radix, when it fits)."""
    count = len(area)
    if not count or min(category.min(), frame.min()) < 0 or (int(frame.max()) + 1) * (int(category.max()) + 1) >= 2**62:
        return np.lexsort((area, category, frame))
    by_area = np.argsort(area, kind="stable")
    key = frame[by_area].astype(np.int64) * (int(category.max()) + 1) + category[by_area]
    if int(key.max()) < 2**16:
        key = key.astype(np.uint16)
    return by_area[np.argsort(key, kind="stable")]


@derived_column
def coco_boxes(table: AnnotationTable) -> np.ndarray:
    """``(n, 4)`` x1, y1, x2, y2 of what COCO writes as a box: a bbox's corners as given, the
    enclosing box of a pose's labelled keypoints; NaN for other rows."""
    boxes = bbox_points(table)
    if not kind_mask(table, "pose_estimation").any():
        return boxes
    pose = ~np.isnan(keypoint_boxes(table)[:, 0])
    return np.where(pose[:, None], keypoint_boxes(table), boxes) if pose.any() else boxes


@derived_column
def sdk_areas(table: AnnotationTable) -> np.ndarray:
    """:func:`coco_areas` of every row with the table's own kinds and boxes (cached: what COCO and YOLO use)."""
    return box_or_ring_areas(table, kind_mask(table, "polygon", "segmentation"), coco_boxes(table))


@derived_column
def sdk_xywh(table: AnnotationTable) -> np.ndarray:
    """:func:`coco_xywh` of every row with the table's own kinds and boxes (cached: what COCO and YOLO use)."""
    return enclosing_xywh(table, kind_mask(table, "bbox"), kind_mask(table, "pose_estimation"), coco_boxes(table))


def coco_areas(table: AnnotationTable, kinds: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """bbox and pose box: |(x1−x2)·(y1−y2)| (never negative); polygon/segmentation: outer shoelace areas; else 0
    (of rows of the given ``kinds`` and ``boxes``: for a writer with boxes of its own, as COCO results)."""
    return box_or_ring_areas(table, (kinds == "polygon") | (kinds == "segmentation"), boxes)


def box_or_ring_areas(table: AnnotationTable, shaped: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The area of each row with a box (``boxes``), else of its outer rings where ``shaped``, else 0."""
    area = np.where(shaped, outer_area_sums(table.rings), 0.0) if shaped.any() else np.zeros(len(shaped))
    box_rows = ~np.isnan(boxes[:, 0])
    area[box_rows] = np.abs((boxes[box_rows, 0] - boxes[box_rows, 2]) * (boxes[box_rows, 1] - boxes[box_rows, 3]))
    return area


def coco_xywh(table: AnnotationTable, kinds: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(n, 4)`` COCO ``[x, y, w, h]``: rounded vertex bounds, the enclosing box of a rotated
    bbox (rotation applied) or of a pose's labelled keypoints; NaN for rows without points (of rows
    of the given ``kinds`` and ``boxes``: for a writer with boxes of its own; else :func:`sdk_xywh`)."""
    return enclosing_xywh(table, kinds == "bbox", kinds == "pose_estimation", boxes)


def enclosing_xywh(table: AnnotationTable, is_box: np.ndarray, pose: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """:func:`coco_xywh` of the rows, ``is_box`` and ``pose`` marking the bbox and pose rows."""
    bounds = vertex_bounds(table)
    bounds = np.where(pose[:, None], python_round(boxes), bounds) if pose.any() else bounds
    xywh = np.concatenate([bounds[:, :2], bounds[:, 2:] - bounds[:, :2]], axis=1)
    angle = rotations(table)
    if not angle.any():
        return xywh
    rotated = is_box & (angle != 0) & ~np.isnan(boxes[:, 0])
    if rotated.any():
        xywh[rotated] = python_round(corners_to_xywh(box_corners(boxes[rotated], angle[rotated])))
    return xywh
