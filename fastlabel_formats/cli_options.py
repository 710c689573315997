"""The parts of the command line's commands that several share: the command builder with the
common options, the options of workers, rasters, overwriting and formats, and the readers of
option values (classes, annotation definitions, an output file)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import formats
from .cli_support import positive, scheduler
from .convert import source_formats
from .errors import FormatError
from .files import read_json, read_text
from .parallel import default_jobs
from .raster import RASTER_RULES
from .staging import output_file

PROJECT_TYPES = tuple(f"{media}_{kind}" for media in ("image", "video")
                      for kind in ("bbox", "polygon", "keypoint", "line", "segmentation", "pose_estimation",
                                   "classification", "all"))


def common_options() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    common.add_argument("--report-json", metavar="FILE", help="also write the report as JSON (also on failure)")
    return common


def command(commands: argparse._SubParsersAction, name: str, summary: str, description: str, epilog: str = "",
            source: str = "JSON file holding a list of FastLabel tasks",
            positional: str | None = None) -> argparse.ArgumentParser:
    """A subcommand with the common options, its description, examples (``epilog``) and the input
    argument ``positional`` (default ``tasks``; ``source`` for ``convert``) described by ``source``."""
    parser = commands.add_parser(name, help=summary, description=description, epilog=epilog,
                                 parents=[common_options()], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(positional or ("tasks" if name != "convert" else "source"), help=source)
    return parser


def add_workers(parser: argparse.ArgumentParser) -> None:
    """--jobs and --scheduler."""
    parser.add_argument("--jobs", type=positive, default=default_jobs(),
                        help="worker processes (default: the number of cores); with --scheduler local: Dask workers")
    parser.add_argument("--scheduler", type=scheduler,
                        help="run on Dask: 'local' (a LocalCluster on this machine) or a scheduler address such as "
                             "tcp://HOST:8786 (needs fastlabel-formats[dask])")


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """--overwrite of an output folder."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an output folder that holds an earlier run (default: refuse it)")


def add_raster(parser: argparse.ArgumentParser) -> None:
    """--raster: the pixel rule."""
    parser.add_argument("--raster", choices=RASTER_RULES, default="staircase",
                        help="pixels of PNGs, drawn segmentations and COCO RLE: the official SDK's rule (truncated "
                             "coordinates, staircase edges; default) or exact (pixel centres inside the float "
                             "shape)")


def add_drawing_run(parser: argparse.ArgumentParser) -> None:
    """What a command that draws pixels takes: --raster, the workers, --strict and --overwrite."""
    add_raster(parser)
    add_workers(parser)
    parser.add_argument("--strict", action="store_true", help="fail instead of skipping anything")
    add_overwrite(parser)


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


def with_aliases(names: list[str], auto: bool = False) -> list[str]:
    """``names`` and their aliases in the registry (and ``auto`` first when ``auto``)."""
    aliases = [alias for alias, name in formats.ALIASES.items() if name in names]
    return ["auto"] * auto + names + aliases


def source_choices() -> list[str]:
    """``auto`` and every readable format of the registry, with its aliases (``--from``)."""
    return with_aliases(source_formats(), True)


def read_classes(text: str | None) -> list[str] | None:
    """The class names of a --classes value: a file with one name per line, or ``a,b,c``."""
    if not text:
        return None
    path = Path(text)
    if path.is_file():
        return [line.strip() for line in read_text(path, "the classes file").splitlines() if line.strip()]
    if "," not in text and ("/" in text or "\\" in text or path.suffix.lower() in (".txt", ".names", ".csv")):
        raise FormatError(f"--classes {text!r}: no such file (give a file with one name per line, or a,b,c)")
    return [name.strip() for name in text.split(",") if name.strip()]


def read_definitions(path: str | None) -> list | None:
    """The annotation definitions of an --annotations file (a JSON list)."""
    if not path:
        return None
    data = read_json(path, "annotation definitions")
    if not isinstance(data, list):
        raise FormatError(f"{path}: annotation definitions must be a JSON list")
    return data


def checked_output_file(path: str | os.PathLike[str], source: object) -> Path:
    """The checked output file ``path``, which must not be the input ``source``."""
    output = output_file(path)
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source) and output.is_file() \
            and os.path.samefile(source, output):
        raise FormatError(f"{path}: is the input file; write to another file")
    return output
