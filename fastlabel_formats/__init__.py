"""fastlabel_formats: fast, offline, exact converters for FastLabel task JSON.

One module per format, each with the same verbs: ``to_<fmt>`` (objects, no files) and
``export_<fmt>`` (files, returns a :class:`ConversionReport`).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

from . import report as _report_module  # noqa: F401 (loaded first: ``report`` is the HTML report function)
from .integrate import (
    integrate,
    integrate_audio,
    integrate_image_tiles,
    integrate_video,
    split_audio_task,
    split_image_task,
    split_video_task,
)
from .repair import repair

if TYPE_CHECKING:  # the names below are imported when first used (a worker process starts faster)
    from .checks import stats, validate
    from .coco import coco_tasks, coco_to_fastlabel, export_coco, to_coco
    from .draw import draw_annotations, export_image_with_annotations
    from .errors import FormatError
    from .evaluation import EvaluationResult, evaluate
    from .labelme import export_labelme, labelme_tasks, labelme_to_fastlabel, to_labelme
    from .masks import mask_to_polygon, mask_to_segmentation
    from .palette import COLOR_PALETTE
    from .pascalvoc import export_pascalvoc, to_pascalvoc
    from .pascalvoc_import import pascalvoc_tasks, pascalvoc_to_fastlabel
    from .render import (
        export_instance_segmentation,
        export_semantic_segmentation,
        render_instance_mask,
        render_semantic_mask,
    )
    from .report import ConversionReport
    from .report_html import report
    from .source import task_source
    from .table import AnnotationTable
    from .targets import TargetOptions, export_targets
    from .tasks import load_tasks
    from .yolo import export_yolo, to_yolo, yolo_tasks, yolo_to_fastlabel

# public name -> the module that defines it, imported on first use
_LAZY = {
    "AnnotationTable": "table",
    "coco_tasks": "coco",
    "coco_to_fastlabel": "coco",
    "COLOR_PALETTE": "palette",
    "ConversionReport": "report",
    "draw_annotations": "draw",
    "evaluate": "evaluation",
    "EvaluationResult": "evaluation",
    "export_coco": "coco",
    "export_image_with_annotations": "draw",
    "export_instance_segmentation": "render",
    "export_labelme": "labelme",
    "export_pascalvoc": "pascalvoc",
    "export_semantic_segmentation": "render",
    "export_targets": "targets",
    "export_yolo": "yolo",
    "FormatError": "errors",
    "labelme_tasks": "labelme",
    "labelme_to_fastlabel": "labelme",
    "load_tasks": "tasks",
    "mask_to_polygon": "masks",
    "mask_to_segmentation": "masks",
    "pascalvoc_tasks": "pascalvoc_import",
    "pascalvoc_to_fastlabel": "pascalvoc_import",
    "render_instance_mask": "render",
    "render_semantic_mask": "render",
    "report": "report_html",
    "stats": "checks",
    "TargetOptions": "targets",
    "task_source": "source",
    "to_coco": "coco",
    "to_labelme": "labelme",
    "to_pascalvoc": "pascalvoc",
    "to_yolo": "yolo",
    "validate": "checks",
    "yolo_tasks": "yolo",
    "yolo_to_fastlabel": "yolo",
}
globals().pop("report", None)  # the submodule's binding: ``report`` is report_html.report, looked up lazily

__all__ = [
    "AnnotationTable",
    "COLOR_PALETTE",
    "TargetOptions",
    "ConversionReport",
    "EvaluationResult",
    "evaluate",
    "FormatError",
    "coco_tasks",
    "coco_to_fastlabel",
    "draw_annotations",
    "export_coco",
    "export_image_with_annotations",
    "export_instance_segmentation",
    "export_semantic_segmentation",
    "export_targets",
    "export_labelme",
    "export_pascalvoc",
    "export_yolo",
    "integrate",
    "integrate_audio",
    "integrate_image_tiles",
    "integrate_video",
    "labelme_tasks",
    "labelme_to_fastlabel",
    "load_tasks",
    "mask_to_polygon",
    "mask_to_segmentation",
    "pascalvoc_tasks",
    "pascalvoc_to_fastlabel",
    "render_instance_mask",
    "render_semantic_mask",
    "repair",
    "report",
    "split_audio_task",
    "split_image_task",
    "split_video_task",
    "task_source",
    "to_coco",
    "to_labelme",
    "to_pascalvoc",
    "to_yolo",
    "stats",
    "validate",
    "yolo_tasks",
    "yolo_to_fastlabel",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """The names of :data:`_LAZY`, imported on first use, and the verbs of every registered format
    (``export_<fmt>``, ``to_<fmt>``, ``<fmt>_tasks``, …), looked up in the format registry
    (:mod:`fastlabel_formats.formats`)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a submodule not imported yet
        raise AttributeError(name)
    from .formats import loaded

    for record in loaded().values():
        if name in record.verbs:
            return record.verbs[name]
    raise AttributeError(f"module 'fastlabel_formats' has no attribute {name!r}")


def __dir__() -> list[str]:
    from .formats import loaded

    return sorted({*globals(), *_LAZY, *(verb for record in loaded().values() for verb in record.verbs)})
