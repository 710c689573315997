"""The ``fastlabel-formats`` command line: its parser (the core's commands, then those of the
installed :class:`~fastlabel_formats.cli_extension.CliExtension` records) and ``main``, which runs
one command in its own :class:`~fastlabel_formats.cli_support.Invocation` and turns its outcome
into an exit code, a message and the ``--report-json`` file.

The commands live in :mod:`~fastlabel_formats.cli_commands` (export, render, draw, convert,
integrate, split) and :mod:`~fastlabel_formats.cli_checks` (validate, stats, report, evaluate)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from .cli_checks import add_checking_commands
from .cli_commands import add_writing_commands
from .cli_extension import CliExtension, installed_extensions, unique
from .cli_support import Invocation, Terminated, os_error, terminated_as_interrupt, user_text
from .errors import FormatError
from .files import write_atomic
from .report import ConversionReport
from .staging import output_file
from .targets import target_name


def build_parser(extensions: Sequence[CliExtension] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the command line: the core's commands and those of ``extensions``
    (default: the installed ones, :func:`~fastlabel_formats.cli_extension.installed_extensions`)."""
    parser = argparse.ArgumentParser(
        prog="fastlabel-formats",
        description="Convert FastLabel task JSON to COCO, YOLO, Pascal VOC, labelme and segmentation PNGs, "
                    "offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_writing_commands(commands)
    add_checking_commands(commands)
    for extension in _chosen(extensions):
        extension.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, extensions: Sequence[CliExtension] | None = None) -> int:
    """Entry point of ``fastlabel-formats``: 0 done, 1 findings or an I/O failure mid-run, 2 bad
    input, usage or a path that cannot be used, 130 interrupted, 143 terminated (SIGTERM).
    ``extensions``: the commands added to the core's (default: the installed ones)."""
    extensions = _chosen(extensions)
    args = build_parser(extensions).parse_args(argv)
    invocation = Invocation(quiet=args.quiet)
    error_codes = tuple(pair for extension in extensions for pair in extension.error_codes)
    code, error, report_path = 0, None, None
    try:
        with terminated_as_interrupt():
            if args.report_json:
                report_path = output_file(args.report_json, _output_folders(args))
            code = args.run(args, invocation)
    except BaseException as failure:  # noqa: B036 - every failure becomes an exit code and a message
        code, error = _failure(failure, args.debug, error_codes)
    if report_path is not None:
        try:
            write_atomic(report_path, report_json(invocation.reports, code, error))
        except (OSError, FormatError) as failure:
            code, _ = _failure(failure, args.debug, error_codes)
    return code


def report_json(reports: Sequence[ConversionReport], code: int, error: str | None) -> bytes:
    """The machine-readable report: exit code, error, and per target its files and each loss with
    its count and first places."""
    targets = {report.target: {"files": len(report.files), "ok": report.ok,
                               "findings": [{"kind": f.kind, "count": f.count, "examples": f.examples}
                                            for f in report.findings.values()]} for report in reports}
    return orjson.dumps({"exit_code": code, "error": error, "targets": targets}, option=orjson.OPT_INDENT_2)


def _chosen(extensions: Sequence[CliExtension] | None) -> tuple[CliExtension, ...]:
    """``extensions`` (the first of each name), or the installed ones when None."""
    return installed_extensions() if extensions is None else unique(extensions)


def _failure(failure: BaseException, debug: bool, error_codes: Sequence[tuple[type, int]] = ()) -> tuple[int, str]:
    """The exit code and message of a failed run, printed (with the traceback under --debug); what
    is no error of ours (SystemExit, a bug) goes on up. ``error_codes``: the extensions' error
    types and their exit codes, before FormatError's 2."""
    if isinstance(failure, (FormatError, *(kind for kind, _ in error_codes))):
        code = next((code for kind, code in error_codes if isinstance(failure, kind)), 2)
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


def _version() -> str:
    """The installed version of fastlabel-formats (``unknown`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastlabel-formats")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
