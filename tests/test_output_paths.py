"""A chunk's output paths made in one call are the paths ``Target.output`` makes one by one, with
the same refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlabel_formats.errors import FormatError
from fastlabel_formats.files import output_paths
from fastlabel_formats.run import Target

parts = st.sampled_from(["a", "b.txt", ".", "..", "", ".hidden", "x y", "é", "c\\d", "e:f"])
names = st.lists(parts, min_size=1, max_size=4).map("/".join)


def one_by_one(root: object, name: str, folder: str) -> str:
    try:
        return str(Target(root).output(name, "place", folder))
    except FormatError as error:
        return f"refused: {error}"


def at_once(root: object, name: str, folder: str) -> str:
    try:
        return str(output_paths(Target(root).output_dir, [name], "place", folder)[0])
    except FormatError as error:
        return f"refused: {error}"


@settings(max_examples=300, deadline=None)
@given(names, st.sampled_from(["", "labels", "labels/train"]), st.sampled_from(["/tmp/out-paths", "out/rel", "."]))
def test_paths_are_those_made_one_by_one(name, folder, root):
    assert at_once(root, name, folder) == one_by_one(root, name, folder)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path, tmp_path / "out" / "link")
    with pytest.raises(FormatError, match="leads outside the output folder"):
        output_paths(Path(tmp_path / "out"), ["fine.txt", "link/escape.txt"], "tasks.json")
    assert output_paths(Path(tmp_path / "out"), ["fine.txt"], "tasks.json") == [f"{tmp_path}/out/fine.txt"]
