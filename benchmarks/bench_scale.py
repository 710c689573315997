"""Projects of any size: wall time and peak memory of ``export --to coco,yolo`` in every mode.

    python benchmarks/bench_scale.py [--sizes 10000,100000] [--per-task 30] [--runs 1] [--dir /tmp]
                                     [--baseline /path/to/a/checkout/of/the/previous/main] [--s3 2000]
                                     [--huge 100] [--modes "--scheduler local (2),external cluster (2)"]

For each size a project is generated *as a stream* into ``DIR/scale-N.json`` (never held in
memory: 1,000 generated tasks repeated under new names), then exported by the command line
in-process (``--jobs 1``), with ``--jobs 2`` (spawned workers), with ``--scheduler local
--jobs 2`` (a Dask LocalCluster of 2 workers) and on an external cluster (a ``dask scheduler`` and
two ``dask worker --nthreads 1`` processes in folders of their own, tuned by
``cluster.worker_config_yaml``; the command's column is the client's, the workers' and the whole
tree's columns count the cluster's processes, started once for all rows). ``--s3 N`` also times
``N`` tasks from and to a moto S3 server on 127.0.0.1 (the issue's baseline: 2,000 in 3 min 56 s),
into an empty prefix and with ``--overwrite``, beside the store's floor (s3fs alone writing the same
objects). ``--huge MB`` measures the peak memory that cutting a file of two tasks of that size into
blocks adds to a process (the client's work beside a cluster; with ``--baseline``, there too).
Peak RSS is sampled from /proc every 50 ms for the command and for each of its descendant
processes. The machine's two-process ceiling (two CPU loops in two processes vs one) is printed
alongside, as bench_render does. ``--baseline`` also times in-process COCO and YOLO exports of 2,000 × 30
in-memory tasks against that checkout, rounds interleaved (the "streaming costs little" target).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import _annotation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("bbox", "polygon", "segmentation")


def write_project(path: Path, count: int, per_task: int, seed: int = 0, distinct: int = 1000) -> None:
    """A JSON array of ``count`` synthetic tasks, written task by task: ``distinct`` generated tasks
    repeated under new names (every task its own image and label file)."""
    rng = np.random.default_rng(seed)
    pool = [[_annotation(rng, KINDS[int(rng.integers(3))], 1920, 1080, True) for _ in range(per_task)]
            for _ in range(min(distinct, count))]
    with open(path, "wb") as stream:
        stream.write(b"[")
        for number in range(count):
            task = {"id": f"task-{number}", "name": f"images/{number // 1000}/img_{number:07d}.jpg",
                    "status": "completed", "width": 1920, "height": 1080, "annotations": pool[number % len(pool)]}
            stream.write((b"," if number else b"") + orjson.dumps(task))
        stream.write(b"]")


def _tree_rss(root: int) -> dict[int, int]:
    """RSS in bytes of ``root`` and each of its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                out[pid] = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        todo += children.get(pid, [])
    return out


