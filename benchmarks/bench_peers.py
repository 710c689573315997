"""Our conversions beside globox and pycocotools on the same jobs, and beside floors.

    python benchmarks/bench_peers.py [--images 2000] [--per-image 30] [--rounds 5] [--clock wall|cpu]
                                     [--baseline /path/to/a/checkout/of/the/previous/main] [--only JOB]

Jobs: FastLabel tasks -> COCO, FastLabel tasks -> YOLO, COCO -> YOLO, COCO -> VOC, YOLO -> COCO
(sizes from the images' headers), VOC -> COCO, labelme -> COCO and loading a COCO file. Ours goes
through the public API, each run into a fresh output folder. A job's floor does only what no
converter can avoid: ``orjson`` load of the input (or reading the YOLO label files and the image
headers, parsing every VOC XML file with lxml, ``orjson`` load of every labelme file), then writing our own output,
precomputed (``orjson`` dump of the COCO dict, or the label / XML files' bytes), with the cyclic
garbage collector paused as ours pauses it (its passes over a large parsed input are avoidable work:
with them the floors took 2-3x as long).

Runs are interleaved: each round runs every (job, tool) once in a shuffled order, so the machine's
slow and fast minutes fall on all of them alike; the table gives the median of the rounds.
``--clock cpu`` times the process's CPU time instead of the wall clock (every tool here works in
this one process): on a machine other work shares, waiting for a core then costs no one.
``--baseline`` also runs ours from another checkout (its package imported under another name) in
the same rounds: the table gains its time and ours ÷ before.

supervision is not a peer: ``DetectionDataset.from_coco`` rasterises a full-image mask for every
annotation of an image that has a polygon (1920 × 1080 bytes each, 124 GB at 2,000 × 30), and its
``as_yolo`` decodes every image for its size.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import orjson
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from bench_export import SCRATCH, timed  # noqa: E402
from synthetic import make_tasks  # noqa: E402

import fastlabel_formats as ff  # noqa: E402
from fastlabel_formats.runtime import gc_paused  # noqa: E402

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
    voc: Path  # annotations/*.xml
    labelme: Path  # one labelme JSON per image
    category_ids: dict[str, int]  # COCO category name -> YOLO class index
    folders: list[str]  # the folders of the image names (globox writes into them but makes none)


@dataclass
class Job:
    """One conversion: ours, its peers (by name) and its floor."""

    name: str
    ours: Run
    floor: Run
    peers: dict[str, Run] = field(default_factory=dict)
    before: Run | None = None  # ours from the baseline checkout


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
    ff.export_pascalvoc(tasks, root / "voc", overwrite=True)
    ff.export_labelme(tasks, root / "labelme", overwrite=True)
    coco = orjson.loads((root / "coco" / "annotations.json").read_bytes())
    write_images(root / "images", [task["name"] for task in tasks], tasks[0]["width"], tasks[0]["height"])
    return Inputs(tasks=root / "tasks.json", coco=root / "coco" / "annotations.json", yolo=root / "yolo",
                  images=root / "images", voc=root / "voc", labelme=root / "labelme",
                  category_ids={c["name"]: i for i, c in enumerate(coco["categories"])},
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


def load_voc(inputs: Inputs) -> None:
    """The floor's input side for VOC -> COCO: every XML file parsed (as safely as ours parses it)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    for document in inputs.voc.rglob("*.xml"):
        etree.parse(str(document), parser)


def load_labelme(inputs: Inputs) -> None:
    """The floor's input side for labelme -> COCO: every labelme file loaded."""
    for document in inputs.labelme.rglob("*.json"):
        orjson.loads(document.read_bytes())


