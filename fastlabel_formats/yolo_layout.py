"""The Ultralytics dataset layout, both ways. Writing: ``images/<split>/``, each label where
Ultralytics looks for it (``labels/<split>/`` unless the task name has an ``images`` folder of its
own) and a ``data.yaml`` naming the splits and classes. A task's split is its name's first folder
when that is a split name (``train/…``, ``val/…``, ``test/…``), else drawn from ``split`` fractions
by a hash of its name (deterministic on every machine, ``seed`` to draw another). Reading: a
``data.yaml`` resolved as Ultralytics resolves it, the images it lists, their sizes from the file
headers, and YAML with a bound on alias expansion. ``tests/ultralytics_rules.py`` mirrors the
Ultralytics source these rules come from."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import FormatError
from .files import make_folder, read_text, regular_file_bytes
from .report import ConversionReport

SPLITS = ("train", "val", "test")
# the image formats Ultralytics' loader lists in a split folder (``IMG_FORMATS`` of ultralytics/data/utils.py)
ULTRALYTICS_IMAGE_SUFFIXES = frozenset(
    {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"})
# the most values a data.yaml may stand for once its aliases are expanded (an alias bomb is refused)
YAML_NODE_LIMIT = 100_000


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


def label_name(split: str, name: str) -> str:
    """The label file of the image ``images/<split>/<name>``, relative to the dataset root, where
    Ultralytics looks for it: the last ``images`` folder of the image path becomes ``labels`` (so a
    name with an ``images/`` folder of its own keeps its label inside the images tree), the
    extension becomes ``.txt``."""
    return ultralytics_label(f"/images/{split}/{name}", "/")[1:]


def unseen_by_ultralytics(name: str) -> str | None:
    """Why Ultralytics' image search skips ``name`` below a split folder (None when it lists it):
    an extension that is no image format of Ultralytics, or a hidden file or folder."""
    if name.rpartition(".")[2].lower() not in ULTRALYTICS_IMAGE_SUFFIXES or "." not in name.rpartition("/")[2]:
        return "its extension is no image format Ultralytics reads"
    if any(part.startswith(".") for part in name.split("/")):
        return "a hidden file or folder (name starting with '.')"
    return None


def data_yaml(root: Path, splits: Sequence[str], names: Sequence[str],
              keypoint_keys: Sequence[Sequence[str]] | None = None) -> bytes:
    """The ``data.yaml`` text: the absolute dataset root (Ultralytics resolves a relative one
    against its own datasets folder), each split's image folder and the class names (JSON-quoted,
    which YAML reads as they are); for a pose dataset ``kpt_shape`` (the widest class's keypoints,
    3 values each), ``flip_idx`` (left and right names swapped) and each class's ``kpt_names``.
    Ultralytics needs ``train`` and ``val``: a missing one names the first split present (the
    caller reports it); ``splits`` holds at least one split."""
    present = [s for s in SPLITS if s in splits]
    folders = {split: f"images/{split}" for split in present}
    folders.setdefault("train", folders[present[0]])
    folders.setdefault("val", folders["train"])
    lines = [f"path: {json.dumps(str(root.resolve()), ensure_ascii=False)}"]
    lines += [f"{split}: {folders[split]}" for split in SPLITS if split in folders]
    lines.append("names:" if names else "names: {}")  # no class: an empty mapping, never null
    lines += [f"  {index}: {json.dumps(str(name), ensure_ascii=False)}" for index, name in enumerate(names)]
    if keypoint_keys:
        widest = max(keypoint_keys, key=len)
        lines += [f"kpt_shape: [{len(widest)}, 3]", f"flip_idx: {json.dumps(flip_index(widest))}", "kpt_names:"]
        padded = [[*keys, *map(str, range(len(keys) + 1, len(widest) + 1))] for keys in keypoint_keys]
        lines += [f"  {index}: {json.dumps(names, ensure_ascii=False)}"
                  for index, (names, keys) in enumerate(zip(padded, keypoint_keys)) if keys]
    return ("\n".join(lines) + "\n").encode()


def flip_index(keys: Sequence[str]) -> list[int]:
    """Ultralytics' ``flip_idx``: for each keypoint the one it becomes in a mirrored image — the key
    with ``left`` and ``right`` swapped when there is one, else itself."""
    position = {key.lower(): index for index, key in enumerate(keys)}
    swapped = [re.sub("left|right", lambda m: "right" if m[0] == "left" else "left", key.lower()) for key in keys]
    return [position.get(other, index) for index, other in enumerate(swapped)]


def load_yaml(text: str, place: str) -> object:
    """The document of a YAML text with PyYAML's safe loader, refused (FormatError) when its
    aliases would expand to more than ``YAML_NODE_LIMIT`` nodes, refer to themselves, or it nests
    too deep — a data.yaml has no reason for any of these."""
    import yaml

    loader = yaml.SafeLoader(text.removeprefix("\ufeff"))
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}, set()) > YAML_NODE_LIMIT:
            raise FormatError(f"{place}: its aliases expand to more than {YAML_NODE_LIMIT:,} values; refused")
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as error:
        raise FormatError(f"{place}: cannot read the YAML ({error})") from None
    except RecursionError:
        raise FormatError(f"{place}: the YAML nests too deep or an alias refers to itself; refused") from None
    finally:
        loader.dispose()


def _expanded_size(node: object, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (stops past the limit)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise RecursionError("alias refers to itself")
    open_nodes.add(key)
    value = getattr(node, "value", None)
    children = [] if not isinstance(value, list) else [
        item for pair in value for item in (pair if isinstance(pair, tuple) else (pair,))]
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, open_nodes)
        if total > YAML_NODE_LIMIT:
            break
    open_nodes.discard(key)
    sizes[key] = total
    return total


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


def link_image(source: Path, target: Path, copy: bool) -> bool:
    """Put ``source`` at ``target`` as a hard link (a copy across file systems or with ``copy``);
    not a symlink: COCO and VOC readers such as datumaro resolve links and refuse an image that
    ends up outside the layout's image folder. False when ``source`` is missing."""
    if not copy and source.is_file():
        make_folder(target.parent)
        if target.is_symlink() or target.exists():
            target.unlink()
        try:
            os.link(source, target)
            return True
        except OSError:
            pass
    return place_image(source, target, True)


