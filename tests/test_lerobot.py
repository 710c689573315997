"""``Client.import_lerobot`` on a LeRobot v3 dataset made here (parquet by pyarrow, a consolidated
mp4 by OpenCV), against the fake server: one robotics task and one zip per episode, the zip holding
the converter's telemetry JSON and each camera's segment of the shared video."""

from __future__ import annotations

import io
import json
import zipfile

import cv2
import numpy as np
import pytest

from fastlabel_formats_api import Client, FastLabelInvalidException
from fastlabel_formats_api.lerobot import LeRobotConverter
from fastlabel_formats_api.testing import FakeFastLabel

pq = pytest.importorskip("pyarrow.parquet", reason="the robotics extra (pyarrow) reads LeRobot parquet files")
import pyarrow as pa  # noqa: E402

TOKEN = "robot-token"
LENGTHS = {0: 4, 1: 6, 2: 5}  # frames per episode, in one consolidated data file and one video
FPS = 10


def _gray(frame: int) -> int:
    return 10 + frame * 15


def make_dataset(root) -> None:
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps({"fps": FPS, "features": {
        "observation.state": {"names": ["shoulder", "elbow", "gripper"]},
        "action": {"names": ["shoulder", "elbow", "gripper"]}}}))
    rows, episodes, start = [], [], 0
    for episode, length in LENGTHS.items():
        for frame in range(length):
            rows.append({"episode_index": episode, "frame_index": frame, "timestamp": frame / FPS,
                         "observation.state": [float(episode), float(frame), 0.5], "action": [1.0, 2.0, float(frame)]})
        episodes.append({"episode_index": episode, "data/chunk_index": 0, "data/file_index": 0, "length": length,
                         "videos/observation.images.top/chunk_index": 0, "videos/observation.images.top/file_index": 0,
                         "videos/observation.images.top/from_timestamp": start / FPS,
                         "videos/observation.images.top/to_timestamp": (start + length) / FPS})
        start += length
    for folder, table in (("data", rows), ("meta/episodes", episodes)):
        (root / folder / "chunk-000").mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(table), root / folder / "chunk-000" / "file-000.parquet")
    video = root / "videos" / "observation.images.top" / "chunk-000"
    video.mkdir(parents=True)
    writer = cv2.VideoWriter(str(video / "file-000.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (32, 24))
    for frame in range(start):
        writer.write(np.full((24, 32, 3), _gray(frame), np.uint8))
    writer.release()


@pytest.fixture
def setup(tmp_path):
    make_dataset(tmp_path / "robot")
    with FakeFastLabel(token=TOKEN) as fake:
        yield fake, Client(TOKEN, base_url=fake.url), tmp_path / "robot"


def _uploaded_zips(fake) -> dict[str, zipfile.ZipFile]:
    return {key.rsplit("/", 1)[1]: zipfile.ZipFile(io.BytesIO(data)) for key, data in fake.blobs.items()
            if key.startswith("uploads/")}


def _decoded(data: bytes, tmp_path) -> np.ndarray:
    path = tmp_path / "decoded.mp4"
    path.write_bytes(data)
    reader, frames = cv2.VideoCapture(str(path)), []
    while True:
        read, frame = reader.read()
        if not read:
            return np.array(frames)
        frames.append(frame)


def _frames(data: bytes, tmp_path) -> list[int]:
    """The grey level of each frame of a video."""
    return [int(frame.mean()) for frame in _decoded(data, tmp_path)]


def test_every_episode_becomes_a_task_with_its_telemetry_and_its_video_segment(setup, tmp_path):
    fake, client, root = setup
    results = client.import_lerobot("robots", str(root))
    assert [(r["episode_index"], r["episode"], r["success"]) for r in results] == [
        (0, "episode_000000", True), (1, "episode_000001", True), (2, "episode_000002", True)]
    assert sorted(t["name"] for t in client.get_robotics_tasks("robots")) == [r["episode"] for r in results]
    zips = _uploaded_zips(fake)
    assert sorted(zips) == ["episode_000000.zip", "episode_000001.zip", "episode_000002.zip"]
    one = zips["episode_000001.zip"]
    assert sorted(one.namelist()) == ["episode_000001.json", "images_top.mp4"]
    telemetry = json.loads(one.read("episode_000001.json"))
    assert telemetry[2] == {"observation.state": [1.0, 2.0, 0.5], "action": [1.0, 2.0, 2.0], "frame_index": 2,
                            "timestamp": 0.2}
    grays = _frames(one.read("images_top.mp4"), tmp_path)  # frames 4..9 of the shared video
    assert len(grays) == LENGTHS[1]
    assert all(abs(gray - _gray(4 + n)) <= 7 for n, gray in enumerate(grays)), grays  # mp4v: lossy, 15 apart
    contents = {t["name"]: sorted(c["name"] for c in t["contents"]) for t in client.get_robotics_tasks("robots")}
    assert contents["episode_000002"] == ["episode_000002.json", "images_top.mp4"]


class GripperOnly(LeRobotConverter):
    OBSERVATION_STATE_NAMES = ("gripper",)
    CAMERA_KEYS = ()

    def select_action_names(self, names):
        return [name for name in names if name != "gripper"]

    def select_episodes(self, episode_lengths):
        return [index for index, length in episode_lengths.items() if length >= 5]

    def build_task_kwargs(self, *, episode_index, episode_name, frames):
        return {"tags": [f"frames-{len(frames)}"]}


def test_a_converter_subclass_chooses_values_cameras_episodes_and_task_arguments(setup):
    fake, client, root = setup
    results = client.import_lerobot("robots", str(root), converter=GripperOnly)
    assert [r["episode_index"] for r in results] == [1, 2]
    zips = _uploaded_zips(fake)
    assert zips["episode_000002.zip"].namelist() == ["episode_000002.json"]  # no camera kept
    first = json.loads(zips["episode_000002.zip"].read("episode_000002.json"))[0]
    assert first["observation.state"] == [0.5] and first["action"] == [1.0, 2.0]
    assert sorted(t["tags"][0] for t in client.get_robotics_tasks("robots")) == ["frames-5", "frames-6"]


def test_bad_datasets_and_episodes(setup, tmp_path):
    fake, client, root = setup
    result = client.import_lerobot("robots", str(root), episode_indices=[7, 0])
    assert result[0] == {"episode_index": 7, "episode": "episode_000007", "success": False,
                         "result": {"error": "<Response [422]> Episode index 7 not found in dataset."}}
    assert result[1]["success"] and len(client.get_robotics_tasks("robots")) == 1
    (root / "meta" / "info.json").write_text(json.dumps({"fps": FPS, "features": {}}))
    calls = len(fake.log)
    with pytest.raises(FastLabelInvalidException, match="'observation.state.names' not found in meta/info.json"):
        client.import_lerobot("robots", str(root))
    assert len(fake.log) == calls  # refused before any call
    (tmp_path / "v2" / "data" / "chunk-000").mkdir(parents=True)
    (tmp_path / "v2" / "data" / "chunk-000" / "episode_000000.parquet").write_bytes(b"")
    with pytest.raises(FastLabelInvalidException, match="v2 is not supported"):
        client.import_lerobot("robots", str(tmp_path / "v2"), converter=lambda meta: None)


