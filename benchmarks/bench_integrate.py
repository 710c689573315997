"""Time integrate_image_tiles on a 4x4 grid at 1k / 10k / 100k annotations (a third crossing seams).

    python benchmarks/bench_integrate.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastlabel_formats as ff


def tiled(count: int, seed: int = 0) -> list[dict]:
    """A 4x4 split of a 4000x4000 image with ``count`` boxes and polygons (about a third on seams)."""
    rng = np.random.default_rng(seed)
    annotations = []
    for number in range(count):
        on_seam = number % 3 == 0
        x = float(rng.choice([1000, 2000, 3000])) - rng.uniform(5, 40) if on_seam else rng.uniform(10, 3900)
        y = rng.uniform(10, 3900)
        w, h = rng.uniform(10, 80), rng.uniform(10, 80)
        x, y, w, h = int(x), int(y), int(w), int(h)
        value = f"c{number % 7}"
        if number % 2:
            annotations.append({"type": "bbox", "value": value, "points": [x, y, x + w, y + h]})
        else:
            annotations.append({"type": "polygon", "value": value, "points": [x, y, x + w, y, x + w, y + h, x, y + h]})
    task = {"name": "big/scan.png", "width": 4000, "height": 4000, "annotations": annotations}
    return ff.split_image_task(task, 4, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--counts", default="1000,10000,100000")
    args = parser.parse_args()
    print("| annotations | integrate (s) | per 1k annotations (ms) |")
    print("|---|---|---|")
    for count in (int(c) for c in args.counts.split(",")):
        tiles = tiled(count)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            ff.integrate_image_tiles(tiles, "big/scan")
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        print(f"| {count:,} | {seconds:.3f} | {seconds / count * 1e6:.1f} |")


if __name__ == "__main__":
    main()
