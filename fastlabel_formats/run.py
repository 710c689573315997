"""One export run: the input in blocks of whole tasks, surveyed once, then converted once, by every
target of the run, in-process, in spawned worker processes or on a Dask cluster.

Memory depends on the block and chunk sizes, not on the project. The parent only cuts the input
into blocks (byte ranges of a file, slices of a list: :mod:`fastlabel_formats.source`); whoever
processes a block parses it. Pass 1 (:func:`survey_block`) checks every task and output name, and
counts what later blocks depend on (values and their first colours, frames, COCO records); the
parent merges the surveys in order and plans each block (first frame, first COCO id). Pass 2
(:func:`build_block`) cuts a block into chunks of about ``CHUNK_ROWS`` annotations, makes one
:class:`~fastlabel_formats.tasks.AnnotationTable` per chunk and lets every target turn it into
files (per-image formats) or fragments that the parent appends in order (COCO). Nothing is
written before pass 1 has read the whole input, and the output is byte-identical in every mode.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import tasks as tasks_module
from .categories import Census
from .clashes import block_outputs, check_clashes
from .errors import FormatError
from .files import basename, is_remote, output_path, safe_relative, write_atomic
from .parallel import Runner
from .report import ConversionReport, Finding
from .runtime import gc_paused
from .source import TaskBlock, TaskSource, task_source
from .staging import output_folders
from .tasks import AnnotationTable, Frame, TaskChunk, image_frames, is_video
from .validation import STRICT_LISTED, report_malformed, strict_failure
from .video import project_frames


class Target:
    """One output of a run. In workers: :meth:`check_task` and :meth:`survey` (pass 1, per block),
    :meth:`build` (pass 2, per chunk table). In the parent, in input order: :meth:`prepare` (after
    pass 1), :meth:`plan` (per block, from its survey), :meth:`collect` (per build result) and
    :meth:`finish`. Targets travel to workers pickled."""

    name = "target"
    geometry: frozenset = frozenset()
    images_per_chunk: int | None = None
    in_order = False  # set by the run when every block is built in this process, in order

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.output_dir = output_dir if is_remote(output_dir) else Path(output_dir)
        self.published_dir = self.output_dir  # where the output ends up (a staged run moves it there)

    def write_into(self, folder: Path) -> None:
        """Write into ``folder``, which is moved to the output folder once the run is complete."""
        self.published_dir, self.output_dir = self.output_dir, folder

    def output(self, name: str, place: str, folder: str = "") -> Path | str:
        """The checked path of ``name`` inside ``folder`` of the output folder."""
        return output_path(self.output_dir, f"{folder}/{safe_relative(name, place)}" if folder else name, place)

    def check_task(self, task: dict, source: str) -> None:
        """Raise FormatError (in pass 1, before anything is written) when ``task`` cannot be written."""

    def survey(self, chunk: TaskChunk) -> object:
        """What later blocks need to know about this block (pass 1)."""
        return None

    def prepare(self, census: Census, report: ConversionReport) -> None:
        """Everything that needs the whole input's census (class names, categories)."""

    def plan(self, survey: object) -> object:
        """The plan of the next block, from its survey (blocks come in input order)."""
        return None

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> tuple[object, object]:
        """The result of one chunk table and the plan of the next chunk of the same block."""
        raise NotImplementedError

    def block_result(self, results: list) -> object:
        """What the worker hands back for one block, from the :meth:`build` results of its chunks."""
        return results

    def collect(self, result: object, report: ConversionReport) -> None:
        """Take the :meth:`block_result` of each block, in input order."""

    def finish(self, report: ConversionReport) -> None:
        """Write what comes after all tables (class lists, the assembled COCO file)."""

    def abort(self) -> None:
        """Remove what only this run's unfinished output needed (spools, part files)."""


