"""Output paths that stay inside the output folder, atomic writes and JSON encoding."""

from __future__ import annotations

import errno
import functools
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import orjson

from .errors import FormatError


def basename(name: str) -> str:
    """The task name without its last extension, directories kept (``sub/a.b.jpg`` -> ``sub/a.b``)."""
    return os.path.splitext(name)[0]


def safe_relative(name: str, place: str) -> str:
    """``name`` as a relative POSIX path that cannot leave its folder, or FormatError."""
    if name and ".." not in name and "\\" not in name and name[0] != "/" and name[1:2] != ":" \
            and "//" not in name and not name.startswith("./"):
        return name
    text = name.replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise FormatError(f"{place}: name {name!r} is absolute or empty; refusing to write it")
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../") or normal == ".":
        raise FormatError(f"{place}: name {name!r} climbs out of the output folder")
    return normal


def is_remote(path: object) -> bool:
    """A path with a protocol (``s3://``, ``memory://``, …), read and written through fsspec."""
    return isinstance(path, str) and "://" in path


def output_path(output_dir: str | os.PathLike[str], name: str, place: str) -> Path | str:
    """``output_dir/name`` after checking that ``name`` stays inside ``output_dir`` (a string for
    an fsspec ``output_dir``)."""
    relative = safe_relative(name, place)
    if is_remote(output_dir):
        return f"{checked_url(output_dir).rstrip('/')}/{relative}"
    path = Path(output_dir, relative)
    _check_inside(str(output_dir), str(path.parent), path, place)
    return path


def _check_inside(root: str, folder: str, path: object, place: str) -> None:
    if not _resolves_inside(root, folder):
        raise FormatError(f"{place}: {path} leads outside the output folder through a symlink; refusing to write it")


def output_paths(output_dir: str | os.PathLike[str], names: list[str], place: str, folder: str = "") -> list:
    """:func:`output_path` of ``folder/name`` for each of ``names`` (each name checked alone, as
    ``Target.output`` does; a local folder's paths as strings, the same text a ``Path`` gives)."""
    root = os.fspath(output_dir)
    prefix = f"{folder}/" if folder else ""
    if is_remote(output_dir) or os.sep != "/" or root in (".", "", "/"):
        return [output_path(output_dir, prefix + safe_relative(name, place) if folder else name, place)
                for name in names]
    paths = []
    for name in names:
        relative = prefix + safe_relative(name, place)
        if "/." in f"/{relative}" or relative.endswith("/"):  # what a Path tidies away
            tidy = Path(root, relative)
            path, parent = str(tidy), str(tidy.parent)
        else:
            path = f"{root.rstrip('/')}/{relative}"
            parent = path.rpartition("/")[0]
        _check_inside(root, parent, path, place)
        paths.append(path)
    return paths


@functools.lru_cache(maxsize=65536)
def _resolves_inside(root: str, folder: str) -> bool:
    """Whether ``folder`` (with every symlink of its existing part followed) is ``root`` (resolved)
    or inside it; cached per folder, so a run checks each folder once."""
    real_root, real_folder = os.path.realpath(root), os.path.realpath(folder)
    return real_folder == real_root or real_folder.startswith(real_root.rstrip(os.sep) + os.sep)


def checked_url(url: object) -> str:
    """``url`` when fsspec knows its protocol and it names something; FormatError otherwise."""
    text = str(url)
    protocol, _, rest = text.partition("://")
    if not rest.strip("/"):
        raise FormatError(f"{text}: names no bucket or folder after the protocol")
    try:
        fsspec_module().get_filesystem_class(protocol.split("::")[-1])
    except (ValueError, ImportError) as error:
        raise FormatError(f"{text}: {error}") from None
    return text


def fsspec_module():
    try:
        import fsspec
    except ImportError:
        raise FormatError("paths with a protocol (s3://, memory://, …) need fsspec: "
                          "pip install 'fastlabel-formats[dask]'") from None
    return fsspec


