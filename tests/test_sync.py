"""``pull`` and ``push`` end to end against the fake FastLabel server: a project of 50 image tasks
becomes the same files as the core's export of those tasks (images byte-identical), a COCO file
pushed into a new project comes back as it was read, an interrupted push continues on rerun, and
429s are absorbed."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

import fastlabel_formats as ff
from fastlabel_formats_api import Client
from fastlabel_formats_api.cli import main
from fastlabel_formats_api.sync import same_annotations
from fastlabel_formats_api.testing import FakeFastLabel

TOKEN = "sync-token"
CLASSES = [("bbox", "cat"), ("polygon", "dog"), ("segmentation", "road")]


def _image(number: int) -> bytes:
    image = Image.new("RGB", (40 + number % 7, 30 + number % 5), (number * 5 % 256, 80, 160))
    stream = io.BytesIO()
    image.save(stream, format="PNG")
    return stream.getvalue()


def _annotations(number: int) -> list[dict]:
    outer, hole = [2, 2, 30, 2, 30, 25, 2, 25, 2, 2], [10, 10, 20, 10, 20, 20, 10, 20, 10, 10]
    return [{"type": "bbox", "value": "cat", "points": [1, 1, 10 + number % 9, 12],
             "attributes": [{"key": "occluded", "value": number % 2 == 0}]},
            {"type": "polygon", "value": "dog", "points": [3, 3, 20, 4, 12, 18 + number % 4]},
            {"type": "segmentation", "value": "road", "points": [[outer, hole]] if number % 3 else [[outer]]}]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fake server with project ``cats`` of 50 image tasks; the environment points at it."""
    with FakeFastLabel(token=TOKEN) as fake:
        monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("FASTLABEL_API_URL", fake.url)
        client = Client(TOKEN, base_url=fake.url)
        client.create_project("image_all", "Cats", "cats")
        for kind, value in CLASSES:
            client.create_annotation("cats", kind, value, value)
        source = tmp_path / "source"
        source.mkdir()
        for number in range(50):
            name = f"{'train' if number % 5 else 'val'}/img{number:02d}.png"
            (source / name).parent.mkdir(exist_ok=True)
            (source / name).write_bytes(_image(number))
            client.create_image_task("cats", name, str(source / name), annotations=_annotations(number))
        yield fake, client, source


def test_pull_writes_what_the_core_writes_and_the_images_as_they_are(project, tmp_path):
    fake, client, source = project
    out = tmp_path / "dataset"
    assert main(["pull", "cats", "-o", str(out), "--to", "coco,yolo", "--images", "--layout", "ultralytics"]) == 0
    tasks = client.get_image_tasks("cats", limit=1000)
    assert len(tasks) == 50
    for task in tasks:
        uploaded = client.api.download(task["url"], tmp_path / "check.png").read_bytes()
        assert uploaded == (source / task["name"]).read_bytes()
    direct = tmp_path / "direct"
    options = ff.TargetOptions(project_type="image_all", annotations=client.get_annotations("cats", limit=100),
                               layout="ultralytics", image_dir=str(out / "images"))
    ff.export_targets(tasks, {"coco": direct / "coco", "yolo": direct / "yolo"}, options)
    ours = sorted(p.relative_to(out) for p in out.rglob("*")
                  if p.is_file() and p.relative_to(out).parts[0] != "images")
    theirs = sorted(p.relative_to(direct) for p in direct.rglob("*") if p.is_file())
    assert ours == theirs and len(ours) > 100
    for relative in ours:
        mine, core = (out / relative).read_bytes(), (direct / relative).read_bytes()
        assert mine.replace(str(out).encode(), b"ROOT") == core.replace(str(direct).encode(), b"ROOT"), relative
    again = tmp_path / "again.log"
    downloads = sum(1 for entry in fake.log if entry.path.startswith("storage/"))
    assert main(["pull", "cats", "-o", str(out), "--to", "coco", "--images", "--overwrite",
                 "--report-json", str(again)]) == 0
    assert sum(1 for entry in fake.log if entry.path.startswith("storage/")) == downloads + 50  # asked, kept
    assert json.loads(again.read_text())["exit_code"] == 0


def test_pull_filters_by_status_and_absorbs_429s(project, tmp_path, capsys):
    fake, client, _ = project
    first = client.get_image_tasks("cats", limit=3)
    for task in first:
        client.update_image_task(task["id"], status="completed")
    fake.inject(times=3, status=429, retry_after="0")
    assert main(["pull", "cats", "-o", str(tmp_path / "done"), "--to", "coco", "--status", "completed"]) == 0
    coco = json.loads((tmp_path / "done" / "coco" / "annotations.json").read_text())
    assert sorted(image["file_name"] for image in coco["images"]) == sorted(task["name"] for task in first)
    assert "pull: 3 tasks" in capsys.readouterr().out


