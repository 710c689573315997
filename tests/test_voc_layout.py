"""The VOC dataset layout (``layout="voc"``): Annotations/, ImageSets/Main/<split>.txt, labelmap.txt and
JPEGImages/, checked by its rules and, where datumaro is installed, by datumaro itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import ann, datumaro_python, task

from fastlabel_formats import FormatError, export_pascalvoc, pascalvoc_tasks
from fastlabel_formats.yolo_layout import split_of

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "sample_project"
DATUMARO_VOC = Path(__file__).parent / "fixtures" / "third_party" / "datumaro_voc_dataset1"
SPLIT = {"train": 0.5, "val": 0.5}
WRITTEN_TYPES = ("bbox", "polygon")

# Runs in the interpreter that has datumaro (this one, or DATUMARO_PYTHON: a separate environment)
DATUMARO_SCRIPT = """
import json, sys
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], "voc")
labels = dataset.categories()[AnnotationType.label]
print(json.dumps([{"id": item.id, "subset": item.subset, "image": item.media.path,
                   "annotations": [{"label": labels[a.label].name, "bbox": list(a.get_bbox()), "group": a.group,
                                    "actions": sorted(k for k, v in a.attributes.items() if v is True)}
                                   for a in item.annotations]} for item in dataset]))
"""


def project() -> list[dict]:
    """The sample project and datumaro's VOC image (parts and actions) under a train/ folder."""
    tasks = json.loads((SAMPLE / "tasks.json").read_text())
    voc = pascalvoc_tasks(DATUMARO_VOC)[0]
    return tasks + [{**voc, "name": f"train/{voc['name']}"}]


def images_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    for path in (SAMPLE / "images").rglob("*.png"):
        (folder / path.relative_to(SAMPLE / "images")).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.relative_to(SAMPLE / "images")).write_bytes(path.read_bytes())
    (folder / "train").mkdir()
    (folder / "train/2007_000001.jpg").write_bytes((DATUMARO_VOC / "JPEGImages/2007_000001.jpg").read_bytes())
    return folder


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp_path = tmp_path_factory.mktemp("voc_layout")
    tasks = project()
    report = export_pascalvoc(tasks, tmp_path / "voc", layout="voc", images=images_folder(tmp_path), split=SPLIT)
    assert not [kind for kind in report.findings if "missing" in kind or "labelmap" in kind]
    return tmp_path / "voc", tasks


def test_every_listed_image_has_its_xml_and_image_and_splits_are_the_ultralytics_ones(layout):
    root, tasks = layout
    listed = {split: (root / f"ImageSets/Main/{split}.txt").read_text().splitlines()
              for split in ("train", "val", "test") if (root / f"ImageSets/Main/{split}.txt").exists()}
    expected: dict[str, list[str]] = {}
    for t in tasks:
        expected.setdefault(split_of(t["name"], SPLIT)[0], []).append(os.path.splitext(t["name"])[0])
    assert listed == expected
    for t in tasks:
        image_id = os.path.splitext(t["name"])[0]
        assert (root / f"Annotations/{image_id}.xml").is_file()
        image = root / "JPEGImages" / t["name"]
        assert image.is_file() and not image.is_symlink()  # datumaro refuses links leading out of JPEGImages
    assert [t["name"] for t in pascalvoc_tasks(root)] == sorted(t["name"] for t in tasks)


def test_labelmap_names_every_class_with_its_parts_and_actions(layout):
    root, tasks = layout
    lines = [line.split(":") for line in (root / "labelmap.txt").read_text().splitlines() if not line.startswith("#")]
    classes = {a["value"] for t in tasks for a in t["annotations"] if a["type"] in WRITTEN_TYPES
               and not any(x["key"] == "part_of" for x in a.get("attributes", ()))}
    assert sorted(name for name, *_ in lines) == sorted(classes)
    person = next(line for line in lines if line[0] == "person")
    assert person[2] == "head" and person[3].split(",")[:3] == ["other", "jumping", "phoning"]


def datumaro_items(root: Path) -> list[dict]:
    done = subprocess.run([datumaro_python(), "-c", DATUMARO_SCRIPT, str(root)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_datumaro_opens_the_layout(layout):
    root, tasks = layout
    items = {item["id"]: item for item in datumaro_items(root)}
    assert sorted(items) == sorted(os.path.splitext(t["name"])[0] for t in tasks)
    for t in tasks:
        item = items[os.path.splitext(t["name"])[0]]
        assert item["subset"] == split_of(t["name"], SPLIT)[0]
        assert Path(item["image"]).resolve() == (root / "JPEGImages" / t["name"]).resolve()
        written = [a for a in t["annotations"] if a["type"] in WRITTEN_TYPES]
        assert len(item["annotations"]) == len(written)
    person = [a for a in items["train/2007_000001"]["annotations"] if a["label"] in ("person", "head")]
    assert len({a["group"] for a in person}) == 1  # the head is the person's part
    assert "phoning" in next(a for a in person if a["label"] == "person")["actions"]


def test_missing_images_are_reported_and_layout_is_checked(tmp_path):
    report = export_pascalvoc([task("a.jpg", 4, 4, ann("bbox", "x", [0, 0, 2, 2]))], tmp_path / "v", layout="voc",
                              images=tmp_path)
    assert report.findings["image file missing, not placed in JPEGImages/"].examples == ["tasks: task 'a.jpg'"]
    assert (tmp_path / "v/ImageSets/Main/train.txt").read_text() == "a\n"
    with pytest.raises(FormatError, match="layout must be one of"):
        export_pascalvoc([], tmp_path / "w", layout="ultra")
