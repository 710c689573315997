"""labelme JSON: one document per image (labelme 3.x to 6, X-AnyLabeling)."""

from __future__ import annotations

from pathlib import Path

from .. import labelme as module
from ..targets import TargetOptions
from . import Format


def read_labelme(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a folder of labelme documents."""
    return module.labelme_tasks(source, report=report)


def detect_labelme(path: Path) -> float:
    """A folder holding ``.json`` documents."""
    return 0.4 if path.is_dir() and next(path.rglob("*.json"), None) is not None else 0.0


def labelme_target(output_dir, options: TargetOptions) -> module.LabelmeTarget:
    """One document per image, its ``imagePath`` pointing into ``image_dir`` when given."""
    return module.LabelmeTarget(output_dir, image_dir=options.image_dir, indent=options.indent)


FORMAT = Format(name="labelme", summary="labelme JSON", read=read_labelme, detect=detect_labelme,
                target=labelme_target, source_help="labelme folder",
                verbs={"to_labelme": module.to_labelme, "export_labelme": module.export_labelme,
                       "labelme_tasks": module.labelme_tasks, "labelme_to_fastlabel": module.labelme_to_fastlabel})
