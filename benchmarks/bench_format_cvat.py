"""CVAT XML read and write against lxml alone on the same file (interleaved runs, medians).

    python benchmarks/bench_format_cvat.py [--images 2000] [--shapes 10] [--runs 5]
    python benchmarks/bench_format_cvat.py --memory 100 1000 [--folder /tmp]

Read: ``cvat_tasks`` (tasks with typed attributes, checks and a loss report) vs the floor,
``lxml.etree.iterparse`` over the same ``<image>`` elements touching every element's attributes
(and an ``<attribute>``'s text) and freeing each image, on two files: the one ``export_cvat``
writes of the generated tasks, and one laid out as CVAT writes it (two decimals, boxes, polygons,
polylines, points and tags, attributes, random coordinates).
A third row times a hand-written lxml reader that only builds dicts of the same shapes (no checks,
no typing, no report) against the same floor: the cost of the dicts alone; a fourth, the reader's
parsing alone (its lxml parser target handing on each ``<image>``'s elements, no task made).
Write: ``export_cvat`` of the generated tasks vs building the same elements with ``lxml.etree``
and serialising them.
Memory (``--memory`` sizes in MB): a CVAT-style file of about each size is generated to disk
(streamed), then read through ``iter_cvat_tasks`` in a fresh interpreter; its peak RSS is printed
next to that of an interpreter that only imports the package, and must not grow with the file.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree
from timing import interleaved

from fastlabel_formats.formats.cvat import cvat_tasks, export_cvat
from fastlabel_formats.formats.cvat.stream import top_level
from fastlabel_formats.runtime import gc_paused

LABELS = (("car", "rectangle", "model", "select", ("sedan", "suv", "van")), ("roof", "polygon", "", "", ()),
          ("lane", "polyline", "", "", ()), ("joint", "points", "", "", ()), ("weather", "tag", "", "", ()))


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


def cvat_meta() -> str:
    """The ``<meta>`` of a CVAT-style file (the labels of :data:`LABELS`)."""
    labels = []
    for name, kind, attribute, input_type, values in LABELS:
        spec = (f"<attribute><name>{attribute}</name><mutable>False</mutable><input_type>{input_type}</input_type>"
                f"<default_value>{values[0]}</default_value><values>{chr(10).join(values)}</values></attribute>"
                if attribute else "")
        labels.append(f"<label><name>{name}</name><color>#33ddff</color><type>{kind}</type>"
                      f"<attributes>{spec}</attributes></label>")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n'
            f'    <task>\n      <name>bench</name>\n      <labels>{"".join(labels)}</labels>\n    </task>\n'
            f'  </meta>\n')


def cvat_shape(kind: int, generator: random.Random) -> str:
    """One shape element as CVAT writes it (coordinates with two decimals)."""
    def xy() -> str:
        return f"{generator.uniform(0, 1900):.2f},{generator.uniform(0, 1000):.2f}"

    common = f'source="manual" occluded="{generator.randrange(2)}" z_order="0"'
    if kind == 0:
        x, y = generator.uniform(0, 1800), generator.uniform(0, 900)
        rotation = f' rotation="{generator.uniform(0, 360):.2f}"' if generator.random() < 0.3 else ""
        model = generator.choice(LABELS[0][4])
        return (f'    <box label="car" {common} xtl="{x:.2f}" ytl="{y:.2f}" xbr="{x + generator.uniform(5, 120):.2f}" '
                f'ybr="{y + generator.uniform(5, 90):.2f}"{rotation}>\n'
                f'      <attribute name="model">{model}</attribute>\n    </box>\n')
    if kind == 4:
        return '    <tag label="weather" source="manual">\n    </tag>\n'
    tag, label, count = (("polygon", "roof", 8), ("polyline", "lane", 5), ("points", "joint", 3))[kind - 1]
    points = ";".join(xy() for _ in range(generator.randrange(3, count + 3)))
    return f'    <{tag} label="{label}" {common} points="{points}">\n    </{tag}>\n'


KINDS = (0, 0, 0, 1, 1, 2, 3, 0, 1, 4)  # shape kinds of an image's shapes, in turn


def write_cvat_style(path: Path, images: int, shapes: int, seed: int = 0) -> None:
    """A CVAT for images 1.1 file as CVAT writes it, streamed to ``path``."""
    generator = random.Random(seed)
    with path.open("w", encoding="utf-8") as stream:
        stream.write(cvat_meta())
        for number in range(images):
            body = "".join(cvat_shape(KINDS[shape % len(KINDS)], generator) for shape in range(shapes))
            stream.write(f'  <image id="{number}" name="frame_{number:07d}.jpg" width="1920" height="1080">\n'
                         f'{body}  </image>\n')
        stream.write("</annotations>\n")


def write_cvat_style_size(path: Path, megabytes: float, shapes: int = 10) -> int:
    """A CVAT-style file of about ``megabytes`` MB (generated in blocks of images, never held): its images."""
    block, images = 1000, 0
    with path.open("w", encoding="utf-8") as stream:
        stream.write(cvat_meta())
        while stream.tell() < megabytes * 1e6:
            generator = random.Random(images)
            for number in range(images, images + block):
                body = "".join(cvat_shape(KINDS[shape % len(KINDS)], generator) for shape in range(shapes))
                stream.write(f'  <image id="{number}" name="frame_{number:07d}.jpg" width="1920" height="1080">\n'
                             f'{body}  </image>\n')
            images += block
        stream.write("</annotations>\n")
    return images


def lxml_read(path: Path) -> int:
    """The floor: every element of every ``<image>`` visited by lxml alone (attributes, an
    ``<attribute>``'s text), streaming and freeing as the reader does."""
    count = 0
    for _, image in etree.iterparse(str(path), events=("end",), tag="image", huge_tree=True):
        image.attrib.items()
        for shape in image:
            shape.attrib.items()
            for attribute in shape:
                attribute.attrib.items()
                count += attribute.text is None
            count += 1
        image.clear()
        while image.getprevious() is not None:
            del image.getparent()[0]
    return count


def lxml_tasks(path: Path) -> list[dict]:
    """A hand-written lxml reader making task dicts of the same shapes (``float()`` per number, no
    checks, attributes untyped, no loss report): what building the dicts alone costs."""
    tasks = []
    for _, image in etree.iterparse(str(path), events=("end",), tag="image", huge_tree=True):
        annotations = []
        for shape in image:
            attributes = dict(shape.attrib)
            if shape.tag == "box":
                geometry = {"points": [float(attributes[k]) for k in ("xtl", "ytl", "xbr", "ybr")],
                            "rotation": float(attributes.get("rotation", 0))}
            else:
                geometry = {"points": [float(v) for v in attributes.get("points", "").replace(";", ",").split(",")
                                       if v]}
            annotations.append({"type": shape.tag, "value": attributes["label"], **geometry,
                                "attributes": [{"key": a.get("name"), "value": a.text, "type": "text"}
                                               for a in shape.iterchildren("attribute")]})
        tasks.append({"name": image.get("name"), "width": int(image.get("width")),
                      "height": int(image.get("height")), "annotations": annotations})
        image.clear()
        while image.getprevious() is not None:
            del image.getparent()[0]
    return tasks


def parsed_only(path: Path) -> int:
    """The reader's parsing alone: its top-level elements, each ``<image>`` with its shapes."""
    return sum(1 for _ in top_level(path))


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


CLOCK = time.process_time  # CPU seconds of this process: steadier than wall time on a shared machine


MEMORY_PROBE = """
import resource, sys, time
started = time.perf_counter()
if sys.argv[1] != "-":
    from fastlabel_formats.formats.cvat import iter_cvat_tasks
    shapes = sum(len(task["annotations"]) for task in iter_cvat_tasks(sys.argv[1]))
else:
    import fastlabel_formats.formats.cvat
    shapes = 0
print(shapes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - started)
"""


def probe(path: str) -> tuple[int, float, float]:
    """Annotations read, peak RSS (MB) and seconds of reading ``path`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, path], check=True, capture_output=True, text=True)
    shapes, peak, seconds = out.stdout.split()
    return int(shapes), float(peak), float(seconds)


def memory(sizes: list[float], folder: str | None) -> None:
    """Peak RSS of reading CVAT-style files of the given sizes (MB), each generated then deleted."""
    _, base, _ = probe("-")
    print(f"peak RSS of an interpreter that imports the package only: {base:.1f} MB")
    print("| file (MB) | images | annotations | read (s) | MB/s | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=folder) as temporary:
        for size in sizes:
            path = Path(temporary) / f"cvat_{size:g}MB.xml"
            images = write_cvat_style_size(path, size)
            megabytes = path.stat().st_size / 1e6
            shapes, peak, seconds = probe(str(path))
            print(f"| {megabytes:.0f} | {images:,} | {shapes:,} | {seconds:.1f} | {megabytes / seconds:.1f} "
                  f"| {peak:.1f} |", flush=True)
            path.unlink()


def throughput(images: int, shapes: int, runs: int) -> None:
    """The read and write rows, ours against the lxml floor."""
    tasks = generated(images, shapes)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        export_cvat(tasks, out / "ours", overwrite=True)
        ours_file, cvat_file = out / "ours" / "annotations.xml", out / "cvat.xml"
        write_cvat_style(cvat_file, images, shapes)
        rows = [(f"read, export_cvat's file ({ours_file.stat().st_size / 1e6:.1f} MB)",
                 *interleaved(lambda: cvat_tasks(ours_file), lambda: lxml_read(ours_file), runs, CLOCK)),
                (f"read, CVAT-style file ({cvat_file.stat().st_size / 1e6:.1f} MB)",
                 *interleaved(lambda: cvat_tasks(cvat_file), lambda: lxml_read(cvat_file), runs, CLOCK)),
                ("read, CVAT-style: hand-written dict builder ÷ floor",
                 *interleaved(lambda: gc_paused(lxml_tasks)(cvat_file), lambda: lxml_read(cvat_file), runs, CLOCK)),
                ("read, CVAT-style: the reader's parsing alone ÷ floor",
                 *interleaved(lambda: gc_paused(parsed_only)(cvat_file), lambda: lxml_read(cvat_file), runs, CLOCK)),
                ("write (lxml: build and serialise)",
                 *interleaved(lambda: export_cvat(tasks, out / "ours", overwrite=True),
                              lambda: lxml_write(tasks, out / "plain.xml"), runs, CLOCK))]
    clock = "wall" if CLOCK is time.perf_counter else "CPU"
    print(f"CVAT XML, {images:,} images × {shapes} shapes, {clock} seconds, medians of {runs} interleaved runs")
    print("| format | direction | ours (s) | floor (s) | ratio |")
    print("|---|---|---|---|---|")
    for name, ours, floor in rows:
        print(f"| CVAT | {name} | {ours:.3f} | {floor:.3f} | {ours / floor:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--shapes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", type=float, nargs="+", metavar="MB", help="file sizes to read for peak RSS")
    parser.add_argument("--folder", help="where the --memory files are generated (default: the temporary folder)")
    parser.add_argument("--wall", action="store_true", help="time wall-clock seconds instead of CPU seconds")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    if args.memory:
        memory(args.memory, args.folder)
    else:
        throughput(args.images, args.shapes, args.runs)


if __name__ == "__main__":
    main()
