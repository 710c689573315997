"""YOLO -> FastLabel (fixing the official SDK's reader: any whitespace, blank lines, ``.JPG``, stray
``.txt`` files) from the layouts people have: a classes file
and a folder (labels beside their images, or in a ``labels/`` tree beside an ``images/`` tree, or
our own export's ``annotations/`` with ``images=``), and Ultralytics' ``data.yaml`` with its splits,
read the way Ultralytics reads it (:mod:`fastlabel_formats.yolo_layout`). The writing side is
:mod:`fastlabel_formats.yolo`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from math import isfinite
from pathlib import Path

import numpy as np

from .errors import FormatError
from .files import read_text, regular_file_bytes
from .report import ConversionReport
from .runtime import gc_paused
from .table_readers import vouch, vouching
from .yolo_layout import (
    DataYaml,
    PoseShape,
    image_size,
    listed_images,
    listed_names,
    read_data_yaml,
    ultralytics_label,
)
from .yolo_text import LaidBoxes, class_numbers, corner_boxes, plain_box_files, plain_bytes

IMPORT_PROJECT_TYPES = ("bbox", "segmentation", "obb")
YAML_SUFFIXES = (".yaml", ".yml")


def yolo_classes(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{"0": name, "1": name, ...}`` from a classes file, one stripped name per line (a leading
    byte-order mark is not part of the first name)."""
    lines = read_text(path, "the classes file").removeprefix("\ufeff").splitlines()
    return {str(index): line.strip() for index, line in enumerate(lines)}


def _box(values: list[float], width: int, height: int) -> tuple[list, dict]:
    cx, cy = float(width) * values[0], float(height) * values[1]
    w, h = float(width) * values[2], float(height) * values[3]
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], {}


def _polygon(values: list[float], width: int, height: int) -> tuple[list, dict]:
    return [[[round(float(v) * (width if i % 2 == 0 else height)) for i, v in enumerate(values)]]], {}


def _oriented_box(values: list[float], width: int, height: int) -> tuple[list, dict]:
    corners = np.array(values, np.float64).reshape(4, 2) * [width, height]
    centre = corners.mean(axis=0)
    top, side = corners[1] - corners[0], corners[2] - corners[1]
    half = np.array([np.hypot(*top), np.hypot(*side)]) / 2
    # the top edge and the side edge turned back by 90° point the same way; their sum gives the
    # angle from the whole box, not from its shortest edge (7-decimal corners are a little noisy)
    direction = top + np.array([side[1], -side[0]])
    rotation = float(np.degrees(np.arctan2(direction[1], direction[0])))
    return [*(centre - half).tolist(), *(centre + half).tolist()], {"rotation": rotation}


LINE_READERS = {"bbox": _box, "segmentation": _polygon, "obb": _oriented_box}
FASTLABEL_TYPES = {"bbox": "bbox", "segmentation": "segmentation", "obb": "bbox", "pose": "pose_estimation"}


def line_kind(project_type: str, count: int, pose: PoseShape | None = None) -> str | None:
    """What a line of ``count`` values is (None: not a label of ``project_type``): with a pose shape
    a pose row; for ``bbox`` 4 values are a box and an even number from 6 on a polygon (as
    Ultralytics tells them apart); ``segmentation`` any even number; ``obb`` 8 corners' values."""
    if pose is not None:
        return "pose" if count == 4 + pose.values else None
    if project_type == "bbox":
        return "bbox" if count == 4 else "segmentation" if count >= 6 and count % 2 == 0 else None
    if project_type == "segmentation":
        return "segmentation" if count and count % 2 == 0 else None
    return "obb" if count == 8 else None


