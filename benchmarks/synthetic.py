"""Deterministic synthetic FastLabel tasks for benchmarks and differential tests.

    python benchmarks/synthetic.py --count 2000 --per-task 30 -o /tmp/tasks.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import orjson

VALUES = ["person", "car", "dog", "cat", "bicycle", "tree", "sign", "bus"]
COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf"]


def _attributes(rng: np.random.Generator) -> list[dict]:
    return [
        {"key": "truncated", "name": "Truncated", "type": "switch", "value": bool(rng.random() < 0.2)},
        {"key": "occluded", "name": "Occluded", "type": "switch", "value": bool(rng.random() < 0.3)},
        {"key": "kind", "name": "Kind", "type": "select", "value": f"k{int(rng.integers(3))}"},
    ]


def _coord(rng: np.random.Generator, values: np.ndarray, floats: bool) -> list:
    if floats and rng.random() < 0.5:
        return [round(float(v) + float(rng.random()), 2) for v in values]
    return [int(v) for v in values]


def _polygon(rng, cx, cy, radius, n, clockwise=True):
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    if not clockwise:
        angles = angles[::-1]
    radii = radius * rng.uniform(0.6, 1.0, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)


def _annotation(rng, kind, width, height, floats):
    value_index = int(rng.integers(len(VALUES)))
    cx, cy = rng.uniform(60, width - 60), rng.uniform(60, height - 60)
    radius = rng.uniform(15, 55)
    if kind == "bbox":
        points = _coord(rng, np.array([cx - radius, cy - radius * 0.7, cx + radius, cy + radius * 0.7]), floats)
    elif kind == "polygon":
        points = _coord(rng, _polygon(rng, cx, cy, radius, int(rng.integers(5, 12))).ravel(), floats)
    else:
        outer = _coord(rng, _polygon(rng, cx, cy, radius, int(rng.integers(6, 14))).ravel(), floats)
        hole = _coord(rng, _polygon(rng, cx, cy, radius * 0.3, 5, clockwise=False).ravel(), floats)
        region = [outer + outer[:2], hole + hole[:2]]
        points = [region] if rng.random() < 0.7 else [region, [[int(v) + 0 for v in (
            cx + radius, cy, cx + radius + 8, cy, cx + radius + 8, cy + 8, cx + radius, cy + 8, cx + radius, cy)]]]
    return {
        "type": kind, "value": VALUES[value_index], "title": VALUES[value_index].title(),
        "color": COLORS[value_index], "points": points, "rotation": 0,
        "attributes": _attributes(rng), "keypoints": [], "confidenceScore": -1,
    }


def make_tasks(count: int, per_task: int, width: int = 1920, height: int = 1080,
               seed: int = 0, floats: bool = True) -> list[dict]:
    """``count`` image tasks with ``per_task`` annotations each (bbox, polygon, segmentation)."""
    rng = np.random.default_rng(seed)
    kinds = ["bbox", "polygon", "segmentation"]
    return [
        {
            "id": f"task-{i}", "name": f"images/{i // 500}/img_{i:06d}.jpg", "status": "completed",
            "externalStatus": "registered", "width": width, "height": height,
            "annotations": [_annotation(rng, kinds[int(rng.integers(3))], width, height, floats)
                            for _ in range(per_task)],
        }
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    tasks = make_tasks(args.count, args.per_task, args.width, args.height, args.seed)
    args.output.write_bytes(orjson.dumps(tasks))


if __name__ == "__main__":
    main()
