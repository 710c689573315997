"""Two tasks that would write the same output file (``a.jpg`` and ``a.png`` both give YOLO's
``a.txt``): found in pass 1 from an 8-byte digest of every output name (16 bytes a file, so a
million tasks cost a few MB), and named before anything is written."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import FormatError


@dataclass(frozen=True)
class OutputNames:
    """The output files of one block for one target: name digests and the index of each file's task."""

    digests: np.ndarray
    tasks: np.ndarray


def digest(name: str) -> int:
    """A stable 64-bit digest of an output name (the same in every process and on every machine)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def block_outputs(targets: Sequence, frames: Sequence, first_task: int) -> list[OutputNames | None]:
    """Per target that writes one file per frame, the digests of its files' names."""
    out: list[OutputNames | None] = []
    for target in targets:
        if not getattr(target, "unique_outputs", False):
            out.append(None)
            continue
        names = [target.file_name(frame) for frame in frames]
        out.append(OutputNames(np.fromiter(map(digest, names), np.uint64, len(names)),
                               np.fromiter((first_task + frame.task for frame in frames), np.int64, len(frames))))
    return out


def check_clashes(targets: Sequence, outputs: Sequence[Sequence[OutputNames | None]], task_name) -> None:
    """FormatError naming the first two tasks that write one file of a target (``outputs``: per
    block, per target; ``task_name(index)``: the name of a task of the input)."""
    for number, target in enumerate(targets):
        parts = [block[number] for block in outputs if block[number] is not None]
        if not parts:
            continue
        digests = np.concatenate([p.digests for p in parts])
        tasks = np.concatenate([p.tasks for p in parts])
        order = np.argsort(digests, kind="stable")
        same = np.flatnonzero((digests[order][1:] == digests[order][:-1]) & (tasks[order][1:] != tasks[order][:-1]))
        if same.size:
            first, second = int(tasks[order][same[0]]), int(tasks[order][same[0] + 1])
            a, b = sorted((first, second))
            raise FormatError(f"tasks {task_name(a)!r} (#{a}) and {task_name(b)!r} (#{b}) would write the same "
                              f"{target.name} file; rename one of them (nothing was written)")
