"""The one way a package above the core adds commands to ``fastlabel-formats``: a
:class:`CliExtension` record, declared under the entry-point group ``fastlabel_formats.cli``::

    [project.entry-points."fastlabel_formats.cli"]
    api = "fastlabel_formats_api.cli:CLI_EXTENSION"

The command line loads every record of the group when it builds its parser; the core never
imports the packages that extend it. ``fastlabel_formats_api`` adds ``pull`` and ``push`` this way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

EXTENSION_GROUP = "fastlabel_formats.cli"


@dataclass(frozen=True)
class CliExtension:
    """Commands and error types a package adds to the command line.

    - ``name``: names the extension; of two records with one name (a package installed twice) the
      first is used.
    - ``add_commands(subparsers)``: adds the commands to the core's ``add_subparsers()`` object,
      each best made with :func:`fastlabel_formats.cli_options.command` (the common --quiet,
      --debug and --report-json) and given its handler with ``set_defaults(run=handler)``. A
      handler is called as ``handler(args, invocation)`` with the parsed arguments and the run's
      :class:`~fastlabel_formats.cli_support.Invocation`, and returns the exit code.
    - ``error_codes``: ``(exception type, exit code)`` pairs for the extension's errors, checked in
      order before a ``FormatError`` (exit 2); their messages are printed as the core's are.
    """

    name: str
    add_commands: Callable[[argparse._SubParsersAction], None]
    error_codes: tuple[tuple[type[BaseException], int], ...] = ()


@cache  # what is installed does not change while the program runs; reading it takes tens of ms
def installed_extensions() -> tuple[CliExtension, ...]:
    """The records of the ``fastlabel_formats.cli`` entry points, by entry-point name. One that
    cannot be loaded is left out with a warning on stderr (its commands are then missing)."""
    found: list[CliExtension] = []
    for entry in sorted(entry_points(group=EXTENSION_GROUP), key=lambda entry: (entry.name, entry.value)):
        try:
            extension = entry.load()
        except (ImportError, AttributeError) as error:
            extension = error
        if not isinstance(extension, CliExtension):
            problem = f"cannot be loaded ({extension})" if isinstance(extension, Exception) else "is no CliExtension"
            print(f"fastlabel-formats: warning: the command-line extension {entry.name} = {entry.value} {problem}; "
                  "its commands are left out", file=sys.stderr)
            continue
        found.append(extension)
    return unique(found)


def unique(extensions: Sequence[CliExtension]) -> tuple[CliExtension, ...]:
    """``extensions`` with the first of each name."""
    by_name: dict[str, CliExtension] = {}
    for extension in extensions:
        by_name.setdefault(extension.name, extension)
    return tuple(by_name.values())
