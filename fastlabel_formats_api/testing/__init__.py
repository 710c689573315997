"""A stateful fake of the FastLabel REST API over real HTTP on 127.0.0.1, for offline tests.

    with FakeFastLabel(token="test") as api:
        client = Client("test", base_url=api.url)
        api.inject(status=429, times=3, retry_after="0")   # the next 3 calls get 429 first

It keeps projects, tasks of every kind (with annotations, uploaded files and their signed URLs),
annotation classes, tags, datasets, dataset objects, import histories and training / evaluation
jobs in memory, checks the bearer token and the payload shapes, answers as the FastLabel API
does (200 for creates) and logs every request. Also a pytest fixture (``fake_fastlabel``, from
this package's pytest plugin) and a standalone server: ``python -m fastlabel_formats_api.testing
--port 8765``.
"""

from .server import FakeFastLabel, Fault, Logged, main

__all__ = ["FakeFastLabel", "Fault", "Logged", "main"]
