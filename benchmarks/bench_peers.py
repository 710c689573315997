"""Our conversions beside globox and pycocotools on the same jobs, and beside floors.

    python benchmarks/bench_peers.py [--images 2000] [--per-image 30] [--rounds 5]

Jobs: FastLabel tasks -> COCO, FastLabel tasks -> YOLO, COCO -> YOLO, COCO -> VOC, YOLO -> COCO
(sizes from the images' headers) and loading a COCO file. Ours goes through the public API, each run
into a fresh output folder. A job's floor does only what no converter can avoid: ``orjson`` load of
the input (or reading the YOLO label files and the image headers), then writing our own output,
precomputed (``orjson`` dump of the COCO dict, or the label / XML files' bytes).

Runs are interleaved: each round runs every (job, tool) once in a shuffled order, so the machine's
slow and fast minutes fall on all of them alike; the table gives the median of the rounds.

supervision is not a peer: ``DetectionDataset.from_coco`` rasterises a full-image mask for every
annotation of an image that has a polygon (1920 × 1080 bytes each, 124 GB at 2,000 × 30), and its
``as_yolo`` decodes every image for its size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from bench_export import SCRATCH, timed  # noqa: E402
from synthetic import make_tasks  # noqa: E402

import fastlabel_formats as ff  # noqa: E402
from fastlabel_formats.convert import read_tasks, write_tasks  # noqa: E402

Run = Callable[[Path], object]
# an output file to write: bytes as they are, a dict dumped with orjson
Payload = bytes | dict
TARGET_PEER_RATIO, TARGET_FLOOR_RATIO = 0.5, 1.3


@dataclass(frozen=True)
class Inputs:
    """The inputs of the jobs, written once (by our own exporters) before any timing."""

    tasks: Path  # FastLabel tasks JSON
    coco: Path  # COCO file
    yolo: Path  # annotations/*.txt + classes.txt
    images: Path  # one header-sized PNG per image, named like the YOLO labels
    category_ids: dict[str, int]  # COCO category name -> YOLO class index
    folders: list[str]  # the folders of the image names (globox writes into them but makes none)


@dataclass
class Job:
    """One conversion: ours, its peers (by name) and its floor."""

    name: str
    ours: Run
    floor: Run
    peers: dict[str, Run] = field(default_factory=dict)


def written_files(folder: Path) -> dict[str, Payload]:
    """``{relative path: content}`` of every file under ``folder`` (JSON files parsed)."""
    files: dict[str, Payload] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        files[str(path.relative_to(folder))] = orjson.loads(data) if path.suffix == ".json" else data
    return files


def write_files(out: Path, files: dict[str, Payload]) -> None:
    """Write precomputed ``files`` under ``out``: the floor's output side."""
    for folder in {os.path.dirname(name) for name in files}:
        (out / folder).mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        with open(out / name, "wb") as stream:
            stream.write(content if isinstance(content, bytes) else orjson.dumps(content))


def precomputed(run: Run) -> dict[str, Payload]:
    """The files ``run`` writes (run once, outside the timings)."""
    out = Path(tempfile.mkdtemp(prefix="bench-peers-out-", dir=SCRATCH))
    try:
        run(out)
        return written_files(out)
    finally:
        shutil.rmtree(out)


def prepare(root: Path, images: int, per_image: int) -> Inputs:
    """Write the FastLabel tasks, COCO file, YOLO folder and images under ``root``."""
    tasks = make_tasks(images, per_image)
    (root / "tasks.json").write_bytes(orjson.dumps(tasks))
    ff.export_coco(tasks, root / "coco", overwrite=True)
    ff.export_yolo(tasks, root / "yolo", overwrite=True)
    coco = orjson.loads((root / "coco" / "annotations.json").read_bytes())
    write_images(root / "images", [task["name"] for task in tasks], tasks[0]["width"], tasks[0]["height"])
    return Inputs(tasks=root / "tasks.json", coco=root / "coco" / "annotations.json", yolo=root / "yolo",
                  images=root / "images", category_ids={c["name"]: i for i, c in enumerate(coco["categories"])},
                  folders=sorted({os.path.dirname(task["name"]) for task in tasks}))


