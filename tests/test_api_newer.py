"""The methods fastlabel 0.26.0 added (robotics and multi-modal tasks, task tags, comments,
workspace users and permissions, project members and metadata, appendix data, zip imports,
auto-annotation): their wire requests and the fake's state behind them."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from fastlabel_formats_api import Client, FastLabelInvalidException
from fastlabel_formats_api.testing import FakeFastLabel

TOKEN = "newer-token"


@pytest.fixture
def fake():
    with FakeFastLabel(token=TOKEN) as server:
        server.state.projects.add({"id": "p1", "type": "image_bbox", "slug": "cats", "name": "Cats"})
        yield server


@pytest.fixture
def client(fake):
    return Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)


def last(fake) -> tuple:
    entry = fake.log[-1]
    return entry.method, entry.path, entry.query, entry.payload


def test_robotics_tasks_are_a_task_kind_without_upload(fake, client):
    task_id = client.create_robotics_task("cats", "episode-1", priority=10, tags=["a"], operator="bob",
                                          assignee="alice")
    assert last(fake) == ("POST", "tasks/robotics", {}, {"project": "cats", "name": "episode-1", "priority": 10,
                                                         "tags": ["a"], "operator": "bob", "assignee": "alice"})
    assert client.find_robotics_task(task_id)["operator"] == "bob"
    assert client.find_robotics_task_by_name("cats", "episode-1")["id"] == task_id
    assert last(fake)[2] == {"project": ["cats"], "taskName": ["episode-1"], "offset": ["0"], "limit": ["100"]}
    client.update_robotics_task(task_id, annotations=[], operator="carol")
    assert last(fake)[3] == {"operator": "carol", "annotations": []}  # [] is sent: not None
    assert client.find_robotics_task(task_id)["operator"] == "carol"
    with pytest.raises(FastLabelInvalidException, match="less than or equal to 100"):
        client.get_robotics_tasks("cats", limit=101)


def test_multi_modal_video_audio_tasks_are_found_and_listed(fake, client):
    fake.tasks["tasks/multi-modal-video-audio"].append({"id": "m1", "name": "clip", "project": "cats"})
    assert client.find_multi_modal_video_audio_task("m1")["name"] == "clip"
    assert [t["id"] for t in client.get_multi_modal_video_audio_tasks("cats")] == ["m1"]
    with pytest.raises(FastLabelInvalidException, match="less than or equal to 10"):
        client.get_multi_modal_video_audio_tasks("cats", limit=11)


def test_task_tags_are_added_and_removed_in_chunks(fake, client):
    ids = [client.create_robotics_task("cats", f"e{n}") for n in range(3)]
    assert client.add_task_tags("cats", [*ids, ids[0]], ["x", "y"]) == 3
    assert last(fake)[3] == {"project": "cats", "taskIds": ids, "tags": ["x", "y"]}  # duplicates sent once
    assert client.remove_task_tags("cats", ids[:1], ["x"]) == 1
    assert client.find_robotics_task(ids[0])["tags"] == ["y"]
    with pytest.raises(FastLabelInvalidException, match="Task ids must not be empty."):
        client.add_task_tags("cats", [], ["x"])


def test_comments_and_their_threads(fake, client):
    task_id = client.create_robotics_task("cats", "e1")
    comment = client.create_task_comment(task_id=task_id, points=[1, 2], text="look", priority=10)
    assert last(fake)[3] == {"taskId": task_id, "points": [1, 2], "text": "look", "type": "text",
                             "isResolved": False, "scale": 0, "frame": 0, "priority": 10}
    reply = client.create_task_comment(comment_id=comment["id"], text="seen")
    assert last(fake)[:2] == ("POST", f"comments/{comment['id']}/threads")
    (listed,) = client.get_task_comments("cats", task_id)
    assert [t["text"] for t in listed["threads"]] == ["look", "seen"]
    client.update_task_comment(reply["id"], "fixed")
    assert [t["text"] for t in client.get_project_comments("cats", status="registered")] == ["look", "fixed"]
    assert last(fake)[2]["taskStatus"] == ["registered"]
    assert client.delete_task_comment(reply["id"]) is None
    assert len(client.get_task_comments("cats", task_id)[0]["threads"]) == 1
    with pytest.raises(FastLabelInvalidException, match="either content_name or content_id"):
        client.create_task_comment(task_id=task_id, content_name="a", content_id="b")


def test_workspace_users_permissions_and_project_members(fake, client):
    user = client.create_workspace_user("Ann", "ann@example.com", "en", "member")
    assert user["email"] == "ann@example.com"
    assert client.update_workspace_user("ann@example.com", "admin")["role"] == "admin"
    assert [u["name"] for u in client.get_workspace_users(keyword="ann")] == ["Ann"]
    client.create_workspace_user_module_permissions("ann@example.com", ["annotation", "modelDev"])
    assert [e.path for e in fake.log[-2:]] == ["function-resource-permissions/annotation/internal-users",
                                               "function-resource-permissions/model-dev/internal-users"]
    assert fake.state.permissions == {("ann@example.com", "annotation"), ("ann@example.com", "modelDev")}
    client.delete_workspace_user_module_permissions("ann@example.com", "annotation")
    assert last(fake) == ("DELETE", "function-resource-permissions", {},
                          {"email": "ann@example.com", "resource": "annotation"})
    assert client.update_project_user_permission("cats", "ann@example.com", "manager") is True
    assert client.delete_workspace_user("ann@example.com") is None
    assert last(fake)[3] == {"email": "ann@example.com", "role": "none"}
    assert client.get_workspace_users() == [] and fake.state.permissions == set()
    with pytest.raises(FastLabelInvalidException, match="module must be one of"):
        client.create_workspace_user_module_permissions("ann@example.com", "billing")


def test_project_maps_metadata_and_task_metadata(fake, client):
    assert client.get_project_id_slug_map() == {"p1": "cats"}
    assert client.update_project_metadata("p1", "A", None, "C") == "p1"
    assert last(fake)[3] == {"externalCode1": "A", "externalCode2": None, "externalCode3": "C"}
    client.create_robotics_task("cats", "e1", metadatas=[{"key": "k", "value": "v"}])
    assert client.get_metadatas("cats")[0]["metadatas"] == [{"key": "k", "value": "v"}]
    assert last(fake)[2] == {"project": ["cats"], "limit": ["100"]}


def _zip(tmp_path, files: dict[str, bytes]) -> str:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path = tmp_path / "contents.zip"
    path.write_bytes(stream.getvalue())
    return str(path)


def test_zip_imports_go_through_signed_urls(fake, client, tmp_path):
    client.create_robotics_task("cats", "e1")
    history = client.import_robotics_contents_file("cats", _zip(tmp_path, {"e1/cam.mp4": b"v", "e1/joints.csv": b"j"}))
    assert history[0]["status"] == "completed"
    assert [e.path.split("/")[0] for e in fake.log[-3:]] == ["files", "storage", "contents"]
    assert [c["name"] for c in client.find_robotics_task_by_name("cats", "e1")["contents"]] == ["e1/cam.mp4",
                                                                                                 "e1/joints.csv"]
    client.import_appendix_file("cats", _zip(tmp_path, {"e1.json": json.dumps({"speed": 3}).encode()}))
    assert client.get_appendix_data("cats") == client.get_task_appendix_data("cats", task_name="e1")
    assert client.get_task_appendix_data("cats", task_name="e1")[0]["data"] == {"speed": 3}
    with pytest.raises(FastLabelInvalidException, match="Supported extensions are zip."):
        client.import_appendix_file("cats", str(tmp_path / "a.tar"))


def test_auto_annotation_jobs_and_annotation_max_area_count(fake, client):
    job = client.execute_auto_annotation_job("cats", "detector", use_tta=True)
    assert last(fake)[3] == {"project": "cats", "modelName": "detector", "updateExisting": False,
                             "confidenceThreshold": 0.4, "useTTA": True, "useFlip": False, "processingSpeed": "low",
                             "autoCreation": True}
    assert [j["id"] for j in client.get_auto_annotation_jobs("cats")] == [job]
    with pytest.raises(FastLabelInvalidException, match="Project is required."):
        client.get_auto_annotation_jobs(None)
    client.create_annotation("cats", "bbox", "cat", "Cat")
    assert "maxAreaCount" not in last(fake)[3]
    annotation = client.create_annotation("cats", "bbox", "dog", "Dog", max_area_count=None)
    assert last(fake)[3]["maxAreaCount"] is None  # passed, so sent, even None (the official _UNSET rule)
    client.update_annotation(annotation, max_area_count=3)
    assert last(fake)[3] == {"maxAreaCount": 3}


def test_mask_to_fastlabel_segmentation_points_calls_the_core(client, tmp_path):
    from PIL import Image

    import fastlabel_formats as core

    mask = np.zeros((12, 16), np.uint8)
    mask[2:9, 3:11] = 255
    mask[4:6, 5:7] = 0
    points = client.mask_to_fastlabel_segmentation_points(mask)
    assert points == core.mask_to_segmentation(mask > 0)
    task = {"name": "m.png", "width": 16, "height": 12, "annotations": [
        {"type": "segmentation", "value": "s", "points": points}]}
    assert np.array_equal(core.render_instance_mask(task) > 0, mask > 0)  # the same pixels again
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert client.mask_to_fastlabel_segmentation_points(str(tmp_path / "m.png")) == points


OFFICIAL_CALLS = [
    ("create_robotics_task", ("cats", "e1"), {"priority": 10, "tags": ["a"], "operator": "bob", "assignee": "al"}),
    ("get_robotics_tasks", ("cats",), {"task_name": "e1"}),
    ("add_task_tags", lambda got: ("cats", [got[0]], ["x"]), {}),
    ("create_task_comment", (), lambda got: {"task_id": got[0], "points": [1, 2], "text": "look", "priority": 10}),
    ("get_task_comments", lambda got: ("cats", got[0]), {}),
    ("get_project_comments", ("cats",), {"status": "registered", "tags": ["x"]}),
    ("create_workspace_user", ("Ann", "ann@example.com", "en", "member"), {}),
    ("update_workspace_user", ("ann@example.com", "admin"), {}),
    ("get_workspace_users", (), {"keyword": "Ann"}),
    ("create_workspace_user_module_permissions", ("ann@example.com", ["annotation", "modelDev"]), {}),
    ("delete_workspace_user_module_permissions", ("ann@example.com", "dataset"), {}),
    ("update_project_user_permission", ("cats", "ann@example.com", "manager"), {}),
    ("delete_workspace_user", ("ann@example.com",), {}),
    ("get_project_id_slug_map", (), {}),
    ("update_project_metadata", ("p1", "A", None, "C"), {}),
    ("get_metadatas", ("cats",), {}),
    ("get_appendix_data", ("cats",), {"task_name": "e1"}),
    ("get_task_appendix_data", ("cats",), {}),
    ("execute_auto_annotation_job", ("cats", "detector"), {"use_tta": True}),
    ("get_auto_annotation_jobs", ("cats",), {}),
    ("create_annotation", ("cats", "bbox", "dog", "Dog"), {"max_area_count": None}),
    ("update_annotation", lambda got: (got[-1],), {"max_area_count": 3}),
]


def test_eight_threads_sharing_one_client_lose_and_duplicate_nothing(fake, client):
    import concurrent.futures

    def work(thread: int) -> list[str]:
        ids = []
        for number in range(100):
            if number % 4 == 3:
                client.add_task_tags("cats", ids[-1:], [f"t{thread}"])
            else:
                ids.append(client.create_robotics_task("cats", f"{thread}-{number}"))
        return ids

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        created = [task_id for ids in pool.map(work, range(8)) for task_id in ids]
    assert len(created) == len(set(created)) == 8 * 75
    assert client.count_tasks("cats") == 600
    names = [t["name"] for t in client.iter_robotics_tasks("cats")]
    assert sorted(names) == sorted(f"{t}-{n}" for t in range(8) for n in range(100) if n % 4 != 3)
    tagged = [t for t in fake.tasks["tasks/robotics"] if t["tags"]]
    assert len(tagged) == 8 * 25 and all(t["tags"] == [f"t{t['name'].split('-')[0]}"] for t in tagged)
