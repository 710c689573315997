"""Time the DOTA reader and writer against plain text reading and writing of the same label files
(interleaved runs, medians, CPU seconds).

Read floor: every ``labelTxt/*.txt`` read, its lines split, the 8 coordinates of all lines made one
numpy array, the class and flag kept (no checks, no boxes, no tasks).
Write floor: the same lines formatted from those arrays with ``str.join`` and written with
``open().write`` (no checks, not atomic).

    python benchmarks/bench_format_dota.py [--count 1000] [--per-image 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import numpy as np
from timing import interleaved, print_format_rows

from fastlabel_formats.formats.dota import dota_tasks, export_dota


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
    """``(relative path, coordinates (n, 8), classes, difficult flags)`` of every label file."""
    out = []
    for path in sorted(folder.rglob("*.txt")):
        fields = [line.split() for line in path.read_text().splitlines()]
        coordinates = np.array([row[:8] for row in fields], dtype=np.float64).reshape(-1, 8)
        out.append((path.relative_to(folder).as_posix(), coordinates, [row[8] for row in fields],
                    [row[9] for row in fields]))
    return out


def plain_write(folder: Path, files: list) -> None:
    """The same lines from the arrays, joined and written."""
    for name, coordinates, classes, flags in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as handle:
            handle.write("".join(f"{' '.join(map(str, row))} {label} {flag}\n"
                                 for row, label, flag in zip(coordinates.tolist(), classes, flags)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--per-image", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tasks = make_tasks(args.count, args.per_image)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        export_dota(tasks, root / "dataset")
        files = plain_read(root / "dataset")
        size = sum(p.stat().st_size for p in (root / "dataset").rglob("*.txt")) / 1e6
        runs = iter(range(10 * args.runs))
        rows = [("read (floor: split, numpy)", *interleaved(lambda: dota_tasks(root / "dataset"),
                                                           lambda: plain_read(root / "dataset"), args.runs)),
                ("write (floor: str.join, open().write)",
                 *interleaved(lambda: export_dota(tasks, root / f"ours{next(runs)}"),
                              lambda: plain_write(root / f"plain{next(runs)}", files), args.runs))]
    print_format_rows(f"DOTA labels of {args.count} images × {args.per_image} rotated boxes ({size:.1f} MB), "
                      f"CPU seconds, medians of {args.runs} interleaved runs", "DOTA", rows)


if __name__ == "__main__":
    main()
