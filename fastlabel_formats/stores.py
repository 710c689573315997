"""Output folders in object stores (``s3://``, ``gs://``, ``memory://``, …), published whole.

An object store has no rename, and a copy costs a request per object: a run writes every object
once, at its final key. A folder holds no export until ``_manifest.json`` is written, last, listing
every object the run's blocks reported and its size (:func:`read_manifest` refuses a folder
without one, or whose objects do not match it). What is published is exactly what the run
reported, never a listing: objects of the folder the manifest does not name (stale objects of an
earlier export) are removed before the manifest is written.

A folder that holds objects is refused, or with ``overwrite=True`` replaced: its manifest is
removed before the run writes (the earlier export is no longer complete from then on). A failed
or interrupted run publishes nothing and removes the folder's objects, unless it wrote none, in
which case an earlier export is left as it was, manifest and all (a run refused before its first
write costs nothing).

Objects are written by :func:`put_objects`: inside a block's :func:`background_writes`, on the
store's event loop while the block goes on (at most OBJECTS_IN_FLIGHT unfinished), every write
ended when the block ends; no request besides the writes.

There are no locks in an object store: two runs into one folder at a time are not detected.
"""

from __future__ import annotations

import posixpath
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSequence
from contextlib import contextmanager

import orjson

from .errors import FormatError
from .files import remove, store_of

MANIFEST = "_manifest.json"
MANIFEST_FORMAT = "fastlabel-formats manifest 1"


def folder_objects(folder: str) -> dict[str, int]:
    """``{name inside folder: size}`` of every object under the fsspec folder ``folder``."""
    return {name: info.get("size") or 0 for name, info in _listing(folder).items()}


def _listing(folder: str) -> dict[str, dict]:
    """``{name inside folder: listing entry}`` of every object under ``folder`` (one listing)."""
    file_system, inner = store_of(folder)
    inner = inner.rstrip("/")
    file_system.invalidate_cache(inner)  # the workers wrote it: a listing cached here is out of date
    try:
        found = file_system.find(inner, detail=True)
    except FileNotFoundError:
        return {}
    return {name[len(inner) + 1:]: info for name, info in found.items()
            if name.startswith(inner + "/") and info.get("type", "file") != "directory"}


BUCKET_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2"}


def check_store_folder(folder: str, overwrite: bool) -> dict[str, int]:
    """The objects of ``folder``; FormatError when it holds some and ``overwrite`` is false, when
    its bucket does not exist or the store refuses access (before any work)."""
    try:
        held = folder_objects(folder)
        protocol, _, inside = folder.partition("://")
        bucket = inside.split("/", 1)[0]
        if not held and protocol in BUCKET_STORES and not store_of(folder)[0].exists(bucket):
            raise FormatError(f"{folder}: the bucket {bucket} does not exist (or is not visible with these "
                              f"credentials); create it first")
    except PermissionError as error:
        raise FormatError(f"{folder}: the store refused access ({error}); check the credentials "
                          f"(--storage-option, storage_options=)") from None
    if held and not overwrite:
        raise FormatError(f"{folder}: is not empty (objects of an earlier export would be mixed in); give "
                          f"--overwrite (overwrite=True) to replace it, or another output folder")
    return held


@contextmanager
def staged_store(folders: Mapping[str, str], overwrite: bool,
                 files_of: Callable[[str], MutableSequence]) -> Iterator[dict[str, str]]:
    """``{name: folder}`` to write into (each written in place, its earlier manifest removed
    first); when the block ends without error each folder gets the manifest of what its target
    reported (``files_of(name)``), its other objects removed; on any failure see :func:`give_up`."""
    for folder in folders.values():
        protocol, _, inside = folder.partition("://")
        if protocol in BUCKET_STORES and "/" not in inside.strip("/"):
            raise FormatError(f"{folder}: give a folder inside the bucket as the output, not the bucket itself")
    held = {name: check_store_folder(folder, overwrite) for name, folder in folders.items()}
    earlier = {name: unpublish(folder) for name, folder in folders.items() if held[name]}
    try:
        yield dict(folders)
        tag = uuid.uuid4().hex[:10]
        for name, folder in folders.items():
            publish(folder, files_of(name), tag)
    except BaseException:
        for name, folder in folders.items():
            give_up(folder, earlier.get(name))
        raise


