"""Our Ultralytics layouts checked by Ultralytics' own path and label rules (the oracle in
``ultralytics_rules.py``): every labelled image of every layout we write, whatever its task name,
has its label where Ultralytics looks, and that label passes Ultralytics' checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from ultralytics_rules import check_label_text, dataset_labels, image_files, img2label_path, resolve_data_yaml

from fastlabel_formats import export_yolo, yolo_tasks
from fastlabel_formats.yolo_layout import label_name

# --- the oracle against Ultralytics' documented behaviour -------------------------------------


def test_img2label_path_replaces_the_last_images_folder_and_the_extension():
    assert img2label_path("/d/images/train/a.jpg", "/") == "/d/labels/train/a.txt"
    assert img2label_path("/d/images/train/x/images/a.b.png", "/") == "/d/images/train/x/labels/a.b.txt"
    assert img2label_path("/d/train/images_x/a.jpg", "/") == "/d/train/images_x/a.txt"  # a folder, not 'images'
    assert img2label_path("/d.v2/images/a", "/") == "/d.txt"  # the quirk: the path's last dot, anywhere


def test_resolve_data_yaml_roboflow_relative_lists_and_path(tmp_path):
    (tmp_path / "set/train/images").mkdir(parents=True)
    (tmp_path / "cwd/rel/images").mkdir(parents=True)
    data = {"train": "../train/images", "val": ["train/images"], "validation": "x", "names": ["a"]}
    resolved = resolve_data_yaml(tmp_path / "set/data.yaml", data, tmp_path / "cwd", tmp_path / "datasets")
    assert resolved["train"] == str((tmp_path / "set/train/images").resolve())  # '../' dropped when missing
    assert resolved["val"] == [str((tmp_path / "set/train/images").resolve())]
    resolved = resolve_data_yaml(tmp_path / "set/data.yaml", {"path": "rel", "train": "images", "val": "images"},
                                 tmp_path / "cwd", tmp_path / "datasets")
    assert resolved["path"] == tmp_path / "cwd/rel"  # a relative path: from the current folder
    resolved = resolve_data_yaml(tmp_path / "set/data.yaml", {"path": "none", "train": "a", "validation": "b"},
                                 tmp_path / "cwd", tmp_path / "datasets")
    assert resolved["path"] == tmp_path / "datasets/none" and resolved["val"].endswith("none/b")
    with pytest.raises(SyntaxError, match="val"):
        resolve_data_yaml(tmp_path / "set/data.yaml", {"train": "a"}, tmp_path, tmp_path)


def test_image_files_from_folders_and_lists(tmp_path):
    for name in ("a.jpg", "b.PNG", "c.txt", ".hidden.jpg", ".h/d.jpg", "sub/e.jpeg", "noext"):
        (tmp_path / "imgs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "imgs" / name).write_bytes(b"")
    listed = image_files(str(tmp_path / "imgs"), tmp_path)
    assert [Path(p).relative_to(tmp_path / "imgs").as_posix() for p in listed] == ["a.jpg", "b.PNG", "sub/e.jpeg"]
    (tmp_path / "list.txt").write_text("./imgs/a.jpg\nimgs/b.PNG\n/abs/c.jpg\nnotes.md\n")
    assert image_files(str(tmp_path / "list.txt"), tmp_path / "cwd") == sorted(
        [f"{tmp_path}/imgs/a.jpg", f"{tmp_path}/cwd/imgs/b.PNG", "/abs/c.jpg"])


def test_label_checks_of_verify_image_label():
    boxes = check_label_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n", 1)
    assert not boxes.problem and boxes.duplicates == 1 and len(boxes.rows) == 1
    mixed = check_label_text("0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.3 0.1 0.3 0.4\n", 2)
    assert mixed.segments and mixed.rows[1] == pytest.approx([1, 0.2, 0.25, 0.2, 0.3])
    assert check_label_text("0 0.5 0.5 1.2 0.2\n", 1).problem.startswith("non-normalized")
    assert check_label_text("0 -0.5 0.5 0.2 0.2\n", 1).problem.startswith("negative")
    assert check_label_text("3 0.5 0.5 0.2 0.2\n", 2).problem.startswith("label class")
    assert check_label_text("0 0.5 0.5 0.2\n", 1).problem.startswith("labels require 5")
    assert check_label_text("0 0.5 0.5 0.2 0.2 0.1 0.1 2\n", 1, nkpt=1, ndim=3).problem == ""


# --- our layouts under the oracle -------------------------------------------------------------

PNG = None


def tiny_png() -> bytes:
    global PNG
    if PNG is None:
        from io import BytesIO

        buffer = BytesIO()
        Image.new("RGB", (16, 12), (50, 60, 70)).save(buffer, "PNG")
        PNG = buffer.getvalue()
    return PNG


parts = st.sampled_from(["images", "labels", "train", "val", "test", "sub", "a.b", "x", "images.v2", ".dot",
                         "img", "IMAGES"])
suffixes = st.sampled_from([".png", ".PNG", ".jpg", ".jpeg", ""])
task_names = st.lists(st.tuples(st.lists(parts, max_size=4), suffixes), min_size=1, max_size=8).map(
    lambda items: [("/".join([*folders, f"f{i}.{i}"]) + suffix) for i, (folders, suffix) in enumerate(items)])


def box_task(name: str) -> dict:
    return {"name": name, "width": 16, "height": 12,
            "annotations": [{"type": "bbox", "value": "cat", "points": [2, 2, 10, 8]},
                            {"type": "polygon", "value": "dog", "points": [1, 1, 9, 1, 9, 9]}]}


def label_paths_are_distinct(names: list[str]) -> bool:
    from fastlabel_formats.yolo_layout import split_of

    labels = [label_name(*split_of(name, None)) for name in names]
    return len(set(labels)) == len(labels)


def export_and_check(tmp: Path, names: list[str], split: dict | None, project_type: str, copy: bool) -> None:
    """Export ``names`` in the Ultralytics layout and check every image with Ultralytics' rules."""
    photos = tmp / "photos"
    for name in names:
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        (photos / name).write_bytes(tiny_png())
    out = tmp / "my images" / "ds"
    report = export_yolo([box_task(n) for n in names], out, layout="ultralytics", images=photos,
                         copy_images=copy, split=split, project_type=project_type)
    unseen_count = sum(f.count for k, f in report.findings.items() if k.startswith("image name Ultralytics"))
    if unseen_count == len(names):  # no image Ultralytics would list: no data.yaml, and that is reported
        assert not (out / "data.yaml").exists() and any(k.startswith("no image placed") for k in report.findings)
        return
    data = yaml.safe_load((out / "data.yaml").read_text())
    pairs = dataset_labels(out / "data.yaml", data, cwd=tmp)
    seen = {image: label for split_pairs in pairs.values() for image, label in split_pairs.items()}
    assert len(seen) == len(names) - unseen_count  # every image listed once, or reported as not listed
    for image, label in seen.items():
        assert label is not None, f"Ultralytics finds no label for {image}"
        check = check_label_text(Path(label).read_text(), num_classes=len(data["names"]))
        assert not check.problem and len(check.rows) == 2, (image, check)
        assert check.segments == (project_type == "image_segmentation")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task_names, st.sampled_from([None, {"train": 0.5, "val": 0.5}, {"train": 0.6, "val": 0.2, "test": 0.2}]),
       st.sampled_from(["image_bbox", "image_segmentation"]), st.booleans())
