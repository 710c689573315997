"""Geometry of CVAT shapes: point lists as CVAT writes them, numbers, ellipses and CVAT's mask RLE
(row-major run lengths over the mask's own box, starting with a run of background)."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Annotated

import msgspec
import numpy as np

from ...masks import mask_to_segmentation
from ...raster import segmentation_mask

ELLIPSE_VERTICES = 64  # the polygon an ellipse with two different radii becomes in FastLabel


@lru_cache(maxsize=1 << 16)
def number(text: str | None) -> int | float:
    """A finite CVAT number (an integral one as ``int``); ValueError otherwise."""
    value = float(text)  # TypeError for None is turned into ValueError by the callers' except
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def numbers(texts: list[str | None]) -> list:
    """``[number(text) for text in texts]``: the same values and errors, parsed in one pass."""
    if None not in texts:
        values = comma_numbers(",".join(texts))
        if values is not None and len(values) == len(texts):
            return values
    return list(map(number, texts))


# a JSON number as number() reads it when it is an int below 2**53 or a float below 2**52 in size (a
# larger float may be integral whatever its decimals); others are left to number(), one by one
_JSON_NUMBER = Annotated[int, msgspec.Meta(gt=-(2**53), lt=2**53)] | Annotated[float, msgspec.Meta(gt=-(2**52),
                                                                                                lt=2**52)]
_LIMIT = 2**53
_DECODE = msgspec.json.Decoder(list[_JSON_NUMBER]).decode  # correctly rounded, as float() is
_INTEGRAL_DECIMAL = re.compile(r"\.0+(?![0-9])")
_ZERO_FRACTION = re.compile(r"\.0+(?=[\s,\]]|$)")  # of a number that JSON reads, one whose fraction is all zeros


def comma_numbers(text: str) -> list | None:
    """The numbers of comma-separated ``text`` as :func:`number` reads them, or None when a value
    is not such a JSON number (then read one by one)."""
    try:
        values = _DECODE(f"[{text}]")
    except msgspec.DecodeError:
        return None
    if not values:
        return None
    if "e" in text or "E" in text or (".0" in text and _INTEGRAL_DECIMAL.search(text)):  # 1e2, 12.00: ints
        return [int(value) if value.__class__ is float and value.is_integer() else value for value in values]
    return values


_DECODE_ROWS = msgspec.json.Decoder(list[list[_JSON_NUMBER]]).decode


def comma_number_rows(texts: list[str | None], pairs: bool = False) -> list[list | None]:
    """``[comma_numbers(text) for text in texts]`` (None for a None or empty text), decoded in one call
    when every text can be; with ``pairs``, a ';' (between points) is read as a comma."""
    joined = "],[".join(texts) if None not in texts else "],[".join([text or "" for text in texts])
    if pairs and ";" in joined:
        joined = joined.replace(";", ",")
    try:
        if joined.count("[") >= len(texts) or joined.count("]") >= len(texts):  # a bracket of a text
            raise msgspec.DecodeError("a text is not numbers")
        rows = _DECODE_ROWS(f"[[{joined}]]")
    except msgspec.DecodeError:
        return [comma_numbers(text.replace(";", ",") if pairs else text) if text else None for text in texts]
    if ".0" in joined:  # 12.00 is read as an int, as number() reads it
        for match in _ZERO_FRACTION.finditer(joined):  # the end of a number read above (texts hold no bracket)
            start = match.start()
            row = rows[joined.count("[", 0, start)]
            column = joined.count(",", joined.rfind("[", 0, start) + 1, start)
            row[column] = int(row[column])
    if "e" in joined or "E" in joined:  # the other whole floats: 1e2 (zeros a separator does not follow end in e)
        search = _INTEGRAL_DECIMAL.search
        rows = [[int(value) if value.__class__ is float and value.is_integer() else value for value in row]
                if text and ("e" in text or "E" in text or (".0" in text and search(text))) else row
                for text, row in zip(texts, rows)]  # 1e2 as comma_numbers reads it: an int
    return [row or None for row in rows] if [] in rows else rows


def number_text(value: float) -> str:
    """``value`` as CVAT text: an integral value without a fraction, others exactly (``repr``)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def parse_points(text: str | None, flat: list | None = None) -> list:
    """``"x1,y1;x2,y2"`` as flat ``[x1, y1, x2, y2]`` (``flat``: its numbers when already read);
    ValueError when it is not such a list."""
    if not text:
        raise ValueError("no points")
    if flat is None:
        commas = text.replace(";", ",")
        flat = comma_numbers(commas) or list(map(number, commas.split(",")))
    if len(flat) % 2 or text.count(";") != len(flat) // 2 - 1:
        raise ValueError(f"points {text[:40]!r} are not x,y pairs separated by ';'")
    return flat


