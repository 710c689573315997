"""Progress of a run over tasks: a tqdm bar on a terminal, plain lines in a log."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .report import ConversionReport


class progress_bar:
    """Progress over tasks (off unless asked for): a tqdm bar on a terminal, else a plain line
    every 30 seconds and one at the end (no redraws in a log)."""

    def __init__(self, total: int | None, reports: Sequence[ConversionReport], enabled: bool,
                 label: str | None = None) -> None:
        self.total, self.enabled = total, enabled
        self.label = label or ",".join(r.target for r in reports)

    def __enter__(self):
        import sys

        if self.enabled and not sys.stderr.isatty():
            self.bar = _PlainProgress(self.label, self.total)
        else:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.label, unit="task", disable=not self.enabled, delay=0.5)
        return self.bar

    def __exit__(self, *exc) -> None:
        self.bar.close()


class _PlainProgress:
    """``label: N tasks [of T] (R/s)`` lines on stderr, at most every ``every`` seconds."""

    def __init__(self, label: str, total: int | None, every: float = 30.0) -> None:
        self.label, self.total, self.every, self.done = label, total, every, 0
        self.started = self.shown = time.perf_counter()

    def update(self, count: int) -> None:
        self.done += count
        if time.perf_counter() - self.shown >= self.every:
            self._line()

    def _line(self) -> None:
        import sys

        self.shown = time.perf_counter()
        rate = self.done / max(self.shown - self.started, 1e-9)
        of = f" of {self.total:,}" if self.total else ""
        print(f"{self.label}: {self.done:,}{of} tasks ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.done:
            self._line()
