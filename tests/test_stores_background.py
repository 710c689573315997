"""Object writes of a block run in the background on the store's event loop, bounded, and all have
ended when the block ends: written (the first error raised) or, after a failure, cancelled."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fastlabel_formats import stores
from fastlabel_formats.stores import background_writes, put_objects

asyn = pytest.importorskip("fsspec.asyn", reason="needs the dask extra (fsspec)")


class SlowStore(asyn.AsyncFileSystem):
    """An asynchronous store whose writes wait until ``release`` is set (``fail``: names that fail)."""

    protocol = "slowtest"
    cachable = False

    def __init__(self, fail: frozenset = frozenset()) -> None:
        super().__init__(loop=asyn.get_loop())
        self.release, self.fail = threading.Event(), fail
        self.written, self.cancelled = [], []

    async def _pipe_file(self, path, data, **kwargs):
        try:
            while not self.release.is_set():
                await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            self.cancelled.append(path)
            raise
        if path in self.fail:
            raise PermissionError(13, "refused", path)
        self.written.append(path)


def objects(*names: str) -> dict[str, bytes]:
    return {name: name.encode() for name in names}


def test_a_block_goes_on_while_its_objects_are_written_and_ends_once_they_are():
    store = SlowStore()
    with background_writes():
        put_objects(store, objects("a", "b", "c"))
        assert store.written == []  # returned before the store answered
        store.release.set()
    assert sorted(store.written) == ["a", "b", "c"]


def test_outside_a_block_objects_are_written_before_put_returns():
    store = SlowStore()
    store.release.set()
    put_objects(store, objects("a", "b"))
    assert sorted(store.written) == ["a", "b"]


def test_a_failed_write_fails_the_block_after_every_write_has_ended():
    store = SlowStore(fail=frozenset({"b"}))
    with pytest.raises(PermissionError, match="refused"):
        with background_writes():
            put_objects(store, objects("a", "b", "c"))
            store.release.set()
    assert sorted(store.written) == ["a", "c"]


def test_a_failing_block_cancels_its_unfinished_writes_and_waits_for_them():
    store = SlowStore()
    with pytest.raises(KeyboardInterrupt):
        with background_writes():
            put_objects(store, objects("a", "b"))
            raise KeyboardInterrupt
    assert sorted(store.cancelled) == ["a", "b"]  # ended before the block was left
    store.release.set()
    assert store.written == []


def test_at_most_a_bounded_number_of_writes_is_in_flight(monkeypatch):
    monkeypatch.setattr(stores, "OBJECTS_IN_FLIGHT", 4)
    store = SlowStore()
    store.release.set()
    with background_writes():
        for number in range(10):
            put_objects(store, objects(f"o{number}"))
            assert len(stores._UPLOADS.pending) <= 4
    assert len(store.written) == 10