def number_texts(values: list) -> list[str]:
    """``[number_text(value) for value in values]``, formatted in one pass."""
    floats = _plain_floats(values)
    if floats is None:
        return list(map(number_text, values))
    return ("%r," * len(floats) % tuple(floats)).replace(".0,", ",")[:-1].split(",")  # 12.0 is written 12


def points_text(flat: list) -> str:
    """Flat ``[x1, y1, x2, y2]`` as ``"x1,y1;x2,y2"``."""
    floats = _plain_floats(flat) if len(flat) % 2 == 0 else None
    if floats is None:
        return ";".join(f"{number_text(flat[i])},{number_text(flat[i + 1])}" for i in range(0, len(flat), 2))
    text = "%r,%r;" * (len(floats) // 2) % tuple(floats)
    return text.replace(".0,", ",").replace(".0;", ";")[:-1]  # 12.0 is written 12


def _plain_floats(values: list) -> list[float] | None:
    """``values`` as floats (-0.0 as 0.0) when they are below 2**53 in size, whose ``repr`` then is
    :func:`number_text` but for the ``.0`` of a whole number; else None."""
    floats = list(map(float, values))
    if not floats or not sum(map(abs, floats)) < _LIMIT:  # big, or not finite: one by one
        return None
    return [value + 0.0 for value in floats] if 0.0 in floats else floats  # -0.0 + 0.0 is 0.0


def ellipse_polygon(cx: float, cy: float, rx: float, ry: float, degrees: float) -> list:
    """The ellipse as a polygon of :data:`ELLIPSE_VERTICES` vertices, rotated clockwise on screen."""
    angles = np.linspace(0.0, 2 * np.pi, ELLIPSE_VERTICES, endpoint=False)
    x, y = rx * np.cos(angles), ry * np.sin(angles)
    turn = math.radians(degrees)
    cos, sin = math.cos(turn), math.sin(turn)
    return np.stack([cx + x * cos - y * sin, cy + x * sin + y * cos], 1).ravel().tolist()


def rle_mask(counts: list[int], width: int, height: int) -> np.ndarray:
    """The ``height`` × ``width`` mask of CVAT run lengths; ValueError when they do not cover it."""
    runs = np.asarray(counts, np.int64)
    if width <= 0 or height <= 0 or (runs < 0).any() or runs.sum() != width * height:
        raise ValueError(f"mask run lengths add up to {int(runs.sum())}, not {width} × {height}")
    values = np.arange(len(runs)) % 2
    return np.repeat(values.astype(np.uint8), runs).reshape(height, width)


def mask_segmentation(counts: list[int], left: int, top: int, width: int, height: int) -> list:
    """FastLabel segmentation points of a CVAT mask (rings along pixel corners, in image pixels)."""
    regions = mask_to_segmentation(rle_mask(counts, width, height))
    return [[_shifted(ring, left, top) for ring in region] for region in regions]


def _shifted(ring: list, dx: int, dy: int) -> list:
    out = list(ring)
    out[0::2] = [x + dx for x in ring[0::2]]
    out[1::2] = [y + dy for y in ring[1::2]]
    return out


def segmentation_rle(points: list, width: int, height: int, raster: str = "staircase"
                     ) -> tuple[list[int], int, int, int, int] | None:
    """CVAT run lengths, left, top, width and height of a segmentation's pixels (None: no pixel)."""
    mask, window = segmentation_mask(points, width, height, raster)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    box = mask[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    return (run_lengths(box), window.x0 + int(columns[0]), window.y0 + int(rows[0]),
            box.shape[1], box.shape[0])


def run_lengths(mask: np.ndarray) -> list[int]:
    """Row-major run lengths of a boolean mask, the first one of background (maybe 0)."""
    flat = mask.ravel()
    cuts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], cuts, [flat.size]])).tolist()
    return [0, *runs] if flat.size and flat[0] else runs