def unpublish(folder: str) -> tuple[dict, bytes | None]:
    """Remove ``folder``'s manifest (the folder stops being a complete export); what identifies
    each of its objects now (:func:`object_states`) and the manifest's bytes (None: it had none)."""
    file_system, inner = store_of(folder)
    path = posixpath.join(inner.rstrip("/"), MANIFEST)
    try:
        manifest = file_system.cat_file(path)
    except FileNotFoundError:
        manifest = None
    else:
        file_system.rm_file(path)
    return object_states(folder), manifest


def give_up(folder: str, earlier: tuple[dict, bytes | None] | None) -> None:
    """After a failed run: ``folder`` as it was when nothing was written into it (its manifest
    back), else emptied (neither the earlier export nor the run's objects are complete)."""
    if earlier is not None and object_states(folder) == earlier[0]:
        if earlier[1] is not None:
            file_system, inner = store_of(folder)
            file_system.pipe_file(posixpath.join(inner.rstrip("/"), MANIFEST), earlier[1])
        return
    remove(folder, recursive=True)


# what changes in an object's listing entry when it is written again (the first one a store gives)
VERSION_KEYS = ("ETag", "etag", "md5Hash", "generation", "LastModified", "last_modified", "mtime", "created")


def object_states(folder: str) -> dict[str, tuple]:
    """``{name: (size, version)}`` of the objects under ``folder``: two equal results mean
    nothing was written in between (an object of a store that tells no version counts as written)."""
    return {name: (info.get("size"), next((info[key] for key in VERSION_KEYS if info.get(key) is not None), object()))
            for name, info in _listing(folder).items()}


@contextmanager
def in_place_store(folders: Mapping[str, str], files_of: Callable[[str], MutableSequence]) -> Iterator[None]:
    """Write into the folders as they are (``overwrite=None``); a folder's manifest is removed
    first and written again, of what this run reported, when the run is complete."""
    for folder in folders.values():
        remove(f"{folder.rstrip('/')}/{MANIFEST}")
    yield
    tag = uuid.uuid4().hex[:10]
    for name, folder in folders.items():
        write_manifest(folder, manifest_of(folder, files_of(name), tag))


def manifest_of(folder: str, files: Iterable, tag: str, sizes: Mapping[str, int] | None = None) -> dict:
    """The manifest of the reported ``files`` under ``folder`` (``sizes``: of its objects, listed
    when not given); FileNotFoundError for a reported object that is not there."""
    sizes = folder_objects(folder) if sizes is None else sizes
    root = folder.rstrip("/") + "/"
    names = sorted({str(path)[len(root):] for path in files if str(path).startswith(root)})
    for name in names:
        if name not in sizes:
            raise FileNotFoundError(2, "the run reported this object but the store does not hold it", root + name)
    return {"format": MANIFEST_FORMAT, "run": tag, "files": [{"path": name, "size": sizes[name]} for name in names]}


def publish(folder: str, files: Iterable, tag: str) -> None:
    """Make ``folder`` the export of the reported ``files``: its other objects removed (one
    listing, batched deletes), the manifest written last."""
    sizes = folder_objects(folder)
    manifest = manifest_of(folder, files, tag, sizes)
    named = {entry["path"] for entry in manifest["files"]}
    stale = [name for name in sizes if name not in named]
    if stale:
        file_system, inner = store_of(folder)
        file_system.rm([f"{inner.rstrip('/')}/{name}" for name in stale])
    write_manifest(folder, manifest)


def write_manifest(folder: str, manifest: dict) -> None:
    """``folder/_manifest.json`` in one request."""
    file_system, inner = store_of(folder)
    file_system.pipe_file(posixpath.join(inner.rstrip("/"), MANIFEST), orjson.dumps(manifest) + b"\n")


