"""The one registry of export targets, used by the ``export_*`` functions' callers: the command line,
:func:`fastlabel_formats.convert.write_tasks` and :func:`export_targets` (several targets, one pass)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .coco import CocoTarget
from .errors import FormatError
from .labelme import LabelmeTarget
from .palette import COLOR_PALETTE
from .pascalvoc import PascalVocTarget
from .render import MaskTarget
from .report import ConversionReport
from .run import Target, run_export
from .yolo import YoloTarget


@dataclass(frozen=True)
class TargetOptions:
    """Every target's options in one place (each target reads its own)."""

    project_type: str = "image_bbox"
    annotations: Sequence[dict] | None = None
    classes: Sequence[str] | None = None
    holes: str = "drop"
    indent: int | None = None
    obb: bool = False
    start_index: int = 1
    palette: Sequence[int] = tuple(COLOR_PALETTE)
    dtype: type = np.uint8
    image_dir: str | None = None  # where the images are (labelme's imagePath, the Ultralytics images/)
    layout: str = "yolo"  # YOLO: "yolo" or "ultralytics"
    copy_images: bool = False
    split: Mapping[str, float] | None = None
    seed: int = 0
    raster: str = "staircase"  # PNGs and COCO RLE: the SDK's rule, or "exact"


TARGETS: dict[str, Callable[[Path, TargetOptions], Target]] = {
    "coco": lambda out, o: CocoTarget(out, annotations=o.annotations, holes=o.holes, indent=o.indent,
                                      classes=o.classes, raster=o.raster),
    "yolo": lambda out, o: YoloTarget(out, project_type=o.project_type, classes=o.classes, obb=o.obb,
                                      annotations=o.annotations, layout=o.layout, images=o.image_dir,
                                      copy_images=o.copy_images, split=o.split, seed=o.seed),
    "pascalvoc": lambda out, o: PascalVocTarget(out),
    "labelme": lambda out, o: LabelmeTarget(out, image_dir=o.image_dir, indent=o.indent),
    "semantic": lambda out, o: MaskTarget(out, semantic=True, palette=o.palette, classes=o.classes,
                                          start_index=o.start_index, dtype=o.dtype, annotations=o.annotations,
                                          raster=o.raster),
    "instance": lambda out, o: MaskTarget(out, semantic=False, palette=o.palette, start_index=o.start_index,
                                          dtype=o.dtype, raster=o.raster),
}
ALIASES = {"voc": "pascalvoc"}


def target_name(name: str) -> str:
    """The registry name of ``name`` (``voc`` → ``pascalvoc``); FormatError for an unknown one."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in TARGETS:
        raise FormatError(f"unknown target {name!r}; choose from {', '.join([*TARGETS, *ALIASES])}")
    return key


def export_targets(
    tasks: object,
    output_dirs: Mapping[str, str | os.PathLike[str]],
    options: TargetOptions = TargetOptions(),
    *,
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    strict: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    progress: bool = False,
    overwrite: bool | None = None,
) -> dict[str, ConversionReport]:
    """Write every target of ``{target name: output folder}`` in one pass over ``tasks``: each
    chunk becomes one table, read by all targets. Returns each target's report. ``overwrite``: see
    :func:`~fastlabel_formats.staging.output_folders` (None: into the folders as they are)."""
    if options.annotations and options.classes:
        raise FormatError("give the class order once: annotation definitions (--annotations) or classes "
                          "(--classes), not both")
    names = [target_name(name) for name in output_dirs]
    targets = [TARGETS[name](folder, options) for name, folder in zip(names, output_dirs.values())]
    reports = [ConversionReport(target.name, strict=strict) for target in targets]
    run_export(tasks, targets, reports, project_type=options.project_type, videos=videos,
               frame_counts=frame_counts, jobs=jobs, scheduler=scheduler, progress=progress, overwrite=overwrite)
    return dict(zip(names, reports))