def write_images(folder: Path, names: list[str], width: int, height: int) -> None:
    """One real PNG per image name (its extension made ``.png``), 1-bit and blank: its header gives
    the size, its body is ~300 bytes."""
    image = tempfile.SpooledTemporaryFile()
    Image.new("1", (width, height)).save(image, "PNG")
    image.seek(0)
    data = image.read()
    for name in names:
        path = (folder / name).with_suffix(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def make_folders(out: Path, folders: list[str]) -> None:
    """Create ``folders`` under ``out``."""
    for folder in folders:
        (out / folder).mkdir(parents=True, exist_ok=True)


def load_json(path: Path) -> object:
    """The floor's input side for a JSON source."""
    return orjson.loads(path.read_bytes())


def load_yolo(inputs: Inputs) -> None:
    """The floor's input side for YOLO -> COCO: every label file read, every image's header read."""
    for label in (inputs.yolo / "annotations").rglob("*.txt"):
        label.read_bytes()
    for image in inputs.images.rglob("*.png"):
        with Image.open(image) as opened:
            opened.size  # noqa: B018 (the header read is the point)


def fastlabel_jobs(inputs: Inputs) -> list[Job]:
    """FastLabel tasks -> COCO / YOLO: no peer reads FastLabel tasks."""
    jobs = []
    for name, export in (("FastLabel -> COCO", ff.export_coco), ("FastLabel -> YOLO", ff.export_yolo)):
        def ours(out: Path, export=export) -> object:
            return export(inputs.tasks, out, overwrite=True)

        jobs.append(Job(name, ours, floor_of(lambda: load_json(inputs.tasks), precomputed(ours))))
    return jobs


def floor_of(load: Callable[[], object], files: dict[str, Payload]) -> Run:
    """A floor: ``load`` the input, then write ``files``."""
    def floor(out: Path) -> None:
        load()
        write_files(out, files)

    return floor


def converted(source: Path, source_format: str, target_format: str, images: Path | None = None) -> Run:
    """Ours, the way ``fastlabel-formats convert`` does it: read tasks, write them."""
    def ours(out: Path) -> object:
        tasks = read_tasks(source, source_format, images=images)
        return write_tasks(tasks, target_format, out, progress=False, image_dir=images and str(images))

    return ours


def conversion_jobs(inputs: Inputs) -> list[Job]:
    """COCO -> YOLO, COCO -> VOC and YOLO -> COCO, ours against globox's."""
    import globox

    def globox_yolo(out: Path) -> None:
        annotations = globox.AnnotationSet.from_coco(inputs.coco)
        make_folders(out, inputs.folders)
        annotations.save_yolo_v5(out, label_to_id=inputs.category_ids)

    def globox_voc(out: Path) -> None:
        annotations = globox.AnnotationSet.from_coco(inputs.coco)
        make_folders(out, inputs.folders)
        annotations.save_pascal_voc(out)

    def globox_coco(out: Path) -> None:
        annotations = globox.AnnotationSet.from_yolo_v5(inputs.yolo / "annotations", image_folder=inputs.images,
                                                        image_extension=".png", recursive=True)
        annotations.save_coco(out / "annotations.json", auto_ids=True)

    coco_yolo = converted(inputs.coco, "coco", "yolo")
    coco_voc = converted(inputs.coco, "coco", "pascalvoc")
    yolo_coco = converted(inputs.yolo, "yolo", "coco", images=inputs.images)
    return [
        Job("COCO -> YOLO", coco_yolo, floor_of(lambda: load_json(inputs.coco), precomputed(coco_yolo)),
            {"globox": globox_yolo}),
        Job("COCO -> VOC", coco_voc, floor_of(lambda: load_json(inputs.coco), precomputed(coco_voc)),
            {"globox": globox_voc}),
        Job("YOLO -> COCO", yolo_coco, floor_of(lambda: load_yolo(inputs), precomputed(yolo_coco)),
            {"globox": globox_coco}),
    ]


def load_job(inputs: Inputs) -> Job:
    """Loading a COCO file into memory: ours (FastLabel tasks) against pycocotools' index."""
    from pycocotools.coco import COCO

    def pycocotools(out: Path) -> None:
        with open(os.devnull, "w") as quiet:  # COCO() prints its progress
            stdout, sys.stdout = sys.stdout, quiet
            try:
                COCO(str(inputs.coco))
            finally:
                sys.stdout = stdout

    return Job("load COCO", lambda out: ff.coco_tasks(inputs.coco), lambda out: load_json(inputs.coco),
               {"pycocotools": pycocotools})


def measure(jobs: list[Job], rounds: int, seed: int = 0) -> dict[tuple[str, str], float]:
    """Median seconds of every (job, tool), ``rounds`` rounds each running all of them once in a
    shuffled order."""
    runs = [((job.name, tool), run) for job in jobs
            for tool, run in {"ours": job.ours, "floor": job.floor, **job.peers}.items()]
    times: dict[tuple[str, str], list[float]] = {key: [] for key, _ in runs}
    shuffler = random.Random(seed)
    for _ in range(rounds):
        shuffler.shuffle(runs)
        for key, run in runs:
            times[key].append(timed(run, 1))
    return {key: statistics.median(values) for key, values in times.items()}


def table(jobs: list[Job], seconds: dict[tuple[str, str], float]) -> list[str]:
    """The Markdown table: one row per job, the misses of the targets in the last column."""
    lines = ["| job | ours (s) | fastest peer (s) | floor (s) | ours ÷ peer | ours ÷ floor | misses |",
             "|---|---|---|---|---|---|---|"]
    for job in jobs:
        ours, floor = seconds[job.name, "ours"], seconds[job.name, "floor"]
        peer = min(job.peers, key=lambda tool: seconds[job.name, tool]) if job.peers else None
        peer_seconds = seconds[job.name, peer] if peer else None
        misses = [f"≤ {TARGET_FLOOR_RATIO}× floor"] if ours / floor > TARGET_FLOOR_RATIO else []
        if peer_seconds and ours / peer_seconds > TARGET_PEER_RATIO:
            misses.insert(0, "2× peer")
        peer_text = f"{peer_seconds:.3f} ({peer})" if peer else "—"
        peer_ratio = f"{ours / peer_seconds:.2f}" if peer_seconds else "—"
        lines.append(f"| {job.name} | {ours:.3f} | {peer_text} | {floor:.3f} | {peer_ratio} | {ours / floor:.2f} "
                     f"| {', '.join(misses) or '—'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--per-image", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-peers-", dir=SCRATCH))
    try:
        inputs = prepare(root, args.images, args.per_image)
        jobs = [*fastlabel_jobs(inputs), *conversion_jobs(inputs), load_job(inputs)]
        seconds = measure(jobs, args.rounds)
    finally:
        shutil.rmtree(root)
    print(f"workload: {args.images} images x {args.per_image} annotations (bbox, polygon, segmentation with holes), "
          f"1920x1080; median of {args.rounds} interleaved rounds; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; files in {SCRATCH or tempfile.gettempdir()}")
    print(f"targets: ours ≤ {TARGET_PEER_RATIO}× the fastest peer (2× faster) and ≤ {TARGET_FLOOR_RATIO}× the floor")
    print("\n".join(table(jobs, seconds)))


if __name__ == "__main__":
    main()
