"""The ``fastlabel-formats`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

from . import formats
from .checks import stats, validate
from .cli_support import (
    Terminated,
    existing_folder,
    finite,
    os_error,
    positive,
    scheduler,
    terminated_as_interrupt,
    user_text,
    whole_number,
)
from .convert import detect_format, read_tasks, source_formats, target_formats, video_frame_counts, write_tasks
from .draw import export_image_with_annotations
from .errors import FormatError
from .evaluate import BACKENDS, cli_evaluate
from .files import dump_json, is_remote, read_json, read_text, write_atomic
from .integrate import integrate, piece_kind, split_image_task
from .parallel import default_jobs
from .raster import RASTER_RULES
from .render import export_instance_segmentation, export_semantic_segmentation
from .repair import repair
from .report import ConversionReport
from .report_html import DEFAULT_SAMPLES, MAX_SAMPLES
from .report_html import report as write_report
from .staging import check_empty, locked_folders, output_file, output_folder, staged
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

def _classes(text: str | None) -> list[str] | None:
    if not text:
        return None
    path = Path(text)
    if path.is_file():
        return [line.strip() for line in read_text(path, "the classes file").splitlines() if line.strip()]
    if "," not in text and ("/" in text or "\\" in text or path.suffix.lower() in (".txt", ".names", ".csv")):
        raise FormatError(f"--classes {text!r}: no such file (give a file with one name per line, or a,b,c)")
    return [name.strip() for name in text.split(",") if name.strip()]


def _read_json_list(path: str | None) -> list | None:
    if not path:
        return None
    data = read_json(path, "annotation definitions")
    if not isinstance(data, list):
        raise FormatError(f"{path}: annotation definitions must be a JSON list")
    return data


PROJECT_TYPES = tuple(f"{media}_{kind}" for media in ("image", "video")
                      for kind in ("bbox", "polygon", "keypoint", "line", "segmentation", "pose_estimation",
                                   "classification", "all"))


def _common() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    common.add_argument("--report-json", metavar="FILE", help="also write the report as JSON (also on failure)")
    return common


def _command(commands, name: str, summary: str, description: str, epilog: str = "",
             source: str = "JSON file holding a list of FastLabel tasks",
             positional: str | None = None) -> argparse.ArgumentParser:
    """A subcommand with its description, examples and the input argument (``positional``)."""
    parser = commands.add_parser(name, help=summary, description=description, epilog=epilog, parents=[_common()],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(positional or ("tasks" if name != "convert" else "source"), help=source)
    return parser


def _add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=positive, default=default_jobs(),
                        help="worker processes (default: the number of cores); with --scheduler local: Dask workers")
    parser.add_argument("--scheduler", type=scheduler,
                        help="run on Dask: 'local' (a LocalCluster on this machine) or a scheduler address such as "
                             "tcp://HOST:8786 (needs fastlabel-formats[dask])")


def _finish(report: ConversionReport, started: float) -> int:
    REPORTS.append(report)
    say(f"{report.summary()}  [{time.perf_counter() - started:.2f} s]")
    return 0


QUIET = {"on": False}  # set by main from --quiet
REPORTS: list[ConversionReport] = []  # the reports of this run, for --report-json


def report_json(reports: Sequence[ConversionReport], code: int, error: str | None) -> bytes:
    """The machine-readable report: exit code, error, and per target its files and each loss with
    its count and first places."""
    targets = {report.target: {"files": len(report.files), "ok": report.ok,
                               "findings": [{"kind": f.kind, "count": f.count, "examples": f.examples}
                                            for f in report.findings.values()]} for report in reports}
    return orjson.dumps({"exit_code": code, "error": error, "targets": targets}, option=orjson.OPT_INDENT_2)


def say(text: str) -> None:
    """Print a report line unless --quiet."""
    if not QUIET["on"]:
        print(text)


def run_export(args: argparse.Namespace) -> int:
    """Write every requested target in one pass over the tasks and print their reports."""
    started = time.perf_counter()
    names = [target_name(name) for name in args.to.split(",") if name.strip()]
    options = TargetOptions(project_type=args.project_type, annotations=_read_json_list(args.annotations),
                            classes=_classes(args.classes), holes=args.holes, indent=args.indent, obb=args.obb,
                            image_dir=args.images, layout=args.layout, copy_images=args.copy_images,
                            split=parse_split(args.split) if args.split else None, seed=args.seed,
                            raster=args.raster, extra=format_options(args))
    run = {"videos": args.videos, "strict": args.strict, "jobs": args.jobs, "scheduler": args.scheduler,
           "progress": not QUIET["on"], "storage_options": parse_storage_options(args.storage_option) or None}
    # every target is written beside its folder and moved into place once all are complete (an
    # object store publishes each file whole: written in place)
    folders = {name: f"{args.output.rstrip('/')}/{name}" if is_remote(args.output) else Path(args.output) / name
               for name in names}
    reports = export_targets(args.tasks, folders, options, overwrite=args.overwrite, **run)
    return finish_all(reports.values(), started)


def finish_all(reports: Iterable[ConversionReport], started: float) -> int:
    """Print (and keep for --report-json) the reports of a run and its time."""
    for report in reports:
        REPORTS.append(report)
        say(report.summary())
    say(f"[{time.perf_counter() - started:.2f} s]")
    return 0


def run_render(args: argparse.Namespace) -> int:
    """Write index-colour PNGs (instance or semantic) of every image task."""
    started = time.perf_counter()
    tasks = args.tasks
    run = {"start_index": args.start_index, "jobs": args.jobs, "raster": args.raster, "scheduler": args.scheduler,
           "strict": args.strict, "progress": not QUIET["on"], "overwrite": args.overwrite}
    if args.semantic:
        report = export_semantic_segmentation(tasks, args.output, classes=_classes(args.classes), **run)
    else:
        report = export_instance_segmentation(tasks, args.output, **run)
    return _finish(report, started)


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


def _add_overwrite(command) -> None:
    command.add_argument("--overwrite", action="store_true",
                         help="replace an output folder that holds an earlier run (default: refuse it)")


def _add_raster(command) -> None:
    command.add_argument("--raster", choices=RASTER_RULES, default="staircase",
                         help="pixels of PNGs, drawn segmentations and COCO RLE: the official SDK's rule (truncated "
                              "coordinates, staircase edges; default) or exact (pixel centres inside the float "
                              "shape)")


def _add_render(commands) -> None:
    render = _command(
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
    _add_raster(render)
    _add_workers(render)
    render.add_argument("--strict", action="store_true", help="fail instead of skipping anything")
    _add_overwrite(render)
    render.set_defaults(run=run_render)


def run_draw(args: argparse.Namespace) -> int:
    """Draw every task's annotations on its image."""
    started = time.perf_counter()
    report = export_image_with_annotations(args.tasks, args.images, args.output, jobs=args.jobs, raster=args.raster,
                                           scheduler=args.scheduler, strict=args.strict, progress=not QUIET["on"],
                                           overwrite=args.overwrite)
    return _finish(report, started)


