"""Audio and video pieces merged back into one task, and split: audio
segments that end on a piece's end are joined with segments of the same type and value that start
at 0 in the next piece; video tracks that reach a piece's last frame with tracks that have frame 1
in the next piece."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

from . import validation
from .errors import FormatError, where
from .pieces import merged_name, piece_name, piece_sizes, pieces, rounded
from .tasks import checked_task
from .validation import is_number, too_deep


def _sizes(numbered: list[tuple[int, dict]], key: str, given: Sequence[float] | None, what: str) -> list:
    if given is not None:
        sizes = piece_sizes(given, what, integral=key == "frameCount")
        if len(sizes) != len(numbered):
            raise FormatError(f"{len(sizes)} {what} given for {len(numbered)} pieces")
        return sizes
    for number, task in numbered:
        if task.get(key) is None:
            raise FormatError(f"piece {number} ({task['name']!r}) has no {key!r}; pass {what}=")
    return piece_sizes([task[key] for _, task in numbered], key, integral=key == "frameCount")


# how much deeper than the points of one type a whole audio or video annotation may nest (its
# points by frame, its attributes and keypoints): a deeper one is an error before it is copied
ANNOTATION_LEVELS = 4


def _check_depth(task: dict, source: str) -> dict:
    """``task`` unless an annotation nests deeper than its points, attributes and keypoints can
    (copying it would exhaust Python's stack)."""
    for index, annotation in enumerate(task.get("annotations", ())):
        if too_deep(annotation, validation.MAX_POINTS_DEPTH + ANNOTATION_LEVELS):
            raise FormatError(f"{where(source, task['name'], index, annotation.get('type'))}: values nested "
                              "deeper than MAX_POINTS_DEPTH (raise fastlabel_formats.validation.MAX_POINTS_DEPTH)")
    return task


def _check_times(task: dict, source: str) -> dict:
    """``task`` when the start and end of its annotations are finite numbers (or absent)."""
    _check_depth(task, source)
    for index, annotation in enumerate(task.get("annotations", ())):
        for key in ("start", "end"):
            if annotation.get(key) is not None and not is_number(annotation[key]):
                raise FormatError(f"{where(source, task['name'], index, annotation.get('type'))}: "
                                  f"{key} {annotation[key]!r:.40} is not a finite number")
    return task


def _check_frames(task: dict, source: str) -> dict:
    """``task`` when the frame keys of its tracks are numbers 1, 2, … as text."""
    _check_depth(task, source)
    for index, annotation in enumerate(task.get("annotations", ())):
        points = annotation.get("points")
        bad = [key for key in points if not (isinstance(key, str) and key.isdecimal() and key.isascii()
                                             and int(key) >= 1)][:1] if isinstance(points, dict) else []
        if bad:
            raise FormatError(f"{where(source, task['name'], index, annotation.get('type'))}: "
                              f"frame {bad[0]!r:.40} is not a frame number (1, 2, …)")
    return task


def _join(numbered: list[tuple[int, dict]], shift: Callable, ends_open: Callable, starts_open: Callable,
          unite: Callable) -> list[dict]:
    """Shift every piece's annotations and join those cut at a boundary (pairs in annotation order)."""
    merged: list[dict] = []
    open_ones: list[dict] = []
    for position, (_, task) in enumerate(numbered):
        still_open = []
        for annotation in task.get("annotations", ()):
            current = shift(copy.deepcopy(annotation), position)
            current.setdefault("attributes", [])
            partner = next((a for a in open_ones if a["type"] == current.get("type")
                            and a.get("value") == current.get("value") and starts_open(annotation)), None)
            if partner is not None:
                open_ones.remove(partner)
                unite(partner, current)
                current = partner
            else:
                merged.append(current)
            if ends_open(annotation, position):
                still_open.append(current)
        open_ones = still_open
    return merged


def integrate_audio(tasks: Sequence[dict], prefix: str, *, durations: Sequence[float] | None = None,
                    eps: float = 1e-3) -> dict:
    """One audio task from its pieces: segments shifted by the pieces before them and joined
    across boundaries (within ``eps`` seconds). Durations from ``duration`` or ``durations=``."""
    numbered = [(number, _check_times(task, prefix)) for number, task in pieces(tasks, prefix)]
    lengths = _sizes(numbered, "duration", durations, "durations")
    if not is_number(eps):
        raise FormatError(f"eps must be a finite number, got {eps!r:.40}")
    offsets = [sum(lengths[:n]) for n in range(len(lengths))]

    def shift(annotation: dict, position: int) -> dict:
        for key in ("start", "end"):
            if isinstance(annotation.get(key), (int, float)):
                annotation[key] = rounded(annotation[key] + offsets[position])
        return annotation

    def unite(first: dict, second: dict) -> None:
        first["end"] = second["end"]

    annotations = _join(
        numbered, shift,
        ends_open=lambda a, position: isinstance(a.get("end"), (int, float))
        and abs(a["end"] - lengths[position]) <= eps,
        starts_open=lambda a: isinstance(a.get("start"), (int, float)) and abs(a["start"]) <= eps,
        unite=unite,
    )
    return {"name": merged_name(prefix, numbered[0][1]), "duration": rounded(sum(lengths)),
            "annotations": annotations}


def _video_meta(numbered: list[tuple[int, dict]]) -> dict:
    first = numbered[0][1]
    for key in ("fps", "width", "height"):
        for number, task in numbered[1:]:
            if task.get(key) != first.get(key):
                raise FormatError(f"piece {number} ({task['name']!r}) has {key} {task.get(key)!r}, "
                                  f"piece 1 has {first.get(key)!r}")
    return {key: first[key] for key in ("fps", "width", "height") if key in first}


def integrate_video(tasks: Sequence[dict], prefix: str, *, frame_counts: Sequence[int] | None = None) -> dict:
    """One video task from its pieces: frame keys shifted by the frames before them, tracks that
    reach a piece's last frame joined with same type/value tracks starting at frame 1 of the next."""
    numbered = [(number, _check_frames(task, prefix)) for number, task in pieces(tasks, prefix)]
    counts = _sizes(numbered, "frameCount", frame_counts, "frame_counts")
    offsets = [sum(counts[:n]) for n in range(len(counts))]

    def shift(annotation: dict, position: int) -> dict:
        points = annotation.get("points")
        if isinstance(points, dict):
            annotation["points"] = {str(int(k) + offsets[position]): v for k, v in points.items()}
        return annotation

    def unite(first: dict, second: dict) -> None:
        first["points"] = {**first["points"], **second["points"]}

    annotations = _join(
        numbered, shift,
        ends_open=lambda a, position: isinstance(a.get("points"), dict) and str(counts[position]) in a["points"],
        starts_open=lambda a: isinstance(a.get("points"), dict) and "1" in a["points"],
        unite=unite,
    )
    out = {"name": merged_name(prefix, numbered[0][1]), **_video_meta(numbered), "frameCount": sum(counts)}
    durations = [task.get("duration") for _, task in numbered]
    if all(isinstance(d, (int, float)) for d in durations):
        out["duration"] = rounded(sum(durations))
    out["annotations"] = annotations
    return out


def split_audio_task(task: dict, durations: Sequence[float]) -> list[dict]:
    """The pieces of an audio task (the inverse of :func:`integrate_audio`): segments cut at the
    piece boundaries, times relative to each piece."""
    task = _check_times(checked_task(task), "task")
    out, offset = [], 0.0
    for number, length in enumerate(piece_sizes(durations, "durations"), 1):
        annotations = []
        for annotation in task.get("annotations", ()):
            start, end = annotation.get("start"), annotation.get("end")
            if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
                if number == 1:
                    annotations.append(copy.deepcopy(annotation))
                continue
            low, high = max(start, offset), min(end, offset + length)
            if high > low or (start == end and offset <= start < offset + length):
                annotations.append({**copy.deepcopy(annotation), "start": rounded(low - offset),
                                    "end": rounded(high - offset)})
        out.append({"name": piece_name(task, number), "duration": rounded(length), "annotations": annotations})
        offset += length
    return out


def split_video_task(task: dict, frame_counts: Sequence[int]) -> list[dict]:
    """The pieces of a video task (the inverse of :func:`integrate_video`): each track's frames
    that fall in a piece, renumbered from 1."""
    task = _check_frames(checked_task(task), "task")
    out, offset = [], 0
    meta = {key: task[key] for key in ("fps", "width", "height") if key in task}
    for number, count in enumerate(piece_sizes(frame_counts, "frame_counts", integral=True), 1):
        annotations = []
        for annotation in task.get("annotations", ()):
            points = annotation.get("points")
            if not isinstance(points, dict):
                continue
            local = {str(int(k) - offset): v for k, v in points.items() if offset < int(k) <= offset + count}
            if local:
                annotations.append({**copy.deepcopy(annotation), "points": copy.deepcopy(local)})
        out.append({"name": piece_name(task, number), **meta, "frameCount": int(count), "annotations": annotations})
        offset += count
    return out
