"""The vectorised polygon and segmentation findings (``fastlabel_formats.shape_findings``) equal the
shape-by-shape check — the distinct vertices of every ring, shapely's ``is_valid_reason`` of every
region, ``numpy.linalg.matrix_rank`` of every outer ring of an invalid shape — on hypothesis-generated shapes (few
vertices, collinear rings, bow-ties, holes outside or touching, signed zeros) and on the benchmark's
invalid-heavy project."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastlabel_formats import checks
from fastlabel_formats.report import ConversionReport
from fastlabel_formats.run import prepared_tables
from fastlabel_formats.shape_findings import FEW_VERTICES, shape_problems
from fastlabel_formats.table import table_of
from fastlabel_formats.validation import RING_TYPES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


def one_by_one(table) -> dict[str, set[int]]:
    """The oracle: every polygon and segmentation checked on its own."""
    rings, found = table.rings, {}
    for row, kind in enumerate(table.kinds):
        if kind not in ("polygon", "segmentation"):
            continue
        first, last = rings.shape_ring_offsets[row], rings.shape_ring_offsets[row + 1]
        parts = [rings.coords[rings.ring_offsets[r]:rings.ring_offsets[r + 1]] for r in range(first, last)]
        holes = rings.is_hole[first:last]
        if any(len(np.unique(part, axis=0)) < 3 for part in parts):
            found.setdefault(FEW_VERTICES, set()).add(row)
            continue
        starts = [index for index in range(len(parts)) if index == 0 or not holes[index]]
        regions = [(parts[start], parts[start + 1:end]) for start, end in zip(starts, [*starts[1:], len(parts)])]
        if all(shapely.is_valid(shapely.Polygon(*region)) for region in regions):
            continue  # a valid shape has no finding, however thin
        for outer, inner in regions:
            if np.linalg.matrix_rank(outer - outer[0]) < 2:
                reason = "zero area"
            else:
                polygon = shapely.Polygon(outer, inner)
                reason = None if shapely.is_valid(polygon) else \
                    shapely.is_valid_reason(polygon).split("[")[0].strip().lower()
            if reason:
                found.setdefault(f"{{kind}}: {reason}", set()).add(row)
    return found


def as_sets(found: dict[str, np.ndarray]) -> dict[str, set[int]]:
    return {reason: set(np.flatnonzero(rows).tolist()) for reason, rows in found.items()}


coordinate = st.sampled_from([0.0, -0.0, 1.0, 2.0, 5.0, 10.0, 2.5, 1e-9, 3.0])
point = st.tuples(coordinate, coordinate)
ring = st.lists(point, min_size=0, max_size=7).map(lambda points: [v for p in points for v in p])
collinear = st.integers(3, 6).map(lambda n: [float(v) for i in range(n) for v in (i, 2 * i)])
bowtie = st.just([0.0, 0.0, 10.0, 10.0, 10.0, 0.0, 0.0, 10.0])
square = st.just([0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0])
any_ring = st.one_of(ring, collinear, bowtie, square)


def closed(flat: list[float]) -> list[float]:
    return flat + flat[:2]


region = st.lists(any_ring, min_size=1, max_size=3).map(lambda rings: [closed(r) for r in rings])
annotation = st.one_of(
    any_ring.map(lambda points: {"type": "polygon", "value": "a", "points": points}),
    st.lists(region, min_size=1, max_size=2).map(lambda regions: {"type": "segmentation", "value": "a",
                                                                   "points": regions}),
    st.just({"type": "bbox", "value": "a", "points": [0, 0, 5, 5]}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(annotation, max_size=5), min_size=1, max_size=4))
def test_the_findings_equal_checking_shape_by_shape(images):
    tasks = [{"name": f"{n}.png", "width": 20, "height": 20, "annotations": annotations}
             for n, annotations in enumerate(images)]
    table = table_of(tasks, "t", RING_TYPES)
    found = as_sets(shape_problems(table))
    assert found == one_by_one(table)
    if hasattr(checks, "_shape_problems"):  # the shape-by-shape implementation, while it is there
        assert found == as_sets(checks._shape_problems(table))


def test_the_invalid_heavy_benchmark_project(tmp_path):
    from bench_report import write_project

    write_project(tmp_path / "tasks.jsonl", 60, 10, 0.5, {"polygon", "segmentation", "bbox"})
    tables = list(prepared_tables(tmp_path / "tasks.jsonl", checks._Checked("."), ConversionReport("v"), "image_bbox",
                                  None, None))
    found = [as_sets(shape_problems(table)) for table in tables]
    assert found == [one_by_one(table) for table in tables]
    assert any("{kind}: self-intersection" in item for item in found)