def pose_annotation(value: str, values: list[float], size: tuple[int, int], pose: PoseShape) -> dict:
    """A pose row (box, then per keypoint x, y and with 3 values a COCO visibility): a bbox carrying
    its keypoints, or a ``pose_estimation`` when the box is only its labelled keypoints' bounds (as
    COCO records are read). Visibility 2 is a visible keypoint (1), 1 an invisible one (0), 0 not
    labelled (left out when the class names its keypoints, else kept empty to hold its place); a
    2-value keypoint at (0, 0) is not labelled. A row of an unnamed class without any labelled
    keypoint is a plain bbox."""
    width, height = size
    box, _ = _box(values[:4], width, height)
    keys, named = pose.keys(value), value in pose.names
    keypoints, located = [], []
    for index, key in enumerate(keys):
        x, y, *flag = values[4 + index * pose.dims:4 + (index + 1) * pose.dims]
        visibility = int(flag[0]) if flag else 0 if x == y == 0 else 2
        if visibility not in (1, 2):
            keypoints += [] if named else [{"key": key, "value": []}]
            continue
        keypoints.append({"key": key, "value": [x * width, y * height, visibility - 1]})
        located.append((x * width, y * height))
    if not located and not named:  # a class without keypoints in a pose dataset
        return {"value": value, "points": box, "type": "bbox"}
    if located and np.allclose(box, [*np.min(located, 0), *np.max(located, 0)], atol=1e-6 * max(width, height) * 4):
        return {"value": value, "type": "pose_estimation", "keypoints": keypoints}
    return {"value": value, "points": box, "type": "bbox", "keypoints": keypoints}


@dataclass
class LabelTally:
    """Counts over the label files of one import: lines with values, annotations made, lines that
    are no label of the kind read or name no class (what another --project-type or classes file
    would read)."""

    lines: int = 0
    annotations: int = 0
    mismatched: int = 0
    first_problem: str = ""


def yolo_label_annotations(path: Path, size: tuple[int, int], classes: dict, kind: str,
                           report: ConversionReport, pose: PoseShape | None = None,
                           tally: LabelTally | None = None) -> list[dict]:
    """The annotations of one label file (blank lines ignored, any whitespace separates);
    each line that is no label of ``kind`` is reported with its file and line number."""
    lines = label_lines(path)
    at_once = None if pose is not None else box_file_annotations(lines, size, classes, kind)
    return _file_annotations(lines, at_once, path, size, classes, kind, report, pose, tally)


def label_lines(path: Path | str) -> list[list[str]]:
    """The tokens of each line of a label file (FormatError naming it when it cannot be read)."""
    return label_content(path, False)


def label_content(path: Path | str, plain_wanted: bool) -> bytes | list[list[str]]:
    """With ``plain_wanted``, the bytes of a label file that are only those of box lines written
    plainly (see :func:`~fastlabel_formats.yolo_text.plain_bytes`); else :func:`label_lines`."""
    try:
        data = regular_file_bytes(path)
        if plain_wanted and plain_bytes(data):
            return data
        text = data.decode("utf-8")
    except (OSError, ValueError):
        text = read_text(path, "the label file")  # names the problem (or reads it after all)
    return text_lines(text)


def text_lines(text: str) -> list[list[str]]:
    """The tokens of each line of a label file's text."""
    return list(map(str.split, text.removeprefix("\ufeff").splitlines()))


def _file_annotations(lines: list[list[str]], at_once: list[dict] | None, path: Path | str, size: tuple[int, int],
                      classes: dict, kind: str, report: ConversionReport, pose: PoseShape | None,
                      tally: LabelTally | None) -> list[dict]:
    """``at_once`` (a box file's annotations, counted in ``tally``), else the lines read one by one."""
    tally = tally if tally is not None else LabelTally()
    if at_once is not None:
        tally.lines += len(at_once)
        annotations = at_once
    else:
        annotations = _line_annotations(lines, path, size, classes, kind, report, pose, tally)
    tally.annotations += len(annotations)
    return annotations


def box_file_annotations(lines: list[list[str]], size: tuple[int, int], classes: dict, kind: str
                         ) -> list[dict] | None:
    """The bbox annotations of a file whose every label line is a box of a known class, computed
    for the whole file at once (as :func:`_box` does line by line); None for any other file."""
    return box_files_annotations([lines], [size], classes, kind)[0]


