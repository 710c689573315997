"""Resource caps: each a documented module constant with a clear FormatError past it — annotations
per task, tiles per split (and split's work growing with the tiles each shape reaches, not tiles ×
annotations), the nesting depth of points and values."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ann, task

import fastlabel_formats as ff
from fastlabel_formats import FormatError, tasks, tile_split, validation


def test_a_task_with_more_annotations_than_the_cap_is_named(monkeypatch):
    assert tasks.MAX_ANNOTATIONS_PER_TASK == 100_000
    monkeypatch.setattr(tasks, "MAX_ANNOTATIONS_PER_TASK", 3)
    crowded = task("crowd.jpg", 8, 8, *[ann("bbox", "a", [0, 0, 1, 1])] * 4)
    for convert in (ff.to_coco, ff.validate, ff.render_semantic_mask, lambda t: ff.split_image_task(t, 1, 1)):
        with pytest.raises(FormatError, match=r"task 'crowd.jpg': 4 annotations, more than the 3 of one task.*"
                                              r"MAX_ANNOTATIONS_PER_TASK"):
            convert([crowded] if convert in (ff.to_coco, ff.validate) else crowded)
    assert len(ff.to_coco([task("ok.jpg", 8, 8, *[ann("bbox", "a", [0, 0, 1, 1])] * 3)])["annotations"]) == 3


def test_a_grid_of_more_tiles_than_the_cap_is_an_error_before_any_work(monkeypatch):
    monkeypatch.setattr(tile_split, "MAX_TILES", 11)
    with pytest.raises(FormatError, match=r"a 3x4 grid cannot split a 100x100 image.*at most 11 tiles.*MAX_TILES"):
        ff.split_image_task(task("a.jpg", 100, 100), 3, 4)
    assert len(ff.split_image_task(task("a.jpg", 100, 100), 1, 11)) == 11


def test_split_looks_only_at_the_tiles_a_shape_reaches(monkeypatch):
    """100 × 100 tiles, 40 small shapes: every shape is clipped against the few tiles its bounds
    reach (at most 4 here), never against all 10,000."""
    reached: list[int] = []
    original = tile_split.TileGrid.reached

    def counting(grid, bounds):
        found = original(grid, bounds)
        reached.append(len(found))
        return found

    monkeypatch.setattr(tile_split.TileGrid, "reached", counting)
    shapes = [ann(kind, "v", points) for x in range(0, 1000, 100) for kind, points in (
        ("bbox", [x + 3, x + 3, x + 9, x + 9]), ("polygon", [x + 1, x + 2, x + 9, x + 2, x + 5, x + 9]),
        ("line", [x + 1, x + 1, x + 9, x + 8]),
        ("segmentation", [[[x + 1, x + 1, x + 8, x + 1, x + 8, x + 8, x + 1, x + 1]]]))]
    tiles = ff.split_image_task(task("big.png", 1000, 1000, *shapes), 100, 100)
    assert len(tiles) == 10_000 and sum(len(t["annotations"]) for t in tiles) >= len(shapes)
    assert len(reached) == len(shapes) and max(reached) <= 4


def test_split_of_a_10000_tile_grid_stays_small_in_memory():
    """The issue's case (a 100x100 grid of a small task) under a 600 MB address-space cap."""
    script = textwrap.dedent("""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (600 << 20, resource.RLIM_INFINITY))
        import fastlabel_formats as ff
        shapes = [{"type": "polygon", "value": "p", "points": [0, 0, 1000, 0, 1000, 1000, 0, 1000]},
                  {"type": "line", "value": "l", "points": [0, 0, 999, 999]},
                  {"type": "classification", "value": "day"}]
        tiles = ff.split_image_task({"name": "a.png", "width": 1000, "height": 1000, "annotations": shapes}, 100, 100)
        print(sum(len(t["annotations"]) for t in tiles))
    """)
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY and hard < 600 << 20:
        pytest.skip("the address space is capped below 600 MB already")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == 10_000 + 100 + 10_000  # a piece per tile, one per diagonal tile, a class each


def test_points_and_values_nested_too_deep_are_malformed(monkeypatch):
    deep: list = [0]
    for _ in range(100_000):
        deep = [deep]
    monkeypatch.setattr(validation, "MAX_POINTS_DEPTH", 3)
    report = ff.validate([task("a.jpg", 8, 8, ann("cuboid", "c", [[[1]]]), ann("cuboid", "c", [[[[1]]]]),
                               ann("keypoint", deep, [1, 1]))])
    found = report.findings[validation.MALFORMED]
    assert found.count == 2 and "MAX_POINTS_DEPTH" in found.examples[0]
    assert [place.split(":")[1].strip() for place in found.examples] == [
        "task 'a.jpg' annotation #1 (cuboid)", "task 'a.jpg' annotation #2 (keypoint)"]


def test_the_caps_are_documented_constants():
    for module, name in ((tasks, "MAX_ANNOTATIONS_PER_TASK"), (tile_split, "MAX_TILES"),
                         (validation, "MAX_POINTS_DEPTH"), (validation, "MAX_RING_VERTICES")):
        source = open(module.__file__, encoding="utf-8").read()
        line = source.index(f"\n{name} = ")
        assert "Raise it by setting" in source[max(0, line - 400):line], name
        assert isinstance(getattr(module, name), int) and np.int64(getattr(module, name)) > 0
