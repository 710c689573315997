"""Dask as a scheduler of a run's blocks (the optional extra ``fastlabel-formats[dask]``).

A cluster of the caller's (a scheduler address, or a ``distributed.Client`` not of a LocalCluster)
runs on other machines: before any work the client checks that it has a worker, that every worker
and the scheduler import this package with the client's exact code, and that every worker sees the
run's local paths (they must be absolute, on a file system every worker mounts). On failure or
Ctrl-C the running tasks are told to stop (a ``distributed.Event`` checked before each write) and
the client waits for them before anything is cleaned up.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import FormatError
from .ordered import ordered_submit

INSTALL_HINT = "pip install 'fastlabel-formats[dask]'"
CONNECT_TIMEOUT = 30.0  # seconds to wait for the scheduler and for a first worker
STOP_TIMEOUT = 60.0  # seconds to wait for running tasks to stop after a failure or Ctrl-C
STOP_POLL = 0.2  # seconds between two looks of a running task at the run's stop event
# The workers of a LocalCluster of ours run a few long blocks each: without the statistical
# profiler (a stack sample every 10 ms) and with coarser monitors they spend their CPU on the blocks
# (measured: 8 % less worker CPU on a 2-core machine). External workers get the same settings from
# this dict as a Dask configuration file (worker_config_yaml).
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
    # distributed sets MALLOC_TRIM_THRESHOLD_=65536 in its workers: every freed block then goes back
    # to the system and is faulted in again by the next table (12 % more CPU per block here)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def worker_config_yaml() -> str:
    """QUIET_WORKERS as a Dask configuration file, for workers started by hand: save it as
    ``~/.config/dask/fastlabel-workers.yaml`` (or in a folder named by ``DASK_CONFIG``) on each
    worker host before ``dask worker`` starts."""
    import yaml

    nested: dict = {}
    for key, value in QUIET_WORKERS.items():
        *parents, last = key.split(".")
        place = nested
        for parent in parents:
            place = place.setdefault(parent, {})
        place[last] = value
    return yaml.safe_dump(nested, sort_keys=False)


# evaluated on each worker and the scheduler with builtins only: it needs nothing of ours to arrive
PROBE = "__import__('fastlabel_formats.cluster', fromlist=['x']).code_identity()"


def distributed_module():
    """``distributed``, or FormatError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise FormatError(f"--scheduler / scheduler= needs Dask's distributed scheduler: {INSTALL_HINT}") from None
    return distributed


def is_external(scheduler: object) -> bool:
    """Whether ``scheduler`` names a cluster whose workers may run on other machines."""
    if isinstance(scheduler, str):
        return scheduler != "local"
    if not type(scheduler).__module__.startswith("distributed") or not hasattr(scheduler, "scheduler_info"):
        return False  # None, or a concurrent.futures pool of the caller's
    cluster = getattr(scheduler, "cluster", None)
    return not (cluster is not None and type(cluster).__name__ == "LocalCluster")


def connect(scheduler: object, workers: int) -> tuple[Any, list]:
    """A ``distributed.Client`` for ``scheduler`` (``"local"``: a LocalCluster of ``workers``
    single-threaded worker processes; an address; or a Client, used as it is) and what to close.
    An external cluster is checked (:func:`check_cluster`) before it is used."""
    distributed = distributed_module()
    if isinstance(scheduler, distributed.Client):
        if is_external(scheduler):
            check_cluster(scheduler, str(scheduler.scheduler.address))
        return scheduler, []
    if scheduler == "local":
        import dask

        with dask.config.set(QUIET_WORKERS):  # the nannies hand this configuration to their workers
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        return client, [cluster, client]
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise FormatError(f"scheduler must be 'local', an address such as tcp://host:8786 or a "
                          f"distributed.Client, got {scheduler!r}")
    try:
        client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s")
    except (OSError, TimeoutError) as error:
        raise FormatError(f"cannot reach the Dask scheduler at {scheduler} ({error})") from None
    try:
        check_cluster(client, scheduler)
    except BaseException:
        client.close()
        raise
    return client, [client]


@functools.cache
def code_identity() -> str:
    """This package's version and a digest of its source files (equal on two machines when both
    run the same code, so both write the same bytes)."""
    from . import __version__

    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"{__version__} (code {digest.hexdigest()[:12]})"


