"""Time the DOTA reader and writer against plain Python reading and writing the same label files.

The baseline reads every ``labelTxt/*.txt`` and splits each line into 8 floats, a class and a flag
(no checks, no boxes), and writes the same lines back from those numbers with ``open().write`` (no
checks, not atomic).

    python benchmarks/bench_format_dota.py [--count 2000] [--per-image 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastlabel_formats.formats.dota import dota_tasks, export_dota


def median_seconds(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def make_tasks(count: int, per_image: int, seed: int = 0) -> list[dict]:
    """``count`` images of ``per_image`` rotated boxes at random angles."""
    generator = random.Random(seed)
    tasks = []
    for number in range(count):
        annotations = []
        for _ in range(per_image):
            x, y = generator.uniform(0, 4000), generator.uniform(0, 4000)
            w, h = generator.uniform(2, 300), generator.uniform(2, 300)
            annotations.append({"type": "bbox", "value": generator.choice(["plane", "ship", "small-vehicle"]),
                                "points": [x, y, x + w, y + h], "rotation": generator.uniform(0, 360),
                                "attributes": [{"key": "difficult", "value": generator.random() < 0.1,
                                                "type": "switch"}]})
        tasks.append({"name": f"P{number:05d}.png", "width": 4096, "height": 4096, "annotations": annotations})
    return tasks


def plain_read(folder: Path) -> list:
    out = []
    for path in sorted(folder.rglob("*.txt")):
        lines = []
        for line in path.read_text().splitlines():
            fields = line.split()
            lines.append(([float(v) for v in fields[:8]], fields[8], fields[9] == "1"))
        out.append((path.relative_to(folder).as_posix(), lines))
    return out


def plain_write(folder: Path, files: list) -> None:
    for name, lines in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as handle:
            handle.write("".join(f"{' '.join(map(str, numbers))} {label} {int(flag)}\n"
                                 for numbers, label, flag in lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--per-image", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tasks = make_tasks(args.count, args.per_image)
    root = Path(tempfile.mkdtemp())
    export_dota(tasks, root / "dataset")
    files = plain_read(root / "dataset")
    size = sum(p.stat().st_size for p in (root / "dataset").rglob("*.txt")) / 1e6
    rows = [
        ("read: plain Python split of every line", median_seconds(lambda: plain_read(root / "dataset"), args.runs)),
        ("read: dota_tasks (boxes and rotations recovered)",
         median_seconds(lambda: dota_tasks(root / "dataset"), args.runs)),
    ]
    runs = iter(range(10 * args.runs))
    rows += [
        ("write: plain Python formatting and writing the same lines",
         median_seconds(lambda: plain_write(root / f"plain{next(runs)}", files), args.runs)),
        ("write: export_dota (checked, atomic)",
         median_seconds(lambda: export_dota(tasks, root / f"ours{next(runs)}"), args.runs)),
    ]
    print(f"DOTA labels of {args.count} images x {args.per_image} rotated boxes ({size:.1f} MB); "
          f"median of {args.runs} runs")
    print("| run | seconds | ÷ plain |")
    print("|---|---|---|")
    for number, (label, seconds) in enumerate(rows):
        baseline = rows[number - number % 2][1]
        print(f"| {label} | {seconds:.3f} | {seconds / baseline:.2f} |")


if __name__ == "__main__":
    main()
