"""Time the COCO results reader and writer against plain JSON reading and writing of the same files
(interleaved runs, medians, CPU seconds).

Read floor: the results file and its ground truth loaded with ``orjson`` (no checks, no tasks).
Write floor: the ground truth loaded with ``orjson`` (its ids are the results' ids), then the results
list we write, precomputed, dumped with ``orjson`` and written with ``open().write`` (no checks, not
atomic).

    python benchmarks/bench_format_coco_results.py [--images 2000] [--per-image 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import orjson
from timing import interleaved, print_format_rows

from fastlabel_formats import export_coco
from fastlabel_formats.formats.coco_results import coco_results_tasks, export_coco_results
from fastlabel_formats.runtime import gc_paused

CLASSES = ("person", "car", "bicycle", "dog", "cat")


def make_tasks(images: int, per_image: int, seed: int = 0) -> list[dict]:
    """Image tasks of ``per_image`` boxes each, every box scored."""
    generator = random.Random(seed)
    tasks = []
    for number in range(images):
        annotations = []
        for _ in range(per_image):
            x, y = generator.uniform(0, 1800), generator.uniform(0, 1000)
            w, h = generator.uniform(5, 120), generator.uniform(5, 80)
            annotations.append({"type": "bbox", "value": generator.choice(CLASSES),
                                "points": [round(x, 2), round(y, 2), round(x + w, 2), round(y + h, 2)],
                                "attributes": [{"key": "score", "value": round(generator.random(), 4)}]})
        tasks.append({"name": f"images/{number:06d}.jpg", "width": 1920, "height": 1080,
                      "annotations": annotations})
    return tasks


@gc_paused
def plain_read(results: Path, gt: Path) -> tuple:
    """Both files loaded (with the collector paused, as our reader pauses it)."""
    return orjson.loads(results.read_bytes()), orjson.loads(gt.read_bytes())


@gc_paused
def plain_write(path: Path, records: list, gt: Path) -> None:
    """``gt`` loaded, ``records`` dumped and written."""
    orjson.loads(gt.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--per-image", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tasks = make_tasks(args.images, args.per_image)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        export_coco(tasks, root / "gt")
        gt = root / "gt" / "annotations.json"
        export_coco_results(tasks, root / "results", gt=gt)
        results = root / "results" / "results.json"
        records = orjson.loads(results.read_bytes())
        runs = iter(range(10 * args.runs))
        rows = [("read (floor: orjson load of results and ground truth)",
                 *interleaved(lambda: coco_results_tasks(results, gt=gt), lambda: plain_read(results, gt), args.runs)),
                ("write (floor: orjson load of the ground truth, dump, open().write)",
                 *interleaved(lambda: export_coco_results(tasks, root / f"ours{next(runs)}", gt=gt),
                              lambda: plain_write(root / f"plain{next(runs)}" / "results.json", records, gt),
                              args.runs))]
        size = results.stat().st_size / 1e6
    print_format_rows(f"COCO results of {args.images:,} images, {len(records):,} boxes ({size:.1f} MB), CPU seconds, "
                      f"medians of {args.runs} interleaved runs", "COCO results", rows)


if __name__ == "__main__":
    main()