def run_measured(command: list[str], cluster: Sequence[int] = ()) -> tuple[float, int, int, int]:
    """Wall seconds, peak RSS of the command, of its largest descendant (or process of ``cluster``:
    the pids of an external cluster's processes, each with its descendants), and of them all."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    total = [0]

    def sample() -> None:
        while process.poll() is None:
            rss = _tree_rss(process.pid)
            for root in cluster:
                rss.update(_tree_rss(root))
            for pid, value in rss.items():
                peaks[pid] = max(peaks.get(pid, 0), value)
            total[0] = max(total[0], sum(rss.values()))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors.decode()[-2000:]}")
    own = peaks.pop(process.pid, 0)
    return wall, own, max(peaks.values(), default=0), total[0]


def ceiling() -> float:
    """How much faster two CPU loops in two processes finish than in one (this machine, now)."""
    loop = [sys.executable, "-c", "s=0\nfor i in range(30_000_000): s+=i"]
    started = time.perf_counter()
    subprocess.run(loop, check=True)
    subprocess.run(loop, check=True)
    serial = time.perf_counter() - started
    started = time.perf_counter()
    both = [subprocess.Popen(loop) for _ in range(2)]
    for process in both:
        process.wait()
    return serial / (time.perf_counter() - started)


MODES = {"in-process": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"],
         "--scheduler local (2)": ["--jobs", "2", "--scheduler", "local"],
         "external cluster (2)": ["--scheduler", "{address}"]}
EXTERNAL = "external cluster (2)"


@contextmanager
def external_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """The address of a ``dask scheduler`` on 127.0.0.1 with ``workers`` single-threaded ``dask
    worker`` processes, each started in a folder of its own (as on other machines), and the pids
    of the scheduler and the workers (whose memory is measured beside the client's)."""
    from fastlabel_formats.cluster import worker_config_yaml

    scheduler_file = folder / "bench-scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    config = folder / "bench-dask-config"  # the workers tuned as LocalCluster's are
    config.mkdir(exist_ok=True)
    (config / "fastlabel-workers.yaml").write_text(worker_config_yaml())
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                 "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not scheduler_file.is_file():
            time.sleep(0.1)
        address = orjson.loads(scheduler_file.read_bytes())["address"]
        for number in range(workers):
            place = folder / f"bench-worker-{number}"
            place.mkdir(exist_ok=True)
            started.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--host",
                 "127.0.0.1", "--no-dashboard"], cwd=place, env={**os.environ, "DASK_CONFIG": str(config)},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, [process.pid for process in started]
    finally:
        for process in started:
            process.terminate()
            process.wait()


def scale_rows(sizes: list[int], per_task: int, folder: Path, runs: int, modes: list[str]) -> list[tuple]:
    if EXTERNAL not in modes:
        return _scale_rows(sizes, per_task, folder, runs, modes, ("", []))
    with external_cluster(folder) as cluster:
        return _scale_rows(sizes, per_task, folder, runs, modes, cluster)


