"""Make (or check) the official SDK's outputs that ``tests/test_reference.py`` compares ours with.

``fastlabel==0.26.0`` brings ``opencv-python``, which must not replace our headless OpenCV, so it
lives in a virtual environment of its own; ``sdk_side.py`` runs there, this script here:

    python tests/golden/make_golden.py --venv /tmp/fastlabel-0.26.0        # write the golden files
    python tests/golden/make_golden.py --venv /tmp/fastlabel-0.26.0 --check  # CI: do they still hold?

``--venv`` is created (``fastlabel==0.26.0`` with pandas and pyarrow for its LeRobot part) when it
does not exist; ``--python`` names an interpreter that already has them instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

GOLDEN = Path(__file__).resolve().parent
TESTS = GOLDEN.parent
sys.path[:0] = [str(TESTS.parent / "benchmarks"), str(TESTS)]
from synthetic import make_tasks  # noqa: E402

SDK = ["fastlabel==0.26.0", "pandas", "pyarrow"]
CONVERTERS, DRAWN, CLIENT, LEROBOT = (GOLDEN / "converters.json", GOLDEN / "drawn", GOLDEN / "client.json",
                                      GOLDEN / "lerobot")
SIGNATURES = TESTS / "fixtures" / "official_0_26_0_signatures.json"
DRAWN_TASKS = [{"name": "a.png", "width": 120, "height": 90, "annotations": [
    {"type": "bbox", "value": "b", "color": "#ff0000", "points": [5, 6, 50, 40]},
    {"type": "polygon", "value": "p", "color": "#00ff00", "points": [60, 10, 110, 20, 80, 70]},
    {"type": "line", "value": "l", "color": "#0000ff", "points": [0, 80, 60, 85, 119, 60]},
    {"type": "circle", "value": "c", "color": "#ffff00", "points": [30, 60, 9]},
    {"type": "keypoint", "value": "k", "color": "#00ffff", "points": [100, 80]},
]}]


def converter_tasks() -> list[dict]:
    """Integer-coordinate tasks (the reference rounds floats its own way)."""
    return make_tasks(16, 12, seed=7, floats=False)


def boxes_only(tasks: list[dict]) -> list[dict]:
    """Without polygons: the reference writes them into YOLO detection files, we do not."""
    return [dict(t, annotations=[a for a in t["annotations"] if a["type"] not in ("segmentation", "polygon")])
            for t in tasks]


def single_region(tasks: list[dict]) -> list[dict]:
    """Without segmentations of several regions (labelme has one polygon a shape)."""
    return [dict(t, annotations=[a for a in t["annotations"] if a["type"] != "segmentation" or len(a["points"]) == 1])
            for t in tasks]


def drawn_image() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 255, (90, 120, 3), dtype=np.uint8)


def run_sdk(python: str, *args: str) -> None:
    env = {**os.environ, "FASTLABEL_ACCESS_TOKEN": "offline-golden"}
    subprocess.run([python, str(GOLDEN / "sdk_side.py"), *args], check=True, env=env)


def make_converters(python: str, out: Path, scratch: Path) -> None:
    tasks = converter_tasks()
    inputs = {"tasks": tasks, "boxes_only": boxes_only(tasks), "single_region": single_region(tasks)}
    (scratch / "in.json").write_text(json.dumps(inputs))
    run_sdk(python, "converters", str(scratch / "in.json"), str(scratch / "out.json"))
    sdk = json.loads((scratch / "out.json").read_text())
    out.write_text(json.dumps({"tasks": tasks, "sdk": sdk}, separators=(",", ":")) + "\n")


def make_drawn(python: str, out: Path, scratch: Path) -> None:
    images, drawn = scratch / "images", scratch / "drawn"
    images.mkdir()
    Image.fromarray(drawn_image()).save(images / "a.png")
    (scratch / "tasks.json").write_text(json.dumps(DRAWN_TASKS))
    run_sdk(python, "draw", str(scratch / "tasks.json"), str(images), str(drawn))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(drawn / "a.png", out / "a.png")


def make_lerobot(python: str, out: Path, scratch: Path) -> None:
    from test_lerobot import make_dataset

    make_dataset(scratch / "robot")
    run_sdk(python, "lerobot", str(scratch / "robot"), str(scratch / "zips"))
    out.mkdir(parents=True, exist_ok=True)
    for made in sorted((scratch / "zips").glob("*.zip")):
        shutil.copyfile(made, out / made.name)


def make_client(python: str, out: Path, scratch: Path) -> None:
    """The official client through ``OFFICIAL_CALLS`` against a fresh fake: its requests and answers."""
    from test_api_newer import OFFICIAL_CALLS, TOKEN

    from fastlabel_formats_api.testing import FakeFastLabel

    with FakeFastLabel(token=TOKEN) as server:
        server.state.projects.add({"id": "p1", "type": "image_bbox", "slug": "cats", "name": "Cats"})
        command = [python, str(GOLDEN / "sdk_side.py"), "client"]
        env = {**os.environ, "FASTLABEL_ACCESS_TOKEN": TOKEN, "FASTLABEL_API_URL": server.url}
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) as sdk:
            answers = []
            for name, args, kwargs in OFFICIAL_CALLS:
                args, kwargs = (value(answers) if callable(value) else value for value in (args, kwargs))
                sdk.stdin.write(json.dumps({"name": name, "args": list(args), "kwargs": kwargs}) + "\n")
                sdk.stdin.flush()
                answers.append(json.loads(sdk.stdout.readline())["answer"])
            sdk.stdin.close()
        requests = [[e.method, e.path, e.query, e.payload] for e in server.log]
    answers = timeless(answers)
    out.write_text(json.dumps({"calls": len(OFFICIAL_CALLS), "requests": requests, "answers": answers},
                              indent=1) + "\n")


def timeless(value: object) -> object:
    """``value`` without the fake's timestamps (two runs never share a clock)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in ("createdAt", "updatedAt")}
    return [timeless(v) for v in value] if isinstance(value, list) else value


