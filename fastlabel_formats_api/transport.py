"""One object owns the HTTP side: session, auth, timeouts, retries, rate limit, error mapping.

Success and error semantics per verb follow the official client (GET: 200 only; POST: 200,
204 → None; PUT: 200 (empty → None), 204; DELETE: 200/204 → None). Beyond the official client:
one ``requests.Session``, timeouts, retries with exponential backoff and jitter on 429/502/503/504
and connection errors (``Retry-After`` honoured; POST only on 429 and on connections that never
got through), a client-side limiter under 10,000 calls per 600 s, error bodies without JSON or
without ``message`` handled, and a token that never shows in reprs, logs or exceptions.

A server is not trusted (see :mod:`.guards`): every call has a deadline (``timeout[0]`` seconds to
connect, and the whole call, retries and their waits included, within ``timeout[0] + timeout[1]``
seconds; a file transfer within ``timeout[0] + file_timeout``; a retry whose wait would not fit is
not made, and a call past its deadline is never repeated), bodies are read through a byte cap (:data:`MAX_JSON_BYTES`,
:data:`MAX_FILE_BYTES`) with ``gzip``/``deflate`` inflated through it, a redirect is followed only
for a GET (an API call only to the API's own origin, a file only where files may come from), files
come only over http(s) and never from a local address other than the API's own (unless
``allow_loopback_files``), and whatever goes wrong on the wire raises :class:`FastLabelException`.
"""

from __future__ import annotations

import collections
import email.utils
import http.client
import json
import math
import os
import random
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests
import urllib3

from fastlabel_formats.files import atomic_output

from .exceptions import FastLabelException, FastLabelInvalidException
from .guards import (
    WATCHDOG,
    GuardError,
    OverCap,
    Watch,
    WatchedAdapter,
    body_pieces,
    content_length,
    current_watch,
    local_address,
)

DEFAULT_BASE_URL = "https://api.fastlabel.ai/v1/"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_AFTER = 60.0  # seconds: a server asking for a longer wait gets the error instead
MESSAGE_CHARS = 2_000  # an error body longer than this is cut (a 20 MB page is not a message)
USER_AGENT = "fastlabel-formats/0.1.0 (+python-requests)"
MIB = 1 << 20
MAX_JSON_BYTES = 32 * MIB  # an API answer (a page of tasks, …) larger than this, decoded, is refused
MAX_ERROR_BYTES = 64 * 1024  # of an error answer only this much is read (its message is cut anyway)
MAX_FILE_BYTES = 4 << 30  # a file larger than this, decoded, is refused (the largest upload: a 2,000 MiB DICOM zip)
MAX_FILE_INFLATION = 100.0  # a compressed file inflating beyond this ratio (plus 1 MiB) is a bomb
FILE_TIMEOUT = 900.0  # seconds a file transfer may take after the connect (``timeout[1]`` is for API calls)
MAX_REDIRECTS = 5
LOOPBACK_FLAG = "FASTLABEL_ALLOW_LOOPBACK_FILES"  # "1": files may come from any local address (tests)
WIRE_ERRORS = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
               OSError)  # what a broken answer raises while its body is read
Result = TypeVar("Result")
def _location_aside(response: requests.Response, *args: object, **kwargs: object) -> requests.Response:
    """A response hook: a redirect's ``Location`` is taken out of its headers into
    ``response.fastlabel_location`` before requests looks at it. Told not to follow redirects,
    requests would otherwise read the redirect's whole body (no cap, no matter its size) to offer
    ``response.next``, and fail outside its own exceptions on a body it cannot decode; the
    transport follows redirects itself, reading none of their bodies."""
    location = response.headers.pop("Location", None) if response.status_code in REDIRECT_STATUSES else None
    response.fastlabel_location = location
    return response


