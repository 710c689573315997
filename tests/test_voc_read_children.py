"""The VOC reader reads each element's children in one pass: what it makes of any ``<object>`` is
what lxml's ``find`` / ``findtext`` / ``findall`` give field by field (the first child of a tag, its
text, every ``<part>`` and every action), for odd documents too: fields missing, repeated, empty or
out of order, comments and entities among them, parts and actions with broken boxes."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from fastlabel_formats import pascalvoc_import
from fastlabel_formats.report import ConversionReport

NUMBERS = st.sampled_from(["10", " 12 ", "3.5", "1e3", "nan", "inf", "1e400", "", "x", "-0", "7.0"])
WORDS = st.sampled_from(["", " ", "dog", " cat ", "Unspecified", "0", "1", " 1 ", "2"])


def _element(tag: str, text: str | None) -> str:
    return f"<{tag}/>" if text is None else f"<{tag}>{text}</{tag}>"


GOOD_NUMBERS = st.sampled_from(["10", " 12 ", "3.5", "1e3", "-0", "7.0"])


@st.composite
def boxes(draw) -> str:
    """Mostly a usable box (its four keys in any order), sometimes with a key repeated, missing or odd."""
    keys = draw(st.permutations(["xmin", "ymin", "xmax", "ymax"]))
    keys = keys + draw(st.lists(st.sampled_from(["xmin", "ymin", "xmax", "ymax", "other"]), max_size=2))
    if draw(st.booleans()):
        keys = keys[1:]
    values = [draw(st.one_of(GOOD_NUMBERS, GOOD_NUMBERS, st.none(), NUMBERS)) for _ in keys]
    return "<bndbox>" + "".join(map(_element, keys, values)) + "</bndbox>"


@st.composite
def children(draw, tags: list[str]) -> str:
    out = []
    for tag in draw(st.lists(st.sampled_from(tags), max_size=9)):
        if tag == "bndbox":
            out.append(draw(boxes()))
        elif tag == "part":
            out.append("<part><name>head</name>" + draw(boxes()) + draw(children(["name", "bndbox", "#comment"]))
                       + "</part>")
        elif tag == "actions":
            out.append("<actions>" + "".join(_element(a, draw(st.one_of(st.none(), WORDS))) for a in
                                             draw(st.lists(st.sampled_from(["jumping", "phoning"]), max_size=3)))
                       + "<!-- c --></actions>")
        elif tag == "#comment":
            out.append("<!-- a comment -->")
        elif tag == "#entity":
            out.append("&known;")  # declared, not expanded: an entity node among the children
        else:
            out.append(_element(tag, draw(st.one_of(st.none(), WORDS))))
    return "".join(out)


OBJECT_TAGS = ["name", "pose", "truncated", "occluded", "difficult", "bndbox", "part", "actions", "#comment",
               "#entity"]
# every object starts with a name and a box (most are read), then any children, repeated or not
objects = st.lists(st.tuples(st.sampled_from(["dog", " cat ", ""]), boxes(), children(OBJECT_TAGS)).map(
    lambda parts: f"<name>{parts[0]}</name>{parts[1]}{parts[2]}"), min_size=1, max_size=4)


def _found_box(box) -> list | None:
    """The box as findtext reads it, field by field."""
    if box is None:
        return None
    values = []
    for key in ("xmin", "ymin", "xmax", "ymax"):
        try:
            value = float(box.findtext(key))
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        values.append(int(value) if value.is_integer() else value)
    return values


def _found_objects(root) -> list[dict]:
    """What each object holds, read with find / findtext / findall, one search per field."""
    out = []
    for element in root.iter("object"):
        name, box = (element.findtext("name") or "").strip(), _found_box(element.find("bndbox"))
        if not name or box is None:
            continue
        attributes = [{"key": flag, "value": (element.findtext(flag) or "0").strip() == "1", "type": "switch"}
                      for flag in ("truncated", "occluded", "difficult") if element.find(flag) is not None]
        pose = (element.findtext("pose") or "").strip()
        if pose and pose != "Unspecified":
            attributes.append({"key": "pose", "value": pose, "type": "text"})
        attributes += [{"key": f"action.{a.tag}", "value": (a.text or "0").strip() == "1", "type": "switch"}
                       for a in element.findall("actions/*") if isinstance(a.tag, str)]
        out.append({"value": name, "points": box, "type": "bbox", "attributes": attributes})
        for part in element.findall("part"):
            part_name, part_box = (part.findtext("name") or "").strip(), _found_box(part.find("bndbox"))
            if part_name and part_box is not None:
                out.append({"value": part_name, "points": part_box, "type": "bbox",
                            "attributes": [{"key": "part_of", "value": name, "type": "text"}]})
    return out


@settings(max_examples=300, deadline=None)
@given(objects)
def test_objects_read_in_one_pass_are_what_find_gives(bodies):
    document = ('<!DOCTYPE annotation [<!ENTITY known "x">]><annotation><filename>a.jpg</filename>'
                + "".join(f"<object>{body}</object>" for body in bodies) + "</annotation>")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(document.encode(), parser)
    report = ConversionReport("pascalvoc import")
    read = pascalvoc_import.voc_objects(root, "a.xml", report)
    assert read == _found_objects(root)
    assert [[type(v) for v in a["points"]] for a in read] == [[type(v) for v in a["points"]]
                                                              for a in _found_objects(root)]
    skipped = sum(f.count for f in report.findings.values())
    assert skipped == len(root.findall("object")) + len(root.findall("object/part")) - len(read) \
        - _parts_of_skipped(root)


def _parts_of_skipped(root) -> int:
    """Parts not read because their object was skipped (reported with the object, not one by one)."""
    return sum(len(element.findall("part")) for element in root.iter("object")
               if not (element.findtext("name") or "").strip() or _found_box(element.find("bndbox")) is None)


def test_the_reader_vouches_for_its_tasks(tmp_path):
    from fastlabel_formats.table_readers import collecting

    (tmp_path / "a.xml").write_text("<annotation><filename>a.jpg</filename><object><name>dog</name>"
                                    "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox>"
                                    "</object></annotation>")
    with collecting() as vouched:
        tasks = pascalvoc_import.pascalvoc_tasks(tmp_path)
    [(listed, flags, *_)] = vouched
    assert listed == tasks and flags == [True]
    assert tasks[0]["annotations"][0]["points"] == [1, 2, 3, 4]
