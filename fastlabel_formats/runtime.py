"""Keeping the cyclic garbage collector out of the bulk conversions."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


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
                gc.enable()

    return wrapper  # type: ignore[return-value]
