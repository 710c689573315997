"""Output folders in object stores (``s3://``, ``gs://``, ``memory://``, …), published whole.

An object store has no rename. A folder that holds no object is written in place: it holds no
export until ``_manifest.json`` is written, last, listing every object the run's blocks reported
and its size; a failed or interrupted run removes what it wrote there. A folder that holds objects
is refused, or with ``overwrite=True`` the run writes under a hidden staging prefix beside it
(``.<name>.new-<run>``, in the same store) and publishes once every target is complete: the
previous manifest and objects are removed, the staged objects copied in (server-side), the
manifest written last. An interrupted replacing run leaves the previous export as it was. A folder without a
manifest, or whose objects do not match it, is not a complete export (:func:`read_manifest`).
What is published is exactly what the run reported, never a listing of the staging prefix. On
failure or Ctrl-C the staging prefix is removed and the folder stays as it was.

There are no locks in an object store: two runs into one folder at a time are not detected.
"""

from __future__ import annotations

import posixpath
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
    file_system, inner = store_of(folder)
    inner = inner.rstrip("/")
    file_system.invalidate_cache(inner)  # the workers wrote it: a listing cached here is out of date
    try:
        found = file_system.find(inner, detail=True)
    except FileNotFoundError:
        return {}
    return {name[len(inner) + 1:]: info.get("size") or 0 for name, info in found.items()
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


def staging_prefix(folder: str, tag: str) -> str:
    """The hidden staging prefix of ``folder`` for the run ``tag`` (beside it, same store)."""
    protocol, _, inside = folder.rstrip("/").partition("://")
    parent, _, name = inside.rpartition("/")
    if not parent or not name:
        raise FormatError(f"{folder}: give a folder inside the bucket as the output, not the bucket itself")
    return f"{protocol}://{parent}/.{name}.new-{tag}"


@contextmanager
def staged_store(folders: Mapping[str, str], overwrite: bool,
                 files_of: Callable[[str], MutableSequence]) -> Iterator[dict[str, str]]:
    """``{name: staging prefix}`` to write into; when the block ends without error each folder is
    replaced by what its target reported (``files_of(name)``, rewritten to the published names),
    with a manifest written last; on any failure the staging prefixes are removed."""
    tag = uuid.uuid4().hex[:10]
    prefixes = {}
    for name, folder in folders.items():
        # an empty folder is its own staging prefix (no copy): it holds no export until its manifest
        prefixes[name] = staging_prefix(folder, tag) if check_store_folder(folder, overwrite) else folder
    try:
        yield prefixes
        manifests = {name: manifest_of(prefixes[name], files_of(name), tag) for name in folders}
        for name, folder in folders.items():
            publish(prefixes[name], folder, manifests[name])
            _rename(files_of(name), prefixes[name], folder)
    except BaseException:
        for name, folder in folders.items():
            if prefixes[name] == folder:  # what this run wrote into the empty folder
                remove(folder, recursive=True)
        raise
    finally:
        for name, prefix in prefixes.items():
            if prefix != folders[name]:
                remove(prefix, recursive=True)


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


def manifest_of(prefix: str, files: MutableSequence, tag: str) -> dict:
    """The manifest of the reported ``files`` under ``prefix`` (sizes from one listing);
    FileNotFoundError for a reported object that is not there."""
    sizes = folder_objects(prefix)
    root = prefix.rstrip("/") + "/"
    names = sorted({str(path)[len(root):] for path in files if str(path).startswith(root)})
    for name in names:
        if name not in sizes:
            raise FileNotFoundError(2, "the run reported this object but the store does not hold it", root + name)
    return {"format": MANIFEST_FORMAT, "run": tag, "files": [{"path": name, "size": sizes[name]} for name in names]}


def publish(prefix: str, folder: str, manifest: dict) -> None:
    """Replace ``folder``'s objects by the objects of ``manifest`` under ``prefix``, manifest last."""
    if prefix == folder:  # written in place: complete once the manifest is there
        write_manifest(folder, manifest)
        return
    file_system, inner_folder = store_of(folder)
    inner_folder = inner_folder.rstrip("/")
    inner_prefix = store_of(prefix)[1].rstrip("/")
    old = folder_objects(folder)
    if MANIFEST in old:  # unpublished first: a reader never takes a half-replaced folder as complete
        file_system.rm_file(f"{inner_folder}/{MANIFEST}")
    stale = [f"{inner_folder}/{name}" for name in old if name != MANIFEST]
    if stale:
        file_system.rm(stale)
    names = [entry["path"] for entry in manifest["files"]]
    if names:
        file_system.copy([f"{inner_prefix}/{name}" for name in names], [f"{inner_folder}/{name}" for name in names])
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


def _rename(files: MutableSequence, prefix: str, folder: str) -> None:
    """Rewrite the reported paths under ``prefix`` to their published names under ``folder``."""
    root = prefix.rstrip("/") + "/"
    files[:] = [f"{folder.rstrip('/')}/{path[len(root):]}" if isinstance(path, str) and path.startswith(root)
                else path for path in files]


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
