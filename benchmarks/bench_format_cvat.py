"""CVAT XML read and write against lxml alone on the same file (medians of 3).

    python benchmarks/bench_format_cvat.py [--images 2000] [--shapes 10]

Read: ``cvat_tasks`` (tasks with typed attributes) vs ``lxml.etree.iterparse`` over the same
``<image>`` elements, every shape's attributes and points string visited and each image freed, and
vs a hand-written lxml reader making the same task dicts without checks or a loss report.
Write: ``export_cvat`` of those tasks vs building the same elements with ``lxml.etree`` and
serialising them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lxml import etree

from fastlabel_formats.formats.cvat import cvat_tasks, export_cvat


def generated(images: int, shapes: int) -> list[dict]:
    """FastLabel image tasks with boxes (attributes, rotation) and polygons."""
    tasks = []
    for number in range(images):
        annotations = []
        for shape in range(shapes):
            x, y = number % 50 + shape, shape * 2.5
            if shape % 2:
                annotations.append({"type": "polygon", "value": "roof", "attributes": [],
                                    "points": [x, y, x + 10, y, x + 10, y + 7.5, x + 3, y + 9]})
            else:
                annotations.append({"type": "bbox", "value": "car", "points": [x, y, x + 20, y + 12], "rotation": 15,
                                    "attributes": [{"key": "colour", "value": "red", "type": "select"},
                                                   {"key": "occluded", "value": shape % 4 == 0, "type": "switch"}]})
        tasks.append({"name": f"img/{number:05d}.jpg", "width": 640, "height": 480, "annotations": annotations})
    return tasks


def lxml_read(path: Path) -> int:
    """Shapes seen by lxml alone, streaming as the reader does."""
    count = 0
    for _, image in etree.iterparse(str(path), events=("end",), tag="image", huge_tree=True):
        for shape in image:
            shape.attrib.items()
            shape.get("points")
            [(a.get("name"), a.text) for a in shape.iterchildren("attribute")]
            count += 1
        image.clear()
        while image.getprevious() is not None:
            del image.getparent()[0]
    return count


def lxml_tasks(path: Path) -> list[dict]:
    """The same task dicts as a hand-written lxml reader makes them (no checks, no report)."""
    tasks = []
    for _, image in etree.iterparse(str(path), events=("end",), tag="image", huge_tree=True):
        annotations = []
        for shape in image:
            if shape.tag == "box":
                points = [float(shape.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
            else:
                points = [float(v) for v in shape.get("points").replace(";", ",").split(",")]
            annotations.append({"type": TYPES[shape.tag], "value": shape.get("label"), "points": points,
                                "attributes": [{"key": a.get("name"), "value": a.text, "type": "text"}
                                               for a in shape.iterchildren("attribute")]})
        tasks.append({"name": image.get("name"), "width": int(image.get("width")),
                      "height": int(image.get("height")), "annotations": annotations})
        image.clear()
        while image.getprevious() is not None:
            del image.getparent()[0]
    return tasks


TYPES = {"box": "bbox", "polygon": "polygon"}


def lxml_write(tasks: list[dict], path: Path) -> None:
    """The same images as lxml elements, serialised."""
    root = etree.Element("annotations")
    etree.SubElement(root, "version").text = "1.1"
    for number, task in enumerate(tasks):
        image = etree.SubElement(root, "image", id=str(number), name=task["name"], width=str(task["width"]),
                                 height=str(task["height"]))
        for annotation in task["annotations"]:
            points = annotation["points"]
            if annotation["type"] == "bbox":
                shape = etree.SubElement(image, "box", label=annotation["value"], xtl=str(points[0]),
                                         ytl=str(points[1]), xbr=str(points[2]), ybr=str(points[3]),
                                         rotation=str(annotation["rotation"]))
            else:
                text = ";".join(f"{points[i]},{points[i + 1]}" for i in range(0, len(points), 2))
                shape = etree.SubElement(image, "polygon", label=annotation["value"], points=text)
            for attribute in annotation["attributes"]:
                etree.SubElement(shape, "attribute", name=attribute["key"]).text = str(attribute["value"])
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def median_seconds(function, *args) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--shapes", type=int, default=10)
    args = parser.parse_args()
    tasks = generated(args.images, args.shapes)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        ours_write = median_seconds(lambda: export_cvat(tasks, out / "ours", overwrite=True))
        plain_write = median_seconds(lxml_write, tasks, out / "plain.xml")
        path = out / "ours" / "annotations.xml"
        size = path.stat().st_size
        ours_read = median_seconds(cvat_tasks, path)
        plain_read = median_seconds(lxml_read, path)
        hand_read = median_seconds(lxml_tasks, path)
    print(f"CVAT XML, {args.images:,} images × {args.shapes} shapes ({size / 1e6:.1f} MB), medians of 3")
    print(f"{'':40}{'ours':>12}{'lxml':>10}{'ratio':>8}")
    rows = (("read (lxml: visit every shape)", ours_read, plain_read),
            ("read (lxml: the same dicts, no checks)", ours_read, hand_read),
            ("write (lxml: build and serialise)", ours_write, plain_write))
    for name, ours, plain in rows:
        print(f"{name:40}{ours:>11.3f}s{plain:>9.3f}s{ours / plain:>7.2f}×")


if __name__ == "__main__":
    main()
