"""Any format to any format, always through FastLabel tasks (the hub), by the format registry
(:mod:`fastlabel_formats.formats`); :func:`read_tables` hands the engine the readers' own rows."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from . import formats
from .errors import FormatError
from .files import dump_json, write_atomic
from .report import ConversionReport
from .table_readers import TableSource, collecting, table_source
from .targets import TargetOptions, export_targets, target_name
from .yolo_layout import image_size


def source_formats() -> list[str]:
    """The formats ``convert``, ``stats`` and ``push`` read (the registry's readers)."""
    return formats.readable()


def target_formats() -> list[str]:
    """The formats ``convert`` writes: FastLabel tasks and every export target of the registry."""
    return ["fastlabel", *formats.writable()]


def read_tasks(source: str | os.PathLike[str], source_format: str, *, classes_file: str | None = None,
               images: str | os.PathLike[str] | None = None, project_type: str = "bbox",
               report: ConversionReport | None = None, options: Mapping[str, object] | None = None) -> list[dict]:
    """FastLabel tasks read from ``source`` in ``source_format`` (a registered format, or ``auto``);
    tasks without a size get it from ``images/<task name>`` when that folder is given. YOLO's
    options: ``classes_file`` (default ``SRC/classes.txt``) and ``project_type`` (``bbox``,
    ``segmentation``, ``obb``, ``pose``); ``options``: the format's own (its ``Format.options``).
    FormatError when nothing usable was read."""
    record = formats.get(detect_format(source) if source_format == "auto" else source_format)
    if record.read is None:
        raise FormatError(f"{record.name} is written, not read; choose from {', '.join(source_formats())}")
    report = report or ConversionReport(f"{record.name} import")
    tasks = record.read(source, report=report, images=images, classes_file=classes_file, project_type=project_type,
                        **(options or {}))
    check_not_empty(tasks, source, record.name, report)
    return _sized(tasks, Path(images), report) if images is not None else tasks


def read_tables(source: str | os.PathLike[str], source_format: str, **options) -> TableSource:
    """What :func:`read_tasks` reads (the same arguments), as a source that :func:`write_tasks`
    converts from the readers' own rows (see :mod:`fastlabel_formats.table_readers`): ``convert``'s
    way. Its tasks are the reader's: write it as read."""
    with collecting() as vouched:
        tasks = read_tasks(source, source_format, **options)
    return table_source(tasks, vouched)


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
    """The format ``source`` most surely holds (``--from auto``), by the registry's detectors."""
    return formats.detect(source)


def _sized(tasks: list[dict], images: Path, report: ConversionReport) -> list[dict]:
    """``tasks``, those without a size given the size of ``images/<name>`` (its header only)."""
    sized, root = [], os.path.realpath(images)
    for task in tasks:
        path = images / task["name"]
        if task.get("width") and task.get("height"):
            pass
        elif not os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep):
            report.note("image name leads outside the images folder, size not read", str(task["name"]))
        elif path.is_file():
            try:
                width, height = image_size(path)
                task = {**task, "width": width, "height": height}
            except FormatError as error:
                report.note(f"image unreadable, size unknown ({error})", str(path))
        sized.append(task)
    return sized


def write_tasks(tasks: object, target_format: str, output_dir: str | os.PathLike[str], *,
                classes: list[str] | None = None, strict: bool = False, jobs: int = 1,
                scheduler: object = None, image_dir: str | None = None, progress: bool = True,
                options: Mapping[str, object] | None = None) -> ConversionReport:
    """Write ``tasks`` in ``target_format`` under ``output_dir`` (any target of the registry, or
    ``fastlabel``: the tasks themselves as ``tasks.json``); ``options``: the format's own."""
    if target_format == "fastlabel":
        report = ConversionReport("fastlabel", strict=strict)
        report.files.append(write_atomic(Path(output_dir) / "tasks.json", dump_json(list(tasks))))
        return report
    if target_name(target_format) not in target_formats():
        raise FormatError(f"unknown target format {target_format!r}; choose from {', '.join(target_formats())}")
    frame_counts = video_frame_counts(tasks)  # video tasks read from MOT or CVAT video: their frames
    target_options = TargetOptions(classes=classes, image_dir=image_dir, extra=dict(options or {}),
                                   project_type="video_bbox" if frame_counts else "image_bbox")
    reports = export_targets(tasks, {target_format: output_dir}, target_options, strict=strict, jobs=jobs,
                             scheduler=scheduler, progress=progress, frame_counts=frame_counts or None)
    return reports[target_name(target_format)]


def video_frame_counts(tasks: object) -> dict[str, int]:
    """``{task name: frameCount}`` of the video tasks of a task list (none for other inputs)."""
    if isinstance(tasks, TableSource):
        tasks = tasks.items
    if not isinstance(tasks, list):
        return {}
    return {task["name"]: task["frameCount"] for task in tasks
            if isinstance(task, dict) and type(task.get("frameCount")) is int and isinstance(task.get("name"), str)}
