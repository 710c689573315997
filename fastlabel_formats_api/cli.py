"""The ``fastlabel-formats`` command line: the core's commands plus ``pull`` and ``push``, which talk
to a FastLabel project (token from ``FASTLABEL_ACCESS_TOKEN``, server from ``FASTLABEL_API_URL``).

``pull`` and ``push`` reach the core's command line as a
:class:`~fastlabel_formats.cli_extension.CliExtension`, :data:`CLI_EXTENSION`, declared under the
``fastlabel_formats.cli`` entry-point group; :func:`main` and :func:`build_parser` add it also
where that entry point is not installed."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Sequence

from fastlabel_formats import FormatError
from fastlabel_formats import cli as core_cli
from fastlabel_formats.cli_extension import CliExtension, installed_extensions, unique
from fastlabel_formats.cli_options import command, read_classes, source_choices
from fastlabel_formats.cli_support import Invocation, positive
from fastlabel_formats.yolo_layout import parse_split

from .client import Client
from .exceptions import FastLabelException, FastLabelInvalidException
from .sync import SyncReport

PULL_EPILOG = """examples:
  fastlabel-formats pull my-project -o dataset --to coco,yolo --images --layout ultralytics --split train=0.8,val=0.2
  fastlabel-formats pull my-project -o dataset --to coco --status completed --tags reviewed"""
PUSH_EPILOG = """examples:
  fastlabel-formats push coco/annotations.json --project my-project --images photos/
  fastlabel-formats push labels/ --from yolo --project my-project --images photos/ --update"""


def run_pull(args: argparse.Namespace, invocation: Invocation) -> int:
    """Write a project's tasks as every target of --to; exit 1 when a file could not be fetched."""
    started = time.perf_counter()
    with _plain_messages(), _client() as client:
        reports, fetched = client.pull(
            args.project, args.output, [name for name in args.to.split(",") if name.strip()], status=args.status,
            tags=[tag for tag in (args.tags or "").split(",") if tag], images=args.images,
            classes=read_classes(args.classes), layout=args.layout,
            split=parse_split(args.split) if args.split else None, seed=args.seed, copy_images=args.copy_images,
            overwrite=args.overwrite, threads=args.threads, progress=invocation.progress)
    invocation.finish_all(reports.values(), started)
    return _outcome(fetched, invocation)


def run_push(args: argparse.Namespace, invocation: Invocation) -> int:
    """Create (or update) the tasks of a dataset in a project; exit 1 when a task failed."""
    started = time.perf_counter()
    with _plain_messages(), _client() as client:
        pushed = client.push(args.source, args.project, source_format=args.source_format, images=args.images,
                             update=args.update, create_classes=args.create_classes, threads=args.threads,
                             classes_file=args.classes_file)
    invocation.say(f"[{time.perf_counter() - started:.2f} s]")
    return _outcome(pushed, invocation)


@contextlib.contextmanager
def _plain_messages() -> Iterator[None]:
    """A FastLabelException leaving the block reads as a person's message (the server's status in
    words, not the SDK's ``<Response [422]>`` prefix); its type, and so the exit code, stay."""
    try:
        yield
    except FastLabelException as error:
        error.args = (error.user_message(),)
        raise


def _outcome(report: SyncReport, invocation: Invocation) -> int:
    (invocation.say if report.ok else _stderr)(report.summary())
    return 0 if report.ok else 1


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``pull`` and ``push`` on the core's subparsers."""
    pull = command(commands, "pull", "write a FastLabel project's tasks (and images) as a dataset",
                   "Page a project's tasks into every target of --to (one pass), fetching the task images "
                   "with --images. Needs FASTLABEL_ACCESS_TOKEN.", PULL_EPILOG, source="the project's slug",
                   positional="project")
    pull.add_argument("-o", "--output", default="dataset", help="output folder (default: dataset)")
    pull.add_argument("--to", default="coco", help="comma-separated targets: coco, yolo, voc, labelme, semantic, "
                                                   "instance (default: coco)")
    pull.add_argument("--status", help="only tasks of this status (e.g. completed)")
    pull.add_argument("--tags", help="only tasks with one of these tags: a,b")
    pull.add_argument("--images", action="store_true", help="fetch each task's image into OUT/images/ (files "
                                                            "already there with the right size are kept)")
    pull.add_argument("--classes", help="class order: a file with one name per line, or a,b,c (default: the "
                                        "project's annotation definitions)")
    pull.add_argument("--layout", choices=("yolo", "ultralytics"), default="yolo", help="YOLO layout")
    pull.add_argument("--split", help="Ultralytics layout: e.g. train=0.8,val=0.2")
    pull.add_argument("--seed", type=int, default=0, help="Ultralytics layout: another draw of --split")
    pull.add_argument("--copy-images", action="store_true", help="Ultralytics layout: copy instead of symlink")
    pull.add_argument("--overwrite", action="store_true", help="replace target folders that hold an earlier export")
    pull.add_argument("--threads", type=positive, default=8, help="download threads (default: 8)")
    pull.set_defaults(run=run_pull)
    push = command(commands, "push", "create FastLabel tasks from a dataset (resumable)",
                   "Create one image task per image of SRC with its annotations (--update: replace the annotations "
                   "of tasks that exist). Tasks already there with the same annotations are skipped, so a rerun "
                   "continues an interrupted push. Needs FASTLABEL_ACCESS_TOKEN.", PUSH_EPILOG,
                   source="the dataset: FastLabel tasks, a COCO file, a YOLO folder or data.yaml, VOC or labelme",
                   positional="source")
    push.add_argument("--from", dest="source_format", default="auto",
                      choices=source_choices(), help="SRC's format")
    push.add_argument("--project", required=True, help="the project's slug")
    push.add_argument("--images", help="folder of the images, by task name")
    push.add_argument("--classes-file", help="YOLO: the classes file (default: SRC/classes.txt)")
    push.add_argument("--update", action="store_true", help="replace the annotations of tasks that exist")
    push.add_argument("--create-classes", action="store_true",
                      help="create annotation classes the project lacks (default: refuse before sending anything)")
    push.add_argument("--threads", type=positive, default=4, help="parallel calls (default: 4)")
    push.set_defaults(run=run_push)


CLI_EXTENSION = CliExtension("fastlabel_formats_api", add_commands,
                             error_codes=((FastLabelInvalidException, 2), (FastLabelException, 1)))


def _client() -> Client:
    try:
        return Client()
    except ValueError as error:  # no token
        raise FormatError(f"{error} Set it to your FastLabel access token (and FASTLABEL_API_URL for another "
                          "server).") from None


def extensions() -> tuple[CliExtension, ...]:
    """The installed command-line extensions, this one included (also when its entry point is not
    installed, as in a checkout installed before it was declared)."""
    return unique((*installed_extensions(), CLI_EXTENSION))


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``fastlabel-formats``: the core's commands, pull and push."""
    return core_cli.build_parser(extensions())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fastlabel-formats`` (the core's commands, pull and push)."""
    return core_cli.main(argv, extensions())


if __name__ == "__main__":
    sys.exit(main())
