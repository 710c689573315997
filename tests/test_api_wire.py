"""Every one of the 126 methods of api-contract.md §2, called against the fake over HTTP.

Each row says what the contract says: verb, path, query, JSON keys (or the exact body) and what
the call returns. The task-kind rows come from this file's own table of the contract's kinds.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fastlabel_formats_api.wire
from fastlabel_formats_api import Client, FastLabelInvalidException
from fastlabel_formats_api.testing import FakeFastLabel

TOKEN = "wire-token"
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "api-contract.md"

# name, path, default limit, upload argument, file of that kind, annotation content on create / update
KINDS = [
    ("image", "tasks/image", 100, "file", "a.png", "name", ""),
    ("image_classification", "tasks/image/classification", 100, "file", "a.png", None, None),
    ("multi_image_classification", "tasks/multi-image/classification", 100, "contents", "images", None, None),
    ("sequential_image", "tasks/sequential-image", 10, "contents", "images", "keep", "keep"),
    ("video", "tasks/video", 10, "file", "a.mp4", "name", ""),
    ("video_classification", "tasks/video/classification", 100, "file", "a.mp4", None, None),
    ("text", "tasks/text", 100, "file", "a.txt", "name", ""),
    ("text_classification", "tasks/text/classification", 100, "file", "a.txt", None, None),
    ("audio", "tasks/audio", 100, "file", "a.mp3", "name", ""),
    ("audio_classification", "tasks/audio/classification", 100, "file", "a.mp3", None, None),
    ("pcd", "tasks/pcd", 100, "file", "a.pcd", "name", ""),
    ("sequential_pcd", "tasks/sequential-pcd", 10, "contents", "clouds", "keep", ""),
    ("dicom", "tasks/dicom", 100, None, "a.zip", None, None),
]
ANNOTATION = {"type": "bbox", "value": "cat", "title": "Cat", "color": "#f00", "points": [1, 2, 3, 4],
              "content": "f.png", "attributes": [{"key": "k", "value": 1, "name": "K", "type": "text"}]}
ATTRIBUTE = {"key": "k", "value": "v", "title": "K", "name": "K", "type": "text"}


@dataclass
class Row:
    method: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    verb: str = "GET"
    path: str = ""
    query: dict | None = None  # exact, as parse_qs gives it
    body: dict | None = None  # exact JSON body
    keys: set | None = None  # exact JSON keys (uploads: base64 not compared)
    returns: object = "any"  # a value, a type, or a callable
    content: object = None  # annotation content rule of task creates/updates: "name", "", "keep"


def is_task_id(value: object) -> bool:
    return isinstance(value, str) and value.startswith("task-")


def kind_rows() -> list[Row]:
    rows = []
    for name, path, limit, upload, source, create_content, update_content in KINDS:
        listed = {"project": ["p1"], "limit": [str(limit)]}
        rows += [
            Row(f"find_{name}_task", (f"{name}-1",), path=f"{path}/{name}-1", query={},
                returns=lambda task, n=name: task["id"] == f"{n}-1"),
            Row(f"get_{name}_tasks", ("p1",), {"tags": ["t"], "status": "registered", "offset": 0}, path=path,
                query={**listed, "tags": ["t"], "status": ["registered"]}, returns=lambda rows: len(rows) == 1),
            Row(f"find_{name}_task_by_name", ("p1", "a.png"), path=path, query={**listed, "taskName": ["a.png"]},
                returns=lambda task: task["name"] == "a.png"),
        ]
        classification = create_content is None and name != "dicom"
        content_key = "attributes" if classification else "annotations"
        update_kwargs = {"status": "completed", "priority": 0, "tags": ["x"],
                         content_key: [ATTRIBUTE] if classification else [ANNOTATION]}
        update_keys = {"status", "priority", "tags", content_key}
        if name == "dicom":
            update_kwargs = {"status": "completed", "tags": ["x"], "metadatas": [{"key": "k", "value": 1}]}
            update_keys = {"status", "tags", "metadatas"}
        rows.append(Row(f"update_{name}_task", (f"{name}-1",), {**update_kwargs, "assignee": "alice"}, "PUT",
                        f"{path}/{name}-1", keys=update_keys | {"assignee"}, returns=f"{name}-1"))
        rows[-1].content = update_content
        if upload:
            kwargs = {"tags": ["x"], content_key: [ATTRIBUTE] if classification else [ANNOTATION]}
            rows.append(Row(f"create_{name}_task", ("p1", "new", source), kwargs, "POST", path,
                            keys={"project", "name", upload, "tags", content_key}, returns=is_task_id))
            rows[-1].content = create_content
    return rows


def other_rows() -> list[Row]:
    dataset_object_query = {"datasetName": ["ds"], "offset": ["0"], "limit": ["1000"]}
    return [
        Row("create_integrated_image_task", ("p1", "gcp", "bucket/x.jpg"), {"annotations": [ANNOTATION]}, "POST",
            "tasks/integrated-image", keys={"project", "storageType", "filePath", "annotations"}, returns=is_task_id),
        Row("create_integrated_image_classification_task", ("p1", "bucket/x.jpg", "gcp"),
            {"attributes": [ATTRIBUTE], "priority": 10}, "POST", "tasks/integrated-image/classification",
            body={"project": "p1", "filePath": "bucket/x.jpg", "storageType": "gcp", "priority": 10,
                  "attributes": [{"key": "k", "value": "v"}]}, returns=is_task_id),
        *(Row(f"find_integrated_{m}_task_by_prefix", ("p1", "a"), path=f"tasks/integrate/{m}s",
              query={"project": ["p1"], "prefix": ["a"]},
              returns=lambda t, e=e: t["name"] == f"a.{e}" and len(t["annotations"]) == 1)
          for m, e in (("image", "png"), ("video", "mp4"), ("audio", "mp3"))),
        Row("update_task", ("image-1",), {"priority": 30, "external_status": "approved", "workflow_2_user": "bob"},
            "PUT", "tasks/image-1", body={"priority": 30, "externalStatus": "approved", "workflow2User": "bob"},
            returns="image-1"),
        Row("delete_task", ("image-1",), verb="DELETE", path="tasks/image-1", returns=None),
        Row("delete_task_annotations", ("image-1",), verb="DELETE", path="tasks/image-1/task-annotations",
            returns=None),
        Row("get_task_id_name_map", ("p1",), path="tasks/map/id-name", query={"project": ["p1"], "limit": ["1000"]},
            returns=lambda m: m["image-1"] == "a.png"),
        Row("count_tasks", ("p1",), {"tags": ["t", "u"]}, path="tasks/count",
            query={"project": ["p1"], "tags": ["t", "u"]}, returns=len(KINDS)),
        Row("update_aws_s3_storage", ("cats", "bucket", "ap-northeast-1"), verb="PUT", path="storages/aws-s3/cats",
            body={"bucketName": "bucket", "bucketRegion": "ap-northeast-1"}, returns=dict),
        Row("create_task_from_aws_s3", ("p1",), verb="POST", path="tasks/aws-s3",
            body={"project": "p1", "status": "registered", "tags": [], "priority": 0},
            returns=lambda h: h["status"] == "completed"),
        Row("get_aws_s3_import_status_by_project", ("cats",), path="tasks/import/status/aws-s3/cats", query={},
            returns=dict),
        Row("find_history", ("h1",), path="tasks/import/histories/h1", query={}, returns=lambda h: h["id"] == "h1"),
        Row("get_histories", ("p1",), {"offset": 0}, path="tasks/import/histories",
            query={"project": ["p1"], "limit": ["100"]}, returns=lambda rows: [h["id"] for h in rows] == ["h1"]),
        Row("create_annotation", ("p1", "bbox", "dog", "Dog"), {"color": "#00FF00", "order": 0}, "POST",
            "annotations", body={"project": "p1", "type": "bbox", "value": "dog", "title": "Dog", "color": "#00FF00"},
            returns=lambda i: i.startswith("annotation-")),
        Row("create_classification_annotation", ("p1", [{"type": "text", "name": "N", "key": "n"}]),
            verb="POST", path="annotations/classification",
            body={"project": "p1", "attributes": [{"type": "text", "name": "N", "key": "n"}]}, returns=str),
        Row("find_annotation", ("a1",), path="annotations/a1", query={}, returns=lambda a: a["value"] == "cat"),
        Row("find_annotation_by_value", ("p1", "cat"), path="annotations",
            query={"project": ["p1"], "value": ["cat"], "limit": ["10"]}, returns=lambda a: a["id"] == "a1"),
        Row("get_annotations", ("p1",), path="annotations", query={"project": ["p1"], "limit": ["10"]},
            returns=lambda rows: len(rows) == 1),
        Row("update_annotation", ("a1",), {"title": "Kitty", "order": 2}, "PUT", "annotations/a1",
            body={"title": "Kitty", "order": 2}, returns="a1"),
        Row("update_classification_annotation", ("a1", [{"key": "n", "id": "x"}]), verb="PUT",
            path="annotations/classification/a1", body={"attributes": [{"key": "n", "id": "x"}]}, returns="a1"),
        Row("delete_annotation", ("a1",), verb="DELETE", path="annotations/a1", returns=None),
        Row("create_project", ("image_bbox", "Dogs", "dogs"), {"is_pixel": True}, "POST", "projects",
            body={"type": "image_bbox", "name": "Dogs", "slug": "dogs", "workflow": "two_step",
                  "externalWorkflow": "two_step", "isPixel": True, "jobSize": 10},
            returns=lambda i: i.startswith("project-")),
        Row("find_project", ("p1",), path="projects/p1", query={}, returns=lambda p: p["slug"] == "cats"),
        Row("find_project_by_slug", ("cats",), path="projects", query={"slug": ["cats"], "limit": ["100"]},
            returns=lambda p: p["id"] == "p1"),
        Row("get_projects", (), {"offset": 0}, path="projects", query={"limit": ["100"]}, returns=list),
        Row("update_project", ("p1",), {"name": "Cats 2", "job_size": 0}, "PUT", "projects/p1",
            body={"name": "Cats 2"}, returns="p1"),
        Row("delete_project", ("p1",), verb="DELETE", path="projects/p1", returns=None),
        Row("copy_project", ("p1",), {"project_slug": "cats-2"}, "POST", "projects/copy",
            body={"id": "p1", "slug": "cats-2"}, returns=lambda i: i.startswith("project-")),
        Row("get_tags", ("p1",), {"keyword": "t"}, path="tags",
            query={"project": ["p1"], "keyword": ["t"], "limit": ["100"]},
            returns=lambda rows: rows[0]["id"] == "tag1"),
        Row("delete_tags", (["tag1"],), verb="POST", path="tags/delete/multi", body={"tagIds": ["tag1"]},
            returns=None),
        Row("create_dataset", ("dogs",), {"visibility": "public"}, "POST", "datasets-v2",
            body={"name": "dogs", "visibility": "public"}, returns=lambda d: d["name"] == "dogs"),
        Row("find_dataset", ("d1",), path="datasets-v2/d1", query={}, returns=lambda d: d["name"] == "ds"),
        Row("get_datasets", (), {"keyword": "d", "tags": ["a", "b"]}, path="datasets-v2",
            query={"keyword": ["d"], "tags": ["a", "b"]}, returns=[]),
        Row("update_dataset", ("d1",), {"tags": []}, "PUT", "datasets-v2/d1", body={"name": None, "tags": []},
            returns=lambda d: d["name"] == "ds"),
        Row("delete_dataset", ("d1",), verb="DELETE", path="datasets-v2/d1", returns=None),
        Row("create_dataset_object", ("ds", "cats/b.png", "a.png"), {"tags": ["t"]}, "POST",
            "dataset-revision-objects", keys={"datasetName", "objectName", "filePath", "tags"},
            returns=lambda o: o["name"] == "cats/b.png" and o["width"] == 8),
        Row("find_dataset_object", ("d1", "x/y 1.png"), {"version": "v1"},
            path="dataset-revision-objects/datasets/d1/objects/x%2Fy%201.png", query={"version": ["v1"]},
            returns=lambda o: o["name"] == "x/y 1.png"),
        Row("get_dataset_objects", ("ds",), {"types": ["train"]}, path="dataset-revision-objects",
            query={**dataset_object_query, "types": ["train"]}, returns=lambda rows: len(rows) == 1),
        Row("download_dataset_objects", ("ds", "OUT"), {"types": ["train", "test"]},
            path="dataset-revision-objects/signed-urls", query={**dataset_object_query, "types": ["train", "test"]},
            returns=lambda items: [i["name"] for i in items] == ["x/y 1.png"]),
        Row("update_dataset_object", ("d1", "x/y 1.png"), {"tags": [], "custom_metadata": {"a": 1}}, "PUT",
            "dataset-revision-objects",
            body={"datasetId": "d1", "objectName": "x/y 1.png", "tags": [], "customMetadata": {"a": 1}},
            returns=lambda o: o["tags"] == [] and o["customMetadata"] == {"a": 1}),
        Row("delete_dataset_object", ("d1", "x/y 1.png"), verb="DELETE",
            path="dataset-revision-objects/datasets/d1/objects/x%2Fy%201.png", returns=None),
        Row("get_training_jobs", (), path="trainings", query={"limit": ["100"]}, returns=lambda rows: len(rows) == 1),
        Row("find_training_job", ("tr1",), path="trainings/tr1", query={}, returns=lambda j: j["epoch"] == 3),
        Row("execute_training_job", ("ds", "fastlabel_object_detection_light", 10), {"batch_size": 8}, "POST",
            "trainings", body={"datasetName": "ds", "baseModelName": "fastlabel_object_detection_light", "epoch": 10,
                               "useDatasetTrainVal": False, "instanceType": "ml.p3.2xlarge", "batchSize": 8},
            returns=lambda j: j["status"] == "in_progress"),
        Row("get_evaluation_jobs", (), path="evaluations", query={"limit": ["1000"]}, returns=list),
        Row("find_evaluation_job", ("ev1",), path="evaluations/ev1", query={}, returns=lambda j: j["id"] == "ev1"),
        Row("execute_evaluation_job", ("ds", "m"), {"batch_size": 4, "learning_rate": 0.1}, "POST", "evaluations",
            body={"modelName": "m", "datasetName": "ds", "iouThreshold": 0.5, "confidenceThreshold": 0.4,
                  "useDatasetTest": False}, returns=dict),
        Row("execute_endpoint", ("ep", "a.png"), verb="POST", path="model-endpoints/execute",
            keys={"modelEndpointName", "file"}, returns=lambda r: r["json"]["width"] == 8),
        Row("create_model_monitoring_request_results", ("m", [{"status": "success", "result": []}]), verb="POST",
            path="model-monitorings/create", body={"name": "m", "results": [{"status": "success", "result": []}]},
            returns=None),
    ]


ROWS = kind_rows() + other_rows()


def seed(fake: FakeFastLabel) -> None:
    state = fake.state
    state.projects.add({"id": "p1", "type": "image_bbox", "slug": "cats", "name": "Cats"})
    for name, path, *_ in KINDS:
        state.tasks[path].append({"id": f"{name}-1", "name": "a.png", "project": "p1", "status": "registered",
                                  "tags": ["t"], "annotations": [{"type": "bbox", "value": "cat"}]})
    pieces = {"tasks/image": ("a/1.png", {"width": 10, "height": 10},
                              {"type": "bbox", "value": "cat", "points": [1, 1, 5, 5]}),
              "tasks/video": ("a/1.mp4", {"frameCount": 3},
                              {"type": "bbox", "value": "cat", "points": {"1": {"value": [1, 1, 5, 5]}}}),
              "tasks/audio": ("a/1.mp3", {"duration": 2.0}, {"type": "segmentation", "value": "cat", "start": 0,
                                                             "end": 1})}
    for path, (name, sizes, annotation) in pieces.items():
        state.tasks[path].append({"id": f"piece-{path}", "name": name, "project": "p1", **sizes,
                                  "annotations": [annotation]})
    state.annotation_classes.add({"id": "a1", "project": "p1", "type": "bbox", "value": "cat", "title": "Cat"})
    state.tags.add({"id": "tag1", "project": "p1", "name": "t"})
    state.datasets.add({"id": "d1", "name": "ds", "tags": [], "visibility": "workspace"})
    state.objects.add({"_id": "o1", "_dataset": "d1", "_url": state.put_blob(b"pixels", "y 1.png"),
                       "name": "x/y 1.png", "type": "train", "tags": [], "annotations": [], "customMetadata": {}},
                      id_key="_id")
    state.histories.add({"id": "h1", "project": "p1", "storageType": "zip", "status": "completed"})
    state.jobs["trainings"].add({"trainingJobId": "tr1", "epoch": 3}, id_key="trainingJobId")
    state.jobs["evaluations"].add({"id": "ev1"})


@pytest.fixture
def files(tmp_path, monkeypatch):
    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    for name in ("a.mp4", "a.txt", "a.mp3", "a.pcd", "a.zip"):
        (tmp_path / name).write_bytes(b"content of " + name.encode())
    for folder, suffix in (("images", ".png"), ("clouds", ".pcd")):
        (tmp_path / folder).mkdir()
        for number in range(2):
            Image.new("L", (4, 4)).save(tmp_path / folder / f"{number}{suffix}", format="PNG")
    monkeypatch.chdir(tmp_path)
    # an H.264 mp4 cannot be written here; the real codec check is tested below
    monkeypatch.setattr(fastlabel_formats_api.wire, "video_codec", lambda path: "avc1")
    return tmp_path


# the 126 method names of api-contract.md §2 (checked against the file itself when it is beside the repo)
CONTRACT_METHODS = set("""
    convert_coco_to_fastlabel convert_labelme_to_fastlabel convert_pascalvoc_to_fastlabel
    convert_yolo_to_fastlabel copy_project count_tasks create_annotation create_audio_classification_task
    create_audio_task create_classification_annotation create_dataset create_dataset_object create_dicom_task
    create_image_classification_task create_image_task create_integrated_image_classification_task
    create_integrated_image_task create_model_monitoring_request_results
    create_multi_image_classification_task create_pcd_task create_project create_sequential_image_task
    create_sequential_pcd_task create_task_from_aws_s3 create_text_classification_task create_text_task
    create_video_classification_task create_video_task delete_annotation delete_dataset delete_dataset_object
    delete_project delete_tags delete_task delete_task_annotations download_dataset_objects execute_endpoint
    execute_evaluation_job execute_training_job export_coco export_image_with_annotations
    export_instance_segmentation export_labelme export_pascalvoc export_semantic_segmentation export_yolo
    find_annotation find_annotation_by_value find_audio_classification_task
    find_audio_classification_task_by_name find_audio_task find_audio_task_by_name find_dataset
    find_dataset_object find_dicom_task find_dicom_task_by_name find_evaluation_job find_history
    find_image_classification_task find_image_classification_task_by_name find_image_task
    find_image_task_by_name find_integrated_audio_task_by_prefix find_integrated_image_task_by_prefix
    find_integrated_video_task_by_prefix find_multi_image_classification_task
    find_multi_image_classification_task_by_name find_pcd_task find_pcd_task_by_name find_project
    find_project_by_slug find_sequential_image_task find_sequential_image_task_by_name
    find_sequential_pcd_task find_text_classification_task find_text_classification_task_by_name
    find_text_task find_text_task_by_name find_training_job find_video_classification_task
    find_video_classification_task_by_name find_video_task find_video_task_by_name get_annotations
    get_audio_classification_tasks get_audio_tasks get_aws_s3_import_status_by_project get_dataset_objects
    get_datasets get_dicom_tasks get_evaluation_jobs get_histories get_image_classification_tasks
    get_image_tasks get_multi_image_classification_tasks get_pcd_tasks get_projects get_sequential_image_tasks
    get_sequential_pcd_tasks get_tags get_task_id_name_map get_text_classification_tasks get_text_tasks
    get_training_jobs get_video_classification_tasks get_video_tasks update_annotation
    update_audio_classification_task update_audio_task update_aws_s3_storage update_classification_annotation
    update_dataset update_dataset_object update_dicom_task update_image_classification_task update_image_task
    update_multi_image_classification_task update_pcd_task update_project update_sequential_image_task
    update_sequential_pcd_task update_task update_text_classification_task update_text_task
    update_video_classification_task update_video_task
