"""Output folders published whole: every target of a run is written into a hidden sibling folder and
moved into place only when all of them are complete, so a failed or interrupted run leaves each
target folder as it was (absent, or the previous complete export), and a replaced folder holds no
stale files of an earlier export."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .errors import FormatError
from .files import is_remote, remove_stale_temporaries


def check_empty(folders: Mapping[str, Path], overwrite: bool) -> None:
    """FormatError for a target folder that holds files, unless ``overwrite`` (which replaces it)."""
    for folder in folders.values():
        if folder.is_file():
            raise FormatError(f"{folder}: is a file, not an output folder")
        if not overwrite and folder.is_dir() and any(folder.iterdir()):
            raise FormatError(f"{folder}: is not empty (files of an earlier export would be mixed in); give "
                              f"--overwrite (overwrite=True) to replace it, or another output folder")


@contextmanager
def staged(folders: Mapping[str, Path]) -> Iterator[dict[str, Path]]:
    """``{name: hidden sibling folder}`` to write into; on success each replaces its folder, on
    any failure (Ctrl-C included) the siblings are removed and the folders stay as they were."""
    tag = uuid.uuid4().hex[:10]
    for folder in folders.values():  # what a killed run left: our own naming, never anything else
        for stale in folder.parent.glob(f".{folder.name}.new-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in folder.parent.glob(f".{folder.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)
    siblings = {name: folder.parent / f".{folder.name}.new-{tag}" for name, folder in folders.items()}
    try:
        yield siblings
    except BaseException:
        for sibling in siblings.values():
            shutil.rmtree(sibling, ignore_errors=True)
        raise
    for name, folder in folders.items():
        _publish(siblings[name], folder, tag)


@contextmanager
def output_folders(targets: list, overwrite: bool | None) -> Iterator[None]:
    """Where the ``targets`` write: into their folders as they are (``overwrite=None``, the official
    SDK's way; temporary files a killed run left there are removed first), or into hidden siblings
    published whole when every target is complete (``True`` replaces each folder, ``False`` refuses
    one that holds files). An fsspec folder is always written in place (objects appear whole)."""
    local = [target for target in targets if not is_remote(target.output_dir)]
    if overwrite is None:
        for target in local:
            if target.output_dir.is_dir():
                remove_stale_temporaries(target.output_dir)
        yield
        return
    folders = {str(number): target.output_dir for number, target in enumerate(local)}
    check_empty(folders, overwrite)
    with staged(folders) as siblings:
        for number, target in enumerate(local):
            target.write_into(siblings[str(number)])
        yield


def _publish(sibling: Path, folder: Path, tag: str) -> None:
    """Move ``sibling`` into ``folder``'s place (the old folder out of the way first, then removed)."""
    if not sibling.exists():
        sibling.mkdir(parents=True)
    previous = folder.parent / f".{folder.name}.old-{tag}"
    if folder.exists():
        os.replace(folder, previous)
    os.replace(sibling, folder)
    shutil.rmtree(previous, ignore_errors=True)
