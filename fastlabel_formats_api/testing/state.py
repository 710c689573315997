"""The fake's in-memory FastLabel: stores, payload checks and the answer of every contract route.

Routes are one table (:data:`ROUTES`): verb, path pattern and handler. Handlers get the path
groups, the query (``{key: [values]}``) and the JSON body, and return ``(status, body)`` or raise
:class:`Answer`. Creates answer 200 (the official client treats 201 as an error).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import itertools
import re
from collections.abc import Callable
from functools import partial

from ..endpoints import TASK_KINDS

STATUSES = {"registered", "completed", "skipped", "reviewed", "sent_back", "approved", "declined", "pending",
            "customer_declined"}
FOLDER_KINDS = {kind.path for kind in TASK_KINDS if kind.max_files}
CLASSIFICATION_KINDS = {kind.path for kind in TASK_KINDS if kind.name.endswith("classification")}
UPLOADLESS_KINDS = {kind.path for kind in TASK_KINDS if kind.create and "file_path" not in kind.create
                    and not kind.max_files}
TASK_FIELDS = {"status": "registered", "externalStatus": "registered", "priority": 0, "tags": [], "metadatas": [],
               "assignee": None, "reviewer": None, "approver": None, "externalAssignee": None,
               "externalReviewer": None, "externalApprover": None}
UPDATABLE = ("status", "externalStatus", "priority", "tags", "annotations", "attributes", "metadatas", "relations",
             "operator",
             "customTaskStatus", "assignee", "reviewer", "approver", "externalAssignee", "externalReviewer",
             "externalApprover", *(f"workflow{n}User" for n in range(1, 7)))


class Answer(Exception):
    """An error answer: ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def first(query: dict, key: str, default: object = None) -> object:
    return query[key][0] if key in query else default


def page(rows: list, query: dict, default_limit: int) -> list:
    offset, limit = int(first(query, "offset", 0)), int(first(query, "limit", default_limit))
    return rows[offset:offset + limit]


def require(payload: object, **types: type | tuple) -> dict:
    """400 unless the body is an object with each key of the given JSON type."""
    if not isinstance(payload, dict):
        raise Answer(400, "the body must be a JSON object")
    for key, expected in types.items():
        if not isinstance(payload.get(key), expected) or isinstance(payload.get(key), bool) and expected is int:
            raise Answer(400, f"{key!r} is required and must be {getattr(expected, '__name__', expected)}")
    return payload