""".split())


def test_the_rows_cover_the_126_methods_of_the_contract():
    if CONTRACT.exists():
        text = CONTRACT.read_text()
        section = text[text.index("### 2.1 Image"):text.index("### 2.20")]
        assert set(re.findall(r"^\| `([a-z0-9_]+)\(", section, re.M)) == CONTRACT_METHODS
    local = {"export_coco", "export_yolo", "export_pascalvoc", "export_labelme", "export_instance_segmentation",
             "export_semantic_segmentation", "export_image_with_annotations", "convert_coco_to_fastlabel",
             "convert_labelme_to_fastlabel", "convert_pascalvoc_to_fastlabel", "convert_yolo_to_fastlabel"}
    rows = {row.method for row in ROWS} | {"create_dicom_task"}
    assert len(CONTRACT_METHODS) == 126
    assert CONTRACT_METHODS - local == rows - {"find_sequential_pcd_task_by_name"}  # beyond the seed README
    assert all(callable(getattr(Client, name)) for name in CONTRACT_METHODS)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.method)
def test_wire_request_and_return(row, files):
    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        client = Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)
        result = getattr(client, row.method)(*row.args, **row.kwargs)
        api_calls = [entry for entry in fake.log if not entry.path.startswith("storage/")]
    sent = api_calls[0]
    assert (sent.method, sent.path) == (row.verb, row.path)
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    if row.query is not None:
        assert sent.query == row.query
    if row.body is not None:
        assert sent.payload == row.body
    if row.keys is not None:
        assert set(sent.payload) == row.keys
    check_content(row, sent.payload)
    if callable(row.returns) and not isinstance(row.returns, type):
        assert row.returns(result), result
    elif isinstance(row.returns, type):
        assert isinstance(result, row.returns)
    elif row.returns != "any":
        assert result == row.returns


def check_content(row: Row, payload: object) -> None:
    """The ANN / ATTR rules: stripped copies, ``content`` per method; the caller's dicts untouched."""
    assert ANNOTATION["title"] == "Cat" and ATTRIBUTE["title"] == "K" and ANNOTATION["content"] == "f.png"
    if not isinstance(payload, dict):
        return
    for annotation in payload.get("annotations") or []:
        if "points" in annotation:
            assert set(annotation) == {"type", "value", "points", "attributes", "content"}
            assert annotation["attributes"] == [{"key": "k", "value": 1}]
            expected = {"name": "new", "": "", "keep": "f.png", None: "f.png"}.get(getattr(row, "content", None))
            if row.method == "create_integrated_image_task":
                expected = "bucket/x.jpg"
            assert annotation["content"] == expected
    if row.method not in ("create_classification_annotation", "update_classification_annotation"):
        for attribute in payload.get("attributes") or []:
            assert set(attribute) == {"key", "value"}
    if "file" in payload:
        assert base64.b64decode(payload["file"])
    for entry in payload.get("contents") or []:
        assert set(entry) == {"name", "file"}


