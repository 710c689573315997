"""A fake FastLabel REST API over real HTTP on 127.0.0.1, with fault injection, for offline tests.

    with FakeFastLabel(token="test") as api:
        client_transport = Transport("test", base_url=api.url)
        api.inject(status=429, times=3, retry_after="0")   # the next 3 calls get 429 first

or standalone: ``python -m fastlabel_formats_api.testing --port 8765``. It keeps projects and
image tasks in memory (more of the contract is added as the client grows), checks the bearer
token, answers creates with 200 and logs every request for assertions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .client import TASK_KINDS


@dataclass
class Fault:
    """What the next ``times`` requests get instead of (or before) the normal answer."""

    times: int
    status: int | None = None
    body: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    drop: bool = False


@dataclass
class Logged:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict
    payload: object
    headers: dict = field(repr=False, default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def _handle(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        payload = json.loads(raw) if raw else None
        query = urllib.parse.parse_qs(url.query)
        path = url.path.removeprefix("/v1/")
        fake = self.server.fake
        fake.log.append(Logged(method, path, query, payload, dict(self.headers)))
        fault = fake.next_fault()
        if fault is not None:
            time.sleep(fault.delay)
            if fault.drop:
                self.close_connection = True
                self.connection.close()
                return
            if fault.status is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                body = fault.body if fault.body is not None else json.dumps({"message": f"injected {fault.status}"})
                return self._send(fault.status, body, headers)
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._send(401, json.dumps({"message": "Unauthorized"}))
        status, body = fake.route(method, path, query, payload)
        self._send(status, "" if body is None else json.dumps(body))

    def _send(self, status: int, body: str, headers: dict | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeFastLabel


class FakeFastLabel:
    """The in-memory fake; a context manager that serves it in a background thread."""

    def __init__(self, token: str = "test-token", port: int = 0) -> None:
        self.token, self.port = token, port
        self.projects: list[dict] = []
        self.tasks: dict[str, list[dict]] = {kind.path: [] for kind in TASK_KINDS}
        self.log: list[Logged] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/"

    def inject(self, *, times: int = 1, status: int | None = None, body: str | None = None,
               retry_after: str | None = None, delay: float = 0.0, drop: bool = False) -> None:
        """Make the next ``times`` requests fail (status / body / Retry-After), stall or drop."""
        self._faults.append(Fault(times, status, body, retry_after, delay, drop))

    def next_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault

    def route(self, method: str, path: str, query: dict, payload: object) -> tuple[int, object]:
        """The contract's answer for the routes the fake knows (404 with a message otherwise)."""
        with self._lock:
            if path.startswith("projects"):
                return self._project_route(method, path, query, payload)
            if method == "DELETE" and path.count("/") == 1:
                task_id = path.split("/")[1]
                for tasks in self.tasks.values():
                    tasks[:] = [t for t in tasks if t["id"] != task_id]
                return 204, None
            for kind in sorted(self.tasks, key=len, reverse=True):
                if path == kind or path.startswith(kind + "/"):
                    return self._task_route(kind, method, path[len(kind) + 1:], query, payload)
        return 404, {"message": f"no route {method} {path}"}

    def _project_route(self, method: str, path: str, query: dict, payload: object) -> tuple[int, object]:
        project_id = path.partition("/")[2]
        if method == "POST":
            project = {"id": f"project-{next(self._ids)}", "slug": payload.get("slug"), "name": payload.get("name"),
                       "type": payload.get("type"), "status": "active"}
            self.projects.append(project)
            return 200, project["id"]
        if method == "DELETE":
            self.projects[:] = [p for p in self.projects if p["id"] != project_id]
            return 204, None
        if project_id:
            found = [p for p in self.projects if p["id"] == project_id]
            return (200, found[0]) if found else (404, {"message": "Project not found"})
        slug, limit = (query.get("slug") or [None])[0], int((query.get("limit") or [100])[0])
        return 200, [p for p in self.projects if slug in (None, p["slug"])][:limit]

    def _task_route(self, kind: str, method: str, task_id: str, query: dict, payload: object) -> tuple[int, object]:
        if method == "POST":
            task = {"id": f"task-{next(self._ids)}", "status": "registered", **_image_size(payload),
                    **{k: v for k, v in payload.items() if k != "file"}}
            task.setdefault("annotations", [])
            self.tasks[kind].append(task)
            return 200, task["id"]
        if task_id:
            found = [t for t in self.tasks[kind] if t["id"] == task_id]
            return (200, found[0]) if found else (404, {"message": "Task not found"})
        first = {key: values[0] for key, values in query.items()}
        rows = [t for t in self.tasks[kind] if t.get("project") == first.get("project")
                and first.get("taskName") in (None, t.get("name")) and first.get("status") in (None, t.get("status"))]
        offset, limit = int(first.get("offset", 0)), int(first.get("limit", 100))
        return 200, rows[offset:offset + limit]

    def __enter__(self) -> FakeFastLabel:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.fake = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def _image_size(payload: dict) -> dict:
    """width / height of an uploaded image, read from its header like the real service reports them."""
    if not isinstance(payload.get("file"), str):
        return {}
    import base64
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(payload["file"]))) as image:
        return {"width": image.width, "height": image.height}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake FastLabel API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="test-token")
    args = parser.parse_args()
    with FakeFastLabel(args.token, args.port) as fake:
        print(f"fake FastLabel API at {fake.url} (token {args.token!r}); Ctrl-C stops it")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
