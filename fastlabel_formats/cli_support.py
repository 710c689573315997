"""What the command line's parts share: argument types with their ranges, and how a failed run
becomes an exit code and a message (an OS error names its path, hidden staging names become the
final ones, SIGTERM cleans up as Ctrl-C)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_JOBS = 1024  # worker processes of one run (--jobs)


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