def test_dicom_goes_through_a_signed_url_upload(files):
    with FakeFastLabel(token=TOKEN) as fake:
        client = Client(TOKEN, base_url=fake.url)
        history = client.create_dicom_task("p1", "a.zip", tags=["t"], approver="carol")
        first, upload, create = fake.log
        uploaded = fake.blobs[create.payload["fileKey"]]
    assert (first.method, first.path) == ("GET", "files")
    assert first.query == {"project": ["p1"], "fileName": ["a.zip"], "fileType": ["application/zip"]}
    assert upload.method == "PUT" and upload.path.startswith("storage/uploads/")
    assert "Authorization" not in upload.headers and b'filename="a.zip"' in upload.payload
    assert (create.method, create.path) == ("POST", "tasks/dicom")
    assert set(create.payload) == {"project", "tags", "fileKey", "approver"}
    assert uploaded == b"content of a.zip" and history["storageType"] == "zip"


def test_download_dataset_objects_writes_files_and_appends_annotations(files):
    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        client = Client(TOKEN, base_url=fake.url)
        client.create_dataset_object("ds", "b.png", "a.png", annotations=[{"type": "bbox", "value": "cat"}])
        items = client.download_dataset_objects("ds", "out")
        again = client.download_dataset_objects("ds", "out", types=["train"])
    assert (files / "out/x/y 1.png").read_bytes() == b"pixels"
    assert (files / "out/b.png").read_bytes() == (files / "a.png").read_bytes()
    listed = json.loads((files / "out/annotations.json").read_text())
    assert [entry["name"] for entry in listed] == ["x/y 1.png", "b.png"] and len(items) == 2
    assert listed[1]["annotations"] == [{"type": "bbox", "value": "cat"}] and listed[0]["object_type"] == "train"
    assert [item["name"] for item in again] == ["x/y 1.png"] and (files / "out/train/x/y 1.png").exists()
    downloads = [entry for entry in fake.log if entry.path.startswith("storage/")]
    assert downloads and all("Authorization" not in entry.headers for entry in downloads)