def ultralytics_label(image: str, sep: str = os.sep) -> str:
    """Ultralytics' label path of an image path (``img2label_paths``): its last ``/images/`` becomes
    ``/labels/`` and the extension of its file name ``.txt``."""
    marker = f"{sep}images{sep}"
    at = image.rfind(marker)
    if at >= 0:
        image = f"{image[:at]}{sep}labels{sep}{image[at + len(marker):]}"
    folder, _, file = image.rpartition(sep)
    stem = f"{os.path.splitext(file)[0]}.txt"
    return f"{folder}{sep}{stem}" if folder or image.startswith(sep) else stem


def images_under(folder: Path) -> list[Path]:
    """The image files below ``folder`` that Ultralytics lists there (its image formats, no hidden
    file or folder), sorted."""
    return [image for _, image in listed_images(folder)]


def listed_images(folder: Path) -> list[tuple[str, Path]]:
    """``(path below folder, path)`` of :func:`images_under`'s images, in its order."""
    return [(relative, Path(folder, relative)) for relative in listed_names(folder)]


def listed_names(folder: Path) -> list[str]:
    """The paths below ``folder`` of :func:`images_under`'s images, in its order."""
    return sorted(_listed_files(str(folder), ""), key=lambda relative: relative.split("/"))  # as paths sort


def has_listed_image(folder: Path) -> bool:
    """Whether Ultralytics lists at least one image below ``folder`` (it refuses a split without)."""
    return next(_listed_files(str(folder), ""), None) is not None


