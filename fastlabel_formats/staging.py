"""Output folders published whole, one run at a time, touching nothing the run did not create.

Every target of a run is written into a hidden sibling folder and moved into place only when all
of them are complete, so a failed or interrupted run leaves each target folder as it was (absent,
or the previous complete export), and a replaced folder holds no stale files of an earlier export.

The output policy, shared by every command and every ``export_*``:

- an output folder is a directory or absent (a symlink to a directory is followed, and stays a
  symlink: the export lands in the folder it names); a file, device, FIFO or socket there is
  refused before any work;
- an output file (``--report-json``, ``validate --fix -o``, ``integrate -o``) is a regular file or
  absent (a symlink to a regular file is followed);
- ``overwrite=True`` replaces a folder's previous contents, and refuses a folder that holds an
  input of the run (the tasks file, the images, the videos) or the current directory;
- one run per output folder at a time: an exclusive ``fcntl.flock`` on ``.<folder>.lock`` beside
  it, held for the whole run; a second run fails at once naming the running pid. What a killed run
  left (staging folders, temporary files) is removed only under that lock, so never while its
  owner still runs;
- a staging folder that disappears while the run writes (deleted by hand, or with the output's
  parent) fails the run; nothing is published;
- what is published holds no temporary file: every writer has ended by then (on a Dask cluster
  too, a killed worker's included), so the staging folder's are removed first.

Folders in object stores follow the same policy through :mod:`~fastlabel_formats.stores`.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from .errors import FormatError
from .files import is_remote, remove_run_temporaries, remove_stale_temporaries
from .stores import in_place_store, staged_store

try:
    import fcntl
except ImportError:  # Windows: no advisory locks through fcntl; runs are not serialised there
    fcntl = None

# attributes of a target that name folders it reads (never replaced by its own --overwrite)
INPUT_ATTRIBUTES = ("images", "image_dir", "videos")


def file_kind(mode: int) -> str:
    """What a non-regular, non-directory file is, in words."""
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a file")):
        if test(mode):
            return name
    return "not a regular file"


def output_folder(folder: str | os.PathLike[str]) -> Path:
    """The local folder to write ``folder`` into (a symlink to a folder resolved); FormatError when
    something other than a folder is there (a file, device, FIFO, socket or a dangling symlink)."""
    path = Path(folder)
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        return path
    except (OSError, ValueError) as error:
        raise FormatError(f"{folder}: cannot use it as the output folder ({getattr(error, 'strerror', error)})") \
            from None
    if stat.S_ISLNK(link.st_mode):
        if not path.exists():
            raise FormatError(f"{folder}: is a symlink to nothing ({os.readlink(path)}); give an output folder")
        path = Path(os.path.realpath(path))
    mode = os.stat(path).st_mode
    if not stat.S_ISDIR(mode):
        raise FormatError(f"{folder}: is {file_kind(mode)}, not a folder; give an output folder")
    return path


def output_file(path: str | os.PathLike[str], outputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """The local file to write ``path`` as (a symlink to a regular file resolved); FormatError when
    a folder, device, FIFO or socket is there, or when it lies inside one of the run's ``outputs``
    folders (which the run replaces)."""
    if "\x00" in str(path):
        raise FormatError(f"{str(path)!r}: a path cannot hold a NUL byte")
    target = Path(path)
    _check_parents(target)
    with suppress(FileNotFoundError, NotADirectoryError):
        mode = os.stat(target).st_mode
        if stat.S_ISDIR(mode):
            raise FormatError(f"{path}: is a folder; give a file name")
        if not stat.S_ISREG(mode):
            raise FormatError(f"{path}: is {file_kind(mode)}, not a regular file; refusing to replace it")
        target = Path(os.path.realpath(target))
    for folder in outputs:
        if not is_remote(folder) and _inside(target, Path(folder)):
            raise FormatError(f"{path}: lies inside the output folder {folder}, which this run replaces; "
                              f"give a file outside it")
    return target


def _check_parents(path: Path) -> None:
    """FormatError when the nearest existing folder above ``path`` is not a folder."""
    for parent in path.absolute().parents:
        try:
            mode = os.stat(parent).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, ValueError) as error:
            raise FormatError(f"{path}: cannot be written ({getattr(error, 'strerror', None) or error})") from None
        if not stat.S_ISDIR(mode):
            raise FormatError(f"{path}: {parent} is {file_kind(mode)}, not a folder")
        return


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved; a NUL byte is nowhere)."""
    if "\x00" in f"{path}{folder}":
        return False
    real_path, real_folder = os.path.realpath(path), os.path.realpath(folder)
    return real_path == real_folder or real_path.startswith(real_folder.rstrip(os.sep) + os.sep)