def read_manifest(folder: str) -> dict[str, int]:
    """``{name: size}`` of a complete export in the fsspec ``folder``; FormatError when it has no
    manifest (an unfinished or foreign export) or an object differs from it."""
    file_system, inner = store_of(folder)
    try:
        manifest = orjson.loads(file_system.cat_file(posixpath.join(inner.rstrip("/"), MANIFEST)))
    except FileNotFoundError:
        raise FormatError(f"{folder}: has no {MANIFEST}: not a complete export of fastlabel-formats (an "
                          f"interrupted run, or written by another tool)") from None
    except orjson.JSONDecodeError as error:
        raise FormatError(f"{folder}/{MANIFEST}: not valid JSON ({error})") from None
    listed = {entry["path"]: entry["size"] for entry in manifest.get("files", ())}
    held = folder_objects(folder)
    for name, size in listed.items():
        if held.get(name) != size:
            found = "missing" if name not in held else f"{held[name]:,} bytes, the manifest says {size:,}"
            raise FormatError(f"{folder}/{name}: {found}; the export is incomplete or was changed")
    return listed


OBJECTS_IN_FLIGHT = 256  # objects a block may have started writing and not yet seen written
_UPLOADS = threading.local()  # per thread: the writes of the block it runs (background_writes)


def put_objects(file_system: object, objects: Mapping[str, bytes]) -> None:
    """Write ``{path inside the store: data}``: inside :func:`background_writes`, started on the
    store's event loop and left running (this returns once at most OBJECTS_IN_FLIGHT of the
    block's writes are unfinished), so the block goes on while the store answers; elsewhere, or
    for a store without an event loop, all written before this returns. No request besides the
    writes (no HEAD, no listing)."""
    pending = getattr(_UPLOADS, "pending", None)
    loop = getattr(file_system, "loop", None) if getattr(file_system, "async_impl", False) else None
    if pending is None or loop is None:
        file_system.pipe(dict(objects))
        return
    from fsspec.asyn import sync

    pending += [(loop, task) for task in sync(loop, _started, [file_system._pipe_file(path, data)
                                                                for path, data in objects.items()])]
    if len(pending) > OBJECTS_IN_FLIGHT:
        oldest, pending[:] = pending[:len(pending) // 2], pending[len(pending) // 2:]
        _settle(oldest, cancel=False)


@contextmanager
def background_writes() -> Iterator[None]:
    """While the block runs, :func:`put_objects` writes in the background; when it ends every
    write has ended: on a clean exit the first failed write is raised, on an exception the
    unfinished writes are cancelled and waited for (none lands after the block)."""
    previous = getattr(_UPLOADS, "pending", None)
    _UPLOADS.pending = pending = []
    try:
        yield
    except BaseException:
        _settle(pending, cancel=True)
        raise
    else:
        _settle(pending, cancel=False)
    finally:
        _UPLOADS.pending = previous


async def _started(coroutines: list) -> list:
    import asyncio  # only a store with an event loop gets here (importing it costs a worker's start)

    return [asyncio.ensure_future(coroutine) for coroutine in coroutines]


def _settle(pending: list, cancel: bool) -> None:
    """Wait until every ``(loop, task)`` of ``pending`` has ended (``cancel``: cancelled first);
    the first error of a write raised, unless cancelling."""
    if not pending:
        return
    from fsspec.asyn import sync

    by_loop: dict[object, list] = {}
    for loop, task in pending:
        by_loop.setdefault(loop, []).append(task)
    pending.clear()
    errors = [error for loop, tasks in by_loop.items() for error in sync(loop, _ended, tasks, cancel)]
    if errors and not cancel:
        raise errors[0]


async def _ended(tasks: list, cancel: bool) -> list[BaseException]:
    import asyncio

    if cancel:
        for task in tasks:
            task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [result for result in results
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError)]


def parse_storage_options(pairs: Iterable[str]) -> dict[str, object]:
    """fsspec options from ``KEY=VALUE`` texts (``--storage-option``): a value is read as JSON when
    it is JSON (``anon=true``, ``config_kwargs={"max_pool_connections": 50}``), else kept as text;
    a dotted key nests (``client_kwargs.region_name=eu-west-1``)."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key.strip():
            raise FormatError(f"--storage-option {pair!r}: give KEY=VALUE, e.g. endpoint_url=http://127.0.0.1:9000")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text
        *parents, last = key.strip().split(".")
        place = options
        for parent in parents:
            place = place.setdefault(parent, {})
            if not isinstance(place, dict):
                raise FormatError(f"--storage-option {pair!r}: {parent} is already a value, not a group")
        place[last] = value
    return options