def test_push_a_coco_file_into_a_new_project_gives_the_same_annotations_back(project, tmp_path, capsys):
    fake, client, source = project
    out = tmp_path / "dataset"
    assert main(["pull", "cats", "-o", str(out), "--to", "coco", "--images"]) == 0
    client.create_project("image_all", "Copy", "copy")
    coco_file = out / "coco" / "annotations.json"
    assert main(["push", str(coco_file), "--project", "copy", "--images", str(out / "images")]) == 2
    assert "3 annotation class(es) are not in project 'copy'" in capsys.readouterr().err
    assert not client.get_image_tasks("copy")  # refused before anything was sent
    fake.inject(times=4, status=429, retry_after="0", method="POST", path="tasks/image")
    assert main(["push", str(coco_file), "--project", "copy", "--images", str(out / "images"),
                 "--create-classes"]) == 0
    assert "push: 50 created" in capsys.readouterr().out
    read = {task["name"]: task["annotations"] for task in ff.coco_tasks(coco_file)}
    pushed = client.get_image_tasks("copy", limit=1000)
    assert sorted(task["name"] for task in pushed) == sorted(read)
    for task in pushed:
        assert same_annotations(task["annotations"], read[task["name"]]), task["name"]
        assert (out / "images" / task["name"]).read_bytes() == (source / task["name"]).read_bytes()


def test_an_interrupted_push_continues_where_it_stopped(project, tmp_path, capsys, monkeypatch):
    fake, client, source = project
    tasks = client.get_image_tasks("cats", limit=1000)
    dataset = tmp_path / "tasks.json"
    dataset.write_text(json.dumps(tasks))
    client.create_project("image_all", "Copy", "copy")
    original = Client.create_image_task
    made = []

    def counting(self, *args, **kwargs):
        made.append(args[1])
        if len(made) == 21:
            fake.inject(times=30, status=503, method="POST", path="tasks/image")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Client, "create_image_task", counting)  # creates 21..50 get 503 (a POST is not retried)
    arguments = ["push", str(dataset), "--project", "copy", "--images", str(source), "--create-classes",
                 "--threads", "1"]
    assert main(arguments) == 1
    assert len(client.get_image_tasks("copy", limit=1000)) == 20
    assert "30 task(s) failed" in capsys.readouterr().err
    fake._faults.clear()
    assert main(arguments) == 0
    assert "20 unchanged, 30 created" in capsys.readouterr().out
    names = [task["name"] for task in client.get_image_tasks("copy", limit=1000)]
    assert len(names) == 50 == len(set(names))
    changed = [{**task, "annotations": task["annotations"][:1]} for task in tasks[:5]]
    dataset.write_text(json.dumps(changed))
    assert main(arguments) == 0
    assert "5 skipped (exists with other annotations; give --update)" in capsys.readouterr().out
    assert main([*arguments, "--update"]) == 0
    assert "5 updated" in capsys.readouterr().out
    assert all(len(task["annotations"]) == 1 for task in client.get_image_tasks("copy", limit=1000)
               if task["name"] in {t["name"] for t in changed})


def test_the_api_package_runs_the_whole_command_line():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "fastlabel_formats_api", "push", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "--create-classes" in result.stdout


def test_pull_and_push_mistakes_are_messages(project, tmp_path, capsys, monkeypatch):
    assert main(["pull", "nope", "-o", str(tmp_path / "x")]) == 2
    assert "project 'nope' not found" in capsys.readouterr().err
    assert main(["pull", "cats", "-o", str(tmp_path / "x"), "--to", "cocoa"]) == 2
    assert "unknown target 'cocoa'" in capsys.readouterr().err
    monkeypatch.delenv("FASTLABEL_ACCESS_TOKEN")
    assert main(["pull", "cats", "-o", str(tmp_path / "x")]) == 2
    assert "FASTLABEL_ACCESS_TOKEN" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x")
    monkeypatch.setenv("FASTLABEL_ACCESS_TOKEN", TOKEN)
    (tmp_path / "y" / "coco").mkdir(parents=True)
    (tmp_path / "y" / "coco" / "old.json").write_text("{}")
    assert main(["pull", "cats", "-o", str(tmp_path / "y"), "--images"]) == 2  # the export refuses: fetching stops
    assert "is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "y" / "coco").iterdir()) == ["old.json"]


def test_pull_into_the_ultralytics_layout_links_every_image_when_files_arrive_late(project, tmp_path):
    """Files answered 0–40 ms late, out of order: every image is linked beside its label, 5 of 5 runs."""
    fake, client, source = project
    fake.file_delay = (0.0, 0.04)
    for run in range(5):
        out = tmp_path / f"run{run}"
        assert main(["pull", "cats", "-o", str(out), "--to", "yolo", "--images", "--layout", "ultralytics",
                     "--threads", "8"]) == 0
        labels = sorted(p.relative_to(out / "yolo" / "labels") for p in (out / "yolo" / "labels").rglob("*.txt"))
        links = sorted(p.relative_to(out / "yolo" / "images") for p in (out / "yolo" / "images").rglob("*.png"))
        assert len(labels) == 50 and [p.with_suffix("") for p in links] == [p.with_suffix("") for p in labels]
        for link in links:
            image = out / "yolo" / "images" / link
            assert image.read_bytes() == (source / link.parts[0] / link.name).read_bytes(), link
