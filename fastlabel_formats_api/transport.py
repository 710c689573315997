"""One object owns the HTTP side: session, auth, timeouts, retries, rate limit, error mapping.

Success and error semantics per verb follow ``api-contract.md`` §1 (GET: 200 only; POST: 200,
204 → None; PUT: 200 (empty → None), 204; DELETE: 200/204 → None). Beyond the official client:
one ``requests.Session``, timeouts, retries with exponential backoff and jitter on 429/502/503/504
and connection errors (``Retry-After`` honoured; POST only on 429 and on connections that never
got through), a client-side limiter under 10,000 calls per 600 s, error bodies without JSON or
without ``message`` handled, and a token that never shows in reprs, logs or exceptions.
"""

from __future__ import annotations

import collections
import email.utils
import math
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from fastlabel_formats.files import atomic_output

from .exceptions import FastLabelException, FastLabelInvalidException

DEFAULT_BASE_URL = "https://api.fastlabel.ai/v1/"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # seconds: a server asking for a longer wait gets the error instead
MESSAGE_CHARS = 2_000  # an error body longer than this is cut (a 20 MB page is not a message)
USER_AGENT = "fastlabel-formats/0.1.0 (+python-requests)"


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


class Transport:
    """Sends API calls; ``request(method, path, params, payload)`` returns the parsed result."""

    def __init__(self, access_token: str | None = None, *, base_url: str | None = None,
                 timeout: tuple[float, float] = (10.0, 120.0), max_retries: int = 5, backoff: float = 0.5,
                 limiter: RateLimiter | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        token = access_token or os.environ.get("FASTLABEL_ACCESS_TOKEN")
        if not token:
            raise ValueError("FASTLABEL_ACCESS_TOKEN is not configured.")
        self.base_url = base_url or os.environ.get("FASTLABEL_API_URL") or DEFAULT_BASE_URL
        self.timeout, self.max_retries, self.backoff, self.sleep = timeout, max_retries, backoff, sleep
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.session = session or requests.Session()
        self._headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                         "User-Agent": USER_AGENT}

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token=***)"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def request(self, method: str, path: str, params: dict | None = None, payload: object = None) -> object:
        """One logical API call, retried as the module docstring says."""
        body = payload if payload is not None else ({} if method in ("POST", "PUT") else None)
        response = self._send(method, self.base_url + path, headers=self._headers, params=params or None, json=body)
        return _result(method, response)

    def upload(self, url: str, path: str | os.PathLike[str]) -> None:
        """PUT a file to a signed URL as multipart ``file`` (no auth header); a failure raises."""
        with open(path, "rb") as file:
            response = self._send("PUT", url, headers={"User-Agent": USER_AGENT}, limited=False,
                                  files={"file": (os.path.basename(path), file)})
        _check_storage(response, url)

    def download(self, url: str, path: str | os.PathLike[str]) -> Path:
        """GET a signed URL (no auth header) streamed into ``path``, atomically; a failure raises."""
        self.fetch(url, path, keep_same_size=False)
        return Path(path)

    def fetch(self, url: str, path: str | os.PathLike[str], *, keep_same_size: bool = True,
              on_bytes: Callable[[int], object] | None = None) -> int:
        """Like :meth:`download`; with ``keep_same_size`` a file already at ``path`` with the size the
        storage announces is kept (its body is not read). The number of bytes written (0: kept)."""
        response = self._send("GET", url, headers={"User-Agent": USER_AGENT}, limited=False, stream=True)
        with response:
            _check_storage(response, url)
            path = Path(path)
            announced = response.headers.get("Content-Length")
            if keep_same_size and announced is not None and path.is_file() and str(path.stat().st_size) == announced:
                return 0
            written = 0
            with atomic_output(path) as file:
                for block in response.iter_content(1 << 20):
                    file.write(block)
                    written += len(block)
                    if on_bytes is not None:
                        on_bytes(len(block))
        return written

    def _send(self, method: str, url: str, *, headers: dict, limited: bool = True, **options) -> requests.Response:
        for attempt in range(self.max_retries + 1):
            if limited:
                self.limiter.wait()
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **options)
            except requests.exceptions.RequestException as error:
                if attempt < self.max_retries and _may_retry_connection(method, error):
                    self.sleep(self._delay(attempt, None))
                    continue
                raise FastLabelException(f"connection to the FastLabel API failed: {type(error).__name__}") from None
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries and (
                    method != "POST" or response.status_code == 429):
                delay = self._delay(attempt, response.headers.get("Retry-After"))
                if delay is None:  # a wait beyond the cap: the server's answer, with its wait, is the error
                    return response
                response.close()
                self.sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for more than
        :data:`MAX_RETRY_AFTER` (the caller then gets the error at once)."""
        told = retry_after_seconds(retry_after)
        if told is not None:
            return told if told <= MAX_RETRY_AFTER else None
        return self.backoff * (2 ** attempt) + random.uniform(0, self.backoff)


def _may_retry_connection(method: str, error: Exception) -> bool:
    if method != "POST":
        return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))
    # a POST is repeated only when it surely never reached the server
    return isinstance(error, requests.exceptions.ConnectTimeout) or "NewConnectionError" in repr(error)


def _check_storage(response: requests.Response, url: str) -> None:
    if not 200 <= response.status_code < 300:
        where = url.split("?", 1)[0]  # signed query strings are secrets too
        raise FastLabelException(f"storage request to {where} failed: {response.text[:200]}", response.status_code)


def _json(response: requests.Response) -> object:
    """The parsed 2xx body; FastLabelException with the status and an excerpt when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        excerpt = response.content[:200].decode("utf-8", "replace")
        raise FastLabelException(f"the API answered {response.status_code} with a body that is not JSON: "
                                 f"{excerpt!r}", response.status_code) from None


def _result(method: str, response: requests.Response) -> object:
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
    raise exception(message, status)
