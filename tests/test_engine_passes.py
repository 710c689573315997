"""The engine's fast paths held against the paths they replace: the frames of a block and the chunks
of image tasks (one frame each, cut without a frame per task made and copied), the census of a block
(the values of a task read in bulk)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fastlabel_formats import table as table_module
from fastlabel_formats.categories import Census
from fastlabel_formats.run import FrameMaker, stream_chunks


def _image_tasks(counts: list[int]) -> list[dict]:
    return [{"name": f"d{number % 3}/img{number}.jpg", "width": 40 + number, "height": 30,
             "annotations": [{"type": "bbox", "value": "cat", "points": [1, 1, 5, 5]}] * count}
            for number, count in enumerate(counts)]


def _chunks(chunks) -> list[tuple]:
    return [(chunk.source, [id(task) for task in chunk.tasks], chunk.frames, chunk.first_frame) for chunk in chunks]


@given(counts=st.lists(st.integers(0, 7), max_size=30), rows=st.integers(1, 12),
       images=st.one_of(st.none(), st.integers(1, 5)), first_frame=st.integers(0, 9))
def test_image_chunks_are_those_of_the_general_path(counts, rows, images, first_frame):
    tasks = _image_tasks(counts)
    maker = FrameMaker("tasks.json")
    saved, table_module.CHUNK_ROWS = table_module.CHUNK_ROWS, rows
    try:
        fast = _chunks(stream_chunks("tasks.json", tasks, maker, images, first_frame))
        general = _chunks(stream_chunks("tasks.json", tasks, lambda task: maker(task), images, first_frame))
    finally:
        table_module.CHUNK_ROWS = saved
    assert fast == general
    assert sum(len(chunk[1]) for chunk in fast) == len(tasks)


def _video_task(number: int, frames: int) -> dict:
    points = {str(key): {"value": [1, 1, 4, 4]} for key in range(1, frames + 1)}
    return {"name": f"clip{number}.mp4", "width": 64, "height": 48, "frameCount": frames,
            "annotations": [{"type": "bbox", "value": "cat", "points": points}]}


@pytest.mark.parametrize("project_type", ["image_bbox", "video_bbox"])
def test_the_frames_of_a_block_are_those_of_its_tasks_one_by_one(project_type):
    if project_type == "image_bbox":
        tasks = _image_tasks([2, 0, 3])
        maker = FrameMaker("tasks.json", project_type)
    else:
        tasks = [_video_task(number, frames) for number, frames in enumerate([2, 1, 3])]
        maker = FrameMaker("tasks.json", project_type, frame_counts={t["name"]: t["frameCount"] for t in tasks})
    one_by_one = [replace(frame, task=position) for position, task in enumerate(tasks) for frame in maker(task)]
    assert maker.of_tasks(tasks) == one_by_one
    assert len(one_by_one) == (3 if project_type == "image_bbox" else 6)


class _EveryAnnotation(Census):
    """The census that reads every annotation one by one (the path the bulk reads skip)."""

    def add(self, task: dict) -> None:
        self.tasks += 1
        self._add_each(task.get("annotations", ()))


_VALUES = st.one_of(st.sampled_from(["cat", "dog"]), st.sampled_from(["cat", "dog", "bird", ""]),
                    st.integers(-2, 2), st.booleans(), st.none(),
                    st.floats(allow_nan=True), st.lists(st.integers(), max_size=2))
_ANNOTATIONS = st.fixed_dictionaries(
    {"type": st.sampled_from(["bbox", "polygon", "text", "classification", "pose_estimation"]), "value": _VALUES},
    optional={"color": st.sampled_from(["#111111", "#222222"]),
              "keypoints": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["nose", "eye", "ear"]),
                                                            "value": st.just([1, 2, 2])}), max_size=2)})


def _seen(census: Census) -> tuple:
    return (census.tasks, list(census.first_color.items()), sorted(map(repr, census.values)),
            repr(census.keypoints))


_NOSE = {"key": "nose", "value": [1, 2, 2]}


@given(st.lists(st.lists(_ANNOTATIONS, max_size=5), max_size=8), st.integers(0, 8))
@example([[{"type": "bbox", "value": "cat"}], [{"type": "pose_estimation", "value": "cat", "keypoints": [_NOSE]}]], 0)
def test_a_census_is_that_of_every_annotation_read(per_task, cut):
    tasks = [{"name": f"t{number}", "annotations": annotations} for number, annotations in enumerate(per_task)]
    census, expected = Census(), _EveryAnnotation()
    census.add_all(tasks[:cut])
    for task in tasks[cut:]:
        census.add(task)
    expected.add_all(tasks)
    assert _seen(census) == _seen(expected)
