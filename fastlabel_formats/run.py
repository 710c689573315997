"""One export run: the input in blocks of whole tasks, surveyed once, then converted once, by every
target of the run, in-process, in spawned worker processes or on a Dask cluster.

Memory depends on the block and chunk sizes, not on the project. The parent only cuts the input
into blocks (byte ranges of a file, slices of a list: :mod:`fastlabel_formats.source`); whoever
processes a block parses it. Pass 1 (:func:`survey_block`) checks every task and output name, and
counts what later blocks depend on (values and their first colours, frames, and, when blocks are
built elsewhere, the records of numbered targets); the parent merges the surveys in order and plans
each block (first frame, first record id). Pass 2 (:func:`build_block`) cuts a block into chunks of
about ``CHUNK_ROWS`` annotations, makes one :class:`~fastlabel_formats.table.AnnotationTable` per
chunk (from a reader's own rows for the blocks of a
:class:`~fastlabel_formats.table_readers.TableSource`) and lets every target encode it (per-image
files written there); the parent assembles the parts in order. The hooks a target implements are
those of :class:`~fastlabel_formats.target.Target`. Nothing is written before pass 1 has read the
whole input, and the output is byte-identical in every mode. A run in this process parses each
block of a file once: pass 1 keeps the parsed blocks for pass 2 while the whole input fits
:data:`~fastlabel_formats.table_readers.PARSED_BYTES`. The ``to_*`` functions use the same passes in
this process (:func:`kept_parts`).
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import table as table_module
from . import table_readers
from .categories import Census
from .clashes import block_outputs, check_clashes
from .cluster import is_external
from .errors import FormatError
from .files import (
    check_stop,
    is_remote,
    output_path,
    storage_options_set,
    use_storage_options,
    write_atomic,
    writing_for,
)
from .jsonparts import write_part
from .parallel import Runner
from .progress import progress_bar as progress_bar
from .report import ConversionReport, Finding
from .runtime import gc_paused
from .source import TaskBlock, TaskSource, task_source
from .staging import INPUT_ATTRIBUTES, output_folders
from .stores import background_writes
from .table import AnnotationTable, TaskChunk
from .table_readers import block_chunk, parsed_once
from .target import Ids as Ids
from .target import Kept as Kept
from .target import PerImageTarget as PerImageTarget
from .target import Target as Target
from .tasks import Frame, image_frames, is_video
from .validation import STRICT_LISTED, report_malformed, strict_failure
from .video import project_frames


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

    def of_tasks(self, tasks: list[dict]) -> list[Frame]:
        """The frames of every task of ``tasks`` in order, each naming its task by its place in ``tasks``."""
        if not is_video(self.project_type):
            return image_frames(tasks)
        return [replace(frame, task=position) for position, task in enumerate(tasks) for frame in self(task)]


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
    records: list = field(default_factory=list)  # per target, the ids its records take (None: not counted)


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
    in_process: bool = True  # every block is built here, in order: ids numbered on, parts kept
    report_names: tuple = ()  # per target, the name of its report (a to_* caller's own names its losses)
    check_outputs: bool = True  # pass 1 takes the output names of every target (for check_clashes)


@contextmanager
def in_task(run: RunPlan, writes: bool = True) -> Iterator[None]:
    """Where a block of ``run`` is processed (any worker): the run's store options, temporary
    names and stop check, and (``writes``: pass 2) the background writes of its targets in object
    stores."""
    if run.storage:
        use_storage_options(run.storage)
    check = None
    if run.stop:
        from .cluster import StopSignal

        check = StopSignal(run.stop)
        check()
    stores = writes and any(is_remote(target.output_dir) for target in run.targets)
    with writing_for(run.run_tag, check), background_writes() if stores else nullcontext():
        yield


@gc_paused
def survey_block(block: TaskBlock, run: RunPlan) -> BlockSurvey:
    """Pass 1 of one block (in a worker): tasks and output names checked, values counted."""
    with in_task(run, writes=False):
        tasks = block.tasks()
    census = Census(block.source)
    census.add_all(tasks)
    if run.check_names:
        for task in tasks:
            for target in run.targets:
                target.check_task(task, block.source)
    frames = run.frames_of.of_tasks(tasks)
    chunk = block_chunk(block, TaskChunk(block.source, tasks, frames, geometry=run.geometry))
    malformed = chunk.table().malformed if any(run.strict) else ()
    records = [None if run.in_process or not target.numbered else target.record_count(chunk.table())
               for target in run.targets]
    outputs = block_outputs(run.targets, frames, block.first_task) if run.check_outputs else []
    return BlockSurvey(census, len(frames), [target.survey(chunk) for target in run.targets],
                       malformed[:STRICT_LISTED], len(malformed), outputs, records)


@gc_paused
def build_block(block: TaskBlock, first_frame: int, plans: list, ids: list, run: RunPlan) -> tuple[int, list]:
    """Pass 2 of one block (in a worker): per target the encoded parts of its chunks in order (or
    their part files) and its findings."""
    if not run.in_process:  # a task run again (after a failure, in a worker's thread) starts from its items as sent
        plans, ids = [copy.copy(plan) for plan in plans], [copy.copy(numbering) for numbering in ids]
    with in_task(run):
        return _build_block(block, first_frame, plans, ids, run)


def _build_block(block: TaskBlock, first_frame: int, plans: list, ids: list, run: RunPlan) -> tuple[int, list]:
    reports = [ConversionReport(name, strict=strict) for name, strict in zip(run.report_names, run.strict, strict=True)]
    parts: list[list] = [[] for _ in run.targets]
    tasks = block.tasks(check=False)  # pass 1 checked them
    for chunk in stream_chunks(block.source, tasks, run.frames_of, run.images_per_chunk, first_frame):
        check_stop()
        table = block_chunk(block, chunk).table(run.geometry)
        for target, report, plan, numbering, kept in zip(run.targets, reports, plans, ids, parts, strict=True):
            report_malformed(table.malformed, report)
            kept.append(encoded(target, table, plan, numbering, report))
    return block.count, [(kept if run.in_process or not target.spools_parts else spooled_parts(target, kept),
                          report.findings) for target, kept, report in zip(run.targets, parts, reports, strict=True)]


def encoded(target: Target, table: AnnotationTable, plan: object, ids: Ids | None, report: ConversionReport
            ) -> object:
    """The part of ``table`` the worker hands back for ``target``: its :meth:`~Target.encode` (with
    ``ids`` for a numbered target), a :class:`PerImageTarget`'s files written."""
    part = target.encode(table, plan, report) if ids is None else target.encode(table, plan, report, ids)
    return target.write(table, part, report) if isinstance(target, PerImageTarget) else part


