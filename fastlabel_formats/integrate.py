"""Merge split tasks back into one, offline — and split them: image tiles
(:mod:`fastlabel_formats.tiles`), audio and video pieces (:mod:`fastlabel_formats.timeline`).
:func:`integrate` picks the kind from the pieces' file extension."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from .errors import FormatError
from .pieces import pieces
from .tile_split import split_image_task
from .tiles import integrate_image_tiles
from .timeline import integrate_audio, integrate_video, split_audio_task, split_video_task

AUDIO_EXTENSIONS, VIDEO_EXTENSIONS = (".mp3", ".wav", ".m4a", ".aac", ".flac", ".ogg"), (".mp4", ".mov", ".avi")
MERGERS = {"image": integrate_image_tiles, "audio": integrate_audio, "video": integrate_video}

__all__ = ["integrate", "integrate_audio", "integrate_image_tiles", "integrate_video", "piece_kind",
           "split_audio_task", "split_image_task", "split_video_task"]


def piece_kind(tasks: Sequence[dict], prefix: str) -> str:
    """``"audio"``, ``"video"`` or ``"image"``: what the pieces ``<prefix>/<n>.<ext>`` are, by extension."""
    extensions = {posixpath.splitext(task["name"])[1].lower() for _, task in pieces(tasks, prefix)}
    if extensions & set(AUDIO_EXTENSIONS):
        return "audio"
    return "video" if extensions & set(VIDEO_EXTENSIONS) else "image"


def integrate(tasks: Sequence[dict], prefix: str, *, kind: str | None = None, **options) -> dict:
    """One task from its pieces ``<prefix>/<n>.<ext>``: image tiles, audio or video (``kind``, by
    default from the extension); ``options`` go to :func:`integrate_image_tiles` (rows, cols, tol,
    keep_other_types), :func:`integrate_audio` (durations, eps) or :func:`integrate_video` (frame_counts)."""
    kind = kind or piece_kind(tasks, prefix)
    if not isinstance(kind, str) or kind not in MERGERS:
        raise FormatError(f"kind must be one of {', '.join(MERGERS)}, got {kind!r:.40}")
    return MERGERS[kind](tasks, prefix, **options)
