"""The export loop shared by the per-image formats: chunk, build, write — optionally in parallel."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from .files import write_atomic
from .parallel import Offsets, run_chunks
from .report import ConversionReport
from .tasks import Batch, Frame, chunk_batch, frame_chunks

BuildChunk = Callable[[Batch, ConversionReport], list[bytes]]


def write_per_image(
    tasks: list[dict],
    source: str,
    frames: list[Frame],
    geometry: Iterable[str],
    build: BuildChunk,
    paths: list[Path],
    report: ConversionReport,
    *,
    jobs: int = 1,
    progress: bool = False,
) -> None:
    """Write ``paths[i]`` (one per frame) with the bytes ``build`` makes for each chunk of frames."""
    from tqdm import tqdm

    chunks = list(frame_chunks(tasks, frames))

    def work(index: int, offsets: Offsets, chunk_report: ConversionReport) -> int:
        first_frame, chunk_frames = chunks[index]
        contents = build(chunk_batch(tasks, chunks[index], source, geometry), chunk_report)
        for path, data in zip(paths[first_frame:first_frame + len(chunk_frames)], contents, strict=True):
            write_atomic(path, data)
        return len(chunk_frames)

    with tqdm(total=len(paths), desc=report.target, unit="file", disable=not progress, delay=0.5) as bar:
        for written in run_chunks(len(chunks), work, report, jobs):
            bar.update(written)
    report.files.extend(paths)