def _listed_files(top: str, relative: str) -> Iterator[str]:
    """The paths below ``top`` (the folder ``relative`` below the start) of Ultralytics' image
    files, walked as ``os.walk(followlinks=True)`` walks: unreadable folders left out, a folder's
    files before its sub-folders, those in name order."""
    folders, files = [], []
    try:
        with os.scandir(top) as entries:
            for entry in entries:
                (folders if _is_folder(entry) else files).append(entry)
    except OSError:
        return
    for entry in files:
        name = entry.name
        if not name.startswith(".") and "." in name and name.rpartition(".")[2].lower() in \
                ULTRALYTICS_IMAGE_SUFFIXES and entry.is_file():
            yield relative + name
    for entry in sorted(folders, key=lambda entry: entry.name):
        if not entry.name.startswith("."):
            yield from _listed_files(os.path.join(top, entry.name), f"{relative}{entry.name}/")


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


# the start of a PNG file: its signature and the header of its first chunk, an IHDR of 13 bytes
PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
# the (bit depth, colour type) pairs of the PNG standard (Pillow reads a mode for each)
PNG_DEPTHS = frozenset({(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3), (4, 3), (8, 3),
                        (8, 4), (16, 4), (8, 6), (16, 6)})
# what a PNG's first bytes hold when its IHDR is followed at once by its first IDAT chunk
PNG_HEAD = struct.Struct(">16sIIBBBBBI4x4s")