def test_download_refuses_names_that_leave_the_folder(files):
    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        fake.objects.rows[0]["name"] = "../escape.png"
        client = Client(TOKEN, base_url=fake.url)
        with pytest.raises(FastLabelInvalidException, match="'..' part"):
            client.download_dataset_objects("ds", "out")
        assert not any(entry.path.startswith("storage/") for entry in fake.log)
    assert not (files / "escape.png").exists()


@pytest.mark.parametrize("call, message, code", [
    (lambda c: c.create_image_task("p", "n", "a.gif"), "Supported extensions are png, jpg, jpeg.", 422),
    (lambda c: c.create_video_task("p", "n", "a.avi"), "Supported extensions are mp4.", 422),
    (lambda c: c.create_text_task("p", "n", "a.md"), "Supported extensions are txt.", 422),
    (lambda c: c.create_audio_task("p", "n", "a.ogg"), "Supported extensions are mp3, wav and w4a.", 422),
    (lambda c: c.create_pcd_task("p", "n", "a.ply"), "Supported extensions are pcd only", 422),
    (lambda c: c.create_dicom_task("p", "a.tar"), "Supported extensions are zip.", 422),
    (lambda c: c.create_integrated_image_task("p", "gcp", "x.gif"), "Supported extensions are png, jpg, jpeg.", 422),
    (lambda c: c.execute_endpoint("e", "a.gif"), "Supported extensions are png, jpg, jpeg.", 422),
    (lambda c: c.create_sequential_image_task("p", "n", "missing"), "Folder does not exist.", 422),
    (lambda c: c.create_sequential_image_task("p", "n", "empty"), "Folder does not have any file.", 422),
    (lambda c: c.create_multi_image_classification_task("p", "n", "seven"), "The count of files should be under 6",
     422),
    (lambda c: c.create_sequential_pcd_task("p", "n", "images"), "Supported extensions are pcd only", 422),
    (lambda c: c.get_video_tasks("p", limit=11), "Limit must be less than or equal to 10.", 422),
    (lambda c: c.get_dataset_objects("ds", version="1", revision_id="r"),
     "only use specify one of revisionId or version.", 400),
    (lambda c: c.get_annotations("p", limit=1001), "Limit must be less than or equal to 1000.", 422),
])
def test_client_side_checks_send_nothing(files, call, message, code):
    (files / "empty").mkdir()
    (files / "seven").mkdir()
    for number in range(7):
        Image.new("L", (2, 2)).save(files / "seven" / f"{number}.png")
    with FakeFastLabel(token=TOKEN) as fake:
        client = Client(TOKEN, base_url=fake.url)
        with pytest.raises(FastLabelInvalidException) as raised:
            call(client)
        assert fake.log == []
    assert raised.value.message == message and raised.value.code == code