class PerImageTarget(Target):
    """A target writing one file per frame: ``output_dir/folder/<basename><suffix>``."""

    folder = ""
    suffix = ""
    unique_outputs = True  # two tasks writing one file stop the run before anything is written

    def file_name(self, frame: Frame) -> str:
        """The frame's file name inside ``folder``."""
        return basename(frame.file_name) + self.suffix

    def check_task(self, task: dict, source: str) -> None:
        safe_relative(self.file_name(image_frames([task])[0]), f"{source}: {self.name} file {task['name']!r}")

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> list[bytes | None]:
        """The file contents of every frame of ``table`` (None: no file for that frame)."""
        raise NotImplementedError

    def build(self, table: AnnotationTable, plan: object, report: ConversionReport) -> tuple[list[str], object]:
        written = []
        for frame, data in zip(table.frames, self.encode(table, plan, report), strict=True):
            if data is not None:
                path = self.output(self.file_name(frame), table.source, self.folder)
                written.append(str(write_atomic(path, data)))
        return written, plan

    def block_result(self, results: list[list[str]]) -> list[str]:
        return [path for written in results for path in written]

    def collect(self, result: list[str], report: ConversionReport) -> None:
        report.files.extend(Path(p) if not is_remote(p) else p for p in result)


@dataclass(frozen=True)
class FrameMaker:
    """The frames of one task: itself for image projects, its frames for video projects (decoded
    frames written into ``images_dirs``)."""

    source: str
    project_type: str = "image_bbox"
    videos: object = None
    frame_counts: Mapping[str, int] | None = None
    images_dirs: tuple = ()

    def __call__(self, task: dict) -> list[Frame]:
        if not is_video(self.project_type):
            return image_frames([task])
        return project_frames([task], self.source, self.project_type, videos=self.videos,
                              frame_counts=self.frame_counts, images_dirs=self.images_dirs)


@dataclass
class BlockSurvey:
    """Pass 1 of one block: its census, its frame count, each target's survey and (in a strict
    run) its first malformed annotations and how many there are."""

    census: Census
    frames: int
    surveys: list = field(default_factory=list)
    malformed: tuple = ()
    malformed_count: int = 0
    outputs: list = field(default_factory=list)  # per target, the digests of its output files


@dataclass(frozen=True)
class RunPlan:
    """What both passes of a run need in every worker."""

    targets: tuple
    strict: tuple
    frames_of: FrameMaker
    geometry: frozenset
    images_per_chunk: int | None
    check_names: bool


@gc_paused
def survey_block(block: TaskBlock, run: RunPlan) -> BlockSurvey:
    """Pass 1 of one block (in a worker): tasks and output names checked, values counted."""
    tasks = block.tasks()
    census = Census(block.source)
    frames: list[Frame] = []
    for position, task in enumerate(tasks):
        census.add(task)
        if run.check_names:
            for target in run.targets:
                target.check_task(task, block.source)
        frames += [replace(frame, task=position) for frame in run.frames_of(task)]
    chunk = TaskChunk(block.source, tasks, frames, geometry=run.geometry)
    malformed = chunk.table().malformed if any(run.strict) else ()
    return BlockSurvey(census, len(frames), [target.survey(chunk) for target in run.targets],
                       malformed[:STRICT_LISTED], len(malformed), block_outputs(run.targets, frames, block.first_task))


@gc_paused
def build_block(block: TaskBlock, first_frame: int, plans: list, run: RunPlan) -> tuple[int, list]:
    """Pass 2 of one block (in a worker): per target its chunk results in order and its findings."""
    reports = [ConversionReport(target.name, strict=strict) for target, strict in zip(run.targets, run.strict)]
    results: list[list] = [[] for _ in run.targets]
    plans = list(plans)
    tasks = block.tasks(check=False)  # pass 1 checked them
    for chunk in stream_chunks(block.source, tasks, run.frames_of, run.images_per_chunk, first_frame):
        table = chunk.table(run.geometry)
        for number, (target, report) in enumerate(zip(run.targets, reports)):
            report_malformed(table.malformed, report)
            result, plans[number] = target.build(table, plans[number], report)
            results[number].append(result)
    return block.count, [(target.block_result(result), report.findings)
                         for target, result, report in zip(run.targets, results, reports)]


