"""``Client``: the official ``fastlabel.Client`` method names and arguments over :class:`Transport`.

The per-kind task families (``find_<kind>_task``, ``find_<kind>_task_by_name``,
``get_<kind>_tasks`` and, beyond the official client, ``iter_<kind>_tasks``) are generated from one
table. Unknown keyword arguments raise ``TypeError`` (the official client ignores them silently).
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fastlabel_formats as core

from .exceptions import FastLabelInvalidException
from .transport import Transport

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
IMAGE_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class TaskKind:
    """One row of the task-kind table: wire path, default list limit, largest allowed limit."""

    name: str
    path: str
    limit: int
    max_limit: int | None
    by_name: bool = True


TASK_KINDS = (
    TaskKind("image", "tasks/image", 100, 1000),
    TaskKind("image_classification", "tasks/image/classification", 100, None),
    TaskKind("multi_image_classification", "tasks/multi-image/classification", 100, None),
    TaskKind("sequential_image", "tasks/sequential-image", 10, 10),
    TaskKind("video", "tasks/video", 10, 10),
    TaskKind("video_classification", "tasks/video/classification", 100, None),
    TaskKind("text", "tasks/text", 100, 1000),
    TaskKind("text_classification", "tasks/text/classification", 100, None),
    TaskKind("audio", "tasks/audio", 100, 1000),
    TaskKind("audio_classification", "tasks/audio/classification", 100, None),
    TaskKind("pcd", "tasks/pcd", 100, 1000),
    TaskKind("sequential_pcd", "tasks/sequential-pcd", 10, 10, by_name=False),
    TaskKind("dicom", "tasks/dicom", 100, 1000),
)


def check_limit(limit: int | None, max_limit: int | None) -> None:
    """E-LIM10 / E-LIM1000 of the contract."""
    if max_limit is not None and limit is not None and limit > max_limit:
        raise FastLabelInvalidException(f"Limit must be less than or equal to {max_limit}.", 422)


def list_query(project: str, status=None, external_status=None, tags=None, task_name=None, offset=None,
               limit=None) -> dict:
    """The LISTQ query of the contract: project always, the rest only when truthy."""
    query = {"project": project}
    for key, value in (("status", status), ("externalStatus", external_status), ("tags", tags),
                       ("taskName", task_name), ("offset", offset), ("limit", limit)):
        if value:
            query[key] = value
    return query


def _family(kind: TaskKind) -> dict:
    def find(self, task_id: str) -> dict:
        return self.api.request("GET", f"{kind.path}/{task_id}")

    def get(self, project: str, status: str | None = None, external_status: str | None = None,
            tags: Sequence[str] = (), task_name: str | None = None, offset: int | None = None,
            limit: int = kind.limit) -> list:
        check_limit(limit, kind.max_limit)
        return self.api.request("GET", kind.path, params=list_query(
            project, status, external_status, list(tags or []), task_name, offset, limit))

    def find_by_name(self, project: str, task_name: str) -> dict | None:
        found = getattr(self, f"get_{kind.name}_tasks")(project=project, task_name=task_name)
        return found[0] if found else None

    def iterate(self, project: str, **filters) -> Iterator[dict]:
        offset = 0
        while True:
            page = getattr(self, f"get_{kind.name}_tasks")(project, offset=offset, limit=kind.max_limit or 1000,
                                                             **filters)
            yield from page
            if len(page) < (kind.max_limit or 1000):
                return
            offset += len(page)

    methods = {f"find_{kind.name}_task": find, f"get_{kind.name}_tasks": get, f"iter_{kind.name}_tasks": iterate}
    if kind.by_name:
        methods[f"find_{kind.name}_task_by_name"] = find_by_name
    for name, method in methods.items():
        method.__name__ = method.__qualname__ = name
        method.__doc__ = f"{name.replace('_', ' ').capitalize()} ({kind.path})."
    return methods


def annotations_payload(annotations: Sequence[dict], content: str | None = None) -> list[dict]:
    """The ANN transformation of the contract, on a copy (the official client edits in place)."""
    out = []
    for annotation in copy.deepcopy(list(annotations or [])):
        for key in ("id", "title", "color"):
            annotation.pop(key, None)
        for keypoint in annotation.get("keypoints") or []:
            keypoint.pop("edges", None)
            keypoint.pop("name", None)
        annotation["attributes"] = [{k: v for k, v in a.items() if k not in ("title", "name", "type")}
                                    for a in annotation.get("attributes") or []]
        if content is not None:
            annotation["content"] = content
        out.append(annotation)
    return out


class Client:
    """A drop-in for ``fastlabel.Client`` (so far: projects, task lookups of every kind, image task
    creation, task deletion, exports)."""

    def __init__(self, access_token: str | None = None, *, transport: Transport | None = None, **options) -> None:
        self.api = transport or Transport(access_token, **options)

    def __repr__(self) -> str:
        return f"Client({self.api!r})"

    # projects

    def create_project(self, type: str, name: str, slug: str, is_pixel: bool = False, job_size: int = 10,
                       workflow: str = "two_step", external_workflow: str = "two_step") -> str:
        payload = {"type": type, "name": name, "slug": slug, "workflow": workflow,
                   "externalWorkflow": external_workflow}
        if is_pixel:
            payload["isPixel"] = True
        if job_size:
            payload["jobSize"] = job_size
        return self.api.request("POST", "projects", payload=payload)

    def find_project(self, project_id: str) -> dict:
        return self.api.request("GET", f"projects/{project_id}")

    def get_projects(self, slug: str | None = None, offset: int | None = None, limit: int = 100) -> list:
        check_limit(limit, 1000)
        params = {k: v for k, v in (("slug", slug), ("offset", offset), ("limit", limit)) if v}
        return self.api.request("GET", "projects", params=params)

    def find_project_by_slug(self, slug: str) -> dict | None:
        found = self.get_projects(slug=slug)
        return found[0] if found else None

    def delete_project(self, project_id: str) -> None:
        return self.api.request("DELETE", f"projects/{project_id}")

    # tasks

    def create_image_task(self, project: str, name: str, file_path: str, status: str | None = None,
                          external_status: str | None = None, custom_task_status: str = "",
                          priority: int | None = None, annotations: Sequence[dict] = (),
                          tags: Sequence[str] = (), metadatas: Sequence[dict] = (), is_delete_exif: bool = False,
                          **users) -> str:
        """Upload an image (png/jpg/jpeg, ≤ 20 MiB) as a task, with annotations."""
        _check_users(users)
        if not file_path.lower().endswith(IMAGE_EXTENSIONS):
            raise FastLabelInvalidException("Supported extensions are png, jpg, jpeg.", 422)
        if os.path.getsize(file_path) > IMAGE_MAX_BYTES:
            raise FastLabelInvalidException("Supported image size is under 20 MB.", 422)
        payload = {"project": project, "name": name,
                   "file": base64.b64encode(Path(file_path).read_bytes()).decode()}
        optional = (("status", status), ("externalStatus", external_status), ("customTaskStatus", custom_task_status),
                    ("annotations", annotations_payload(annotations, name) if annotations else None),
                    ("tags", list(tags)), ("metadatas", list(metadatas)))
        payload.update({key: value for key, value in optional if value})
        if priority is not None:
            payload["priority"] = priority
        if is_delete_exif:
            payload["isDeleteExif"] = True
        payload.update(_users_payload(users))
        return self.api.request("POST", "tasks/image", payload=payload)

    def delete_task(self, task_id: str) -> None:
        return self.api.request("DELETE", f"tasks/{task_id}")

    # exports (the core does the work)

    def _project_type(self, project: str) -> str:
        found = self.find_project_by_slug(project)
        if found is None:
            raise FastLabelInvalidException("Project not found. Check the project slag.", 422)
        return found["type"]

    def export_coco(self, project: str, tasks: list, annotations: Sequence[dict] = (),
                    output_dir: str = os.path.join("output", "coco"),
                    output_file_name: str = "annotations.json") -> core.ConversionReport:
        if not output_file_name.lower().endswith(".json"):
            raise FastLabelInvalidException("Output file name must have a json extension", 422)
        return core.export_coco(tasks, output_dir, project_type=self._project_type(project),
                                annotations=list(annotations) or None, output_file_name=output_file_name)

    def export_yolo(self, project: str, tasks: list, classes: Sequence[str] = (),
                    output_dir: str = os.path.join("output", "yolo")) -> core.ConversionReport:
        return core.export_yolo(tasks, output_dir, project_type=self._project_type(project),
                                classes=list(classes) or None)

    def export_pascalvoc(self, project: str, tasks: list,
                         output_dir: str = os.path.join("output", "pascalvoc")) -> core.ConversionReport:
        return core.export_pascalvoc(tasks, output_dir, project_type=self._project_type(project))

    def export_labelme(self, tasks: list, output_dir: str = os.path.join("output", "labelme")) -> core.ConversionReport:
        return core.export_labelme(tasks, output_dir)


USER_KEYS = {"assignee": "assignee", "reviewer": "reviewer", "approver": "approver",
             "external_assignee": "externalAssignee", "external_reviewer": "externalReviewer",
             "external_approver": "externalApprover",
             **{f"workflow_{n}_user": f"workflow{n}User" for n in range(1, 7)}}


def _check_users(users: dict) -> None:
    unknown = sorted(set(users) - set(USER_KEYS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"accepted user arguments: {', '.join(USER_KEYS)}")


def _users_payload(users: dict) -> dict:
    return {USER_KEYS[key]: value for key, value in users.items()}


for _kind in TASK_KINDS:
    for _name, _method in _family(_kind).items():
        setattr(Client, _name, _method)