def test_size_caps_and_the_real_codec_check(tmp_path):
    import cv2

    video = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (16, 16))
    for _ in range(3):
        writer.write(np.zeros((16, 16, 3), np.uint8))
    writer.release()
    big = tmp_path / "big.txt"
    with open(big, "wb") as file:
        file.truncate(2 * 1024 * 1024 + 1)
    client = Client(TOKEN, base_url="http://127.0.0.1:9/v1/")
    with pytest.raises(FastLabelInvalidException, match="only AVC/H.264"):
        client.create_video_task("p", "v.mp4", str(video))
    with pytest.raises(FastLabelInvalidException, match="Supported text size is under 2 MB."):
        client.create_text_task("p", "big.txt", str(big))
    with pytest.raises(ValueError, match=r"Invalid DatasetObjectType: val. types must be \['none', 'train'"):
        client.get_dataset_objects("ds", types=["val"])
    with pytest.raises(TypeError, match="update_pcd_task.*prority"):
        client.update_pcd_task("t", prority=10)


SIGNATURES = json.loads((Path(__file__).parent / "fixtures" / "contract_signatures.json").read_text())
# deliberate: seed-era two-argument calls keep working (README "Migrating")
WIDER_DEFAULTS = {("convert_yolo_to_fastlabel", "project_type"): "bbox"}


