"""fastlabel_formats: fast, offline, exact converters for FastLabel task JSON.

One module per format, each with the same verbs: ``to_<fmt>`` (objects, no files) and
``export_<fmt>`` (files, returns a :class:`ConversionReport`).
"""

from .checks import stats, validate
from .coco import coco_tasks, coco_to_fastlabel, export_coco, to_coco
from .draw import draw_annotations, export_image_with_annotations
from .errors import FormatError
from .evaluate import EvaluationResult, evaluate
from .integrate import (
    integrate,
    integrate_audio,
    integrate_image_tiles,
    integrate_video,
    split_audio_task,
    split_image_task,
    split_video_task,
)
from .labelme import export_labelme, labelme_tasks, labelme_to_fastlabel, to_labelme
from .masks import mask_to_polygon, mask_to_segmentation
from .palette import COLOR_PALETTE
from .pascalvoc import export_pascalvoc, pascalvoc_tasks, pascalvoc_to_fastlabel, to_pascalvoc
from .render import (
    export_instance_segmentation,
    export_semantic_segmentation,
    render_instance_mask,
    render_semantic_mask,
)
from .repair import repair
from .report import ConversionReport
from .report_html import report
from .source import task_source
from .table import AnnotationTable
from .targets import TargetOptions, export_targets
from .tasks import load_tasks
from .yolo import export_yolo, to_yolo, yolo_tasks, yolo_to_fastlabel

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
    """The verbs of every registered format (``export_<fmt>``, ``to_<fmt>``, ``<fmt>_tasks``, …),
    looked up in the format registry (:mod:`fastlabel_formats.formats`)."""
    from .formats import loaded

    for record in loaded().values():
        if name in record.verbs:
            return record.verbs[name]
    raise AttributeError(f"module 'fastlabel_formats' has no attribute {name!r}")


def __dir__() -> list[str]:
    from .formats import loaded

    return sorted({*globals(), *(verb for record in loaded().values() for verb in record.verbs)})
