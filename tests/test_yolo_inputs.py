"""YOLO inputs as people have them: a real Roboflow export, data.yaml read the way Ultralytics
resolves it (checked against the oracle of ``ultralytics_rules.py``), and the inputs that used to
be read wrongly or not at all (polygon lines, BOMs, unlabelled images, huge or corrupt images,
YAML alias bombs, labels without their images)."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest
import yaml
from PIL import Image
from ultralytics_rules import image_files, resolve_data_yaml

from fastlabel_formats import ConversionReport, export_yolo, yolo_tasks
from fastlabel_formats.cli import main
from fastlabel_formats.errors import FormatError
from fastlabel_formats.yolo_layout import YAML_NODE_LIMIT

ROBOFLOW = Path(__file__).parent / "fixtures" / "third_party" / "roboflow-python" / "sharks-tiny-yolov9"


def image(path: Path, size=(40, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- a real Roboflow export -------------------------------------------------------------------

def independent_parse(label: Path, width: int, height: int) -> list[tuple[str, list]]:
    """Each line as (class, geometry) read here by hand: 5 tokens a box, more a polygon."""
    names = ["fish", "primary", "shark"]
    out = []
    for line in label.read_text().splitlines():
        values = [float(v) for v in line.split()[1:]]
        if len(values) == 4:
            cx, cy, w, h = values
            box = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
            out.append((names[int(line.split()[0])], box))
        elif values:
            out.append((names[int(line.split()[0])],
                        [round(v * (width if i % 2 == 0 else height)) for i, v in enumerate(values)]))
    return out


def test_roboflow_export_reads_whole():
    report = ConversionReport("yolo import")
    tasks = yolo_tasks(ROBOFLOW / "data.yaml", report=report)
    folders = {"train": "train", "val": "valid", "test": "test"}
    expected_names = sorted(f"{split}/{p.name}" for split, folder in folders.items()
                            for p in (ROBOFLOW / folder / "images").iterdir())
    assert [t["name"] for t in tasks] == expected_names and len(tasks) == 10
    for task in tasks:
        split, file = task["name"].split("/", 1)
        photo = ROBOFLOW / folders[split] / "images" / file
        with Image.open(photo) as opened:
            assert (task["width"], task["height"]) == opened.size
        label = ROBOFLOW / folders[split] / "labels" / (photo.stem + ".txt")
        expected = independent_parse(label, task["width"], task["height"])
        got = [(a["value"], a["points"] if a["type"] == "bbox" else a["points"][0][0]) for a in task["annotations"]]
        assert len(got) == len(expected)
        for (value, points), (value_back, points_back) in zip(expected, got):
            assert value == value_back and points_back == pytest.approx(points, abs=1e-9)
    assert sum(len(t["annotations"]) for t in tasks) == 60
    # train / val name folders of the machine that exported it: read below the root, and said so
    moved = report.findings["split folder not found, the same path below the dataset root read instead"]
    assert moved.count == 2 and "/Users/tony/tmp/sharks-tiny-yolov9/train/images" in moved.examples[0]
    assert list(report.findings) == ["split folder not found, the same path below the dataset root read instead"]


# --- data.yaml resolved as Ultralytics resolves it -------------------------------------------

def dataset(root: Path) -> None:
    """Images in three layouts: Roboflow's split/images, images/<split>, and a loose folder."""
    for name in ("train/images/a.jpg", "valid/images/b.jpg", "images/train/c.png", "images/val/d.png",
                 "loose/e.jpg", "loose/sub/f.jpg"):
        image(root / name)


YAMLS = {
    "roboflow": "train: ../train/images\nval: ../valid/images\nnames: [x]\n",
    "path_and_lists": "path: {root}\ntrain: [images/train, loose]\nval: images/val\nnames: {{0: x}}\n",
    "relative_path": "path: .\ntrain: images/train\nvalidation: images/val\nnames: [x]\n",
    "list_files": "train: train.txt\nval: val.txt\nnames: [x]\n",
}


