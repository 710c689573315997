"""The Client against the fake server: the generated task families, wire requests, exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

import fastlabel_formats as core
from fastlabel_formats_api import Client, FastLabelInvalidException
from fastlabel_formats_api.client import TASK_KINDS
from fastlabel_formats_api.testing import FakeFastLabel

TOKEN = "client-test-token"


@pytest.fixture
def fake():
    with FakeFastLabel(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(fake):
    return Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)


@pytest.mark.parametrize("kind", TASK_KINDS, ids=lambda k: k.name)
def test_every_task_kind_family_sends_the_contract_request(fake, client, kind):
    fake.tasks[kind.path].extend({"id": f"t{i}", "name": f"n{i}", "project": "p", "status": "registered",
                                  "tags": ["a"]} for i in range(3))
    assert getattr(client, f"find_{kind.name}_task")("t1")["name"] == "n1"
    assert fake.log[-1].method == "GET" and fake.log[-1].path == f"{kind.path}/t1"
    rows = getattr(client, f"get_{kind.name}_tasks")("p", status="registered", tags=["a", "b"], offset=0)
    assert [t["id"] for t in rows] == ["t0", "t1", "t2"]
    # offset=0 is not sent, as the official client (robotics: offset and limit always are)
    offset = {"offset": ["0"]} if kind.page_always else {}
    assert fake.log[-1].query == {"project": ["p"], "status": ["registered"], "tags": ["a", "b"],
                                  "limit": [str(kind.limit)], **offset}
    assert getattr(client, f"find_{kind.name}_task_by_name")("p", "n2")["id"] == "t2"
    assert fake.log[-1].query == {"project": ["p"], "taskName": ["n2"], "limit": [str(kind.limit)], **offset}
    assert getattr(client, f"find_{kind.name}_task_by_name")("p", "missing") is None
    if kind.max_limit is not None:
        with pytest.raises(FastLabelInvalidException, match=f"Limit must be less than or equal to {kind.max_limit}."):
            getattr(client, f"get_{kind.name}_tasks")("p", limit=kind.max_limit + 1)


def test_iter_pages_until_the_end(fake, client):
    fake.tasks["tasks/video"].extend({"id": f"v{i}", "name": f"v{i}.mp4", "project": "p"} for i in range(23))
    assert [t["id"] for t in client.iter_video_tasks("p")] == [f"v{i}" for i in range(23)]
    pages = [entry.query.get("offset", ["0"])[0] for entry in fake.log if entry.path == "tasks/video"]
    assert pages == ["0", "10", "20"]


def test_unknown_keyword_arguments_are_type_errors(client, tmp_path):
    with pytest.raises(TypeError, match="priority"):
        client.get_image_tasks("p", priority=10)
    image = tmp_path / "a.png"
    Image.new("RGB", (4, 3)).save(image)
    with pytest.raises(TypeError, match="unexpected keyword argument.*asignee"):
        client.create_image_task("p", "a.png", str(image), asignee="me")


def test_create_image_task_checks_and_payload(fake, client, tmp_path):
    with pytest.raises(FastLabelInvalidException, match="Supported extensions are png, jpg, jpeg."):
        client.create_image_task("p", "a.gif", str(tmp_path / "a.gif"))
    image = tmp_path / "a.png"
    Image.new("RGB", (40, 30)).save(image)
    annotation = {"type": "bbox", "value": "cat", "title": "Cat", "color": "#f00", "points": [1, 2, 3, 4],
                  "attributes": [{"key": "k", "value": 1, "name": "K", "type": "text"}]}
    task_id = client.create_image_task("p", "a.png", str(image), annotations=[annotation], priority=0,
                                       assignee="alice")
    sent = fake.log[-1].payload
    assert sent["annotations"] == [{"type": "bbox", "value": "cat", "points": [1, 2, 3, 4],
                                    "attributes": [{"key": "k", "value": 1}], "content": "a.png"}]
    assert sent["priority"] == 0 and sent["assignee"] == "alice" and "status" not in sent
    assert annotation["title"] == "Cat"  # the caller's annotation is not edited
    assert client.find_image_task(task_id)["width"] == 40


def test_end_to_end_project_tasks_and_exports_equal_the_core(fake, client, tmp_path):
    client.create_project(type="image_bbox", name="Cats", slug="cats")
    image = tmp_path / "img.png"
    Image.new("RGB", (64, 48)).save(image)
    for number in range(50):
        boxes = [{"type": "bbox", "value": f"c{(number + k) % 3}", "points": [k, k, k + 10 + number % 7, k + 9],
                  "attributes": []} for k in range(3)]
        client.create_image_task("project-1", f"dir/{number:03d}.png", str(image), annotations=boxes)
    tasks = list(client.iter_image_tasks("project-1"))
    assert len(tasks) == 50 and tasks[0]["width"] == 64
    for name, export in (("coco", client.export_coco), ("yolo", client.export_yolo), ("voc", client.export_pascalvoc)):
        export("cats", tasks, output_dir=str(tmp_path / "client" / name))
    core.export_coco(tasks, tmp_path / "core/coco")
    core.export_yolo(tasks, tmp_path / "core/yolo")
    core.export_pascalvoc(tasks, tmp_path / "core/voc")
    for folder in ("coco", "yolo", "voc"):
        ours = {p.relative_to(tmp_path / "client" / folder): p.read_bytes()
                for p in (tmp_path / "client" / folder).rglob("*") if p.is_file()}
        direct = {p.relative_to(tmp_path / "core" / folder): p.read_bytes()
                  for p in (tmp_path / "core" / folder).rglob("*") if p.is_file()}
        assert ours == direct and ours
    with pytest.raises(FastLabelInvalidException, match="Project not found. Check the project slag."):
        client.export_yolo("dogs", tasks, output_dir=str(tmp_path / "x"))
    with pytest.raises(FastLabelInvalidException, match="Output file name must have a json extension"):
        client.export_coco("cats", tasks, output_file_name="coco.txt")


SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_project"
CLASSES = ["car", "donut", "lake", "person", "roof", "sign"]


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_local_exports_and_imports_equal_the_core_and_send_nothing(fake, client, tmp_path):
    tasks = json.loads((SAMPLE / "tasks.json").read_bytes())
    calls = [
        (lambda out: client.export_labelme(tasks, str(out)), lambda out: core.export_labelme(tasks, out)),
        (lambda out: client.export_instance_segmentation(tasks, str(out), start_index=0),
         lambda out: core.export_instance_segmentation(tasks, out, start_index=0)),
        (lambda out: client.export_semantic_segmentation(tasks, str(out), classes=CLASSES),
         lambda out: core.export_semantic_segmentation(tasks, out, classes=CLASSES)),
        (lambda out: client.export_image_with_annotations(tasks, str(SAMPLE / "images"), str(out)),
         lambda out: core.export_image_with_annotations(tasks, SAMPLE / "images", out)),
    ]
    for number, (ours, direct) in enumerate(calls):
        ours(tmp_path / f"client{number}")
        direct(tmp_path / f"core{number}")
        assert tree(tmp_path / f"client{number}") == tree(tmp_path / f"core{number}") != {}
    core.export_coco(tasks, tmp_path / "coco")
    core.export_yolo(tasks, tmp_path / "yolo")
    core.export_pascalvoc(tasks, tmp_path / "voc")
    coco = str(tmp_path / "coco/annotations.json")
    assert client.convert_coco_to_fastlabel(coco, "bbox") == core.coco_to_fastlabel(coco, "bbox")
    assert client.convert_coco_to_fastlabel(coco, None) == core.coco_to_fastlabel(coco)
    assert client.convert_labelme_to_fastlabel(str(tmp_path / "client0")) == core.labelme_to_fastlabel(
        tmp_path / "client0")
    assert client.convert_pascalvoc_to_fastlabel(str(tmp_path / "voc/annotations")) == \
        core.pascalvoc_to_fastlabel(tmp_path / "voc/annotations")
    shutil.copytree(SAMPLE / "images", tmp_path / "yolo" / "annotations", dirs_exist_ok=True)  # images by labels
    yolo = (str(tmp_path / "yolo/classes.txt"), str(tmp_path / "yolo"))
    assert client.convert_yolo_to_fastlabel(*yolo) == core.yolo_to_fastlabel(*yolo)  # seed-era two arguments
    assert client.convert_yolo_to_fastlabel(*yolo, "segmentation") == core.yolo_to_fastlabel(
        *yolo, project_type="segmentation")
    assert fake.log == []


def test_video_project_exports_fetch_each_task_video(fake, client, tmp_path):
    import cv2
    import numpy as np

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for frame in range(4):
        writer.write(np.full((24, 32, 3), 40 * frame, np.uint8))
    writer.release()
    client.create_project(type="video_bbox", name="Cars", slug="cars")
    url = fake.state.put_blob(video.read_bytes(), "clip.mp4")
    box = {"type": "bbox", "value": "car", "attributes": [],
           "points": {"2": {"value": [1, 1, 10, 10], "autogenerated": False}}}
    tasks = [{"id": "v1", "name": "clip.mp4", "url": url, "width": 32, "height": 24, "annotations": [box]}]
    client.export_coco("cars", tasks, output_dir=str(tmp_path / "ours"))
    core.export_coco(tasks, tmp_path / "direct", project_type="video_bbox", videos={"clip.mp4": video})
    assert tree(tmp_path / "ours") == tree(tmp_path / "direct")
    assert len([name for name in tree(tmp_path / "ours") if name.endswith(".jpg")]) == 4
    fetched = [entry for entry in fake.log if entry.path.startswith("storage/")]
    assert len(fetched) == 1 and "Authorization" not in fetched[0].headers


def test_the_pytest_fixture_and_the_standalone_server(fake_fastlabel):
    import socket
    import subprocess
    import sys

    plugin_client = Client("test-token", base_url=fake_fastlabel.url)
    assert plugin_client.find_project(plugin_client.create_project("image_bbox", "A", "a"))["slug"] == "a"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "fastlabel_formats_api.testing", "--port", str(port),
                               "--token", "t"], stdout=subprocess.PIPE, text=True)
    try:
        assert "fake FastLabel API at" in server.stdout.readline()
        standalone = Client("t", base_url=f"http://127.0.0.1:{port}/v1/")
        assert standalone.get_projects() == []
        with pytest.raises(FastLabelInvalidException, match="Unauthorized"):
            Client("wrong", base_url=f"http://127.0.0.1:{port}/v1/").get_projects()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_client_as_context_manager_and_the_fake_leaves_no_threads_behind():
    import threading

    before = threading.active_count()
    for _ in range(5):
        with FakeFastLabel(token=TOKEN) as server, Client(TOKEN, base_url=server.url) as client:
            assert client.get_projects() == []
    for _ in range(200):  # handler threads end as their connections are shut down
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.01)
    assert threading.active_count() <= before
