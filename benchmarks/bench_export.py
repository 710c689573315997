"""Time the four exporters against the JSON floor and, when installed, the official SDK.

    python benchmarks/bench_export.py [--count 2000] [--per-task 30] [--runs 5] [--ref-runs 5]

Prints one table: median wall time of ``--runs`` runs, ratios measured in the same run, the
export's own peak allocation (tracemalloc, beyond the loaded tasks) and the size written.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_tasks  # noqa: E402

import fastlabel_formats as ff  # noqa: E402

SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None


def timed(run: Callable[[Path], object], runs: int) -> float:
    """Median seconds of ``runs`` calls, each writing into a fresh folder (removed afterwards,
    not in between: deleting thousands of files makes the next run's creates stall)."""
    times, folders = [], []
    for _ in range(runs):
        folders.append(Path(tempfile.mkdtemp(prefix="bench-", dir=SCRATCH)))
        os.sync()  # earlier runs' pending writeback would otherwise stall this run's file creates
        gc.collect()
        started = time.perf_counter()
        run(folders[-1])
        times.append(time.perf_counter() - started)
    for folder in folders:
        shutil.rmtree(folder)
    return statistics.median(times)


def timed_together(runs_by_label: dict[str, Callable[[Path], object]], runs: int) -> dict[str, float]:
    """Median seconds of each callable, their runs interleaved round by round, so that the
    machine's slow and fast minutes fall on all of them alike (ratios stay fair on a shared VM)."""
    times: dict[str, list[float]] = {label: [] for label in runs_by_label}
    for _ in range(runs):
        for label, run in runs_by_label.items():
            times[label].append(timed(run, 1))
    return {label: statistics.median(values) for label, values in times.items()}


def peak_and_size(run: Callable[[Path], object]) -> tuple[float, float]:
    """Peak traced allocation of one run and the bytes it wrote, in MB."""
    out = Path(tempfile.mkdtemp(prefix="bench-", dir=SCRATCH))
    os.sync()
    gc.collect()
    tracemalloc.start()
    run(out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out)
    return peak / 1e6, size / 1e6


def reference_runs(tasks: list[dict]) -> dict[str, Callable[[Path], object]]:
    """The official SDK's converters plus the file writing its Client methods do."""
    try:
        import xmltodict
        from fastlabel import converters
        from fastlabel.utils import get_basename
    except ImportError:
        return {}

    def coco(out: Path) -> None:
        data = converters.to_coco("image_bbox", tasks, str(out))
        with open(out / "annotations.json", "w") as stream:
            json.dump(data, stream, indent=4, ensure_ascii=False)

    def yolo(out: Path) -> None:
        annos, categories = converters.to_yolo("image_bbox", tasks, [], str(out))
        for anno in annos:
            path = out / "annotations" / (get_basename(anno["filename"]) + ".txt")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(o + "\n" for o in anno.get("object") or []), encoding="utf8")
        (out / "classes.txt").write_text("".join(c["name"] + "\n" for c in categories))

    def pascalvoc(out: Path) -> None:
        for voc in converters.to_pascalvoc("image_bbox", tasks, str(out)):
            path = out / "annotations" / (get_basename(voc["annotation"]["filename"]) + ".xml")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(xmltodict.unparse(voc, pretty=True, indent="    ", full_document=False))

    def labelme(out: Path) -> None:
        for document in converters.to_labelme(copy.deepcopy(tasks)):
            path = out / (get_basename(document["imagePath"]) + ".json")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w") as stream:
                json.dump(document, stream, indent=4, ensure_ascii=False)

    return {"coco": coco, "yolo": yolo, "pascalvoc": pascalvoc, "labelme": labelme}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ref-runs", type=int, default=5, help="runs of the official SDK (0 = skip)")
    args = parser.parse_args()
    tasks = make_tasks(args.count, args.per_task)
    exporters = {"coco": ff.export_coco, "yolo": ff.export_yolo, "pascalvoc": ff.export_pascalvoc,
                 "labelme": ff.export_labelme}
    coco_dict = ff.to_coco(tasks)
    floor = timed(lambda out: orjson.dumps(coco_dict), args.runs)
    reference = reference_runs(tasks) if args.ref_runs else {}
    print(f"workload: {args.count} tasks x {args.per_task} annotations (bbox, polygon, segmentation "
          f"with holes), 1920x1080; median of {args.runs} runs (SDK: {args.ref_runs}); "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"files written to {SCRATCH or tempfile.gettempdir()} (tmpfs when available: this VM's disk "
          "latency varies 20x from minute to minute and would swamp both sides)")
    print(f"floor: orjson.dumps of the produced COCO dict = {floor:.3f} s")
    print("| exporter | ours (s) | official SDK (s) | speed-up | ÷ floor | peak alloc (MB) | written (MB) |")
    print("|---|---|---|---|---|---|---|")
    for name, export in exporters.items():
        ref = timed(reference[name], args.ref_runs) if name in reference else None
        for jobs in (1, 2):
            def run(out, export=export, jobs=jobs):
                return export(tasks, out, jobs=jobs)

            seconds = timed(run, args.runs)
            peak, size = peak_and_size(run) if jobs == 1 else (float("nan"), float("nan"))
            ref_text = f"{ref:.3f}" if ref else "—"
            ratio = f"{ref / seconds:.1f}×" if ref else "—"
            print(f"| export_{name} jobs={jobs} | {seconds:.3f} | {ref_text} | {ratio} | {seconds / floor:.2f} "
                  f"| {peak:.1f} | {size:.1f} |")


if __name__ == "__main__":
    main()
