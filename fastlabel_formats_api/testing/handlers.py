"""The fake's answers, one short method per route of :func:`.state.route_table`."""

from __future__ import annotations

import base64
import itertools
import os
import urllib.parse

from fastlabel_formats import FormatError, integrate

from ..endpoints import TASK_KINDS
from .collaboration import CollaborationRoutes
from .state import (
    CLASSIFICATION_KINDS,
    FOLDER_KINDS,
    TASK_FIELDS,
    UPDATABLE,
    UPLOADLESS_KINDS,
    Answer,
    Store,
    check_task_fields,
    decoded,
    first,
    image_size,
    now,
    page,
    require,
)

OBJECT_FIELDS = ("tags", "licenses", "annotations", "customMetadata")
PIECE_KINDS = {"images": "image", "videos": "video", "audios": "audio"}


def _matches(row: dict, query: dict, keys: dict[str, str]) -> bool:
    """Exact match of every present query key (``tags``: any of them)."""
    for query_key, row_key in keys.items():
        wanted = query.get(query_key)
        if wanted is None:
            continue
        value = row.get(row_key)
        if query_key in ("tags", "licenses", "types"):
            if not set(wanted) & set(value if isinstance(value, list) else [value]):
                return False
        elif value != wanted[0]:
            return False
    return True


TASK_FILTERS = {"project": "project", "status": "status", "externalStatus": "externalStatus", "tags": "tags",
                "taskName": "name"}