def box_files_annotations(files: list[list[list[str]]], sizes: list[tuple[int, int]], classes: dict, kind: str
                          ) -> list[list[dict] | None]:
    """:func:`box_file_annotations` of each file (its lines' tokens, its image size), all computed at once."""
    found: list[list[dict] | None] = [None] * len(files)
    if kind != "bbox":
        return found
    candidates, numbers = _box_candidates(files, classes)
    if not candidates:
        return found
    counts = np.array([len(names) for _, names in candidates], np.int64)
    boxes, unfit = corner_boxes(np.array(numbers, np.float64).reshape(-1, 4),
                                np.array([sizes[position] for position, _ in candidates], np.float64), counts)
    unfit_files = np.bincount(np.repeat(np.arange(len(candidates)), counts)[unfit], minlength=len(candidates))
    points, end = boxes.tolist(), 0
    for (position, names), count, bad in zip(candidates, counts.tolist(), unfit_files.tolist()):
        start, end = end, end + count
        if not bad:  # else the line-by-line reading names the lines
            found[position] = [{"value": classes[name], "points": box, "type": "bbox"}
                               for name, box in zip(names, points[start:end])]
    return found


def _box_candidates(files: list[list[list[str]]], classes: dict) -> tuple[list[tuple[int, list]], list[float]]:
    """``[(position, class of each label line)]`` of the files whose every label line is 5 tokens,
    a known class and 4 numbers, and those numbers of all of them in order."""
    candidates, numbers = [], []
    known = classes.keys()
    for position, lines in enumerate(files):
        rows = list(filter(None, lines))
        tokens = list(chain.from_iterable(rows))
        if not set(map(len, rows)) <= {5} or not known >= set(tokens[0::5]):
            continue
        names = tokens[0::5]
        del tokens[0::5]
        before = len(numbers)
        try:
            numbers += map(float, tokens)
        except ValueError:
            del numbers[before:]  # a token that is no number: read line by line
            continue
        candidates.append((position, names))
    return candidates, numbers


def _line_annotations(lines: list[list[str]], path: Path | str, size: tuple[int, int], classes: dict, kind: str,
                      report: ConversionReport, pose: PoseShape | None, tally: LabelTally) -> list[dict]:
    """The annotations of a file's lines read one by one, each line that is skipped reported."""
    annotations = []
    for number, tokens in enumerate(lines, 1):
        if not tokens:
            continue
        tally.lines += 1
        made, problem = _line_annotation(tokens, size, classes, kind, pose)
        if problem:
            tally.first_problem = tally.first_problem or problem
            tally.mismatched += problem.startswith(("line without the values", "class id missing"))
            report.note(problem, f"{path}: line {number}")
            continue
        annotations.append(made)
    return annotations


def _line_annotation(tokens: list[str], size: tuple[int, int], classes: dict, kind: str,
                     pose: PoseShape | None) -> tuple[dict, str]:
    """``(annotation, "")`` of one label line, or ``({}, why it is skipped)``."""
    try:
        values = [float(token) for token in tokens[1:]]
    except ValueError:
        return {}, "line with a non-numeric value, skipped"
    if tokens[0] not in classes:
        return {}, "class id missing from the classes file, line skipped"
    actual = line_kind(kind, len(values), pose)
    if actual is None or not all(map(isfinite, values)):
        what = "pose" if pose is not None else "box or polygon" if kind == "bbox" else kind
        return {}, f"line without the values of a {what} label, skipped"
    try:
        with np.errstate(all="ignore"):
            if actual == "pose":
                return pose_annotation(classes[tokens[0]], values, size, pose), ""
            points, extra = LINE_READERS[actual](values, *size)
        finite = _all_finite(points) and isfinite(extra.get("rotation", 0))
    except OverflowError:  # round(inf) of a polygon coordinate
        finite = False
    if not finite:
        return {}, "line whose values overflow the image size, skipped"
    return {"value": classes[tokens[0]], "points": points, "type": FASTLABEL_TYPES[actual], **extra}, ""


def _all_finite(points: list) -> bool:
    """Every coordinate of a box's or a polygon's points is finite."""
    flat = points[0][0] if points and type(points[0]) is list else points
    return all(map(isfinite, flat))


@dataclass
class Pairs:
    """``(task name, image, label or None)`` of a dataset, and the label files it holds."""

    items: list[tuple[str, Path | str, Path | str | None]] = field(default_factory=list)
    label_files: int = 0


