"""The Ultralytics dataset layout of a YOLO export: ``images/<split>/``, ``labels/<split>/`` and a
``data.yaml`` naming the splits and classes. A task's split is its name's first folder when that is
a split name (``train/…``, ``val/…``, ``test/…``), else drawn from ``split`` fractions by a hash of
its name (deterministic on every machine, ``seed`` to draw another)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import FormatError
from .files import make_folder

SPLITS = ("train", "val", "test")


def parse_split(text: str) -> dict[str, float]:
    """``{"train": 0.8, "val": 0.2}`` from ``"train=0.8,val=0.2"`` (fractions summing to 1)."""
    fractions: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, number = item.partition("=")
        try:
            fractions[name.strip()] = float(number)
        except ValueError:
            raise FormatError(f"--split must look like train=0.8,val=0.2, got {text!r}") from None
    return checked_split(fractions)


def checked_split(fractions: Mapping[str, float]) -> dict[str, float]:
    """``fractions`` when they name known splits, are ≥ 0 and sum to 1; else FormatError."""
    unknown = set(fractions) - set(SPLITS)
    if unknown or not fractions or any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1) > 1e-9:
        raise FormatError(f"split must give fractions of {', '.join(SPLITS)} that sum to 1, got {dict(fractions)}")
    return {name: float(fractions[name]) for name in SPLITS if name in fractions}


def split_of(name: str, fractions: Mapping[str, float] | None, seed: int = 0) -> tuple[str, str]:
    """``(split, name inside the split)`` of a task name."""
    head, _, rest = name.partition("/")
    if head in SPLITS and rest:
        return head, rest
    if not fractions:
        return "train", name
    digest = hashlib.blake2b(f"{seed}\0{name}".encode(), digest_size=8).digest()
    draw, total = int.from_bytes(digest, "big") / 2.0**64, 0.0
    for split, fraction in fractions.items():
        total += fraction
        if draw < total:
            return split, name
    return next(reversed(fractions)), name


def data_yaml(root: Path, splits: Sequence[str], names: Sequence[str]) -> bytes:
    """The ``data.yaml`` text: the absolute dataset root (Ultralytics resolves a relative one
    against its own datasets folder), each split's image folder (``val`` is the training set when
    there is no validation split) and the class names (JSON-quoted, which YAML reads as they are)."""
    present = [s for s in SPLITS if s in splits] or ["train"]
    lines = [f"path: {json.dumps(str(root.resolve()), ensure_ascii=False)}"]
    lines += [f"{split}: images/{split}" for split in present]
    if "val" not in present:
        lines.append(f"val: images/{present[0]}")
    lines.append("names:")
    lines += [f"  {index}: {json.dumps(str(name), ensure_ascii=False)}" for index, name in enumerate(names)]
    return ("\n".join(lines) + "\n").encode()


def place_image(source: Path, target: Path, copy: bool) -> bool:
    """Put ``source`` at ``target`` (an absolute symlink, or a copy); False when it is missing."""
    if not source.is_file():
        return False
    make_folder(target.parent)
    if target.is_symlink() or target.exists():
        target.unlink()
    if copy:
        temporary = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    else:
        os.symlink(source.resolve(), target)
    return True
