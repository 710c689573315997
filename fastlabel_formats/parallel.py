"""Chunks of work spread over forked worker processes, results handed back in chunk order.

``jobs=1`` (the default everywhere) runs the same function in-process. With ``jobs=N`` each of
N workers takes the next chunk not yet taken (lowest first) until none is left, so a worker slowed
down by the machine takes fewer. Workers inherit the loaded tasks through ``fork`` (nothing is
pickled on the way in) and send back small results (bytes, counts, report findings).

Chunks whose numbering depends on earlier chunks (COCO annotation ids) use :class:`Offsets`:
a chunk publishes its own count as soon as it knows it and waits only for the counts of the
chunks before it, so the expensive formatting still runs in parallel.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from .report import ConversionReport

WAIT_SECONDS = 0.0005


class Offsets:
    """Running totals of per-chunk counts, shared between the workers of one run."""

    def __init__(self, chunks: int, shared: bool) -> None:
        if shared:
            self._counts = multiprocessing.get_context("fork").Array("q", [-1] * chunks, lock=False)
        else:
            self._counts = [-1] * chunks

    def publish(self, chunk: int, count: int) -> None:
        """Record how many items chunk ``chunk`` holds."""
        self._counts[chunk] = count

    def before(self, chunk: int) -> int:
        """How many items all chunks before ``chunk`` hold (waits until they have published)."""
        while True:
            counts = self._counts[:chunk]
            if all(count >= 0 for count in counts):
                return sum(counts)
            time.sleep(WAIT_SECONDS)


Work = Callable[[int, Offsets, ConversionReport], Any]


def can_fork() -> bool:
    """Forked workers are used on Linux only (fork is unavailable or unsafe elsewhere)."""
    return sys.platform.startswith("linux")


def run_chunks(chunks: int, work: Work, report: ConversionReport, jobs: int = 1) -> Iterator[Any]:
    """``work(k, offsets, report)`` for k = 0..chunks-1, yielded in order of k."""
    if jobs <= 1 or chunks <= 1 or not can_fork():
        offsets = Offsets(chunks, shared=False)
        for chunk in range(chunks):
            yield work(chunk, offsets, report)
        return
    yield from _forked(chunks, work, report, min(jobs, chunks))


def _next_chunk(counter) -> int:
    with counter.get_lock():
        chunk = counter.value
        counter.value += 1
    return chunk


def _worker(worker: int, chunks: int, work: Work, offsets: Offsets, results, parent: ConversionReport,
            counter) -> None:
    own_report = ConversionReport(parent.target, strict=parent.strict)
    try:
        while (chunk := _next_chunk(counter)) < chunks:
            results.put(("chunk", chunk, work(chunk, offsets, own_report)))
        results.put(("report", worker, own_report.findings))
    except BaseException as error:  # handed to the parent, which re-raises it
        results.put(("error", worker, error))
    finally:
        results.close()
        results.join_thread()


def _forked(chunks: int, work: Work, report: ConversionReport, jobs: int) -> Iterator[Any]:
    context = multiprocessing.get_context("fork")
    offsets = Offsets(chunks, shared=True)
    results = context.Queue()
    counter = context.Value("q", 0)  # the next chunk to take: workers that finish early take more
    workers = [context.Process(target=_worker, args=(w, chunks, work, offsets, results, report, counter),
                               daemon=True) for w in range(jobs)]
    for process in workers:
        process.start()
    try:
        yield from _in_order(chunks, jobs, results, report, workers)
    finally:
        for process in workers:
            if process.is_alive():
                process.terminate()
            process.join()


def _in_order(chunks: int, jobs: int, results, report: ConversionReport, workers: list) -> Iterator[Any]:
    waiting: dict[int, Any] = {}
    reports_left, next_chunk = jobs, 0
    while next_chunk < chunks or reports_left:
        if next_chunk in waiting:
            yield waiting.pop(next_chunk)
            next_chunk += 1
            continue
        kind, key, value = _receive(results, workers)
        if kind == "error":
            raise value
        if kind == "report":
            reports_left -= 1
            for finding in value.values():
                report.add(finding.kind, finding.count, finding.examples)
        else:
            waiting[key] = value


def _receive(results, workers: list) -> tuple:
    while True:
        try:
            return results.get(timeout=1.0)
        except Exception:  # queue.Empty: check that no worker died without a word
            if any(p.exitcode not in (None, 0) for p in workers):
                raise RuntimeError("a conversion worker process died unexpectedly") from None


def balanced_chunks(count: int, size: int, jobs: int) -> list[range]:
    """Consecutive ranges covering ``range(count)``, at most ``size`` long, their number a multiple
    of ``jobs`` and their sizes near equal, so that no worker is left with a long last chunk."""
    jobs = max(jobs, 1)
    pieces = math.ceil(math.ceil(count / size) / jobs)  # chunks per worker
    shares = [count * (w + 1) // jobs - count * w // jobs for w in range(jobs)]
    sizes = [shares[k % jobs] * (k // jobs + 1) // pieces - shares[k % jobs] * (k // jobs) // pieces
             for k in range(pieces * jobs)]
    bounds = [0]
    for chunk_size in sizes:
        bounds.append(bounds[-1] + chunk_size)
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def default_jobs() -> int:
    """The number of usable cores."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
