"""COCO: one ``annotations.json`` (instances, keypoints), or the dataset layout
``annotations/instances_<split>.json`` + ``images/<split>/``."""

from __future__ import annotations

from pathlib import Path

from .. import coco as module
from ..targets import TargetOptions, layout_options
from . import Format


def read_coco(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a COCO file."""
    return module.coco_tasks(source, report=report)


def detect_coco(path: Path) -> float:
    """A JSON object whose first 64 KB name ``images`` and ``annotations``."""
    if not path.is_file():
        return 0.0
    with path.open("rb") as stream:
        head = stream.read(1 << 16).lstrip()
    return 0.9 if head.startswith(b"{") and b'"images"' in head and b'"annotations"' in head else 0.0


def coco_target(output_dir, options: TargetOptions) -> module.CocoTarget:
    """One ``annotations.json``, or the ``coco`` dataset layout."""
    return module.CocoTarget(output_dir, annotations=options.annotations, holes=options.holes, indent=options.indent,
                             classes=options.classes, raster=options.raster, **layout_options(options, "coco"))


FORMAT = Format(name="coco", summary="COCO instances / keypoints JSON", read=read_coco, detect=detect_coco,
                target=coco_target, layouts=("coco",), source_help="COCO JSON file",
                verbs={"to_coco": module.to_coco, "export_coco": module.export_coco, "coco_tasks": module.coco_tasks,
                       "coco_to_fastlabel": module.coco_to_fastlabel})
