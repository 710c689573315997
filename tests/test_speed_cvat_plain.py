"""The short way of reading an ``<image>``'s shapes (layout plans, an image's numbers read in one pass,
attribute types per label) gives what reading every shape the shape readers' way gives: the same
annotations (values, types, key order), the same reports at the same places; and numbers whose
fraction is all zeros are read as ints in one pass as one by one."""

from __future__ import annotations

import json
import math
from xml.sax.saxutils import escape, quoteattr

from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.formats.cvat.meta import parse_meta
from fastlabel_formats.formats.cvat.reader import Shape, image_annotations, shape_annotations
from fastlabel_formats.formats.cvat.shapes import comma_number_rows, comma_numbers
from fastlabel_formats.formats.cvat.stream import as_node, top_level
from fastlabel_formats.report import ConversionReport

META = """<meta><task><name>t</name><labels>
  <label><name>car</name><color>#ff0000</color><type>rectangle</type><attributes>
    <attribute><name>model</name><input_type>select</input_type><values>a
b</values></attribute>
    <attribute><name>speed</name><input_type>number</input_type><values>0
9</values></attribute>
    <attribute><name>parked</name><input_type>checkbox</input_type><values>false</values></attribute>
  </attributes></label>
  <label><name>roof</name><type>polygon</type><attributes>
    <attribute><name>parked</name><input_type>text</input_type><values></values></attribute>
  </attributes></label>
</labels></task></meta>"""

awkward = st.sampled_from(["-0", "12.00", "-3.50", "1e2", "1.0e1", "0.000", " 7 ", "x", "", "nan", "1e400",
                           "9007199254740993", "4503599627370497.00", "1.0.0", "00.0", "+5", ".5", "1]", "[2"])
plain_number = st.one_of(st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.2f}"),
                         st.integers(-99, 99).map(str), st.floats(-1e6, 1e6, allow_nan=False).map(repr))
number = st.one_of(*[plain_number] * 9, awkward, st.floats(allow_nan=False).map(repr))  # mostly read the short way
pairs = st.lists(st.tuples(number, number), min_size=1, max_size=4).map(lambda xy: ";".join(f"{x},{y}" for x, y in xy))
points = st.one_of(*[pairs] * 5, st.sampled_from(["1,2;3", "1,2,3,4", "1,2;;3,4", "", "1,2;3,4;"]))
PROPERTY = {"label": st.sampled_from(["car", "roof", "car", "roof", "", "bike"]),
            "occluded": st.sampled_from(["0", "1", "2"]), "z_order": st.sampled_from(["0", "3"]),
            "source": st.sampled_from(["manual", "auto"]), "group_id": st.sampled_from(["0", "4"]),
            "track_id": st.sampled_from(["0", "5"]), "outside": st.sampled_from(["0", "1"]),
            "keyframe": st.sampled_from(["0", "1"]), "extra": st.just("e"), "xtl": number, "ytl": number,
            "xbr": number, "ybr": number, "rotation": number, "points": points, "cx": number, "cy": number,
            "rx": number, "ry": number}
attribute = st.tuples(st.sampled_from(["model", "speed", "parked", "free", ""]),
                      st.sampled_from(["a", "true", " true ", "false", "", "5", "<&>"]))


@st.composite
def shape(draw) -> str:
    tag = draw(st.sampled_from(["box", "polygon", "polyline", "points", "tag", "ellipse"]))
    usual = {"box": ["label", "occluded", "xtl", "ytl", "xbr", "ybr", "rotation", "z_order"],
             "ellipse": ["label", "cx", "cy", "rx", "ry"], "tag": ["label", "source"]}.get(tag, ["label", "points"])
    names = [name for name in usual if draw(st.integers(0, 9))]  # most present
    carried = ["occluded", "z_order", "source", "group_id", "track_id", "outside", "keyframe"]
    extra = st.sampled_from(carried * 4 + sorted(set(PROPERTY) - set(carried)))  # now and then not the tag's own
    names += draw(st.lists(extra, max_size=3, unique=True).filter(lambda more: not set(more) & set(names)))
    attributes = "".join(f" {name}={quoteattr(draw(PROPERTY[name]))}" for name in names)
    children = "".join(f'<attribute name={quoteattr(name)}>{escape(text)}</attribute>'
                       for name, text in draw(st.lists(attribute, max_size=3)))
    return f"<{tag}{attributes}>{children}</{tag}>"


