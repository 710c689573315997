"""One selection policy for every target: which rows of an annotation table it writes, and the report
line for each row it cannot write or writes with a loss (a kind it does not take, no points, a
degenerate box, a value without a class, holes, rotation, attributes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import (
    bbox_points,
    degenerate_boxes,
    has_points,
    keypoint_boxes,
    kind_mask,
    rotations,
    rows_with_holes,
)
from .report import ConversionReport
from .table import AnnotationTable

NOT_REPRESENTABLE = "{kind} annotation not representable in {target}"
WITHOUT_POINTS = "{kind} annotation without points skipped"
WITHOUT_KEYPOINTS = "{kind} annotation without labelled keypoints skipped"
DEGENERATE = "degenerate bbox (zero width or height in whole pixels) skipped"


@dataclass(frozen=True)
class Policy:
    """What a target takes and what it cannot carry. A ``None`` message means "carried"."""

    types: tuple[str, ...]
    keypoint_kinds: tuple[str, ...] = ()  # kinds whose geometry is their labelled keypoints (COCO pose)
    pointless: tuple[str, ...] = ()  # kinds taken without geometry (labelme image flags)
    skip_degenerate: bool = True
    missing_value: str = "value missing from classes, skipped"
    holes: str | None = None  # the report line for dropped holes
    rotation: str | None = None  # the report line for a dropped bbox rotation
    attributes: str | None = None  # the report line for dropped attributes


@dataclass(frozen=True)
class Selected:
    """The rows a policy keeps (``keep``) and the masks it found on the way."""

    keep: np.ndarray
    supported: np.ndarray
    present: np.ndarray
    degenerate: np.ndarray
    has_class: np.ndarray


def select(table: AnnotationTable, policy: Policy, has_class: np.ndarray | None = None) -> Selected:
    """The rows of ``table`` that ``policy`` writes; ``has_class`` marks rows whose value has a class."""
    supported = kind_mask(table, *policy.types)
    present = has_points(table)
    by_keypoints = kind_mask(table, *policy.keypoint_kinds)
    if by_keypoints.any():
        present = np.where(by_keypoints, ~np.isnan(keypoint_boxes(table)[:, 0]), present)
    present = present | kind_mask(table, *policy.pointless)
    degenerate = kind_mask(table, "bbox") & present & degenerate_boxes(bbox_points(table)) if policy.skip_degenerate \
        else np.zeros(len(table), bool)
    has_class = np.ones(len(table), bool) if has_class is None else has_class
    keep = supported & present & ~degenerate & has_class
    return Selected(keep, supported, present, degenerate, has_class)


def report_selection(table: AnnotationTable, policy: Policy, selected: Selected, report: ConversionReport) -> None:
    """The report lines of :func:`select`'s choices (a video frame without the track counts nothing)."""
    counted = selected.present if table.is_video else np.ones(len(table), bool)
    table.note(report, ~selected.supported & counted, NOT_REPRESENTABLE)
    by_keypoints = kind_mask(table, *policy.keypoint_kinds)
    if not table.is_video:
        table.note(report, selected.supported & ~selected.present & ~by_keypoints, WITHOUT_POINTS)
    table.note(report, selected.supported & ~selected.present & by_keypoints, WITHOUT_KEYPOINTS)
    table.note(report, selected.supported & selected.degenerate, DEGENERATE)
    table.note(report, selected.supported & selected.present & ~selected.degenerate & ~selected.has_class,
               policy.missing_value)
    keep = selected.keep
    if policy.holes:
        table.note(report, keep & rows_with_holes(table), policy.holes)
    if policy.rotation:
        table.note(report, keep & kind_mask(table, "bbox") & (rotations(table) != 0), policy.rotation)
    if policy.attributes:
        with_attributes = np.fromiter((bool(a.get("attributes")) for a in table.annotations), bool, len(table))
        table.note(report, keep & with_attributes, policy.attributes)


def apply_policy(table: AnnotationTable, policy: Policy, report: ConversionReport,
                 has_class: np.ndarray | None = None) -> np.ndarray:
    """The rows ``policy`` keeps, every skip and loss counted in ``report``."""
    selected = select(table, policy, has_class)
    report_selection(table, policy, selected, report)
    return selected.keep
