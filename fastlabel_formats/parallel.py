"""Work spread over spawned worker processes, results handed back in submission order.

Workers are started with ``spawn`` (never ``fork``): nothing of the parent is inherited, so the
same code runs on Linux, macOS and Windows and on Python 3.12+ with threads alive. Everything a
worker needs travels pickled with its work item (a chunk table and the targets' plans), and at
most ``window`` items are in flight, so memory stays bounded however long the input.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from .ordered import ordered_submit


@contextmanager
def _main_without_missing_file() -> Iterator[None]:
    """Spawned workers re-import the caller's main script; when there is none on disk (``python -``,
    ``python -c``, an embedded interpreter) hide its non-existent path so they do not try."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or os.path.exists(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class Runner:
    """Where the blocks of a run are processed: in-process (``jobs=1``), in a pool of ``jobs``
    spawned processes, or on a Dask cluster (``scheduler``: ``"local"`` for a LocalCluster of
    ``jobs`` worker processes on this machine, a scheduler address such as ``tcp://host:8786``, or
    a ``distributed.Client``); ``scheduler`` may also be a ``concurrent.futures`` process pool of
    the caller's (reused, left open). :meth:`map` yields results in input order with a bounded number of
    items in flight."""

    def __init__(self, jobs: int = 1, scheduler: object = None) -> None:
        self.jobs, self.scheduler = max(int(jobs), 1), scheduler
        self._pool = self._client = None
        self._resources = ExitStack()  # what this runner started and must stop
        self._in_flight: deque = deque()  # a cluster's futures not yet handed back
        self.stop_name: str | None = None  # a cluster's stop event (see cluster.stop_tasks)

    def __enter__(self) -> Runner:
        if isinstance(self.scheduler, Executor):  # the caller's pool, reused and left open
            self._pool = self.scheduler
            self.jobs = max(self.jobs, getattr(self.scheduler, "_max_workers", self.jobs))
        elif self.scheduler is not None:
            from .cluster import connect

            self._client, owned = connect(self.scheduler, self.jobs)
            for resource in owned:
                self._resources.callback(resource.close)
            self.stop_name = f"fastlabel-stop-{uuid.uuid4().hex}"
        elif self.jobs > 1:
            self._resources.enter_context(_main_without_missing_file())
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=ignore_interrupts, initargs=(os.getpid(),))
            self._resources.callback(self._pool.shutdown, wait=True, cancel_futures=True)
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if self._client is not None and kind is not None:  # none of the run's tasks writes after this
                from .cluster import stop_tasks

                stop_tasks(self._client, self.stop_name, self._in_flight)
        finally:
            self._in_flight.clear()
            self._resources.close()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` of a Dask run (None otherwise)."""
        return self._client

    @property
    def in_process(self) -> bool:
        """True when every item runs here, in order."""
        return self._client is None and self._pool is None

    def map(self, function: Callable[..., Any], arguments: Iterable[tuple]) -> Iterator[Any]:
        """``function(*args)`` for every ``args``, in order."""
        if self._client is not None:
            from .cluster import ordered_map

            yield from ordered_map(self._client, function, arguments, 2 * self.jobs, self._in_flight)
        elif self._pool is not None:
            yield from ordered_submit(self._pool.submit, function, arguments, 2 * self.jobs)
        else:
            for args in arguments:
                yield function(*args)


def ignore_interrupts(parent: int | None = None) -> None:
    """In a worker: leave Ctrl-C to the parent, which stops the pool (no traceback per worker), and
    end with the parent (``parent``: its pid, given at spawn, so a parent killed before this runs is
    noticed too): a killed export leaves no writer behind."""
    import signal
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid() if parent is None else parent
    if os.getppid() != parent:
        os._exit(1)  # the parent died while this worker started

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)  # the parent is gone (killed): stop writing at once

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def default_jobs() -> int:
    """The number of usable cores."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
