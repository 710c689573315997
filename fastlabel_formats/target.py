"""The target protocol: what each output of a run implements, and the engine's numbering of records.

A run (:mod:`fastlabel_formats.run`) calls the hooks of :class:`Target` in the order its docstring
gives; :class:`PerImageTarget` is a target writing one file per frame; :class:`Kept` runs a target
for a ``to_*`` function, keeping its parts in memory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .categories import Census
from .files import basename, is_remote, output_path, output_paths, remove, safe_relative, write_many
from .report import ConversionReport
from .table import AnnotationTable, TaskChunk
from .tasks import Frame, image_frames


class Target:
    """One output of a run. The engine calls its hooks in this order (targets travel to workers pickled):

    - :meth:`check_task` (pass 1, in a worker, per task) and :meth:`survey` (pass 1, in a worker, per block);
    - :meth:`record_count` (pass 1, in a worker, per block) for a ``numbered`` target in a run spread
      over workers;
    - :meth:`prepare` (in the parent, once pass 1 has read the whole input);
    - :meth:`plan` (in the parent, per block in input order, from its survey);
    - :meth:`encode` (pass 2, in a worker, per chunk table; a :class:`PerImageTarget`'s files are
      then written there, by its :meth:`~PerImageTarget.write`);
    - :meth:`assemble` (in the parent, per block in input order, the encoded parts of its chunks);
    - :meth:`finish` (in the parent, after the last block) or :meth:`abort` (when the run fails).

    The engine owns the order, the frame numbers (``table.first_frame``) and the record ids of a
    ``numbered`` target: its ``encode`` takes them from the :class:`Ids` it is given. A target whose
    ``spools_parts`` is set encodes ``{key: JSON list fragment}``; in a worker the engine joins a block's
    fragments of each key into one part file in ``self.parts_dir`` (separated as ``self.indent`` lays
    them out), so that ``assemble`` receives ``{key: part file}`` instead of the bytes."""

    name = "target"
    geometry: frozenset = frozenset()
    images_per_chunk: int | None = None
    numbered = False  # its records carry ids numbered across the run by the engine
    spools_parts = False  # its parts are JSON list fragments by key, spooled to part files in a worker
    parts_dir: Path | str | None = None  # where its workers spool them (a spools_parts target sets it in prepare)
    fresh_folder = False  # output_dir is the run's new staging folder, unseen until published whole

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.output_dir = output_dir if is_remote(output_dir) else Path(output_dir)
        self.published_dir = self.output_dir  # where the output ends up (a staged run moves it there)

    def write_into(self, folder: Path) -> None:
        """Write into ``folder``, a new staging folder (made by the run, seen by nobody) which is moved
        to the output folder once the run is complete, or removed whole when it fails."""
        self.published_dir, self.output_dir = self.output_dir, folder
        self.fresh_folder = True

    def output(self, name: str, place: str, folder: str = "") -> Path | str:
        """The checked path of ``name`` inside ``folder`` of the output folder."""
        return output_path(self.output_dir, f"{folder}/{safe_relative(name, place)}" if folder else name, place)

    def check_task(self, task: dict, source: str) -> None:
        """Raise FormatError (in pass 1, before anything is written) when ``task`` cannot be written."""

    def survey(self, chunk: TaskChunk) -> object:
        """What the parent needs to know about this block to plan it (pass 1, in a worker)."""
        return None

    def record_count(self, table: AnnotationTable) -> int:
        """How many ids the :meth:`encode` of ``table`` takes (pass 1, in a worker; ``numbered`` targets)."""
        raise NotImplementedError

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """Everything that needs the whole input's census (class names, categories); in the parent."""

    def plan(self, survey: object) -> object:
        """The plan of the next block, from its survey (in the parent, blocks in input order)."""
        return None

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport, ids: Ids | None = None
               ) -> object:
        """The encoded part of one chunk table (in a worker; ``plan``: its block's; ``ids``, given to a
        ``numbered`` target only: where it takes its record ids)."""
        raise NotImplementedError

    def assemble(self, parts: list, report: ConversionReport) -> None:
        """Take the encoded parts of one block's chunks (in the parent, blocks in input order)."""

    def finish(self, report: ConversionReport) -> None:
        """Write what comes after all blocks (class lists, the assembled COCO file); in the parent."""

    def abort(self) -> None:
        """Remove what only this run's unfinished output needed (spools, part files); in the parent."""
        if self.parts_dir is not None:
            remove(self.parts_dir, recursive=True)


class Ids:
    """The engine's numbering of a ``numbered`` target's records: :meth:`take` hands out the next ids."""

    __slots__ = ("next",)

    def __init__(self, first: int = 1) -> None:
        self.next = first

    def take(self, count: int) -> int:
        """The first of ``count`` consecutive ids, the next ``take`` starting after them."""
        first = self.next
        self.next += count
        return first


class PerImageTarget(Target):
    """A target writing one file per frame: ``output_dir/folder/<basename><suffix>``, in the worker."""

    folder = ""
    suffix = ""
    unique_outputs = True  # two tasks writing one file stop the run before anything is written

    def file_name(self, frame: Frame) -> str:
        """The frame's file name inside ``folder``."""
        return basename(frame.file_name) + self.suffix

    def check_task(self, task: dict, source: str) -> None:
        safe_relative(self.file_name(image_frames([task])[0]), f"{source}: {self.name} file {task['name']!r}")

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport, ids: Ids | None = None
               ) -> list[bytes | None]:
        """The file contents of every frame of ``table`` (None: no file for that frame)."""
        raise NotImplementedError

    def write(self, table: AnnotationTable, part: list[bytes | None], report: ConversionReport) -> list[str]:
        """Write the files :meth:`encode` made of ``table`` (in the worker); what the parent gets: their paths."""
        written = [(frame, data) for frame, data in zip(table.frames, part, strict=True) if data is not None]
        paths = output_paths(self.output_dir, [self.file_name(frame) for frame, _ in written], table.source,
                             self.folder)
        files = dict(zip(paths, (data for _, data in written)))
        write_many(files, fresh=self.fresh_folder)  # an object store's in parallel; a staging folder's directly
        return [str(path) for path in files]

    def assemble(self, parts: list[list[str]], report: ConversionReport) -> None:
        report.files.extend_written([path for written in parts for path in written])


class Kept(Target):
    """The target of a ``to_*`` function: ``target``'s census, plans and ids, each chunk table's
    part made by ``part(table, plan, report, ids)`` (as ``target.encode``; ``ids`` None unless
    ``target`` is numbered) and kept in memory, in input order; nothing is written."""

    def __init__(self, target: Target, part: Callable[[AnnotationTable, object, ConversionReport, Ids | None], object]
                 ) -> None:
        super().__init__(target.output_dir)
        self.target, self.part, self.parts = target, part, []
        self.name, self.geometry, self.numbered = target.name, target.geometry, target.numbered
        self.images_per_chunk = target.images_per_chunk

    def survey(self, chunk: TaskChunk) -> object:
        return self.target.survey(chunk)

    def record_count(self, table: AnnotationTable) -> int:
        return self.target.record_count(table)

    def prepare(self, census: Census, report: ConversionReport) -> None:
        self.target.prepare(census, report)

    def plan(self, survey: object) -> object:
        return self.target.plan(survey)

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport, ids: Ids | None = None
               ) -> object:
        return self.part(table, plan, report, ids)

    def assemble(self, parts: list, report: ConversionReport) -> None:
        self.parts += parts