def png_size(head: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG whose first 41 bytes ``head`` are the signature, a sound IHDR
    (its checksum right, a standard depth and colour type, filter method 0, both sides above 0)
    and the header of an IDAT chunk: Pillow reads the same size from such a file, and nothing
    more before its pixels. None for any other start (Pillow then reads the file)."""
    if len(head) < PNG_HEAD.size or not head.startswith(PNG_START):
        return None
    _, width, height, depth, colour, _, filtering, _, checksum, next_chunk = PNG_HEAD.unpack_from(head)
    if next_chunk != b"IDAT" or (depth, colour) not in PNG_DEPTHS or filtering or not width or not height \
            or zlib.crc32(head[12:29]) != checksum:
        return None
    return width, height


def image_size(image: Path | str) -> tuple[int, int]:
    """``(width, height)`` of an image from its header, nothing decoded: a plain PNG's from its
    IHDR (:func:`png_size`), a JPEG's from its frame header (:func:`jpeg_size`), else each of
    Pillow's registered readers that accepts the file's first bytes parses the header
    (``Image.open`` would then refuse a header announcing 100000×100000 as a decompression bomb;
    here only the numbers are read). FormatError naming the file when no reader can."""
    try:
        start = regular_file_bytes(image, PNG_HEAD.size)
        size = png_size(start) if start[:1] == b"\x89" else jpeg_size(image) if start[:2] == b"\xff\xd8" else None
        if size is not None:
            return size
        with open(image, "rb") as handle:
            return _pillow_size(image, handle)
    except OSError as error:
        raise FormatError(f"{image}: cannot read the image ({error.strerror or error})") from None


def jpeg_size(image: Path | str) -> tuple[int, int] | None:
    """``(width, height)`` of a JPEG from its frame header, as Pillow's ``size`` (no EXIF turn), read
    by ``imagesize`` (4 times cheaper than Pillow's parser); None when it cannot tell."""
    import imagesize

    try:
        width, height = imagesize.get(image, exif_rotation=False)
    except (ValueError, struct.error, IndexError, TypeError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _pillow_size(image: Path | str, handle: BinaryIO) -> tuple[int, int]:
    """The size of ``image`` (open as ``handle``) read by the first of Pillow's readers that can."""
    from PIL import Image

    Image.init()
    handle.seek(0)
    prefix = handle.read(16)
    for format_id in Image.ID:
        factory, accepts = Image.OPEN[format_id]
        if accepts is not None and accepts(prefix) in (False, None, b"", ""):
            continue
        handle.seek(0)
        try:
            with factory(handle, str(image)) as opened:
                return opened.size
        except (SyntaxError, IndexError, TypeError, ValueError, EOFError, struct.error, OSError):
            continue
    raise FormatError(f"{image}: cannot read the image size (not an image Pillow knows, or corrupt)")


@dataclass(frozen=True)
class PoseShape:
    """A pose dataset's ``kpt_shape`` (keypoints per row, 2 or 3 values each), keypoint names per
    class and ``flip_idx``."""

    keypoints: int
    dims: int
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    flip: tuple[int, ...] = ()

    @property
    def values(self) -> int:
        """Values per row after the box."""
        return self.keypoints * self.dims

    def keys(self, value: str) -> tuple[str, ...]:
        """The keypoint keys of class ``value``: its ``kpt_names``, else the 1-based positions
        ``"1"``, ``"2"``, … (as COCO keypoints without names are read)."""
        return self.names.get(value) or tuple(str(i) for i in range(1, self.keypoints + 1))


@dataclass
class DataYaml:
    """What an Ultralytics ``data.yaml`` holds: classes, dataset root, each image once with its
    task name, and the pose shape of a pose dataset."""

    classes: dict[str, str]
    root: Path
    images: list[tuple[str, Path]]
    pose: PoseShape | None = None


def read_data_yaml(path: Path, report: ConversionReport) -> DataYaml:
    """An Ultralytics ``data.yaml`` read as Ultralytics resolves it (``check_det_dataset``): the
    root is ``path`` (a relative one from the yaml's folder when it exists there, else from the
    current folder as Ultralytics does) or the yaml's folder; a split is a folder, a text file of
    image paths or a list of these, relative to the root; a string ``../x`` that does not exist
    there is ``x`` (Roboflow's ``train: ../train/images``); ``validation`` stands for ``val``; an
    absolute split folder that does not exist is looked for below the root (a yaml written on
    another machine; reported). An image named by several splits is read once, in the first of
    train, val, test."""
    data = load_yaml(read_text(path, "the dataset file"), str(path))
    if not isinstance(data, dict):
        raise FormatError(f"{path}: an Ultralytics data.yaml is a map with 'names' and 'train' / 'val'")
    if "val" not in data and "validation" in data:
        data["val"] = data["validation"]
    classes = _yaml_classes(data, path)
    root = _dataset_root(data.get("path"), path, report)
    images = _split_images(root, data, path, report)
    return DataYaml(classes, root, images, _pose_shape(data, classes, path))


def _yaml_classes(data: dict, path: Path) -> dict[str, str]:
    names = data.get("names")
    if names is None and isinstance(data.get("nc"), int):
        names = [f"class_{i}" for i in range(data["nc"])]
    if isinstance(names, list):
        return {str(i): str(n) for i, n in enumerate(names)}
    if isinstance(names, dict) and all(str(k).strip().lstrip("-").isdigit() for k in names):
        return {str(int(str(k))): str(n) for k, n in names.items()}
    raise FormatError(f"{path}: 'names' must be a list or a map of class names by index, got {names!r:.80}")


def _dataset_root(value: object, path: Path, report: ConversionReport) -> Path:
    """The dataset root of a data.yaml; an absolute ``path`` that does not exist (a dataset moved
    from the machine that wrote it) is the yaml's folder, reported."""
    if not value:
        return path.parent.absolute()
    root = Path(str(value))
    if root.is_absolute():
        if not root.is_dir():
            report.note("dataset root not found, the data.yaml's folder read instead", f"{path}: path: {root}")
            return path.parent.absolute()
        return root
    for base in (path.parent, Path.cwd()):
        if (base / root).is_dir():
            return (base / root).absolute()
    raise FormatError(f"{path}: dataset root {str(value)!r} is neither beside the data.yaml nor in the current "
                      f"folder")


def _split_locations(root: Path, value: object) -> list[Path]:
    """Where a split's entries are: a list's items below ``root``; a string below ``root``, or
    without its leading ``../`` when that does not exist (Ultralytics' rule)."""
    if isinstance(value, (list, tuple)):
        return [Path(os.path.normpath(root / str(item))) for item in value]
    location = Path(os.path.normpath(root / str(value)))
    if not location.exists() and str(value).startswith("../"):
        location = Path(os.path.normpath(root / str(value)[3:]))
    return [location]


def _found_below(root: Path, missing: Path) -> Path | None:
    """The longest tail of a missing split path that exists below ``root`` (a data.yaml moved from
    the machine that wrote its absolute paths), or None."""
    parts = missing.parts[1:] if missing.is_absolute() else missing.parts
    for start in range(len(parts)):
        candidate = root.joinpath(*parts[start:])
        if candidate.exists() and not any(part in ("..", ".") for part in parts[start:]):
            return candidate
    return None


def _entry_images(location: Path, split: str, root: Path, source: Path) -> list[tuple[str, Path]]:
    """``(task name, image)`` of one split entry: a folder's images named by their path below it,
    an image list's by their path below the root (``images/<split>/`` or ``images/`` left out)."""
    if location.is_dir():
        return [(f"{split}/{relative}", image) for relative, image in listed_images(location)]
    if not location.is_file():
        raise FormatError(f"{source}: split {split!r} names {location}, neither a folder nor an image list")
    named = []
    for image in _listed_images(location, root):
        relative = Path(os.path.relpath(image, root)).as_posix()
        for prefix in (f"images/{split}/", "images/"):
            if relative.startswith(prefix):
                relative = relative[len(prefix):]
                break
        named.append((f"{split}/{relative}", image))
    return named


def _listed_images(list_file: Path, root: Path) -> list[Path]:
    """The image paths of an image list: ``./`` starts from the list's folder (Ultralytics replaces
    each ``./`` of such a line), other relative lines from the root when there, else from the current
    folder (where Ultralytics takes them from); only Ultralytics' image formats."""
    images = []
    for line in read_text(list_file, "the image list").strip().splitlines():
        line = line.strip()
        if line.startswith("./"):
            line = line.replace("./", f"{list_file.parent}{os.sep}")
        path = Path(line)
        if not path.is_absolute():
            path = root / path if (root / path).exists() else Path.cwd() / path
        if line.rpartition(".")[2].lower() in ULTRALYTICS_IMAGE_SUFFIXES:
            images.append(Path(os.path.normpath(path)))
    return images


def _split_images(root: Path, data: dict, source: Path, report: ConversionReport) -> list[tuple[str, Path]]:
    """Every image of the splits once (FormatError when there is none)."""
    first_split: dict[str, str] = {}
    names: set[str] = set()
    images = []
    for split in SPLITS:
        for location in _split_locations(root, data[split]) if data.get(split) else []:
            if not location.exists() and (moved := _found_below(root, location)) is not None:
                report.note("split folder not found, the same path below the dataset root read instead",
                            f"{source}: {split}: {location} -> {moved}")
                location = moved
            for name, image in _entry_images(location, split, root, source):
                key = os.path.normpath(image.absolute())
                if key in first_split:  # read once, in its first split (nothing is lost)
                    continue
                if not image.is_file():
                    report.note("image listed in a split but missing, skipped", str(image))
                    continue
                name = name if name not in names else f"{split}/{Path(os.path.relpath(image, root)).as_posix()}"
                first_split[key] = split
                names.add(name)
                images.append((name, image))
    if not images:
        raise FormatError(f"{source}: no image found in its splits ({', '.join(s for s in SPLITS if data.get(s))})")
    return images


def _pose_shape(data: dict, classes: dict[str, str], path: Path) -> PoseShape | None:
    """The ``kpt_shape`` / ``kpt_names`` / ``flip_idx`` of a pose dataset (None without ``kpt_shape``)."""
    shape = data.get("kpt_shape")
    if shape is None:
        return None
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape)
            and shape[0] > 0 and shape[1] in (2, 3)):
        raise FormatError(f"{path}: kpt_shape must be [keypoints, 2 or 3], got {shape!r:.80}")
    raw = data.get("kpt_names") or {}
    raw = dict(enumerate(raw)) if isinstance(raw, list) else raw
    names = {}
    for index, keys in raw.items() if isinstance(raw, dict) else ():
        if str(index) in classes and isinstance(keys, list) and len(keys) == shape[0]:
            names[classes[str(index)]] = tuple(str(k) for k in keys)
    flip = data.get("flip_idx") or []
    return PoseShape(shape[0], shape[1], names, tuple(int(i) for i in flip) if isinstance(flip, list) else ())