def _add_draw(commands) -> None:
    draw = _command(
        commands, "draw", "draw the annotations on their images",
        "Draw each task's annotations on IMAGES/<task name> and write OUT/<task name>.",
        "example:\n  fastlabel-formats draw examples/sample_project/tasks.json "
        "--images examples/sample_project/images -o out/drawn",
    )
    draw.add_argument("--images", required=True, type=existing_folder,
                      help="folder holding the images, named like the tasks")
    draw.add_argument("-o", "--output", required=True, help="output folder")
    _add_raster(draw)
    _add_workers(draw)
    draw.add_argument("--strict", action="store_true", help="fail instead of skipping anything")
    _add_overwrite(draw)
    draw.set_defaults(run=run_draw)


def run_convert(args: argparse.Namespace) -> int:
    """Read any supported format into FastLabel tasks and write another."""
    started = time.perf_counter()
    if args.source_format == "auto":
        args.source_format = detect_format(args.source)
        say(f"{args.source}: read as {args.source_format}")
    imported = ConversionReport(f"{args.source_format} import", strict=args.strict)
    tasks = read_tasks(args.source, args.source_format, classes_file=args.classes_file, images=args.images,
                       project_type=args.yolo_type, report=imported, options=format_options(args))
    say(imported.summary().replace("0 file(s) written", f"{len(tasks)} image(s) read"))
    with _published(args) as output:
        report = write_tasks(tasks, args.target_format, output, classes=_classes(args.classes),
                             strict=args.strict, jobs=args.jobs, scheduler=args.scheduler, image_dir=args.images,
                             progress=not QUIET["on"], options=format_options(args))
    return _finish(report, started)


