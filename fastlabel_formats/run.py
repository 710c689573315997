"""One export run: a census pass over the input, then the input streamed once more as one annotation
table per chunk, shared by every target of the run, in-process or in worker processes.

Memory depends on the chunk size, not on the project: tasks are read one at a time (see
:mod:`fastlabel_formats.source`), a chunk of about ``CHUNK_ROWS`` annotations becomes one
:class:`~fastlabel_formats.tasks.AnnotationTable`, and every target turns it into files (per-image
formats) or into a fragment that the parent appends in order (COCO). With ``jobs=N`` the tables
are pickled to N spawned worker processes (no fork, no threads inherited, macOS / Windows /
Python 3.12+ safe); whatever depends on earlier chunks (COCO ids) is planned in the parent from
counts, so the output is byte-identical to ``jobs=1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from . import tasks as tasks_module
from .categories import Census
from .files import basename, output_path, write_atomic
from .parallel import ordered_results
from .report import ConversionReport, Finding
from .runtime import gc_paused
from .source import TaskSource, task_source
from .tasks import AnnotationTable, Frame, TaskChunk, image_frames, is_video
from .video import project_frames


class Target:
    """One output of a run. The parent calls :meth:`prepare` once after the census, then per table
    :meth:`plan` (in order, cheap, from the chunk's task dicts: what depends on earlier chunks) and
    :meth:`collect` (in order); :meth:`build` (the expensive part, on the chunk's table) may run in a
    worker process, so targets are picklable."""

    name = "target"
    geometry: frozenset = frozenset()
    images_per_chunk: int | None = None

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.output_dir = Path(output_dir)

    def check_task(self, task: dict, source: str) -> None:
        """Raise FormatError before anything is written when ``task`` cannot be written."""

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """Everything that needs the whole input's census (class names, categories)."""

    def plan(self, chunk: TaskChunk) -> object:
        """What :meth:`build` of this chunk needs to know about the chunks before it (from the
        chunk's task dicts: the table is built where :meth:`build` runs)."""
        return None

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> object:
        raise NotImplementedError

    def collect(self, result: object, report: ConversionReport) -> None:
        """Take the result of :meth:`build` in table order."""

    def finish(self, report: ConversionReport) -> None:
        """Write what comes after all tables (class lists, the assembled COCO file)."""


class PerImageTarget(Target):
    """A target writing one file per frame: ``output_dir/folder/<basename><suffix>``."""

    folder = ""
    suffix = ""

    def file_name(self, frame: Frame) -> str:
        return basename(frame.file_name) + self.suffix

    def check_task(self, task: dict, source: str) -> None:
        output_path(self.output_dir / self.folder, basename(task["name"]) + self.suffix,
                    f"{source}: {self.name} file {task['name']!r}")

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        """The file contents of every frame of ``table`` (None: no file for that frame)."""
        raise NotImplementedError

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[str]:
        written = []
        for frame, data in zip(table.frames, self.encode(table, plan, report), strict=True):
            if data is not None:
                path = output_path(self.output_dir / self.folder, self.file_name(frame), f"{table.source}")
                written.append(str(write_atomic(path, data)))
        return written

    def collect(self, result: list[str], report: ConversionReport) -> None:
        report.files.extend(Path(p) for p in result)


@gc_paused
def run_export(
    tasks: object,
    targets: Sequence[Target],
    reports: Sequence[ConversionReport],
    *,
    project_type: str = "image_bbox",
    videos: object = None,
    frame_counts: dict | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> None:
    """Convert ``tasks`` (any :func:`~fastlabel_formats.source.task_source`) into every target."""
    source = task_source(tasks).replayable()
    census = take_census(source, targets, check_names=not is_video(project_type))
    for target, report in zip(targets, reports):
        target.prepare(census, report)
    images_dirs = [t.output_dir / "images" for t in targets] if videos is not None else []
    frames_of = frame_maker(source.name, project_type, videos, frame_counts, images_dirs)
    geometry = frozenset().union(*(t.geometry for t in targets))
    limits = [t.images_per_chunk for t in targets if t.images_per_chunk]
    chunks = stream_chunks(source, frames_of, images=min(limits) if limits else None)
    with _progress(census.tasks if not is_video(project_type) else None, reports, progress) as bar:
        run_chunks(chunks, targets, reports, geometry, jobs, bar.update)
    for target, report in zip(targets, reports):
        target.finish(report)


def take_census(source: TaskSource, targets: Sequence[Target], check_names: bool = True) -> Census:
    """One pass over the input: every task checked (and its output names, before anything is
    written), values and their first colours counted."""
    census = Census(source.name)
    for task in source:
        census.add(task)
        if check_names:
            for target in targets:
                target.check_task(task, source.name)
    return census


def frame_maker(source: str, project_type: str, videos: object, frame_counts: dict | None,
                images_dirs: list[Path]) -> Callable[[dict], list[Frame]]:
    """The frames of one task: itself for image projects, its frames for video projects."""
    if not is_video(project_type):
        return lambda task: image_frames([task])
    return lambda task: project_frames([task], source, project_type, videos=videos, frame_counts=frame_counts,
                                       images_dirs=images_dirs)


def stream_chunks(source: TaskSource, frames_of: Callable[[dict], list[Frame]],
                  images: int | None = None) -> Iterator[TaskChunk]:
    """One chunk per run of consecutive frames holding about ``CHUNK_ROWS`` annotations (and at
    most ``images`` frames); a video task's frames may span chunks."""
    rows_limit = tasks_module.CHUNK_ROWS
    chunk_tasks: list[dict] = []
    chunk_frames: list[Frame] = []
    rows = first_frame = 0
    for task in source:
        chunk_tasks.append(task)
        per_frame = len(task.get("annotations", ()))
        for frame in frames_of(task):
            chunk_frames.append(replace(frame, task=len(chunk_tasks) - 1))
            rows += per_frame
            if rows >= rows_limit or (images and len(chunk_frames) >= images):
                yield TaskChunk(source.name, chunk_tasks, chunk_frames, first_frame)
                first_frame += len(chunk_frames)
                chunk_tasks, chunk_frames, rows = [task], [], 0
        if not chunk_frames:
            chunk_tasks = []
    if chunk_frames:
        yield TaskChunk(source.name, chunk_tasks, chunk_frames, first_frame)


def build_chunk(chunk: TaskChunk, geometry: frozenset, work: list[tuple[Target, object]],
                strict: list[bool]) -> tuple[int, list]:
    """Every target's :meth:`~Target.build` of one chunk's table, in a worker: the frame count
    and per target the result and the report findings."""
    table = chunk.table(geometry)
    out = []
    for (target, plan), is_strict in zip(work, strict):
        report = ConversionReport(target.name, strict=is_strict)
        out.append((target.build(table, plan, report), report.findings))
    return len(table.frames), out


def run_chunks(chunks: Iterator[TaskChunk], targets: Sequence[Target], reports: Sequence[ConversionReport],
               geometry: frozenset, jobs: int, done: Callable[[int], object]) -> None:
    """Plan, build and collect every chunk for every target, in chunk order (``jobs`` > 1: the
    builds in spawned worker processes, each report's findings merged back)."""
    if jobs <= 1:
        for chunk in chunks:
            plans = [target.plan(chunk) for target in targets]
            table = chunk.table(geometry)
            for target, plan, report in zip(targets, plans, reports):
                target.collect(target.build(table, plan, report), report)
            done(len(chunk.frames))
        return
    strict = [r.strict for r in reports]
    work = ((chunk, geometry, [(target, target.plan(chunk)) for target in targets], strict) for chunk in chunks)
    for frames, results in ordered_results(build_chunk, work, jobs):
        for target, report, (result, findings) in zip(targets, reports, results):
            _merge(report, findings)
            target.collect(result, report)
        done(frames)


def _merge(report: ConversionReport, findings: dict[str, Finding]) -> None:
    for finding in findings.values():
        report.add(finding.kind, finding.count, finding.examples)


class _progress:
    """A tqdm bar over tasks (off unless asked for)."""

    def __init__(self, total: int | None, reports: Sequence[ConversionReport], enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.label = ",".join(r.target for r in reports)

    def __enter__(self):
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, desc=self.label, unit="task", disable=not self.enabled, delay=0.5)
        return self.bar

    def __exit__(self, *exc) -> None:
        self.bar.close()


def planned_tables(tasks: object, target: Target, report: ConversionReport, project_type: str, videos: object,
                   frame_counts: Mapping[str, int] | None) -> Iterator[tuple[AnnotationTable, object]]:
    """In-process: the tables of ``tasks`` for one prepared ``target``, each with its plan."""
    source = task_source(tasks).replayable()
    target.prepare(take_census(source, [], check_names=False), report)
    frames_of = frame_maker(source.name, project_type, videos, frame_counts, [])
    for chunk in stream_chunks(source, frames_of):
        yield chunk.table(target.geometry), target.plan(chunk)


def write_text_file(path: Path, lines: Sequence[str]) -> Path:
    """``path`` with one line per entry, atomically."""
    return write_atomic(path, "".join(line + "\n" for line in lines).encode())
