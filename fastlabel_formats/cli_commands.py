"""The commands that write: ``export``, ``render``, ``draw``, ``convert``, ``integrate`` and
``split``, each as its parser (``_add_<command>``) beside its handler (``run_<command>``, called
with the parsed arguments and the run's :class:`~fastlabel_formats.cli_support.Invocation`)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import formats
from .cli_options import (
    PROJECT_TYPES,
    add_drawing_run,
    add_format_options,
    add_overwrite,
    add_raster,
    add_workers,
    checked_output_file,
    command,
    format_options,
    read_classes,
    read_definitions,
    source_choices,
    with_aliases,
)
from .cli_support import Invocation, existing_folder, finite, whole_number
from .convert import detect_format, read_tables, target_formats, write_tasks
from .draw import export_image_with_annotations
from .errors import FormatError
from .files import dump_json, is_remote, write_atomic
from .integrate import integrate, piece_kind, split_image_task
from .render import export_instance_segmentation, export_semantic_segmentation
from .report import ConversionReport
from .staging import check_empty, locked_folders, output_folder, staged
from .stores import parse_storage_options
from .targets import TargetOptions, export_targets, target_name
from .tasks import load_tasks
from .tile_split import MAX_TILES
from .yolo_layout import parse_split

EXPORT_EPILOG = """\
examples:
  fastlabel-formats export examples/sample_project/tasks.json --to coco,yolo,voc,labelme -o out
  fastlabel-formats export tasks.json --to yolo --classes cat,dog -o out
  fastlabel-formats export tasks.json --to coco --holes rle --annotations definitions.json -o out

