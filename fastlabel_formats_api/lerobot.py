"""LeRobot v3 datasets into FastLabel robotics projects (``Client.import_lerobot``): one robotics
task per episode, with a zip of the episode's telemetry (``<episode>.json``) and each camera's
segment of its consolidated video (``<camera>.mp4``). :class:`LeRobotConverter` carries the
official SDK's hooks, so a subclass written for ``fastlabel`` works here unchanged.

The v3 layout: ``meta/info.json`` (features, fps), ``meta/episodes/chunk-*/file-*.parquet`` (per
episode its data file, length and, per camera, its video file and time span),
``data/chunk-*/file-*.parquet`` (one row per frame) and ``videos/<camera>/chunk-*/file-*.mp4``.
Parquet is read with pyarrow (``pip install 'fastlabel-formats[robotics]'``).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from .exceptions import FastLabelInvalidException

logger = logging.getLogger(__name__)
Frame = dict[str, Any]


class Camera(NamedTuple):
    """A camera of the dataset: its video folder, its feature key (``observation.images.top``) and
    the name of its video in the zip (``images_top``)."""

    path: Path
    key: str
    content_name: str


class LeRobotConverter:
    """What ``import_lerobot`` keeps, by hooks to override (the official SDK's, same names):
    ``OBSERVATION_STATE_NAMES`` / ``ACTION_NAMES`` / ``CAMERA_KEYS`` or ``select_*`` choose values
    and cameras by name, ``build_telemetry_frame`` writes one frame of the episode JSON,
    ``build_task_kwargs`` the task's arguments, ``select_episodes`` and ``build_episode_name`` the
    episodes and their names. Made by ``import_lerobot`` from ``meta/info.json``; a dataset whose
    ``observation.state`` or ``action`` names are not there is refused before any episode."""

    OBSERVATION_STATE_NAMES: ClassVar[tuple[str, ...] | None] = None
    ACTION_NAMES: ClassVar[tuple[str, ...] | None] = None
    CAMERA_KEYS: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.meta = meta or {}
        self._state_index = self._positions("observation.state", self.select_observation_state_names)
        self._action_index = self._positions("action", self.select_action_names)

    def select_observation_state_names(self, names: list[str]) -> list[str]:
        """The ``observation.state`` names to keep (default: the class's list, else all)."""
        return list(self.OBSERVATION_STATE_NAMES) if self.OBSERVATION_STATE_NAMES else names

    def select_action_names(self, names: list[str]) -> list[str]:
        """The ``action`` names to keep (default: the class's list, else all)."""
        return list(self.ACTION_NAMES) if self.ACTION_NAMES else names

    def _positions(self, key: str, select: Callable[[list[str]], list[str]]) -> list[int]:
        try:
            names = self.meta["features"][key]["names"]
        except (KeyError, TypeError):
            raise FastLabelInvalidException(f"'{key}.names' not found in meta/info.json.", 422) from None
        position = {name: number for number, name in enumerate(names)}
        missing = [name for name in select(names) if name not in position]
        if missing:
            raise FastLabelInvalidException(f"'{missing[0]}' not found in '{key}.names'.", 422)
        return [position[name] for name in select(names)]

    def build_observation_state(self, frame: Frame) -> list[Any]:
        return self._values(frame, "observation.state", self._state_index)

    def build_action(self, frame: Frame) -> list[Any]:
        return self._values(frame, "action", self._action_index)

    @staticmethod
    def _values(frame: Frame, key: str, index: list[int]) -> list[Any]:
        """The kept values of one column; a missing column or too few values abort the import."""
        if key not in frame:
            raise KeyError(f"'{key}' is declared in meta/info.json but missing from the episode data "
                           f"(columns: {sorted(frame)}).")
        values = frame[key]
        if index and max(index) >= len(values):
            raise IndexError(f"'{key}' has {len(values)} values in the episode data but meta/info.json "
                             f"declares at least {max(index) + 1} names.")
        return [values[i] for i in index]

    def build_telemetry_frame(self, frame: Frame) -> dict[str, Any]:
        """One frame of the episode JSON (call ``super()`` to add items)."""
        return {"observation.state": self.build_observation_state(frame), "action": self.build_action(frame),
                "frame_index": int(frame["frame_index"]), "timestamp": float(frame["timestamp"])}

    def select_cameras(self, cameras: list[Camera]) -> list[Camera]:
        """The cameras whose videos go in the zip (default: all; ``CAMERA_KEYS``: by key suffix)."""
        if self.CAMERA_KEYS is None:
            return cameras
        return [camera for camera in cameras if camera.key.split(".")[-1] in self.CAMERA_KEYS]

    def build_task_kwargs(self, *, episode_index: int, episode_name: str, frames: list[Frame]) -> dict[str, Any]:
        """Keyword arguments of ``create_robotics_task`` (e.g. tags, metadatas)."""
        return {}

    def select_episodes(self, episode_lengths: dict[int, int]) -> list[int]:
        """The episodes to import when none are named (default: all, by index)."""
        return sorted(episode_lengths)

    def build_episode_name(self, episode_index: int) -> str:
        """The task, JSON and zip name of an episode."""
        return f"episode_{episode_index:06d}"


def load_info(root: Path) -> dict[str, Any]:
    """``meta/info.json`` (``{}`` when absent)."""
    path = root / "meta" / "info.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _parquet():
    try:
        import pyarrow.parquet
    except ImportError:
        raise FastLabelInvalidException("pyarrow is required for LeRobot datasets: "
                                        "pip install 'fastlabel-formats[robotics]'", 422) from None
    return pyarrow.parquet


def check_v3(root: Path) -> None:
    """FastLabelInvalidException unless ``root`` is a LeRobot v3 dataset (v2 is named as such)."""
    data = root / "data"
    if not data.is_dir():
        raise FastLabelInvalidException(f"Data directory not found: {data}", 422)
    stems = [file.stem for chunk in sorted(data.glob("chunk-*")) if chunk.is_dir() for file in chunk.glob("*.parquet")]
    if any(stem.startswith("file-") for stem in stems):
        return
    if any(stem.startswith("episode_") for stem in stems):
        raise FastLabelInvalidException("LeRobot dataset v2 is not supported. Please convert to v3.", 422)
    raise FastLabelInvalidException("Could not detect LeRobot dataset version. Expected data/chunk-XXX/"
                                    "episode_*.parquet (v2) or data/chunk-XXX/file-*.parquet (v3).", 422)


def episode_map(root: Path) -> dict[int, dict[str, Any]]:
    """Per episode index: its data file (``data_chunk``, ``data_file_stem``), ``length`` and per
    camera key its video file and time span (``videos``), from ``meta/episodes``."""
    check_v3(root)
    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise FastLabelInvalidException(f"Episode metadata not found: {root / 'meta' / 'episodes'}/chunk-*/"
                                        "file-*.parquet", 422)
    episodes = {}
    for file in files:
        for row in _parquet().read_table(file).to_pylist():
            episodes[int(row["episode_index"])] = {
                "data_chunk": f"chunk-{int(row['data/chunk_index']):03d}",
                "data_file_stem": f"file-{int(row['data/file_index']):03d}", "length": int(row["length"]),
                "videos": _videos(row)}
    return episodes


def _videos(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = [column.split("/")[1] for column in row if column.startswith("videos/") and column.endswith("/chunk_index")]
    return {key: {"chunk": f"chunk-{int(row[f'videos/{key}/chunk_index']):03d}",
                  "file_stem": f"file-{int(row[f'videos/{key}/file_index']):03d}",
                  "from_timestamp": float(row[f"videos/{key}/from_timestamp"]),
                  "to_timestamp": float(row[f"videos/{key}/to_timestamp"])}
            for key in keys if not _absent(row[f"videos/{key}/chunk_index"])}


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def episode_frames(root: Path, index: int, episode: dict[str, Any]) -> list[Frame]:
    """Every row of an episode's data, as plain Python values (all columns)."""
    path = root / "data" / episode["data_chunk"] / f"{episode['data_file_stem']}.parquet"
    rows = _parquet().read_table(path, filters=[("episode_index", "==", index)]).to_pylist()
    return [row for row in rows if row["episode_index"] == index]


def cameras(root: Path) -> list[Camera]:
    """The cameras of ``videos/`` (``observation.images.top`` → ``images_top``)."""
    folder = root / "videos"
    found = []
    for camera in sorted(folder.iterdir()) if folder.is_dir() else []:
        if camera.is_dir():
            parts = camera.name.split(".")
            if parts[0] != "observation":
                raise FastLabelInvalidException(f"Unexpected camera dir name: {camera.name}", 422)
            found.append(Camera(camera, camera.name, "_".join(parts[1:])))
    return found


def episode_zip(root: Path, episode: dict[str, Any], name: str, converter: LeRobotConverter,
                frames: list[Frame], folder: Path) -> str:
    """The episode's zip under ``folder``: ``<name>.json`` (the converter's telemetry frames) and
    ``<camera>.mp4`` (the episode's segment of each selected camera's video), at its root."""
    telemetry = [converter.build_telemetry_frame(frame) for frame in frames]
    chosen = converter.select_cameras(cameras(root))
    fps = load_info(root).get("fps")
    if fps is None and any(camera.key in episode["videos"] for camera in chosen):
        raise FastLabelInvalidException("'fps' not found in meta/info.json (required to locate episode video "
                                        "segments).", 422)
    staging = folder / "contents"
    staging.mkdir()
    for camera in chosen:
        video = episode["videos"].get(camera.key)
        source = camera.path / video["chunk"] / f"{video['file_stem']}.mp4" if video else None
        if source is not None and not source.exists():
            logger.warning("Video file not found, skipping camera %s: %s", camera.key, source)
        elif source is not None:
            _cut_video(source, round(video["from_timestamp"] * fps), episode["length"],
                       staging / f"{camera.content_name}.mp4")
    (staging / f"{name}.json").write_text(json.dumps(telemetry, ensure_ascii=False), encoding="utf-8")
    return shutil.make_archive(str(folder / name), "zip", root_dir=str(staging))


def _cut_video(source: Path, first: int, count: int, target: Path) -> None:
    """Frames ``first`` … ``first + count - 1`` of a video, re-encoded (mp4v) at its size and fps."""
    import cv2

    reader = cv2.VideoCapture(str(source))
    if not reader.isOpened():
        raise FastLabelInvalidException(f"Could not open video file: {source}", 422)
    size = (int(reader.get(cv2.CAP_PROP_FRAME_WIDTH)), int(reader.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), reader.get(cv2.CAP_PROP_FPS), size)
    reader.set(cv2.CAP_PROP_POS_FRAMES, first)
    try:
        for _ in range(count):
            read, frame = reader.read()
            if not read:
                break
            writer.write(frame)
    finally:
        writer.release()
        reader.release()
