"""DOTA label files read together: every object line lands in its own file's task, in line order,
and every line that is not one is reported at its file and line, whatever mix of files (headers,
lines without the difficult flag, unreadable coordinates, empty files, nested folders) is read."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats import ConversionReport
from fastlabel_formats.formats.dota import BAD_LINE, dota_tasks

LINES = {  # kind -> (line text, what is read: (class, difficult) or None for a reported line)
    "flagged": ("10 20 30 20 30 40 10 40 plane 1", ("plane", True)),
    "plain": ("0 0 4 0 4 2 0 2 ship 0", ("ship", False)),
    "unflagged": ("1.5 1 5 1 5 3 1.5 3 car", ("car", None)),
    "letters": ("a b c d e f g h car 0", None),  # coordinates that are not numbers: reported
    "nan": ("1 2 3 4 5 6 7 nan car 1", None),
    "garbage": ("not a line", None),
    "flag 2": ("1 1 5 1 5 3 1 3 car 2", None),
    "blank": ("", "skip"),  # neither read nor reported
}
files = st.lists(st.lists(st.sampled_from(sorted(LINES)), max_size=6), min_size=1, max_size=5)


def write(root: Path, contents: list[list[str]], header: bool) -> list[Path]:
    paths = []
    for number, kinds in enumerate(contents):
        path = root / "labelTxt" / ("nested/" if number % 2 else "") / f"p{number}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        head = ["imagesource:GoogleEarth", "gsd:0.5"] if header and number == 0 else []
        path.write_text("\n".join(head + [LINES[kind][0] for kind in kinds]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def flags(annotation: dict) -> bool | None:
    return annotation["attributes"][0]["value"] if annotation["attributes"] else None


@settings(max_examples=40, deadline=None)
@given(files, st.booleans())
def test_each_object_line_lands_in_its_file_and_each_other_line_is_reported(contents, header):
    with tempfile.TemporaryDirectory() as folder:
        paths = write(Path(folder), contents, header)
        report = ConversionReport("dota import")
        tasks = dota_tasks(folder, report=report)
        by_name = {task["name"]: task for task in tasks}
        bad_places = []
        for path, kinds in zip(paths, contents):
            name = path.relative_to(Path(folder) / "labelTxt").with_suffix(".png").as_posix()
            read = [(a["value"], flags(a)) for a in by_name[name]["annotations"]]
            assert read == [LINES[kind][1] for kind in kinds if LINES[kind][1] not in (None, "skip")]
            first = 3 if header and path.stem == "p0" else 1
            bad_places += [f"{path} line {line}" for line, kind in enumerate(kinds, first) if LINES[kind][1] is None]
        finding = report.findings.get(BAD_LINE)
        assert (finding.count if finding else 0) == len(bad_places)
        assert set(finding.examples if finding else []) <= set(bad_places)
        assert len(tasks) == len(paths)
        assert ("metadatas" in by_name["p0.png"]) is (header and True)
