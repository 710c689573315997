"""Label Studio JSON read and write against orjson alone on the same file (medians of 3).

    python benchmarks/bench_format_labelstudio.py [--images 2000] [--regions 10]

Read: ``labelstudio_tasks`` (FastLabel tasks in pixels) vs ``orjson.loads`` of the same export with
every result's value visited. Write: ``export_labelstudio`` of those tasks vs ``orjson.dumps`` of the
same Label Studio task list (built beforehand) to a file, and vs a plain Python loop that builds
those records from the tasks (no checks, no report) and dumps them: the floor of any writer that
makes one dict per region.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from fastlabel_formats.formats.labelstudio import export_labelstudio, labelstudio_tasks, to_labelstudio


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


def median_seconds(action, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=10)
    args = parser.parse_args()
    tasks = generated(args.images, args.regions)
    records = to_labelstudio(tasks)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.json"
        path.write_bytes(orjson.dumps(records))
        rows = [
            ("read", median_seconds(lambda: labelstudio_tasks(path)), median_seconds(lambda: orjson_read(path))),
            ("write", median_seconds(lambda: export_labelstudio(tasks, Path(folder) / "out", overwrite=True)),
             median_seconds(lambda: (Path(folder) / "plain.json").write_bytes(orjson.dumps(records)))),
        ]
        loop = median_seconds(lambda: plain_write(tasks, Path(folder) / "loop.json"))
        size = path.stat().st_size
    print(f"Label Studio JSON, {args.images:,} images × {args.regions} regions ({size / 1e6:.1f} MB)")
    print(f"{'':6} {'fastlabel_formats':>18} {'orjson alone':>13} {'ratio':>6}")
    for name, ours, plain in rows:
        print(f"{name:6} {ours:17.3f}s {plain:12.3f}s {ours / plain:6.1f}×")
    print(f"write from tasks by a plain Python loop + orjson (no checks, no report): {loop:.3f}s "
          f"(ours {rows[1][1] / loop:.1f}×)")


if __name__ == "__main__":
    main()
