"""The official SDK's enumerations (``fastlabel.const``) and the client-side upload limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass

MIB = 1024 * 1024
CONTENTS_MAX_CHARS = 536_870_000


class Priority(enum.IntEnum):
    none = 0
    low = 10
    medium = 20
    high = 30


class DatasetObjectType(str, enum.Enum):
    none = "none"
    train = "train"
    valid = "valid"
    test = "test"


class AnnotationType(str, enum.Enum):
    bbox = "bbox"
    polygon = "polygon"
    keypoint = "keypoint"
    line = "line"
    circle = "circle"
    segmentation = "segmentation"
    classification = "classification"
    pose_estimation = "pose_estimation"


@dataclass(frozen=True)
class Media:
    """What an upload must be: extensions (lower-case suffixes), size cap and the official messages."""

    extensions: tuple[str, ...]
    max_bytes: int
    extension_message: str
    size_message: str
    h264: bool = False


IMAGE = Media((".png", ".jpg", ".jpeg"), 20 * MIB, "Supported extensions are png, jpg, jpeg.",
              "Supported image size is under 20 MB.")
VIDEO = Media((".mp4",), 250 * MIB, "Supported extensions are mp4.", "Supported video size is under 250 MB.",
              h264=True)
TEXT = Media((".txt",), 2 * MIB, "Supported extensions are txt.", "Supported text size is under 2 MB.")
AUDIO = Media((".mp3", ".wav", ".m4a"), 120 * MIB, "Supported extensions are mp3, wav and w4a.",
              "Supported audio size is under 120 MB.")
PCD = Media((".pcd",), 100 * MIB, "Supported extensions are pcd only", "Supported PCD size is under 100 MB.")
SEQUENTIAL_PCD = Media(PCD.extensions, PCD.max_bytes, PCD.extension_message, "Supported PCD size is under 30 MB.")
DICOM = Media((".zip",), 2000 * MIB, "Supported extensions are zip.", "Supported image size is under 2 GB.")
INFERENCE_IMAGE = Media(IMAGE.extensions, 6 * MIB, IMAGE.extension_message, "Supported image size is under 6 MB.")
DATASET_OBJECT = Media((), 250 * MIB, "", "Supported object size is under 250 MB.")
