"""YOLO -> FastLabel (``formats-spec.md`` §10, D39–D41) from the layouts people have: a classes file
and a folder (labels beside their images, or in a ``labels/`` tree beside an ``images/`` tree, or
our own export's ``annotations/`` with ``images=``), and Ultralytics' ``data.yaml`` with its splits.
The writing side is :mod:`fastlabel_formats.yolo`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import FormatError
from .files import read_text
from .report import ConversionReport
from .runtime import gc_paused

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
IMPORT_PROJECT_TYPES = ("bbox", "segmentation", "obb")
VALUES_PER_LINE = {"bbox": 4, "obb": 8}
YAML_SUFFIXES = (".yaml", ".yml")
SPLITS = ("train", "val", "test")


def yolo_classes(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{"0": name, "1": name, ...}`` from a classes file, one stripped name per line."""
    lines = read_text(path, "the classes file").splitlines()
    return {str(index): line.strip() for index, line in enumerate(lines)}


def _yolo_line(kind: str, values: list[float], width: int, height: int) -> tuple[list, dict]:
    if kind == "bbox":
        cx, cy = float(width) * values[0], float(height) * values[1]
        w, h = float(width) * values[2], float(height) * values[3]
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], {}
    if kind == "segmentation":
        return [[[round(float(v) * (width if i % 2 == 0 else height)) for i, v in enumerate(values)]]], {}
    corners = np.array(values, np.float64).reshape(4, 2) * [width, height]
    centre = corners.mean(axis=0)
    top, side = corners[1] - corners[0], corners[2] - corners[1]
    half = np.array([np.hypot(*top), np.hypot(*side)]) / 2
    # the top edge and the side edge turned back by 90° point the same way; their sum gives the
    # angle from the whole box, not from its shortest edge (7-decimal corners are a little noisy)
    direction = top + np.array([side[1], -side[0]])
    rotation = float(np.degrees(np.arctan2(direction[1], direction[0])))
    return [*(centre - half).tolist(), *(centre + half).tolist()], {"rotation": rotation}


