"""A report's file list stays small as the project grows and behaves as the list of paths it was."""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fastlabel_formats.report import ConversionReport, FileList

PART = st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1,
               max_size=6) | st.sampled_from(["a\udcff", "ü", "x.txt"])  # undecodable file names too
ENTRY = st.one_of(
    st.lists(PART, min_size=1, max_size=4).map(lambda parts: Path("/".join(parts))),
    st.lists(PART, min_size=1, max_size=4).map(lambda parts: Path("/" + "/".join(parts))),
    st.lists(PART, min_size=2, max_size=4).map(lambda parts: "s3://" + "/".join(parts)),
)


@given(st.lists(ENTRY, max_size=20))
def test_entries_come_back_as_they_were_added(entries):
    files = FileList(entries)
    assert list(files) == entries and files == entries and len(files) == len(entries)
    assert [type(entry) for entry in files] == [type(entry) for entry in entries]
    assert pickle.loads(pickle.dumps(files)) == entries
    if entries:
        assert files[-1] == entries[-1] and files[1:3] == entries[1:3]


@given(st.lists(ENTRY, max_size=20))
def test_written_paths_come_back_as_paths_and_urls_as_text(entries):
    files = FileList()
    files.extend_written(str(entry) for entry in entries)
    assert files == entries and [type(entry) for entry in files] == [type(entry) for entry in entries]


@given(st.lists(ENTRY, min_size=1, max_size=8), ENTRY, st.data())
def test_it_changes_as_a_list_does(entries, extra, data):
    files, expected = FileList(entries), list(entries)
    index = data.draw(st.integers(0, len(entries) - 1))
    files[index] = extra
    expected[index] = extra
    files.insert(index, extra)
    expected.insert(index, extra)
    del files[0]
    del expected[0]
    files.append(extra)
    expected.append(extra)
    files[:] = files[::-1]
    expected[:] = expected[::-1]
    assert files == expected


def test_a_report_counts_its_files_and_keeps_them_compact():
    report = ConversionReport("yolo", files=[Path("/out/yolo/classes.txt")])
    assert isinstance(report.files, FileList) and report.files == [Path("/out/yolo/classes.txt")]

    def written(count: int):  # as a run reports them: a Path made for each file written
        return (Path(f"/data/exports/project/yolo/annotations/{n // 1000}/img_{n:07d}.txt") for n in range(count))

    names = list(written(50_000))  # made once before: pathlib interns the parts of every name it parses
    tracemalloc.start()
    try:
        report.files.extend(written(50_000))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held / 50_000 < 40  # a list would keep each Path: about 400 bytes a file
    assert report.summary().startswith("yolo: 50001 file(s) written, nothing dropped")
    assert report.files[12_345] == names[12_344] and sorted(report.files)[0] == names[0]
    assert "50,001 files" in repr(report.files)
