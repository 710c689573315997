"""Time COCO -> FastLabel against json.load of the same file and, when installed, the official SDK.

    python benchmarks/bench_import.py [--count 2000] [--per-task 30] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_tasks  # noqa: E402

import fastlabel_formats as ff  # noqa: E402


def median_seconds(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sdk", action="store_true", help="skip the official SDK (quadratic: slow on big files)")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "coco.json"
    ff.export_coco(make_tasks(args.count, args.per_task), path.parent, output_file_name=path.name)
    load = median_seconds(lambda: json.loads(path.read_bytes()), args.runs)
    modes = {"None (per annotation)": None, '"polygon" (the SDK\'s mode)': "polygon"}
    print(f"COCO file of {args.count} images x {args.per_task} annotations ({path.stat().st_size / 1e6:.1f} MB); "
          f"median of {args.runs} runs; json.load = {load:.3f} s")
    print("| run | seconds | ÷ json.load | vs official SDK |")
    print("|---|---|---|---|")
    try:
        if args.no_sdk:
            raise ImportError
        from fastlabel import converters

        reference = median_seconds(lambda: converters.execute_coco_to_fastlabel(json.loads(path.read_bytes()),
                                                                               "polygon"), max(1, args.runs // 2))
        print(f"| official SDK, polygon | {reference:.3f} | {reference / load:.1f} | 1× |")
    except ImportError:
        reference = None
    for label, mode in modes.items():
        seconds = median_seconds(lambda mode=mode: ff.coco_to_fastlabel(path, mode), args.runs)
        ratio = f"{reference / seconds:.0f}×" if reference else "—"
        print(f"| coco_to_fastlabel, annotation_type={label} | {seconds:.3f} | {seconds / load:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