def stream_chunks(source: str, tasks: Iterable[dict], frames_of: Callable[[dict], list[Frame]],
                  images: int | None = None, first_frame: int = 0) -> Iterator[TaskChunk]:
    """One chunk per run of consecutive frames holding about ``CHUNK_ROWS`` annotations (and at
    most ``images`` frames); a video task's frames may span chunks."""
    rows_limit = tasks_module.CHUNK_ROWS
    chunk_tasks: list[dict] = []
    chunk_frames: list[Frame] = []
    rows = 0
    for task in tasks:
        chunk_tasks.append(task)
        per_frame = len(task.get("annotations", ()))
        for frame in frames_of(task):
            chunk_frames.append(replace(frame, task=len(chunk_tasks) - 1))
            rows += per_frame
            if rows >= rows_limit or (images and len(chunk_frames) >= images):
                yield TaskChunk(source, chunk_tasks, chunk_frames, first_frame)
                first_frame += len(chunk_frames)
                chunk_tasks, chunk_frames, rows = [task], [], 0
        if not chunk_frames:
            chunk_tasks = []
    if chunk_frames:
        yield TaskChunk(source, chunk_tasks, chunk_frames, first_frame)


def run_plan(source: str, targets: Sequence[Target], reports: Sequence[ConversionReport], project_type: str,
             videos: object, frame_counts: Mapping[str, int] | None, images: bool = False) -> RunPlan:
    """The plan shared by both passes (``images``: decoded video frames are written)."""
    images_dirs = tuple(output_path(t.output_dir, "images", "images") for t in targets) if images else ()
    limits = [t.images_per_chunk for t in targets if t.images_per_chunk]
    return RunPlan(tuple(targets), tuple(r.strict for r in reports),
                   FrameMaker(source, project_type, videos, frame_counts, images_dirs),
                   frozenset().union(*(t.geometry for t in targets)), min(limits) if limits else None,
                   not is_video(project_type))


@gc_paused
def run_export(
    tasks: object,
    targets: Sequence[Target],
    reports: Sequence[ConversionReport],
    *,
    project_type: str = "image_bbox",
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    jobs: int = 1,
    scheduler: object = None,
    progress: bool = False,
    overwrite: bool | None = None,
) -> None:
    """Convert ``tasks`` (anything :func:`~fastlabel_formats.source.task_source` takes) into every
    target; ``jobs`` worker processes, or ``scheduler`` (``"local"``, a Dask scheduler address or a
    ``distributed.Client``); ``overwrite`` as :func:`~fastlabel_formats.staging.output_folders`."""
    source = task_source(tasks).replayable()
    with output_folders(list(targets), overwrite, inputs=(tasks, videos)):
        _run(source, targets, reports, project_type, videos, frame_counts, jobs, scheduler, progress)


def _run(source: TaskSource, targets: Sequence[Target], reports: Sequence[ConversionReport], project_type: str,
         videos: object, frame_counts: Mapping[str, int] | None, jobs: int, scheduler: object,
         progress: bool) -> None:
    blocks: list[TaskBlock] = []  # cut while pass 1 already runs on the first ones
    survey_run = run_plan(source.name, targets, reports, project_type, videos, frame_counts)
    try:
        with Runner(jobs, scheduler) as runner:  # leaving it stops the workers: none writes after abort
            for target in targets:
                target.in_order = runner.in_process
            census, surveys = _survey(runner, _kept(source.blocks(), blocks), survey_run, progress)
            if not census.tasks:  # an empty dataset is an error, whatever the input
                raise FormatError(f"{source.name}: holds no tasks; nothing written")
            check_clashes(targets, [s.outputs for s in surveys], lambda index: _task_name(blocks, index))
            for target, report in zip(targets, reports):
                target.prepare(census, report)
            build_run = run_plan(source.name, targets, reports, project_type, videos, frame_counts,
                                 images=videos is not None)
            _build(runner, _build_items(blocks, surveys, targets, build_run), targets, reports, census, progress)
        for target, report in zip(targets, reports):
            target.finish(report)
    except BaseException:
        for target in targets:
            target.abort()
        raise


def _build(runner: Runner, items: Iterator[tuple], targets: Sequence[Target], reports: Sequence[ConversionReport],
           census: Census, progress: bool) -> None:
    with _progress(census.tasks, reports, progress) as bar:
        for done, results in runner.map(build_block, items):
            for target, report, (result, findings) in zip(targets, reports, results):
                _merge(report, findings)
                target.collect(result, report)
            bar.update(done)