@pytest.mark.parametrize("kind", sorted(YAMLS))
def test_split_images_are_what_ultralytics_lists(tmp_path, monkeypatch, kind):
    root = tmp_path / "ds"
    dataset(root)
    write(root / "train.txt", "./images/train/c.png\n./loose/e.jpg\n")
    write(root / "val.txt", f"{root}/images/val/d.png\n")
    text = YAMLS[kind].format(root=root)
    write(root / "data.yaml", text)
    monkeypatch.chdir(root)  # Ultralytics takes a relative 'path:' from the current folder
    resolved = resolve_data_yaml(root / "data.yaml", yaml.safe_load(text), root, tmp_path / "datasets")
    theirs = {os.path.normpath(p) for key in ("train", "val") for p in image_files(resolved[key], root)}
    tasks = yolo_tasks(root / "data.yaml")
    ours = {os.path.normpath(root / found) for found in _image_paths(tasks, root, text)}
    assert len(tasks) == len(theirs) and ours == theirs


def _image_paths(tasks: list[dict], root: Path, text: str) -> list[str]:
    """Where each task's image is, from its name and the split folders of the yaml."""
    located = []
    for task in tasks:
        split, rest = task["name"].split("/", 1)
        candidates = [root / f"{split}/images/{rest}", root / f"valid/images/{rest}", root / f"images/{split}/{rest}",
                      root / f"loose/{rest}", root / rest]
        located.append(str(next(c for c in candidates if c.is_file())))
    return located


def test_roboflow_yaml_one_folder_down_uses_the_parent(tmp_path):
    """``../train/images`` that exists from the root is taken as written (Ultralytics' first try)."""
    image(tmp_path / "train/images/a.jpg")
    write(tmp_path / "train/labels/a.txt", "0 0.5 0.5 0.5 0.5\n")
    write(tmp_path / "yaml/data.yaml", "train: ../train/images\nval: ../train/images\nnames: [x]\n")
    report = ConversionReport("x")
    tasks = yolo_tasks(tmp_path / "yaml/data.yaml", report=report)
    assert [(t["name"], len(t["annotations"])) for t in tasks] == [("train/a.jpg", 1)]
    assert not report.findings  # named by train and val, read once: nothing lost


def test_our_data_yaml_without_val_reads_each_image_once(tmp_path):
    image(tmp_path / "photos/a.jpg")
    image(tmp_path / "photos/b.jpg")
    tasks = [{"name": n, "width": 40, "height": 20, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 9, 9]}]} for n in ("a.jpg", "b.jpg")]
    report = export_yolo(tasks, tmp_path / "ds", layout="ultralytics", images=tmp_path / "photos",
                         split={"train": 0.99, "val": 0.01})  # a val split asked for, no image drawn for it
    assert [f.count for k, f in report.findings.items() if "val names the training images" in k] == [1]
    data = yaml.safe_load((tmp_path / "ds/data.yaml").read_text())
    assert data["val"] == data["train"] == "images/train"
    back = yolo_tasks(tmp_path / "ds/data.yaml")
    assert [t["name"] for t in back] == ["train/a.jpg", "train/b.jpg"]


def test_yaml_alias_bomb_is_refused_and_aliases_within_the_bound_are_read(tmp_path):
    levels = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))
    write(tmp_path / "data.yaml", levels + "train: .\nval: .\nnames: [x]\n")
    with pytest.raises(FormatError, match=f"more than {YAML_NODE_LIMIT:,}"):
        yolo_tasks(tmp_path / "data.yaml")
    image(tmp_path / "ok/a.jpg")
    write(tmp_path / "ok/data.yaml", "names: &n [cat]\nother: *n\ntrain: .\nval: .\n")
    assert [t["name"] for t in yolo_tasks(tmp_path / "ok/data.yaml")] == ["train/a.jpg"]
    write(tmp_path / "self.yaml", "a: &a [*a]\ntrain: .\nval: .\nnames: [x]\n")
    with pytest.raises(FormatError, match="refers to itself|cannot read"):
        yolo_tasks(tmp_path / "self.yaml")


# --- lines, classes, images -------------------------------------------------------------------

