"""Frames of video tasks: decoding local video files to JPEGs, or naming frames from counts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from .errors import FormatError, where
from .files import output_path, write_atomic
from .tasks import Frame, image_frames, is_video


def frame_stem(task_name: str) -> str:
    """``dir/long.name.mp4`` -> ``long.name``."""
    return PurePosixPath(task_name.replace("\\", "/")).stem


def frame_file_names(task_name: str, count: int, container_count: int | None = None) -> list[str]:
    """``<stem>_<j zero-padded>.jpg`` for j = 0..count-1, padded to the container's digit count."""
    digits = len(str(container_count if container_count is not None else count))
    stem = frame_stem(task_name)
    return [f"{stem}_{str(j).zfill(digits)}.jpg" for j in range(count)]


def video_path(task_name: str, videos: object) -> Path | None:
    """The local video file of a task: from a ``{task name: path}`` mapping or a folder."""
    if videos is None:
        return None
    if isinstance(videos, Mapping):
        found = videos.get(task_name)
        return None if found is None else Path(found)
    folder = Path(videos)
    for candidate in (folder / task_name, folder / PurePosixPath(task_name).name):
        if candidate.is_file():
            return candidate
    return None


def decode_frames(task_name: str, path: Path, images_dirs: list[Path]) -> list[str]:
    """Decode every frame of ``path``; write them as JPEG under each of ``images_dirs``."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise FormatError(f"{path}: video of task {task_name!r} could not be opened")
        container_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        digits = len(str(container_count))
        stem, names = frame_stem(task_name), []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            name = f"{stem}_{str(len(names)).zfill(digits)}.jpg"
            if images_dirs:
                encoded_ok, encoded = cv2.imencode(".jpg", image)
                if not encoded_ok:
                    raise FormatError(f"{path}: frame {len(names)} could not be encoded as JPEG")
                for images_dir in images_dirs:
                    write_atomic(output_path(images_dir, name, where(str(path), task_name)), encoded.tobytes())
            names.append(name)
        return names
    finally:
        capture.release()


def project_frames(
    tasks: list[dict],
    source: str,
    project_type: object,
    *,
    videos: object = None,
    frame_counts: Mapping[str, int] | None = None,
    images_dirs: Sequence[str | os.PathLike[str]] = (),
) -> list[Frame]:
    """The output images: one per image task, or one per frame of each video task (decoded frames
    written as JPEG into each of ``images_dirs``)."""
    if not is_video(project_type):
        return image_frames(tasks)
    frames = []
    for task_index, task in enumerate(tasks):
        name = task["name"]
        path = video_path(name, videos)
        if path is not None:
            names = decode_frames(name, path, [Path(d) for d in images_dirs])
        elif frame_counts is not None and name in frame_counts:
            names = frame_file_names(name, int(frame_counts[name]))
        elif type(task.get("frameCount")) is int and task["frameCount"] >= 0:  # as MOT and CVAT video give it
            names = frame_file_names(name, task["frameCount"])
        else:
            raise FormatError(
                f"{where(source, name)}: video project needs the task's video file "
                "(videos=folder or {name: path}), its frame count (frame_counts={name: n}) or a 'frameCount'"
            )
        width, height = task.get("width", 0), task.get("height", 0)
        frames += [Frame(n, width, height, task_index, str(j + 1), name) for j, n in enumerate(names)]
    return frames
