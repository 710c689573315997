"""Hostile cases for what does not take task lists: the importers (their files mutated, truncated
or not UTF-8), masks, and the splitting and merging of image tiles, audio and video."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
from hostile import DEFINITIONS, HOSTILE_VALUES, Census, hostile, mutate, valid_task
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlabel_formats as ff

HOSTILE_TOKENS = ["nan", "inf", "-inf", "1e400", "1e308", "-1e308", "-1", "0", "abc", "", "null", "[]", "{}",
                  "\x00", "99999999999999999999", "1.5", "true", "<x>", "&amp;", "é"]
SEPARATORS = re.compile(r"(\s+|[<>\"',:\[\]{}/])")


def mutated_text(data: st.DataObject, text: str) -> bytes:
    """``text`` with a token replaced, cut short, broken by bytes that are not UTF-8, or emptied."""
    kind = data.draw(st.sampled_from(["token", "token", "token", "truncate", "bytes", "empty"]))
    if kind == "empty":
        return b""
    if kind in ("truncate", "bytes"):
        cut = data.draw(st.integers(0, len(text)))
        return text[:cut].encode() + (b"\xff\xfe\xc3" + text[cut:].encode() if kind == "bytes" else b"")
    pieces = SEPARATORS.split(text)
    words = [i for i, piece in enumerate(pieces) if piece and not SEPARATORS.fullmatch(piece)]
    for _ in range(data.draw(st.integers(1, 3))):
        if words:
            pieces[data.draw(st.sampled_from(words))] = data.draw(st.sampled_from(HOSTILE_TOKENS))
    return "".join(pieces).encode()


def _corrupt_one(data: st.DataObject, folder: Path, pattern: str) -> None:
    """One file of ``folder`` matching ``pattern`` rewritten as hostile text (or removed)."""
    files = sorted(folder.rglob(pattern))
    if files:
        chosen = data.draw(st.sampled_from(files))
        if data.draw(st.integers(0, 19)) == 0:
            chosen.unlink()
        else:
            chosen.write_bytes(mutated_text(data, chosen.read_bytes().decode(errors="replace")))


def _exported(folder: Path, exporter: Callable) -> Path:
    exporter([valid_task("img/a.jpg"), valid_task("b.png")], folder)
    return folder


def _file_case(census: Census, target: str, examples: int, build: Callable, read: Callable,
               pattern: str) -> Callable[[], None]:
    """A case that exports valid files with ``build``, corrupts some and reads them with ``read``."""

    @_settings(examples)
    @given(st.data())
    def case(data):
        with tempfile.TemporaryDirectory() as root:
            folder = _exported(Path(root) / "in", build)
            for _ in range(data.draw(st.integers(1, 2))):
                _corrupt_one(data, folder, pattern)
            census.check(target, lambda: read(folder), sorted(p.name for p in folder.rglob("*")))

    return case


def _settings(examples: int) -> Callable:
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


def coco_dict_case(census: Census, examples: int) -> Callable[[], None]:
    """coco_to_fastlabel on a COCO document with parts replaced (pose definitions, RLE holes)."""
    document = ff.to_coco([valid_task("img/a.jpg"), valid_task("b.png")], holes="rle", annotations=DEFINITIONS)

    @_settings(examples)
    @given(st.data())
    def case(data):
        hostile_document = document
        for _ in range(data.draw(st.integers(1, 3))):
            hostile_document = mutate(data, hostile_document)
        before = copy.deepcopy(hostile_document)
        census.check("coco_to_fastlabel", lambda: ff.coco_to_fastlabel(hostile_document), hostile_document)
        census.check("coco_tasks", lambda: ff.coco_tasks(hostile_document, "segmentation"), hostile_document)
        assert repr(before) == repr(hostile_document), "the caller's document was mutated"

    return case


def coco_file_case(census: Census, examples: int) -> Callable[[], None]:
    text = orjson.dumps(ff.to_coco([valid_task()], holes="rle", annotations=DEFINITIONS)).decode()

    @_settings(examples)
    @given(st.data())
    def case(data):
        with tempfile.TemporaryDirectory() as root:
            path = Path(root) / "coco.json"
            path.write_bytes(mutated_text(data, text))
            census.check("coco_to_fastlabel file", lambda: ff.coco_to_fastlabel(path), path.read_bytes()[:300])

    return case


def _labelme_documents(data: st.DataObject, folder: Path) -> None:
    """Besides text mutations, labelme documents with parts replaced (still valid JSON)."""
    files = sorted(folder.glob("**/*.json"))
    if files:
        chosen = data.draw(st.sampled_from(files))
        text = chosen.read_bytes().decode(errors="replace")
        chosen.write_bytes(json.dumps(mutate(data, orjson.loads(text))).encode()
                           if data.draw(st.booleans()) else mutated_text(data, text))


def labelme_case(census: Census, examples: int) -> Callable[[], None]:
    @_settings(examples)
    @given(st.data())
    def case(data):
        with tempfile.TemporaryDirectory() as root:
            folder = _exported(Path(root) / "in", ff.export_labelme)
            _labelme_documents(data, folder)
            census.check("labelme_to_fastlabel", lambda: ff.labelme_to_fastlabel(folder), "labelme folder")

    return case


def yolo_read(project_type: str) -> Callable[[Path], object]:
    """Read a YOLO export back, with images of the tasks' sizes (YOLO labels need them)."""

    def read(folder: Path) -> object:
        from PIL import Image

        images = folder.parent / "images"
        for name in ("img/a.jpg", "b.png"):
            (images / name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (64, 48)).save(images / name)
        return ff.yolo_to_fastlabel(folder / "classes.txt", folder / "annotations", project_type=project_type,
                                    images=images)

    return read


