"""Numbers too large for the formats' whole-number fields: never written wrapped round (a VOC bound of
2**63 or more is skipped and reported), never a traceback (a VOC box of 1e20 is read as a float; a
labelme coordinate computed beyond 64 bits is written exactly; an image flag that is not text is
written as text)."""

from __future__ import annotations

import orjson

import fastlabel_formats as ff
from fastlabel_formats import pascalvoc_import


def _task(*annotations: dict) -> list[dict]:
    return [{"name": "a.jpg", "width": 10, "height": 10, "annotations": list(annotations)}]


def test_a_voc_bound_beyond_64_bits_is_reported_not_wrapped_round(tmp_path):
    report = ff.export_pascalvoc(_task({"type": "bbox", "value": "far", "points": [0, 0, 1e19, 5]},
                                       {"type": "bbox", "value": "near", "points": [1, 2, 3, 4]}), tmp_path / "voc")
    [document] = (tmp_path / "voc").rglob("*.xml")
    text = document.read_text()
    assert "<name>near</name>" in text and "far" not in text and "-9223372036854775808" not in text
    assert report.findings["bbox with a coordinate at or beyond ±2**63 (no whole number VOC tools read), not written"
                           ].count == 1


def test_a_voc_box_of_1e20_is_read_as_a_float_and_converts(tmp_path):
    (tmp_path / "a.xml").write_text("<annotation><filename>a.jpg</filename><object><name>far</name><bndbox>"
                                    "<xmin>1</xmin><ymin>2</ymin><xmax>1e20</xmax><ymax>4</ymax></bndbox></object>"
                                    "</annotation>")
    [task] = pascalvoc_import.pascalvoc_tasks(tmp_path)
    assert task["annotations"][0]["points"] == [1, 2, 1e20, 4]
    assert type(task["annotations"][0]["points"][2]) is float
    ff.export_coco([task], tmp_path / "coco")  # no integer beyond 64 bits reaches the JSON writer
    [record] = orjson.loads((tmp_path / "coco" / "annotations.json").read_bytes())["annotations"]
    assert record["bbox"][2] == 1e20 - 1


def test_labelme_writes_huge_coordinates_exactly_and_flags_as_text(tmp_path):
    report = ff.export_labelme(_task({"type": "circle", "value": "c", "points": [1, 1, 2**64 - 1]},
                                     {"type": "classification", "value": 5}), tmp_path / "labelme")
    assert report.findings["classification whose value is not text written as the image flag of its text"
                           ].count == 1
    document = orjson.loads((tmp_path / "labelme" / "a.json").read_bytes().replace(b"18446744073709551616", b"0"))
    assert document["flags"] == {"5": True}
    assert b"[18446744073709551616,1]" in (tmp_path / "labelme" / "a.json").read_bytes()


def test_a_voc_bound_of_minus_2_63_is_reported_too(tmp_path):
    report = ff.export_pascalvoc(_task({"type": "bbox", "value": "far", "points": [-2**63 - 1, 0, 5, 5]}),
                                 tmp_path / "voc")
    assert "-9223372036854775808" not in next((tmp_path / "voc").rglob("*.xml")).read_text()
    assert sum(f.count for f in report.findings.values()) == 1


def test_coco_numbers_beyond_64_bits_are_written_exactly(tmp_path):
    """msgspec reads an integer wider than 64 bits as a Python int: the COCO and FastLabel writers write
    it exactly (orjson takes no such integer) instead of raising."""
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
            "categories": [{"id": 1, "name": "c"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2**64, 10],
                             "attributes": {"n": 2**70}}]}
    path = tmp_path / "coco.json"
    path.write_text(__import__("json").dumps(coco))
    from fastlabel_formats import convert

    for target in ("coco", "fastlabel"):
        convert.write_tasks(convert.read_tables(path, "coco"), target, tmp_path / target, progress=False)
    written = (tmp_path / "coco" / "annotations.json").read_text()
    assert '"attributes":{"n":1180591620717411303424}' in written
    assert "18446744073709551616" in (tmp_path / "fastlabel" / "tasks.json").read_text()