class RateLimiter:
    """Keeps at most ``calls`` calls in any ``period`` seconds (clock and sleep injectable)."""

    def __init__(self, calls: int = 10_000, period: float = 600.0, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.calls, self.period, self.clock, self.sleep = calls, period, clock, sleep
        self.recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()  # threads sharing a client share one window

    def wait(self) -> float:
        """Block until one more call fits; returns the seconds waited. Thread-safe: a call's slot
        is taken under the lock, the sleep happens outside it."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                while self.recent and self.recent[0] <= now - self.period:
                    self.recent.popleft()
                if len(self.recent) < self.calls:
                    self.recent.append(now)
                    return waited
                pause = self.recent[0] + self.period - now
            self.sleep(pause)
            waited += pause


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None when the header
    is absent or unreadable (``nan``, ``inf``, garbage: the backoff applies)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return None if moment is None else max(moment.timestamp() - time.time(), 0.0)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + f"… ({len(text):,} characters)"


def error_message(response: requests.Response) -> object:
    """The ``message`` of a JSON error body, else the raw text (never a KeyError), cut to a sane length."""
    try:
        body = response.json()
    except ValueError:
        return _short(response.text)
    message = body["message"] if isinstance(body, dict) and "message" in body else response.text
    return _short(message) if isinstance(message, str) else message


@dataclass
class Answer:
    """A response read whole (through its cap): status, headers, body."""

    status_code: int
    headers: requests.structures.CaseInsensitiveDict
    content: bytes

    def json(self) -> object:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def _where(url: str) -> str:
    """``url`` without its query (signed query strings are secrets too)."""
    return url.split("?", 1)[0]


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url`` (empty for a URL that cannot be read)."""
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme, parts.hostname or "", parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return "", "", None


def _joined(url: str, location: str) -> str:
    """Where a ``Location`` header leads from ``url`` (the header itself when it cannot be read)."""
    try:
        return urllib.parse.urljoin(url, location)
    except ValueError:
        return location


def _size(count: int) -> str:
    return f"{count / MIB:g} MiB" if count % MIB == 0 else f"{count:,} bytes"


class Transport:
    """Sends API calls; ``request(method, path, params, payload)`` returns the parsed result.

    ``timeout``: (seconds to connect, seconds the rest of an API call may take); ``file_timeout``:
    the same for a file transfer; ``max_json_bytes`` / ``max_file_bytes``: the caps of API answers
    and files; ``max_pages``: how many pages an ``iter_*`` method reads at most;
    ``allow_loopback_files``: files may come from any local address (default: the
    ``FASTLABEL_ALLOW_LOOPBACK_FILES=1`` environment variable; for tests). A given ``session``
    gets this transport's adapters mounted (they make the deadlines hold)."""

    def __init__(self, access_token: str | None = None, *, base_url: str | None = None,
                 timeout: tuple[float, float] = (10.0, 120.0), max_retries: int = 5, backoff: float = 0.5,
                 limiter: RateLimiter | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, file_timeout: float = FILE_TIMEOUT,
                 max_json_bytes: int = MAX_JSON_BYTES, max_file_bytes: int = MAX_FILE_BYTES,
                 max_pages: int | None = None, allow_loopback_files: bool | None = None) -> None:
        token = access_token or os.environ.get("FASTLABEL_ACCESS_TOKEN")
        if not token:
            raise ValueError("FASTLABEL_ACCESS_TOKEN is not configured.")
        self.base_url = base_url or os.environ.get("FASTLABEL_API_URL") or DEFAULT_BASE_URL
        self.timeout, self.max_retries, self.backoff, self.sleep = timeout, max_retries, backoff, sleep
        self.file_timeout, self.max_json_bytes, self.max_file_bytes = file_timeout, max_json_bytes, max_file_bytes
        self.max_pages = max_pages
        self.allow_loopback_files = (os.environ.get(LOOPBACK_FLAG) == "1" if allow_loopback_files is None
                                     else allow_loopback_files)
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.session = session or requests.Session()
        adapter = WatchedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                         "User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        self._local_hosts: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token=***)"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def request(self, method: str, path: str, params: dict | None = None, payload: object = None) -> object:
        """One logical API call, retried as the module docstring says."""
        body = payload if payload is not None else ({} if method in ("POST", "PUT") else None)
        answer = self._call(method, self.base_url + path, "api", self._read_answer, headers=self._headers,
                            params=params or None, json=body)
        return _result(method, answer)

    def upload(self, url: str, path: str | os.PathLike[str]) -> None:
        """PUT a file to a signed URL as multipart ``file`` (no auth header); a failure raises."""
        with open(path, "rb") as file:
            answer = self._call("PUT", url, "file", self._read_answer, headers={"User-Agent": USER_AGENT},
                                limited=False, files={"file": (os.path.basename(path), file)})
        _check_storage(answer, url)

    def download(self, url: str, path: str | os.PathLike[str]) -> Path:
        """GET a signed URL (no auth header) streamed into ``path``, atomically; a failure raises."""
        self.fetch(url, path, keep_same_size=False)
        return Path(path)

    def fetch(self, url: str, path: str | os.PathLike[str], *, keep_same_size: bool = True,
              on_bytes: Callable[[int], object] | None = None) -> int:
        """Like :meth:`download`; with ``keep_same_size`` a file already at ``path`` with the size the
        storage announces is kept (its body is not read). The number of bytes written (0: kept)."""
        def save(response: requests.Response, url: str) -> int:
            if not 200 <= response.status_code < 300:
                _check_storage(self._read_answer(response, url), url)
            announced = None if response.headers.get("Content-Encoding") else content_length(response)
            target = Path(path)
            if keep_same_size and announced is not None and target.is_file() and target.stat().st_size == announced:
                return 0
            written = 0
            with atomic_output(target) as file:
                for piece in self._pieces(response, url, self.max_file_bytes, "max_file_bytes", MAX_FILE_INFLATION):
                    file.write(piece)
                    written += len(piece)
                    if on_bytes is not None:
                        on_bytes(len(piece))
            response.raw.release_conn()
            return written

        return self._call("GET", url, "file", save, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                          limited=False)

    def _call(self, method: str, url: str, kind: str, consume: Callable[[requests.Response, str], Result], *,
              headers: dict, limited: bool = True, **options) -> Result:
        """One logical call (``kind``: "api" or "file") within its deadline, attempts retried as the
        module docstring says while the wait fits in it, ``consume(response, final_url)`` reading the
        last answer. Time spent waiting for the client-side limiter does not count."""
        seconds = self.timeout[0] + (self.timeout[1] if kind == "api" else self.file_timeout)
        deadline = time.monotonic() + seconds
        for attempt in range(self.max_retries + 1):
            if limited:
                deadline += self.limiter.wait()
            with WATCHDOG.watch(deadline - time.monotonic()) as watch:
                try:
                    response, final = self._open(method, url, kind, watch, headers, options)
                except WIRE_ERRORS as error:
                    if watch.past():
                        raise _late(method, url, seconds) from None
                    delay = self._delay(attempt, None) if _may_retry_connection(method, error) else None
                    if not _fits(delay, attempt < self.max_retries, deadline):
                        raise FastLabelException(f"connection to {_where(url)} failed: {type(error).__name__}"
                                                 ) from None
                else:
                    delay = self._retry_delay(method, response, attempt)
                    if not _fits(delay, attempt < self.max_retries, deadline):
                        return self._consume(consume, response, final, method, watch, seconds)
                    response.close()
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _retry_delay(self, method: str, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before repeating the call that got ``response``; None: it is the answer
        (also when the server asks for a wait beyond the cap: its answer, with its wait, is the error)."""
        if response.status_code in RETRY_STATUSES and (method != "POST" or response.status_code == 429):
            return self._delay(attempt, response.headers.get("Retry-After"))
        return None

    def _open(self, method: str, url: str, kind: str, watch: Watch, headers: dict,
              options: dict) -> tuple[requests.Response, str]:
        """The answer to ``method url`` (a GET's redirects followed where allowed) and its URL."""
        for _ in range(MAX_REDIRECTS + 1):
            if kind == "file":
                self._check_file_url(url)
            try:
                response = self.session.request(method, url, headers=headers, allow_redirects=False, stream=True,
                                                timeout=(min(self.timeout[0], watch.remaining()), watch.remaining()),
                                                hooks={"response": _location_aside}, **options)
            except ValueError as error:  # a URL requests cannot send (its own InvalidURL included)
                raise FastLabelException(f"cannot send {method} {_where(url)[:200]!r}: {error}") from None
            location = response.fastlabel_location
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response, url
            response.close()
            target = _joined(url, location)
            self._check_redirect(method, url, target, kind, response.status_code)
            url, options = target, {key: value for key, value in options.items() if key != "params"}
        raise FastLabelException(f"{method} {_where(url)}: more than {MAX_REDIRECTS} redirects")

    def _check_redirect(self, method: str, url: str, target: str, kind: str, status: int) -> None:
        if not _origin(target)[1]:
            raise FastLabelException(f"{method} {_where(url)} was redirected ({status}) to an unreadable URL "
                                     f"{_where(target)[:200]!r}", status)
        if method != "GET":
            raise FastLabelException(f"{method} {_where(url)} was redirected ({status}) to {_where(target)}; "
                                     f"a {method} is not sent again elsewhere (give the server's final URL)", status)
        if kind == "api" and _origin(target) != _origin(url):
            raise FastLabelException(f"GET {_where(url)} was redirected ({status}) to another host "
                                     f"({_where(target)}); the access token is not sent there", status)

    def _check_file_url(self, url: str) -> None:
        """Files come over http(s), and from a local address only when it is the API's own."""
        scheme, host, _ = _origin(url)
        if scheme not in ("http", "https") or not host:
            raise FastLabelException(f"refusing the file URL {_where(url)[:200]!r}: only http and https URLs "
                                     "are fetched")
        if self.allow_loopback_files or _origin(url)[1:] == _origin(self.base_url)[1:]:
            return
        if host not in self._local_hosts:
            self._local_hosts[host] = local_address(host)
        if self._local_hosts[host]:
            raise FastLabelException(f"refusing the file URL {_where(url)}: it names a local address ({host}) "
                                     f"other than the API's own (set {LOOPBACK_FLAG}=1 to allow it in tests)")

    def _consume(self, consume: Callable[[requests.Response, str], Result], response: requests.Response,
                 url: str, method: str, watch: Watch, seconds: float) -> Result:
        try:
            result = consume(response, url)
        except FastLabelException as error:
            if watch.past() and error.code is None:
                raise _late(method, url, seconds) from None
            raise
        finally:
            response.close()
        if watch.expired:  # cut off: a body read until the connection closed may look complete
            raise _late(method, url, seconds)
        return result

    def _pieces(self, response: requests.Response, url: str, cap: int, setting: str,
                inflation: float | None = None) -> Iterator[bytes]:
        """The decoded body through ``cap``; FastLabelException for a body over it or a broken one."""
        pieces, watch = body_pieces(response, cap, inflation=inflation), current_watch()
        while True:
            if watch is not None and watch.past():
                raise FastLabelException(f"the answer of {_where(url)} was still coming at the deadline")
            try:
                piece = next(pieces)
            except StopIteration:
                return
            except GuardError as error:
                cap_text = f" (the cap is {_size(cap)}, Transport {setting})" if isinstance(error, OverCap) else ""
                raise FastLabelException(f"the answer of {_where(url)} is refused: {error}{cap_text}") from None
            except WIRE_ERRORS as error:
                raise FastLabelException(f"the answer of {_where(url)} broke off: {type(error).__name__}"
                                         ) from None
            yield piece

    def _read_answer(self, response: requests.Response, url: str) -> Answer:
        """The whole answer: a 2xx body through ``max_json_bytes``, an error's first
        :data:`MAX_ERROR_BYTES` (the rest is not read)."""
        success = 200 <= response.status_code < 300
        pieces: list[bytes] = []  # joined once at the end (a growing buffer copies, and fragments the heap)
        received = 0
        cap = self.max_json_bytes if success else sys.maxsize
        for piece in self._pieces(response, url, cap, "max_json_bytes"):
            pieces.append(piece)
            received += len(piece)
            if not success and received >= MAX_ERROR_BYTES:
                return Answer(response.status_code, response.headers, b"".join(pieces)[:MAX_ERROR_BYTES])
        response.raw.release_conn()  # read whole: the connection serves the next call
        return Answer(response.status_code, response.headers, b"".join(pieces))

    def _delay(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for more than
        :data:`MAX_RETRY_AFTER` (the caller then gets the error at once)."""
        told = retry_after_seconds(retry_after)
        if told is not None:
            return told if told <= MAX_RETRY_AFTER else None
        return self.backoff * (2 ** attempt) + random.uniform(0, self.backoff)


def _late(method: str, url: str, seconds: float) -> FastLabelException:
    return FastLabelException(f"{method} {_where(url)} did not finish within {seconds:g} s "
                              "(Transport timeout: connect + the rest of the call)")


def _fits(delay: float | None, attempts_left: bool, deadline: float) -> bool:
    """Whether another attempt after ``delay`` seconds (None: none is wanted) can still start in time."""
    return delay is not None and attempts_left and time.monotonic() + delay < deadline


def _may_retry_connection(method: str, error: Exception) -> bool:
    if method != "POST":
        return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))
    # a POST is repeated only when it surely never reached the server
    return isinstance(error, requests.exceptions.ConnectTimeout) or "NewConnectionError" in repr(error)


def _check_storage(answer: Answer, url: str) -> None:
    if not 200 <= answer.status_code < 300:
        raise _from_server(FastLabelException(f"storage request to {_where(url)} failed: {answer.text[:200]}",
                                              answer.status_code))


def _from_server(error: FastLabelException) -> FastLabelException:
    error.from_server = True
    return error


def _json(response: Answer) -> object:
    """The parsed 2xx body; FastLabelException with the status and an excerpt when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        excerpt = response.content[:200].decode("utf-8", "replace")
        raise FastLabelException(f"the API answered {response.status_code} with a body that is not JSON: "
                                 f"{excerpt!r}", response.status_code) from None


def _result(method: str, response: Answer) -> object:
    status = response.status_code
    if method == "GET" and status == 200:
        return _json(response)
    if method == "POST" and status in (200, 204):
        return _json(response) if status == 200 else None
    if method == "PUT" and status in (200, 204):
        return _json(response) if status == 200 and response.content else None
    if method == "DELETE" and status in (200, 204):
        return None
    exception = FastLabelInvalidException if str(status).startswith("4") else FastLabelException
    message = error_message(response)
    wait = response.headers.get("Retry-After")
    asked = retry_after_seconds(wait) if status in RETRY_STATUSES else None
    if asked is not None and asked > MAX_RETRY_AFTER:
        message = f"{message} (the server asks to wait {wait} s, more than the {MAX_RETRY_AFTER:g} s we wait)"
    raise _from_server(exception(message, status))
