"""One export run: the input in blocks of whole tasks, surveyed once, then converted once, by every
target of the run, in-process, in spawned worker processes or on a Dask cluster.

Memory depends on the block and chunk sizes, not on the project. The parent only cuts the input
into blocks (byte ranges of a file, slices of a list: :mod:`fastlabel_formats.source`); whoever
processes a block parses it. Pass 1 (:func:`survey_block`) checks every task and output name, and
counts what later blocks depend on (values and their first colours, frames, COCO records); the
parent merges the surveys in order and plans each block (first frame, first COCO id). Pass 2
(:func:`build_block`) cuts a block into chunks of about ``CHUNK_ROWS`` annotations, makes one
:class:`~fastlabel_formats.table.AnnotationTable` per chunk (from a reader's own rows for the
blocks of a :class:`~fastlabel_formats.table_readers.TableSource`) and lets every target turn it into
files (per-image formats) or fragments that the parent appends in order (COCO). Nothing is
written before pass 1 has read the whole input, and the output is byte-identical in every mode.
A run in this process parses each block of a file once: pass 1 keeps the parsed blocks for pass 2
while the whole input fits :data:`~fastlabel_formats.table_readers.PARSED_BYTES`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import table as table_module
from .categories import Census
from .clashes import block_outputs, check_clashes
from .cluster import is_external
from .errors import FormatError
from .files import (
    basename,
    check_stop,
    is_remote,
    output_path,
    output_paths,
    safe_relative,
    storage_options_set,
    use_storage_options,
    write_atomic,
    write_many,
    writing_for,
)
from .parallel import Runner
from .report import ConversionReport, Finding
from .runtime import gc_paused
from .source import TaskBlock, TaskSource, task_source
from .staging import INPUT_ATTRIBUTES, output_folders
from .stores import background_writes
from .table import AnnotationTable, TaskChunk
from .table_readers import block_chunk, parsed_once
from .tasks import Frame, image_frames, is_video
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
        written = [(frame, data) for frame, data in zip(table.frames, self.encode(table, plan, report), strict=True)
                   if data is not None]
        paths = output_paths(self.output_dir, [self.file_name(frame) for frame, _ in written], table.source,
                             self.folder)
        files = dict(zip(paths, (data for _, data in written)))
        write_many(files)  # an object store's in parallel
        return [str(path) for path in files], plan

    def block_result(self, results: list[list[str]]) -> list[str]:
        return [path for written in results for path in written]

    def collect(self, result: list[str], report: ConversionReport) -> None:
        report.files.extend_written(result)


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
    run_tag: str | None = None  # carried by the run's temporary file names
    stop: str | None = None  # the name of a Dask run's stop event
    storage: Mapping[str, Mapping] | None = None  # fsspec options per protocol, set in every worker


@contextmanager
def in_task(run: RunPlan) -> Iterator[None]:
    """Where a block of ``run`` is processed (any worker): the run's store options, temporary
    names and stop check."""
    if run.storage:
        use_storage_options(run.storage)
    check = None
    if run.stop:
        from .cluster import StopSignal

        check = StopSignal(run.stop)
        check()
    with writing_for(run.run_tag, check), background_writes():
        yield


@gc_paused
def survey_block(block: TaskBlock, run: RunPlan) -> BlockSurvey:
    """Pass 1 of one block (in a worker): tasks and output names checked, values counted."""
    with in_task(run):
        tasks = block.tasks()
    census = Census(block.source)
    frames: list[Frame] = []
    for position, task in enumerate(tasks):
        census.add(task)
        if run.check_names:
            for target in run.targets:
                target.check_task(task, block.source)
        frames += [replace(frame, task=position) for frame in run.frames_of(task)]
    chunk = block_chunk(block, TaskChunk(block.source, tasks, frames, geometry=run.geometry))
    malformed = chunk.table().malformed if any(run.strict) else ()
    return BlockSurvey(census, len(frames), [target.survey(chunk) for target in run.targets],
                       malformed[:STRICT_LISTED], len(malformed), block_outputs(run.targets, frames, block.first_task))


@gc_paused
def build_block(block: TaskBlock, first_frame: int, plans: list, run: RunPlan) -> tuple[int, list]:
    """Pass 2 of one block (in a worker): per target its chunk results in order and its findings."""
    with in_task(run):
        return _build_block(block, first_frame, plans, run)


def _build_block(block: TaskBlock, first_frame: int, plans: list, run: RunPlan) -> tuple[int, list]:
    reports = [ConversionReport(target.name, strict=strict) for target, strict in zip(run.targets, run.strict)]
    results: list[list] = [[] for _ in run.targets]
    plans = list(plans)
    tasks = block.tasks(check=False)  # pass 1 checked them
    for chunk in stream_chunks(block.source, tasks, run.frames_of, run.images_per_chunk, first_frame):
        check_stop()
        table = block_chunk(block, chunk).table(run.geometry)
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
    rows_limit = table_module.CHUNK_ROWS
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


@dataclass(frozen=True)
class RunOptions:
    """How a run goes, whatever it writes: the input's project type (with its videos and frame
    counts), where the work runs (``jobs`` worker processes, or ``scheduler``: ``"local"``, a Dask
    scheduler address or a ``distributed.Client``), progress, ``overwrite`` (see
    :func:`~fastlabel_formats.staging.output_folders`), ``strict`` (a malformed annotation fails
    the run before anything is written) and ``storage_options`` (fsspec options for the run's URLs,
    on the client and on every worker)."""

    project_type: str = "image_bbox"
    videos: object = None
    frame_counts: Mapping[str, int] | None = None
    jobs: int = 1
    scheduler: object = None
    progress: bool = False
    overwrite: bool | None = None
    strict: bool = False
    storage_options: Mapping[str, object] | None = None


@gc_paused
def run_export(tasks: object, targets: Sequence[Target], reports: Sequence[ConversionReport],
               options: RunOptions = RunOptions()) -> None:
    """Convert ``tasks`` (anything :func:`~fastlabel_formats.source.task_source` takes) into every
    target, each with its report, as ``options`` say. With a cluster of other machines every local
    path must be absolute and on storage every worker shares (checked before any work)."""
    inputs = (tasks, options.videos, *(getattr(t, name, None) for t in targets for name in INPUT_ATTRIBUTES))
    storage = storage_by_protocol(options.storage_options, [*inputs, *(t.output_dir for t in targets)])
    external = is_external(options.scheduler)
    if external:
        refuse_relative([*inputs, *(t.output_dir for t in targets)])
    run_tag = uuid.uuid4().hex[:5]
    with explained_store_errors(), storage_options_set(storage), writing_for(run_tag):
        source = task_source(tasks).replayable()
        with output_folders(list(targets), options.overwrite, inputs=(tasks, options.videos), reports=reports,
                            run_tag=run_tag):
            shared = _local_paths(inputs) if external else None
            _run(source, targets, reports, RunSetup(options, run_tag, storage, shared))


def export_alone(tasks: object, target: Target, **options: object) -> ConversionReport:
    """The report (named as ``target``) of :func:`run_export` of ``target`` alone over ``tasks``;
    ``options``: the fields of its :class:`RunOptions`."""
    run = RunOptions(**options)
    report = ConversionReport(target.name, strict=run.strict)
    run_export(tasks, [target], [report], run)
    return report


@dataclass(frozen=True)
class RunSetup:
    """A run's options with what the engine adds: its tag, the store options per protocol and
    what every worker must see (``shared``: the local inputs on an external cluster, None elsewhere)."""

    options: RunOptions
    run_tag: str | None = None
    storage: Mapping[str, Mapping] | None = None
    shared: list | None = None


def refuse_relative(paths: Iterable[object]) -> None:
    """FormatError for a relative local path (a cluster's workers resolve it in their own folders)."""
    for path in paths:
        if isinstance(path, (str, os.PathLike)) and not is_remote(path) and not os.path.isabs(path):
            raise FormatError(f"{path}: a relative path; with a Dask cluster every path must be absolute (on "
                              f"storage every worker shares) or a URL such as s3://bucket/folder")


def _local_paths(paths: Iterable[object]) -> list[str]:
    return [os.fspath(path) for path in paths if isinstance(path, (str, os.PathLike)) and not is_remote(path)]


def _run(source: TaskSource, targets: Sequence[Target], reports: Sequence[ConversionReport], setup: RunSetup) -> None:
    blocks: list[TaskBlock] = []  # cut while pass 1 already runs on the first ones
    survey_run = _plan(source, targets, reports, setup)
    options = setup.options
    try:
        with Runner(options.jobs, options.scheduler) as runner:  # leaving it stops the workers: none writes after
            if setup.shared is not None:
                from .cluster import check_shared

                check_shared(runner.client, setup.shared, [str(t.output_dir) for t in targets
                                                          if not is_remote(t.output_dir)])
            survey_run = replace(survey_run, stop=runner.stop_name)
            for target in targets:
                target.in_order = runner.in_process
            read = parsed_once(source.blocks()) if runner.in_process else source.blocks()  # parsed once here
            census, surveys = _survey(runner, _kept(read, blocks), survey_run, options.progress)
            if not census.tasks:  # an empty dataset is an error, whatever the input
                raise FormatError(f"{source.name}: holds no tasks; nothing written")
            check_clashes(targets, [s.outputs for s in surveys], lambda index: _task_name(blocks, index))
            for target, report in zip(targets, reports):
                target.prepare(census, report)
            build_run = replace(_plan(source, targets, reports, setup, images=options.videos is not None),
                                stop=runner.stop_name)
            _build(runner, _build_items(blocks, surveys, targets, build_run), targets, reports, census,
                   options.progress)
        for target, report in zip(targets, reports):
            target.finish(report)
    except BaseException:
        for target in targets:
            target.abort()
        raise


def _plan(source: TaskSource, targets: Sequence[Target], reports: Sequence[ConversionReport], setup: RunSetup,
          images: bool = False) -> RunPlan:
    options = setup.options
    plan = run_plan(source.name, targets, reports, options.project_type, options.videos, options.frame_counts, images)
    return replace(plan, run_tag=setup.run_tag, storage=setup.storage)


def storage_by_protocol(options: Mapping[str, object] | None, paths: Iterable[object]) -> dict[str, dict]:
    """``{protocol: options}`` for every protocol of the run's URLs; FormatError when options are
    given and no path is a URL."""
    if not options:
        return {}
    protocols = sorted({str(path).split("://", 1)[0] for path in paths if is_remote(path)})
    if not protocols:
        raise FormatError("storage options (--storage-option) apply to URLs such as s3://bucket/folder; no "
                          "input or output of this run is one")
    return {protocol: dict(options) for protocol in protocols}


@contextmanager
def explained_store_errors() -> Iterator[None]:
    """An object store's missing or refused credentials as a FormatError (they are the user's to give)."""
    try:
        yield
    except Exception as error:
        if "Credentials" not in type(error).__name__:
            raise
        raise FormatError(f"the object store needs credentials ({error}); give them with --storage-option "
                          f"(storage_options=), e.g. key=... secret=..., or the store's usual environment "
                          f"variables on the client and every worker") from None


def _build(runner: Runner, items: Iterator[tuple], targets: Sequence[Target], reports: Sequence[ConversionReport],
           census: Census, progress: bool) -> None:
    with progress_bar(census.tasks, reports, progress) as bar:
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
    with progress_bar(None, [], progress, "reading") as bar:
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


class progress_bar:
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
    blocks = list(parsed_once(source.blocks()))
    run = run_plan(source.name, [target], [report], project_type, videos, frame_counts)
    with Runner() as runner:
        census, _ = _survey(runner, blocks, replace(run, targets=()), progress=False)
    target.prepare(census, report)
    first_frame = 0
    for block in blocks:
        for chunk in stream_chunks(source.name, block.tasks(), run.frames_of, None, first_frame):
            first_frame += len(chunk.frames)
            table = block_chunk(block, chunk).table(target.geometry)
            report_malformed(table.malformed, report)
            yield table


def write_text_file(path: Path | str, lines: Sequence[str]) -> Path | str:
    """``path`` with one line per entry, atomically."""
    return write_atomic(path, "".join(line + "\n" for line in lines).encode())
