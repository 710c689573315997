"""Label Studio JSON read and write against orjson alone on the same document (interleaved rounds, medians).

    python benchmarks/bench_format_labelstudio.py [--images 2000] [--regions 10] [--rounds 5] [--cpu]

Rows (each action once per round, the rounds interleaved, medians; ``--cpu``: process time, steadier
on a shared machine than the wall clock):

* write: ``export_labelstudio`` of FastLabel tasks vs ``orjson.dumps`` of the same Label Studio task
  list (built beforehand) to a file;
* read: ``labelstudio_tasks`` (FastLabel tasks in pixels, a file read a block of tasks at a time)
  vs ``orjson.loads`` of the same export with every result's value visited.

The floor is measured twice: as a script runs it (the cyclic garbage collector on, which orjson's
allocations keep triggering) and with the collector paused, as ours runs. Below the table, the parts
of the write: the shared export pipeline alone (tasks checked and surveyed, tables gathered, nothing
written), this format's own part (the JSON made from prepared tables: byte templates filled from
the tables' columns), and a plain Python loop that builds the same records from the tasks (no
checks, no report) and dumps them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from fastlabel_formats.formats.labelstudio import (
    LabelStudioTarget,
    export_labelstudio,
    labelstudio_tasks,
    to_labelstudio,
)
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import RunOptions, prepared_tables, run_export
from fastlabel_formats.runtime import gc_paused


def generated(images: int, regions: int) -> list[dict]:
    """FastLabel image tasks with boxes (some rotated, with a per-region choice), polygons and keypoints."""
    tasks = []
    for number in range(images):
        annotations = []
        for region in range(regions):
            x, y = number % 50 + region, region * 2.5
            if region % 3 == 1:
                annotations.append({"type": "polygon", "value": "roof", "attributes": [],
                                    "points": [x, y, x + 10, y, x + 10, y + 7.5, x + 3, y + 9]})
            elif region % 3 == 2:
                annotations.append({"type": "keypoint", "value": "eye", "attributes": [], "points": [x, y]})
            else:
                annotations.append({"type": "bbox", "value": "car", "points": [x, y, x + 20, y + 12],
                                    "rotation": 15 * (region % 2),
                                    "attributes": [{"key": "colour", "value": "red", "type": "select"}]})
        tasks.append({"name": f"img/{number:05d}.jpg", "width": 640, "height": 480, "annotations": annotations})
    return tasks


def orjson_read(path: Path) -> int:
    """Results seen by orjson alone."""
    count = 0
    for task in orjson.loads(path.read_bytes()):
        for annotation in task["annotations"]:
            for result in annotation["result"]:
                result["value"].items()
                count += 1
    return count


def plain_write(tasks: list[dict], path: Path) -> None:
    """The same Label Studio tasks built by a plain Python loop (no checks, no rotation) and orjson."""
    records = []
    for number, task in enumerate(tasks, 1):
        width, height = task["width"], task["height"]
        results = []
        for index, annotation in enumerate(task["annotations"]):
            points, kind = annotation["points"], annotation["type"]
            if kind == "bbox":
                value = {"x": points[0] * 100 / width, "y": points[1] * 100 / height,
                         "width": (points[2] - points[0]) * 100 / width,
                         "height": (points[3] - points[1]) * 100 / height, "rotation": annotation.get("rotation", 0)}
            elif kind == "keypoint":
                value = {"x": points[0] * 100 / width, "y": points[1] * 100 / height}
            else:
                value = {"points": [[x * 100 / width, y * 100 / height] for x, y in zip(points[::2], points[1::2])],
                         "closed": True}
            results.append({"id": f"r{index}", "type": kind, "value": value, "from_name": "label",
                            "to_name": "image", "original_width": width, "original_height": height})
        records.append({"id": number, "data": {"image": task["name"]}, "annotations": [{"result": results}]})
    path.write_bytes(orjson.dumps(records))


class _NothingWritten(LabelStudioTarget):
    """The export pipeline with a target that makes nothing: what every format's export pays first."""

    def encode(self, table, plan, report):
        return {"tasks": b""}


def actions(tasks: list[dict], records: list[dict], folder: Path) -> dict:
    """Every timed action, by row name."""
    export = folder / "export.json"
    export.write_bytes(orjson.dumps(records))
    target = LabelStudioTarget(folder / "own")
    tables = list(prepared_tables(tasks, target, ConversionReport("labelstudio"), "image_bbox", None, None))

    @gc_paused
    def own_part() -> None:
        fragments = []
        for table in tables:
            table.derived.clear()  # nothing computed in an earlier round
            fragments.append(target.encode(table, None, ConversionReport("labelstudio"))["tasks"])
        (folder / "own.json").write_bytes(b"[" + b",".join(fragments) + b"]")

    def dump() -> None:
        (folder / "plain.json").write_bytes(orjson.dumps(records))

    return {
        "write": lambda: export_labelstudio(tasks, folder / "out", overwrite=True),
        "write floor": dump, "write floor, GC paused": gc_paused(dump),
        "read": lambda: labelstudio_tasks(export),
        "read floor": lambda: orjson_read(export), "read floor, GC paused": gc_paused(lambda: orjson_read(export)),
        "pipeline alone": lambda: run_export(tasks, [_NothingWritten(folder / "none")],
                                             [ConversionReport("labelstudio")], RunOptions(overwrite=True)),
        "own part": own_part,
        "plain loop": lambda: plain_write(tasks, folder / "loop.json"),
    }


def interleaved_medians(named: dict, rounds: int, clock) -> dict[str, float]:
    """Each action once per round, in order; the median seconds of each."""
    times: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(rounds):
        for name, action in named.items():
            start = clock()
            action()
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="process time instead of the wall clock")
    args = parser.parse_args()
    tasks = generated(args.images, args.regions)
    records = to_labelstudio(tasks)
    with tempfile.TemporaryDirectory() as folder:
        named = actions(tasks, records, Path(folder))
        size = (Path(folder) / "export.json").stat().st_size
        seconds = interleaved_medians(named, args.rounds, time.process_time if args.cpu else time.perf_counter)
    print(f"Label Studio JSON, {args.images:,} images × {args.regions} regions ({size / 1e6:.1f} MB), "
          f"medians of {args.rounds} interleaved rounds ({'process' if args.cpu else 'wall'} time)")
    print(f"| {'':5} | {'ours':>8} | {'orjson alone':>12} | {'ratio':>5} | {'orjson, GC paused':>17} | {'ratio':>5} |")
    print(f"|{'-' * 7}|{'-' * 10}|{'-' * 14}|{'-' * 7}|{'-' * 19}|{'-' * 7}|")
    for row in ("write", "read"):
        ours, floor, paused = seconds[row], seconds[f"{row} floor"], seconds[f"{row} floor, GC paused"]
        print(f"| {row:5} | {ours:7.3f}s | {floor:11.3f}s | {ours / floor:4.1f}× | {paused:16.3f}s | "
              f"{ours / paused:4.1f}× |")
    floor = seconds["write floor"]
    for name, text in (("pipeline alone", "write, the export pipeline alone (no output)"),
                       ("own part", "write, this format's own part (the JSON from prepared tables)"),
                       ("plain loop", "write by a plain Python loop + orjson (no checks, no report)")):
        print(f"{text}: {seconds[name]:.3f}s ({seconds[name] / floor:.1f}× the write floor)")


if __name__ == "__main__":
    main()