def check_overwrite(folder: Path, inputs: Iterable[object]) -> None:
    """FormatError when replacing ``folder`` would delete an input of the run or the current folder."""
    if Path(os.path.realpath(folder)) == Path("/"):
        raise FormatError(f"{folder}: refusing to replace the root folder")
    if _inside(Path.cwd(), folder):
        raise FormatError(f"{folder}: is the current folder (or holds it); --overwrite would delete it, give "
                          f"another output folder")
    for source in inputs:
        if isinstance(source, (str, os.PathLike)) and not is_remote(source) and _inside(Path(source), folder):
            raise FormatError(f"{folder}: holds {source}, an input of this run; --overwrite would delete it, "
                              f"give another output folder")


def check_empty(folders: Mapping[str, Path], overwrite: bool, inputs: Iterable[object] = ()) -> None:
    """FormatError for a target folder that is not a folder, or holds files unless ``overwrite``
    (which replaces it, and then must not hold an input)."""
    inputs = list(inputs)
    for folder in folders.values():
        output_folder(folder)
        if not overwrite and folder.is_dir() and any(folder.iterdir()):
            raise FormatError(f"{folder}: is not empty (files of an earlier export would be mixed in); give "
                              f"--overwrite (overwrite=True) to replace it, or another output folder")
        if overwrite and folder.is_dir():
            check_overwrite(folder, inputs)


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` (``.<name>.lock`` beside it) while the block runs;
    FormatError naming the running pid when another run holds it."""
    if fcntl is None:
        yield
        return
    lock_path = folder.parent / f".{folder.name}.lock"
    try:
        created = make_parents(folder.parent)
    except OSError as error:
        raise FormatError(f"{error.filename or folder}: cannot create the output folder ({error.strerror})") from None
    try:
        handle = _locked(lock_path)
        try:
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()}\n".encode())
            yield
        finally:
            with suppress(OSError):
                os.unlink(lock_path)  # still held: a waiting run sees the inode change and takes a new one
            os.close(handle)
    finally:
        for made in reversed(created):  # the folders this run made, when nothing was published in them
            with suppress(OSError):
                made.rmdir()


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise FormatError(f"{path}: is a file, so the output folder cannot be made under it") from None
            continue
        except NotADirectoryError:
            raise FormatError(f"{path}: a part of this path is a file, not a folder") from None
        created.append(path)
    return created


def _locked(lock_path: Path) -> int:
    """An open descriptor of ``lock_path`` holding its exclusive lock (the file is recreated when a
    finishing run removed it between our open and our lock)."""
    folder = lock_path.parent
    while True:
        try:
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as error:
            raise FormatError(f"{folder}: cannot write in this folder ({error.strerror})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip() or "?"
            os.close(handle)
            raise FormatError(f"{folder / lock_path.name[1:-5]}: another run (pid {owner}) is writing this output "
                              f"folder; wait for it to finish, or give another folder") from None
        try:
            same = os.fstat(handle).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        os.close(handle)


@contextmanager
def locked_folders(folders: Iterable[Path]) -> Iterator[None]:
    """Every folder of ``folders`` locked (in path order) for the block."""
    with ExitStack() as stack:
        for folder in sorted(set(folders)):
            stack.enter_context(run_lock(folder))
        yield


def _remove_leftovers(folder: Path) -> None:
    """What a killed run into ``folder`` left (our naming only; called under the folder's lock)."""
    for pattern in (f".{folder.name}.new-*", f".{folder.name}.old-*"):
        for stale in folder.parent.glob(pattern):
            if stale.is_symlink() or not stale.is_dir():
                with suppress(FileNotFoundError):
                    stale.unlink()
            else:
                shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def staged(folders: Mapping[str, Path]) -> Iterator[dict[str, Path]]:
    """``{name: hidden sibling folder}`` to write into; on success each replaces its folder, on
    any failure (Ctrl-C included) the siblings are removed and the folders stay as they were.
    The caller holds the folders' locks."""
    tag = uuid.uuid4().hex[:10]
    for folder in folders.values():
        _remove_leftovers(folder)
    siblings = {name: folder.parent / f".{folder.name}.new-{tag}" for name, folder in folders.items()}
    with ExitStack() as held:
        try:
            handles = {name: held.enter_context(_held_folder(sibling)) for name, sibling in siblings.items()}
            try:
                yield siblings
            except OSError as error:  # a write failed: because the staging folder went away?
                _check_staging(siblings, handles, folders, error)
                raise
            _check_staging(siblings, handles, folders)  # all checked before the first is published
            for sibling in siblings.values():  # every writer has ended: what a killed one left goes
                remove_run_temporaries(sibling)
        except BaseException:
            for sibling in siblings.values():
                shutil.rmtree(sibling, ignore_errors=True)
            raise
    for name, folder in folders.items():
        _publish(siblings[name], folder, tag)


@contextmanager
def _held_folder(folder: Path) -> Iterator[int]:
    """``folder`` made, and a descriptor of it held open (its inode cannot be reused meanwhile)."""
    folder.mkdir(parents=True)
    handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield handle
    finally:
        os.close(handle)


def _check_staging(siblings: Mapping[str, Path], handles: Mapping[str, int], folders: Mapping[str, Path],
                   cause: BaseException | None = None) -> None:
    """FileNotFoundError naming the output folder whose staging folder was removed or replaced."""
    for name, sibling in siblings.items():
        try:
            same = os.stat(sibling).st_ino == os.fstat(handles[name]).st_ino
        except OSError:
            same = False
        if not same or os.fstat(handles[name]).st_nlink == 0:
            raise FileNotFoundError(errno.ENOENT, "the run's staging folder disappeared while it was written; "
                                                  "nothing was published", str(folders[name])) from cause


@contextmanager
def output_folders(targets: list, overwrite: bool | None, inputs: Sequence[object] = (),
                   reports: Sequence | None = None, run_tag: str | None = None) -> Iterator[None]:
    """Where the ``targets`` write, each folder locked for the run: into their folders as they are
    (``overwrite=None``, the official SDK's way; temporary files a killed run left there are removed
    first, and the run's own, ``run_tag``, after it), or into hidden siblings published whole when
    every target is complete (``True`` replaces each folder, ``False`` refuses one that holds files).
    ``inputs``: what the run reads (never replaced). An fsspec folder is staged and published in its
    store with a manifest (:mod:`~fastlabel_formats.stores`) of what ``reports`` list."""
    local = [number for number, target in enumerate(targets) if not is_remote(target.output_dir)]
    folders = {str(number): output_folder(targets[number].output_dir) for number in local}
    remote = {str(number): str(target.output_dir) for number, target in enumerate(targets) if number not in local}
    read = [*inputs, *(getattr(targets[number], name, None) for number in local for name in INPUT_ATTRIBUTES)]

    def files_of(name: str) -> list:
        return reports[int(name)].files if reports is not None else []

    with locked_folders(folders.values()):
        if overwrite is None:
            with in_place_store(remote, files_of), _in_place(folders.values(), run_tag):
                yield
            return
        check_empty(folders, overwrite, read)
        with staged(folders) as siblings, staged_store(remote, overwrite, files_of) as prefixes:
            for name, place in {**siblings, **prefixes}.items():
                targets[int(name)].write_into(place)
            yield
        for name, sibling in siblings.items():  # published: the reports name the files where they are now
            files_of(name).rebase(sibling, targets[int(name)].published_dir)


@contextmanager
def _in_place(folders: Iterable[Path], run_tag: str | None) -> Iterator[None]:
    """Local folders written as they are: temporary files of writers gone removed before, the
    run's own after (when a killed Dask worker left some)."""
    folders = list(folders)
    for folder in folders:
        if folder.is_dir():
            remove_stale_temporaries(folder)
    try:
        yield
    finally:
        for folder in folders:
            if run_tag and folder.is_dir():
                remove_run_temporaries(folder, run_tag)


def _publish(sibling: Path, folder: Path, tag: str) -> None:
    """Move ``sibling`` into ``folder``'s place (the old folder out of the way first, then removed)."""
    previous = folder.parent / f".{folder.name}.old-{tag}"
    if folder.exists():
        os.replace(folder, previous)
    os.replace(sibling, folder)
    shutil.rmtree(previous, ignore_errors=True)