MAKERS = {CONVERTERS.name: make_converters, DRAWN.name: make_drawn, LEROBOT.name: make_lerobot,
          CLIENT.name: make_client}


def video_frames(data: bytes) -> np.ndarray:
    import cv2

    with tempfile.NamedTemporaryFile(suffix=".mp4") as file:
        file.write(data)
        file.flush()
        reader, frames = cv2.VideoCapture(file.name), []
        while (read := reader.read())[0]:
            frames.append(read[1])
        return np.array(frames)


def same_zip(a: Path, b: Path) -> bool:
    """Same entries, the same JSON, the same video frames (mp4 containers differ by build)."""
    with zipfile.ZipFile(a) as one, zipfile.ZipFile(b) as other:
        if sorted(one.namelist()) != sorted(other.namelist()):
            return False
        for name in one.namelist():
            if name.endswith(".mp4"):
                if not np.array_equal(video_frames(one.read(name)), video_frames(other.read(name))):
                    return False
            elif one.read(name) != other.read(name):
                return False
    return True


def same(committed: Path, made: Path) -> bool:
    if made.is_dir():
        names = sorted(p.name for p in made.iterdir())
        return committed.is_dir() and names == sorted(p.name for p in committed.iterdir()) and all(
            same(committed / name, made / name) for name in names)
    if not committed.is_file():
        return False
    if made.suffix == ".json":
        return json.loads(committed.read_text()) == json.loads(made.read_text())
    if made.suffix == ".png":
        with Image.open(committed) as one, Image.open(made) as other:
            return np.array_equal(np.array(one), np.array(other))
    return same_zip(committed, made)


def signature_fixture_holds(python: str, scratch: Path) -> bool:
    """``tests/fixtures/official_0_26_0_signatures.json`` (the signature tests' fixture, checked here,
    never written) is what the SDK's ``Client`` has."""
    run_sdk(python, "signatures", str(scratch / "signatures.json"))
    return json.loads(SIGNATURES.read_text()) == json.loads((scratch / "signatures.json").read_text())


def reference_python(venv: Path | None, python: str | None) -> str:
    """An interpreter with the official SDK: ``python`` as given, or ``venv``'s (made when absent,
    its packages installed each time: a no-op when they are there, a repair after a broken run)."""
    if python:
        return python
    interpreter = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not interpreter.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *SDK],
                   check=True)
    return str(interpreter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "fastlabel-0.26.0-venv")
    parser.add_argument("--python", help="an interpreter that already has fastlabel==0.26.0, pandas and pyarrow")
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    options = parser.parse_args(argv)
    python = reference_python(options.venv, options.python)
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, make in MAKERS.items():
            work = Path(scratch) / f"work-{name}"
            work.mkdir()
            made = Path(scratch) / name if options.check else GOLDEN / name
            make(python, made, work)
            if options.check and not same(GOLDEN / name, made):
                stale.append(f"tests/golden/{name}")
        if not signature_fixture_holds(python, Path(scratch)):
            stale.append(str(SIGNATURES.relative_to(TESTS.parent)))
    for name in stale:
        print(f"{name} differs from what fastlabel 0.26.0 gives now: "
              f"run python tests/golden/make_golden.py and review the diff", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