def test_polygon_lines_are_read_without_a_project_type_and_boxes_stay_boxes(tmp_path):
    image(tmp_path / "a.jpg", (100, 50))
    write(tmp_path / "a.txt", "0 0.1 0.2 0.5 0.2 0.5 0.6\n1 0.5 0.5 0.2 0.2\n")
    write(tmp_path / "classes.txt", "cat\ndog\n")
    (task,) = yolo_tasks(tmp_path / "classes.txt", tmp_path)
    assert [(a["type"], a["value"]) for a in task["annotations"]] == [("segmentation", "cat"), ("bbox", "dog")]
    assert task["annotations"][0]["points"] == [[[10, 10, 50, 10, 50, 30]]]


def test_classes_file_with_a_bom_and_label_with_a_bom(tmp_path):
    image(tmp_path / "a.jpg")
    (tmp_path / "classes.txt").write_bytes("\ufeffcat\ndog\n".encode())
    (tmp_path / "a.txt").write_bytes("\ufeff0 0.5 0.5 0.5 0.5\n".encode())
    (task,) = yolo_tasks(tmp_path / "classes.txt", tmp_path)
    assert [a["value"] for a in task["annotations"]] == ["cat"]


def test_images_without_labels_are_empty_tasks(tmp_path):
    image(tmp_path / "a.jpg")
    image(tmp_path / "b.jpg")
    write(tmp_path / "a.txt", "0 0.5 0.5 0.5 0.5\n")
    write(tmp_path / "classes.txt", "cat\n")
    tasks = yolo_tasks(tmp_path / "classes.txt", tmp_path)
    assert [(t["name"], len(t["annotations"])) for t in tasks] == [("a.jpg", 1), ("b.jpg", 0)]
    export_yolo([{"name": "a.jpg", "width": 40, "height": 20, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 9, 9]}]}], tmp_path / "out")
    tasks = yolo_tasks(tmp_path / "out/classes.txt", tmp_path / "out", images=tmp_path)
    assert [(t["name"], len(t["annotations"])) for t in tasks] == [("a.jpg", 1), ("b.jpg", 0)]


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


def test_huge_image_header_is_read_and_a_corrupt_image_costs_that_image(tmp_path):
    (tmp_path / "huge.png").write_bytes(png_header(100000, 100000))
    write(tmp_path / "huge.txt", "0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    write(tmp_path / "broken.txt", "0 0.5 0.5 0.5 0.5\n")
    image(tmp_path / "fine.jpg")
    write(tmp_path / "fine.txt", "0 0.5 0.5 0.5 0.5\n")
    write(tmp_path / "classes.txt", "cat\n")
    report = ConversionReport("x")
    tasks = yolo_tasks(tmp_path / "classes.txt", tmp_path, report=report)
    assert [(t["name"], t["width"], t["height"]) for t in tasks] == [("fine.jpg", 40, 20),
                                                                     ("huge.png", 100000, 100000)]
    assert tasks[1]["annotations"][0]["points"] == [25000.0, 25000.0, 75000.0, 75000.0]
    skipped = report.findings["image whose size cannot be read, skipped"]
    assert skipped.count == 1 and str(tmp_path / "broken.jpg") in skipped.examples[0]


def test_labels_without_their_images_are_an_error_naming_images(tmp_path, capsys):
    export_yolo([{"name": "a.jpg", "width": 40, "height": 20, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 9, 9]}]}], tmp_path / "yolo")
    with pytest.raises(FormatError, match="--images"):
        yolo_tasks(tmp_path / "yolo/classes.txt", tmp_path / "yolo")
    code = main(["convert", str(tmp_path / "yolo"), "--from", "yolo", "--to", "coco", "-o", str(tmp_path / "coco")])
    assert code == 2 and "--images" in capsys.readouterr().err
    assert not (tmp_path / "coco/annotations.json").exists()