def spooled_parts(target: Target, parts: list[dict]) -> list[dict]:
    """A block's parts of a ``spools_parts`` target as one part: per key, its fragments joined into
    one part file in ``target.parts_dir`` (so that they do not travel back; None when all are empty)."""
    keys = dict.fromkeys(key for part in parts for key in part)
    return [{key: write_part(target.parts_dir, [part[key] for part in parts if key in part], target.indent)
             for key in keys}]


def stream_chunks(source: str, tasks: Iterable[dict], frames_of: Callable[[dict], list[Frame]],
                  images: int | None = None, first_frame: int = 0) -> Iterator[TaskChunk]:
    """One chunk per run of consecutive frames holding about ``CHUNK_ROWS`` annotations (and at
    most ``images`` frames); a video task's frames may span chunks."""
    if isinstance(frames_of, FrameMaker) and not is_video(frames_of.project_type):
        yield from _image_chunks(source, tasks, images, first_frame)
        return
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


def _image_chunks(source: str, tasks: Iterable[dict], images: int | None, first_frame: int) -> Iterator[TaskChunk]:
    """:func:`stream_chunks` of image tasks (one frame each): runs of whole tasks."""
    rows_limit, chunk_tasks, rows = table_module.CHUNK_ROWS, [], 0
    for task in tasks:
        chunk_tasks.append(task)
        rows += len(task.get("annotations", ()))
        if rows >= rows_limit or (images and len(chunk_tasks) >= images):
            yield TaskChunk(source, chunk_tasks, image_frames(chunk_tasks), first_frame)
            first_frame += len(chunk_tasks)
            chunk_tasks, rows = [], 0
    if chunk_tasks:
        yield TaskChunk(source, chunk_tasks, image_frames(chunk_tasks), first_frame)


