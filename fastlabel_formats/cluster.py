"""Dask as a scheduler of a run's blocks (the optional extra ``fastlabel-formats[dask]``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import FormatError

INSTALL_HINT = "pip install 'fastlabel-formats[dask]'"
# The workers of a LocalCluster of ours run a few long blocks each: without the statistical
# profiler (a stack sample every 10 ms) and with coarser monitors they spend their CPU on the blocks
# (measured: 8 % less worker CPU on a 2-core machine). A cluster of the caller's is left as it is.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
    # distributed sets MALLOC_TRIM_THRESHOLD_=65536 in its workers: every freed block then goes back
    # to the system and is faulted in again by the next table (12 % more CPU per block here)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def distributed_module():
    """``distributed``, or FormatError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise FormatError(f"--scheduler / scheduler= needs Dask's distributed scheduler: {INSTALL_HINT}") from None
    return distributed


def connect(scheduler: object, workers: int) -> tuple[Any, list]:
    """A ``distributed.Client`` for ``scheduler`` (``"local"``: a LocalCluster of ``workers``
    single-threaded worker processes; an address; or a Client, used as it is) and what to close."""
    distributed = distributed_module()
    if isinstance(scheduler, distributed.Client):
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
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise FormatError(f"cannot reach the Dask scheduler at {scheduler} ({error})") from None
    return client, [client]


def ordered_map(client: Any, function: Callable[..., Any], arguments: Iterable[tuple], window: int) -> Iterator[Any]:
    """``function(*args)`` on the cluster for every ``args``, results in order (at least two per
    worker thread in flight)."""
    from .parallel import ordered_submit

    window = max(window, 2 * sum(client.nthreads().values()))
    return ordered_submit(lambda *args: client.submit(*args, pure=False), function, arguments, window)
