"""Side by side with the official SDK, ``fastlabel==0.26.0``: its outputs are committed in
``tests/golden/`` (made in a virtual environment of their own by ``tests/golden/make_golden.py``,
which CI re-runs with ``--check``), so these tests run everywhere, offline.

On integer coordinates and outside the documented defects, the outputs must be identical. When an
input changes on purpose (the fake server's answers, the LeRobot dataset), make the files again:
``python tests/golden/make_golden.py`` (it builds the SDK's environment) and review the diff.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
import make_golden  # noqa: E402

from fastlabel_formats import to_coco, to_labelme, to_pascalvoc, to_yolo  # noqa: E402

CONVERTERS = json.loads(make_golden.CONVERTERS.read_text())
SDK = CONVERTERS["sdk"]


@pytest.fixture
def tasks() -> list[dict]:
    return json.loads(json.dumps(CONVERTERS["tasks"]))  # a fresh copy each test


def without_colors(coco: dict) -> dict:
    return {**coco, "categories": [{**c, "color": None} for c in coco["categories"]]}


def test_the_golden_tasks_hold_every_shape_the_converters_compare():
    kinds = {a["type"] for t in CONVERTERS["tasks"] for a in t["annotations"]}
    assert kinds == {"bbox", "polygon", "segmentation"}
    assert len(SDK["coco"]["annotations"]) > 100 and len(SDK["pascalvoc"]) == len(CONVERTERS["tasks"])


def test_coco_identical(tasks):
    assert without_colors(to_coco(tasks)) == without_colors(SDK["coco"])  # D2 fixes the colours


@pytest.mark.parametrize("project_type", ["image_bbox", "image_segmentation"])
def test_yolo_coco_path_identical(tasks, project_type):
    labels, classes = to_yolo(tasks, project_type=project_type)
    assert classes == SDK["yolo"][project_type]["classes"]
    assert [[name, lines] for name, lines in labels] == SDK["yolo"][project_type]["labels"]


def test_yolo_classes_path_identical_for_boxes(tasks):
    """The reference also writes polygon lines into detection files (which Ultralytics then reads as
    all segments); we write boxes only, so only box projects compare."""
    golden = SDK["yolo_with_classes"]
    labels, _ = to_yolo(make_golden.boxes_only(tasks), classes=golden["classes"])
    assert [[name, lines] for name, lines in labels] == golden["labels"]


def test_pascalvoc_identical(tasks):
    assert [text for _, text in to_pascalvoc(tasks)] == SDK["pascalvoc"]


def test_labelme_identical_for_single_region_segmentations(tasks):
    """Equal up to what we change on purpose so that labelme opens the files: ``imagePath``
    relative to the JSON, lines of more than 2 points as ``linestrip``, switches as shape flags."""
    single = make_golden.single_region(tasks)
    expected = SDK["labelme"]
    assert len(expected) == len(single)
    for document, task in zip(expected, single):
        document["imagePath"] = document["imagePath"].rsplit("/", 1)[-1]
        shown = [a for a in task["annotations"] if a["type"] in ("polygon", "segmentation", "bbox", "keypoint", "line")
                 and a["points"]]
        for shape, annotation in zip(document["shapes"], shown):
            shape["flags"] = {a["key"]: a["value"] for a in annotation.get("attributes") or ()
                              if isinstance(a.get("value"), bool)}
            if shape["shape_type"] == "line" and len(shape["points"]) != 2:
                shape["shape_type"] = "linestrip"
    assert to_labelme(single) == expected


def test_drawn_images_identical_outside_the_defects(tmp_path):
    from fastlabel_formats import export_image_with_annotations

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(make_golden.drawn_image()).save(images / "a.png")
    export_image_with_annotations(json.loads(json.dumps(make_golden.DRAWN_TASKS)), images, tmp_path / "ours")
    with Image.open(make_golden.DRAWN / "a.png") as ref, Image.open(tmp_path / "ours/a.png") as ours:
        assert np.array_equal(np.array(ref.convert("RGB")), np.array(ours))


def test_the_official_sdk_makes_the_same_lerobot_zips(tmp_path):
    """The same entries, the telemetry JSON byte for byte, the videos frame for frame (their
    containers differ by OpenCV's version only)."""
    pytest.importorskip("pyarrow", reason="the robotics extra (pyarrow) reads LeRobot parquet files")
    from test_lerobot import make_dataset

    from fastlabel_formats_api import lerobot

    root = tmp_path / "robot"
    make_dataset(root)
    converter, episodes = lerobot.LeRobotConverter(lerobot.load_info(root)), lerobot.episode_map(root)
    golden = sorted(make_golden.LEROBOT.glob("*.zip"))
    assert [p.stem for p in golden] == [f"episode_{index:06d}" for index in sorted(episodes)]
    for index, path in zip(sorted(episodes), golden):
        (tmp_path / path.stem).mkdir()
        made = lerobot.episode_zip(root, episodes[index], path.stem, converter,
                                   lerobot.episode_frames(root, index, episodes[index]), tmp_path / path.stem)
        with zipfile.ZipFile(path) as theirs, zipfile.ZipFile(made) as ours:
            assert sorted(theirs.namelist()) == sorted(ours.namelist())
            assert theirs.read(f"{path.stem}.json") == ours.read(f"{path.stem}.json")
            for video in (n for n in theirs.namelist() if n.endswith(".mp4")):
                assert np.array_equal(make_golden.video_frames(theirs.read(video)),
                                      make_golden.video_frames(ours.read(video)))


def test_the_official_client_sends_the_same_requests_and_gets_the_same_answers():
    """Our client through the calls the official one made against a fresh fake: request for
    request, answer for answer, the same."""
    from test_api_newer import OFFICIAL_CALLS, TOKEN

    from fastlabel_formats_api import Client
    from fastlabel_formats_api.testing import FakeFastLabel

    golden = json.loads(make_golden.CLIENT.read_text())
    assert golden["calls"] == len(OFFICIAL_CALLS)
    with FakeFastLabel(token=TOKEN) as server:
        server.state.projects.add({"id": "p1", "type": "image_bbox", "slug": "cats", "name": "Cats"})
        client, answers = Client(TOKEN, base_url=server.url), []
        for name, args, kwargs in OFFICIAL_CALLS:
            args, kwargs = (value(answers) if callable(value) else value for value in (args, kwargs))
            answers.append(getattr(client, name)(*args, **kwargs))
        requests = [[e.method, e.path, e.query, e.payload] for e in server.log]
    assert json.loads(json.dumps(requests)) == golden["requests"]
    assert json.loads(json.dumps(make_golden.timeless(answers))) == golden["answers"]
