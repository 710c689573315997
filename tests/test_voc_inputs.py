"""Pascal VOC files from other tools: a datumaro VOC dataset read from its root, parts and actions
both ways, one bad box or file costing that item only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ann, task
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from PIL import Image

from fastlabel_formats import ConversionReport, FormatError, export_pascalvoc, pascalvoc_tasks, to_pascalvoc

DATASET = Path(__file__).parent / "fixtures" / "third_party" / "datumaro_voc_dataset1"
BOX = ("xmin", "ymin", "xmax", "ymax")
VOC_FLAGS = ("truncated", "occluded", "difficult")


def boxes_of(element) -> list[float]:
    return [float(element.findtext(f"bndbox/{key}")) for key in BOX]


def structure(root) -> list[tuple]:
    """Per object, parsed independently: name, box, parts (name, box) and actions."""
    return [(o.findtext("name"), boxes_of(o), [(p.findtext("name"), boxes_of(p)) for p in o.findall("part")],
             {a.tag: a.text for a in o.findall("actions/*")}) for o in root.iter("object")]


def read(folder: Path, **kwargs) -> tuple[list[dict], ConversionReport]:
    report = ConversionReport("pascalvoc import", **kwargs)
    return pascalvoc_tasks(folder, report=report), report


def test_a_voc_dataset_read_from_its_root_names_the_images():
    (image, unannotated), report = read(DATASET)
    assert report.ok
    assert image["name"] == "2007_000001.jpg" and (DATASET / "JPEGImages" / image["name"]).is_file()
    listed = [line for path in sorted((DATASET / "ImageSets/Main").glob("*.txt")) for line in path.read_text().split()]
    assert sorted(listed) == ["2007_000001", "2007_000002"]  # the second has no VOC file: an empty task
    with Image.open(DATASET / "JPEGImages/2007_000002.jpg") as opened:
        assert unannotated == {"name": "2007_000002.jpg", "width": opened.width, "height": opened.height,
                               "annotations": []}
    expected = structure(etree.parse(str(DATASET / "Annotations/2007_000001.xml")).getroot())
    objects = [a for a in image["annotations"] if not any(x["key"] == "part_of" for x in a["attributes"])]
    parts = [a for a in image["annotations"] if any(x["key"] == "part_of" for x in a["attributes"])]
    assert [(a["value"], [float(v) for v in a["points"]]) for a in objects] == [(n, b) for n, b, _, _ in expected]
    assert [(a["value"], [float(v) for v in a["points"]]) for a in parts] == [p for _, _, ps, _ in expected for p in ps]
    person = objects[1]["attributes"]
    assert {a["key"][len("action."):]: str(int(a["value"])) for a in person if a["key"].startswith("action.")} \
        == expected[1][3]


def test_parts_and_actions_come_back_to_voc_inside_their_object(tmp_path):
    image = read(DATASET)[0][0]
    export_pascalvoc([image], tmp_path)
    written = etree.parse(str(tmp_path / "annotations/2007_000001.xml")).getroot()
    original = etree.parse(str(DATASET / "Annotations/2007_000001.xml")).getroot()
    floor = [(n, [float(int(v // 1)) for v in b], [(pn, [float(int(v // 1)) for v in pb]) for pn, pb in ps], acts)
             for n, b, ps, acts in structure(original)]  # VOC boxes are written as whole pixels
    assert structure(written) == floor
    [again], report = read(tmp_path)
    assert again["name"] == "2007_000001.jpg" and report.ok  # read from the export's root: no annotations/ prefix
    def meaning(annotation: dict) -> list[dict]:  # a VOC flag of 0 and no flag say the same
        return [a for a in annotation["attributes"] if a["key"] not in VOC_FLAGS or a["value"]]

    assert [meaning(a) for a in again["annotations"]] == [meaning(a) for a in image["annotations"]]


def test_export_read_back_from_its_root_keeps_the_task_names(tmp_path):
    tasks = [task("sub/dir/a.png", 10, 10, ann("bbox", "x", [1, 1, 5, 5])), task("annotations/b.jpg", 4, 4)]
    export_pascalvoc(tasks, tmp_path)
    assert [t["name"] for t in read(tmp_path)[0]] == ["annotations/b.jpg", "sub/dir/a.png"]


def test_each_part_goes_to_the_object_it_overlaps():
    head = {"key": "part_of", "value": "person", "type": "text"}
    tasks = [task("p.jpg", 100, 100, ann("bbox", "person", [0, 0, 40, 90]), ann("bbox", "person", [50, 0, 90, 90]),
                  ann("bbox", "head", [60, 2, 70, 12], attributes=[head]),
                  ann("bbox", "head", [10, 2, 20, 12], attributes=[head]),
                  ann("bbox", "hand", [0, 0, 3, 3], attributes=[{"key": "part_of", "value": "dog", "type": "text"}]))]
    report = ConversionReport("pascalvoc")
    [(_, text)] = to_pascalvoc(tasks, report=report)
    objects = structure(etree.fromstring(text.encode()))
    assert [(name, [p[1] for p in parts]) for name, _, parts, _ in objects] == [
        ("person", [[10, 2, 20, 12]]), ("person", [[60, 2, 70, 12]]), ("hand", [])]
    [(kind, finding)] = report.findings.items()
    assert "written as an object" in kind and finding.examples == ["tasks: task 'p.jpg' annotation #4 (bbox)"]


def test_action_names_that_cannot_be_elements_are_reported():
    actions = [{"key": "action.jumping", "value": True, "type": "switch"},
               {"key": "action.two words", "value": True, "type": "switch"}]
    report = ConversionReport("pascalvoc")
    [(_, text)] = to_pascalvoc([task("a.jpg", 9, 9, ann("bbox", "person", [1, 1, 5, 5], attributes=actions))],
                               report=report)
    assert structure(etree.fromstring(text.encode()))[0][3] == {"jumping": "1"}
    assert list(report.findings) == ["action whose name cannot be an XML element name, not written"]


OBJECT = "<object><name>{}</name><bndbox><xmin>{}</xmin><ymin>0</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>{}</object>"


def test_one_bad_box_or_file_costs_that_item_only(tmp_path):
    bad_part = "<part><name>head</name><bndbox><xmin>x</xmin></bndbox></part>"
    objects = (OBJECT.format("nan", "nan", "") + OBJECT.format("ok", "1", bad_part)
               + "<object><name>nobox</name></object>" + OBJECT.format("inf", "1e400", ""))
    (tmp_path / "a.xml").write_text(f"<annotation><filename>a.jpg</filename>{objects}</annotation>")
    (tmp_path / "broken.xml").write_text("<annotation><object>")
    (tmp_path / "other.xml").write_text("<project><name>not VOC</name></project>")
    tasks, report = read(tmp_path)
    assert tasks == [{"name": "a.jpg", "width": 0, "height": 0,
                      "annotations": [{"value": "ok", "points": [1, 0, 4, 4], "type": "bbox", "attributes": []}]}]
    places = sorted(place.split(" (")[0] for finding in report.findings.values() for place in finding.examples)
    a = tmp_path / "a.xml"
    assert places == sorted([f"{a} object #0", f"{a} object #1 part #0", f"{a} object #2", f"{a} object #3",
                             str(tmp_path / "broken.xml"), str(tmp_path / "other.xml")])
    with pytest.raises(FormatError, match=r"a.xml object #0: object with a bndbox xmin that is not a finite"):
        read(tmp_path, strict=True)
    (tmp_path / "a.xml").unlink()
    with pytest.raises(FormatError, match="no Pascal VOC file found"):
        read(tmp_path)


def test_a_second_file_of_one_image_is_reported(tmp_path):
    shutil.copytree(DATASET / "Annotations", tmp_path / "Annotations")
    shutil.copy(DATASET / "Annotations/2007_000001.xml", tmp_path / "2007_000001.xml")
    shutil.copytree(DATASET / "ImageSets", tmp_path / "ImageSets")
    (tmp_path / "ImageSets/Main/val.txt").write_text("# a comment\n\n../../etc/passwd\ngone\n")
    tasks, report = read(tmp_path)
    assert [t["name"] for t in tasks] == ["2007_000001.jpg"]
    assert [f.examples for f in report.findings.values()] == [
        [f"{tmp_path / 'Annotations/2007_000001.xml'} (image '2007_000001.jpg')"],
        [f"{tmp_path / 'ImageSets/Main/test.txt'} line 1", f"{tmp_path / 'ImageSets/Main/val.txt'} line 3",
         f"{tmp_path / 'ImageSets/Main/val.txt'} line 4"]]  # listed, but no VOC file and no image


action_names = st.lists(st.sampled_from(["jumping", "phoning", "reading", "walking"]), unique=True, max_size=3)
objects = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), action_names, st.booleans(),
                             st.integers(0, 2)), max_size=4)


@settings(max_examples=30, deadline=None)
@given(objects)
def test_parts_and_actions_round_trip_through_voc_files(tmp_path_factory, drawn):
    folder = tmp_path_factory.mktemp("voc_parts")
    annotations = []
    for number, (x, y, actions, value, parts) in enumerate(drawn):
        owner = f"c{number % 2}"  # two objects may share a class: each part still finds its own
        annotations.append(ann("bbox", owner, [x * 10, y * 10, x * 10 + 8, y * 10 + 8], attributes=[
            {"key": f"action.{name}", "value": value, "type": "switch"} for name in actions]))
        annotations += [ann("bbox", f"part{p}", [x * 10 + p, y * 10 + p, x * 10 + p + 2, y * 10 + p + 2],
                            attributes=[{"key": "part_of", "value": owner, "type": "text"}]) for p in range(parts)]
    export_pascalvoc([task("t.jpg", 700, 700, *annotations)], folder)
    [back] = pascalvoc_tasks(folder)
    assert [(a["value"], a["points"], [x for x in a["attributes"] if x["key"] not in VOC_FLAGS])
            for a in back["annotations"]] == [(a["value"], a["points"], a["attributes"]) for a in annotations]


def test_a_pose_other_than_unspecified_is_kept(tmp_path):
    (tmp_path / "a.xml").write_text("<annotation><filename>a.jpg</filename>" + OBJECT.format("cat", "1", "").replace(
        "<bndbox>", "<pose>Left</pose><bndbox>") + "</annotation>")
    [a], report = read(tmp_path)
    assert a["annotations"][0]["attributes"] == [{"key": "pose", "value": "Left", "type": "text"}] and report.ok
    [(_, text)] = to_pascalvoc([{**a, "width": 8, "height": 8}])
    assert [o.findtext("pose") for o in etree.fromstring(text.encode()).iter("object")] == ["Left"]