class FakeState(CollaborationRoutes):
    """The stores of the fake and its route handlers."""

    def __init__(self) -> None:
        ids = itertools.count(1)
        self.tasks: dict[str, list[dict]] = {kind.path: [] for kind in TASK_KINDS}
        self.projects, self.annotation_classes, self.tags = Store("project", ids), Store("annotation", ids), \
            Store("tag", ids)
        self.datasets, self.objects, self.histories = Store("dataset", ids), Store("object", ids), \
            Store("history", ids)
        self.jobs = {"trainings": Store("training", ids), "evaluations": Store("evaluation", ids)}
        self.storages: dict[str, dict] = {}
        self.blobs: dict[str, bytes] = {}
        self.storage_url = ""
        self._ids = ids
        self.init_collaboration(ids)

    # any store: one row by id

    def find_row(self, store: str, id: str, query: dict, payload: object) -> tuple[int, object]:
        return 200, getattr(self, store).get(id)

    def update_row(self, store: str, id: str, query: dict, payload: object) -> tuple[int, object]:
        rows = getattr(self, store)
        return 200, rows.update(rows.get(id), require(payload))["id"]

    def delete_row(self, store: str, id: str, query: dict, payload: object) -> tuple[int, object]:
        getattr(self, store).remove(id)
        return 204, None

    # storage (signed URLs, no auth)

    def put_blob(self, data: bytes, name: str) -> str:
        key = f"{next(self._ids)}/{urllib.parse.quote(os.path.basename(name))}"
        self.blobs[key] = data
        return self.storage_url + key

    def signed_upload_url(self, query: dict, payload: object) -> tuple[int, object]:
        if not all(k in query for k in ("project", "fileName", "fileType")):
            raise Answer(400, "project, fileName and fileType are required")
        key = f"uploads/{next(self._ids)}/{first(query, 'fileName')}"
        return 200, {"url": self.storage_url + key, "name": key}

    # tasks

    def _task(self, task_id: str) -> tuple[str, dict]:
        for kind, rows in self.tasks.items():
            for row in rows:
                if row["id"] == task_id:
                    return kind, row
        raise Answer(404, f"task {task_id} not found")

    def _new_task(self, kind: str, payload: dict, name: str, url: str = "", **extra) -> dict:
        check_task_fields(payload)
        body = "attributes" if kind in CLASSIFICATION_KINDS else "annotations"
        task = {"id": f"task-{next(self._ids)}", "name": name, "url": url, **TASK_FIELDS, body: [],
                "createdAt": now(), **extra,
                **{k: v for k, v in payload.items() if k not in ("file", "contents", "fileKey", "filePath")}}
        task["updatedAt"] = task["createdAt"]
        self._register_tags(task["project"], task.get("tags", []))
        self.tasks[kind].append(task)
        return task

    def _register_tags(self, project: str, names: list[str]) -> None:
        known = {(row["project"], row["name"]) for row in self.tags.rows}
        for name in names:
            if (project, name) not in known:
                self.tags.add({"project": project, "name": name, "order": len(self.tags.rows)})

    def create_task(self, kind: str, query: dict, payload: object) -> tuple[int, object]:
        if kind in UPLOADLESS_KINDS:  # robotics: contents come later, from a zip import
            return 200, self._new_task(kind, require(payload, project=str, name=str), payload["name"])["id"]
        if kind in FOLDER_KINDS:
            require(payload, project=str, name=str, contents=list)
            contents = [self._content(entry) for entry in payload["contents"]]
            return 200, self._new_task(kind, payload, payload["name"], contents=contents)["id"]
        data = decoded(require(payload, project=str, name=str, file=str)["file"], "file")
        task = self._new_task(kind, payload, payload["name"], self.put_blob(data, payload["name"]), **image_size(data))
        return 200, task["id"]

    def _content(self, entry: object) -> dict:
        data = decoded(require(entry, name=str, file=str)["file"], "contents[].file")
        return {"name": entry["name"], "url": self.put_blob(data, entry["name"]), **image_size(data)}

    def create_integrated(self, query: dict, payload: object, classification: str | None) -> tuple[int, object]:
        require(payload, project=str, filePath=str, storageType=str)
        kind = "tasks/image/classification" if classification else "tasks/image"
        return 200, self._new_task(kind, payload, payload["filePath"])["id"]

    def create_dicom(self, query: dict, payload: object) -> tuple[int, object]:
        key = require(payload, project=str, fileKey=str)["fileKey"]
        if key not in self.blobs:
            raise Answer(400, f"fileKey {key} was never uploaded")
        self._new_task("tasks/dicom", payload, os.path.basename(key), self.storage_url + key)
        return 200, self.histories.add({"project": payload["project"], "storageType": "zip", "status": "completed"})

    def list_tasks(self, kind: str, query: dict, payload: object) -> tuple[int, object]:
        rows = [row for row in self.tasks[kind] if _matches(row, query, TASK_FILTERS)]
        return 200, page(rows, query, 100)

    def find_task(self, kind: str, id: str, query: dict, payload: object) -> tuple[int, object]:
        found = [row for row in self.tasks[kind] if row["id"] == id]
        if not found:
            raise Answer(404, f"task {id} not found")
        return 200, found[0]

    def update_task(self, id: str, query: dict, payload: object, kind: str | None = None) -> tuple[int, object]:
        check_task_fields(require(payload))
        unknown = sorted(set(payload) - set(UPDATABLE))
        if unknown:
            raise Answer(400, f"unknown task keys {unknown}")
        found_kind, task = self._task(id)
        if kind is not None and kind != found_kind:
            raise Answer(404, f"task {id} is not a {kind} task")
        self._register_tags(task["project"], payload.get("tags", []))
        task.update(payload, updatedAt=now())
        return 200, task["id"]

    def delete_task(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        kind, task = self._task(id)
        self.tasks[kind].remove(task)
        return 204, None

    def delete_task_annotations(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        self._task(id)[1]["annotations"] = []
        return 204, None

    def _project_tasks(self, query: dict) -> list[dict]:
        return [row for rows in self.tasks.values() for row in rows if _matches(row, query, TASK_FILTERS)]

    def task_id_name_map(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, {row["id"]: row["name"] for row in page(self._project_tasks(query), query, 1000)}

    def count_tasks(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, len(self._project_tasks(query))

    def integrated_by_prefix(self, media: str, query: dict, payload: object) -> tuple[int, object]:
        """The split tasks ``<prefix>/<n>.<ext>`` merged offline by the core, as the server merges them."""
        prefix, kind = first(query, "prefix"), f"tasks/{media[:-1]}"
        parts = [row for row in self.tasks[kind] if row.get("project") == first(query, "project")
                 and row["name"].startswith(f"{prefix}/")]
        if not parts:
            raise Answer(404, f"no {media} tasks named {prefix}/<n>")
        try:
            return 200, integrate(parts, prefix, kind=PIECE_KINDS[media])
        except FormatError as error:
            raise Answer(400, str(error)) from None

    # S3 and import histories

    def update_s3(self, project: str, query: dict, payload: object) -> tuple[int, object]:
        self.storages[project] = dict(require(payload, bucketName=str, bucketRegion=str))
        return 200, {"project": project, **self.storages[project]}

    def tasks_from_s3(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, project=str, status=str, tags=list, priority=int)
        return 200, self.histories.add({"project": payload["project"], "storageType": "aws-s3",
                                        "status": "completed"})

    def s3_status(self, project: str, query: dict, payload: object) -> tuple[int, object]:
        found = [row for row in self.histories.rows if row["storageType"] == "aws-s3"]
        return 200, {"project": project, "status": found[-1]["status"] if found else "none"}

    def list_histories(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, page([r for r in self.histories.rows if _matches(r, query, {"project": "project"})], query, 100)

    # annotation classes

    def create_annotation(self, query: dict, payload: object) -> tuple[int, object]:
        row = dict(require(payload, project=str, type=str, value=str, title=str))
        row.setdefault("attributes", [])
        return 200, self.annotation_classes.add(row)["id"]

    def create_classification_annotation(self, query: dict, payload: object) -> tuple[int, object]:
        row = dict(require(payload, project=str, attributes=list), type="classification", value="classification")
        return 200, self.annotation_classes.add(row)["id"]

    def list_annotations(self, query: dict, payload: object) -> tuple[int, object]:
        rows = [r for r in self.annotation_classes.rows if _matches(r, query, {"project": "project", "value": "value"})]
        return 200, page(rows, query, 10)

    # projects and tags

    def create_project(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, type=str, name=str, slug=str, workflow=str, externalWorkflow=str)
        if any(row["slug"] == payload["slug"] for row in self.projects.rows):
            raise Answer(409, f"slug {payload['slug']!r} is taken")
        row = {"isPixel": False, "jobSize": 10, "status": "active", **payload}
        return 200, self.projects.add(row)["id"]

    def copy_project(self, query: dict, payload: object) -> tuple[int, object]:
        source = self.projects.get(require(payload, id=str)["id"])
        copied = {k: v for k, v in source.items() if k not in ("id", "createdAt", "updatedAt")}
        copied.update(name=payload.get("name", source["name"] + " copy"),
                      slug=payload.get("slug", f"{source['slug']}-copy-{next(self._ids)}"))
        return 200, self.projects.add(copied)["id"]

    def list_projects(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, page([row for row in self.projects.rows if _matches(row, query, {"slug": "slug"})], query, 100)

    def list_tags(self, query: dict, payload: object) -> tuple[int, object]:
        keyword = first(query, "keyword", "")
        rows = [row for row in self.tags.rows if row["project"] == first(query, "project") and keyword in row["name"]]
        return 200, page(rows, query, 100)

    def delete_tags(self, query: dict, payload: object) -> tuple[int, object]:
        for tag_id in require(payload, tagIds=list)["tagIds"]:
            self.tags.remove(tag_id)
        return 200, {}

    # datasets and dataset objects

    def create_dataset(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, name=str)
        return 200, self.datasets.add({"tags": [], "visibility": "workspace", "license": None, **payload})

    def list_datasets(self, query: dict, payload: object) -> tuple[int, object]:
        keyword = first(query, "keyword", "")
        rows = [row for row in self.datasets.rows if keyword in row["name"]
                and _matches(row, query, {"tags": "tags", "license": "license", "visibility": "visibility"})]
        return 200, rows

    def update_dataset(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        changes = {k: v for k, v in require(payload).items() if v is not None}
        return 200, self.datasets.update(self.datasets.get(id), changes)

    def _public(self, row: dict) -> dict:
        return {k: v for k, v in row.items() if not k.startswith("_")}

    def create_object(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, datasetName=str, objectName=str, filePath=str)
        dataset = self.datasets.get(payload["datasetName"], "name")
        data = decoded(payload["filePath"], "filePath")
        row = {"_dataset": dataset["id"], "_url": self.put_blob(data, payload["objectName"]),
               "name": payload["objectName"], "size": len(data), "type": "none", "tags": [], "licenses": [],
               "annotations": [], "customMetadata": {}, **image_size(data),
               **{k: payload[k] for k in OBJECT_FIELDS if k in payload}}
        return 200, self._public(self.objects.add(row, id_key="_id"))

    def _objects(self, query: dict) -> list[dict]:
        dataset = self.datasets.get(first(query, "datasetName"), "name")
        keys = {"tags": "tags", "licenses": "licenses", "types": "type"}
        rows = [row for row in self.objects.rows if row["_dataset"] == dataset["id"] and _matches(row, query, keys)]
        return page(rows, query, 1000)

    def list_objects(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, [self._public(row) for row in self._objects(query)]

    def signed_objects(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, [{**self._public(row), "signedUrl": row["_url"]} for row in self._objects(query)]

    def _object(self, dataset_id: str, name: str) -> dict:
        for row in self.objects.rows:
            if row["_dataset"] == dataset_id and row["name"] == urllib.parse.unquote(name):
                return row
        raise Answer(404, f"object {urllib.parse.unquote(name)!r} not found in dataset {dataset_id}")

    def find_object(self, id: str, name: str, query: dict, payload: object) -> tuple[int, object]:
        return 200, self._public(self._object(id, name))

    def update_object(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, datasetId=str, objectName=str)
        row = self._object(payload["datasetId"], payload["objectName"])
        return 200, self._public(self.objects.update(row, {k: payload[k] for k in OBJECT_FIELDS if k in payload}))

    def delete_object(self, id: str, name: str, query: dict, payload: object) -> tuple[int, object]:
        self.objects.rows.remove(self._object(id, name))
        return 204, None

    # models

    def list_jobs(self, store: str, query: dict, payload: object) -> tuple[int, object]:
        return 200, page(self.jobs[store].rows, query, 100)

    def find_job(self, store: str, id: str, query: dict, payload: object) -> tuple[int, object]:
        return 200, self.jobs[store].get(id, "trainingJobId" if store == "trainings" else "id")

    def create_job(self, store: str, query: dict, payload: object) -> tuple[int, object]:
        if store == "trainings":
            require(payload, datasetName=str, baseModelName=str, epoch=int)
            return 200, self.jobs[store].add({"status": "in_progress", **payload}, id_key="trainingJobId")
        require(payload, datasetName=str, modelName=str)
        return 200, self.jobs[store].add({"status": "in_progress", **payload})

    def execute_endpoint(self, query: dict, payload: object) -> tuple[int, object]:
        data = decoded(require(payload, modelEndpointName=str, file=str)["file"], "file")
        result = {"endpoint": payload["modelEndpointName"], "bytes": len(data), **image_size(data)}
        return 200, {"json": result, "file": "data:image/png;base64," + base64.b64encode(data).decode()}

    def create_monitoring(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, name=str, results=list)
        return 204, None
