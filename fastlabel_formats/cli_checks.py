"""The commands that look at a project: ``validate``, ``stats``, ``report`` and ``evaluate``, each
as its parser (``_add_<command>``) beside its handler (``run_<command>``, called with the parsed
arguments and the run's :class:`~fastlabel_formats.cli_support.Invocation`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson

from .checks import stats, validate
from .cli_options import (
    PROJECT_TYPES,
    add_format_options,
    checked_output_file,
    command,
    format_options,
    read_classes,
    read_definitions,
    source_choices,
)
from .cli_support import Invocation, existing_folder, whole_number
from .convert import detect_format, read_tasks, video_frame_counts
from .errors import FormatError
from .evaluation import BACKENDS, cli_evaluate
from .files import dump_json, write_atomic
from .repair import repair
from .report import ConversionReport
from .report_html import DEFAULT_SAMPLES, MAX_SAMPLES
from .report_html import report as write_report


def add_checking_commands(commands: argparse._SubParsersAction) -> None:
    """``validate``, ``stats``, ``report`` and ``evaluate``."""
    for add in (_add_validate, _add_stats, _add_report, _add_evaluate):
        add(commands)


def run_validate(args: argparse.Namespace, invocation: Invocation) -> int:
    """Check a project (``--fix``: repair it first, then check the repaired copy); exit 1 when
    anything is found."""
    started = time.perf_counter()
    classes, definitions = read_classes(args.classes), read_definitions(args.annotations)  # before -o is written
    tasks = _repaired(args, invocation) if args.fix else args.tasks
    report = invocation.keep(validate(tasks, classes=classes, annotations=definitions,
                                      project_type=args.project_type))
    found = sum(finding.count for finding in report.findings.values())
    _list_findings(invocation, "validate" + " (the repaired tasks)" * args.fix, report)
    invocation.say(f"[{time.perf_counter() - started:.2f} s]")
    return 1 if found else 0


def _repaired(args: argparse.Namespace, invocation: Invocation) -> list[dict]:
    """The repaired tasks of ``--fix``, written to ``-o`` (atomically) and their changes listed."""
    if not args.output:
        raise FormatError("--fix writes the repaired tasks to a file: give -o FIXED.json")
    changes = ConversionReport("validate --fix")
    output = checked_output_file(args.output, args.tasks)
    tasks = repair(args.tasks, report=changes)
    write_atomic(output, dump_json(tasks))
    changes.files.append(Path(args.output))
    invocation.keep(changes)
    _list_findings(invocation, f"fix: {len(tasks):,} task(s) written to {args.output}", changes, "change(s)")
    return tasks


def _list_findings(invocation: Invocation, title: str, report: ConversionReport, what: str = "finding(s)") -> None:
    """``title`` with the count of findings, then each kind with its first places."""
    found = sum(finding.count for finding in report.findings.values())
    invocation.say(f"{title}: {'nothing found' if not found else f'{found:,} {what}, by kind:'}")
    for finding in report.findings.values():
        invocation.say(f"  {finding.count} × {finding.kind}")
        for place in finding.examples[:3]:
            invocation.say(f"      e.g. {place}")


def _add_validate(commands: argparse._SubParsersAction) -> None:
    check = command(
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


def run_stats(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print (or write as JSON) a project's counts."""
    source_format = detect_format(args.tasks) if args.source_format == "auto" else args.source_format
    tasks = args.tasks if source_format == "fastlabel" else read_tasks(args.tasks, source_format,
                                                                        options=format_options(args))
    video = args.project_type == "image_bbox" and video_frame_counts(tasks)  # MOT, CVAT video: by their frames
    counts = stats(tasks, project_type="video_bbox" if video else args.project_type)
    if args.json:
        print(orjson.dumps(counts, option=orjson.OPT_INDENT_2).decode())
        return 0
    say = invocation.say
    say(f"{counts['images']:,} image(s), {counts['images_without_annotations']:,} without annotations")
    for title, key in (("per type", "annotations_per_type"), ("per class", "annotations_per_class")):
        say(f"annotations {title}: " + ", ".join(f"{k} {v:,}" for k, v in counts[key].items()))
    for split, classes in counts["per_split"].items():
        say(f"  {split}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(classes.items())))
    for axis, (low, middle, high) in ((k, v) for k, v in counts["bbox_sizes_min_median_max"].items() if v):
        say(f"bbox {axis}: min {low:g}, median {middle:g}, max {high:g}")
    return 0


def _add_stats(commands: argparse._SubParsersAction) -> None:
    counting = command(
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


def run_report(args: argparse.Namespace, invocation: Invocation) -> int:
    """Write the one-file HTML report of a project."""
    started = time.perf_counter()
    losses = write_report(args.tasks, checked_output_file(args.output, args.tasks), source_format=args.source_format,
                          images=args.images, samples=args.samples, seed=args.seed,
                          classes=read_classes(args.classes), annotations=read_definitions(args.annotations),
                          project_type=args.project_type, predictions=args.predictions,
                          pred_format=args.pred_from, iou_type=args.iou_type, progress=invocation.progress)
    return invocation.finish(losses, started)


def _add_report(commands: argparse._SubParsersAction) -> None:
    showing = command(
        commands, "report", "one self-contained HTML file: counts, box sizes, findings drawn, sample images",
        "Write one HTML file that opens from disk without a network: summary numbers, annotations per class and "
        "split, box width / height / area histograms (log scale), images without annotations, every validate "
        "finding as a thumbnail cropped around its shape, and a seeded sample of images with their annotations "
        "drawn; a class filter and a search. Without --images shapes are drawn on blank canvases.",
        "examples:\n  fastlabel-formats report tasks.json --images images -o report.html\n"
        "  fastlabel-formats report data.yaml --from yolo --samples 48 -o report.html",
        source="tasks, or a COCO / YOLO / VOC / labelme source",
    )
    showing.add_argument("--from", dest="source_format", default="auto", choices=source_choices())
    showing.add_argument("--images", type=existing_folder, help="the folder of the task images (IMAGES/<task name>)")
    showing.add_argument("--samples", type=whole_number(0, MAX_SAMPLES), default=DEFAULT_SAMPLES,
                         help=f"images drawn in the sample grid (default {DEFAULT_SAMPLES})")
    showing.add_argument("--seed", type=whole_number(0, 2**63 - 1), default=0, help="another draw of the sample")
    showing.add_argument("--classes", help="the known values: a file with one name per line, or a,b,c")
    showing.add_argument("--annotations", help="the known values from the project's annotation definitions")
    showing.add_argument("--project-type", default="image_bbox", choices=PROJECT_TYPES, metavar="PROJECT_TYPE")
    showing.add_argument("--predictions", metavar="PRED",
                         help="also score these predictions against SRC: a COCO results file, tasks with a 'score' "
                              "attribute, or YOLO labels with a confidence column")
    showing.add_argument("--pred-from", default="auto", choices=source_choices())
    showing.add_argument("--iou-type", default="bbox", choices=("bbox", "segm", "keypoints"))
    showing.add_argument("-o", "--output", required=True, help="the HTML file to write")
    showing.set_defaults(run=run_report)


def run_evaluate(args: argparse.Namespace, invocation: Invocation) -> int:
    """Print COCO's metrics of the predictions (a table, or JSON with ``--json``)."""
    return cli_evaluate(args)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    scoring = command(
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
    scoring.set_defaults(run=run_evaluate)
