"""Timing helpers shared by the benchmarks: CPU-time medians of runs taken in turn, so that a
shared machine's slow and fast minutes fall on both sides alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved(ours: Callable[[], object], floor: Callable[[], object], runs: int,
                clock: Callable[[], float] = time.process_time) -> tuple[float, float]:
    """Median seconds (of ``clock``: CPU time by default) of ``ours()`` and ``floor()``, run in turn
    ``runs`` times each."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for run, seconds in ((ours, times[0]), (floor, times[1])):
            started = clock()
            run()
            seconds.append(clock() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def print_format_rows(title: str, format_name: str, rows: list[tuple[str, float, float]]) -> None:
    """``title``, then the Markdown table of a format's ``(direction, ours, floor)`` rows."""
    print(title)
    print("| format | direction | ours (s) | floor (s) | ratio |")
    print("|---|---|---|---|---|")
    for name, ours, floor in rows:
        print(f"| {format_name} | {name} | {ours:.3f} | {floor:.3f} | {ours / floor:.2f}× |")