def _label_of(image: Path) -> Path | None:
    """The label file of an image: beside it, else where Ultralytics looks (None when neither)."""
    for candidate in (image.with_suffix(".txt"), Path(ultralytics_label(str(image.absolute())))):
        if candidate.is_file():
            return candidate
    return None


def _labels_under(folder: Path, classes_file: Path) -> list[tuple[str, str]]:
    """``(path below folder, path)`` of the ``.txt`` files under ``folder`` (symlinked folders not
    followed, as ``Path.rglob``) but the classes file, sorted as paths."""
    classes, real_folders = _file_key(classes_file), {}
    labels = [(relative, _joined(folder, relative)) for relative, entry in _text_files(str(folder), "")
              if entry.is_file() and not _is_classes_entry(entry, classes_file, classes, real_folders)]
    return sorted(labels, key=lambda label: label[0].split("/"))


def _is_classes_entry(entry: os.DirEntry, classes_file: Path, classes: tuple[int, int] | None,
                      real_folders: dict[str, str]) -> bool:
    """Whether a listed file is the classes file (:func:`_is_classes_file`): a file that is no
    symlink resolves to its folder's real path and its name (``real_folders`` caches them)."""
    if entry.is_symlink():
        return _is_classes_file(entry.path, classes_file, classes)
    folder = os.path.dirname(entry.path)
    if folder not in real_folders:
        real_folders[folder] = os.path.realpath(folder)
    return os.path.join(real_folders[folder], entry.name) == str(classes_file)


def _text_files(top: str, relative: str) -> Iterator[tuple[str, os.DirEntry]]:
    """``(path below the start, entry)`` of every name ending in ``.txt`` below ``top`` (the
    folder ``relative`` below the start), unreadable and symlinked folders left out."""
    try:
        with os.scandir(top) as entries:
            listed = list(entries)
    except OSError:
        return
    for entry in listed:
        if entry.name.endswith(".txt"):
            yield relative + entry.name, entry
    for entry in listed:
        if _is_real_folder(entry):
            yield from _text_files(entry.path, f"{relative}{entry.name}/")


def _is_real_folder(entry: os.DirEntry) -> bool:
    """A folder, not a symlink to one."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_classes_file(path: Path | str, classes_file: Path, classes: tuple[int, int] | None) -> bool:
    """Whether ``path`` resolves to the classes file (resolved only when it is that file by device
    and inode, or when that is unknown)."""
    return (classes is None or _file_key(path) == classes) and Path(path).resolve() == classes_file


def _joined(folder: Path, relative: str) -> str:
    """``str(Path(folder, relative))`` of a path ``relative`` below ``folder`` (no ``.`` or empty
    part), without making the path object (a dataset has many)."""
    base = str(folder)
    return relative if base == "." else os.path.join(base, relative)


def _file_key(path: Path | str) -> tuple[int, int] | None:
    """The device and inode of a file (one file however it is reached), None when not found."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _folder_pairs(folder: Path, classes_file: Path, report: ConversionReport) -> Pairs:
    """Each image under ``folder`` with the label beside it or in the ``labels`` tree (an image
    without one is a task without annotations); label files without an image are reported."""
    pairs, labelled = Pairs(), set()
    for relative, image in listed_images(folder):
        label = _label_of(image)
        pairs.items.append((relative, image, label))
        if label is not None:
            labelled.add(label.resolve())
    labels = [Path(label) for _, label in _labels_under(folder, classes_file)]
    pairs.label_files = len(labels)
    if labels and not labelled:
        raise FormatError(f"{folder}: {len(labels)} label file(s) but none beside an image or in a labels/ tree "
                          f"beside images/: YOLO values are fractions of the image size, give the images "
                          f"(--images / images=)")
    _note_orphans(report, [label for label in labels if label.resolve() not in labelled])
    return pairs


