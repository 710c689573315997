"""The official SDK's side of the golden files: run by ``make_golden.py`` with the Python of a
virtual environment that holds ``fastlabel==0.26.0`` (plus pandas and pyarrow for its LeRobot
part). Imports nothing of ours, so it runs where our package is not installed.

    python sdk_side.py converters IN.json OUT.json
    python sdk_side.py draw TASKS.json IMAGE_DIR OUT_DIR
    python sdk_side.py lerobot DATASET_ROOT OUT_DIR
    python sdk_side.py signatures OUT.json
    python sdk_side.py client          (JSON lines: one call a line in, one answer a line out)
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("FASTLABEL_ACCESS_TOKEN", "offline-golden")

import fastlabel  # noqa: E402
from fastlabel import converters  # noqa: E402

YOLO_CLASSES = ["car", "dog", "person", "cat", "zz"]


def yolo_rows(expected: list[dict]) -> list:
    return [[e["filename"], e.get("object", [])] for e in expected]


def convert(inputs: dict) -> dict:
    """What the official converters give for the inputs ``make_golden.py`` chose."""
    import xmltodict

    with tempfile.TemporaryDirectory() as scratch:
        tasks, plain, single = inputs["tasks"], inputs["boxes_only"], inputs["single_region"]
        yolo = {}
        for project_type in ("image_bbox", "image_segmentation"):
            expected, categories = converters.to_yolo(project_type, copy.deepcopy(tasks), [], scratch)
            yolo[project_type] = {"labels": yolo_rows(expected), "classes": [c["name"] for c in categories]}
        expected, _ = converters.to_yolo("image_bbox", copy.deepcopy(plain), YOLO_CLASSES, scratch)
        voc = converters.to_pascalvoc("image_bbox", copy.deepcopy(tasks), scratch)
        return {
            "coco": converters.to_coco("image_bbox", copy.deepcopy(tasks), scratch),
            "yolo": yolo,
            "yolo_with_classes": {"classes": YOLO_CLASSES, "labels": yolo_rows(expected)},
            "pascalvoc": [xmltodict.unparse(e, pretty=True, indent="    ", full_document=False) for e in voc],
            "labelme": converters.to_labelme(copy.deepcopy(single)),
        }


def lerobot(root: Path, out: Path) -> None:
    """The official zip of every episode of the dataset at ``root``, into ``out``."""
    from fastlabel import lerobot as official

    converter, episodes = official.LeRobotConverter(official.load_info(root)), official.build_episode_map(root)
    for index in sorted(episodes):
        name = f"episode_{index:06d}"
        folder = out / name
        folder.mkdir(parents=True)
        made = official.create_episode_zip(
            lerobot_data_path=root, episode_index=index, episode_name=name, converter=converter,
            output_dir=folder, episode_map=episodes,
            raw_frames=official.get_episode_raw_frames(root, index, episodes))
        Path(made).replace(out / f"{name}.zip")
        folder.rmdir()


def serve_client_calls() -> None:
    """Each stdin line ``{"name", "args", "kwargs"}`` is called on ``fastlabel.Client`` (pointed at
    ``FASTLABEL_API_URL``); each answer goes back as one JSON line."""
    client = fastlabel.Client(os.environ["FASTLABEL_ACCESS_TOKEN"])
    for line in sys.stdin:
        call = json.loads(line)
        answer = getattr(client, call["name"])(*call["args"], **call["kwargs"])
        sys.stdout.write(json.dumps({"answer": answer}) + "\n")
        sys.stdout.flush()


def spelled(parameter: inspect.Parameter) -> list:
    """A parameter as ``tests/fixtures/official_0_26_0_signatures.json`` spells it."""
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        return ["**kwargs", None]
    if parameter.default is inspect.Parameter.empty:
        return [parameter.name, "required"]
    try:
        json.dumps(parameter.default)
        return [parameter.name, parameter.default]
    except TypeError:
        return [parameter.name, "UNSET" if "UNSET" in repr(parameter.default).upper() else repr(parameter.default)]


def signatures() -> dict[str, list]:
    """Every public method of ``fastlabel.Client``: its parameters (less ``self``) and defaults."""
    return {name: [spelled(p) for p in list(inspect.signature(method).parameters.values())[1:]]
            for name, method in inspect.getmembers(fastlabel.Client, inspect.isfunction) if not name.startswith("_")}


def main(argv: list[str]) -> None:
    command, *paths = argv
    if command == "converters":
        Path(paths[1]).write_text(json.dumps(convert(json.loads(Path(paths[0]).read_text()))))
    elif command == "draw":
        tasks = json.loads(Path(paths[0]).read_text())
        fastlabel.Client().export_image_with_annotations(tasks, paths[1], paths[2])
    elif command == "lerobot":
        lerobot(Path(paths[0]), Path(paths[1]))
    elif command == "signatures":
        Path(paths[0]).write_text(json.dumps(signatures()))
    elif command == "client":
        serve_client_calls()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
