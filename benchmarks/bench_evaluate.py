"""Time ``evaluate`` with each installed backend against pycocotools on the same documents.

    python benchmarks/bench_evaluate.py [--images 5000] [--predictions 50] [--runs 3] [--iou-type bbox]

Generated ground truth (8 boxes of 10 classes per 1280×720 image) and predictions (each box found
with some jitter, the rest false positives, ``--predictions`` per image, scored). Prints one table:
median wall time of ``--runs`` runs, interleaved round by round, of the scoring alone (the engine on
the prepared COCO documents) and of the whole ``evaluate`` (reading the tasks and building the
documents too), the speed-up over pycocotools and the largest difference of any metric from it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import time
from collections.abc import Callable

import numpy as np

from fastlabel_formats.evaluation import BACKENDS, backend_engine, detections, evaluate, ground_truth
from fastlabel_formats.report import ConversionReport

WIDTH, HEIGHT, CLASSES, PER_IMAGE = 1280, 720, 10, 8


def make_pair(images: int, predictions: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Ground-truth tasks and scored prediction tasks of ``images`` images."""
    rng = np.random.default_rng(seed)
    truth, found = [], []
    for index in range(images):
        boxes = _boxes(rng, PER_IMAGE)
        classes = rng.integers(0, CLASSES, PER_IMAGE)
        jitter = rng.normal(0, 6, (PER_IMAGE, 4))
        guesses = np.concatenate([boxes + jitter, _boxes(rng, max(predictions - PER_IMAGE, 0))])[:predictions]
        guess_classes = np.concatenate([classes, rng.integers(0, CLASSES, max(predictions - PER_IMAGE, 0))])
        scores = rng.random(len(guesses))
        name = f"images/{index:06d}.jpg"
        truth.append(_task(name, [_box(box, value) for box, value in zip(boxes, classes)]))
        found.append(_task(name, [_box(*row) for row in zip(guesses, guess_classes, scores)]))
    return truth, found


def _boxes(rng: np.random.Generator, count: int) -> np.ndarray:
    corner = rng.uniform([0, 0], [WIDTH - 200, HEIGHT - 200], (count, 2))
    size = rng.uniform(8, 200, (count, 2))
    return np.round(np.concatenate([corner, corner + size], axis=1), 2)


def _box(box: np.ndarray, value: int, score: float | None = None) -> dict:
    made = {"type": "bbox", "value": f"class{value}", "points": [round(float(v), 2) for v in box]}
    return made if score is None else {**made, "attributes": [{"key": "score", "value": round(float(score), 4)}]}


def _task(name: str, annotations: list[dict]) -> dict:
    return {"name": name, "width": WIDTH, "height": HEIGHT, "annotations": annotations}


def timed_together(runs_by_label: dict[str, Callable[[], object]], runs: int) -> tuple[dict, dict]:
    """Median seconds of each callable (interleaved round by round) and each one's last result."""
    times: dict[str, list[float]] = {label: [] for label in runs_by_label}
    results = {}
    for _ in range(runs):
        for label, run in runs_by_label.items():
            gc.collect()
            started = time.perf_counter()
            results[label] = run()
            times[label].append(time.perf_counter() - started)
    return {label: statistics.median(values) for label, values in times.items()}, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--predictions", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--iou-type", default="bbox", choices=("bbox", "segm"))
    args = parser.parse_args()
    truth, found = make_pair(args.images, args.predictions)
    report = ConversionReport("bench")
    ground = ground_truth(truth, report=report)
    results = detections(found, "auto", ground, args.iou_type, report=report)
    installed = [name for name in BACKENDS if importlib.util.find_spec(name.replace("-", "_")) is not None]
    engines = {name: backend_engine(name)[1] for name in installed}
    scoring = {name: (lambda engine=engine: engine(ground, results, args.iou_type, None))
               for name, engine in engines.items()}
    whole = {name: (lambda name=name: evaluate(truth, found, iou_type=args.iou_type, backend=name))
             for name in installed}
    score_times, _ = timed_together(scoring, args.runs)
    whole_times, outcomes = timed_together(whole, args.runs)
    reference = outcomes["pycocotools"].metrics
    print(f"{args.iou_type}: {args.images:,} images × {args.predictions} predictions "
          f"({len(results):,} results, {len(ground['annotations']):,} labelled boxes), medians of {args.runs}")
    print(f"{'backend':<18} {'scoring s':>10} {'speed-up':>9} {'evaluate s':>11} {'speed-up':>9} {'max |Δ|':>9}")
    for name in installed:
        gap = max(abs(outcomes[name].metrics[key] - reference[key]) for key in reference)
        print(f"{name:<18} {score_times[name]:>10.2f} {score_times['pycocotools'] / score_times[name]:>8.1f}× "
              f"{whole_times[name]:>11.2f} {whole_times['pycocotools'] / whole_times[name]:>8.1f}× {gap:>9.1e}")


if __name__ == "__main__":
    main()
