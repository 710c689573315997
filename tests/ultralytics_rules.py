"""Ultralytics' dataset path and label rules, re-implemented as a test oracle (Ultralytics needs
torch to install, so its loader cannot run in CI). Each function names the Ultralytics source it
mirrors (repository ``ultralytics/ultralytics``, AGPL-3.0; read at commit 00bfe3459a05 for
``ultralytics/data/utils.py`` and a727f8bc41a4 for ``ultralytics/data/base.py``). No code is
copied: the rules are written again from their behaviour, quirks included where they decide
which file is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

# ultralytics/data/utils.py, IMG_FORMATS: the suffixes (lower-cased) of the files a split folder yields
IMG_FORMATS = frozenset({"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"})
SPLIT_KEYS = ("train", "val", "test", "minival")  # check_det_dataset's "Set paths" loop


def img2label_path(image: str, sep: str = os.sep) -> str:
    """Mirrors ``img2label_paths`` (ultralytics/data/utils.py): the rightmost ``<sep>images<sep>``
    of the image path becomes ``<sep>labels<sep>`` (nothing changes when there is none), then the
    text after the path's last dot is replaced by ``txt``."""
    marker, replacement = f"{sep}images{sep}", f"{sep}labels{sep}"
    at = image.rfind(marker)
    if at >= 0:
        image = image[:at] + replacement + image[at + len(marker):]
    stem = image[:image.rfind(".")] if "." in image else image
    return stem + ".txt"


def resolve_data_yaml(yaml_path: Path, data: dict, cwd: Path, datasets_dir: Path) -> dict:
    """Mirrors the path resolution of ``check_det_dataset`` (ultralytics/data/utils.py, "Checks"
    and "Resolve paths" / "Set paths"): ``validation`` stands for a missing ``val``; the root is
    ``path`` (a relative one from the current directory, else from the datasets folder) or the
    yaml's folder; each split string is ``root / value`` resolved — when that does not exist and
    the value starts with ``../``, ``root / value[3:]`` —, each list item ``root / item`` resolved."""
    data = dict(data)
    if "val" not in data and "validation" in data:
        data["val"] = data.pop("validation")
    for key in ("train", "val"):
        if key not in data:
            raise SyntaxError(f"{yaml_path}: '{key}:' key missing")
    root = Path(data["path"]) if data.get("path") else yaml_path.parent
    if not root.is_absolute():
        root = cwd / root if (cwd / root).exists() else (datasets_dir / root).resolve()
    resolved = {"path": root}
    for key in SPLIT_KEYS:
        value = data.get(key)
        if not value:
            continue
        if isinstance(value, str):
            location = (root / value).resolve()
            if not location.exists() and value.startswith("../"):
                location = (root / value[3:]).resolve()
            resolved[key] = str(location)
        else:
            resolved[key] = [str((root / item).resolve()) for item in value]
    return resolved


def image_files(entries: str | list[str], cwd: Path) -> list[str]:
    """Mirrors ``BaseDataset.get_img_files`` (ultralytics/data/base.py): a folder gives every file
    matching ``**/*.*`` below it (glob: hidden names are not listed), a text file its lines (each
    ``./`` replaced by the file's folder and a separator; other relative lines are relative to the
    current directory); kept when the text after the last dot is an image format; sorted."""
    found: list[str] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        path = Path(entry)
        if path.is_dir():
            found += glob.glob(str(path / "**" / "*.*"), recursive=True)
        elif path.is_file():
            parent = str(path.parent) + os.sep
            for line in path.read_text(encoding="utf-8").strip().splitlines():
                line = line.replace("./", parent) if line.startswith("./") else line
                found.append(line if os.path.isabs(line) else str(cwd / line))
        else:
            raise FileNotFoundError(f"{entry} does not exist")
    images = sorted(item for item in found if item.rpartition(".")[-1].lower() in IMG_FORMATS)
    if not images:
        raise FileNotFoundError(f"no images found in {entries}")
    return images


@dataclass
class LabelCheck:
    """What ``verify_image_label`` makes of one label file: its rows (class and 4 box values, or
    with keypoints 4 + nkpt·ndim), whether they came from segments, duplicates removed, or the
    problem that makes Ultralytics ignore the image."""

    rows: list[list[float]] = field(default_factory=list)
    segments: bool = False
    duplicates: int = 0
    problem: str = ""


def check_label_text(text: str, num_classes: int, nkpt: int = 0, ndim: int = 0) -> LabelCheck:
    """Mirrors the label part of ``verify_image_label`` (ultralytics/data/utils.py): lines split on
    whitespace; without keypoints a file where any line has more than 6 columns is all segments
    (each line's points -> its box); then every row must have 5 columns (5 + nkpt·ndim with
    keypoints), coordinates ≤ 1.01, no value < -0.01, class < the class count; repeated rows are
    dropped. Ultralytics skips the whole image when a check fails (``problem`` says which)."""
    lines = [line.split() for line in text.strip().splitlines() if len(line)]
    check = LabelCheck()
    try:
        rows = [[float(v) for v in line] for line in lines]
    except ValueError as error:
        return LabelCheck(problem=f"not a number: {error}")
    if not nkpt and any(len(row) > 6 for row in rows):
        check.segments = True
        try:
            rows = [[row[0], *_segment_box(row[1:])] for row in rows]
        except ValueError as error:
            return LabelCheck(segments=True, problem=str(error))
    columns = 5 + nkpt * ndim if nkpt else 5
    points = [row[5:] for row in rows] if nkpt else [row[1:] for row in rows]
    if nkpt:
        points = [[v for i, v in enumerate(p) if i % ndim < 2] for p in points]
    if any(len(row) != columns for row in rows):
        check.problem = f"labels require {columns} columns"
    elif rows and max(v for p in points for v in p) > 1.01:
        check.problem = "non-normalized or out of bounds coordinates"
    elif rows and min(v for row in rows for v in row) < -0.01:
        check.problem = "negative class labels or coordinate"
    elif rows and max(row[0] for row in rows) >= num_classes:
        check.problem = "label class exceeds dataset class count"
    unique = {tuple(row) for row in rows}
    check.rows, check.duplicates = [list(row) for row in dict.fromkeys(map(tuple, rows))], len(rows) - len(unique)
    return check


def _segment_box(values: list[float]) -> list[float]:
    """``segments2boxes`` (ultralytics/utils/ops.py): the centre x, y, width, height of the points."""
    if len(values) % 2:
        raise ValueError("a segment needs x y pairs")
    xs, ys = values[0::2], values[1::2]
    return [(min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)]


def dataset_labels(yaml_path: Path, data: dict, cwd: Path, datasets_dir: Path | None = None) -> dict[str, dict]:
    """``{split: {image path: label path or None}}`` of every split of a data.yaml, as Ultralytics'
    loader pairs them (None: Ultralytics finds no label file, a background image)."""
    resolved = resolve_data_yaml(yaml_path, data, cwd, datasets_dir or cwd / "datasets")
    pairs: dict[str, dict] = {}
    for key in SPLIT_KEYS:
        if key in resolved:
            images = image_files(resolved[key], cwd)
            labels = [img2label_path(image) for image in images]
            pairs[key] = {image: label if os.path.isfile(label) else None for image, label in zip(images, labels)}
    return pairs