def decoded(text: str, key: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Answer(400, f"{key!r} is not base64") from None


def check_task_fields(payload: dict) -> None:
    """Shapes of the optional task keys the contract sends."""
    for key in ("status", "externalStatus"):
        if key in payload and payload[key] not in STATUSES:
            raise Answer(400, f"unknown {key} {payload[key]!r}")
    if "priority" in payload and payload["priority"] not in (0, 10, 20, 30):
        raise Answer(400, f"priority must be 0, 10, 20 or 30, not {payload['priority']!r}")
    if not all(isinstance(tag, str) for tag in payload.get("tags", [])):
        raise Answer(400, "tags must be strings")
    for number, annotation in enumerate(payload.get("annotations") or []):
        if not isinstance(annotation, dict) or not isinstance(annotation.get("type"), str) \
                or "value" not in annotation:
            raise Answer(400, f"annotation {number} needs a type and a value")


def image_size(data: bytes) -> dict:
    """width / height of an uploaded image from its header ({} for other files)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return {"width": image.width, "height": image.height}
    except (UnidentifiedImageError, OSError):
        return {}


class Store:
    """Rows with generated ids and timestamps."""

    def __init__(self, prefix: str, ids: itertools.count) -> None:
        self.prefix, self.ids, self.rows = prefix, ids, []

    def add(self, row: dict, id_key: str = "id") -> dict:
        row.setdefault(id_key, f"{self.prefix}-{next(self.ids)}")
        row.setdefault("createdAt", now())
        row.setdefault("updatedAt", row["createdAt"])
        self.rows.append(row)
        return row

    def get(self, value: str, key: str = "id") -> dict:
        for row in self.rows:
            if row.get(key) == value:
                return row
        raise Answer(404, f"{self.prefix} {value} not found")

    def update(self, row: dict, changes: dict) -> dict:
        row.update(changes)
        row["updatedAt"] = now()
        return row

    def remove(self, value: str, key: str = "id") -> None:
        self.rows.remove(self.get(value, key))


Handler = Callable[..., tuple[int, object]]


def route_table(state) -> list[tuple[str, re.Pattern, Handler]]:
    """(verb, compiled pattern, bound handler) of every route, most specific first."""
    kinds = "|".join(re.escape(path) for path in sorted(state.tasks, key=len, reverse=True))
    table = [
        *collaboration_routes(state),
        ("GET", "tasks/map/id-name", state.task_id_name_map), ("GET", "tasks/count", state.count_tasks),
        ("POST", "tasks/aws-s3", state.tasks_from_s3), ("GET", "tasks/import/status/aws-s3/(?P<project>[^/]+)",
                                                         state.s3_status),
        ("GET", "tasks/import/histories", state.list_histories),
        ("GET", "tasks/import/histories/(?P<id>[^/]+)", partial(state.find_row, "histories")),
        ("GET", "tasks/integrate/(?P<media>images|videos|audios)", state.integrated_by_prefix),
        ("POST", "tasks/integrated-image(?P<classification>/classification)?", state.create_integrated),
        ("POST", "tasks/dicom", state.create_dicom), ("GET", "files", state.signed_upload_url),
        ("POST", f"(?P<kind>{kinds})", state.create_task), ("GET", f"(?P<kind>{kinds})", state.list_tasks),
        ("GET", f"(?P<kind>{kinds})/(?P<id>[^/]+)", state.find_task),
        ("PUT", f"(?P<kind>{kinds})/(?P<id>[^/]+)", state.update_task),
        ("PUT", "tasks/(?P<id>[^/]+)", state.update_task), ("DELETE", "tasks/(?P<id>[^/]+)", state.delete_task),
        ("DELETE", "tasks/(?P<id>[^/]+)/task-annotations", state.delete_task_annotations),
        ("PUT", "storages/aws-s3/(?P<project>[^/]+)", state.update_s3),
        ("POST", "annotations/classification", state.create_classification_annotation),
        ("PUT", "annotations/classification/(?P<id>[^/]+)", partial(state.update_row, "annotation_classes")),
        ("POST", "annotations", state.create_annotation), ("GET", "annotations", state.list_annotations),
        ("GET", "annotations/(?P<id>[^/]+)", partial(state.find_row, "annotation_classes")),
        ("PUT", "annotations/(?P<id>[^/]+)", partial(state.update_row, "annotation_classes")),
        ("DELETE", "annotations/(?P<id>[^/]+)", partial(state.delete_row, "annotation_classes")),
        ("POST", "projects/copy", state.copy_project), ("POST", "projects", state.create_project),
        ("GET", "projects", state.list_projects),
        ("GET", "projects/(?P<id>[^/]+)", partial(state.find_row, "projects")),
        ("PUT", "projects/(?P<id>[^/]+)", partial(state.update_row, "projects")),
        ("DELETE", "projects/(?P<id>[^/]+)", partial(state.delete_row, "projects")),
        ("GET", "tags", state.list_tags), ("POST", "tags/delete/multi", state.delete_tags),
        ("POST", "datasets-v2", state.create_dataset), ("GET", "datasets-v2", state.list_datasets),
        ("GET", "datasets-v2/(?P<id>[^/]+)", partial(state.find_row, "datasets")),
        ("PUT", "datasets-v2/(?P<id>[^/]+)", state.update_dataset),
        ("DELETE", "datasets-v2/(?P<id>[^/]+)", partial(state.delete_row, "datasets")),
        ("POST", "dataset-revision-objects", state.create_object),
        ("GET", "dataset-revision-objects", state.list_objects),
        ("GET", "dataset-revision-objects/signed-urls", state.signed_objects),
        ("PUT", "dataset-revision-objects", state.update_object),
        ("GET", "dataset-revision-objects/datasets/(?P<id>[^/]+)/objects/(?P<name>[^/]+)", state.find_object),
        ("DELETE", "dataset-revision-objects/datasets/(?P<id>[^/]+)/objects/(?P<name>[^/]+)", state.delete_object),
        ("GET", "(?P<store>trainings|evaluations)", state.list_jobs),
        ("GET", "(?P<store>trainings|evaluations)/(?P<id>[^/]+)", state.find_job),
        ("POST", "(?P<store>trainings|evaluations)", state.create_job),
        ("POST", "model-endpoints/execute", state.execute_endpoint),
        ("POST", "model-monitorings/create", state.create_monitoring),
    ]
    return [(verb, re.compile(pattern + r"\Z"), handler) for verb, pattern, handler in table]


def collaboration_routes(state) -> list[tuple[str, str, Handler]]:
    """The routes of :mod:`.collaboration` (before the generic task and project routes)."""
    return [
        ("POST", "tasks/tags/(?P<change>add|remove)", state.task_tags),
        ("POST", "comments", state.create_comment), ("GET", "comments", state.task_comments),
        ("POST", "comments/(?P<id>[^/]+)/threads", state.reply),
        ("GET", "comments/threads", state.project_threads),
        ("PUT", "comments/threads/(?P<id>[^/]+)", state.update_thread),
        ("DELETE", "comments/threads/(?P<id>[^/]+)", state.delete_thread),
        ("GET", "workspaces-users", state.list_users),
        ("POST", "workspaces-users/internal-users", state.create_user),
        ("PUT", "workspaces-users/internal-users", state.update_user),
        ("POST", "function-resource-permissions/(?P<module>annotation|dataset|model-dev)/internal-users",
         state.grant),
        ("DELETE", "function-resource-permissions", state.revoke),
        ("PUT", "projects-users", state.member),
        ("GET", "projects/map/id-slug", state.id_slug_map),
        ("PUT", "projects/(?P<id>[^/]+)/metadata", state.project_metadata),
        ("GET", "metadatas", state.metadatas),
        ("POST", "contents/imports/appendix/batch", state.import_appendix),
        ("POST", "contents/imports/robotics-contents/batch", state.import_robotics),
        ("GET", "contents/export/appendix", state.appendix_data), ("GET", "tasks/appendix", state.appendix_data),
        ("GET", "auto-annotations", state.list_auto_annotations),
        ("POST", "auto-annotations", state.execute_auto_annotation),
    ]