Each target is written to its own folder under OUT (out/coco/annotations.json, out/yolo/...,
out/pascalvoc/annotations/..., out/labelme/...). A report of what could not be carried over
is printed at the end; --strict turns the first such loss into an error instead.
"""


def add_writing_commands(commands: argparse._SubParsersAction) -> None:
    """``export``, ``render``, ``draw``, ``convert``, ``integrate`` and ``split``."""
    for add in (_add_export, _add_render, _add_draw, _add_convert, _add_integrate, _add_split):
        add(commands)


def run_export(args: argparse.Namespace, invocation: Invocation) -> int:
    """Write every requested target in one pass over the tasks and print their reports."""
    started = time.perf_counter()
    names = [target_name(name) for name in args.to.split(",") if name.strip()]
    options = TargetOptions(project_type=args.project_type, annotations=read_definitions(args.annotations),
                            classes=read_classes(args.classes), holes=args.holes, indent=args.indent, obb=args.obb,
                            image_dir=args.images, layout=args.layout, copy_images=args.copy_images,
                            split=parse_split(args.split) if args.split else None, seed=args.seed,
                            raster=args.raster, extra=format_options(args))
    run = {"videos": args.videos, "strict": args.strict, "jobs": args.jobs, "scheduler": args.scheduler,
           "progress": invocation.progress, "storage_options": parse_storage_options(args.storage_option) or None}
    # every target is written beside its folder and moved into place once all are complete (an
    # object store publishes each file whole: written in place)
    folders = {name: f"{args.output.rstrip('/')}/{name}" if is_remote(args.output) else Path(args.output) / name
               for name in names}
    reports = export_targets(args.tasks, folders, options, overwrite=args.overwrite, **run)
    return invocation.finish_all(reports.values(), started)


def _add_export(commands: argparse._SubParsersAction) -> None:
    export = command(commands, "export", "write FastLabel tasks as COCO / YOLO / Pascal VOC / labelme files",
                     "Write FastLabel tasks (a JSON list, as get_image_tasks returns) in other formats.",
                     EXPORT_EPILOG, source="FastLabel tasks: a JSON list, a .jsonl file (one task per line) or a "
                                           "folder of such page files")
    export.add_argument("--to", default="coco,yolo,voc,labelme",
                        help="comma-separated targets: coco, yolo, voc, labelme, semantic, instance "
                             "(default: coco,yolo,voc,labelme); all are written in one pass")
    export.add_argument("-o", "--output", default="output", help="output folder (default: output)")
    export.add_argument("--classes", help="YOLO classes: a file with one name per line, or a,b,c")
    export.add_argument("--annotations", help="COCO: JSON file of the project's annotation definitions")
    export.add_argument("--holes", choices=("drop", "rle"), default="drop",
                        help="COCO: segmentations with holes/several regions as RLE (default: drop holes)")
    export.add_argument("--obb", action="store_true", help="YOLO: write boxes as YOLO-OBB corner lines")
    export.add_argument("--layout", choices=sorted({layout for record in formats.loaded().values()
                                                    for layout in record.layouts}), default="yolo",
                        help="a dataset layout, for the targets that have it: ultralytics (YOLO: images/<split>/, "
                             "labels/<split>/, data.yaml), coco (annotations/instances_<split>.json, "
                             "images/<split>/), voc (Annotations/, ImageSets/Main/<split>.txt, JPEGImages/); "
                             "default: one folder per target")
    export.add_argument("--images", help="folder of the task images: Ultralytics layout links (or copies) them "
                                         "into images/<split>/; labelme's imagePath points at them")
    export.add_argument("--copy-images", action="store_true", help="Ultralytics layout: copy instead of symlink")
    export.add_argument("--split", help="Ultralytics layout: e.g. train=0.8,val=0.2, drawn by a hash of each task "
                                        "name (default: the name's first folder when it is train/val/test, "
                                        "else train)")
    export.add_argument("--seed", type=whole_number(0, 2**63 - 1), default=0,
                        help="Ultralytics layout: another draw of --split")
    add_raster(export)
    _add_export_run_options(export)
    export.set_defaults(run=run_export)


def _add_export_run_options(export: argparse.ArgumentParser) -> None:
    """The options of ``export`` that say what the tasks are and how the run goes."""
    export.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE",
                        help="FastLabel project type: image_bbox (default), image_segmentation, video_bbox, …")
    export.add_argument("--videos", type=existing_folder, help="video projects: folder holding each task's video")
    export.add_argument("--indent", type=int, choices=(4,), help="JSON: 4 = the official SDK's bytes")
    export.add_argument("--strict", action="store_true", help="fail instead of dropping anything")
    export.add_argument("--overwrite", action="store_true",
                        help="replace target folders that hold an earlier export (default: refuse them)")
    add_format_options(export, reading=False, writing=True)
    add_workers(export)
    export.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE", dest="storage_option",
                        help="an fsspec option for URL inputs and outputs (s3://, gs://, …), on this machine and "
                             "every Dask worker (repeatable): endpoint_url=…, key=…, anon=true, "
                             "client_kwargs.region_name=…")


def run_render(args: argparse.Namespace, invocation: Invocation) -> int:
    """Write index-colour PNGs (instance or semantic) of every image task."""
    started = time.perf_counter()
    tasks = args.tasks
    run = {"start_index": args.start_index, "jobs": args.jobs, "raster": args.raster, "scheduler": args.scheduler,
           "strict": args.strict, "progress": invocation.progress, "overwrite": args.overwrite}
    if args.semantic:
        report = export_semantic_segmentation(tasks, args.output, classes=read_classes(args.classes), **run)
    else:
        report = export_instance_segmentation(tasks, args.output, **run)
    return invocation.finish(report, started)


def _add_render(commands: argparse._SubParsersAction) -> None:
    render = command(
        commands, "render", "write index-colour segmentation PNGs (instance or semantic)",
        "Write one palette PNG per image task: 0 = background, each bbox / polygon / segmentation "
        "painted with its instance number (--instance) or class index (--semantic).",
        "example:\n  fastlabel-formats render examples/sample_project/tasks.json --semantic -o out/semantic",
    )
    mode = render.add_mutually_exclusive_group(required=True)
    mode.add_argument("--semantic", action="store_true", help="index = position of the value in the classes")
    mode.add_argument("--instance", action="store_true", help="index = number of the annotation")
    render.add_argument("-o", "--output", required=True, help="output folder")
    render.add_argument("--classes", help="semantic classes: a file with one name per line, or a,b,c "
                                          "(default: sorted values of all annotations)")
    render.add_argument("--start-index", type=int, choices=(0, 1), default=1,
                        help="index of the first instance / class (0 or 1)")
    add_drawing_run(render)
    render.set_defaults(run=run_render)


def run_draw(args: argparse.Namespace, invocation: Invocation) -> int:
    """Draw every task's annotations on its image."""
    started = time.perf_counter()
    report = export_image_with_annotations(args.tasks, args.images, args.output, jobs=args.jobs, raster=args.raster,
                                           scheduler=args.scheduler, strict=args.strict,
                                           progress=invocation.progress, overwrite=args.overwrite)
    return invocation.finish(report, started)


