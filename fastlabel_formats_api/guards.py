"""What keeps a hostile or broken server from hurting the client: per-call deadlines, bodies read
through a byte cap (compressed ones inflated through it), and the hosts files may come from.

* **Deadlines.** :class:`Watchdog` runs one daemon thread; a call :meth:`~Watchdog.watch`-es its
  deadline, and the connections it uses (registered by the connection classes of
  :class:`WatchedAdapter`) are shut down when the deadline passes, which ends a blocked send or
  receive at once, whatever the server trickles (a connect is bounded by its own timeout; a SOCKS
  proxy's connections are not registered: their bodies stop at the next piece past the deadline).
* **Bodies.** :func:`body_pieces` yields a response's decoded body in pieces of at most
  :data:`PIECE_BYTES`, raising once more than the cap has come; ``gzip`` and ``deflate`` are
  inflated piece by piece (``zlib`` ``max_length``), so a bomb never takes more than a piece.
* **Hosts.** :func:`local_address` says whether a host is a loopback, link-local, unspecified or
  multicast address (names resolved), which files may not come from unless allowed.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

PIECE_BYTES = 64 * 1024  # bytes read (and inflated) at a time
ENCODINGS = {"gzip": 31, "x-gzip": 31, "deflate": None}  # Content-Encoding → zlib wbits (None: sniffed)


class GuardError(Exception):
    """A body that cannot be decoded (the transport names the call)."""


class OverCap(GuardError):
    """A body over its cap (the transport names the call and the cap)."""


@dataclass(eq=False)
class Watch:
    """One call's deadline and the connections it used."""

    seconds: float
    deadline: float
    expired: bool = False
    done: bool = False
    connections: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def past(self) -> bool:
        """Whether the deadline has passed (whoever noticed first: the watchdog or a socket timeout)."""
        return self.expired or time.monotonic() >= self.deadline

    def remaining(self) -> float:
        """Seconds left (never below a millisecond: a zero timeout would mean 'non-blocking')."""
        return max(self.deadline - time.monotonic(), 0.001)

    def add(self, connection: HTTPConnection) -> None:
        """Watch ``connection`` too (cut at once when the deadline already passed)."""
        with self.lock:
            self.connections.append(connection)
            if self.expired:
                _cut(connection)

    def expire(self) -> None:
        """The deadline passed: shut every connection down."""
        with self.lock:
            if self.done:
                return
            self.expired = True
            for connection in self.connections:
                _cut(connection)


def _cut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:  # the plain socket's shutdown, also for TLS sockets (no TLS state touched across threads)
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


_CURRENT = threading.local()


class Watchdog:
    """One daemon thread that expires the :class:`Watch` of every call past its deadline."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """No deadlines, no thread (also what a forked child starts from: the lock may have been
        held by a thread the child does not have)."""
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> _Watching:
        """A context manager: the block's connections are cut ``seconds`` from now."""
        return _Watching(self, seconds)

    def _arm(self, watch: Watch) -> None:
        with self._condition:
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fastlabel-deadlines", daemon=True)
                self._thread.start()
            self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


class _Watching:
    def __init__(self, watchdog: Watchdog, seconds: float) -> None:
        self.watchdog, self.watch = watchdog, Watch(seconds, time.monotonic() + seconds)

    def __enter__(self) -> Watch:
        self.watchdog._arm(self.watch)
        self.outer, _CURRENT.watch = getattr(_CURRENT, "watch", None), self.watch
        return self.watch

    def __exit__(self, *exc) -> None:
        _CURRENT.watch = self.outer
        with self.watch.lock:
            self.watch.done = True
            self.watch.connections.clear()


WATCHDOG = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG.reset)


def current_watch() -> Watch | None:
    """The :class:`Watch` of the call running on this thread, if any."""
    return getattr(_CURRENT, "watch", None)


def _register(connection: HTTPConnection) -> None:
    watch = current_watch()
    if watch is not None:
        watch.add(connection)


class _Watched:
    """A connection that registers itself with the call's watchdog when it connects or sends."""

    def connect(self) -> None:
        super().connect()
        _register(self)

    def request(self, *args, **kwargs) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections the :data:`WATCHDOG` can cut (direct and through HTTP proxies)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs) -> urllib3.PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Inflater:
    """Inflates a gzip (members one after another) or deflate (zlib or raw) stream in bounded pieces."""

    def __init__(self, encoding: str) -> None:
        self.wbits = ENCODINGS[encoding]
        self.stream: zlib._Decompress | None = None
        self.ended = False  # a deflate stream ended: what follows is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated pieces of the next compressed bytes."""
        while not self.ended:
            if self.stream is None:
                if not data:
                    return
                self.stream = zlib.decompressobj(self.wbits if self.wbits is not None else _deflate_wbits(data))
            try:
                piece = self.stream.decompress(data, PIECE_BYTES)
            except zlib.error as error:
                raise GuardError(f"the compressed body is not valid ({error})") from None
            if piece:
                yield piece
            data = self.stream.unconsumed_tail
            if self.stream.eof:  # a gzip member ended (another may follow); a deflate stream ended
                data, self.stream = self.stream.unused_data, None
                self.ended = self.wbits is None
            elif not data and len(piece) < PIECE_BYTES:
                return

    def finish(self) -> None:
        """The stream ended: it must have ended where the compressed data says."""
        if self.stream is not None and not self.stream.eof:
            raise GuardError("the compressed body is cut short")


def _deflate_wbits(data: bytes) -> int:
    """``deflate`` is meant to be zlib-wrapped but some servers send it raw: look at the header."""
    zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return 15 if zlib_header else -15


def content_length(response: requests.Response) -> int | None:
    """The announced length, or None (absent or unreadable)."""
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def body_pieces(response: requests.Response, cap: int, *, inflation: float | None = None) -> Iterator[bytes]:
    """The decoded body of a streamed ``response`` in pieces; :class:`GuardError` once more than
    ``cap`` bytes came (or, with ``inflation``, more than that many times the bytes received plus
    a MiB: a compression bomb), for an unknown Content-Encoding, or a compressed body that is cut
    short. Errors of the connection (``requests``/``urllib3``/``OSError``) pass through."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", *ENCODINGS):
        raise GuardError(f"the body has a Content-Encoding we did not ask for: {encoding[:40]!r}")
    announced = content_length(response)
    if encoding in ("", "identity") and announced is not None and announced > cap:
        raise OverCap(f"the server announces {announced:,} bytes")
    inflater = _Inflater(encoding) if encoding in ENCODINGS else None
    received = decoded = 0
    while True:
        data = response.raw.read(PIECE_BYTES, decode_content=False)
        if not data:
            break
        received += len(data)
        for piece in inflater.feed(data) if inflater else (data,):
            decoded += len(piece)
            if decoded > cap:
                raise OverCap("it goes on past the cap")
            if inflation is not None and decoded > inflation * received + (1 << 20):
                raise GuardError(f"{received:,} compressed bytes inflate beyond {inflation:g} times their size "
                                 "(a compression bomb)")
            yield piece
    if inflater:
        inflater.finish()


LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _local_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def local_address(host: str, resolve: bool = True) -> bool:
    """Whether ``host`` is (or, resolved, names) a loopback, link-local, unspecified or multicast
    address. A name that does not resolve is not local (its connection fails later)."""
    host = host.lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return _local_ip(host)
    if not resolve:
        return False
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return any(_local_ip(str(entry[4][0])) for entry in found)
