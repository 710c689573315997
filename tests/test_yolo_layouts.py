"""YOLO datasets as people have them (Ultralytics' data.yaml and images/labels trees, darknet, our
own export with its images elsewhere), read and written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from fastlabel_formats import ConversionReport, export_yolo, yolo_tasks
from fastlabel_formats.cli import main
from fastlabel_formats.yolo_layout import parse_split, split_of

DATUMARO = Path(__file__).parent / "fixtures" / "third_party" / "datumaro"


def image(path: Path, size=(40, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)
    return path


def box_task(name: str, value: str = "cat", points=(4, 2, 24, 12)) -> dict:
    return {"name": name, "width": 40, "height": 20, "annotations": [{"type": "bbox", "value": value,
                                                                      "points": list(points)}]}


def test_ultralytics_export_and_import_round_trip(tmp_path):
    images = tmp_path / "photos"
    tasks = [box_task("train/a.jpg"), box_task("train/sub/b.jpg", "dog"), box_task("val/c.jpg")]
    for task in tasks:
        image(images / task["name"])
    report = export_yolo(tasks, tmp_path / "ds", layout="ultralytics", images=images)
    assert not report.findings
    out = tmp_path / "ds"
    assert (out / "labels/train/sub/b.txt").read_text() == "1 0.35 0.35 0.5 0.5\n"
    link = out / "images/train/sub/b.jpg"
    assert link.is_symlink() and link.resolve() == (images / "train/sub/b.jpg").resolve()
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data == {"path": str(out.resolve()), "train": "images/train", "val": "images/val",
                    "names": {0: "cat", 1: "dog"}}
    back = yolo_tasks(out / "data.yaml")
    assert [t["name"] for t in back] == ["train/a.jpg", "train/sub/b.jpg", "val/c.jpg"]
    assert [a["value"] for t in back for a in t["annotations"]] == ["cat", "dog", "cat"]
    assert back[0]["annotations"][0]["points"] == pytest.approx([4, 2, 24, 12])
    assert (back[0]["width"], back[0]["height"]) == (40, 20)


def test_ultralytics_copies_images_and_reports_missing_ones(tmp_path):
    image(tmp_path / "photos/a.jpg")
    report = export_yolo([box_task("a.jpg"), box_task("gone.jpg")], tmp_path / "ds", layout="ultralytics",
                         images=tmp_path / "photos", copy_images=True)
    copied = tmp_path / "ds/images/train/a.jpg"
    assert copied.is_file() and not copied.is_symlink()
    assert report.findings["image file missing, not placed in images/"].count == 1
    data = yaml.safe_load((tmp_path / "ds/data.yaml").read_text())
    assert data["train"] == data["val"] == "images/train"  # no validation split: val is the training set


def test_split_fractions_are_deterministic_by_name():
    fractions = parse_split("train=0.8,val=0.2")
    names = [f"img_{n:05d}.jpg" for n in range(2000)]
    drawn = [split_of(name, fractions)[0] for name in names]
    assert drawn == [split_of(name, fractions)[0] for name in names]
    assert 0.75 < drawn.count("train") / len(names) < 0.85
    assert [split_of(name, fractions, seed=1)[0] for name in names] != drawn
    assert split_of("val/x.jpg", fractions) == ("val", "x.jpg")  # a split folder in the name wins
    with pytest.raises(Exception, match="sum to 1"):
        parse_split("train=0.8,val=0.3")


def test_data_yaml_with_names_as_a_list_image_lists_and_background_images(tmp_path):
    root = tmp_path / "set"
    image(root / "images/train/a.jpg")
    image(root / "images/train/empty.jpg")
    image(root / "images/val/b.png")
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/train/a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (root / "labels/val").mkdir(parents=True)
    (root / "labels/val/b.txt").write_text("0 0.25 0.25 0.5 0.5\n")
    (root / "val.txt").write_text("./images/val/b.png\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: val.txt\nnames: ['person', \"a: b\"]\n")
    tasks = yolo_tasks(root / "data.yaml")
    assert [(t["name"], [a["value"] for a in t["annotations"]]) for t in tasks] == [
        ("train/a.jpg", ["a: b"]), ("train/empty.jpg", []), ("val/b.png", ["person"])]


def test_folder_with_an_images_and_a_labels_tree(tmp_path):
    image(tmp_path / "images/train/1.jpg")
    (tmp_path / "labels/train").mkdir(parents=True)
    (tmp_path / "labels/train/1.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "obj.names").write_text("thing\n")
    tasks = yolo_tasks(tmp_path / "obj.names", tmp_path)
    assert [t["name"] for t in tasks] == ["images/train/1.jpg"] and tasks[0]["annotations"][0]["value"] == "thing"


def test_datumaro_darknet_strict_layout_converts_to_coco(tmp_path, capsys):
    folder = DATUMARO / "yolo_strict"
    report = ConversionReport("yolo import")
    tasks = yolo_tasks(folder / "obj.names", folder, report=report)
    assert [t["name"] for t in tasks] == ["obj_train_data/1.jpg"]
    assert [a["value"] for a in tasks[0]["annotations"]] == ["label_2", "label_4"]
    code = main(["convert", str(folder), "--from", "yolo", "--classes-file", str(folder / "obj.names"),
                 "--to", "coco", "-o", str(tmp_path / "coco")])
    assert code == 0
    coco = json.loads((tmp_path / "coco/annotations.json").read_text())
    assert len(coco["annotations"]) == 2 and coco["images"][0]["file_name"] == "obj_train_data/1.jpg"


def test_our_export_reads_back_with_its_images_elsewhere(tmp_path, capsys):
    images = tmp_path / "photos"
    image(images / "sub/a.jpg")
    export_yolo([box_task("sub/a.jpg")], tmp_path / "yolo")
    tasks = yolo_tasks(tmp_path / "yolo/classes.txt", tmp_path / "yolo", images=images)
    assert [t["name"] for t in tasks] == ["sub/a.jpg"] and len(tasks[0]["annotations"]) == 1
    assert main(["convert", str(tmp_path / "yolo"), "--from", "yolo", "--images", str(images), "--to", "fastlabel",
                 "-o", str(tmp_path / "back")]) == 0
    back = json.loads((tmp_path / "back/tasks.json").read_text())
    assert back[0]["name"] == "sub/a.jpg" and back[0]["annotations"][0]["points"] == pytest.approx([4, 2, 24, 12])


def test_cli_ultralytics_export_and_data_yaml_convert(tmp_path, capsys):
    tasks = tmp_path / "tasks.json"
    names = [f"img{n}.jpg" for n in range(20)]
    tasks.write_text(json.dumps([box_task(name) for name in names]))
    for name in names:
        image(tmp_path / "photos" / name)
    assert main(["export", str(tasks), "--to", "yolo", "--layout", "ultralytics", "--images",
                 str(tmp_path / "photos"), "--split", "train=0.5,val=0.5", "-o", str(tmp_path / "out")]) == 0
    labels = sorted(p.relative_to(tmp_path / "out/yolo/labels").parts[0] for p in
                    (tmp_path / "out/yolo/labels").rglob("*.txt"))
    assert set(labels) == {"train", "val"} and len(labels) == 20
    assert main(["convert", str(tmp_path / "out/yolo/data.yaml"), "--from", "yolo", "--to", "coco",
                 "-o", str(tmp_path / "coco")]) == 0
    coco = json.loads((tmp_path / "coco/annotations.json").read_text())
    assert len(coco["images"]) == 20 and {i["file_name"].split("/")[0] for i in coco["images"]} == {"train", "val"}
    assert main(["export", str(tasks), "--to", "yolo", "--split", "train=2", "-o", str(tmp_path / "bad")]) == 2


@pytest.mark.parametrize("project_type", ["bbox", "segmentation", "obb"])
def test_lines_whose_values_overflow_are_skipped_and_reported(tmp_path, project_type):
    image(tmp_path / "a.jpg", (10, 10))
    values = {"bbox": 4, "segmentation": 6, "obb": 8}[project_type]
    (tmp_path / "a.txt").write_text("0 " + " ".join(["1e308"] * values) + "\n")
    (tmp_path / "classes.txt").write_text("x\n")
    report = ConversionReport("yolo import")
    (task,) = yolo_tasks(tmp_path / "classes.txt", tmp_path, project_type, report=report)
    assert task["annotations"] == []
    assert report.findings["line whose values overflow the image size, skipped"].count == 1


def test_pose_export_trains_as_written_and_reads_back(tmp_path):
    from ultralytics_rules import check_label_text, dataset_labels

    image(tmp_path / "photos/a.jpg", (100, 100))
    keypoints = [{"key": "nose", "value": [30, 30, 1]}, {"key": "left_eye", "value": [70, 60, 0]},
                 {"key": "right_eye", "value": []}]
    definitions = [{"type": "pose_estimation", "value": "person", "keypoints": [
        {"key": key, "edges": []} for key in ("nose", "left_eye", "right_eye")]}]
    task = {"name": "a.jpg", "width": 100, "height": 100, "annotations": [
        {"type": "pose_estimation", "value": "person", "keypoints": keypoints},
        {"type": "bbox", "value": "ball", "points": [10, 10, 20, 30]}]}
    from fastlabel_formats.targets import TargetOptions, export_targets

    reports = export_targets([task], {"yolo": tmp_path / "ds"}, TargetOptions(
        project_type="image_pose_estimation", annotations=definitions + [{"type": "bbox", "value": "ball"}],
        layout="ultralytics", image_dir=str(tmp_path / "photos")))
    assert not reports["yolo"].findings
    data = yaml.safe_load((tmp_path / "ds/data.yaml").read_text())
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [0, 2, 1]
    assert data["names"] == {0: "person", 1: "ball"} and data["kpt_names"] == {0: ["nose", "left_eye", "right_eye"]}
    label = (tmp_path / "ds/labels/train/a.txt").read_text()
    assert label.splitlines() == ["0 0.5 0.45 0.4 0.3 0.3 0.3 2 0.7 0.6 1 0.0 0.0 0",
                                  "1 0.15 0.2 0.1 0.2 0.0 0.0 0 0.0 0.0 0 0.0 0.0 0"]
    pairs = dataset_labels(tmp_path / "ds/data.yaml", data, cwd=tmp_path)
    (found,) = pairs["train"].values()
    check = check_label_text(Path(found).read_text(), num_classes=2, nkpt=3, ndim=3)
    assert not check.problem and len(check.rows) == 2
    (back,) = yolo_tasks(tmp_path / "ds/data.yaml")
    pose, ball = back["annotations"]
    assert pose["type"] == "pose_estimation" and pose["keypoints"] == [
        {"key": "nose", "value": [30.0, 30.0, 1]}, {"key": "left_eye", "value": [70.0, 60.0, 0]}]
    assert ball == {"value": "ball", "type": "bbox", "points": pytest.approx([10, 10, 20, 30])}