def read_both(tmp_path, shapes: list[str]) -> tuple[str, str]:
    path = tmp_path / "image.xml"
    path.write_text(f'<annotations>{META}<image id="0" name="a.jpg" width="9" height="9">{"".join(shapes)}'
                    "</image></annotations>", encoding="utf-8")
    elements = dict(top_level(path))
    meta, records = parse_meta(elements["meta"]), elements["image"]
    results = []
    for short in (True, False):
        report = ConversionReport("cvat import")
        where = Shape(meta, report, "image", position=0)
        annotations = image_annotations(records, where) if short else \
            [annotation for position, record in enumerate(records)
             for annotation in readers_way(record, position, where)]
        results.append(json.dumps([annotations, [(f.kind, f.count, f.examples) for f in report.findings.values()]]))
    return results[0], results[1]


def readers_way(record: list, position: int, where: Shape) -> list[dict]:
    where.position, where.tag, where.values = position, record[0], None
    return shape_annotations(as_node(record), where)


@settings(max_examples=300, deadline=None)
@given(st.lists(shape(), min_size=1, max_size=6))
def test_the_short_way_reads_what_the_shape_readers_read(tmp_path_factory, shapes):
    short, readers = read_both(tmp_path_factory.mktemp("cvat"), shapes)
    assert short == readers


def test_the_short_way_is_taken_and_reports_a_number_attribute_at_its_shape(tmp_path):
    shapes = ['<box label="car" occluded="1" xtl="1.00" ytl="2" xbr="3.5" ybr="4"><attribute name="speed">5'
              '</attribute><attribute name="parked">true</attribute></box>',
              '<points label="roof" points="1,2;3,4" z_order="2"/>', '<tag label="car" source="auto"/>']
    short, readers = read_both(tmp_path, shapes)
    assert short == readers
    annotations, findings = json.loads(short)
    assert [a["type"] for a in annotations] == ["bbox", "keypoint", "keypoint", "classification"]
    assert annotations[0]["points"] == [1, 2, 3.5, 4] and annotations[0]["color"] == "#ff0000"
    assert annotations[0]["attributes"] == [{"key": "speed", "value": "5", "type": "text"},
                                            {"key": "parked", "value": True, "type": "switch"},
                                            {"key": "occluded", "value": True, "type": "switch"}]
    assert annotations[1]["attributes"] == [{"key": "z_order", "value": "2", "type": "text"},
                                            {"key": "cvat_points", "value": "1", "type": "text"}]
    assert findings == [["CVAT number attribute carried as a text attribute", 1, ["image shape #0 (box)"]]]


def typed(values: list | None) -> list | None:
    return None if values is None else [(type(v), v, math.copysign(1, v)) for v in values]


zeros = st.sampled_from(["12.00", "-0.0", "0.000", "1.0", " 3.00 ", "1.00e2", "1.0.0", "00.0", "-.0", "5.", "2.50",
                         "1.05", "100", "7.0\t"])
zero_text = st.lists(st.one_of(zeros, st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: f"{v:.3f}")),
                     min_size=1, max_size=5).map(",".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), zero_text), min_size=1, max_size=6))
def test_rows_with_fractions_of_zeros_are_read_as_one_by_one(texts):
    want = [typed(comma_numbers(text)) if text else None for text in texts]
    assert [typed(row) for row in comma_number_rows(texts)] == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), points, zero_text), min_size=1, max_size=6))
def test_rows_of_points_read_pairs_as_their_numbers(texts):
    want = [typed(comma_numbers(text.replace(";", ","))) if text else None for text in texts]
    assert [typed(row) for row in comma_number_rows(texts, pairs=True)] == want
