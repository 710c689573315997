"""``pull`` and ``push``: one call each way between a FastLabel project and a dataset on disk.

``pull`` spools the project's pages to a local file (never all in memory) that the core's
exporters read while the images download on a bounded thread pool; ``push`` creates one
task per image with its annotations, or updates the annotations of tasks that exist, and skips
tasks already there with the same annotations, so a rerun continues where a stopped one ended.
A task that fails is reported at the end; it does not stop the others.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fastlabel_formats as core
from fastlabel_formats.convert import read_tasks
from fastlabel_formats.files import output_path
from fastlabel_formats.targets import target_name

from .exceptions import FastLabelException, FastLabelInvalidException, user_message

MEDIA_FOLDERS = {"image": "images", "video": "videos"}  # what pull converts, and where its files go
CLASSED_TYPES = ("bbox", "polygon", "segmentation", "keypoint", "line", "pose_estimation")
FAILURES_SHOWN = 20


@dataclass
class SyncReport:
    """What a pull or push did: tasks per outcome, bytes downloaded, and every failed task."""

    action: str
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str, size: int = 0) -> None:
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self.bytes += size

    def fail(self, name: str, error: BaseException) -> None:
        with self._lock:
            self.failures.append((name, user_message(error)[:500]))

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        counts = ", ".join(f"{count:,} {outcome}" for outcome, count in self.outcomes.items()) or "nothing done"
        size = f"{self.bytes / 1e6:,.1f} MB" if self.bytes >= 1e6 else f"{self.bytes:,} bytes"
        lines = [f"{self.action}: {counts}" + (f"; {size} downloaded" if self.bytes else "")]
        if self.failures:
            lines.append(f"{len(self.failures):,} task(s) failed:")
            lines += [f"  {name}: {message}" for name, message in self.failures[:FAILURES_SHOWN]]
        return "\n".join(lines)


def project_type(client, project: str) -> str:
    """The type of a project (FastLabelInvalidException when there is no such project)."""
    found = client.find_project_by_slug(project)
    if not isinstance(found, dict) or "type" not in found:
        raise FastLabelInvalidException(f"project {project!r} not found (give its slug)", 422)
    return found["type"]


def pull(client, project: str, output_dir: str, targets: Sequence[str] = ("coco",), *,
         status: str | None = None, tags: Sequence[str] = (), images: bool = False,
         classes: Sequence[str] | None = None, layout: str = "yolo", split: Mapping[str, float] | None = None,
         seed: int = 0, copy_images: bool = False, overwrite: bool | None = None, threads: int = 8,
         progress: bool = False) -> tuple[dict[str, core.ConversionReport], SyncReport]:
    """Write a project's tasks (filtered by ``status`` / ``tags``) as every target of ``targets``
    (coco, yolo, voc, labelme, semantic, instance) under ``output_dir/<target>``, the pages spooled
    to a local file (never all in memory). ``images``: fetch each task's image into
    ``output_dir/images`` on ``threads`` threads while the targets are written (a video project's
    videos always go to ``output_dir/videos``, before: their frames are decoded), keeping files
    already there with the right size. Class order: ``classes``, else the project's annotation
    definitions. Returns the targets' reports, and what was fetched and what failed."""
    kind = project_type(client, project)
    media = kind.split("_", 1)[0]
    if media not in MEDIA_FOLDERS:
        raise FastLabelInvalidException(f"pull converts image and video projects; {project!r} is {kind}", 422)
    names = [target_name(target) for target in targets]  # an unknown one fails before any call
    filters = {key: value for key, value in (("status", status), ("tags", list(tags))) if value}
    out, sync = Path(output_dir), SyncReport("pull")
    folder = out / MEDIA_FOLDERS[media]
    videos: dict[str, str] | None = {} if media == "video" else None
    definitions = None if classes else list(client.iter_annotations(project)) or None
    options = core.TargetOptions(project_type=kind, classes=classes, annotations=definitions, layout=layout,
                                 image_dir=str(folder) if images and media == "image" else None, split=split,
                                 seed=seed, copy_images=copy_images)
    # the exporters read only the tasks, unless they decode videos or place images beside the
    # labels (the Ultralytics layout links or copies each image): then the files come first
    needed_first = videos is not None or (images and layout == "ultralytics" and "yolo" in names)
    with _spooled(getattr(client, f"iter_{media}_tasks")(project, **filters), sync) as tasks, \
            _fetched(client.api, tasks, folder, threads, sync, videos, progress, images or videos is not None,
                     wait=needed_first):
        reports = core.export_targets(tasks, {name: out / name for name in names}, options, videos=videos,
                                      progress=progress, overwrite=overwrite)
    return reports, sync


