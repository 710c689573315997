"""MkDocs hook: pages whose text holds a marker get it replaced by text made from the code itself.

- ``<!-- cli-reference -->``: the ``--help`` of ``fastlabel-formats`` and of each of its commands,
  from the argparse parser the command line runs (``pull`` and ``push`` included).
- ``<!-- format-table -->``: one row per record of the format registry (name, aliases, read, write,
  layouts, summary). A format module that does not import is left out (and logged), so a module
  being written does not break the build.

The docstrings are written for Sphinx-style readers (``:func:`name```); their roles are shown as
plain code in the API reference (``~a.b.c`` as ``c``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import re

log = logging.getLogger("mkdocs.hooks.generated")
CLI_MARKER, FORMAT_MARKER = "<!-- cli-reference -->", "<!-- format-table -->"
HELP_WIDTH = "100"
ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def on_page_markdown(markdown: str, page, config, files) -> str:
    """The page's Markdown with its markers replaced."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if FORMAT_MARKER in markdown:
        markdown = markdown.replace(FORMAT_MARKER, format_table())
    return markdown


def on_page_content(html: str, page, config, files) -> str:
    """The page's HTML with the docstrings' Sphinx roles shown as code."""
    return ROLE.sub(_role_code, html)


def _role_code(match: re.Match) -> str:
    """``:role:`~a.b.c``` as ``c``, ``:role:`a.b``` as ``a.b``."""
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target.lstrip('.')}</code>"


def command_parser() -> argparse.ArgumentParser:
    """The parser of ``fastlabel-formats``: the core's, extended by the API layer's commands."""
    api_cli = importlib.import_module("fastlabel_formats_api.cli")
    builder = getattr(api_cli, "build_parser", None) or importlib.import_module("fastlabel_formats.cli").build_parser
    return builder()


def cli_reference() -> str:
    """A section per command: its ``--help`` text, as a terminal 100 columns wide prints it."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        parser = command_parser()
        sections = [block("fastlabel-formats", parser.format_help())]
        for name, subparser in subcommands(parser).items():
            sections.append(block(f"fastlabel-formats {name}", subparser.format_help()))
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each command, by name (aliases left out)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # argparse offers no public way to list sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                if subparser not in found.values():
                    found[name] = subparser
    return found


def block(title: str, text: str) -> str:
    """A heading and the help text as a code block."""
    return f"## `{title}`\n\n```text\n{text.rstrip()}\n```\n"


def format_table() -> str:
    """The registry as a Markdown table, one importable format module a row."""
    from fastlabel_formats import formats

    rows = ["| format | also called | read | written | layouts | what it is |", "|---|---|---|---|---|---|"]
    for record in registry_records(formats):
        rows.append(" | ".join([
            f"| `{record.name}`", ", ".join(f"`{alias}`" for alias in record.aliases) or "—",
            "yes" if record.read is not None else "—", "yes" if record.target is not None else "—",
            ", ".join(f"`{layout}`" for layout in record.layouts) or "—",
            record.summary.replace("|", "\\|").replace("\n", " ") + " |"]))
    return "\n".join(rows) + "\n"


def registry_records(formats) -> list:
    """The ``FORMAT`` record of every format module that imports, in module order."""
    records = []
    for module in sorted(info.name for info in pkgutil.iter_modules(formats.__path__)):
        try:
            record = getattr(importlib.import_module(f"{formats.__name__}.{module}"), "FORMAT", None)
        except Exception as error:  # noqa: BLE001 - a module being written must not break the docs
            log.info("format module %s left out of the table: %s", module, error)
            continue
        if isinstance(record, formats.Format):
            records.append(record)
    return records
