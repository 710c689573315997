"""Page 10,000 image tasks from the fake server: requests made, tasks/s, client overhead per call.

    python benchmarks/bench_client.py [--tasks 10000]

Overhead = time in the client per call beyond a bare ``requests.Session.get`` of the same URL.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from fastlabel_formats_api import Client
from fastlabel_formats_api.testing import FakeFastLabel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with FakeFastLabel(token="bench") as fake:
        fake.tasks["tasks/image"].extend({"id": f"t{i}", "name": f"{i}.png", "project": "p", "width": 1, "height": 1,
                                          "annotations": []} for i in range(args.tasks))
        client = Client("bench", base_url=fake.url)
        started = time.perf_counter()
        count = sum(1 for _ in client.iter_image_tasks("p"))
        seconds = time.perf_counter() - started
        requests_made = sum(1 for entry in fake.log if entry.path == "tasks/image")
        print(f"paged {count} tasks in {requests_made} requests: {seconds:.2f} s, {count / seconds:,.0f} tasks/s")
        session = requests.Session()
        headers = {"Authorization": "Bearer bench"}
        bare, ours = [], []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            session.get(fake.url + "tasks/image/t1", headers=headers).json()
            t1 = time.perf_counter()
            client.find_image_task("t1")
            ours.append(time.perf_counter() - t1)
            bare.append(t1 - t0)
        overhead = statistics.median(ours) - statistics.median(bare)
        print(f"one find_image_task: {statistics.median(ours) * 1e3:.2f} ms; bare session GET "
              f"{statistics.median(bare) * 1e3:.2f} ms; client overhead {overhead * 1e3:.2f} ms per call")


if __name__ == "__main__":
    main()