def our_runs(package: ModuleType, inputs: Inputs) -> dict[str, Run]:
    """Ours for every job, through the public API of ``package`` (this checkout's
    ``fastlabel_formats``, or a baseline's): conversions the way ``fastlabel-formats convert`` does
    them, reading the source (the readers' own rows, in a checkout that has them) and writing it."""
    convert = importlib.import_module(f"{package.__name__}.convert")
    read = getattr(convert, "read_tables", convert.read_tasks)

    def converted(source: Path, source_format: str, target_format: str, images: Path | None = None) -> Run:
        def ours(out: Path) -> object:
            tasks = read(source, source_format, images=images)
            return convert.write_tasks(tasks, target_format, out, progress=False, image_dir=images and str(images))

        return ours

    return {"FastLabel -> COCO": lambda out: package.export_coco(inputs.tasks, out, overwrite=True),
            "FastLabel -> YOLO": lambda out: package.export_yolo(inputs.tasks, out, overwrite=True),
            "COCO -> YOLO": converted(inputs.coco, "coco", "yolo"),
            "COCO -> VOC": converted(inputs.coco, "coco", "pascalvoc"),
            "YOLO -> COCO": converted(inputs.yolo, "yolo", "coco", images=inputs.images),
            "VOC -> COCO": converted(inputs.voc, "pascalvoc", "coco"),
            "labelme -> COCO": converted(inputs.labelme, "labelme", "coco"),
            "load COCO": lambda out: package.coco_tasks(inputs.coco)}


def floor_of(load: Callable[[], object], files: dict[str, Payload]) -> Run:
    """A floor: ``load`` the input, then write ``files``, with the cyclic garbage collector paused
    as ours runs (its passes over the parsed input are work a converter can avoid)."""
    @gc_paused
    def floor(out: Path) -> None:
        load()
        write_files(out, files)

    return floor


def jobs_of(inputs: Inputs, baseline: ModuleType | None = None) -> list[Job]:
    """Every job: ours, its floor (its input loaded, our output written precomputed), its peers
    (no peer reads FastLabel tasks) and ours from the baseline."""
    ours = our_runs(ff, inputs)
    before = our_runs(baseline, inputs) if baseline is not None else {}
    loads = {"FastLabel": lambda: load_json(inputs.tasks), "COCO": lambda: load_json(inputs.coco),
             "YOLO": lambda: load_yolo(inputs), "VOC": lambda: load_voc(inputs),
             "labelme": lambda: load_labelme(inputs)}
    peers = peer_runs(inputs)
    jobs = []
    for name, run in ours.items():
        floor = gc_paused(lambda out: load_json(inputs.coco)) if name == "load COCO" else \
            floor_of(loads[name.split(" ")[0]], precomputed(run))
        jobs.append(Job(name, run, floor, peers.get(name, {}), before.get(name)))
    return jobs


def peer_runs(inputs: Inputs) -> dict[str, dict[str, Run]]:
    """The peers of each job: globox for the conversions, pycocotools for loading COCO."""
    import globox
    from pycocotools.coco import COCO

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

    def globox_voc_coco(out: Path) -> None:
        globox.AnnotationSet.from_pascal_voc(inputs.voc, recursive=True).save_coco(out / "annotations.json",
                                                                                  auto_ids=True)

    def globox_labelme_coco(out: Path) -> None:  # globox keeps a polygon's box only; ours the polygon
        globox.AnnotationSet.from_labelme(inputs.labelme, include_poly=True, recursive=True).save_coco(
            out / "annotations.json", auto_ids=True)

    def pycocotools(out: Path) -> None:
        with open(os.devnull, "w") as quiet:  # COCO() prints its progress
            stdout, sys.stdout = sys.stdout, quiet
            try:
                COCO(str(inputs.coco))
            finally:
                sys.stdout = stdout

    return {"COCO -> YOLO": {"globox": globox_yolo}, "COCO -> VOC": {"globox": globox_voc},
            "YOLO -> COCO": {"globox": globox_coco}, "VOC -> COCO": {"globox": globox_voc_coco},
            "labelme -> COCO": {"globox": globox_labelme_coco}, "load COCO": {"pycocotools": pycocotools}}


def baseline_package(checkout: Path, root: Path) -> ModuleType:
    """The ``fastlabel_formats`` package of another checkout, imported as ``fastlabel_formats_baseline``
    from a copy under ``root`` (its modules import each other relatively)."""
    shutil.copytree(checkout / "fastlabel_formats", root / "baseline" / "fastlabel_formats_baseline")
    sys.path.insert(0, str(root / "baseline"))
    return importlib.import_module("fastlabel_formats_baseline")


