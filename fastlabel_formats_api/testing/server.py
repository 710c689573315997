"""The HTTP side of the fake: a threaded server on 127.0.0.1, auth, fault injection, request log."""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import json
import random
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .handlers import FakeState
from .state import Answer, route_table


@dataclass
class Fault:
    """What the next ``times`` requests get instead of (or before) the normal answer."""

    times: int
    status: int | None = None
    body: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    drop: bool = False
    method: str | None = None  # only requests of this verb …
    path: str | None = None  # … whose path (after /v1/, or storage/…) starts with this

    def applies(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


@dataclass
class Logged:
    """One request as the server saw it (``payload``: parsed JSON, or the raw bytes of a storage call)."""

    method: str
    path: str
    query: dict
    payload: object
    headers: dict = field(repr=False, default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind a load balancer
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body leave in one segment (no 40 ms delayed-ACK stalls)

    def log_message(self, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake.connections.add(self.connection)

    def finish(self) -> None:
        self.server.fake.connections.discard(self.connection)
        super().finish()

    def _handle(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake, query = self.server.fake, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        storage = url.path.startswith("/storage/")
        path = url.path.removeprefix("/storage/" if storage else "/v1/")
        try:
            payload = raw if storage else (json.loads(raw) if raw else None)
        except ValueError:
            payload = raw
        fake.log.append(Logged(method, ("storage/" if storage else "") + path, query, payload, dict(self.headers)))
        fault = fake.next_fault(method, ("storage/" if storage else "") + path)
        if fault is not None and self._fault(fault):
            return
        if storage:
            time.sleep(fake.file_latency(path))
            return self._send(*fake.storage(method, path, raw, self.headers.get("Content-Type", "")))
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._send(401, json.dumps({"message": "Unauthorized"}))
        if method in ("POST", "PUT") and not isinstance(payload, dict):
            return self._send(400, json.dumps({"message": "the body must be a JSON object"}))
        status, body = fake.route(method, path, query, payload)
        self._send(status, "" if body is None else json.dumps(body))

    def _fault(self, fault: Fault) -> bool:
        time.sleep(fault.delay)
        if fault.drop:
            self.close_connection = True
            self.connection.close()
            return True
        if fault.status is None:
            return False
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        body = fault.body if fault.body is not None else json.dumps({"message": f"injected {fault.status}"})
        self._send(fault.status, body, headers)
        return True

    def _send(self, status: int, body: str | bytes, headers: dict | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if isinstance(body, str) else "application/octet-stream")
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
    """The fake API; a context manager serving it in a background thread. The stores of
    :class:`~.handlers.FakeState` (``tasks``, ``projects``, ``datasets``, …) are reachable as attributes."""

    def __init__(self, token: str = "test-token", port: int = 0) -> None:
        self.token, self.port = token, port
        self.state = FakeState()
        self.log: list[Logged] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._routes = route_table(self.state)
        self._server: _Server | None = None
        self.connections: set = set()  # open keep-alive connections, closed on exit
        self.file_delay = (0.0, 0.0)  # every storage answer waits a uniform time in this range (s)

    def file_latency(self, path: str) -> float:
        """How long the answer for storage ``path`` waits: uniform in ``file_delay``, as a remote
        storage's answers arrive out of order."""
        low, high = self.file_delay
        return random.uniform(low, high) if high > 0 else 0.0

    def __getattr__(self, name: str) -> object:
        if name.startswith("_") or name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/"

    def inject(self, *, times: int = 1, status: int | None = None, body: str | None = None,
               retry_after: str | None = None, delay: float = 0.0, drop: bool = False, method: str | None = None,
               path: str | None = None) -> None:
        """Make the next ``times`` requests (of ``method`` to a path starting with ``path``, when
        given) fail (status / body / Retry-After), stall or drop."""
        self._faults.append(Fault(times, status, body, retry_after, delay, drop, method, path))

    def next_fault(self, method: str = "GET", path: str = "") -> Fault | None:
        with self._lock:
            if not self._faults or not self._faults[0].applies(method, path):
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault

    def route(self, method: str, path: str, query: dict, payload: object) -> tuple[int, object]:
        """The contract's answer (404 with a message for unknown routes)."""
        with self._lock:
            for verb, pattern, handler in self._routes:
                match = pattern.match(path)
                if verb == method and match:
                    try:
                        return handler(query=query, payload=payload, **match.groupdict())
                    except Answer as answer:
                        return answer.status, {"message": answer.message}
        return 404, {"message": f"no route {method} {path}"}

    def storage(self, method: str, key: str, raw: bytes, content_type: str) -> tuple[int, bytes | str]:
        """Signed-URL storage: GET a blob, PUT a multipart upload (field ``file``)."""
        with self._lock:
            if method == "GET" and key in self.state.blobs:
                return 200, self.state.blobs[key]
            if method == "PUT" and key.startswith("uploads/"):
                message = email.parser.BytesParser().parsebytes(
                    b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
                parts = [part for part in message.get_payload() if message.is_multipart()
                         and part.get_param("name", header="content-disposition") == "file"]
                if not parts:
                    return 400, json.dumps({"message": "multipart field 'file' is missing"})
                self.state.blobs[key] = parts[0].get_payload(decode=True)
                return 200, ""
        return 404, json.dumps({"message": f"no object {key}"})

    def __enter__(self) -> FakeFastLabel:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.fake = self
        self.state.storage_url = f"http://127.0.0.1:{self._server.server_address[1]}/storage/"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self.connections):  # ends the handler threads waiting on keep-alive
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake FastLabel API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="test-token")
    args = parser.parse_args()
    with FakeFastLabel(args.token, args.port) as fake:
        print(f"fake FastLabel API at {fake.url} (token {args.token!r}); Ctrl-C stops it", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
