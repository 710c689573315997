"""CVAT XML read through the streaming parser target (no element tree) gives what reading the same
file as an element tree gives (a file declaring a DTD takes that way): the same tasks, attribute
texts, entities, reports and errors; and the coordinates of all shapes read in one pass are
those read shape by shape."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.errors import FormatError
from fastlabel_formats.formats.cvat import cvat_tasks
from fastlabel_formats.formats.cvat.shapes import comma_number_rows, comma_numbers
from fastlabel_formats.formats.cvat.stream import Node, top_level
from fastlabel_formats.report import ConversionReport

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
DTD = "<!DOCTYPE annotations>\n"
BODY = """<annotations>
  <version>1.1</version>
  <meta><task><name>odd</name><labels>
    <label><name>car</name><color>#ff0000</color><type>rectangle</type><attributes>
      <attribute><name>model</name><input_type>select</input_type><values>a
b</values></attribute>
      <attribute><name>speed</name><input_type>number</input_type><values>0
10</values></attribute>
      <attribute><name>parked</name><input_type>checkbox</input_type><values>false</values></attribute>
    </attributes></label>
    <label><name>unused</name><attributes></attributes></label>
  </labels></task></meta>
  <!-- a comment -->
  <image id="0" name="a &amp; b &#x263A;.jpg" width="100" height="80.5" subset="train">
    <box label="car" occluded="1" source="auto" z_order="2" xtl="1.00" ytl="2e1" xbr="30.5" ybr="40" weird="x">
      <attribute name="model">b</attribute>
      <attribute name="speed">5</attribute>
      <attribute name="parked"> true </attribute>
      <attribute name="split">fo<!-- x -->o</attribute>
      <attribute name="cdata"><![CDATA[<hi> &amp;]]></attribute>
      <attribute name="entity">1 &lt; 2 &amp; 3</attribute>
      <attribute name="empty"></attribute>
    </box>
    <polygon label="car" points="1,2;3,4;5,6.5"/>
    <polyline label="car" points="1,2;3" />
    <points label="car" points="1,2;3,4;5.00,6" track_id="7"/>
    <ellipse label="car" cx="10" cy="10" rx="3" ry="4" rotation="30"/>
    <mask label="car" rle="2,3,1,2" left="1" top="2" width="4" height="2"/>
    <tag label="car"/>
    <box label="" xtl="1" ytl="1" xbr="2" ybr="2"/>
    <box label="car" xtl="1" ytl="nan" xbr="2" ybr="2"/>
    <polygon label="car" points="1],[2;3,4"/>
    <?pi something?>
    <cuboid label="car"/>
  </image>
  <image id="1" name="a &amp; b &#x263A;.jpg" subset="train" width="1" height="1"/>
  <image id="2" width="1" height="1"/>
  <tag label="frame-tag" frame="3"/>
</annotations>
"""


def read(path: Path) -> tuple[list, list]:
    report = ConversionReport("cvat import")
    tasks = cvat_tasks(path, report=report)
    findings = [(f.kind, f.count, [e.replace(str(path), "<file>") for e in f.examples])
                for f in report.findings.values()]
    return tasks, findings


def test_parser_target_reads_what_the_element_tree_reads(tmp_path):
    streamed, tree = tmp_path / "streamed.xml", tmp_path / "tree.xml"
    streamed.write_text(HEAD + BODY, encoding="utf-8")
    tree.write_text(HEAD + DTD + BODY, encoding="utf-8")
    assert all(isinstance(element, Node) for tag, element in top_level(streamed) if tag == "image")
    assert not any(isinstance(element, Node) for _, element in top_level(tree))
    tasks, findings = read(streamed)
    assert (tasks, findings) == read(tree)
    assert tasks[0]["name"] == "train/a & b \u263a.jpg"
    texts = {a["key"]: a["value"] for a in tasks[0]["annotations"][0]["attributes"]}
    assert texts == {"model": "b", "speed": "5", "parked": True, "split": "fo", "cdata": "<hi> &amp;",
                     "entity": "1 < 2 & 3", "empty": "", "occluded": True, "source": "auto", "z_order": "2"}
    assert tasks[0]["annotations"][0]["points"] == [1, 20, 30.5, 40]
    assert len(tasks) == 1 and len(tasks[0]["annotations"]) == 8  # box, polygon, 3 keypoints, ellipse, mask, tag
    kinds = {kind: count for kind, count, _ in findings}
    assert kinds["CVAT shape with unreadable geometry skipped"] == 3
    assert kinds["second CVAT image of one name, skipped"] == 1
    assert kinds["CVAT frame tag of a video not carried (FastLabel video has no frame tags)"] == 1


@pytest.mark.parametrize("head", [HEAD, HEAD + DTD])
def test_broken_xml_names_the_file_either_way(tmp_path, head):
    path = tmp_path / "broken.xml"
    images = "".join(f'<image name="{n}" width="1" height="1"/>' for n in range(3000))  # past the first read
    path.write_text(head + f'<annotations>{images}<image name="a" width="1" height="1"><box label="x"></image>',
                    encoding="utf-8")
    with pytest.raises(FormatError, match="broken.xml: not valid XML"):
        cvat_tasks(path)


def test_a_file_declaring_entities_is_read_as_an_element_tree(tmp_path):
    path = tmp_path / "entity.xml"
    path.write_text(HEAD + '<!DOCTYPE annotations [<!ENTITY big "car">]>\n<annotations>'
                    '<image name="a" width="1" height="1"><box label="&big;" xtl="0" ytl="0" xbr="1" ybr="1"/>'
                    "</image></annotations>", encoding="utf-8")
    assert [type(element).__name__ for _, element in top_level(path)] == ["_Element"]
    tasks, _ = read(path)  # libxml2 expands an internal entity in an attribute value
    assert [a["value"] for a in tasks[0]["annotations"]] == ["car"]


number_text = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.2f}"),
    st.integers(-2**60, 2**60).map(str),
    st.sampled_from(["-0", "12.00", "1e2", "1E-2", "+5", ".5", "nan", "1e400", "", "x", "[1", "2]", "1],[2"]))
comma_text = st.lists(number_text, max_size=6).map(",".join)


def typed(values: list | None) -> list | None:
    return None if values is None else [(type(v), v, math.copysign(1, v)) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), comma_text), min_size=1, max_size=8))
def test_rows_read_in_one_pass_are_those_read_one_by_one(texts):
    want = [typed(comma_numbers(text)) if text else None for text in texts]
    assert [typed(row) for row in comma_number_rows(texts)] == want
