"""convert COCO->YOLO, COCO->VOC, YOLO->COCO against globox, and COCO loading against pycocotools.

    python benchmarks/bench_convert.py [--count 2000] [--per-task 30] [--runs 3]

Needs the ``bench`` extra (globox); pycocotools is a runtime dependency.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_export import SCRATCH  # noqa: E402
from synthetic import make_tasks  # noqa: E402

import fastlabel_formats as ff  # noqa: E402
from fastlabel_formats.convert import read_tasks, write_tasks  # noqa: E402


def median(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = Path(tempfile.mkdtemp(prefix="bench-", dir=SCRATCH))
        started = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            run(out)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def prepare(count: int, per_task: int) -> tuple[Path, Path]:
    """A COCO file and a YOLO dataset (with 1920x1080 images) of the same synthetic tasks."""
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="bench-data-", dir=SCRATCH))
    tasks = [{**t, "name": Path(t["name"]).name} for t in make_tasks(count, per_task)]  # globox wants flat names
    ff.export_coco(tasks, folder / "coco")
    ff.export_yolo(tasks, folder / "yolo")
    blank = io.BytesIO()
    Image.new("L", (1920, 1080)).save(blank, format="PNG")
    for task in tasks:  # the image files YOLO needs for sizes (task names end in .jpg: same bytes, PNG header)
        path = folder / "yolo/annotations" / task["name"]
        path.write_bytes(blank.getvalue())
    return folder / "coco/annotations.json", folder / "yolo"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import globox
    from pycocotools.coco import COCO

    coco, yolo = prepare(args.count, args.per_task)
    labels = yolo / "annotations"
    rows = {
        "COCO -> YOLO": (lambda out: write_tasks(read_tasks(coco, "coco"), "yolo", out, jobs=1),
                         lambda out: globox.AnnotationSet.from_coco(coco).save_yolo_v5(out)),
        "COCO -> VOC": (lambda out: write_tasks(read_tasks(coco, "coco"), "voc", out, jobs=1),
                        lambda out: globox.AnnotationSet.from_coco(coco).save_pascal_voc(out)),
        "YOLO -> COCO": (lambda out: write_tasks(read_tasks(labels, "yolo", classes_file=yolo / "classes.txt"),
                                                 "coco", out, jobs=1),
                         lambda out: globox.AnnotationSet.from_yolo_v5(labels, image_folder=labels).save_coco(
                             out / "coco.json", auto_ids=True)),
        "load COCO": (lambda out: ff.coco_tasks(coco), lambda out: COCO(str(coco))),
    }
    print(f"{args.count} images x {args.per_task} annotations; median of {args.runs}; {os.cpu_count()} cores; "
          "ours with jobs=1")
    print("| conversion | ours (s) | peer (s) | peer | speed-up |")
    print("|---|---|---|---|---|")
    for name, (ours, peer) in rows.items():
        ours_s, peer_s = median(ours, args.runs), median(peer, args.runs)
        who = "pycocotools" if name == "load COCO" else "globox"
        print(f"| {name} | {ours_s:.3f} | {peer_s:.3f} | {who} | {peer_s / ours_s:.1f}× |")


if __name__ == "__main__":
    main()