def _image_folder_pairs(folder: Path, classes_file: Path, images: Path, report: ConversionReport) -> Pairs:
    """The labels under ``folder`` (or its ``annotations/``, our export) matched to the images of
    ``images`` by relative path; images without a label are tasks without annotations."""
    labels_root = folder / "annotations" if (folder / "annotations").is_dir() else folder
    by_stem: dict[str, tuple[str, str]] = {}  # path without extension -> (task name, image)
    for relative in listed_names(images):
        stem, image = _without_suffix(relative), _joined(images, relative)
        if stem in by_stem:
            report.note("image whose path without extension another image has (a label names only that), skipped",
                        f"{image} (kept: {os.path.basename(by_stem[stem][1])})")
            continue
        by_stem[stem] = relative, image
    pairs, orphans, used = Pairs(), [], {}
    labels = _labels_under(labels_root, classes_file)
    for relative, label in labels:
        stem = _without_suffix(relative)
        if stem in by_stem:
            used.setdefault(stem, label)
        else:
            orphans.append(label)
    if labels and not used:
        raise FormatError(f"{labels_root}: none of its {len(labels)} label file(s) matches an image under {images} "
                          f"by path (labels/x/a.txt for images/x/a.jpg); check --images")
    _note_orphans(report, orphans)
    pairs.label_files = len(labels)
    pairs.items = [(name, image, used.get(stem)) for stem, (name, image) in by_stem.items()]
    return pairs


def _without_suffix(relative: str) -> str:
    """A relative posix path without the extension of its file name (as ``PurePath.with_suffix("")``)."""
    folder, _, name = relative.rpartition("/")
    dot = name.rfind(".")
    return relative if not 0 < dot < len(name) - 1 else f"{folder}/{name[:dot]}" if folder else name[:dot]


def _note_orphans(report: ConversionReport, labels: Iterable[Path]) -> None:
    for label in labels:
        report.note("label file without an image, skipped", str(label))


def _yaml_pairs(data: DataYaml) -> Pairs:
    """Every image of the splits once, with the label file Ultralytics pairs it with."""
    items = [(name, image, _existing(ultralytics_label(str(image)))) for name, image in data.images]
    return Pairs(items, sum(label is not None for _, _, label in items))


def _existing(path: str) -> Path | None:
    return Path(path) if os.path.isfile(path) else None


# the label files read together (their box lines computed at once)
FILES_AT_ONCE = 1024


def _tasks(pairs: Pairs, classes: dict, project_type: str, report: ConversionReport,
           pose: PoseShape | None = None) -> list[dict]:
    """Tasks of the pairs, sorted by name; an image whose size cannot be read is skipped and
    reported with its path."""
    results: dict[str, dict] = {}
    tally, laid = LabelTally(), LaidBoxes(pose is None and project_type == "bbox", *class_numbers(classes))
    for start in range(0, len(pairs.items), FILES_AT_ONCE):
        for task in _batch_tasks(pairs.items[start:start + FILES_AT_ONCE], classes, project_type, report, pose,
                                 tally, laid):
            results[task["name"]] = task
    if tally.lines and not tally.annotations and tally.mismatched == tally.lines:
        raise FormatError(f"none of the {tally.lines} label line(s) is a label of this dataset (first: "
                          f"{tally.first_problem}); check the classes file and --project-type")
    tasks = [results[name] for name in sorted(results)]
    # lines of boxes, polygons and oriented boxes make well-formed annotations (poses: their keypoints are
    # not checked here), of string values when the classes are strings
    plain = pose is None and all(type(value) is str for value in classes.values())
    vouch(tasks, [plain] * len(tasks), laid.store(tasks) if plain and laid.wanted and vouching() else None)
    return tasks


def _batch_tasks(items: list[tuple[str, Path | str, Path | str | None]], classes: dict, project_type: str,
                 report: ConversionReport, pose: PoseShape | None, tally: LabelTally, laid: LaidBoxes) -> list[dict]:
    """The tasks of some pairs, in order (each image without a size reported and left out): the
    sizes and label files read first, their box files computed together, then each reported in
    turn as line by line reading does."""
    sizes = [_size_or_problem(image) for _, image, _ in items]
    sized = [size if type(size) is tuple else (0, 0) for size in sizes]
    contents = [label_content(label, laid.wanted) if label is not None and type(size) is tuple else []
                for (_, _, label), size in zip(items, sizes)]
    plain, first_rows = plain_box_files(contents, sized, laid)
    lines = [[] if position in plain else text_lines(content.decode("ascii")) if type(content) is bytes else content
             for position, content in enumerate(contents)]
    at_once = [None] * len(items) if pose is not None else box_files_annotations(lines, sized, classes, project_type)
    tasks = []
    for position, ((name, _, label), size, file_lines, boxes) in enumerate(zip(items, sizes, lines, at_once)):
        if type(size) is not tuple:
            report.note("image whose size cannot be read, skipped", size)
            continue
        boxes = plain.get(position, boxes)
        annotations = [] if label is None else _file_annotations(file_lines, boxes, label, size, classes,
                                                                 project_type, report, pose, tally)
        tasks.append({"name": name, "width": size[0], "height": size[1], "annotations": annotations})
        if position in plain:
            laid.first_rows[id(tasks[-1])] = laid.rows + first_rows[position]
    laid.rows += first_rows[-1]
    return tasks