def test_ultralytics_finds_the_label_of_every_image_whatever_the_task_names(tmp_path_factory, names, split,
                                                                            project_type, copy):
    assume(label_paths_are_distinct(names))
    export_and_check(tmp_path_factory.mktemp("u"), names, split, project_type, copy)


@pytest.mark.parametrize("names", [
    ["train/images/0/x.jpg", "train/images/1/y.jpg", "val/images/z.jpg"],  # the reported case
    ["images/a.jpg", "labels/b.jpg", "a/images/images/c.png"],
    ["a.b/images.v2/c.jpg", "x/IMAGES/d.jpg"],
])
def test_task_names_with_images_folders(tmp_path, names):
    export_and_check(tmp_path, names, None, "image_bbox", False)
    out = tmp_path / "my images" / "ds"
    back = yolo_tasks(out / "data.yaml")  # and our reader pairs them as Ultralytics does
    assert sorted(t["name"] for t in back) == sorted(n if n.startswith(("train/", "val/")) else f"train/{n}"
                                                     for n in names)
    assert all(len(t["annotations"]) == 2 for t in back)
    shutil.rmtree(out)
    export_and_check(tmp_path, names, {"train": 0.5, "val": 0.5}, "image_segmentation", True)


def test_names_ultralytics_does_not_list_are_reported(tmp_path):
    names = ["a.jpg", ".hidden/b.jpg", "c", "d.gif"]
    for name in names:
        (tmp_path / "photos" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "photos" / name).write_bytes(tiny_png())
    report = export_yolo([box_task(n) for n in names], tmp_path / "ds", layout="ultralytics",
                         images=tmp_path / "photos")
    unseen = [f for k, f in report.findings.items() if k.startswith("image name Ultralytics does not list")]
    assert sum(f.count for f in unseen) == 3
    assert os.path.isfile(tmp_path / "ds/labels/train/a.txt")
