"""FastLabel -> Pascal VOC: the exact text of formats-spec.md §3, and D13/D14."""

from __future__ import annotations

import pytest
from conftest import ann, task
from lxml import etree

from fastlabel_formats import ConversionReport, FormatError, export_pascalvoc, to_pascalvoc

SPEC_DOCUMENT = """<annotation>
    <filename>dir/x.y.png</filename>
    <size>
        <width>100</width>
        <height>50</height>
        <depth>3</depth>
    </size>
    <segmented>0</segmented>
    <object>
        <name>c&amp;t &lt;1&gt;</name>
        <pose>Unspecified</pose>
        <truncated>1</truncated>
        <occluded>0</occluded>
        <difficult>0</difficult>
        <bndbox>
            <xmin>10</xmin>
            <ymin>10</ymin>
            <xmax>39</xmax>
            <ymax>29</ymax>
        </bndbox>
    </object>
</annotation>"""

SWITCHES = [{"key": "truncated", "type": "switch", "value": True},
            {"key": "occluded", "type": "text", "value": 1},
            {"key": "truncated", "type": "switch", "value": False}]


def test_spec_document_text(tmp_path, frozen):
    tasks = frozen([task("dir/x.y.png", 100, 50, ann("bbox", "c&t <1>", [10, 10, 39, 29], attributes=SWITCHES))])
    report = export_pascalvoc(tasks, tmp_path)
    path = tmp_path / "annotations/dir/x.y.xml"
    assert report.files == [path]
    assert path.read_text(encoding="utf-8") == SPEC_DOCUMENT


def lxml_serialised(text: str) -> str:
    root = etree.fromstring(text.encode())
    etree.indent(root, space="    ")
    return etree.tostring(root, encoding="unicode")


def test_documents_equal_lxml_serialisation_of_their_own_tree():
    tasks = [task("ü/ö & <x>.jpg", 7, 9, ann("bbox", "é\"'>", [1, 2, 5, 7], attributes=SWITCHES),
                  ann("polygon", "p", [1, 1, 4, 1.5, 2, 6])), task("none.jpg", 0, 0)]
    for _, text in to_pascalvoc(tasks):
        assert text == lxml_serialised(text)


def test_no_objects_ends_after_segmented():
    [(_, text)] = to_pascalvoc([task("e.jpg", 0, 0, ann("keypoint", "k", [1, 1]))])
    assert text.endswith("    <segmented>0</segmented>\n</annotation>")
    assert "<width>0</width>" in text


def test_bndbox_floor_of_max_d13_negative_kept_and_no_attributes_d14():
    [(_, text)] = to_pascalvoc([task("n.jpg", 10, 10, ann("bbox", "a", [-0.1, 0, 4, 5]),
                                     ann("polygon", "b", [-1.5, 2.5, 3.7, 2.5, 3.7, 8.2]))])
    root = etree.fromstring(text.encode())
    boxes = [[int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")] for o in root.iter("object")]
    assert boxes == [[-1, 0, 4, 5], [-2, 2, 3, 8]]
    assert [o.findtext("truncated") for o in root.iter("object")] == ["0", "0"]


def test_segmentation_degenerate_and_rotation_are_reported():
    report = ConversionReport("pascalvoc")
    [(_, text)] = to_pascalvoc([task("s.jpg", 10, 10, ann("segmentation", "s", [[[0, 0, 2, 0, 2, 2, 0, 0]]]),
                                     ann("bbox", "d", [1, 1, 1.5, 5]), ann("bbox", "r", [1, 1, 5, 5], rotation=10))],
                               report=report)
    assert text.count("<object>") == 1
    assert set(report.findings) == {"segmentation annotation not representable in pascalvoc",
                                    "degenerate bbox (zero width or height in whole pixels) skipped",
                                    "bbox rotation dropped (VOC boxes are axis-aligned)"}


def test_characters_xml_cannot_hold_are_an_error():
    with pytest.raises(FormatError, match=r"task 'c.jpg' annotation #0 \(bbox\).*XML"):
        to_pascalvoc([task("c.jpg", 10, 10, ann("bbox", "bad\x01name", [0, 0, 5, 5]))])
