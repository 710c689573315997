"""The format registry: a format registered here (in a test module, touching no other file) is read
by ``convert`` and ``--from auto``, written by ``export --to`` and ``convert --to``, offered by the
command line's choices, and its verbs are the package's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fastlabel_formats as ff
from fastlabel_formats import formats
from fastlabel_formats.cli import build_parser, main
from fastlabel_formats.formats import Format
from fastlabel_formats.run import PerImageTarget


def read_toy(source, *, report=None, images=None, **options) -> list[dict]:
    """``name width height x1 y1 x2 y2 label`` lines: one box each."""
    tasks: dict[str, dict] = {}
    for line in Path(source).read_text().splitlines():
        name, width, height, *box, label = line.split()
        task = tasks.setdefault(name, {"name": name, "width": int(width), "height": int(height), "annotations": []})
        task["annotations"].append({"type": "bbox", "value": label, "points": [float(v) for v in box]})
    return list(tasks.values())


class ToyTarget(PerImageTarget):
    """``<image>.toy`` per image: its boxes' labels, one a line."""

    name = "toy"
    geometry = frozenset({"bbox"})
    suffix = ".toy"

    def encode(self, table, plan, report) -> list[bytes | None]:
        return ["".join(f"{table.annotations[row]['value']}\n" for row in np.flatnonzero(table.frame == number)
                        ).encode() for number in range(len(table.frames))]


TOY = Format(name="toy", summary="toy boxes, one a line", aliases=("toys",), read=read_toy,
             detect=lambda path: 1.0 if path.suffix == ".toy" else 0.0,
             target=lambda output_dir, options: ToyTarget(output_dir),
             verbs={"toy_tasks": read_toy})


@pytest.fixture
def toy():
    formats.loaded()
    formats.register(TOY)
    yield TOY
    del formats.FORMATS["toy"]
    del formats.ALIASES["toys"]


def test_a_registered_format_is_read_written_offered_and_exported_by_the_package(toy, tmp_path):
    source = tmp_path / "boxes.toy"
    source.write_text("a.jpg 40 30 1 2 10 12 cat\na.jpg 40 30 5 5 9 9 dog\nb.png 20 20 0 0 4 4 cat\n")
    assert formats.detect(source) == "toy" and ff.toy_tasks is read_toy and "toy_tasks" in dir(ff)
    parser_text = build_parser().format_help()
    assert "convert" in parser_text
    convert_help = build_parser()._subparsers._group_actions[0].choices["convert"].format_help()
    assert "toy" in convert_help and "toys" in convert_help
    assert main(["convert", str(source), "--to", "coco", "-o", str(tmp_path / "coco")]) == 0  # --from auto
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(coco["images"]) == 2 and len(coco["annotations"]) == 3
    assert main(["export", str(tmp_path / "coco" / "annotations.json"), "--to", "toys", "-o", str(tmp_path / "o")]) \
        == 2  # a COCO file is no FastLabel task list: refused, not misread
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps(read_toy(source)))
    assert main(["export", str(tasks), "--to", "toys", "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "toy" / "a.toy").read_text() == "cat\ndog\n"
    assert main(["convert", str(source), "--from", "toys", "--to", "toy", "-o", str(tmp_path / "back")]) == 0
    assert (tmp_path / "back" / "b.toy").read_text() == "cat\n"


def test_a_name_registered_twice_is_refused(toy):
    with pytest.raises(ff.FormatError, match="registered twice"):
        formats.register(Format(name="other", summary="", aliases=("toy",)))


def test_every_built_in_format_has_a_module_of_its_own():
    modules = {path.stem for path in Path(formats.__file__).parent.iterdir() if path.suffix == ".py"} - {"__init__"}
    built_in = {"fastlabel", "coco", "yolo", "pascalvoc", "labelme", "semantic", "instance"}
    assert built_in <= set(formats.loaded()) and built_in <= modules


def test_a_formats_own_options_reach_its_reader_and_its_writer_from_the_command_line(tmp_path):
    """COCO results need their ground truth (``--gt``) both ways; ``--iou-type`` is the writer's."""
    folder = Path(__file__).parent / "fixtures" / "third_party" / "cocoapi"
    results, gt = folder / "instances_val2014_fakebbox_subset_results.json", folder / "instances_val2014_subset.json"
    no_gt = ["convert", str(results), "--from", "coco_results", "--to", "coco_results", "-o", str(tmp_path / "a")]
    assert main(no_gt) == 2  # refused
    assert main(["convert", str(results), "--from", "coco_results", "--gt", str(gt), "--to", "coco_results",
                 "--iou-type", "bbox", "-o", str(tmp_path / "b")]) == 0
    written = json.loads((tmp_path / "b" / "results.json").read_text())
    given = json.loads(results.read_text())

    def key(record: dict) -> tuple:
        return record["image_id"], record["category_id"], round(record["score"], 6), \
            tuple(round(value, 3) for value in record["bbox"])

    assert sorted(map(key, written)) == sorted(map(key, given))


def test_every_public_name_resolves_to_what_its_module_defines():
    """The package imports its names on first use (``_LAZY``): each name of ``__all__`` is there and
    is the object its module defines, ``report`` and ``evaluate`` the functions, not the modules."""
    import importlib

    import fastlabel_formats as ff

    assert set(ff._LAZY) <= set(ff.__all__)
    for name, module in ff._LAZY.items():
        assert getattr(ff, name) is getattr(importlib.import_module(f"fastlabel_formats.{module}"), name)
    assert all(hasattr(ff, name) for name in ff.__all__)
    assert callable(ff.report) and callable(ff.evaluate) and callable(ff.integrate) and callable(ff.repair)
