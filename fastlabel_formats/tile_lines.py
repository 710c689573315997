"""Lines cut by tile seams joined again when tiles are merged: an end of one line piece meets an
end of a piece of the same value in another tile (within ``tol`` px, both on a seam), and the
pieces chain into one polyline; the vertex a cut added on a straight stretch is removed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CUT_OFFSET = 1e-5  # px: a cut point is this close to the straight stretch (cuts are rounded to 6 decimals)


@dataclass
class LinePiece:
    """One line of one tile, in merged-image coordinates; ``order`` is (tile number, index)."""

    order: tuple[int, int]
    value_key: str
    cell: tuple[int, int]
    coords: np.ndarray


def joined_lines(lines: list[LinePiece], xs: list, ys: list, tol: float) -> list[tuple[list[int], np.ndarray]]:
    """Each chain of pieces (positions in ``lines``, by order) and its joined vertices, oriented as
    its first piece runs; a piece that meets nothing is a chain of its own."""
    links = _links(lines, xs, ys, tol)
    seen: set[int] = set()
    chains = []
    for start in sorted(range(len(lines)), key=lambda i: (len(links[i]) == 2, lines[i].order)):
        if start not in seen:
            chain = _walk(start, links, seen)
            chains.append(_oriented(chain, lines))
    return sorted(chains, key=lambda chain: min(lines[i].order for i in chain[0]))


def _links(lines: list[LinePiece], xs: list, ys: list, tol: float) -> list[dict[int, tuple[int, int]]]:
    """Per piece ``{end: (other piece, its end)}``: ends on a seam that meet an end of a piece of
    the same value in another tile, the closest pairs first, each end used once (end 0 = first
    vertex, 1 = last)."""
    links: list[dict[int, tuple[int, int]]] = [{} for _ in lines]
    for _, first, second in sorted(_meeting_ends(lines, xs, ys, tol)):
        if first[1] not in links[first[0]] and second[1] not in links[second[0]]:
            links[first[0]][first[1]], links[second[0]][second[1]] = second, first
    return links


def _meeting_ends(lines: list[LinePiece], xs: list, ys: list, tol: float) -> list[tuple[float, tuple, tuple]]:
    """``(distance, (piece, end), (piece, end))`` of the seam ends of pieces of the same value in
    different tiles at most ``tol`` apart (found through buckets of ``2 tol``, never all pairs)."""
    size = max(2 * tol, 1e-6)
    buckets: dict[tuple, list[tuple[int, int]]] = {}
    found = []
    for position, piece in enumerate(lines):
        for end in (0, 1):
            point = piece.coords[-end]
            if not _on_seam(point, xs, ys, tol):
                continue
            key = (piece.value_key, math.floor(point[0] / size), math.floor(point[1] / size))
            for other, other_end in _around(buckets, key):
                distance = float(np.hypot(*(lines[other].coords[-other_end] - point)))
                if distance <= tol and lines[other].cell != piece.cell:
                    found.append((distance, (other, other_end), (position, end)))
            buckets.setdefault(key, []).append((position, end))
    return found


def _around(buckets: dict, key: tuple) -> list[tuple[int, int]]:
    """The ends in the 3 × 3 buckets around ``key``."""
    value_key, bx, by = key
    return [item for dx in (-1, 0, 1) for dy in (-1, 0, 1) for item in buckets.get((value_key, bx + dx, by + dy), ())]


def _on_seam(point: np.ndarray, xs: list, ys: list, tol: float) -> bool:
    """True when ``point`` lies within ``tol`` of an inner tile edge."""
    return any(abs(point[0] - x) <= tol for x in xs[1:-1]) or any(abs(point[1] - y) <= tol for y in ys[1:-1])


def _walk(start: int, links: list[dict], seen: set[int]) -> list[tuple[int, bool]]:
    """The chain from ``start`` as (piece, reversed): from a free end if ``start`` has one."""
    free_end = next((end for end in (0, 1) if end not in links[start]), 0)
    chain, current, entry = [], start, free_end
    while current not in seen:
        seen.add(current)
        chain.append((current, entry == 1))
        following = links[current].get(1 - entry)
        if following is None:
            break
        current, entry = following
    return chain


def _oriented(chain: list[tuple[int, bool]], lines: list[LinePiece]) -> tuple[list[int], np.ndarray]:
    """The pieces of a chain and their vertices joined, running as the chain's first piece runs."""
    parts = [lines[i].coords[::-1] if flipped else lines[i].coords for i, flipped in chain]
    coords = parts[0]
    for part in parts[1:]:
        coords = _without_cut(np.concatenate([coords, part[1:]]), len(coords) - 1)
    first = min(range(len(chain)), key=lambda k: lines[chain[k][0]].order)
    if chain[first][1]:  # the first piece was walked backwards
        coords = coords[::-1]
    return [i for i, _ in chain], coords


def _without_cut(coords: np.ndarray, joint: int) -> np.ndarray:
    """``coords`` without the vertex at ``joint`` when it lies on a straight stretch (a cut point)."""
    if joint <= 0 or joint >= len(coords) - 1:
        return coords
    incoming, outgoing = coords[joint] - coords[joint - 1], coords[joint + 1] - coords[joint]
    cross = incoming[0] * outgoing[1] - incoming[1] * outgoing[0]
    span = float(np.hypot(*(incoming + outgoing)))
    straight = incoming @ outgoing > 0 and abs(cross) <= CUT_OFFSET * span  # its distance from the stretch
    return np.delete(coords, joint, axis=0) if straight else coords