def _add_draw(commands: argparse._SubParsersAction) -> None:
    draw = command(
        commands, "draw", "draw the annotations on their images",
        "Draw each task's annotations on IMAGES/<task name> and write OUT/<task name>.",
        "example:\n  fastlabel-formats draw examples/sample_project/tasks.json "
        "--images examples/sample_project/images -o out/drawn",
    )
    draw.add_argument("--images", required=True, type=existing_folder,
                      help="folder holding the images, named like the tasks")
    draw.add_argument("-o", "--output", required=True, help="output folder")
    add_drawing_run(draw)
    draw.set_defaults(run=run_draw)


def run_convert(args: argparse.Namespace, invocation: Invocation) -> int:
    """Read any supported format into FastLabel tasks and write another."""
    started = time.perf_counter()
    if args.source_format == "auto":
        args.source_format = detect_format(args.source)
        invocation.say(f"{args.source}: read as {args.source_format}")
    imported = ConversionReport(f"{args.source_format} import", strict=args.strict)
    tasks = read_tables(args.source, args.source_format, classes_file=args.classes_file, images=args.images,
                       project_type=args.yolo_type, report=imported, options=format_options(args))
    invocation.say(imported.summary().replace("0 file(s) written", f"{len(tasks)} image(s) read"))
    with _published(args) as output:
        report = write_tasks(tasks, args.target_format, output, classes=read_classes(args.classes),
                             strict=args.strict, jobs=args.jobs, scheduler=args.scheduler, image_dir=args.images,
                             progress=invocation.progress, options=format_options(args))
    return invocation.finish(report, started)


@contextmanager
def _published(args: argparse.Namespace) -> Iterator[Path]:
    """The folder ``convert`` writes ``-o`` into (its ``fastlabel`` target is no export target): a
    hidden sibling, moved into place when the run completes (a non-empty ``-o`` is refused unless
    --overwrite); the exports do the same through ``overwrite=``."""
    folder = output_folder(args.output)
    with locked_folders([folder]):
        check_empty({"output": folder}, args.overwrite, [args.source, args.images, args.classes_file])
        with staged({"output": folder}) as siblings:
            yield siblings["output"]


def _add_convert(commands: argparse._SubParsersAction) -> None:
    convert = command(
        commands, "convert", "convert between any two formats (through FastLabel tasks)",
        "Read SRC (a JSON file for fastlabel/coco, a folder for yolo/voc/labelme) and write it in another format.",
        "examples:\n  fastlabel-formats convert coco.json --from coco --to yolo -o out/yolo\n"
        "  fastlabel-formats convert labels/ --from yolo --to coco -o out/coco\n"
        "  fastlabel-formats convert data.yaml --from yolo --to coco -o out/coco\n"
        "  fastlabel-formats convert voc/ --from voc --to fastlabel -o out",
        source="source file or folder",
    )
    convert.add_argument("--from", dest="source_format", default="auto", choices=source_choices(),
                         help="the source's format (default auto: recognised from the file or folder)")
    convert.add_argument("--to", dest="target_format", required=True, choices=with_aliases(target_formats()),
                         help="; ".join(f"{name}: {formats.get(name).summary}" for name in target_formats()[1:]))
    convert.add_argument("-o", "--output", required=True, help="output folder")
    convert.add_argument("--classes-file", help="YOLO source: its classes.txt (default: SRC/classes.txt; a "
                                                "data.yaml as SRC names its classes itself)")
    convert.add_argument("--project-type", dest="yolo_type", choices=("bbox", "segmentation", "obb"), default="bbox",
                         help="YOLO source: what its lines hold (default: bbox)")
    convert.add_argument("--classes", help="YOLO / semantic target: class names, a file or a,b,c")
    convert.add_argument("--images", help="folder of the images: sizes the source does not give, and labelme's "
                                          "imagePath (relative to it)")
    add_format_options(convert, reading=True, writing=True)
    add_workers(convert)
    convert.add_argument("--strict", action="store_true", help="fail instead of dropping anything")
    add_overwrite(convert)
    convert.set_defaults(run=run_convert)