def run_plan(source: str, targets: Sequence[Target], reports: Sequence[ConversionReport], project_type: str,
             videos: object, frame_counts: Mapping[str, int] | None, images: bool = False) -> RunPlan:
    """The plan shared by both passes (``images``: decoded video frames are written)."""
    images_dirs = tuple(output_path(t.output_dir, "images", "images") for t in targets) if images else ()
    limits = [t.images_per_chunk for t in targets if t.images_per_chunk]
    return RunPlan(tuple(targets), tuple(r.strict for r in reports),
                   FrameMaker(source, project_type, videos, frame_counts, images_dirs),
                   frozenset().union(*(t.geometry for t in targets)), min(limits) if limits else None,
                   not is_video(project_type), report_names=tuple(r.target for r in reports))


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
    in_memory: bool = False  # a ``to_*`` run: nothing written, task names unchecked, an empty input allowed


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
            survey_run = replace(survey_run, stop=runner.stop_name, in_process=runner.in_process)
            # in this process each block is parsed once (a file that fits: at once)
            read = parsed_once(source.blocks(table_readers.PARSED_BYTES)) if runner.in_process else source.blocks()
            census, surveys = _survey(runner, _kept(read, blocks), survey_run, options.progress)
            if not setup.in_memory:
                _check_outputs(census, surveys, blocks, source, targets)
            for target, report in zip(targets, reports):
                target.prepare(census, report)
            build_run = replace(_plan(source, targets, reports, setup, images=options.videos is not None
                                      and not setup.in_memory),
                                stop=runner.stop_name, in_process=runner.in_process)
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
    return replace(plan, run_tag=setup.run_tag, storage=setup.storage,
                   check_names=plan.check_names and not setup.in_memory, check_outputs=not setup.in_memory)


def _check_outputs(census: Census, surveys: list[BlockSurvey], blocks: list[TaskBlock], source: TaskSource,
                   targets: Sequence[Target]) -> None:
    """FormatError for an empty input or for two tasks writing one file (before anything is written)."""
    if not census.tasks:  # an empty dataset is an error, whatever the input
        raise FormatError(f"{source.name}: holds no tasks; nothing written")
    check_clashes(targets, [s.outputs for s in surveys], lambda index: _task_name(blocks, index))


def run_here(tasks: object, target: Target, report: ConversionReport, options: RunOptions = RunOptions()) -> None:
    """The run of ``target`` over ``tasks`` in this process, for the ``to_*`` functions: the same
    passes and hooks as :func:`run_export`, with no output folder (the target keeps what it
    assembles), task names unchecked and an empty input giving an empty result."""
    _run(task_source(tasks).replayable(), [target], [report], RunSetup(replace(options, jobs=1, scheduler=None),
                                                                       in_memory=True))


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
            for target, report, (parts, findings) in zip(targets, reports, results):
                _merge(report, findings)
                target.assemble(parts, report)
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
    """The work item of each block: its first frame, each target's plan and ids. In this process a
    numbered target's ids run on from block to block; elsewhere each block's first id comes from the
    counts of the blocks before (pass 1)."""
    first_frame = 0
    numbering = [Ids() if target.numbered else None for target in targets]
    for block, block_survey in zip(blocks, surveys, strict=True):
        plans = [target.plan(survey) for target, survey in zip(targets, block_survey.surveys, strict=True)]
        ids = numbering if run.in_process else [None if ids is None else Ids(ids.take(count))
                                                for ids, count in zip(numbering, block_survey.records, strict=True)]
        yield block, first_frame, plans, ids, run
        first_frame += block_survey.frames


def _merge(report: ConversionReport, findings: dict[str, Finding]) -> None:
    for finding in findings.values():
        report.add(finding.kind, finding.count, finding.examples)


def kept_parts(tasks: object, target: Target, part: Callable[[AnnotationTable, object, ConversionReport, Ids | None],
                                                               object],
               report: ConversionReport, options: RunOptions = RunOptions()) -> list:
    """The parts ``part`` makes of every chunk table of ``tasks`` for ``target`` in a run in this
    process (:func:`run_here`), in input order."""
    kept = Kept(target, part)
    run_here(tasks, kept, report, options)
    return kept.parts


def prepared_tables(tasks: object, target: Target, report: ConversionReport, project_type: str, videos: object,
                    frame_counts: Mapping[str, int] | None) -> Iterator[AnnotationTable]:
    """The chunk tables of ``tasks`` for ``target``, prepared with the census of the whole input, from
    a run in this process (:func:`kept_parts`): for tests and benchmarks that look at the tables
    themselves (every table is kept until the run ends)."""
    yield from kept_parts(tasks, target, lambda table, plan, report, ids: table, report,
                          RunOptions(project_type, videos, frame_counts))


def write_text_file(path: Path | str, lines: Sequence[str]) -> Path | str:
    """``path`` with one line per entry, atomically."""
    return write_atomic(path, "".join(line + "\n" for line in lines).encode())