def _size_or_problem(image: Path | str) -> tuple[int, int] | str:
    """The size of an image, or why it cannot be read."""
    try:
        return image_size(image)
    except FormatError as error:
        return str(error)


@gc_paused
def yolo_to_fastlabel(classes_file_path: str | os.PathLike[str], dataset_folder_path: str | os.PathLike[str] | None
                      = None, project_type: str = "bbox", **options) -> dict[str, list[dict]]:
    """``{image path: [annotations]}`` of a YOLO dataset; the arguments and ``options``
    (``images``, ``report``, ``strict``) are :func:`yolo_tasks`'. Keys sorted."""
    tasks = yolo_tasks(classes_file_path, dataset_folder_path, project_type, **options)
    return {t["name"]: t["annotations"] for t in tasks}


@gc_paused
def yolo_tasks(
    classes_file_path: str | os.PathLike[str],
    dataset_folder_path: str | os.PathLike[str] | None = None,
    project_type: str = "bbox",
    *,
    images: str | os.PathLike[str] | None = None,
    report: ConversionReport | None = None,
    strict: bool = False,
) -> list[dict]:
    """FastLabel tasks (name, width, height, annotations) of a YOLO dataset, sorted by name; sizes
    come from the image headers (an unreadable image is skipped and reported). ``classes_file_path``
    is a classes file (one name per line) with ``dataset_folder_path`` — each image there with its
    label beside it or in the ``labels`` tree, or with ``images=`` the labels of the folder (or of
    its ``annotations/``, our export) matched to the images by path —, or an Ultralytics
    ``data.yaml``: every image of its splits once, named ``<split>/<path below the split folder>``,
    with the label Ultralytics pairs it with (``kpt_shape`` there makes the rows poses). Images
    without a label file are tasks without annotations. Box lines and polygon lines are told apart
    by their length (``project_type="segmentation"`` reads every line as a polygon);
    ``project_type="obb"`` reads YOLO-OBB lines into rotated bboxes. No image, or label lines of
    which none can be read, is a FormatError."""
    if project_type not in IMPORT_PROJECT_TYPES:
        raise FormatError(f"project_type must be one of {IMPORT_PROJECT_TYPES}, got {project_type!r}")
    report = report or ConversionReport("yolo import", strict=strict)
    source = Path(classes_file_path)
    if source.suffix.lower() in YAML_SUFFIXES:
        data = read_data_yaml(source, report)
        return _tasks(_yaml_pairs(data), data.classes, project_type, report, data.pose)
    if dataset_folder_path is None:
        raise FormatError(f"{source}: a classes file needs the dataset folder (or pass a data.yaml)")
    classes = yolo_classes(source)
    folder = Path(dataset_folder_path)
    if images is None:
        pairs = _folder_pairs(folder, source.resolve(), report)
    else:
        pairs = _image_folder_pairs(folder, source.resolve(), Path(images), report)
    if not pairs.items:
        raise FormatError(f"{Path(images) if images is not None else folder}: no image found "
                          f"({pairs.label_files} label file(s)); YOLO needs the images for their sizes (--images)")
    if not pairs.label_files:
        raise FormatError(f"{folder}: {len(pairs.items)} image(s) but no label file (.txt) beside them, in a labels/ "
                          f"tree or in annotations/; is this the YOLO folder (--from yolo)?")
    return _tasks(pairs, classes, project_type, report)
