"""Kill exports at random moments and count what is left behind (a census run by hand, issue #20).

    python benchmarks/census_kills.py [--kills 20] [--tasks 4000] [--jobs 2] [--seed 0]

Each round starts ``fastlabel-formats export --to yolo,coco --overwrite --jobs N`` into a folder
that holds a previous complete export, kills it (SIGKILL or SIGTERM, alternating) after a random
delay, and then counts:
- processes of the round still alive 20 s later (its workers included: found by a marker in their
  environment);
- output folders that are neither the previous export nor a complete new one (a partial publish);
- leftovers beside them (staging folders, locks), before and after the next run into the folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_never_harm import _marked_processes as marked  # noqa: E402


def export(tasks: Path, out: Path, jobs: int, environment: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fastlabel_formats", "export", str(tasks), "--to", "yolo,coco",
                             "-o", str(out), "--overwrite", "--jobs", str(jobs), "-q"], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def state(out: Path, count: int) -> str:
    """``previous``, ``complete`` or ``partial`` for the yolo and coco folders of ``out``."""
    labels = len(list((out / "yolo" / "annotations").rglob("*.txt")))
    coco = out / "coco" / "annotations.json"
    images = len(json.loads(coco.read_text())["images"]) if coco.exists() else -1
    if (out / "yolo" / "previous.txt").exists() and (out / "coco" / "previous.txt").exists():
        return "previous"
    return "complete" if labels == count and images == count else f"partial ({labels} labels, {images} images)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="census-kills-"))
    tasks = folder / "tasks.json"
    tasks.write_text(json.dumps([{"name": f"d{n // 500}/img{n}.jpg", "width": 64, "height": 48, "annotations": [
        {"type": "bbox", "value": "cat", "points": [1, 1, 10 + n % 40, 20]}]} for n in range(args.tasks)]))
    started = time.monotonic()
    export(tasks, folder / "timing", args.jobs).wait()
    whole = time.monotonic() - started
    orphans, partial, leftovers = 0, 0, 0
    for round_ in range(args.kills):
        out = folder / f"out{round_}"
        for name in ("yolo", "coco"):
            (out / name).mkdir(parents=True)
            (out / name / "previous.txt").write_text("previous")
        mark = f"FF_CENSUS_{uuid.uuid4().hex}"
        process = export(tasks, out, args.jobs, {**os.environ, mark: "1"})
        time.sleep(draw.uniform(0, whole))
        process.send_signal(signal.SIGKILL if round_ % 2 == 0 else signal.SIGTERM)
        process.wait()
        time.sleep(20)
        alive = marked(mark)
        orphans += bool(alive)
        found = state(out, args.tasks)
        partial += found.startswith("partial")
        extra = sorted(p.name for p in out.iterdir() if p.name not in ("yolo", "coco"))
        export(tasks, out, 1).wait()  # the next run into the folder cleans up what the killed one left
        left = sorted(p.name for p in out.iterdir() if p.name not in ("yolo", "coco"))
        leftovers += bool(left)
        print(f"round {round_:2d}: {'KILL' if round_ % 2 == 0 else 'TERM'} at {process.returncode}, output {found}, "
              f"processes left {len(alive)}, beside it {extra} -> after the next run {left}", flush=True)
    print(f"{args.kills} kills of a {whole:.1f} s export: {orphans} with processes left, {partial} partial "
          f"publishes, {leftovers} with leftovers after the next run")
    return 1 if orphans or partial or leftovers else 0


if __name__ == "__main__":
    sys.exit(main())
