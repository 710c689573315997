"""The YOLO reader's quick paths read what the slower ones read: a PNG's size from its IHDR as
Pillow reads it, the folders listed as ``os.walk`` / ``Path.rglob`` list them, box files of a
batch computed together as each file line by line."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from fastlabel_formats import yolo_import, yolo_layout
from fastlabel_formats.errors import FormatError
from fastlabel_formats.report import ConversionReport

# --- PNG sizes ----------------------------------------------------------------------------------


def png_bytes(width: int, height: int, mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "PNG", **options)
    return buffer.getvalue()


def pillow_size(path: Path) -> tuple[int, int] | str:
    """The size the Pillow readers give (the slow path), or the error."""
    try:
        with open(path, "rb") as handle:
            return yolo_layout._pillow_size(path, handle)
    except FormatError:
        return "error"


def quick_size(path: Path) -> tuple[int, int] | str:
    try:
        return yolo_layout.image_size(path)
    except FormatError:
        return "error"


def test_standard_depths_are_modes_pillow_reads():
    assert yolo_layout.PNG_DEPTHS <= set(PngImagePlugin._MODES)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16"])
def test_png_size_is_pillows(tmp_path, mode):
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(37, 11, mode))
    quick = yolo_layout.png_size(path.read_bytes()[:41])
    assert quick == (None if mode == "P" else (37, 11))  # a palette (PLTE) comes before the pixels
    assert yolo_layout.image_size(path) == (37, 11) == pillow_size(path)


def test_png_with_chunks_before_its_pixels_is_read_by_pillow(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(5, 7, dpi=(72, 72)))  # a pHYs chunk between IHDR and IDAT
    assert yolo_layout.png_size(path.read_bytes()[:41]) is None
    assert yolo_layout.image_size(path) == (5, 7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(8, 44), st.integers(0, 255)), min_size=1, max_size=3))
def test_a_damaged_png_header_reads_as_pillow_reads_it(tmp_path, changes):
    data = bytearray(png_bytes(300, 200))
    for position, value in changes:
        data[position] = value
    if changes[0][0] < 29 and changes[0][1] % 2:  # half of them: a damaged header with its checksum right
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(data))
    assert quick_size(path) == pillow_size(path)


def test_unreadable_image_is_named(tmp_path):
    with pytest.raises(FormatError, match="cannot read the image"):
        yolo_layout.image_size(tmp_path)  # a folder
    (tmp_path / "short.png").write_bytes(png_bytes(3, 3)[:20])
    with pytest.raises(FormatError, match="short.png"):
        yolo_layout.image_size(tmp_path / "short.png")


# --- listing folders ------------------------------------------------------------------------------


def walked_images(folder: Path) -> list[Path]:
    """The images of a folder as ``os.walk(followlinks=True)`` lists them (the reference)."""
    found = []
    for base, folders, files in os.walk(folder, followlinks=True):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found += [Path(base, name) for name in files
                  if not name.startswith(".") and "." in name and name.rpartition(".")[2].lower()
                  in yolo_layout.ULTRALYTICS_IMAGE_SUFFIXES and os.path.isfile(os.path.join(base, name))]
    return sorted(found)


def make_tree(root: Path) -> Path:
    """Images and labels in nested folders, hidden ones, a symlinked folder and a classes file
    reached under another name."""
    names = ["a.jpg", "a.txt", "a-b/c.PNG", "a-b/c.txt", "a/b.jpeg", "a/b.txt", "a/.hidden.jpg", ".h/x.jpg",
             "x.tar.png", "x.tar.txt", "notes.md", "z/y/deep.webp", "z/y/deep.txt", "noext", ".txt", "classes.txt"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"0 0.5 0.5 0.1 0.1\n")
    (root / "folder.txt").mkdir()
    (root / "linked").symlink_to(root / "a", target_is_directory=True)
    os.link(root / "classes.txt", root / "z" / "same_classes.txt")
    (root / "z" / "classes_link.txt").symlink_to(root / "classes.txt")
    return root


def test_listed_images_are_os_walks(tmp_path):
    root = make_tree(tmp_path)
    listed = yolo_layout.listed_images(root)
    assert [image for _, image in listed] == walked_images(root) == yolo_layout.images_under(root)
    assert all(image == root / relative for relative, image in listed)
    assert yolo_layout.has_listed_image(root) and not yolo_layout.has_listed_image(root / "missing")


def test_label_files_are_rglobs(tmp_path):
    root = make_tree(tmp_path)
    classes = (root / "classes.txt").resolve()
    globbed = sorted(p for p in root.rglob("*.txt") if p.is_file() and p.resolve() != classes)
    labels = yolo_import._labels_under(root, classes)
    assert [Path(path) for _, path in labels] == globbed
    assert all(path == str(root / relative) for relative, path in labels)
    assert root / "linked" / "b.txt" not in globbed  # rglob does not follow a symlinked folder


@given(st.lists(st.text(st.sampled_from("ab.-_"), min_size=1, max_size=6).filter(lambda part: part not in (".", "..")),
                min_size=1, max_size=3))
def test_without_suffix_is_pathlibs(parts):
    relative = "/".join(parts)
    assert yolo_import._without_suffix(relative) == PurePosixPath(relative).with_suffix("").as_posix()


# --- box files read together ------------------------------------------------------------------------

box_line = st.builds(lambda c, v: " ".join([c, *map(repr, v)]), st.sampled_from(["0", "1"]),
                     st.lists(st.floats(0, 1) | st.floats(-1e6, 1e6), min_size=4, max_size=4))
any_line = box_line | st.sampled_from(["", "  ", "0 a b c d", "3 0.5 0.5 0.2 0.2", "0 0.5 0.5 0.2", "1 1e308 1 1e308 1",
                                       "0 nan 0.1 0.1 0.1", "0 0.1 0.2 0.3 0.4 0.5 0.6"])
files = st.lists(st.lists(box_line, max_size=6) | st.lists(any_line, max_size=6), min_size=1, max_size=6)
sizes = st.sampled_from([(64, 48), (1920, 1080), (1, 1)])


@given(files, st.lists(sizes, min_size=6, max_size=6), st.sampled_from(["bbox", "bbox", "segmentation"]))
def test_box_files_together_as_each_alone(texts, size_list, kind):
    classes = {"0": "cat", "1": "dog"}
    lines = [[line.split() for line in text] for text in texts]
    together = yolo_import.box_files_annotations(lines, size_list[:len(lines)], classes, kind)
    for file_lines, size, found in zip(lines, size_list, together):
        report = ConversionReport("yolo import")
        alone = yolo_import._line_annotations(file_lines, Path("a.txt"), size, classes, kind, report, None,
                                              yolo_import.LabelTally())
        assert found == yolo_import.box_file_annotations(file_lines, size, classes, kind)
        if found is not None:
            assert found == alone and not report.findings


def test_dataset_read_in_batches_keeps_the_order_of_its_findings(tmp_path, monkeypatch):
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    (tmp_path / "classes.txt").write_text("cat\n")
    for number in range(7):
        (images / f"{number}.png").write_bytes(png_bytes(10, 10) if number != 3 else b"not an image")
        bad_line = "0 0.5 0.5\n" if number % 2 else ""
        (labels / f"{number}.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{bad_line}")
    (labels / "4.txt").write_bytes(b"\xef\xbb\xbf0 0.5 0.5 0.2 0.2\n")  # a byte-order mark

    def read(batch: int) -> tuple[list[dict], list]:
        monkeypatch.setattr(yolo_import, "FILES_AT_ONCE", batch)
        report = ConversionReport("yolo import")
        tasks = yolo_import.yolo_tasks(tmp_path / "classes.txt", labels, images=images, report=report)
        return tasks, [(kind, finding.count, finding.examples) for kind, finding in report.findings.items()]

    whole, *others = [read(batch) for batch in (1024, 1, 2, 3)]
    assert all(other == whole for other in others)
    tasks, findings = whole
    assert [task["name"] for task in tasks] == ["0.png", "1.png", "2.png", "4.png", "5.png", "6.png"]
    assert all(len(task["annotations"]) == 1 for task in tasks)
    assert [kind for kind, _, _ in findings] == ["line without the values of a box or polygon label, skipped",
                                                "image whose size cannot be read, skipped"]
    assert findings[0][2][0].endswith("1.txt: line 2")


def test_unreadable_label_file_is_named(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"0 0.5 \xff 0.5 0.5\n")
    with pytest.raises(FormatError, match="a.txt.*not UTF-8"):
        yolo_import.label_lines(tmp_path / "a.txt")
    with pytest.raises(FormatError, match="b.txt"):
        yolo_import.label_lines(tmp_path / "b.txt")


@pytest.mark.parametrize("folder", [Path("."), Path("/"), Path("data/images"), Path("/abs/x"), Path("//net/x")])
def test_joined_is_the_paths_text(folder):
    for relative in ("a.jpg", "sub/b.png", "a-b/c d.jpg"):
        assert yolo_import._joined(folder, relative) == str(Path(folder, relative))


def test_images_folder_given_as_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "labels").mkdir()
    (tmp_path / "classes.txt").write_text("cat\n")
    (tmp_path / "a.png").write_bytes(png_bytes(8, 6))
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    monkeypatch.chdir(tmp_path)
    report = ConversionReport("yolo import")
    tasks = yolo_import.yolo_tasks("classes.txt", "labels", images=".", report=report)
    assert [(task["name"], task["width"], task["annotations"][0]["points"]) for task in tasks] == \
        [("a.png", 8, [2.0, 1.5, 6.0, 4.5])]
    assert not report.findings
