"""The COCO writer's encoded annotation records (compact: plain boxes laid out from their numbers, the
other records dumped a run at a time; indented: the official SDK's bytes) are the bytes of the
records :func:`to_coco` builds, whatever JSON the attributes hold and whatever numbers the shapes have."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff

EDGY = st.sampled_from([0, -0.0, 1e16, 5e-324, 1e-7, 0.1 + 0.2, 2.5e15, 123456789.125, 7.0, -3])
COORDINATES = st.integers(-5000, 5000) | st.floats(-5000, 5000, allow_nan=False) | EDGY
# strings of what JSON texts are split at (quotes, commas, brackets, escapes) and of any character
TEXTS = st.text(alphabet='",\\[]{}:x', max_size=4) | st.text(max_size=6) | st.sampled_from(['x",', "é\u2028\x00"])
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | EDGY | TEXTS \
    | st.sampled_from([2**70, -(2**70)])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                            max_size=3), max_leaves=6)
ATTRIBUTES = st.none() | st.lists(st.fixed_dictionaries(
    {"key": st.sampled_from(["occluded", "kind", "iscrowd", 'é"k', "a,b"]), "value": VALUES}), max_size=3)
SAME_KEYS = st.tuples(st.booleans(), TEXTS, VALUES).map(  # every record the same keys, each key's values a column
    lambda values: [{"key": "truncated", "value": values[0], "type": "switch"}, {"key": "kind", "value": values[1]},
                    {"key": "extra", "value": values[2]}])


def polygon(draw) -> list:
    return draw(st.lists(COORDINATES, min_size=6, max_size=10).filter(lambda points: len(points) % 2 == 0))


@st.composite
def annotations(draw, attributes=ATTRIBUTES) -> dict:
    kind = draw(st.sampled_from(["bbox", "bbox", "polygon", "segmentation"]))
    annotation = {"type": kind, "value": draw(st.sampled_from(["cat", "dog"]))}
    if kind == "bbox":
        annotation["points"] = draw(st.lists(COORDINATES, min_size=4, max_size=4))
    elif kind == "polygon":
        annotation["points"] = polygon(draw)
    else:
        annotation["points"] = [[polygon(draw) for _ in range(draw(st.integers(1, 2)))]
                                for _ in range(draw(st.integers(1, 2)))]
    if (rotation := draw(st.sampled_from([None, 0, 0.0, 30]))) is not None:
        annotation["rotation"] = rotation
    if (found := draw(attributes)) is not None:
        annotation["attributes"] = found
    return annotation


def tasks_of(found: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.builds(lambda number, items: {"name": f"img_{number}.jpg", "width": 64, "height": 48,
                                                     "annotations": items},
                              st.integers(0, 10**6), st.lists(found, max_size=5)),
                    min_size=1, max_size=3, unique_by=lambda task: task["name"])


def written(tasks: list[dict], **options) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        ff.export_coco(tasks, folder, overwrite=True, **options)
        return (Path(folder) / "annotations.json").read_bytes()


def expected_compact(tasks: list[dict], **options) -> bytes | type[Exception]:
    try:
        return orjson.dumps(ff.to_coco(tasks, **options))
    except TypeError:  # an integer orjson does not write
        return TypeError


def assert_compact_is_the_records(tasks: list[dict], **options) -> None:
    expected = expected_compact(tasks, **options)
    if expected is TypeError:  # written by the standard library instead: the same records, exactly
        assert json.loads(written(tasks, **options)) == ff.to_coco(tasks, **options)
    else:
        assert written(tasks, **options) == expected


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tasks_of(annotations()), st.sampled_from(["drop", "rle"]))
def test_compact_records_are_the_orjson_of_to_coco(tasks, holes):
    assert_compact_is_the_records(tasks, holes=holes)


@SETTINGS
@given(tasks_of(annotations(SAME_KEYS)))
def test_compact_records_with_the_same_attribute_keys_are_the_orjson_of_to_coco(tasks):
    assert_compact_is_the_records(tasks)


@SETTINGS
@given(tasks_of(annotations()))
def test_indented_records_are_the_official_sdks_bytes(tasks):
    expected = json.dumps(ff.to_coco(tasks), indent=4, ensure_ascii=False).encode()
    assert written(tasks, indent=4) == expected


def test_plain_boxes_and_other_records_in_runs_keep_their_place():
    plain = {"type": "bbox", "value": "cat", "points": [1, 2.5, 30, 40]}
    attributed = {**plain, "attributes": [{"key": "kind", "value": ["a", {"b": None}]}]}
    shape = {"type": "polygon", "value": "dog", "points": [0, 0, 5.5, 0, 5, 5], "rotation": 0.0}
    tasks = [{"name": f"{number}.jpg", "width": 64, "height": 48,
              "annotations": [plain, attributed, plain, shape, shape, plain][number % 3:]} for number in range(8)]
    document = orjson.loads(written(tasks))
    assert [record["id"] for record in document["annotations"]] == list(range(1, len(document["annotations"]) + 1))
    assert written(tasks) == written(tasks, jobs=2) == orjson.dumps(ff.to_coco(tasks))