def yolo_label_annotations(path: Path, size: tuple[int, int], classes: dict, kind: str,
                           report: ConversionReport) -> list[dict]:
    """The annotations of one label file (blank lines ignored, any whitespace separates, D39)."""
    annotations = []
    for number, line in enumerate(read_text(path, "the label file").splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        place = f"{path}: line {number}"
        expected = VALUES_PER_LINE.get(kind)
        try:
            values = [float(token) for token in tokens[1:]]
        except ValueError:
            report.note("line with a non-numeric value, skipped", place)
            continue
        if tokens[0] not in classes:
            report.note("class id missing from the classes file, line skipped", place)
        elif not all(np.isfinite(values)) or (expected and len(values) != expected) or len(values) % 2 or not values:
            report.note(f"line without the values of a {kind} label, skipped", place)
        else:
            try:
                with np.errstate(all="ignore"):
                    points, extra = _yolo_line(kind, values, *size)
                finite = np.isfinite(np.asarray(points, np.float64)).all() and np.isfinite(extra.get("rotation", 0))
            except OverflowError:  # round(inf) of a segmentation coordinate
                finite = False
            if not finite:
                report.note("line whose values overflow the image size, skipped", place)
                continue
            annotations.append({"value": classes[tokens[0]], "points": points, "type": kind if kind != "obb"
                                else "bbox", **extra})
    return annotations


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the label of ``…/images/…/x.jpg`` is ``…/labels/…/x.txt`` (the last
    ``images`` folder of the path becomes ``labels``)."""
    parts = image.parts
    if "images" in parts[:-1]:
        at = len(parts) - 2 - parts[:-1][::-1].index("images")
        return Path(*parts[:at], "labels", *parts[at + 1:]).with_suffix(".txt")
    return image.with_suffix(".txt")


def _images_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _label_of(image: Path) -> Path | None:
    """The label file of an image: beside it, else in the ``labels`` tree (None when neither)."""
    for candidate in (image.with_suffix(".txt"), label_path(image)):
        if candidate.is_file():
            return candidate
    return None


def _folder_pairs(folder: Path, classes_file: Path, images: Path | None,
                  report: ConversionReport) -> list[tuple[str, Path, Path]]:
    """``(task name, image, label)`` of a classes-file dataset: with ``images`` the labels under
    ``folder`` (or its ``annotations/``) matched to the images by relative path; else each image
    under ``folder`` with the label beside it or in the ``labels`` tree."""
    if images is not None:
        labels_root = folder / "annotations" if (folder / "annotations").is_dir() else folder
        by_stem = {p.relative_to(images).with_suffix("").as_posix(): p for p in _images_under(images)}
        pairs, used = [], set()
        for label in sorted(labels_root.rglob("*.txt")):
            stem = label.relative_to(labels_root).with_suffix("").as_posix()
            if label.resolve() == classes_file or stem not in by_stem:
                if label.resolve() != classes_file:
                    report.note("label file without an image, skipped (D40)", str(label))
                continue
            used.add(stem)
            pairs.append((by_stem[stem].relative_to(images).as_posix(), by_stem[stem], label))
        _note_unlabelled(report, [by_stem[s] for s in sorted(set(by_stem) - used)])
        return pairs
    pairs, labelled = [], set()
    for image in _images_under(folder):
        label = _label_of(image)
        if label is not None:
            pairs.append((image.relative_to(folder).as_posix(), image, label))
            labelled.add(label.resolve())
    for label in sorted(folder.rglob("*.txt")):
        if label.resolve() not in labelled and label.resolve() != classes_file:
            report.note("label file without an image, skipped (D40)", str(label))
    return pairs


def _note_unlabelled(report: ConversionReport, images: Iterable[Path]) -> None:
    for image in images:
        report.note("image without a label file, skipped (give it an empty .txt to keep it)", str(image))


def read_data_yaml(path: Path) -> tuple[dict[str, str], Path, dict[str, list[Path]]]:
    """Classes, dataset root and per split its image files, from an Ultralytics ``data.yaml``
    (``names`` as a list or a map, ``path``, ``train`` / ``val`` / ``test`` as folders, image
    list files or lists of them)."""
    import yaml

    try:
        data = yaml.safe_load(read_text(path, "the dataset file"))
    except yaml.YAMLError as error:
        raise FormatError(f"{path}: cannot read the dataset file ({error})") from None
    if not isinstance(data, dict) or "names" not in data:
        raise FormatError(f"{path}: an Ultralytics data.yaml needs 'names' (and 'train' / 'val')")
    names = data["names"]
    if isinstance(names, list):
        classes = {str(i): str(n) for i, n in enumerate(names)}
    elif isinstance(names, dict):
        classes = {str(i): str(n) for i, n in names.items()}
    else:
        raise FormatError(f"{path}: 'names' must be a list or a map of class names, got {type(names).__name__}")
    root = Path(data.get("path") or ".")
    root = root if root.is_absolute() else (path.parent / root)
    splits = {split: _split_images(root, data[split], path) for split in SPLITS if data.get(split)}
    return classes, root, splits


def _split_images(root: Path, entries: object, source: Path) -> list[Path]:
    """The image files of one split: each entry a folder (searched recursively) or a text file of
    image paths (``./`` relative to that file, other relative paths to the dataset root)."""
    images = []
    for entry in entries if isinstance(entries, list) else [entries]:
        location = Path(str(entry)) if Path(str(entry)).is_absolute() else root / str(entry)
        if location.is_dir():
            images += _images_under(location)
        elif location.is_file():
            for line in read_text(location, "the image list").split():
                images.append(location.parent / line[2:] if line.startswith("./") else
                              Path(line) if Path(line).is_absolute() else root / line)
        else:
            raise FormatError(f"{source}: split {entry!r} is neither a folder nor an image list ({location})")
    return images


def _split_pairs(root: Path, splits: dict[str, list[Path]], report: ConversionReport) -> list[tuple]:
    """``(task name, image, label or None)`` of every split: the name is ``<split>/`` and the
    image's path below ``images/<split>/`` (or below the dataset root); an image without a label
    file is a task without annotations (Ultralytics' background image)."""
    pairs = []
    for split, images in splits.items():
        for image in images:
            if not image.is_file():
                report.note("image listed in a split but missing, skipped", str(image))
                continue
            relative = Path(os.path.relpath(image, root)).as_posix()
            for prefix in (f"images/{split}/", "images/"):
                if relative.startswith(prefix):
                    relative = relative[len(prefix):]
                    break
            pairs.append((f"{split}/{relative}", image, _label_of(image)))
    return pairs


def _image_size(image: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(image) as opened:  # the header only: nothing is decoded
            return opened.size
    except OSError as error:
        raise FormatError(f"{image}: cannot read the image size ({error})") from error


def _tasks(pairs: list[tuple], classes: dict, project_type: str, report: ConversionReport) -> list[dict]:
    results: dict[str, dict] = {}
    for name, image, label in pairs:
        size = _image_size(image)
        annotations = [] if label is None else yolo_label_annotations(label, size, classes, project_type, report)
        results[name] = {"name": name, "width": size[0], "height": size[1], "annotations": annotations}
    return [results[name] for name in sorted(results)]


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
    come from the image headers. ``classes_file_path`` is a classes file (one name per line) with
    ``dataset_folder_path`` — each image there with its label beside it or in the ``labels`` tree,
    or with ``images=`` the labels of the folder (or of its ``annotations/``, our export) matched to
    the images by path —, or an Ultralytics ``data.yaml``: every image of its splits, named
    ``<split>/<path below images/<split>>``. ``project_type="obb"`` reads YOLO-OBB lines into
    rotated bboxes."""
    if project_type not in IMPORT_PROJECT_TYPES:
        raise FormatError(f"project_type must be one of {IMPORT_PROJECT_TYPES}, got {project_type!r}")
    report = report or ConversionReport("yolo import", strict=strict)
    source = Path(classes_file_path)
    if source.suffix.lower() in YAML_SUFFIXES:
        classes, root, splits = read_data_yaml(source)
        return _tasks(_split_pairs(root, splits, report), classes, project_type, report)
    if dataset_folder_path is None:
        raise FormatError(f"{source}: a classes file needs the dataset folder (or pass a data.yaml)")
    classes = yolo_classes(source)
    folder = Path(dataset_folder_path)
    pairs = _folder_pairs(folder, source.resolve(), None if images is None else Path(images), report)
    return _tasks(pairs, classes, project_type, report)
