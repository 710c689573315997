"""Regenerate ``examples/sample_project``: small images and the FastLabel tasks that label them.

    python examples/make_sample_project.py

The images are drawn from the annotations themselves, so every label sits on its object.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent / "sample_project"


def attrs(truncated: bool = False, occluded: bool = False) -> list[dict]:
    return [
        {"key": "truncated", "name": "Truncated", "type": "switch", "value": truncated},
        {"key": "occluded", "name": "Occluded", "type": "switch", "value": occluded},
    ]


def ann(kind: str, value: str, color: str, points, **extra) -> dict:
    return {"type": kind, "value": value, "title": value.title(), "color": color, "points": points,
            "rotation": 0, "attributes": extra.pop("attributes", []), "keypoints": [],
            "confidenceScore": -1, **extra}


PERSON_KEYPOINTS = [
    {"id": "kp-head", "key": "head", "name": "Head", "color": "#ff0000", "edges": ["kp-rs", "kp-ls"]},
    {"id": "kp-rs", "key": "right_shoulder", "name": "Right shoulder", "color": "#00ff00", "edges": ["kp-head"]},
    {"id": "kp-ls", "key": "left_shoulder", "name": "Left shoulder", "color": "#0000ff", "edges": ["kp-head"]},
]

DEFINITIONS = [
    {"type": "bbox", "value": "car", "title": "Car", "color": "#e41a1c"},
    {"type": "bbox", "value": "sign", "title": "Sign", "color": "#984ea3"},
    {"type": "polygon", "value": "roof", "title": "Roof", "color": "#377eb8"},
    {"type": "segmentation", "value": "donut", "title": "Donut", "color": "#ff7f00"},
    {"type": "segmentation", "value": "lake", "title": "Lake", "color": "#4daf4a"},
    {"type": "keypoint", "value": "eye", "title": "Eye", "color": "#ffff33"},
    {"type": "line", "value": "lane", "title": "Lane", "color": "#a65628"},
    {"type": "pose_estimation", "value": "person", "title": "Person", "color": "#f781bf",
     "keypoints": PERSON_KEYPOINTS},
    {"type": "classification", "value": "weather", "title": "Weather", "color": "#999999"},
]


def tasks() -> list[dict]:
    donut = [[[40, 40, 200, 40, 200, 180, 40, 180, 40, 40], [90, 90, 90, 130, 150, 130, 150, 90, 90, 90]]]
    lakes = [[[20, 20, 120, 20, 120, 100, 20, 100, 20, 20]], [[180, 120, 300, 120, 240, 220, 180, 120]]]
    pose = {
        "type": "pose_estimation", "value": "person", "title": "Person", "color": "#f781bf",
        "attributes": [], "rotation": 0, "confidenceScore": -1,
        "keypoints": [
            {"key": "head", "name": "Head", "value": [160, 60, 1], "edges": ["right_shoulder", "left_shoulder"]},
            {"key": "right_shoulder", "name": "Right shoulder", "value": [130, 100, 1], "edges": ["head"]},
            {"key": "left_shoulder", "name": "Left shoulder", "value": [190, 100, 0], "edges": ["head"]},
        ],
    }
    return [
        {"name": "street/cars.png", "width": 320, "height": 240, "annotations": [
            ann("bbox", "car", "#e41a1c", [30, 120, 150, 200], attributes=attrs(truncated=True)),
            ann("bbox", "car", "#e41a1c", [170, 110, 300, 190], attributes=attrs(occluded=True)),
            ann("line", "lane", "#a65628", [0, 230, 160, 215, 319, 230]),
        ]},
        {"name": "street/sign.png", "width": 320, "height": 240, "annotations": [
            ann("bbox", "sign", "#984ea3", [120, 60, 200, 140], rotation=30),
        ]},
        {"name": "houses/roof.png", "width": 320, "height": 240, "annotations": [
            ann("polygon", "roof", "#377eb8", [160, 30, 280, 120, 40, 120]),
        ]},
        {"name": "food/donut.png", "width": 240, "height": 220, "annotations": [
            ann("segmentation", "donut", "#ff7f00", donut),
        ]},
        {"name": "maps/lakes.png", "width": 320, "height": 240, "annotations": [
            ann("segmentation", "lake", "#4daf4a", lakes),
        ]},
        {"name": "people/portrait.png", "width": 320, "height": 240, "annotations": [
            pose,
            ann("keypoint", "eye", "#ffff33", [150, 55]),
            ann("keypoint", "eye", "#ffff33", [170, 55]),
            {"type": "classification", "value": "weather", "title": "Weather", "color": "#999999",
             "attributes": [{"key": "sky", "name": "Sky", "type": "select", "value": "sunny"}]},
        ]},
    ]


def draw(task: dict) -> Image.Image:
    image = Image.new("RGB", (task["width"], task["height"]), (236, 232, 224))
    pen = ImageDraw.Draw(image)
    for a in task["annotations"]:
        colour, points = a["color"], a.get("points")
        if a["type"] == "bbox":
            x1, y1, x2, y2 = points
            pen.rectangle([x1, y1, x2 - 1, y2 - 1], fill=colour)
        elif a["type"] == "polygon":
            pen.polygon(points, fill=colour)
        elif a["type"] == "segmentation":
            for region in points:
                pen.polygon(region[0], fill=colour)
                for hole in region[1:]:
                    pen.polygon(hole, fill=(236, 232, 224))
        elif a["type"] == "line":
            pen.line(points, fill=colour, width=3)
        elif a["type"] == "keypoint":
            x, y = points
            pen.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        elif a["type"] == "pose_estimation":
            (hx, hy, _), (rx, ry, _), (lx, ly, _) = (k["value"] for k in a["keypoints"])
            pen.ellipse([hx - 25, hy - 30, hx + 25, hy + 30], fill=(90, 60, 40))
            pen.rectangle([rx - 10, ry, lx + 10, ry + 120], fill=colour)
    return image


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    task_list = tasks()
    for task in task_list:
        path = HERE / "images" / task["name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        draw(task).save(path, optimize=True)
    (HERE / "tasks.json").write_text(json.dumps(task_list, indent=2, ensure_ascii=False) + "\n")
    (HERE / "annotations.json").write_text(json.dumps(DEFINITIONS, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
