"""Export targets by format name (from the format registry, :mod:`fastlabel_formats.formats`), their
options, and :func:`export_targets`: several targets in one pass over the tasks."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import FormatError
from .palette import COLOR_PALETTE
from .report import ConversionReport
from .run import RunOptions, Target, run_export


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
    image_dir: str | None = None  # where the images are (labelme's imagePath, the images/ of the layouts)
    layout: str = "yolo"  # YOLO: "yolo" or "ultralytics"; COCO: "coco" (the dataset layout), else one file
    copy_images: bool = False
    split: Mapping[str, float] | None = None
    seed: int = 0
    raster: str = "staircase"  # PNGs and COCO RLE: the SDK's rule, or "exact"
    extra: Mapping[str, object] = field(default_factory=dict)  # a format's own options (its Format.options)


def layout_options(options: TargetOptions, layout: str) -> dict:
    """The keywords of a target's dataset layout ``layout`` (splits as for Ultralytics, images from
    ``image_dir``) when the run asks for that layout; nothing (the target's plain output) otherwise,
    so ``--to coco,yolo --layout ultralytics`` gives YOLO its layout and COCO its one file."""
    if options.layout != layout:
        return {}
    return {"layout": layout, "images": options.image_dir, "copy_images": options.copy_images,
            "split": options.split, "seed": options.seed}


def target_name(name: str) -> str:
    """The registry name of a format that can be written (``voc`` → ``pascalvoc``); FormatError for
    another name."""
    from . import formats

    key = name.strip().lower()
    record = formats.loaded().get(formats.ALIASES.get(key, key))
    if record is None or record.target is None:
        names = [*formats.writable(), *(a for a, n in formats.ALIASES.items() if n in formats.writable())]
        raise FormatError(f"unknown target {name!r}; choose from {', '.join(names)}")
    return record.name


def make_target(name: str, output_dir: str | os.PathLike[str], options: TargetOptions) -> Target:
    """The export target of format ``name`` writing into ``output_dir``."""
    from . import formats

    return formats.get(target_name(name)).target(output_dir, options)


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
    storage_options: Mapping[str, object] | None = None,
) -> dict[str, ConversionReport]:
    """Write every target of ``{target name: output folder}`` in one pass over ``tasks``: each
    chunk becomes one table, read by all targets. Returns each target's report. ``overwrite``: see
    :func:`~fastlabel_formats.staging.output_folders` (None: into the folders as they are);
    ``storage_options``: fsspec options for URL inputs and outputs, on the client and every worker."""
    if options.annotations and options.classes:
        raise FormatError("give the class order once: annotation definitions (--annotations) or classes "
                          "(--classes), not both")
    names = [target_name(name) for name in output_dirs]
    targets = [make_target(name, folder, options) for name, folder in zip(names, output_dirs.values())]
    run = RunOptions(options.project_type, videos, frame_counts, jobs, scheduler, progress, overwrite, strict,
                     storage_options)
    reports = [ConversionReport(target.name, strict=run.strict) for target in targets]
    run_export(tasks, targets, reports, run)
    return dict(zip(names, reports))
