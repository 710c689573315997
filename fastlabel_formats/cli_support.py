"""What the command line's parts share: the :class:`Invocation` every command runs in, argument
types with their ranges, and how a failed run becomes an exit code and a message (an OS error names
its path, hidden staging names become the final ones, SIGTERM cleans up as Ctrl-C)."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import ConversionReport

MAX_JOBS = 1024  # worker processes of one run (--jobs)


@dataclass(frozen=True)
class Invocation:
    """One run of ``fastlabel-formats``, made by ``main`` and handed to the command's handler
    (``handler(args, invocation)``): whether it prints (``--quiet``) and the reports the command
    made, which ``--report-json`` writes."""

    quiet: bool = False
    reports: list[ConversionReport] = field(default_factory=list)

    @property
    def progress(self) -> bool:
        """Whether to show progress bars (not under ``--quiet``)."""
        return not self.quiet

    def say(self, text: str) -> None:
        """Print a report line unless ``--quiet``."""
        if not self.quiet:
            print(text)

    def keep(self, report: ConversionReport) -> ConversionReport:
        """``report``, kept for ``--report-json``."""
        self.reports.append(report)
        return report

    def finish(self, report: ConversionReport, started: float) -> int:
        """Keep and print the report of a run with its time since ``started`` (``perf_counter``); 0."""
        self.say(f"{self.keep(report).summary()}  [{time.perf_counter() - started:.2f} s]")
        return 0

    def finish_all(self, reports: Iterable[ConversionReport], started: float) -> int:
        """Keep and print the reports of a run, then its time since ``started``; 0."""
        for report in reports:
            self.say(self.keep(report).summary())
        self.say(f"[{time.perf_counter() - started:.2f} s]")
        return 0


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {text}")
        return value

    parse.__name__ = "whole number"
    return parse


positive = whole_number(1, MAX_JOBS)


def finite(text: str) -> float:
    """An argparse type: a finite number ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


SCHEDULER_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx|inproc)://[A-Za-z0-9_.\-\[\]:]+(:[0-9]{1,5})?/?")


def scheduler(text: str) -> str:
    """An argparse type: ``local`` or a Dask scheduler address."""
    if text == "local" or SCHEDULER_ADDRESS.fullmatch(text):
        return text
    raise argparse.ArgumentTypeError(f"expected 'local' or an address such as tcp://HOST:8786, got {text!r}")


def existing_folder(text: str) -> str:
    """An argparse type: a folder that exists."""
    try:
        found = Path(text).is_dir()
    except (OSError, ValueError):  # a name too long, a NUL byte
        found = False
    if not found:
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return text


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that a run cleans up as on Ctrl-C."""


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` while the block runs (in the main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(number, frame) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def os_error(failure: OSError) -> tuple[int, str]:
    """``(1, message)`` of an operating-system error that escaped a run: an I/O failure mid-run
    (paths the user gives are checked before the run starts, their errors are exit 2)."""
    paths = [path for path in (failure.filename, failure.filename2) if path is not None]
    reason = failure.strerror or str(failure)
    place = " -> ".join(str(path) for path in paths)
    return 1, user_text(f"{place}: {reason}" if place else reason)


# the hidden names of a run's staging folders and temporary files, shown as the names they become
_HIDDEN_NAMES = re.compile(r"\.([^/\\]+?)\.(?:new-[0-9a-f]{10}|old-[0-9a-f]{10}|[0-9]+-[a-z0-9_]{8}\.tmp|"
                           r"parts-[0-9a-f]{12})")


def user_text(message: str) -> str:
    """``message`` with the run's hidden staging and temporary names replaced by the final ones."""
    return _HIDDEN_NAMES.sub(r"\1", message)
