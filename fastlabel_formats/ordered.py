"""Futures submitted ahead and their results taken in order: the one loop the worker pool
(:mod:`~fastlabel_formats.parallel`) and a Dask cluster (:mod:`~fastlabel_formats.cluster`) share."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def ordered_submit(submit: Callable[..., Any], function: Callable[..., Any], arguments: Iterable[tuple],
                   window: int, pending: deque | None = None) -> Iterator[Any]:
    """``submit(function, *args)`` for every ``args`` (futures with ``result()``/``cancel()``),
    results yielded in order, at most ``window`` submitted ahead. The futures not handed back when
    the caller stops are cancelled, or left in the caller's ``pending`` for it to stop."""
    cancel = pending is None
    pending = deque() if pending is None else pending
    try:
        for args in arguments:
            pending.append(submit(function, *args))
            while len(pending) > window:
                yield pending[0].result()
                pending.popleft()
        while pending:
            yield pending[0].result()
            pending.popleft()
    finally:
        if cancel:
            for future in pending:
                future.cancel()