@contextlib.contextmanager
def _spooled(pages: Iterable[dict], sync: SyncReport) -> Iterator[core.TaskSource]:
    """The tasks of ``pages`` spooled to a local JSON Lines file (read by the exporters' two passes
    and the fetch; never all in memory) in a temporary folder removed on every way out."""
    with tempfile.TemporaryDirectory(prefix="fastlabel-pull-") as spool:
        yield core.task_source(_counted(pages, sync)).replayable(spool_dir=spool)


def _counted(tasks: Iterable[dict], sync: SyncReport) -> Iterator[dict]:
    for task in tasks:
        sync.count("tasks")
        yield task


@contextlib.contextmanager
def _fetched(api, tasks: Iterable[dict], folder: Path, threads: int, sync: SyncReport, videos: dict | None,
             progress: bool, wanted: bool, wait: bool) -> Iterator[None]:
    """The files of ``tasks`` fetched (when ``wanted``) before the block (``wait``) or while it
    runs, on a thread of their own; all fetched when the block is left."""
    if not wanted:
        yield
        return
    if wait:
        _download_all(api, tasks, folder, threads, sync, videos, progress)
        yield
        return
    stop = threading.Event()
    fetching = concurrent.futures.ThreadPoolExecutor(1)
    done = fetching.submit(_download_all, api, tasks, folder, threads, sync, videos, progress, stop)
    try:
        yield
    except BaseException:
        stop.set()  # the block failed (or Ctrl-C): no new fetches, the running ones end
        raise
    finally:
        fetching.shutdown(wait=True)
    done.result()


def _download_all(api, tasks: Iterable[dict], folder: Path, threads: int, sync: SyncReport,
                  videos: dict[str, str] | None, progress: bool, stop: threading.Event | None = None) -> None:
    """Each task's file fetched into ``folder`` on ``threads`` threads (at most 4 per thread
    pending), until ``stop`` is set."""
    with _bytes_bar(progress) as bar, concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool:
        pending: collections.deque = collections.deque()
        for task in tasks:
            if stop is not None and stop.is_set():
                break
            pending.append((task, pool.submit(_fetch, api, task, folder, bar.update)))
            while len(pending) > 4 * max(1, threads):
                _settle(*pending.popleft(), sync, videos)
        while pending:
            _settle(*pending.popleft(), sync, videos)


def _fetch(api, task: dict, folder: Path, on_bytes: Callable[[int], object]) -> tuple[Path, int]:
    if not isinstance(task.get("url"), str) or not task["url"]:
        raise FastLabelException("the task has no file url", None)
    try:
        path = Path(output_path(folder, task["name"], "task"))
    except core.FormatError as error:
        raise FastLabelInvalidException(str(error), 422) from None
    return path, api.fetch(task["url"], path, on_bytes=on_bytes)


def _settle(task: dict, future: concurrent.futures.Future, sync: SyncReport, videos: dict | None) -> None:
    try:
        path, written = future.result()
    except (FastLabelException, OSError) as error:
        sync.fail(task.get("name", "?"), error)
        return
    sync.count("downloaded" if written else "already present", written)
    if videos is not None:
        videos[task["name"]] = str(path)


class _bytes_bar:
    """A tqdm bar of downloaded bytes on a terminal when ``progress``; a no-op otherwise."""

    def __init__(self, progress: bool) -> None:
        import sys

        self.enabled = progress and sys.stderr.isatty()

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(unit="B", unit_scale=True, desc="files", delay=0.5)
            return self.bar
        return self

    def update(self, count: int) -> None:
        """Nothing (no bar)."""

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.close()