def _kept(blocks: Iterable[TaskBlock], into: list[TaskBlock]) -> Iterator[TaskBlock]:
    for block in blocks:
        into.append(block)
        yield block


def _survey(runner: Runner, blocks: Iterable[TaskBlock], run: RunPlan, progress: bool) -> tuple[Census, list]:
    census, surveys = Census(run.frames_of.source), []
    with _progress(None, [], progress, "reading") as bar:
        for block_survey in runner.map(survey_block, ((block, run) for block in blocks)):
            census.merge(block_survey.census)
            surveys.append(block_survey)
            bar.update(block_survey.census.tasks)
    total = sum(s.malformed_count for s in surveys)
    if total:  # a strict run: nothing is written
        raise strict_failure([problem for s in surveys for problem in s.malformed], total)
    return census, surveys


def _task_name(blocks: Sequence[TaskBlock], index: int) -> str:
    """The name of the input's task ``index`` (read again from its block)."""
    block = next(b for b in blocks if b.first_task <= index < b.first_task + b.count)
    return block.tasks(check=False)[index - block.first_task].get("name")


def _build_items(blocks: list[TaskBlock], surveys: list[BlockSurvey], targets: Sequence[Target],
                 run: RunPlan) -> Iterator[tuple]:
    first_frame = 0
    for block, block_survey in zip(blocks, surveys):
        plans = [target.plan(survey) for target, survey in zip(targets, block_survey.surveys)]
        yield block, first_frame, plans, run
        first_frame += block_survey.frames


def _merge(report: ConversionReport, findings: dict[str, Finding]) -> None:
    for finding in findings.values():
        report.add(finding.kind, finding.count, finding.examples)


class _progress:
    """Progress over tasks (off unless asked for): a tqdm bar on a terminal, else a plain line
    every 30 seconds and one at the end (no redraws in a log)."""

    def __init__(self, total: int | None, reports: Sequence[ConversionReport], enabled: bool,
                 label: str | None = None) -> None:
        self.total, self.enabled = total, enabled
        self.label = label or ",".join(r.target for r in reports)

    def __enter__(self):
        import sys

        if self.enabled and not sys.stderr.isatty():
            self.bar = _PlainProgress(self.label, self.total)
        else:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="task", disable=not self.enabled, delay=0.5)
        return self.bar

    def __exit__(self, *exc) -> None:
        self.bar.close()


class _PlainProgress:
    """``label: N tasks [of T] (R/s)`` lines on stderr, at most every ``every`` seconds."""

    def __init__(self, label: str, total: int | None, every: float = 30.0) -> None:
        self.label, self.total, self.every, self.done = label, total, every, 0
        self.started = self.shown = time.perf_counter()

    def update(self, count: int) -> None:
        self.done += count
        if time.perf_counter() - self.shown >= self.every:
            self._line()

    def _line(self) -> None:
        import sys

        self.shown = time.perf_counter()
        rate = self.done / max(self.shown - self.started, 1e-9)
        of = f" of {self.total:,}" if self.total else ""
        print(f"{self.label}: {self.done:,}{of} tasks ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.done:
            self._line()


def prepared_tables(tasks: object, target: Target, report: ConversionReport, project_type: str, videos: object,
                    frame_counts: Mapping[str, int] | None) -> Iterator[AnnotationTable]:
    """In-process, for the ``to_*`` functions: the chunk tables of ``tasks`` for ``target``,
    prepared with the census of the whole input."""
    source = task_source(tasks).replayable()
    blocks = list(source.blocks())
    run = run_plan(source.name, [target], [report], project_type, videos, frame_counts)
    with Runner() as runner:
        census, _ = _survey(runner, blocks, replace(run, targets=()), progress=False)
    target.prepare(census, report)
    first_frame = 0
    for block in blocks:
        for chunk in stream_chunks(source.name, block.tasks(), run.frames_of, None, first_frame):
            first_frame += len(chunk.frames)
            table = chunk.table(target.geometry)
            report_malformed(table.malformed, report)
            yield table


def write_text_file(path: Path | str, lines: Sequence[str]) -> Path | str:
    """``path`` with one line per entry, atomically."""
    return write_atomic(path, "".join(line + "\n" for line in lines).encode())
