"""The YOLO writer's whole-array paths against plain per-line Python: the same label text, line
order and polygon rings, on random tasks (boxes, polygons, segmentations, poses; sizes of 0;
coordinates off the image, tiny or huge)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport, to_yolo
from fastlabel_formats.geometry import truncate
from fastlabel_formats.run import prepared_tables
from fastlabel_formats.yolo import YoloTarget, frame_texts, polygon_lines, ring_corners

VALUES = ["a", "b", "c2", "c10"]
coordinate = st.one_of(st.floats(-50, 2000), st.floats(-1e-3, 1e-3), st.integers(-5, 4000), st.just(1e9))


@st.composite
def shapes(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["bbox", "polygon", "segmentation", "pose_estimation"]))
    value = draw(st.sampled_from(VALUES))
    if kind == "pose_estimation":
        keys = draw(st.lists(st.sampled_from(["nose", "eye", "tail"]), unique=True, max_size=3))
        return {"type": kind, "value": value,
                "keypoints": [{"key": key, "value": [draw(coordinate), draw(coordinate), draw(st.sampled_from([0, 1]))]}
                              for key in keys]}
    if kind == "bbox":
        return {"type": kind, "value": value, "points": [draw(coordinate) for _ in range(4)],
                "rotation": draw(st.sampled_from([0, 0, 30, 90]))}
    ring = st.lists(coordinate, min_size=2, max_size=10).map(lambda values: values[: len(values) // 2 * 2])
    if kind == "polygon":
        return {"type": kind, "value": value, "points": draw(ring.filter(len))}
    regions = draw(st.lists(st.lists(ring.filter(len), min_size=1, max_size=3), min_size=1, max_size=3))
    return {"type": kind, "value": value, "points": regions}


tasks = st.lists(st.fixed_dictionaries({
    "width": st.sampled_from([0, 1, 7, 640, 1920, 100000]),
    "height": st.sampled_from([0, 3, 480, 1080]),
    "annotations": st.lists(shapes(), max_size=6),
}), min_size=1, max_size=5).map(lambda drawn: [{"name": f"t{i}.jpg", **task} for i, task in enumerate(drawn)])

MODES = st.sampled_from([
    {}, {"project_type": "image_segmentation"}, {"obb": True}, {"classes": ["c10", "a", "c2"]},
    {"classes": ["c10", "a", "c2"], "project_type": "image_segmentation"}, {"classes": ["b", "a"], "obb": True},
    {"project_type": "image_pose_estimation"},
])


def plain_texts(table, lines, by_class: bool) -> list[bytes]:
    """Every frame's label text, one ``str`` per value and one line at a time."""
    scale = np.array([[1 / f.width if f.width else np.nan, 1 / f.height if f.height else np.nan]
                      for f in table.frames]).reshape(-1, 2)[np.repeat(table.frame[lines.row], np.diff(lines.offsets))]
    values = [str(value) for value in (truncate(lines.coords * scale, 7) + 0.0).ravel().tolist()]
    texts = []
    for line, klass in enumerate(lines.klass.tolist()):
        tokens = values[2 * lines.offsets[line]:2 * lines.offsets[line + 1]]
        if lines.visibility is not None:
            tokens[4:] = [token for point, flag in enumerate(lines.visibility[line].tolist())
                          for token in (tokens[4 + 2 * point], tokens[5 + 2 * point], str(flag))]
        texts.append(" ".join([str(klass), *tokens]))
    frames = table.frame[lines.row].tolist()
    first_text = {}
    for line, row in enumerate(lines.row.tolist()):
        first_text.setdefault(row, texts[line])
    key = (lambda i: (frames[i], int(lines.klass[i]), bool(lines.is_polygon[i]),
                      first_text[int(lines.row[i])] if lines.is_polygon[i] else "", i)) if by_class else \
        (lambda i: (frames[i], i))
    per_frame = [""] * len(table.frames)
    for line in sorted(range(len(texts)), key=key):
        per_frame[frames[line]] += texts[line] + "\n"
    return [text.encode() for text in per_frame]


def plain_polygon_rings(table, rows) -> list[tuple[int, list]]:
    """``(row, vertices)`` of every polygon line: a bbox's closed corners, each outer ring of 3 vertices or more."""
    out, rings = [], table.rings
    for row in rows.tolist():
        if table.kinds[row] == "bbox":
            corners = ring_corners(table)[row]
            out.append((row, np.vstack([corners, corners[:1]]).tolist()))
            continue
        for ring in range(rings.shape_ring_offsets[row], rings.shape_ring_offsets[row + 1]):
            start, end = rings.ring_offsets[ring], rings.ring_offsets[ring + 1]
            if not rings.is_hole[ring] and end - start >= 3:
                out.append((row, rings.coords[start:end].tolist()))
    return out


def tables_of(drawn: list[dict], mode: dict) -> tuple[YoloTarget, list]:
    target = YoloTarget(".", **mode)
    report = ConversionReport("yolo")
    return target, list(prepared_tables(drawn, target, report, mode.get("project_type", "image_bbox"), None, None))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks, MODES)
def test_label_text_is_plain_str_per_value(drawn, mode):
    target, tables = tables_of(drawn, mode)
    for table in tables:
        lines = target.lines(table, ConversionReport("yolo"))
        with np.errstate(invalid="ignore", over="ignore"):
            expected = plain_texts(table, lines, target.by_classes)
        assert frame_texts(table, lines, target.by_classes) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks)
def test_polygon_lines_are_each_outer_ring(drawn):
    _, tables = tables_of(drawn, {"project_type": "image_segmentation"})
    for table in tables:
        rows = np.arange(len(table))[::-1]  # any order of rows: the lines follow it
        lines = polygon_lines(table, rows, np.zeros(len(table), np.int64), ConversionReport("yolo"))
        got = [(int(row), lines.coords[lines.offsets[i]:lines.offsets[i + 1]].tolist())
               for i, row in enumerate(lines.row.tolist())]
        assert got == plain_polygon_rings(table, rows)


def test_pose_rows_carry_integer_flags_and_exponents():
    pose = {"type": "pose_estimation", "value": "p",
            "keypoints": [{"key": "a", "value": [0.0005, 5, 1]}, {"key": "b", "value": [100, 50, 0]}]}
    labels, _ = to_yolo([{"name": "t.jpg", "width": 100, "height": 50, "annotations": [pose]}],
                        project_type="image_pose_estimation")
    assert labels == [("t.jpg", ["0 0.5000025 0.55 0.999995 0.9 5e-06 0.1 2 1.0 1.0 1"])]