def _grid(text: str | None) -> tuple[int | None, int | None]:
    """``(rows, columns)`` of a --grid ROWSxCOLS (``(None, None)`` when not given)."""
    if not text:
        return None, None
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FormatError(f"--grid must look like 3x3 (rows x columns), got {text!r}") from None
    if rows < 1 or cols < 1:
        raise FormatError(f"--grid needs at least 1x1, got {text!r}")
    if rows * cols > MAX_TILES:
        raise FormatError(f"--grid {text}: at most {MAX_TILES:,} tiles an image")
    return rows, cols


def run_integrate(args: argparse.Namespace, invocation: Invocation) -> int:
    """Merge split pieces named PREFIX/<n>.<ext> into one task (image tiles, audio or video)."""
    output = checked_output_file(args.output, args.tasks)
    tasks, _ = load_tasks(args.tasks)
    kind = piece_kind(tasks, args.prefix)
    report = ConversionReport("integrate")
    if kind == "image":
        rows, cols = _grid(args.grid)
        merged = integrate(tasks, args.prefix, rows=rows, cols=cols, tol=args.tol,
                           keep_other_types=args.keep_other_types, report=report)
    else:
        merged = integrate(tasks, args.prefix, kind=kind)
    return _tasks_written(invocation, report, output, [merged],
                          f"{merged['name']}: {len(merged['annotations'])} annotation(s) -> {args.output}")


def _add_integrate(commands: argparse._SubParsersAction) -> None:
    merging = command(
        commands, "integrate", "merge split tasks PREFIX/1.ext, PREFIX/2.ext, … into PREFIX.ext",
        "Merge the pieces of a split image (tiles), audio or video task into one task, joining "
        "annotations cut at the seams. The kind follows the pieces' file extension.",
        "example:\n  fastlabel-formats integrate tiles.json --prefix image/cat --grid 3x3 -o cat.json",
        source="JSON file holding the split tasks",
    )
    merging.add_argument("--prefix", required=True, help="the common name prefix, e.g. image/cat")
    merging.add_argument("--grid", help="image tiles: ROWSxCOLS (default: a square grid)")
    merging.add_argument("--tol", type=finite, default=1.0, help="image tiles: seam tolerance in pixels")
    merging.add_argument("--keep-other-types", action="store_true",
                         help="image tiles: also keep pose and circle annotations (moved into place, never merged)")
    merging.add_argument("-o", "--output", required=True, help="output JSON file (a list with one task)")
    merging.set_defaults(run=run_integrate)


def run_split(args: argparse.Namespace, invocation: Invocation) -> int:
    """Split every image task into a grid of tiles (the inverse of integrate)."""
    rows, cols = _grid(args.grid)
    output = checked_output_file(output_folder(args.output) / "tasks.json", args.tasks)
    tasks, _ = load_tasks(args.tasks)
    report = ConversionReport("split")
    tiles = [piece for task in tasks for piece in split_image_task(task, rows, cols, report=report)]
    return _tasks_written(invocation, report, output, tiles,
                          f"{len(tasks)} task(s) -> {len(tiles)} tile task(s) in {Path(args.output) / 'tasks.json'}")


def _tasks_written(invocation: Invocation, report: ConversionReport, output: Path, tasks: list[dict],
                   line: str) -> int:
    """Write ``tasks`` to ``output``, keep ``report`` for --report-json, say ``line`` and any loss; 0."""
    report.files.append(write_atomic(output, dump_json(tasks)))
    invocation.keep(report)
    invocation.say(line)
    if not report.ok:
        invocation.say(report.summary())
    return 0


def _add_split(commands: argparse._SubParsersAction) -> None:
    split = command(commands, "split", "split image tasks into a grid of tile tasks",
                    "Split every image task into ROWSxCOLS tiles named <name without extension>/<n>.<ext>, "
                    "annotations clipped to each tile.", source="JSON file holding image tasks")
    split.add_argument("--grid", required=True, help="ROWSxCOLS, e.g. 3x3")
    split.add_argument("-o", "--output", required=True, help="output folder (tasks.json)")
    split.set_defaults(run=run_split)