def _yolo_build(project_type: str) -> Callable:
    return lambda tasks, folder: ff.export_yolo(tasks, folder, project_type=project_type.removesuffix("_obb"),
                                                obb=project_type.endswith("_obb"))


def mask_case(census: Census, examples: int) -> Callable[[], None]:
    masks = st.one_of(
        st.sampled_from(HOSTILE_VALUES),
        st.sampled_from([np.zeros((0, 0), np.uint8), np.zeros((0, 5), bool), np.zeros((3, 4, 3), np.uint8),
                         np.full((4, 4), np.nan), np.array([[None, 1]], object), np.ones((2, 2), np.float32),
                         np.array([["a"]]), np.ones((1, 1), np.int64) * -1, np.ones(7, np.uint8),
                         np.ones((3, 3), complex)]),
        st.sampled_from(["/nonexistent.png", "", "\x00"]))

    @_settings(examples)
    @given(masks)
    def case(mask):
        census.check("mask_to_segmentation", lambda: ff.mask_to_segmentation(mask), mask)
        census.check("mask_to_polygon", lambda: ff.mask_to_polygon(mask), mask)

    return case


def audio_task() -> dict:
    return {"name": "audio/voice.mp3", "duration": 10, "annotations": [
        {"type": "segmentation", "value": "bird", "start": 0.5, "end": 7.5,
         "attributes": [{"key": "loud", "type": "switch", "value": True}]},
        {"type": "classification", "value": "day", "attributes": []}]}


def video_task() -> dict:
    frame = {"value": [0, 0, 5, 5], "autogenerated": False}
    return {"name": "video/cat.mp4", "frameCount": 6, "fps": 30, "width": 64, "height": 48, "duration": 0.2,
            "annotations": [{"type": "bbox", "value": "person", "points": {"1": frame, "4": frame, "6": frame}},
                            {"type": "polygon", "value": "cat",
                             "points": {"2": {"value": [1, 1, 5, 1, 5, 5], "autogenerated": True}}}]}


def pieces_case(census: Census, examples: int) -> Callable[[], None]:
    """Split valid tasks, mutate the pieces or the arguments, merge them again."""
    tiles = ff.split_image_task(valid_task("image/cat.jpg"), 2, 2)
    clips = ff.split_audio_task(audio_task(), [4, 6])
    videos = ff.split_video_task(video_task(), [3, 3])
    numbers = st.one_of(hostile, st.integers(-3, 4))

    @_settings(examples)
    @given(st.data())
    def case(data):
        which = data.draw(st.sampled_from(["tiles", "audio", "video", "split"]))
        if which == "split":
            rows, cols = data.draw(numbers), data.draw(numbers)
            lengths = data.draw(st.lists(numbers, max_size=3))
            census.check("split_image_task", lambda: ff.split_image_task(valid_task(), rows, cols), (rows, cols))
            census.check("split_audio_task", lambda: ff.split_audio_task(audio_task(), lengths), lengths)
            census.check("split_video_task", lambda: ff.split_video_task(video_task(), lengths), lengths)
            return
        pieces, prefix, merge = {"tiles": (tiles, "image/cat", ff.integrate_image_tiles),
                                 "audio": (clips, "audio/voice", ff.integrate_audio),
                                 "video": (videos, "video/cat", ff.integrate_video)}[which]
        for _ in range(data.draw(st.integers(1, 3))):
            pieces = mutate(data, pieces)
        if data.draw(st.integers(0, 9)) == 0:
            prefix = data.draw(hostile)
        census.check(f"integrate {which}", lambda: merge(pieces, prefix), pieces)
        census.check("integrate", lambda: ff.integrate(pieces, prefix), pieces)

    return case


OTHER_TARGETS: dict[str, Callable[[Census, int], Callable[[], None]]] = {
    "coco_to_fastlabel": coco_dict_case,
    "coco_to_fastlabel_file": coco_file_case,
    "labelme_to_fastlabel": labelme_case,
    "pascalvoc_to_fastlabel": lambda census, examples: _file_case(
        census, "pascalvoc_to_fastlabel", examples, ff.export_pascalvoc, ff.pascalvoc_to_fastlabel, "*.xml"),
    **{f"yolo_to_fastlabel_{kind}": (lambda census, examples, kind=kind, exported=exported: _file_case(
        census, f"yolo_to_fastlabel_{kind}", examples, _yolo_build(exported), yolo_read(kind), "*.txt"))
       for kind, exported in (("bbox", "image_bbox"), ("segmentation", "image_segmentation"),
                              ("obb", "image_bbox_obb"))},
    "masks": mask_case,
    "pieces": pieces_case,
}
