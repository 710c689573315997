"""Time the HTML report of a generated project against ``stats`` on it: wall time ratio, peak RSS of
each (a fresh process each), and the size of the HTML. Targets: report ≤ 2× stats, ≤ 500 MB, ≤ 20 MB.

    python benchmarks/bench_report.py [--count 100000] [--per-task 10] [--screenshot report.png]

The project is written as JSON Lines (streamed by both); ``--invalid`` of the polygons are made
self-intersecting so that the report has findings to draw.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_tasks  # noqa: E402

TARGET_RATIO, TARGET_RSS_MB, TARGET_HTML_MB = 2.0, 500, 20
BATCH = 2000  # tasks generated and written at a time

MEASURE = """
import resource, sys, time
import fastlabel_formats as ff
from fastlabel_formats.checks import stats
from fastlabel_formats.report_html import report
started = time.perf_counter()
if sys.argv[1] == "stats":
    stats(sys.argv[2])
else:
    report(sys.argv[2], sys.argv[3], progress=False)
used = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - started, used.ru_utime + used.ru_stime, used.ru_maxrss / 1024)
"""


def write_project(path: Path, count: int, per_task: int, invalid: float, kinds: set[str]) -> None:
    """``count`` synthetic tasks as JSON Lines (only the annotations of ``kinds``), a share
    ``invalid`` of the polygons made bow-ties."""
    with path.open("wb") as stream:
        for first in range(0, count, BATCH):
            tasks = make_tasks(min(BATCH, count - first), per_task, seed=first)
            for offset, task in enumerate(tasks):
                task["name"] = f"{('train', 'val', 'test')[(first + offset) % 3]}/img_{first + offset:07d}.jpg"
                task["annotations"] = [a for a in task["annotations"] if a["type"] in kinds]
                for number, annotation in enumerate(task["annotations"]):
                    if annotation["type"] == "polygon" and (first + offset + number) % int(1 / invalid) == 0:
                        x1, y1, x2, y2 = annotation["points"][:4]
                        annotation["points"] = [x1, y1, x2, y2, x2, y1, x1, y2]
                stream.write(orjson.dumps(task) + b"\n")


def measure(*arguments: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the process's own, whatever else the machine runs) and peak RSS (MB)
    of one run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *arguments], capture_output=True, text=True, check=True)
    wall, cpu, peak = map(float, out.stdout.split())
    return wall, cpu, peak


def screenshot(page: Path, shot: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no chromium: screenshot skipped")
        return
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--screenshot={shot.resolve()}", "--window-size=1280,2400",
                        page.resolve().as_uri()], capture_output=True, check=True, timeout=300)
    print(f"screenshot: {shot}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--per-task", type=int, default=10)
    parser.add_argument("--invalid", type=float, default=0.01, help="share of polygons made self-intersecting")
    parser.add_argument("--kinds", default="bbox,polygon,segmentation",
                        help="annotation types kept (the generator's segmentations are often invalid: about 1 in 6)")
    parser.add_argument("--screenshot", type=Path, help="also save a Chromium screenshot of the report here")
    parser.add_argument("--project", type=Path, help="the project's JSON Lines file: used if it exists, else kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tasks, page = args.project or Path(folder) / "tasks.jsonl", Path(folder) / "report.html"
        if not tasks.exists():
            write_project(tasks, args.count, args.per_task, args.invalid, set(args.kinds.split(",")))
        stats_wall, stats_cpu, stats_peak = measure("stats", str(tasks))
        report_wall, report_cpu, report_peak = measure("report", str(tasks), str(page))
        size = page.stat().st_size / 1e6
        print(f"workload: {args.count:,} tasks x {args.per_task} annotations drawn from {args.kinds} ("
              f"{args.invalid:.0%} of polygons self-intersecting), JSON Lines {tasks.stat().st_size / 1e6:,.0f} MB; "
              f"{os.cpu_count()} cores")
        print(f"stats : {stats_wall:8.1f} s wall {stats_cpu:8.1f} s CPU  peak RSS {stats_peak:6.0f} MB")
        print(f"report: {report_wall:8.1f} s wall {report_cpu:8.1f} s CPU  peak RSS {report_peak:6.0f} MB  "
              f"HTML {size:.1f} MB")
        print(f"report / stats = {report_wall / stats_wall:.2f}x wall, {report_cpu / stats_cpu:.2f}x CPU "
              f"(target <= {TARGET_RATIO}x); RSS target <= {TARGET_RSS_MB} MB; HTML target <= {TARGET_HTML_MB} MB")
        if args.screenshot:
            screenshot(page, args.screenshot)


if __name__ == "__main__":
    main()
