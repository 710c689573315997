"""Pull a project of 10,000 image tasks with their images (small PNGs) from the fake server.

    python benchmarks/bench_pull.py [--tasks 10000] [--runs 3] [--threads 8] [--latency MS]

The fake runs in a process of its own. Rows (medians of ``--runs``):
- bare: the same pages and files fetched with plain ``requests`` (8 threads, files written): the
  fake's serving time as a client with no work of its own sees it; and the same writing each file
  atomically, as every writer of ours does (a temporary name renamed into place);
- fetch: our pager and ``Transport.fetch`` on the same thread pool (what pull adds is this row
  minus bare: the client's own overhead);
- pull: ``fastlabel-formats pull --to coco,yolo --images`` as a whole, in a fresh process (its
  peak RSS); in this process, converting while the files download (as pull does) against fetching
  them first; and the core's export of the same tasks alone, for comparison.
``--latency MS``: the fake answers every file that much later, as a remote storage does.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKEN = "bench"


def _png(number: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), (number % 256, number // 256 % 256, 90))
    stream = io.BytesIO()
    image.save(stream, format="PNG")
    return stream.getvalue()


def serve(count: int, ready: multiprocessing.Queue, latency: float = 0.0) -> None:
    """A fake server holding project ``bench``: ``count`` image tasks with a PNG each, each file
    answered ``latency`` seconds late."""
    from fastlabel_formats_api.testing import FakeFastLabel

    with FakeFastLabel(token=TOKEN) as fake:
        fake.file_delay = (latency, latency)
        fake.projects.add({"type": "image_bbox", "name": "Bench", "slug": "bench"})
        fake.annotation_classes.add({"project": "bench", "type": "bbox", "value": "cat", "title": "cat"})
        for number in range(count):
            key = f"blob/{number}.png"
            fake.blobs[key] = _png(number)
            fake.tasks["tasks/image"].append({
                "id": f"t{number}", "name": f"{number // 1000}/{number}.png", "project": "bench", "width": 64,
                "height": 48, "status": "completed", "tags": [], "url": fake.storage_url + key,
                "annotations": [{"type": "bbox", "value": "cat", "points": [1, 2, 30 + number % 20, 40],
                                 "attributes": []}]})
        ready.put(fake.url)
        while True:
            time.sleep(3600)


def bare(url: str, folder: Path, threads: int, atomic: bool = False) -> int:
    """Pages and files with plain requests (``atomic``: each file written as our writers write
    it, to a temporary name renamed into place); bytes written."""
    import requests

    from fastlabel_formats.files import write_atomic

    session, headers, tasks, offset = requests.Session(), {"Authorization": f"Bearer {TOKEN}"}, [], 0
    while True:
        page = session.get(url + "tasks/image", params={"project": "bench", "offset": offset, "limit": 100},
                           headers=headers).json()
        tasks += page
        offset += len(page)
        if len(page) < 100:
            break

    def get(task: dict) -> int:
        data = session.get(task["url"]).content
        path = folder / task["name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data) if atomic else path.write_bytes(data)
        return len(data)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(get, tasks))


def ours(url: str, folder: Path, threads: int) -> int:
    """Our pager and fetch on the same pool; bytes written."""
    from fastlabel_formats_api import Client
    from fastlabel_formats_api.sync import SyncReport, _download_all

    report = SyncReport("fetch")
    with Client(TOKEN, base_url=url) as client:
        _download_all(client.api, client.iter_image_tasks("bench"), folder, threads, report, None, False)
    assert report.ok, report.summary()
    return report.bytes


def pull_in_process(url: str, folder: Path, threads: int) -> dict:
    """The whole pull in a fresh interpreter: seconds and peak RSS."""
    code = ("import json, resource, sys, time\n"
            "from fastlabel_formats_api.cli import main\n"
            "started = time.perf_counter()\n"
            f"code = main(['pull', 'bench', '-o', {str(folder)!r}, '--to', 'coco,yolo', '--images', '--quiet', "
            f"'--threads', '{threads}'])\n"
            "print(json.dumps({'seconds': time.perf_counter() - started, 'code': code, "
            "'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n")
    environment = {**os.environ, "FASTLABEL_ACCESS_TOKEN": TOKEN, "FASTLABEL_API_URL": url}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def pull_here(url: str, folder: Path, threads: int, files_first: bool) -> float:
    """``Client.pull`` in this process: converting while the files download, or ``files_first``."""
    from fastlabel_formats_api import Client, sync

    overlapping = sync._fetched
    if files_first:
        sync._fetched = lambda *args, **options: overlapping(*args, **{**options, "wait": True})
    try:
        with Client(TOKEN, base_url=url) as client:
            started = time.perf_counter()
            client.pull("bench", str(folder), ["coco", "yolo"], images=True, threads=threads)
            return time.perf_counter() - started
    finally:
        sync._fetched = overlapping


def export_only(url: str, folder: Path) -> float:
    """The core's export of the same tasks (fetched beforehand), for comparison."""
    import fastlabel_formats as ff
    from fastlabel_formats_api import Client

    with Client(TOKEN, base_url=url) as client:
        tasks = list(client.iter_image_tasks("bench"))
    started = time.perf_counter()
    ff.export_targets(tasks, {"coco": folder / "coco", "yolo": folder / "yolo"},
                      ff.TargetOptions(project_type="image_bbox"))
    return time.perf_counter() - started


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds before each file is answered")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(args.tasks, ready, args.latency / 1000), daemon=True)
    server.start()
    url = ready.get(timeout=600)
    rows: dict[str, list] = {"bare": [], "atomic": [], "fetch": [], "pull": [], "overlap": [], "first": [],
                             "export": [], "rss": []}
    size = 0
    try:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as root:
                seconds, size = timed(bare, url, Path(root) / "bare", args.threads)
                rows["bare"].append(seconds)
                rows["atomic"].append(timed(bare, url, Path(root) / "atomic", args.threads, True)[0])
                rows["fetch"].append(timed(ours, url, Path(root) / "ours", args.threads)[0])
                pulled = pull_in_process(url, Path(root) / "pull", args.threads)
                rows["pull"].append(pulled["seconds"])
                rows["rss"].append(pulled["rss_mb"])
                rows["overlap"].append(pull_here(url, Path(root) / "overlap", args.threads, False))
                rows["first"].append(pull_here(url, Path(root) / "first", args.threads, True))
                rows["export"].append(export_only(url, Path(root) / "export"))
                shutil.rmtree(root, ignore_errors=True)
    finally:
        server.terminate()
    median = {name: statistics.median(values) for name, values in rows.items()}
    megabytes = size / 1e6
    print(f"{args.tasks:,} image tasks, {megabytes:.1f} MB of PNGs, {args.threads} threads, median of {args.runs} "
          f"runs, {os.cpu_count()} cores; the fake in its own process, files answered after {args.latency:g} ms")
    print("| run | s | tasks/s | MB/s |")
    print("|---|---|---|---|")
    for name, label in (("bare", "bare requests: pages + files (the fake's serving time)"),
                        ("atomic", "bare requests, files written atomically (temporary name + rename)"),
                        ("fetch", "our pager + Transport.fetch, same pool"),
                        ("pull", "fastlabel-formats pull --to coco,yolo --images (whole process)"),
                        ("overlap", "Client.pull, converting while the files download (as it does)"),
                        ("first", "Client.pull, files fetched first, then converted"),
                        ("export", "core export of the same tasks alone (coco+yolo)")):
        print(f"| {label} | {median[name]:.2f} | {args.tasks / median[name]:,.0f} | {megabytes / median[name]:.1f} |")
    overhead = (median["fetch"] - median["bare"]) / median["bare"]
    own = (median["fetch"] - median["atomic"]) / median["bare"]
    print(f"client overhead over bare requests: {overhead:+.1%}, of which atomic writes "
          f"{(median['atomic'] - median['bare']) / median['bare']:+.1%} and the rest {own:+.1%} (target <= 10 %); "
          f"pull peak RSS {median['rss']:.0f} MB (target <= 300 MB)")


if __name__ == "__main__":
    main()
