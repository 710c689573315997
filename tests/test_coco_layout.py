"""The COCO dataset layout (``layout="coco"``): ``annotations/instances_<split>.json`` beside
``images/<split>/``, splits chosen as for the Ultralytics layout, opened as they are by pycocotools
and by the path rules of datumaro, detectron2 and mmdet (datumaro itself when it is installed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import datumaro_python
from PIL import Image
from pycocotools.coco import COCO

from fastlabel_formats import FormatError, export_coco
from fastlabel_formats.targets import TargetOptions, export_targets
from fastlabel_formats.yolo_layout import split_of


def task(name: str, *annotations: dict) -> dict:
    return {"name": name, "width": 20, "height": 10, "annotations": list(annotations)}


def box(value: str, points: list) -> dict:
    return {"type": "bbox", "value": value, "points": points, "attributes": []}


TASKS = [task("train/a.jpg", box("cat", [1, 1, 5, 5])),
         task("val/sub/b.jpg", box("dog", [2, 2, 8, 9]), box("cat", [0, 0, 3, 3])),
         task("c.jpg", box("dog", [4, 4, 6, 6])),
         task("empty.jpg")]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for entry in TASKS:
        (folder / entry["name"]).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 10)).save(folder / entry["name"])
    return folder


def load(path: Path) -> COCO:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_each_split_is_one_instances_file_beside_its_image_folder(tmp_path, photos):
    out = tmp_path / "dataset"
    report = export_coco(TASKS, out, layout="coco", images=photos)
    assert sorted(p.name for p in (out / "annotations").iterdir()) == ["instances_train.json", "instances_val.json"]
    assert report.ok and len(report.files) == 2
    seen_ids, names = set(), []
    for split in ("train", "val"):
        coco = load(out / "annotations" / f"instances_{split}.json")
        for image in coco.dataset["images"]:
            # detectron2's load_coco_json and mmdet's CocoDataset join the image root and file_name
            assert (out / "images" / split / image["file_name"]).is_file()
            names.append(image["file_name"])
        assert not seen_ids & set(coco.anns)  # annotation ids unique across the splits
        seen_ids |= set(coco.anns)
        assert [c["name"] for c in coco.dataset["categories"]] == ["cat", "dog"]
    assert sorted(names) == ["a.jpg", "c.jpg", "empty.jpg", "sub/b.jpg"] and len(seen_ids) == 4


def test_splits_are_drawn_as_the_ultralytics_layout_draws_them(tmp_path):
    tasks = [task(f"img{i}.jpg", box("cat", [0, 0, 2, 2])) for i in range(40)]
    fractions = {"train": 0.5, "val": 0.3, "test": 0.2}
    export_coco(tasks, tmp_path, layout="coco", split=fractions, seed=3)
    found = {}
    for path in (tmp_path / "annotations").glob("instances_*.json"):
        split = path.stem.removeprefix("instances_")
        found |= {image["file_name"]: split for image in json.loads(path.read_text())["images"]}
    assert found == {t["name"]: split_of(t["name"], fractions, 3)[0] for t in tasks}
    assert set(found.values()) == {"train", "val", "test"}


def test_workers_write_the_same_files(tmp_path):
    tasks = [task(f"{'val' if i % 3 else 'train'}/img{i}.jpg", box("cat", [0, 0, i % 7 + 1, 2])) for i in range(60)]
    export_coco(tasks, tmp_path / "one", layout="coco")
    export_coco(tasks, tmp_path / "two", layout="coco", jobs=2)
    for name in ("instances_train.json", "instances_val.json"):
        assert (tmp_path / "one/annotations" / name).read_bytes() == (tmp_path / "two/annotations" / name).read_bytes()
    assert not [p for p in (tmp_path / "two/annotations").iterdir() if p.name.startswith(".")]


def test_the_registry_wires_the_layout_and_missing_images_are_reported(tmp_path, photos):
    (photos / "c.jpg").unlink()
    options = TargetOptions(layout="coco", image_dir=str(photos), copy_images=True)
    report = export_targets(TASKS, {"coco": tmp_path / "out"}, options)["coco"]
    copied = tmp_path / "out/images/val/sub/b.jpg"
    assert copied.is_file() and not copied.is_symlink()
    assert report.findings["image file missing, not placed in images/"].examples == ["tasks: task 'c.jpg'"]
    plain = export_targets(TASKS, {"coco": tmp_path / "plain"}, TargetOptions())["coco"]
    assert [p.name for p in plain.files] == ["annotations.json"]
    with pytest.raises(FormatError, match="layout must be one of"):
        export_coco(TASKS, tmp_path / "bad", layout="ultralytics")


def test_a_split_without_images_gets_no_file(tmp_path):
    export_coco([task("val/a.jpg", box("cat", [1, 1, 2, 2]))], tmp_path, layout="coco")
    assert [p.name for p in (tmp_path / "annotations").iterdir()] == ["instances_val.json"]
    assert json.loads((tmp_path / "annotations/instances_val.json").read_text())["images"][0]["file_name"] == "a.jpg"


DATUMARO_CHECK = """
import collections, sys
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], "coco")
kinds = collections.Counter(a.type.name for item in dataset for a in item.annotations)
print(sorted(dataset.subsets()), len(dataset), sorted(kinds.items()),
      sum(item.media is not None and item.media.has_data for item in dataset))
"""


def test_datumaro_opens_the_layout_as_it_is(tmp_path, photos):
    python = datumaro_python()
    export_coco(TASKS, tmp_path / "dataset", layout="coco", images=photos, copy_images=True)
    done = subprocess.run([python, "-c", DATUMARO_CHECK, str(tmp_path / "dataset")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # datumaro reads each instance as its box and its polygon (grouped), and finds every image
    assert done.stdout.split("\n")[0] == "['train', 'val'] 4 [('bbox', 4), ('polygon', 4)] 4"


def test_decoded_video_frames_go_to_their_split_folder(tmp_path):
    import cv2
    import numpy as np

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for j in range(3):
        writer.write(np.full((24, 32, 3), 40 * j, np.uint8))
    writer.release()
    clip = {"name": "val/clip.mp4", "width": 32, "height": 24,
            "annotations": [box("car", {"2": {"value": [1, 1, 10, 10], "autogenerated": False}})]}
    export_coco([clip], tmp_path / "out", project_type="video_bbox", videos={"val/clip.mp4": video}, layout="coco")
    coco = json.loads((tmp_path / "out/annotations/instances_train.json").read_text())
    names = [image["file_name"] for image in coco["images"]]
    assert names == ["clip_0.jpg", "clip_1.jpg", "clip_2.jpg"] and len(coco["annotations"]) == 1
    assert sorted(p.name for p in (tmp_path / "out/images/train").iterdir()) == names
    assert not [p for p in (tmp_path / "out/images").iterdir() if p.is_file()]
