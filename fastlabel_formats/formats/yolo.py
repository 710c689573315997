"""YOLO text labels: ``annotations/`` + ``classes.txt``, or Ultralytics' ``images/``, ``labels/``
and ``data.yaml`` (boxes, segmentation polygons, oriented boxes, pose)."""

from __future__ import annotations

from pathlib import Path

from .. import yolo as module
from ..targets import TargetOptions, layout_options
from . import Format

CLASS_FILES = ("classes.txt", "obj.names", "data.yaml")


def read_yolo(source, *, report=None, images=None, classes_file=None, project_type="bbox", **options) -> list[dict]:
    """The tasks of a YOLO folder (with ``classes_file``, default ``SRC/classes.txt``) or of an
    Ultralytics ``data.yaml`` (a folder holding only a ``data.yaml`` is read by it)."""
    path = Path(source)
    if path.is_dir() and not (classes_file or (path / "classes.txt").is_file()) and (path / "data.yaml").is_file():
        path = path / "data.yaml"  # a downloaded Ultralytics / Roboflow dataset
    if path.suffix.lower() in (".yaml", ".yml"):
        return module.yolo_tasks(path, project_type=project_type, report=report)
    return module.yolo_tasks(classes_file or path / "classes.txt", path, project_type, images=images, report=report)


def detect_yolo(path: Path) -> float:
    """A ``data.yaml``, or a folder holding a classes file."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return 1.0
    return 0.9 if path.is_dir() and any((path / name).is_file() for name in CLASS_FILES) else 0.0


def yolo_target(output_dir, options: TargetOptions) -> module.YoloTarget:
    """``annotations/`` + ``classes.txt``, or the ``ultralytics`` layout."""
    layout = {"images": options.image_dir, **layout_options(options, "ultralytics")}
    return module.YoloTarget(output_dir, project_type=options.project_type, classes=options.classes, obb=options.obb,
                             annotations=options.annotations, **layout)


FORMAT = Format(name="yolo", summary="YOLO / Ultralytics text labels", read=read_yolo, detect=detect_yolo,
                target=yolo_target, layouts=("yolo", "ultralytics"), source_help="YOLO folder or data.yaml",
                verbs={"to_yolo": module.to_yolo, "export_yolo": module.export_yolo, "yolo_tasks": module.yolo_tasks,
                       "yolo_to_fastlabel": module.yolo_to_fastlabel})