def push(client, source: str, project: str, *, source_format: str = "auto", images: str | None = None,
         update: bool = False, create_classes: bool = False, threads: int = 4,
         classes_file: str | None = None) -> SyncReport:
    """Create one image task per image of ``source`` (FastLabel, COCO, YOLO, VOC or labelme;
    ``source_format="auto"`` recognises it) in ``project``, uploading ``images/<name>`` with its
    annotations; with ``update`` the annotations of tasks that exist by name are replaced. A task
    already there with the same annotations is skipped, so a rerun continues an interrupted push.
    Annotation classes missing from the project are refused before anything is sent, or created
    with ``create_classes``. Returns what was created, updated, skipped and what failed."""
    kind = project_type(client, project)
    if not kind.startswith("image_"):
        raise FastLabelInvalidException(f"push creates image tasks; {project!r} is {kind}", 422)
    try:
        tasks = read_tasks(source, source_format, classes_file=classes_file, images=images)
    except core.FormatError as error:
        raise FastLabelInvalidException(str(error), 422) from None
    _check_classes(client, project, tasks, create_classes)
    existing = {task["name"]: task for task in client.iter_image_tasks(project)}
    sync = SyncReport("push")
    with concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool:
        for task, future in [(task, pool.submit(_push_one, client, project, task, existing.get(task["name"]),
                                                images, update)) for task in tasks]:
            try:
                sync.count(future.result())
            except (FastLabelException, OSError) as error:
                sync.fail(task["name"], error)
    return sync


def _push_one(client, project: str, task: dict, found: dict | None, images: str | None, update: bool) -> str:
    """Create, update or skip one task; the outcome's name."""
    annotations = task.get("annotations") or []
    if found is not None:
        if same_annotations(found.get("annotations") or [], annotations):
            return "unchanged"
        if not update:
            return "skipped (exists with other annotations; give --update)"
        client.update_image_task(found["id"], annotations=annotations)
        return "updated"
    path = image_file(images, task["name"])
    client.create_image_task(project, task["name"], str(path), annotations=annotations)
    return "created"


def image_file(images: str | None, name: str) -> Path:
    """The file of the task ``name`` in the folder ``images``; FastLabelInvalidException when there
    is none, or when the name leads outside the folder (``..``, an absolute path, a symlink to
    elsewhere: such a file is never read)."""
    if images is None:
        raise FastLabelInvalidException("no --images folder to upload the image from", 422)
    try:
        root = Path(images).resolve()
        path = (root / name).resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a NUL in the name, a symlink loop
        raise FastLabelInvalidException(f"the image {name!r} cannot be looked up in --images {images}: {error}",
                                        422) from None
    if os.path.isabs(name) or not path.is_relative_to(root):
        raise FastLabelInvalidException(f"the image {name!r} is outside --images {images}: not read, not uploaded",
                                        422)
    if not path.is_file():
        raise FastLabelInvalidException(f"no image file {Path(images) / name}", 422)
    return path


def same_annotations(stored: list[dict], pushed: list[dict]) -> bool:
    """Whether a task's stored annotations are the ones a push would send (type, value, points,
    rotation, keypoint values and attribute values; numbers compared to 6 decimals)."""
    return sorted(map(_comparable, stored)) == sorted(map(_comparable, pushed))


def _comparable(annotation: dict) -> str:
    def numbers(value: object) -> object:
        if isinstance(value, list):
            return [numbers(item) for item in value]
        return round(float(value), 6) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    attributes = sorted((a.get("key"), json.dumps(a.get("value"), sort_keys=True))
                        for a in annotation.get("attributes") or [] if isinstance(a, dict))
    keypoints = sorted((k.get("key"), numbers(k.get("value"))) for k in annotation.get("keypoints") or []
                       if isinstance(k, dict))
    return json.dumps([annotation.get("type"), annotation.get("value"), numbers(annotation.get("points")),
                       numbers(annotation.get("rotation") or 0), keypoints, attributes], default=str)


def _check_classes(client, project: str, tasks: list[dict], create: bool) -> None:
    """Every (type, value) the tasks use exists in the project, created when ``create``; else
    FastLabelInvalidException listing the missing ones (before any task is sent)."""
    known = {(row.get("type"), row.get("value")) for row in client.iter_annotations(project)}
    used = {(a.get("type"), a.get("value")) for task in tasks for a in task.get("annotations") or []
            if a.get("type") in CLASSED_TYPES}
    missing = sorted(used - known, key=str)
    if missing and not create:
        listed = ", ".join(f"{value} ({kind})" for kind, value in missing[:FAILURES_SHOWN])
        raise FastLabelInvalidException(f"{len(missing)} annotation class(es) are not in project {project!r}: "
                                        f"{listed}; create them, or give --create-classes", 422)
    for kind, value in missing:
        client.create_annotation(project, kind, value, value)
