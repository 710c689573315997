"""Label Studio JSON <-> FastLabel: the export a project's "JSON" button writes, a list of tasks each
with ``data`` (the image, audio or video URL), ``annotations[].result[]`` and ``predictions[]``.

Regions (coordinates are percentages of ``original_width`` / ``original_height``):

* ``rectanglelabels``: ``x, y, width, height`` and ``rotation`` (degrees, clockwise on screen, about
  the box's top-left corner) <-> a FastLabel bbox ``[x1, y1, x2, y2]`` whose ``rotation`` turns it
  about its centre: the same rectangle, its rotated top-left corner at Label Studio's ``x, y``;
* ``polygonlabels`` <-> polygon, ``keypointlabels`` <-> keypoint;
* ``brushlabels`` (Label Studio's RLE of the RGBA mask, its alpha channel painted where non-zero)
  <-> segmentation (every pixel kept: holes and separate parts included);
* ``choices`` of the task <-> one classification per chosen value; ``choices`` / ``textarea`` /
  ``number`` results that share a region's ``id`` (per-region controls) <-> that annotation's
  attributes (``key`` = the control's ``from_name``);
* audio ``labels`` (``start``, ``end`` in seconds) <-> an audio segmentation (``start``, ``end``);
* ``videorectangle`` tracks (keyframes, interpolated between) <-> FastLabel video bboxes (a box per
  frame; see :mod:`fastlabel_formats.formats.labelstudio.video`).

Predictions are kept apart from annotations: by default only the first annotation that is not
cancelled is read, and every prediction, further annotation and cancelled annotation left out is
counted in the report. ``predictions=True`` also reads the predictions (``"only"``: only them):
their regions carry the attributes ``score`` (the result's, else the prediction's) and
``model_version``; on the way back an annotation with either attribute is written as a prediction.
The labelling config is not in the export: control names (``from_name``, ``to_name``) are not
carried, and written back as ``label`` / ``choice`` / ``box`` / ``image`` (or as given). Video results
hold no size: the reader takes it from the video in ``images`` (or the results' ``original_width``).
Reading is :mod:`fastlabel_formats.formats.labelstudio.reader`: a file larger than a block is read
a block of whole tasks at a time (:func:`iter_labelstudio_tasks` hands them on one by one, in
bounded memory), the pixels of the block's regions
(:mod:`fastlabel_formats.formats.labelstudio.regions`) computed at once. Writing is
:mod:`fastlabel_formats.formats.labelstudio.writer`, chunk by chunk: the results of each type made
over the whole chunk table, the chunk's tasks serialised by one ``orjson`` call; a file that is not
indented takes the same bytes straight from the table's columns
(:mod:`fastlabel_formats.formats.labelstudio.writer_json`). A result list whose every region is
typical is read by :mod:`fastlabel_formats.formats.labelstudio.quick`. The brush RLE is
:mod:`fastlabel_formats.formats.labelstudio.brush`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ...categories import Census
from ...errors import FormatError
from ...files import atomic_output, output_path, parts_folder_beside
from ...jsonparts import JsonListSpool, list_fragment, write_list
from ...report import ConversionReport
from ...run import RunOptions, Target, export_alone, kept_parts
from ...runtime import gc_paused
from ...table import AnnotationTable
from .. import Format, Option
from .brush import brush_decode as brush_decode
from .brush import brush_encode as brush_encode
from .brush import brush_mask as brush_mask
from .reader import image_name as image_name
from .reader import iter_labelstudio_tasks, labelstudio_tasks, labelstudio_to_fastlabel
from .writer import WriteOptions, labelstudio_records, video_records
from .writer_json import labelstudio_json

READ_OPTIONS = ("predictions", "annotation", "data_key")


class LabelStudioTarget(Target):
    """One Label Studio JSON file (``output_file_name``) of every task, built chunk by chunk."""

    name = "labelstudio"
    geometry = frozenset(("bbox", "polygon", "keypoint", "segmentation"))
    spools_parts = True  # parts {"tasks": fragment}: a worker's spooled beside the output file

    def __init__(self, output_dir: str | os.PathLike[str], *, output_file_name: str = "labelstudio.json",
                 project_type: str = "image_bbox", image_root: str | None = None,
                 from_names: Mapping[str, str] | None = None, to_name: str | None = None,
                 frame_counts: Mapping[str, int] | None = None, indent: int | None = None) -> None:
        super().__init__(output_dir)
        if not output_file_name.lower().endswith(".json"):
            raise FormatError(f"output_file_name {output_file_name!r} must end with .json")
        data_key = next((kind for kind in ("audio", "video") if project_type.startswith(kind)), "image")
        self.options = WriteOptions(dict(from_names or {}), to_name or data_key, data_key, image_root,
                                    frame_counts)
        self.output_file_name, self.indent = output_file_name, indent
        self.spool: JsonListSpool | None = None

    def path(self) -> Path | str:
        return output_path(self.output_dir, self.output_file_name, "output_file_name")

    def __getstate__(self) -> dict:
        return {**self.__dict__, "spool": None}

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """Where workers spool their parts (beside the output file)."""
        self.parts_dir = parts_folder_beside(self.path())

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> dict[str, bytes]:
        if self.indent is None and not table.is_video:  # the JSON straight from the table's columns
            return {"tasks": labelstudio_json(table, report, self.options)}
        records = video_records if table.is_video else labelstudio_records
        return {"tasks": list_fragment(records(table, report, self.options), self.indent)}

    def assemble(self, parts: list[dict], report: ConversionReport) -> None:
        """Append each fragment (or a worker's part file) to the spool of the tasks."""
        if self.spool is None:
            self.spool = JsonListSpool(self.path(), "tasks", self.indent)
        for part in parts:
            self.spool.add(part.get("tasks"))

    def finish(self, report: ConversionReport) -> None:
        try:
            path = self.path()
            with atomic_output(path) as stream:
                write_list(stream, self.spool)
            report.files.append(path)
        finally:
            self.abort()

    def abort(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        super().abort()


@gc_paused
def to_labelstudio(tasks: object, *, project_type: str = "image_bbox", image_root: str | None = None,
                   from_names: Mapping[str, str] | None = None, to_name: str | None = None,
                   frame_counts: Mapping[str, int] | None = None,
                   report: ConversionReport | None = None) -> list[dict]:
    """The Label Studio tasks of ``tasks`` (a list, a path or any iterable of FastLabel tasks); video
    projects need ``frame_counts`` (``{task name: frames}``)."""
    report = report or ConversionReport("labelstudio")
    target = LabelStudioTarget(".", project_type=project_type, image_root=image_root, from_names=from_names,
                               to_name=to_name, frame_counts=frame_counts)
    parts = kept_parts(tasks, target, lambda table, plan, report, ids: (
        video_records if table.is_video else labelstudio_records)(table, report, target.options), report,
        RunOptions(project_type, frame_counts=frame_counts))
    return [record for records in parts for record in records]


@gc_paused
def export_labelstudio(
    tasks: object,
    output_dir: str | os.PathLike[str] = os.path.join("output", "labelstudio"),
    *,
    project_type: str = "image_bbox",
    output_file_name: str = "labelstudio.json",
    image_root: str | None = None,
    from_names: Mapping[str, str] | None = None,
    to_name: str | None = None,
    frame_counts: Mapping[str, int] | None = None,
    indent: int | None = None,
    strict: bool = False,
    progress: bool = False,
    jobs: int = 1,
    scheduler: object = None,
    overwrite: bool | None = None,
) -> ConversionReport:
    """Write ``output_dir/output_file_name``: one Label Studio task per FastLabel task, its regions
    as one annotation and the regions carrying ``score`` / ``model_version`` as predictions.
    ``image_root`` prefixes each task name in ``data`` (e.g. ``/data/local-files/?d=images``);
    ``from_names`` maps a Label Studio result type to its control's name, ``to_name`` names the
    object tag (default ``image``, ``audio`` / ``video`` for audio / video projects). Video projects
    need ``frame_counts`` (``{task name: frames}``): their boxes become ``videorectangle`` tracks."""
    target = LabelStudioTarget(output_dir, output_file_name=output_file_name, project_type=project_type,
                               image_root=image_root, from_names=from_names, to_name=to_name,
                               frame_counts=frame_counts, indent=indent)
    return export_alone(tasks, target, strict=strict, project_type=project_type, frame_counts=frame_counts, jobs=jobs,
                        scheduler=scheduler, progress=progress, overwrite=overwrite)


def read_labelstudio(source, *, report=None, images=None, **options) -> list[dict]:
    """The tasks of a Label Studio JSON export; of the ``options`` it takes ``predictions``,
    ``annotation`` and ``data_key`` (see :func:`labelstudio_tasks`), the others are other formats'."""
    own = {key: options[key] for key in READ_OPTIONS if options.get(key) is not None}
    own["predictions"] = {"no": False, "yes": True}.get(own.get("predictions"), own.get("predictions", False))
    return labelstudio_tasks(source, report=report, images=images, **own)


def detect_labelstudio(path: Path) -> float:
    """A JSON array whose first 64 KB hold a task's ``data`` and a ``result`` list or ``predictions``."""
    if not path.is_file() or path.suffix.lower() != ".json":
        return 0.0
    with path.open("rb") as stream:
        head = stream.read(1 << 16).lstrip()
    if not head.startswith(b"[") or b'"data"' not in head:
        return 0.0
    return 0.85 if b'"result"' in head or b'"predictions"' in head else 0.0


FORMAT = Format(
    name="labelstudio", summary="Label Studio JSON export (tasks with annotations and predictions)",
    aliases=("label-studio",), read=read_labelstudio, detect=detect_labelstudio,
    target=lambda out, options: LabelStudioTarget(out, project_type=options.project_type,
                                                  image_root=options.image_dir, indent=options.indent),
    options=(Option("--predictions", "predictions", "Label Studio read: the predictions too, or only them",
                    choices=("no", "yes", "only")),
             Option("--annotation", "annotation", "Label Studio read: the first annotation of a task, or all",
                    choices=("first", "all"))),
    source_help="Label Studio JSON export", verbs={"to_labelstudio": to_labelstudio,
                                                   "export_labelstudio": export_labelstudio,
                                                   "labelstudio_tasks": labelstudio_tasks,
                                                   "iter_labelstudio_tasks": iter_labelstudio_tasks,
                                                   "labelstudio_to_fastlabel": labelstudio_to_fastlabel})
