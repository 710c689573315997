"""Pascal VOC XML: one document per image, or the VOC dataset layout (``Annotations/``,
``ImageSets/Main/<split>.txt``, ``labelmap.txt``, ``JPEGImages/``)."""

from __future__ import annotations

from pathlib import Path

from .. import pascalvoc as module
from .. import pascalvoc_import as reader
from ..targets import TargetOptions, layout_options
from . import Format


def read_pascalvoc(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a folder of VOC XML documents."""
    return reader.pascalvoc_tasks(source, report=report)


def detect_pascalvoc(path: Path) -> float:
    """A folder holding ``.xml`` documents."""
    return 0.5 if path.is_dir() and next(path.rglob("*.xml"), None) is not None else 0.0


def pascalvoc_target(output_dir, options: TargetOptions) -> module.PascalVocTarget:
    """``annotations/<name>.xml``, or the ``voc`` dataset layout."""
    return module.PascalVocTarget(output_dir, **layout_options(options, "voc"))


FORMAT = Format(name="pascalvoc", summary="Pascal VOC XML", aliases=("voc",), read=read_pascalvoc,
                detect=detect_pascalvoc, target=pascalvoc_target, layouts=("voc",), source_help="VOC folder",
                verbs={"to_pascalvoc": module.to_pascalvoc, "export_pascalvoc": module.export_pascalvoc,
                       "pascalvoc_tasks": reader.pascalvoc_tasks,
                       "pascalvoc_to_fastlabel": reader.pascalvoc_to_fastlabel})