def measure(jobs: list[Job], rounds: int, seed: int = 0, clock: str = "wall") -> dict[tuple[str, str], float]:
    """Median seconds (of the wall clock, or of this process's CPU) of every (job, tool),
    ``rounds`` rounds each running all of them once in a shuffled order."""
    runs = [((job.name, tool), run) for job in jobs
            for tool, run in {"ours": job.ours, "floor": job.floor, **job.peers,
                              **({"before": job.before} if job.before else {})}.items()]
    times: dict[tuple[str, str], list[float]] = {key: [] for key, _ in runs}
    shuffler = random.Random(seed)
    for _ in range(rounds):
        shuffler.shuffle(runs)
        for key, run in runs:
            times[key].append(timed(run, 1) if clock == "wall" else cpu_timed(run))
    return {key: statistics.median(values) for key, values in times.items()}


def cpu_timed(run: Run) -> float:
    """The CPU seconds of one run of ``run`` (as :func:`timed` runs it, into a fresh folder)."""
    spent = []

    def counted(out: Path) -> None:
        started = time.process_time()
        run(out)
        spent.append(time.process_time() - started)

    timed(counted, 1)
    return spent[0]


def table(jobs: list[Job], seconds: dict[tuple[str, str], float]) -> list[str]:
    """The Markdown table: one row per job, the misses of the targets in the last column (and with
    a baseline, its time and ours ÷ before)."""
    baseline = any(job.before for job in jobs)
    lines = ["| job | ours (s) | fastest peer (s) | floor (s) | ours ÷ peer | ours ÷ floor | misses |"
             + (" before (s) | ours ÷ before |" if baseline else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|" if baseline else "")]
    for job in jobs:
        ours, floor = seconds[job.name, "ours"], seconds[job.name, "floor"]
        peer = min(job.peers, key=lambda tool: seconds[job.name, tool]) if job.peers else None
        peer_seconds = seconds[job.name, peer] if peer else None
        misses = [f"≤ {TARGET_FLOOR_RATIO}× floor"] if ours / floor > TARGET_FLOOR_RATIO else []
        if peer_seconds and ours / peer_seconds > TARGET_PEER_RATIO:
            misses.insert(0, "2× peer")
        peer_text = f"{peer_seconds:.3f} ({peer})" if peer else "—"
        peer_ratio = f"{ours / peer_seconds:.2f}" if peer_seconds else "—"
        before = seconds.get((job.name, "before"))
        lines.append(f"| {job.name} | {ours:.3f} | {peer_text} | {floor:.3f} | {peer_ratio} | {ours / floor:.2f} "
                     f"| {', '.join(misses) or '—'} |" + (f" {before:.3f} | {ours / before:.2f} |" if before else ""))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--per-image", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--baseline", type=Path, help="a checkout whose ours is timed beside this one's")
    parser.add_argument("--only", action="append", metavar="JOB", help="time this job only (repeatable), e.g. "
                        "--only 'COCO -> YOLO'")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-peers-", dir=SCRATCH))
    try:
        inputs = prepare(root, args.images, args.per_image)
        jobs = jobs_of(inputs, baseline_package(args.baseline, root) if args.baseline else None)
        jobs = [job for job in jobs if not args.only or job.name in args.only]
        if not jobs:
            parser.error(f"--only names no job; the jobs: {', '.join(job.name for job in jobs_of(inputs))}")
        seconds = measure(jobs, args.rounds, clock=args.clock)
    finally:
        shutil.rmtree(root)
    print(f"workload: {args.images} images x {args.per_image} annotations (bbox, polygon, segmentation with holes), "
          f"1920x1080; median of {args.rounds} interleaved rounds ({args.clock} clock); python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; files in "
          f"{SCRATCH or tempfile.gettempdir()}")
    print(f"targets: ours ≤ {TARGET_PEER_RATIO}× the fastest peer (2× faster) and ≤ {TARGET_FLOOR_RATIO}× the floor")
    print("\n".join(table(jobs, seconds)))


if __name__ == "__main__":
    main()