def test_lines_of_another_kind_only_are_an_error_naming_the_project_type(tmp_path):
    image(tmp_path / "a.jpg")
    write(tmp_path / "a.txt", "0 0.1 0.1 0.2 0.1 0.2 0.2\n")
    write(tmp_path / "classes.txt", "cat\n")
    with pytest.raises(FormatError, match="--project-type"):
        yolo_tasks(tmp_path / "classes.txt", tmp_path, "obb")


def test_ultralytics_layout_without_images_writes_no_data_yaml(tmp_path):
    task = {"name": "a.jpg", "width": 40, "height": 20, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 9, 9]}]}
    report = export_yolo([task], tmp_path / "ds", layout="ultralytics")
    assert not (tmp_path / "ds/data.yaml").exists()
    assert (tmp_path / "ds/classes.txt").read_text() == "cat\n"
    assert (tmp_path / "ds/labels/train/a.txt").read_text() == "0 0.125 0.25 0.2 0.4\n"
    assert any(kind.startswith("no image placed") for kind in report.findings)


# --- pose ---------------------------------------------------------------------------------------

def test_pose_rows_of_a_data_yaml_with_kpt_shape(tmp_path):
    image(tmp_path / "images/train/a.jpg", (100, 100))
    write(tmp_path / "labels/train/a.txt",
          "0 0.5 0.5 0.6 0.6 0.3 0.3 2 0.7 0.7 1 0 0 0\n"  # its own box: a bbox with keypoints
          "0 0.5 0.5 0.4 0.4 0.3 0.3 2 0.7 0.7 2 0 0 0\n")  # the keypoints' box: a pose
    write(tmp_path / "data.yaml", json.dumps({"train": "images/train", "val": "images/train", "names": ["person"],
                                              "kpt_shape": [3, 3], "flip_idx": [0, 2, 1],
                                              "kpt_names": {0: ["nose", "left", "right"]}}))
    (task,) = yolo_tasks(tmp_path / "data.yaml")
    first, second = task["annotations"]
    assert first["type"] == "bbox" and first["points"] == pytest.approx([20, 20, 80, 80])
    assert first["keypoints"] == [{"key": "nose", "value": [30.0, 30.0, 1]},
                                  {"key": "left", "value": [70.0, 70.0, 0]}]
    assert second["type"] == "pose_estimation" and "points" not in second


def test_images_without_any_label_file_are_an_error(tmp_path):
    image(tmp_path / "a.jpg")
    write(tmp_path / "classes.txt", "cat\n")
    with pytest.raises(FormatError, match="no label file"):
        yolo_tasks(tmp_path / "classes.txt", tmp_path)
    write(tmp_path / "a.txt", "")  # a background image: its label file is empty
    assert yolo_tasks(tmp_path / "classes.txt", tmp_path)[0]["annotations"] == []


def test_a_moved_export_of_ours_reads_from_its_new_place(tmp_path):
    image(tmp_path / "photos/a.jpg")
    task = {"name": "a.jpg", "width": 40, "height": 20, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 9, 9]}]}
    export_yolo([task], tmp_path / "ds", layout="ultralytics", images=tmp_path / "photos", copy_images=True)
    (tmp_path / "ds").rename(tmp_path / "moved")
    report = ConversionReport("x")
    (back,) = yolo_tasks(tmp_path / "moved/data.yaml", report=report)
    assert back["name"] == "train/a.jpg" and len(back["annotations"]) == 1
    assert report.findings["dataset root not found, the data.yaml's folder read instead"].count == 1


def test_two_images_one_label_path_costs_the_second_and_is_reported(tmp_path):
    image(tmp_path / "photos/a.jpg")
    image(tmp_path / "photos/a.png", (80, 40))
    write(tmp_path / "labels/a.txt", "0 0.5 0.5 0.5 0.5\n")
    write(tmp_path / "labels/classes.txt", "cat\n")
    report = ConversionReport("x")
    tasks = yolo_tasks(tmp_path / "labels/classes.txt", tmp_path / "labels", images=tmp_path / "photos",
                       report=report)
    assert [(t["name"], len(t["annotations"])) for t in tasks] == [("a.jpg", 1)]
    (finding,) = report.findings.values()
    assert finding.count == 1 and "a.png" in finding.examples[0]
