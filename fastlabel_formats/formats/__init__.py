"""The format registry: one :class:`Format` record per module of this package.

Each module ``fastlabel_formats/formats/<name>.py`` defines ``FORMAT = Format(...)``: its name and
aliases, how sure it is that a path holds it (``detect``), its reader (a path to FastLabel tasks),
its writer (an export target), its layouts and the public verbs it adds to ``fastlabel_formats``.
Everything else is derived from :data:`FORMATS`: the command line's choices and help, ``convert``,
``--from auto``, ``stats``, ``push`` and the ``export_<fmt>`` / ``to_<fmt>`` / ``<fmt>_tasks``
verbs of the package. Adding a format is adding one module here (and its tests).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FormatError


@dataclass(frozen=True)
class Option:
    """A command-line option of one format: ``--flag VALUE`` becomes the keyword ``key`` of its
    reader (``read``) and/or of its target (``write``, through ``TargetOptions.extra``)."""

    flag: str
    key: str
    help: str
    choices: tuple = ()
    type: Callable[[str], object] = str
    read: bool = True
    write: bool = False


@dataclass(frozen=True)
class Format:
    """One annotation format, both ways.

    - ``read(source, *, report, images=None, **options)``: FastLabel task dicts from a file or
      folder (``report``: a :class:`~fastlabel_formats.report.ConversionReport` that gets every
      item skipped or changed, with its place; ``images``: the images' folder, for sizes).
    - ``detect(path)``: how sure (0 to 1) that ``path`` holds this format; 0 when it does not.
    - ``target(output_dir, options)``: the export target (a
      :class:`~fastlabel_formats.run.Target`) writing this format under ``output_dir`` with a
      :class:`~fastlabel_formats.targets.TargetOptions`.
    - ``verbs``: public functions the package exports under these names.
    - ``options``: its own command-line options (:class:`Option`), added to the commands that read
      or write it.
    """

    name: str
    summary: str
    aliases: tuple[str, ...] = ()
    read: Callable[..., list[dict]] | None = None
    detect: Callable[[Path], float] | None = None
    target: Callable[..., object] | None = None
    layouts: tuple[str, ...] = ()
    source_help: str = "file or folder"
    verbs: Mapping[str, Callable] = field(default_factory=dict)
    options: tuple[Option, ...] = ()


def _discover() -> dict[str, Format]:
    """Every ``FORMAT`` of this package's modules, by name (in module order)."""
    found: dict[str, Format] = {}
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        record = getattr(importlib.import_module(f"{__name__}.{module}"), "FORMAT", None)
        if isinstance(record, Format):
            register(record, found)
    return found


def register(record: Format, into: dict[str, Format] | None = None) -> Format:
    """Add ``record`` to the registry (a test registers its own); FormatError on a name clash."""
    registry = FORMATS if into is None else into
    for name in (record.name, *record.aliases):
        if name in registry or name in ALIASES:
            raise FormatError(f"format name {name!r} is registered twice")
    registry[record.name] = record
    ALIASES.update({alias: record.name for alias in record.aliases})
    return record


ALIASES: dict[str, str] = {}
FORMATS: dict[str, Format] = {}


def get(name: str) -> Format:
    """The format called ``name`` (or an alias of it); FormatError listing the known ones."""
    loaded()
    found = FORMATS.get(ALIASES.get(name, name))
    if found is None:
        raise FormatError(f"unknown format {name!r}; choose from {', '.join(sorted(FORMATS))}")
    return found


def loaded() -> dict[str, Format]:
    """The registry, filled on first use."""
    if not FORMATS:
        FORMATS.update(_discover())
    return FORMATS


def readable() -> list[str]:
    """Names of the formats that can be read."""
    return [name for name, record in loaded().items() if record.read is not None]


def writable() -> list[str]:
    """Names of the formats that can be written."""
    return [name for name, record in loaded().items() if record.target is not None]


def detect(source: str | os.PathLike[str]) -> str:
    """The name of the format ``source`` most surely holds (``--from auto``)."""
    path = Path(source)
    scores = {name: record.detect(path) for name, record in loaded().items() if record.detect is not None}
    best = max(scores, key=scores.get, default=None)
    if best is None or scores[best] <= 0:
        raise FormatError(f"{source}: not recognised as any of {', '.join(readable())}; give --from")
    return best


def options(reading: bool) -> dict[str, tuple[Option, list[str]]]:
    """``{flag: (option, [format names])}`` of every format's options for reading or writing."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for name, record in loaded().items():
        for option in record.options:
            if option.read if reading else option.write:
                found.setdefault(option.flag, (option, []))[1].append(name)
    return found
