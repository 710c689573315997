"""Boundary rings along pixel edges ("cracks") from OpenCV's border chains, for ``mask_to_segmentation``.

``cv2.findContours`` (Suzuki–Abe, ``CHAIN_APPROX_NONE``) gives every border as a closed chain of
8-connected border pixels. Walked with the foreground on the right (outer borders clockwise on
screen, holes counter-clockwise: OpenCV's chains reversed), each chain pixel contributes the run of
its own square's corners from where the boundary enters the square to where it leaves it, going
clockwise around the square; where the chain steps diagonally the boundary passes through the
shared corner, which is the left turn at diagonal touches (two pixels touching
diagonally are one region). Only corners where the boundary
turns are emitted, so the rings come out with collinear vertices already removed.

Points are packed as ``y * stride + x`` (one integer each), so that every step is a 1-D
whole-array operation over all chains at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# chain moves clockwise on screen from east: E, SE, S, SW, W, NW, N, NE
MOVES = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
# a pixel square's corners clockwise: top-left, top-right, bottom-right, bottom-left; the edge that
# starts at corner c runs east, south, west, north for c = 0, 1, 2, 3
CORNERS = ((0, 0), (1, 0), (1, 1), (0, 1))
ENTRY_CORNER = np.array([0, 0, 1, 1, 2, 2, 3, 3], np.int64)  # by the move into the pixel
EXIT_CORNER = np.array([1, 2, 2, 3, 3, 0, 0, 1], np.int64)  # by the move out of the pixel


@dataclass(frozen=True)
class Chains:
    """Closed pixel chains as ragged arrays of packed points ``y * stride + x``: chain c is
    ``points[offsets[c]:offsets[c+1]]``."""

    points: np.ndarray
    offsets: np.ndarray
    stride: int

    def moves_out(self) -> np.ndarray:
        """The code (index into MOVES) of the step from each point to the next one of its chain."""
        code = np.zeros(2 * self.stride + 3, np.int64)  # by packed step + stride + 1
        code[[dy * self.stride + dx + self.stride + 1 for dx, dy in MOVES]] = np.arange(8)
        starts, ends = self.offsets[:-1], self.offsets[1:] - 1
        step = np.empty_like(self.points)
        step[:-1] = self.points[1:] - self.points[:-1]
        step[ends] = self.points[starts] - self.points[ends]
        return code[step + self.stride + 1]


def corner_runs(chains: Chains) -> tuple[np.ndarray, np.ndarray]:
    """Per chain point, the first corner of its run and the run's length (0–4 edges)."""
    code_out = chains.moves_out()
    code_in = np.empty_like(code_out)
    code_in[1:] = code_out[:-1]
    code_in[chains.offsets[:-1]] = code_out[chains.offsets[1:] - 1]
    entry = ENTRY_CORNER[code_in]
    count = (EXIT_CORNER[code_out] - entry) & 3
    count[(count == 0) & ((code_out - code_in) & 7 == 4)] = 4  # the tip of a spike: all around
    alone = chains.offsets[:-1][np.diff(chains.offsets) == 1]  # a one-pixel chain: its whole square
    entry[alone], count[alone] = 0, 4
    return entry, count


def crack_rings(chains: Chains) -> tuple[np.ndarray, np.ndarray]:
    """The crack ring of every chain (foreground on the right), only its turning corners, packed
    like the chains: ``(vertices, offsets)``, ring r = ``vertices[offsets[r]:offsets[r+1]]``."""
    entry, count = corner_runs(chains)
    walked = np.flatnonzero(count)  # pixels whose square the boundary runs along
    bounds = np.searchsorted(walked, chains.offsets)  # each chain's walked pixels
    before = np.arange(-1, len(walked) - 1)
    before[bounds[:-1]] = bounds[1:] - 1
    entry, count = entry[walked], count[walked]
    straight = ((entry[before] + count[before] - 1) & 3) == entry  # the entry continues the last edge
    start, emitted = entry + straight, count - straight
    emitted_before = np.cumsum(emitted) - emitted
    corners = (np.repeat(start - emitted_before, emitted) + np.arange(int(emitted.sum()))) & 3  # start, start+1, …
    offset = np.array([dy * chains.stride + dx for dx, dy in CORNERS], np.int64)
    vertices = np.repeat(chains.points[walked], emitted) + offset[corners]
    return vertices, np.append(emitted_before[bounds[:-1]], len(vertices)).astype(np.int64)