class RunStopped(Exception):
    """Raised in a task of a run that was told to stop (a failure elsewhere, or Ctrl-C)."""


_WRITER = threading.local()  # per thread: the run whose task it runs (its tag and stop check)


@contextmanager
def writing_for(run_tag: str | None, check: Callable[[], None] | None = None) -> Iterator[None]:
    """While the block runs in this thread, temporary files carry ``run_tag`` (5 characters of
    ``[a-z0-9]``: :func:`remove_temporaries` finds a run's own whatever machine wrote them) and
    ``check()`` is called before each write (it raises :class:`RunStopped` when the run was told
    to stop)."""
    previous = getattr(_WRITER, "run", None), getattr(_WRITER, "check", None), getattr(_WRITER, "folders", None)
    _WRITER.run, _WRITER.check, _WRITER.folders = run_tag, check, set()
    try:
        yield
    finally:
        _WRITER.run, _WRITER.check, _WRITER.folders = previous


def check_stop() -> None:
    """Raise :class:`RunStopped` when this thread's run was told to stop."""
    check = getattr(_WRITER, "check", None)
    if check is not None:
        check()


def use_storage_options(options: Mapping[str, Mapping]) -> None:
    """Make ``{protocol: fsspec options}`` the defaults of every file system of those protocols
    this process opens (in a Dask worker: left for the next block of the run)."""
    config = fsspec_module().config.conf
    for protocol, values in options.items():
        if config.get(protocol) != values:
            config[protocol] = dict(values)


@contextmanager
def storage_options_set(options: Mapping[str, Mapping]) -> Iterator[None]:
    """:func:`use_storage_options` while the block runs (the previous defaults back after)."""
    if not options:
        yield
        return
    config = fsspec_module().config.conf
    previous = {protocol: config.get(protocol) for protocol in options}
    use_storage_options(options)
    try:
        yield
    finally:
        for protocol, values in previous.items():
            if values is None:
                config.pop(protocol, None)
            else:
                config[protocol] = values


def store_of(path: str) -> tuple[object, str]:
    """``(fsspec file system, path inside it)`` of an fsspec URL."""
    return fsspec_module().core.url_to_fs(checked_url(path))


def has_folders(file_system: object) -> bool:
    """Whether ``file_system`` has real folders (made before a file is written in them); object
    stores have none, and asking whether a bucket exists costs a request per object."""
    protocols = file_system.protocol if isinstance(file_system.protocol, (tuple, list)) else (file_system.protocol,)
    return bool({"file", "local"} & set(protocols))


def write_many(files: dict[Path | str, bytes], fresh: bool = False) -> None:
    """Write every ``{path: data}`` atomically: local files one by one, objects of one store
    concurrently (an asynchronous store's bounded batch), with no request besides the writes.
    ``fresh``: the local files are new files of a run's staging folder, which nobody sees before
    the run publishes it whole (or removes it): each is written straight under its name
    (:func:`write_new`), unless this block may run again over what it wrote (:func:`may_run_again`)."""
    check_stop()
    remote = {path: data for path, data in files.items() if is_remote(path)}
    write_local = write_new if fresh and not may_run_again() else write_atomic
    for path, data in files.items():
        if path not in remote:
            write_local(path, data)
    by_store: dict[int, tuple[object, dict]] = {}
    for path, data in remote.items():
        file_system, inner = store_of(path)
        by_store.setdefault(id(file_system), (file_system, {}))[1][inner] = data
    for file_system, objects in by_store.values():
        if has_folders(file_system):
            for folder in {posixpath.dirname(inner) for inner in objects}:
                file_system.makedirs(folder, exist_ok=True)
        from .stores import put_objects  # (stores imports files)

        put_objects(file_system, objects)


def may_run_again() -> bool:
    """Whether this thread's block may be run again over the files it wrote: a Dask cluster's, after
    its worker died (the runs whose blocks have a stop check, see :func:`writing_for`)."""
    return getattr(_WRITER, "check", None) is not None