def _add_convert(commands) -> None:
    convert = _command(
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
    convert.add_argument("--to", dest="target_format", required=True, choices=_with_aliases(target_formats()),
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
    _add_workers(convert)
    convert.add_argument("--strict", action="store_true", help="fail instead of dropping anything")
    _add_overwrite(convert)
    convert.set_defaults(run=run_convert)


def _with_aliases(names: list[str], auto: bool = False) -> list[str]:
    """``names`` and their aliases in the registry (and ``auto`` first when ``auto``)."""
    aliases = [alias for alias, name in formats.ALIASES.items() if name in names]
    return ["auto"] * auto + names + aliases


def add_format_options(parser: argparse.ArgumentParser, reading: bool, writing: bool) -> None:
    """The options of the formats (``Format.options``) that this command reads or writes."""
    added = set()
    for is_read in [flag for flag, wanted in ((True, reading), (False, writing)) if wanted]:
        for flag, (option, names) in formats.options(is_read).items():
            if flag not in added:
                added.add(flag)
                parser.add_argument(flag, dest=f"format_{option.key}", type=option.type, metavar=option.key.upper(),
                                    choices=option.choices or None, help=f"{option.help} ({', '.join(names)})")


def format_options(args: argparse.Namespace) -> dict[str, object]:
    """``{key: value}`` of the format options given on the command line."""
    return {name[len("format_"):]: value for name, value in vars(args).items()
            if name.startswith("format_") and value is not None}


def source_choices() -> list[str]:
    """``auto`` and every readable format of the registry, with its aliases (``--from``)."""
    return _with_aliases(source_formats(), True)


def _grid(text: str | None) -> tuple[int | None, int | None]:
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


def run_integrate(args: argparse.Namespace) -> int:
    """Merge split pieces named PREFIX/<n>.<ext> into one task (image tiles, audio or video)."""
    output = _output_file(args.output, args.tasks)
    tasks, _ = load_tasks(args.tasks)
    kind = piece_kind(tasks, args.prefix)
    report = ConversionReport("integrate")
    if kind == "image":
        rows, cols = _grid(args.grid)
        merged = integrate(tasks, args.prefix, rows=rows, cols=cols, tol=args.tol,
                           keep_other_types=args.keep_other_types, report=report)
    else:
        merged = integrate(tasks, args.prefix, kind=kind)
    report.files.append(write_atomic(output, orjson.dumps([merged])))
    REPORTS.append(report)
    say(f"{merged['name']}: {len(merged['annotations'])} annotation(s) -> {args.output}")
    if not report.ok:
        say(report.summary())
    return 0


def run_split(args: argparse.Namespace) -> int:
    """Split every image task into a grid of tiles (the inverse of integrate)."""
    rows, cols = _grid(args.grid)
    output = _output_file(output_folder(args.output) / "tasks.json", args.tasks)
    tasks, _ = load_tasks(args.tasks)
    report = ConversionReport("split")
    tiles = [piece for task in tasks for piece in split_image_task(task, rows, cols, report=report)]
    report.files.append(write_atomic(output, orjson.dumps(tiles)))
    say(f"{len(tasks)} task(s) -> {len(tiles)} tile task(s) in {Path(args.output) / 'tasks.json'}")
    if not report.ok:
        say(report.summary())
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Check a project (``--fix``: repair it first, then check the repaired copy); exit 1 when
    anything is found."""
    started = time.perf_counter()
    classes, definitions = _classes(args.classes), _read_json_list(args.annotations)  # before -o is written
    tasks = _repaired(args) if args.fix else args.tasks
    report = validate(tasks, classes=classes, annotations=definitions, project_type=args.project_type)
    REPORTS.append(report)
    found = sum(finding.count for finding in report.findings.values())
    _list_findings("validate" + " (the repaired tasks)" * args.fix, report)
    say(f"[{time.perf_counter() - started:.2f} s]")
    return 1 if found else 0


def _repaired(args: argparse.Namespace) -> list[dict]:
    """The repaired tasks of ``--fix``, written to ``-o`` (atomically) and their changes listed."""
    if not args.output:
        raise FormatError("--fix writes the repaired tasks to a file: give -o FIXED.json")
    changes = ConversionReport("validate --fix")
    output = _output_file(args.output, args.tasks)
    tasks = repair(args.tasks, report=changes)
    write_atomic(output, dump_json(tasks))
    changes.files.append(Path(args.output))
    REPORTS.append(changes)
    _list_findings(f"fix: {len(tasks):,} task(s) written to {args.output}", changes, "change(s)")
    return tasks


def _list_findings(title: str, report: ConversionReport, what: str = "finding(s)") -> None:
    found = sum(finding.count for finding in report.findings.values())
    say(f"{title}: {'nothing found' if not found else f'{found:,} {what}, by kind:'}")
    for finding in report.findings.values():
        say(f"  {finding.count} × {finding.kind}")
        for place in finding.examples[:3]:
            say(f"      e.g. {place}")


def run_stats(args: argparse.Namespace) -> int:
    """Print (or write as JSON) a project's counts."""
    source_format = detect_format(args.tasks) if args.source_format == "auto" else args.source_format
    tasks = args.tasks if source_format == "fastlabel" else read_tasks(args.tasks, source_format,
                                                                        options=format_options(args))
    video = args.project_type == "image_bbox" and video_frame_counts(tasks)  # MOT, CVAT video: by their frames
    counts = stats(tasks, project_type="video_bbox" if video else args.project_type)
    if args.json:
        print(orjson.dumps(counts, option=orjson.OPT_INDENT_2).decode())
        return 0
    say(f"{counts['images']:,} image(s), {counts['images_without_annotations']:,} without annotations")
    for title, key in (("per type", "annotations_per_type"), ("per class", "annotations_per_class")):
        say(f"annotations {title}: " + ", ".join(f"{k} {v:,}" for k, v in counts[key].items()))
    for split, classes in counts["per_split"].items():
        say(f"  {split}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(classes.items())))
    for axis, (low, middle, high) in ((k, v) for k, v in counts["bbox_sizes_min_median_max"].items() if v):
        say(f"bbox {axis}: min {low:g}, median {middle:g}, max {high:g}")
    return 0


def _add_stats(commands) -> None:
    counting = _command(
        commands, "stats", "count images, annotations per type / class / split, box sizes",
        "Count a project in any input format: images (and those without annotations), annotations per type "
        "and per class, per class per split (train/ val/ test/ name prefixes), bbox sizes.",
        "example:\n  fastlabel-formats stats data.yaml --json", source="tasks, or a COCO / YOLO / VOC / labelme source",
    )
    counting.add_argument("--from", dest="source_format", default="auto", choices=source_choices())
    counting.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE")
    counting.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_format_options(counting, reading=True, writing=False)
    counting.set_defaults(run=run_stats)


def _add_evaluate(commands) -> None:
    scoring = _command(
        commands, "evaluate", "score predictions against labels with COCO's metrics",
        "COCO AP/AR overall and per class of PRED against GT, the numbers of pycocotools' COCOeval, computed by "
        "hotcoco or faster-coco-eval when installed (pip install 'fastlabel-formats[eval]'), else by pycocotools.",
        "examples:\n  fastlabel-formats evaluate annotations.json results.json --iou-type segm\n"
        "  fastlabel-formats evaluate tasks.json predictions.json --json",
        source="ground truth: a COCO file, FastLabel tasks or any readable source", positional="gt")
    scoring.add_argument("pred", help="predictions: a COCO results file, tasks with a 'score' attribute, "
                                      "or YOLO labels with a confidence column")
    scoring.add_argument("--iou-type", default="bbox", choices=("bbox", "segm", "keypoints"))
    scoring.add_argument("--json", action="store_true", help="print the metrics as JSON")
    scoring.add_argument("--gt-from", default="auto", choices=source_choices())
    scoring.add_argument("--pred-from", default="auto", choices=source_choices())
    scoring.add_argument("--backend", default="auto", choices=("auto", *BACKENDS))
    scoring.add_argument("--classes-file", help="class names of YOLO predictions, one per line")
    scoring.add_argument("--images", help="the images' folder (sizes for formats that need them)")
    scoring.set_defaults(run=cli_evaluate)


def run_report(args: argparse.Namespace) -> int:
    """Write the one-file HTML report of a project."""
    started = time.perf_counter()
    losses = write_report(args.tasks, _output_file(args.output, args.tasks), source_format=args.source_format,
                          images=args.images, samples=args.samples, seed=args.seed, classes=_classes(args.classes),
                          annotations=_read_json_list(args.annotations), project_type=args.project_type,
                          progress=not QUIET["on"])
    return _finish(losses, started)


def _add_report(commands) -> None:
    showing = _command(
        commands, "report", "one self-contained HTML file: counts, box sizes, findings drawn, sample images",
        "Write one HTML file that opens from disk without a network: summary numbers, annotations per class and "
        "split, box width / height / area histograms (log scale), images without annotations, every validate "
        "finding as a thumbnail cropped around its shape, and a seeded sample of images with their annotations "
        "drawn; a class filter and a search. Without --images shapes are drawn on blank canvases.",
        "examples:\n  fastlabel-formats report tasks.json --images images -o report.html\n"
        "  fastlabel-formats report data.yaml --from yolo --samples 48 -o report.html",
        source="tasks, or a COCO / YOLO / VOC / labelme source",
    )
    showing.add_argument("--from", dest="source_format", default="auto", choices=_with_aliases(source_formats(), True))
    showing.add_argument("--images", type=existing_folder, help="the folder of the task images (IMAGES/<task name>)")
    showing.add_argument("--samples", type=whole_number(0, MAX_SAMPLES), default=DEFAULT_SAMPLES,
                         help=f"images drawn in the sample grid (default {DEFAULT_SAMPLES})")
    showing.add_argument("--seed", type=whole_number(0, 2**63 - 1), default=0, help="another draw of the sample")
    showing.add_argument("--classes", help="the known values: a file with one name per line, or a,b,c")
    showing.add_argument("--annotations", help="the known values from the project's annotation definitions")
    showing.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE")
    showing.add_argument("-o", "--output", required=True, help="the HTML file to write")
    showing.set_defaults(run=run_report)


def _add_validate(commands) -> None:
    check = _command(
        commands, "validate", "check a project: geometry, image bounds, classes, duplicates (exit 1 on findings)",
        "Check every annotation: malformed ones, invalid polygons (self-intersecting, holes outside or touching "
        "their outer ring, fewer than 3 distinct vertices, zero area), shapes and keypoints outside the image, "
        "values that are not classes, duplicates. Nothing is written (but with --fix); exit 1 when anything is "
        "found (with --fix: in the repaired tasks).",
        "examples:\n  fastlabel-formats validate tasks.json --annotations annotations.json\n"
        "  fastlabel-formats validate tasks.json --fix -o fixed.json",
    )
    check.add_argument("--classes", help="the known values: a file with one name per line, or a,b,c")
    check.add_argument("--annotations", help="the known values from the project's annotation definitions")
    check.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE")
    check.add_argument("--fix", action="store_true",
                       help="write repaired tasks to -o (invalid shapes made valid, shapes clipped to the image, "
                            "degenerate, malformed and duplicate annotations dropped; every change listed), then "
                            "check them")
    check.add_argument("-o", "--output", help="with --fix: the repaired tasks' JSON file")
    check.set_defaults(run=run_validate)


def _add_integrate_and_split(commands) -> None:
    integrate = _command(
        commands, "integrate", "merge split tasks PREFIX/1.ext, PREFIX/2.ext, … into PREFIX.ext",
        "Merge the pieces of a split image (tiles), audio or video task into one task, joining "
        "annotations cut at the seams. The kind follows the pieces' file extension.",
        "example:\n  fastlabel-formats integrate tiles.json --prefix image/cat --grid 3x3 -o cat.json",
        source="JSON file holding the split tasks",
    )
    integrate.add_argument("--prefix", required=True, help="the common name prefix, e.g. image/cat")
    integrate.add_argument("--grid", help="image tiles: ROWSxCOLS (default: a square grid)")
    integrate.add_argument("--tol", type=finite, default=1.0, help="image tiles: seam tolerance in pixels")
    integrate.add_argument("--keep-other-types", action="store_true",
                           help="image tiles: also keep pose and circle annotations (moved into place, never merged)")
    integrate.add_argument("-o", "--output", required=True, help="output JSON file (a list with one task)")
    integrate.set_defaults(run=run_integrate)
    split = _command(commands, "split", "split image tasks into a grid of tile tasks",
                     "Split every image task into ROWSxCOLS tiles named <name without extension>/<n>.<ext>, "
                     "annotations clipped to each tile.", source="JSON file holding image tasks")
    split.add_argument("--grid", required=True, help="ROWSxCOLS, e.g. 3x3")
    split.add_argument("-o", "--output", required=True, help="output folder (tasks.json)")
    split.set_defaults(run=run_split)


def _add_export(commands) -> None:
    export = commands.add_parser(
        "export", help="write FastLabel tasks as COCO / YOLO / Pascal VOC / labelme files", parents=[_common()],
        description="Write FastLabel tasks (a JSON list, as get_image_tasks returns) in other formats.",
        epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("tasks", help="FastLabel tasks: a JSON list, a .jsonl file (one task per line) or a "
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
    _add_raster(export)
    export.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE",
                        help="FastLabel project type: image_bbox (default), image_segmentation, video_bbox, …")
    export.add_argument("--videos", type=existing_folder, help="video projects: folder holding each task's video")
    export.add_argument("--indent", type=int, choices=(4,), help="JSON: 4 = the official SDK's bytes")
    export.add_argument("--strict", action="store_true", help="fail instead of dropping anything")
    export.add_argument("--overwrite", action="store_true",
                        help="replace target folders that hold an earlier export (default: refuse them)")
    add_format_options(export, reading=False, writing=True)
    _add_workers(export)
    export.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE", dest="storage_option",
                        help="an fsspec option for URL inputs and outputs (s3://, gs://, …), on this machine and "
                             "every Dask worker (repeatable): endpoint_url=…, key=…, anon=true, "
                             "client_kwargs.region_name=…")
    export.set_defaults(run=run_export)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="fastlabel-formats",
        description="Convert FastLabel task JSON to COCO, YOLO, Pascal VOC, labelme and segmentation PNGs, "
                    "offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_export(commands)
    _add_render(commands)
    _add_draw(commands)
    _add_convert(commands)
    _add_integrate_and_split(commands)
    _add_validate(commands)
    _add_stats(commands)
    _add_report(commands)
    _add_evaluate(commands)
    for add_commands in EXTRA_COMMANDS:
        add_commands(commands, _command)
    return parser


# Commands and errors of layers above the core (the API layer adds pull and push): each adder is
# called with the subparsers and the command builder; each error type maps to an exit code
# (checked in order, before FormatError's 2).
EXTRA_COMMANDS: list[Callable] = []
ERROR_CODES: list[tuple[type, int]] = []


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastlabel-formats")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fastlabel-formats``: 0 done, 1 findings or an I/O failure mid-run, 2 bad
    input, usage or a path that cannot be used, 130 interrupted, 143 terminated (SIGTERM)."""
    args = build_parser().parse_args(argv)
    QUIET["on"], REPORTS[:] = args.quiet, []
    code, error, report_path = 0, None, None
    try:
        with terminated_as_interrupt():
            if args.report_json:
                report_path = output_file(args.report_json, _output_folders(args))
            code = args.run(args)
    except BaseException as failure:  # noqa: B036 - every failure becomes an exit code and a message
        code, error = _failure(failure, args.debug)
    if report_path is not None:
        try:
            write_atomic(report_path, report_json(REPORTS, code, error))
        except (OSError, FormatError) as failure:
            code, _ = _failure(failure, args.debug)
    return code


def _failure(failure: BaseException, debug: bool) -> tuple[int, str]:
    """The exit code and message of a failed run, printed (with the traceback under --debug); what
    is no error of ours (SystemExit, a bug) goes on up."""
    handled = (FormatError, *(kind for kind, _ in ERROR_CODES))
    if isinstance(failure, handled):
        code = next((code for kind, code in ERROR_CODES if isinstance(failure, kind)), 2)
        text = user_text(str(failure))
    elif isinstance(failure, OSError):
        code, text = os_error(failure)
    elif isinstance(failure, KeyboardInterrupt):
        code, text = 130, "interrupted"
    elif isinstance(failure, Terminated):
        code, text = 143, "terminated"
    else:
        raise failure
    if debug:
        import traceback

        traceback.print_exception(failure)
    print(f"fastlabel-formats: {'error: ' if code not in (130, 143) else ''}{text}", file=sys.stderr)
    return code, text


def _output_folders(args: argparse.Namespace) -> list[str]:
    """The folders this command replaces (a report must not be written inside them)."""
    output = getattr(args, "output", None)
    if not output or args.command in ("validate", "integrate", "report"):
        return []
    if args.command == "export":
        return [f"{output.rstrip('/')}/{target_name(name)}" for name in args.to.split(",") if name.strip()]
    return [output]


def _output_file(path: str | os.PathLike[str], source: object) -> Path:
    """The checked output file ``path``, which must not be the input ``source``."""
    output = output_file(path)
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source) and output.is_file() \
            and os.path.samefile(source, output):
        raise FormatError(f"{path}: is the input file; write to another file")
    return output


if __name__ == "__main__":
    sys.exit(main())
