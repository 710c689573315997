"""Keeping the cyclic garbage collector out of the bulk conversions."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)
PROMOTE_AFTER = 100_000


def gc_paused(function: F) -> F:
    """Run ``function`` with the cyclic GC paused, restoring its previous state afterwards.

    Conversions allocate millions of small acyclic lists and dicts next to the caller's (large)
    task data; each automatic full collection would walk all of it again. Nothing here creates
    reference cycles, so reference counting frees everything as usual.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                promote_to_oldest_generation()
                gc.enable()

    return wrapper  # type: ignore[return-value]


def promote_to_oldest_generation() -> None:
    """Move every tracked object into the oldest generation, without a collection pass.

    A bulk conversion returns hundreds of thousands of new containers; left in the youngest
    generation they would all be traversed by the next automatic collection (about 0.1 s per
    60,000 annotations) only to be found alive and promoted. ``freeze`` + ``unfreeze`` promotes
    them in O(1); they are still collected normally (by full collections) once unreachable.
    Done only after bulk work (more than ``PROMOTE_AFTER`` new containers, so that a loop of small
    calls leaves the caller's young garbage to the usual young collections), and skipped when the
    caller has frozen objects of their own (``unfreeze`` would release them).
    """
    if gc.get_count()[0] > PROMOTE_AFTER and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