def contract_parameters(text: str) -> list[tuple[str, object]]:
    import ast

    arguments = ast.parse(f"def f({text}): pass").body[0].args
    defaults = [None] * (len(arguments.args) - len(arguments.defaults)) + list(arguments.defaults)
    out = []
    for arg, node in zip(arguments.args, defaults):
        try:
            value = "required" if node is None else ast.literal_eval(node)
        except ValueError:
            value = ast.unparse(node)  # a name such as COLOR_PALETTE
        out.append((arg.arg, value))
    return out + ([("**kwargs", None)] if arguments.kwarg else [])


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_matches_the_contract(name):
    import inspect

    import fastlabel_formats as core

    ours = []
    for parameter in list(inspect.signature(getattr(Client, name)).parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            ours.append(("**kwargs", None))
            continue
        default = "required" if parameter.default is inspect.Parameter.empty else parameter.default
        ours.append((parameter.name, default))
    expected = []
    for parameter, default in contract_parameters(SIGNATURES[name]):
        default = WIDER_DEFAULTS.get((name, parameter), default)
        default = {"COLOR_PALETTE": core.COLOR_PALETTE}.get(default, default) if isinstance(default, str) else default
        expected.append((parameter, () if default == [] else default))
    expected += NEWER_PARAMETERS.get(name, [])
    assert [(p, () if d == [] else d) for p, d in ours] == expected


# parameters fastlabel 0.26.0 added to methods of the contract (the official source wins, issue #12)
NEWER_PARAMETERS = {"create_annotation": [("max_area_count", ...)], "update_annotation": [("max_area_count", ...)]}


def test_failed_signed_url_upload_and_download_raise(files):
    from fastlabel_formats_api import FastLabelException

    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        client = Client(TOKEN, base_url=fake.url, sleep=lambda seconds: None)
        fake.state.storage_url = fake.state.storage_url + "nowhere/"
        with pytest.raises(FastLabelException, match="storage request to .* failed") as raised:
            client.create_dicom_task("p1", "a.zip")
        assert raised.value.code == 404
        assert not any(entry.path == "tasks/dicom" for entry in fake.log)  # no task for a missing file
        fake.objects.rows[0]["_url"] += "-gone"
        with pytest.raises(FastLabelException) as raised:
            client.download_dataset_objects("ds", "out")
        assert raised.value.code == 404 and "signature" not in str(raised.value)
    assert not (files / "out" / "x" / "y 1.png").exists()


OFFICIAL = json.loads((Path(__file__).parent / "fixtures" / "official_0_26_0_signatures.json").read_text())
NOT_YET: set[str] = set()  # every method of 0.26.0 is there


def _comparable(value: object) -> object:
    """Our spelling of an official default: ``()`` for ``[]``, ``...`` for the official ``_UNSET``."""
    return () if value == [] else ... if value == "UNSET" else value


def _official_spelling(default: object) -> object:
    """Our LeRobotConverter as the fixture spells the official one (its class's repr)."""
    if isinstance(default, type) and default.__name__ == "LeRobotConverter":
        return "<class 'fastlabel.lerobot.converter.LeRobotConverter'>"
    return default


@pytest.mark.parametrize("name", sorted(set(OFFICIAL) - NOT_YET))
def test_every_official_0_26_0_method_with_its_parameters(name):
    """All 159 public methods of fastlabel 0.26.0 (the fixture is inspect's view of the installed
    package): the same names, in order, with the same defaults."""
    import inspect

    ours = []
    for parameter in list(inspect.signature(getattr(Client, name)).parameters.values())[1:]:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            ours.append(("**kwargs", None))
        else:
            ours.append((parameter.name, "required" if parameter.default is inspect.Parameter.empty
                         else _official_spelling(parameter.default)))
    expected = [(parameter, _comparable(WIDER_DEFAULTS.get((name, parameter), default)))
                for parameter, default in OFFICIAL[name]]
    assert ours == expected


def test_the_client_stub_is_up_to_date():
    """``fastlabel_formats_api/client.pyi`` is what the tables give (``python -m fastlabel_formats_api.stub``)."""
    import ast

    from fastlabel_formats_api.methods import stub

    committed = (Path(fastlabel_formats_api.wire.__file__).with_name("client.pyi")).read_text(encoding="utf-8")
    assert committed == stub(Client), "client.pyi is stale: run python -m fastlabel_formats_api.stub"
    methods = {node.name for node in ast.walk(ast.parse(committed)) if isinstance(node, ast.FunctionDef)}
    assert set(OFFICIAL) - NOT_YET <= methods


@pytest.mark.parametrize("name, problem", [
    ("annotations.json", "the index file"), ("a\x00b.bin", "control character"), (".", "'.' or '..' part"),
    ("a/./b.png", "'.' or '..' part"), ("CON.png", "reserved on Windows"), ("sub/lpt1", "reserved on Windows"),
    ("", "empty"), ("x/y 1.png", "would both be written"),
])
def test_download_checks_every_name_before_the_first_request(files, name, problem):
    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        client = Client(TOKEN, base_url=fake.url)
        client.create_dataset_object("ds", "b.png", "a.png")
        fake.objects.rows[-1]["name"] = name
        with pytest.raises(FastLabelInvalidException, match=re.escape(problem)):
            client.download_dataset_objects("ds", "out")
        assert not any(entry.path.startswith("storage/") for entry in fake.log)
    assert not (files / "out").exists()


def test_download_refuses_an_unreadable_index_before_fetching(files):
    (files / "out").mkdir()
    (files / "out" / "annotations.json").write_text("{not json")
    with FakeFastLabel(token=TOKEN) as fake:
        seed(fake)
        client = Client(TOKEN, base_url=fake.url)
        with pytest.raises(FastLabelInvalidException, match="cannot read the existing index"):
            client.download_dataset_objects("ds", "out")
        assert not any(entry.path.startswith("storage/") for entry in fake.log)