# a new file, never an existing one, nor one a symlink names
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def write_new(path: Path | str, data: bytes) -> Path | str:
    """Write ``data`` as the new local file ``path`` (its folder made first), without a temporary
    file: only for a folder nobody sees until the run publishes it whole (a staging folder). Anything
    already at ``path`` (a symlink included) is never replaced nor followed: FormatError naming it.
    A write that fails removes its half file (and raises the OS error naming ``path``)."""
    check_stop()
    make_folder(os.path.dirname(path) or ".")
    try:
        handle = os.open(path, NEW_FILE, 0o666)
    except FileExistsError:
        raise FormatError(f"{path}: already exists in the run's unpublished output folder (a file of the same name "
                          f"written before, or something put there); refusing to replace it") from None
    try:
        _write_all(handle, data)
    except BaseException as error:
        _discard(os.fspath(path), path, error)
        raise
    return path


def _write_all(handle: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``handle``, then close it."""
    try:
        written = memoryview(data)
        while written:
            written = written[os.write(handle, written):]
    finally:
        os.close(handle)


@contextmanager
def atomic_output(path: Path | str) -> Iterator[BinaryIO]:
    """A binary stream to a temporary file beside ``path``, renamed into place on success and
    removed on failure, so no half-written file ever carries the final name. An fsspec path is
    written through fsspec (object stores publish an object only once it is complete). A run told
    to stop (:func:`stop_check`) raises :class:`RunStopped` instead of writing."""
    check_stop()
    if is_remote(path):
        file_system, inner = store_of(path)
        if has_folders(file_system):
            file_system.makedirs(posixpath.dirname(inner), exist_ok=True)
        with file_system.open(inner, "wb") as stream:
            yield stream
        return
    handle, temporary = _temporary_beside(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        check_stop()
        os.replace(temporary, path)
    except BaseException as error:
        _discard(temporary, path, error)
        raise


def _discard(temporary: str, path: Path, error: BaseException) -> None:
    """Remove the ``temporary`` file of ``path`` after ``error``; an OS error that names no file
    (a write's) is raised again naming ``path``."""
    with suppress(FileNotFoundError):
        os.unlink(temporary)
    if isinstance(error, OSError) and error.filename is None:
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from error


def _temporary_beside(path: Path | str) -> tuple[int, str]:
    """A new temporary file beside ``path`` (its folder made first), named by this process and
    thread, with the mode ``open()`` would give (mkstemp's random names and 600 mode cost a third
    of a small file's write)."""
    folder, name = os.path.split(os.fspath(path))
    folder = folder or "."
    make_folder(folder)
    run = getattr(_WRITER, "run", None) or "_____"
    temporary = f"{folder}/.{short_name(name)}.{os.getpid()}-{run}{threading.get_ident() % 1000:03d}.tmp"
    try:
        return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
    except FileExistsError:  # left by a killed process that had this number: a random name instead
        handle, temporary = tempfile.mkstemp(prefix=f".{short_name(name)}.{os.getpid()}-", suffix=".tmp", dir=folder)
        os.chmod(temporary, FILE_MODE)
        return handle, temporary


NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems
TEMPORARY_ROOM = 40  # what a temporary name adds to its file's name: a dot, the pid, 8 characters, .tmp


def short_name(name: str) -> str:
    """``name``, or when a temporary name made from it would pass NAME_MAX bytes, its first part
    and a digest of the whole (distinct names stay distinct)."""
    if len(name.encode()) <= NAME_MAX - TEMPORARY_ROOM:
        return name
    import hashlib

    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:16]
    return name.encode()[:150].decode(errors="ignore") + "~" + digest


# ``.<name>.<pid>-<run tag><3 characters>.tmp``: atomic_output's temporary files, by writing
# process (on this machine or a Dask worker's) and run
TEMPORARY_NAME = re.compile(r"\..+\.([0-9]+)-([a-z0-9_]{8})\.tmp")
PARTS_FOLDER_NAME = re.compile(r"\..+\.parts-([0-9]+)-[0-9a-f]{12}")  # see parts_folder_name


def parts_folder_beside(path: Path | str) -> Path | str:
    """A new folder (not made yet) beside the output file ``path`` for the part files workers spool
    for it (see :func:`parts_folder_name`)."""
    folder, name = str(path).rsplit("/", 1) if is_remote(path) else (Path(path).parent, Path(path).name)
    return output_path(folder, parts_folder_name(name), "parts")


def parts_folder_name(file_name: str) -> str:
    """A new name for the folder of part files a run keeps beside its output file ``file_name``
    until it assembles it (with this process's id: once it is gone, a later run removes it)."""
    return f".{file_name}.parts-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def remove_stale_temporaries(folder: Path) -> int:
    """Remove the temporary files of :func:`atomic_output` under ``folder`` whose writing process
    is gone (a killed run's leftovers; a running writer's on this machine are kept); how many were
    removed."""
    return remove_temporaries(folder, lambda pid, tag: not _process_alive(pid))


def remove_run_temporaries(folder: Path, run_tag: str | None = None) -> int:
    """Remove the temporary files under ``folder`` of the run ``run_tag`` (None: of every run;
    call it only once every writer of the folder has ended); how many were removed."""
    return remove_temporaries(folder, lambda pid, tag: run_tag is None or tag.startswith(run_tag))


def remove_temporaries(folder: Path, stale: Callable[[int, str], bool]) -> int:
    """Remove the temporary files under ``folder`` for which ``stale(pid, tag)`` is true, and the
    part folders (:func:`parts_folder_name`) for which ``stale(pid, "")`` is."""
    removed = 0
    for parent, folders, names in os.walk(folder):
        for name in [name for name in folders if PARTS_FOLDER_NAME.fullmatch(name)]:
            path = os.path.join(parent, name)
            if not os.path.islink(path) and stale(int(PARTS_FOLDER_NAME.fullmatch(name).group(1)), ""):
                folders.remove(name)
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        for name in names:
            match = TEMPORARY_NAME.fullmatch(name)
            if match and stale(int(match.group(1)), match.group(2)):
                with suppress(FileNotFoundError):
                    os.unlink(os.path.join(parent, name))
                    removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or no process id at all
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


def _file_mode() -> int:
    """What ``open()`` would give a new file: 666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def make_folder(folder: Path | str) -> None:
    """``folder`` and its parents (mode 777 less the umask), or FormatError when a file is in the way.
    In a run's block (:func:`writing_for`) each folder is made once: one that goes away later in the
    block fails the block's next write in it rather than being made again."""
    made, key = getattr(_WRITER, "folders", None), os.fspath(folder)
    if made is not None and key in made:
        return
    try:
        os.makedirs(key, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise FormatError(f"{folder}: cannot create the output folder: {error.filename or folder} is a file") \
            from None
    if made is not None:
        made.add(key)


def open_binary(path: str | os.PathLike[str], mode: str = "rb"):
    """A binary file object of a local or fsspec path (a local one read must be a regular file)."""
    if is_remote(path):
        return fsspec_module().open(checked_url(path), mode).open()
    if "\x00" in str(path):
        raise FileNotFoundError(2, "a path cannot hold a NUL byte", str(path))
    if "r" in mode:
        check_regular(path)
    return open(path, mode)


def check_regular(path: str | os.PathLike[str], what: str = "input") -> None:
    """FormatError when ``path`` exists but is not a regular file (a FIFO would block for ever, a
    device such as /dev/zero never ends)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return  # opening it tells what is wrong
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        subject = what if what.startswith("the ") else f"the {what}"
        raise FormatError(f"{path}: {subject} is {kind}, not a regular file")


def read_range(path: str | os.PathLike[str], start: int = 0, end: int | None = None) -> bytes:
    """Bytes ``start:end`` of a local or fsspec file (read on a handle of its own)."""
    if is_remote(path):
        file_system, inner = fsspec_module().core.url_to_fs(str(path))
        return file_system.cat_file(inner, start=start, end=end)
    with open(path, "rb") as stream:
        stream.seek(start)
        return stream.read() if end is None else stream.read(end - start)


def remove(path: str | os.PathLike[str], recursive: bool = False) -> None:
    """Delete a local or fsspec file (or folder, ``recursive``); nothing when it is already gone."""
    if is_remote(path):
        with suppress(FileNotFoundError):
            fsspec_module().core.url_to_fs(str(path))[0].rm(str(path), recursive=recursive)
    elif recursive:
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            os.unlink(path)


def write_atomic(path: Path | str, data: bytes) -> Path | str:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`; an object in one request)."""
    if is_remote(path):
        write_many({path: data})
        return path
    check_stop()
    handle, temporary = _temporary_beside(path)
    try:
        _write_all(handle, data)
        check_stop()
        os.replace(temporary, path)
    except BaseException as error:
        _discard(temporary, path, error)
        raise
    return path


def json_list(source: object, what: str, name: str, refusal: str = "expected a list of tasks, got") -> tuple[list, str]:
    """``(items, name for messages)`` of a JSON file's path (``what`` it is) or of data already read
    (called ``name``): one object becomes a list of one; FormatError (``refusal`` and the type
    found) when it is neither a list nor an object."""
    if isinstance(source, (str, os.PathLike)):
        data, name = read_json(source, what), str(source)
    else:
        data = source
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FormatError(f"{name}: {refusal} {type(data).__name__}")
    return data, name


def read_json(path: str | os.PathLike[str], what: str = "file") -> object:
    """The parsed JSON of ``path``; FormatError naming the file (and line/column when malformed)."""
    try:
        return orjson.loads(read_bytes(path, what))
    except orjson.JSONDecodeError as error:
        raise FormatError(f"{path}: not valid JSON: {error}") from error


def read_bytes(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """The bytes of a local file; FormatError naming it when it cannot be read (a FIFO, a socket or
    a device named, never waited on nor read without end)."""
    try:
        return regular_file_bytes(path)
    except NotRegular:
        check_regular(path, what)  # names what it is; what it lets pass is a folder
        raise FormatError(f"{path}: cannot read {what} ({os.strerror(errno.EISDIR)})") from None
    except OSError as error:
        check_regular(path, what)
        raise FormatError(f"{path}: cannot read {what} ({error.strerror or error})") from error
    except ValueError as error:  # a NUL byte in the path
        raise FormatError(f"{path!r}: cannot read {what} ({error})") from None


class NotRegular(OSError):
    """A folder, a FIFO, a socket or a device where a regular file was wanted."""


def regular_file_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of a regular file (the first ``limit`` of them), read without a Python file object
    (for many small files); OSError for anything else, without waiting on a pipe or a device."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotRegular(f"{path}: not a regular file")
        if limit is not None:
            return os.read(descriptor, limit)
        parts = []
        while part := os.read(descriptor, 1 << 20):
            parts.append(part)
        return b"".join(parts)
    finally:
        os.close(descriptor)


def read_text(path: str | os.PathLike[str], what: str = "file") -> str:
    """The UTF-8 text of a local file; FormatError naming it when it cannot be read or decoded."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormatError(f"{path}: {what} is not UTF-8 text (byte {error.start:,})") from None


def dump_json(obj: object, indent: int | None = None) -> bytes:
    """JSON bytes: orjson by default, or the reference's ``json.dump(indent=4)`` text exactly."""
    if indent is None:
        try:
            return orjson.dumps(obj)
        except orjson.JSONEncodeError as error:
            if "64-bit" not in str(error):
                raise
            # an integer wider than 64 bits (a coordinate computed from huge ones): written exactly
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return json.dumps(obj, indent=indent, ensure_ascii=False).encode("utf-8")
