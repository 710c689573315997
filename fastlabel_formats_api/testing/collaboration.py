"""The fake's newer routes: tags of many tasks, comments and their threads, workspace users and
their module permissions, project members and metadata, task metadata, appendix data, zip imports
(robotics contents, appendix) and auto-annotation jobs. Mixed into :class:`.handlers.FakeState`,
whose stores and task lists they read; every route is one short method."""

from __future__ import annotations

import io
import json
import os
import zipfile

from .state import Answer, Store, first, page, require

MODULES = ("annotation", "dataset", "modelDev")
MODULE_PATHS = {"annotation": "annotation", "dataset": "dataset", "model-dev": "modelDev"}
ROLES = ("owner", "admin", "manager", "member", "viewer", "none")


class CollaborationRoutes:
    """Route handlers over the stores :meth:`init_collaboration` adds."""

    def init_collaboration(self, ids) -> None:
        self.comments, self.threads = Store("comment", ids), Store("thread", ids)
        self.users, self.auto_annotations = Store("user", ids), Store("auto-annotation", ids)
        self.permissions: set[tuple[str, str]] = set()  # (email, module)
        self.members: dict[tuple[str, str], str] = {}  # (project, email) -> role
        self.appendix: list[dict] = []

    # tags of many tasks

    def task_tags(self, change: str, query: dict, payload: object) -> tuple[int, object]:
        require(payload, project=str, taskIds=list, tags=list)
        changed = 0
        for task in self._project_tasks({"project": [payload["project"]]}):
            if task["id"] in payload["taskIds"]:
                before = list(task.get("tags", []))
                kept = [t for t in before if t not in payload["tags"]]
                task["tags"] = kept + [t for t in payload["tags"] if t not in kept] if change == "add" else kept
                changed += task["tags"] != before
                self._register_tags(task["project"], task["tags"])
        return 200, {"updatedTaskCount": changed}

    # comments: a comment on a task holds a thread of texts

    def create_comment(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, taskId=str, text=str, type=str)
        _, task = self._task(payload["taskId"])
        comment = self.comments.add({"project": task["project"], **payload})
        self.threads.add({"commentId": comment["id"], "taskId": task["id"], "text": payload["text"]})
        return 200, self._comment(comment)

    def reply(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        comment = self.comments.get(id)
        return 200, self.threads.add({"commentId": comment["id"], "taskId": comment["taskId"],
                                      "text": require(payload, text=str)["text"]})

    def _comment(self, comment: dict) -> dict:
        return {**comment, "threads": [t for t in self.threads.rows if t["commentId"] == comment["id"]]}

    def task_comments(self, query: dict, payload: object) -> tuple[int, object]:
        rows = [self._comment(c) for c in self.comments.rows if c["taskId"] == first(query, "taskId")
                and c["project"] == first(query, "project")]
        return 200, page(rows, query, 100)

    def update_thread(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        return 200, self.threads.update(self.threads.get(id), {"text": require(payload, text=str)["text"]})

    def delete_thread(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        self.threads.remove(id)
        return 204, None

    def project_threads(self, query: dict, payload: object) -> tuple[int, object]:
        wanted = {"taskStatus": "status", "taskExternalStatus": "externalStatus", "taskTags": "tags"}
        rows = []
        for thread in self.threads.rows:
            _, task = self._task(thread["taskId"])
            if task["project"] == first(query, "project") and all(
                    key not in query or set(query[key]) & set(task[field] if key == "taskTags" else [task[field]])
                    for key, field in wanted.items()):
                rows.append({**thread, "taskName": task["name"]})
        return 200, page(rows, query, 100)

    # workspace users, module permissions, project members

    def list_users(self, query: dict, payload: object) -> tuple[int, object]:
        keyword = first(query, "keyword", "")
        rows = [u for u in self.users.rows if keyword in u["name"] or keyword in u["email"]]
        return 200, page(rows, query, 20)

    def create_user(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, name=str, email=str, language=str, role=str)
        if any(u["email"] == payload["email"] for u in self.users.rows):
            raise Answer(409, f"user {payload['email']} already exists")
        return 200, self.users.add(dict(self._role(payload)))

    def update_user(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, email=str, role=str)
        user = self.users.get(payload["email"], "email")
        if self._role(payload)["role"] == "none":  # removed from the workspace
            self.users.rows.remove(user)
            self.permissions = {p for p in self.permissions if p[0] != payload["email"]}
            return 200, {"email": payload["email"], "role": "none"}
        return 200, self.users.update(user, {"role": payload["role"]})

    def _role(self, payload: dict) -> dict:
        if payload["role"] not in ROLES:
            raise Answer(400, f"unknown role {payload['role']!r}")
        return payload

    def grant(self, module: str, query: dict, payload: object) -> tuple[int, object]:
        email = require(payload, email=str)["email"]
        self.users.get(email, "email")
        self.permissions.add((email, MODULE_PATHS[module]))
        return 200, {"email": email, "resource": MODULE_PATHS[module]}

    def revoke(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, email=str, resource=str)
        if payload["resource"] not in MODULES:
            raise Answer(400, f"unknown resource {payload['resource']!r}")
        self.permissions.discard((payload["email"], payload["resource"]))
        return 204, None

    def member(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, project=str, email=str, role=str)
        self.projects.get(payload["project"], "slug")
        self.users.get(payload["email"], "email")
        self.members[(payload["project"], payload["email"])] = self._role(payload)["role"]
        return 200, True

    # project maps and metadata, task metadata

    def id_slug_map(self, query: dict, payload: object) -> tuple[int, object]:
        return 200, {row["id"]: row["slug"] for row in page(self.projects.rows, query, 1000)}

    def project_metadata(self, id: str, query: dict, payload: object) -> tuple[int, object]:
        require(payload)
        codes = {key: payload.get(key) for key in ("externalCode1", "externalCode2", "externalCode3")}
        return 200, self.projects.update(self.projects.get(id), codes)["id"]

    def metadatas(self, query: dict, payload: object) -> tuple[int, object]:
        tasks = self._project_tasks({"project": query["project"]} if "project" in query else {})
        rows = [{"taskId": t["id"], "taskName": t["name"], "metadatas": t.get("metadatas", [])} for t in tasks]
        return 200, page(rows, query, 100)

    # zip imports through signed URLs, appendix data

    def _zip(self, payload: object) -> zipfile.ZipFile:
        key = require(payload, project=str, fileKey=str)["fileKey"]
        if key not in self.blobs:
            raise Answer(400, f"fileKey {key} was never uploaded")
        try:
            return zipfile.ZipFile(io.BytesIO(self.blobs[key]))
        except zipfile.BadZipFile:
            raise Answer(400, f"fileKey {key} is not a zip file") from None

    def import_appendix(self, query: dict, payload: object) -> tuple[int, object]:
        with self._zip(payload) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    data = json.loads(archive.read(name))
                    self.appendix.append({"project": payload["project"], "taskName": name[:-5], "data": data})
        return 200, [self.histories.add({"project": payload["project"], "storageType": "zip",
                                         "status": "completed"})]

    def import_robotics(self, query: dict, payload: object) -> tuple[int, object]:
        """Entries ``<task name>/<file>`` go to that task; entries at the root to the task named as
        the zip (a LeRobot episode's zip: ``<episode>.zip`` of ``<episode>.json`` and its videos)."""
        with self._zip(payload) as archive:
            names = archive.namelist()
        zip_task = os.path.splitext(os.path.basename(payload["fileKey"]))[0]
        robotics = [t for t in self.tasks["tasks/robotics"] if t["project"] == payload["project"]]
        for task in robotics:
            task.setdefault("contents", [])
            task["contents"] += [{"name": n} for n in names if n.split("/")[0] == task["name"]
                                 or ("/" not in n and task["name"] == zip_task)]
        return 200, [self.histories.add({"project": payload["project"], "storageType": "zip",
                                         "status": "completed", "files": len(names)})]

    def appendix_data(self, query: dict, payload: object) -> tuple[int, object]:
        rows = [r for r in self.appendix if r["project"] == first(query, "project")
                and ("taskName" not in query or r["taskName"] == first(query, "taskName"))]
        return 200, page(rows, query, 10000)

    # auto-annotation jobs

    def list_auto_annotations(self, query: dict, payload: object) -> tuple[int, object]:
        rows = [r for r in self.auto_annotations.rows if r["project"] == first(query, "project")]
        return 200, page(rows, query, 1000)

    def execute_auto_annotation(self, query: dict, payload: object) -> tuple[int, object]:
        require(payload, project=str, modelName=str)
        return 200, self.auto_annotations.add({"status": "in_progress", **payload})["id"]

