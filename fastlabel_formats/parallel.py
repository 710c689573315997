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
from contextlib import contextmanager
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def ordered_results(function: Callable[..., Any], arguments: Iterable[tuple], jobs: int,
                    window: int | None = None) -> Iterator[Any]:
    """``function(*args)`` for every ``args`` of ``arguments``, in order; ``jobs`` > 1 runs them
    in that many spawned processes, at most ``window`` (default ``2 * jobs``) submitted ahead."""
    if jobs <= 1:
        for args in arguments:
            yield function(*args)
        return
    window = window or 2 * jobs
    context = multiprocessing.get_context("spawn")
    with _main_without_missing_file(), ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: deque[Future] = deque()
        try:
            for args in arguments:
                pending.append(pool.submit(function, *args))
                while len(pending) > window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


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


def default_jobs() -> int:
    """The number of usable cores."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