def _scale_rows(sizes: list[int], per_task: int, folder: Path, runs: int, modes: list[str],
                cluster: tuple[str, list[int]]) -> list[tuple]:
    """One row per size and mode: the median of ``runs`` rounds, the modes interleaved in each
    (``cluster``: the external cluster's address and the pids measured with its rows)."""
    address, cluster_pids = cluster
    rows = []
    for size in sizes:
        project = folder / f"scale-{size}.json"
        if not project.exists():
            write_project(project, size, per_task)
        chosen = {mode: flags for mode, flags in MODES.items() if mode in modes}
        measured: dict[str, list] = {mode: [] for mode in chosen}
        for _ in range(runs):
            for mode, flags in chosen.items():
                measured[mode].append(_export_measured(project, folder / f"scale-out-{size}",
                                                       [flag.format(address=address) for flag in flags],
                                                       cluster_pids if mode == EXTERNAL else ()))
        for mode, results in measured.items():
            wall = statistics.median(m[0] for m in results)
            own, worker, total = sorted(results)[len(results) // 2][1:]
            rows.append((size, mode, wall, own, worker, total, project.stat().st_size))
            print(f"  {size:,} {mode}: {wall:.1f} s (runs: {', '.join(f'{m[0]:.1f}' for m in results)}), peak RSS "
                  f"{own / 1e6:.0f} MB command, {worker / 1e6:.0f} MB largest worker, {total / 1e6:.0f} MB tree",
                  file=sys.stderr, flush=True)
    return rows


def _export_measured(project: Path, out: Path, flags: list[str], cluster: Sequence[int] = ()
                     ) -> tuple[float, int, int, int]:
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "fastlabel_formats", "export", str(project), "--to", "coco,yolo", "-o", str(out),
               *flags]
    try:
        return run_measured(command, cluster)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def s3_rows(count: int, per_task: int, folder: Path, runs: int = 1) -> dict[str, float]:
    """Median wall seconds of ``export --to coco,yolo`` of ``count`` tasks from and to a moto S3
    server on 127.0.0.1 (in-process; the store reached through the AWS environment variables):
    into an empty prefix, again with ``--overwrite`` over that export, and the store's floor: the
    same objects (names and sizes) written by s3fs alone, in one batch. Rounds interleaved."""
    import fsspec
    from moto.server import ThreadedMotoServer

    project = folder / f"s3-{count}.json"
    write_project(project, count, per_task)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        store = fsspec.filesystem("s3", key="testing", secret="testing", endpoint_url=env["AWS_ENDPOINT_URL"])
        store.mkdir("bench", region_name="us-west-2")
        store.put_file(str(project), "bench/tasks.json")
        times: dict[str, list[float]] = {}
        for round_number in range(runs):
            out = f"bench/out-{round_number}"
            for label, extra in (("empty prefix", []), ("--overwrite", ["--overwrite"])):
                command = [sys.executable, "-m", "fastlabel_formats", "export", "s3://bench/tasks.json", "--to",
                           "coco,yolo", "-o", f"s3://{out}", "--jobs", "1", "-q", *extra]
                started = time.perf_counter()
                subprocess.run(command, check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
                times.setdefault(label, []).append(time.perf_counter() - started)
            times.setdefault("floor", []).append(_store_floor(store, out, f"bench/floor-{round_number}"))
        return {label: statistics.median(values) for label, values in times.items()}
    finally:
        server.stop()


def _store_floor(store, exported: str, into: str) -> float:
    """Seconds s3fs takes to write objects of the names and sizes under ``exported`` to ``into``."""
    store.invalidate_cache()
    sizes = {name[len(exported) + 1:]: info["size"] for name, info in store.find(exported, detail=True).items()}
    objects = {f"{into}/{name}": b"x" * size for name, size in sizes.items()}
    started = time.perf_counter()
    store.pipe(objects)
    return time.perf_counter() - started


def write_huge_tasks(path: Path, count: int, task_bytes: int) -> int:
    """A JSON array of ``count`` tasks of about ``task_bytes`` each (generated annotations repeated,
    written piece by piece); the size of the largest."""
    rng = np.random.default_rng(0)
    pool = [orjson.dumps(_annotation(rng, KINDS[n % 3], 1920, 1080, True)) for n in range(300)]
    largest = 0
    with open(path, "wb") as stream:
        stream.write(b"[")
        for number in range(count):
            head = orjson.dumps({"id": f"huge-{number}", "name": f"huge_{number}.jpg", "width": 1920,
                                 "height": 1080, "status": "completed"})[:-1] + b', "annotations": ['
            written = stream.write((b"," if number else b"") + head)
            index = 0
            while written < task_bytes:
                written += stream.write((b"," if index else b"") + pool[index % len(pool)])
                index += 1
            written += stream.write(b"]}")
            largest = max(largest, written)
        stream.write(b"]")
    return largest


CUT_SCRIPT = """
import resource, sys
from fastlabel_formats.source import task_source
blocks = [(b.offset, b.length, b.count) for b in task_source(sys.argv[1]).blocks()]
before = int(sys.argv[2])
print(len(blocks), sum(b[2] for b in blocks), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before)
"""
IMPORTED_SCRIPT = ("import resource, fastlabel_formats.source\n"
                   "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")


def cutting_rows(folder: Path, task_bytes: int, trees: dict[str, Path]) -> list[tuple[str, int, int]]:
    """``(tree, largest task, peak RSS the cut adds to the process)`` for cutting a file of two
    tasks of about ``task_bytes`` each into blocks (the client's work with workers or a cluster)."""
    path = folder / f"huge-{task_bytes >> 20}MB.json"
    largest = write_huge_tasks(path, 2, task_bytes)
    rows = []
    for label, tree in trees.items():
        env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
        imported = int(subprocess.run([sys.executable, "-c", IMPORTED_SCRIPT], check=True, capture_output=True,
                                      env=env).stdout)
        result = subprocess.run([sys.executable, "-c", CUT_SCRIPT, str(path), str(imported)], check=True,
                                capture_output=True, env=env)
        blocks, tasks, added = (int(v) for v in result.stdout.split())
        assert tasks == 2, (blocks, tasks)
        rows.append((label, largest, added))
    path.unlink()
    return rows


BASELINE_SCRIPT = """
import sys, time, tempfile, shutil
sys.path.insert(0, {bench!r})
from synthetic import make_tasks
import fastlabel_formats as ff
tasks = make_tasks(2000, 30, seed=1)
for name in ("export_coco", "export_yolo"):
    out = tempfile.mkdtemp(dir="/dev/shm" if __import__("os").path.isdir("/dev/shm") else None)
    started = time.perf_counter()
    getattr(ff, name)(tasks, out)
    print(name, time.perf_counter() - started)
    shutil.rmtree(out)
"""


def baseline_rows(baseline: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of in-process COCO / YOLO exports of 2,000 × 30 tasks, here and in ``baseline``."""
    times: dict[str, dict[str, list[float]]] = {"this tree": {}, "baseline": {}}
    script = BASELINE_SCRIPT.format(bench=str(Path(__file__).parent))
    for _ in range(runs):
        for label, tree in (("this tree", ROOT), ("baseline", baseline)):
            result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                    env={**os.environ, "PYTHONPATH": str(tree)})
            for line in result.stdout.decode().splitlines():
                name, seconds = line.split()
                times[label].setdefault(name, []).append(float(seconds))
    return {label: {name: statistics.median(v) for name, v in by_name.items()} for label, by_name in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--per-task", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--baseline", type=Path, help="a checkout of the previous main, for the 2,000 × 30 rows")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--s3", type=int, default=0, help="also time this many tasks to a moto S3 server")
    parser.add_argument("--huge", type=int, default=0, help="also measure cutting two tasks of this many MB")
    args = parser.parse_args()
    print(f"machine's two-process ceiling now: {ceiling():.2f}x")
    if args.s3:
        medians = s3_rows(args.s3, args.per_task, args.dir, args.runs)
        print(f"\n| {args.s3:,} tasks × {args.per_task}, moto S3, --jobs 1 | wall | vs 3 min 56 s |\n|---|---|---|")
        for label, seconds in medians.items():
            print(f"| {label} | {seconds:.1f} s | {236 / seconds:.1f}x |")
    if args.huge:
        trees = {"this tree": ROOT, **({"baseline": args.baseline} if args.baseline else {})}
        print(f"\n| cutting 2 tasks of ~{args.huge} MB into blocks | largest task | peak RSS added | ratio |")
        print("|---|---|---|---|")
        for label, largest, added in cutting_rows(args.dir, args.huge << 20, trees):
            print(f"| {label} | {largest / 1e6:.0f} MB | {added / 1e6:.0f} MB | {added / largest:.2f}x |")
    if args.baseline:
        medians = baseline_rows(args.baseline, max(args.runs, 5))
        print("\n| 2,000 × 30 in memory, in-process | this tree | baseline | ratio |\n|---|---|---|---|")
        for name in ("export_coco", "export_yolo"):
            ours, theirs = medians["this tree"][name], medians["baseline"][name]
            print(f"| {name} | {ours:.2f} s | {theirs:.2f} s | {ours / theirs:.2f} |")
    modes = [mode.strip() for mode in args.modes.split(",")]
    rows = scale_rows([int(v) for v in args.sizes.split(",")], args.per_task, args.dir, args.runs, modes)
    print("\n| tasks × 30 | JSON | mode | wall | vs in-process | peak RSS: command | largest worker | all |")
    print("|---|---|---|---|---|---|---|---|")
    single = {size: wall for size, mode, wall, *_ in rows if mode == "in-process"}
    for size, mode, wall, own, worker, total, json_bytes in rows:
        speed = f"{single[size] / wall:.2f}x" if size in single else "—"
        print(f"| {size:,} | {json_bytes / 1e9:.2f} GB | {mode} | {wall:.1f} s | {speed} | "
              f"{own / 1e6:.0f} MB | {worker / 1e6:.0f} MB | {total / 1e6:.0f} MB |")


if __name__ == "__main__":
    main()