def check_cluster(client: Any, address: str) -> None:
    """FormatError unless the cluster at ``address`` has a worker within CONNECT_TIMEOUT and every
    worker and the scheduler import this package with the client's code."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (TimeoutError, OSError):
        raise FormatError(f"the Dask scheduler at {address} has no worker (waited {CONNECT_TIMEOUT:g} s); start "
                          f"workers with: dask worker {address}") from None
    expected = code_identity()
    answers = dict(client.run(eval, PROBE, {}, on_error="return"))
    try:
        answers["the scheduler"] = client.run_on_scheduler(eval, PROBE, {})
    except Exception as error:  # noqa: BLE001 - what the scheduler lacks is the message
        answers["the scheduler"] = error
    wrong = {where: _lack(answer, expected) for where, answer in answers.items() if answer != expected}
    if wrong:
        listed = "; ".join(f"{where}: {lack}" for where, lack in sorted(wrong.items()))
        raise FormatError(f"the Dask cluster at {address} cannot run this export ({listed}); install "
                          f"fastlabel-formats {expected} on every worker and on the scheduler")


def _lack(answer: object, expected: str) -> str:
    if isinstance(answer, ModuleNotFoundError):
        return "fastlabel_formats is not importable"
    if isinstance(answer, BaseException):
        return f"importing fastlabel_formats fails ({type(answer).__name__}: {answer})"
    return f"has fastlabel-formats {answer}, the client {expected}"


def check_shared(client: Any, files: Sequence[str], folders: Sequence[str]) -> None:
    """FormatError unless every worker sees each local input of ``files`` and each output folder of
    ``folders`` (proved by a marker file the client writes there: the same path may exist on two
    machines' own disks)."""
    markers = {}
    try:
        for folder in folders:
            marker = os.path.join(_existing(folder), f".fastlabel-probe-{uuid.uuid4().hex[:12]}")
            with open(marker, "x"):
                markers[marker] = folder
        unseen = client.run(_missing, [*files, *markers])
    finally:
        for marker in markers:
            with _quiet():
                os.unlink(marker)
    for path in [*files, *markers]:
        blind = sorted(worker for worker, missing in unseen.items() if path in missing)
        if blind:
            shown = markers.get(path, path)
            raise FormatError(f"{shown}: not visible to the Dask workers {', '.join(blind)}; with a cluster, "
                              f"every path must be on storage all workers share (a shared mount, or a URL "
                              f"such as s3://bucket/folder)")


def _existing(folder: str) -> str:
    """``folder``, or its nearest existing parent."""
    path = Path(folder)
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return str(path)


def _missing(paths: Sequence[str]) -> list[str]:
    """On a worker: which of ``paths`` it does not see."""
    return [path for path in paths if not os.path.exists(path)]


class _quiet:
    """Suppress OSError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        return kind is not None and issubclass(kind, OSError)


def ordered_map(client: Any, function: Callable[..., Any], arguments: Iterable[tuple], window: int,
                pending: deque | None = None) -> Iterator[Any]:
    """``function(*args)`` on the cluster for every ``args``, results in order (at least two per
    worker thread in flight). Futures still running when the caller stops stay in ``pending``
    for :func:`stop_tasks`; a block that killed its workers is a FormatError naming it."""
    distributed = distributed_module()
    window = max(window, 2 * sum(client.nthreads().values()))

    labels: dict[str, str] = {}  # task key: the block it processes, in words

    def submit(work: Callable[..., Any], *args: Any) -> Any:
        key = f"{work.__name__}-{uuid.uuid4().hex}"
        labels[key] = _label(args)
        return client.submit(work, *args, pure=False, key=key)

    try:
        yield from ordered_submit(submit, function, arguments, window, pending=pending)
    except distributed.KilledWorker as error:
        raise FormatError(f"{labels.get(error.task, error.task)} made {error.allowed_failures + 1} Dask workers die "
                          f"(most often: it needs more memory than a worker may use); start the workers with a "
                          f"higher --memory-limit, or split the largest tasks") from None


def _label(args: tuple) -> str:
    """``the block of tasks <first>-<last> of <source>`` (the block is the first of ``args``)."""
    block = args[0] if args else None
    first = getattr(block, "first_task", None)
    if first is None:
        return "a block of the input"
    return f"the block of tasks {first + 1:,}-{first + block.count:,} of {getattr(block, 'source', 'the input')}"


def stop_tasks(client: Any, event_name: str, pending: Iterable[Any]) -> None:
    """Tell the run's running tasks to stop and wait (up to STOP_TIMEOUT) until each has ended or
    its worker is gone; then forget them."""
    distributed = distributed_module()
    futures = list(pending)
    event = distributed.Event(event_name, client=client)
    try:
        event.set()
        if futures:
            try:
                distributed.wait(futures, timeout=STOP_TIMEOUT)
            except TimeoutError:
                logging.getLogger(__name__).warning("some Dask tasks did not stop within %g s", STOP_TIMEOUT)
    finally:
        client.cancel(futures)
        event.clear()


class StopSignal:
    """In a task: raises :class:`~fastlabel_formats.files.RunStopped` once the run's stop event
    is set (asks the scheduler at most every STOP_POLL seconds)."""

    def __init__(self, event_name: str) -> None:
        self.event_name, self.event, self.asked = event_name, None, -STOP_POLL

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.asked < STOP_POLL:
            return
        self.asked = now
        if self.event is None:
            self.event = distributed_module().Event(self.event_name)
        if self.event.is_set():
            from .files import RunStopped

            raise RunStopped(f"the run was stopped ({self.event_name})")
