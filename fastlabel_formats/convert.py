"""Any format to any format, always through FastLabel tasks (the hub)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson

from .coco import coco_tasks
from .errors import FormatError
from .files import write_atomic
from .labelme import labelme_tasks
from .pascalvoc import pascalvoc_tasks
from .report import ConversionReport
from .targets import TargetOptions, export_targets, target_name
from .tasks import load_tasks
from .yolo import yolo_tasks
from .yolo_layout import image_size

SOURCES = ("fastlabel", "coco", "yolo", "voc", "labelme")
TARGET_FORMATS = ("fastlabel", "coco", "yolo", "voc", "labelme", "semantic", "instance")


def read_tasks(source: str | os.PathLike[str], source_format: str, *, classes_file: str | None = None,
               images: str | os.PathLike[str] | None = None, project_type: str = "bbox",
               report: ConversionReport | None = None) -> list[dict]:
    """FastLabel tasks read from ``source`` in ``source_format``; tasks without a size get it from
    ``images/<task name>`` when that folder is given (YOLO: the images its labels belong to).
    ``project_type`` is YOLO's (``bbox``, ``segmentation`` or ``obb``); a YOLO ``source`` may be a
    folder (with ``classes_file``, default ``SRC/classes.txt``) or an Ultralytics ``data.yaml``."""
    source_format = detect_format(source) if source_format == "auto" else source_format
    report = report or ConversionReport(f"{source_format} import")
    readers: dict[str, Callable[[], list[dict]]] = {
        "fastlabel": lambda: list(load_tasks(source)[0]),
        "coco": lambda: coco_tasks(source, report=report),
        "yolo": lambda: _yolo_source(source, classes_file, images, project_type, report),
        "voc": lambda: pascalvoc_tasks(source, report=report),
        "labelme": lambda: labelme_tasks(source, report=report),
    }
    if source_format not in readers:
        raise FormatError(f"unknown source format {source_format!r}; choose from {', '.join(SOURCES)}")
    tasks = readers[source_format]()
    tasks = _sized(tasks, Path(images), report) if images is not None else tasks
    check_not_empty(tasks, source, source_format, report)
    return tasks


def check_not_empty(tasks: list[dict], source: str | os.PathLike[str], source_format: str,
                    report: ConversionReport) -> None:
    """FormatError when ``source`` read as ``source_format`` gave no image, or gave images whose
    every annotation was skipped: a wrong ``--from``, a missing ``--images`` or ``--project-type``."""
    skipped = sum(finding.count for finding in report.findings.values())
    if tasks and (skipped == 0 or any(task.get("annotations") for task in tasks)):
        return
    what = "no image" if not tasks else f"{len(tasks):,} image(s) but every annotation was skipped"
    findings = "; ".join(f"{finding.count:,} × {finding.kind}" for finding in list(report.findings.values())[:3])
    raise FormatError(f"{source}: read as {source_format}, it gave {what}" + (f" ({findings})" if findings else "")
                      + _hint(source, source_format))


def _hint(source: str | os.PathLike[str], source_format: str) -> str:
    """What the user likely has to give: another --from, --images or --project-type."""
    try:
        detected = detect_format(source)
    except (FormatError, OSError):
        detected = source_format
    if detected != source_format:
        return f"; it looks like {detected}: give --from {detected}"
    if source_format == "yolo":
        return "; give --images (the images the labels belong to) and --project-type if the lines are not boxes"
    return "; is it the right file, and the right --from?"


def detect_format(source: str | os.PathLike[str]) -> str:
    """The format of ``source`` (``--from auto``): a ``data.yaml`` or a folder with a classes file is
    YOLO, a folder of ``.xml`` VOC, of ``.json`` labelme, a COCO document COCO, other JSON FastLabel."""
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml"):
        return "yolo"
    if path.is_dir():
        if any((path / name).is_file() for name in ("classes.txt", "obj.names", "data.yaml")):
            return "yolo"
        for suffix, name in ((".xml", "voc"), (".json", "labelme")):
            if next(path.rglob(f"*{suffix}"), None) is not None:
                return name
        raise FormatError(f"{path}: no YOLO classes file, VOC .xml or labelme .json found; give --from")
    head = path.open("rb").read(1 << 16).lstrip() if path.is_file() else b""
    if head.startswith(b"{") and all(key in head for key in (b'"images"', b'"annotations"')):
        return "coco"
    return "fastlabel"


def _yolo_source(source: str | os.PathLike[str], classes_file: str | None, images: str | os.PathLike[str] | None,
                 project_type: str, report: ConversionReport) -> list[dict]:
    if Path(source).is_dir() and not (classes_file or (Path(source) / "classes.txt").is_file()) \
            and (Path(source) / "data.yaml").is_file():  # a downloaded Ultralytics/Roboflow dataset
        source = Path(source) / "data.yaml"
    if Path(source).suffix.lower() in (".yaml", ".yml"):
        return yolo_tasks(source, project_type=project_type, report=report)
    return yolo_tasks(classes_file or Path(source) / "classes.txt", source, project_type, images=images, report=report)


def _sized(tasks: list[dict], images: Path, report: ConversionReport) -> list[dict]:
    """``tasks``, those without a size given the size of ``images/<name>`` (its header only)."""
    sized = []
    for task in tasks:
        path = images / task["name"]
        if (not task.get("width") or not task.get("height")) and path.is_file():
            try:
                width, height = image_size(path)
                task = {**task, "width": width, "height": height}
            except FormatError as error:
                report.note(f"image unreadable, size unknown ({error})", str(path))
        sized.append(task)
    return sized


def write_tasks(tasks: object, target_format: str, output_dir: str | os.PathLike[str], *,
                classes: list[str] | None = None, strict: bool = False, jobs: int = 1,
                scheduler: object = None, image_dir: str | None = None, progress: bool = True) -> ConversionReport:
    """Write ``tasks`` in ``target_format`` under ``output_dir`` (any target of the registry, or
    ``fastlabel``: the tasks themselves as ``tasks.json``)."""
    if target_format == "fastlabel":
        report = ConversionReport("fastlabel", strict=strict)
        report.files.append(write_atomic(Path(output_dir) / "tasks.json", orjson.dumps(list(tasks))))
        return report
    if target_format not in TARGET_FORMATS:
        raise FormatError(f"unknown target format {target_format!r}; choose from {', '.join(TARGET_FORMATS)}")
    options = TargetOptions(classes=classes, image_dir=image_dir)
    reports = export_targets(tasks, {target_format: output_dir}, options, strict=strict,
                             jobs=jobs, scheduler=scheduler, progress=progress)
    return reports[target_name(target_format)]
