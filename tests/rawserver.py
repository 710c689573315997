"""A raw-socket HTTP server for hostile-server tests: on 127.0.0.1 only, it answers each request
with what a test's handler scripts, byte by byte if need be (slow-loris, lying Content-Length, bad
chunking, gzip bombs, endless pages, redirects). Bounded: at most ``max_requests`` requests, each
connection closed after one answer, and everything stops after ``lifetime`` seconds or on exit."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MIB = 1 << 20
Part = bytes | float  # bytes are sent; a float is a pause in seconds


@dataclass
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    port: int = 0


def answer(status: int = 200, body: bytes | str | object = b"", headers: dict | None = None,
           reason: str = "OK") -> bytes:
    """A whole HTTP/1.1 answer (``Connection: close``); a body that is not bytes or str is JSON."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    fields = {"Content-Length": str(len(data)), "Connection": "close", **(headers or {})}
    return head(status, fields, reason) + data


def head(status: int, headers: dict, reason: str = "OK") -> bytes:
    """The status line and headers of an answer."""
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{key}: {value}" for key, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def gzip_bomb(mebibytes: int) -> bytes:
    """A gzip stream of ``mebibytes`` MiB of zeros, about 1 KB per MiB (one deflate block repeated
    after full flushes; its trailer is not checked by anyone who stops at a cap)."""
    zeros = b"\0" * MIB
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = stream.compress(zeros) + stream.flush(zlib.Z_FULL_FLUSH)
    repeated = stream.compress(zeros) + stream.flush(zlib.Z_FULL_FLUSH)
    body = first + repeated * (mebibytes - 1) + stream.flush()
    return b"\x1f\x8b\x08\x00\0\0\0\0\0\xff" + body + struct.pack("<II", 0, (mebibytes * MIB) & 0xFFFFFFFF)


class RawServer:
    """Serves ``handler(request) -> iterable of bytes / pauses`` on 127.0.0.1 in the background."""

    def __init__(self, handler: Callable[[Request], Iterable[Part]], *, max_requests: int = 100,
                 lifetime: float = 30.0) -> None:
        self.handler, self.max_requests, self.lifetime = handler, max_requests, lifetime
        self.requests: list[Request] = []
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._threads: list[threading.Thread] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> RawServer:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._started = time.monotonic()
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Callable, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _over(self) -> bool:
        return self._stop.is_set() or time.monotonic() - self._started > self.lifetime

    def _accept(self) -> None:
        served = 0
        while not self._over() and served < self.max_requests:
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            served += 1
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                request = self._read(connection)
                if request is None:
                    return
                self.requests.append(request)
                for part in self.handler(request):
                    if self._over():
                        return
                    if isinstance(part, float):
                        self._stop.wait(part)
                    else:
                        connection.sendall(part)
            except OSError:  # the client went away (what a cut-off client does)
                return

    def _read(self, connection: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk or len(data) > 1 << 16:
                return None
            data += chunk
        top, body = data.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {key.strip().lower(): value.strip() for key, _, value in (line.partition(":") for line in lines[1:])}
        length = min(int(headers.get("content-length") or 0), 16 * MIB)
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return Request(method, path, headers, body, self.port)


@dataclass
class Routes:
    """A handler from a table: path prefix → answer parts (or a function of the request)."""

    table: dict[str, object] = field(default_factory=dict)

    def __call__(self, request: Request) -> Iterable[Part]:
        path = request.path.split("?", 1)[0]
        for prefix, reply in sorted(self.table.items(), key=lambda item: -len(item[0])):
            if path.startswith(prefix):
                return reply(request) if callable(reply) else reply
        return [answer(404, {"message": f"no route {path}"})]
