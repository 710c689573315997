"""Label files of plain box lines read a block of files at a time, with numpy on their bytes.

A *plain* box file (what YOLO exporters write) holds only box lines ``class x y w h`` (blank lines
allowed): the class a known class number written as itself (``3``, not ``03`` or ``3.0``), each
value digits with at most one point and a leading sign (no exponent, at most 18 characters),
separated by spaces or tabs, lines ending in ``\\n`` or ``\\r\\n``. Its values are read as
``float()`` reads them: a value of ``m`` as an integer of its digits with ``k`` digits after the
point, ``m`` below 2**53 and ``k`` at most 22, is ``m / 10**k`` rounded once (both numbers exact
in float64), which is the correctly rounded value ``float()`` gives. Any other file is no plain
box file, and is read line by line (:mod:`fastlabel_formats.yolo_import`), which names its lines.

The rows read at once are laid out for the tables (:class:`LaidBoxes`): a table of their tasks takes
their boxes as they are (see :mod:`fastlabel_formats.table_rings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import offsets
from .table_rings import ReadRings, box_rings

PLAIN_BYTES = b"0123456789.+- \t\r\n"  # the only bytes of a plain box file
LONGEST_VALUE = 18  # characters: its digits fit an int64
LONGEST_CLASS = 9
# class numbers below this are looked up in an array
NUMBERED_CLASSES = 1 << 16
_EXACT = 2 ** 53  # integers float64 holds exactly
_POWERS = 10.0 ** np.arange(LONGEST_VALUE + 1)  # each exact in float64
_DOT, _PLUS, _MINUS, _ZERO, _NINE, _NEWLINE = b".+-09\n"


def plain_bytes(data: bytes) -> bool:
    """Whether ``data`` holds only the bytes of a plain box file (a ``\\r`` only before ``\\n``)."""
    return not data.translate(None, PLAIN_BYTES) and data.count(b"\r") == data.count(b"\r\n")


@dataclass(frozen=True)
class BoxLines:
    """The box lines of a block of files: ``plain[f]`` when file ``f`` is a plain box file; the rows
    of the plain files in order, file ``f``'s ``first_rows[f]:first_rows[f + 1]`` (none for other
    files), each with its class number and its 4 values."""

    plain: np.ndarray
    first_rows: np.ndarray
    classes: np.ndarray
    values: np.ndarray


def box_lines(texts: list[bytes], known: np.ndarray) -> BoxLines:
    """The plain box files among ``texts`` (each of :func:`plain_bytes`) and their rows, class
    number ``c`` being a known class when ``c < len(known)`` and ``known[c]``."""
    buf = np.frombuffer(b"\n" + b"\n".join(texts) + b"\n" * (LONGEST_VALUE + 1), np.uint8)
    sizes = np.fromiter(map(len, texts), np.int64, len(texts))
    file_starts = np.cumsum(sizes + 1) - sizes
    starts, ends = _token_spans(buf)
    column, bad_bytes = _columns(buf, starts)
    number, point_digits, fine = _numbers(buf, starts, ends - starts)
    classes = np.flatnonzero(column == 0)
    fine[classes] &= _known_classes(buf[starts[classes]], ends[classes] - starts[classes], point_digits[classes],
                                    number[classes], known)
    token_file = np.repeat(np.arange(len(texts)), np.diff(np.searchsorted(starts, file_starts), append=len(starts)))
    bad = np.zeros(len(texts), bool)
    bad[token_file[~fine]] = True
    bad[np.searchsorted(file_starts, bad_bytes, "right") - 1] = True
    rows = classes[~bad[token_file[classes]]]
    tokens = rows[:, None] + np.arange(1, 5)
    values = number[tokens] / _POWERS[np.maximum(point_digits[tokens], 0)]
    values[buf[starts[tokens]] == _MINUS] *= -1
    return BoxLines(~bad, offsets(np.bincount(token_file[rows], minlength=len(texts))), number[rows], values)


def _known_classes(first: np.ndarray, lengths: np.ndarray, point_digits: np.ndarray, number: np.ndarray,
                   known: np.ndarray) -> np.ndarray:
    """Whether each class token (its first byte, length, digits after a point and integer) is a
    known class number written as itself: digits only, no leading zero."""
    written = (point_digits < 0) & (lengths <= LONGEST_CLASS) & (first > _ZERO) & (first <= _NINE) \
        | (first == _ZERO) & (lengths == 1)
    return written & np.append(known, False)[np.minimum(number, len(known))]


def _token_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each token (a run of bytes that are not spaces, tabs, ``\\r`` or ``\\n``) starts and
    ends (``buf`` starts and ends with a ``\\n``)."""
    token = buf > 32
    edges = np.flatnonzero(token[1:] != token[:-1]) + 1
    return edges[0::2], edges[1::2]


def _columns(buf: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each token's position in its line, and the places of what makes a file no plain box file:
    the end of each line neither blank nor of 5 tokens, each sign that does not start a token."""
    line_ends = np.flatnonzero(buf == _NEWLINE)
    tokens_before = np.searchsorted(starts, line_ends)
    counts = np.diff(tokens_before, prepend=0)
    line_first = np.repeat(tokens_before - counts, counts)
    signs = np.flatnonzero((buf == _PLUS) | (buf == _MINUS))
    return np.arange(len(starts)) - line_first, \
        np.concatenate([line_ends[(counts != 0) & (counts != 5)], signs[buf[signs - 1] > 32]])


def _numbers(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token the integer of its digits, its number of digits
    after the point (-1: no point), and whether it is a number written plainly (digits, at most one
    point, a sign only first, at most :data:`LONGEST_VALUE` bytes, below 2**53 as an integer)."""
    number = np.zeros(len(starts), np.int64)
    points, digits = np.zeros(len(starts), np.int8), np.zeros(len(starts), np.int8)
    last_point = np.zeros(len(starts), np.int64)
    at = starts.copy()
    for position in range(min(int(lengths.max(initial=0)), LONGEST_VALUE)):
        byte = buf[at]
        at += 1
        live = lengths > position
        digit = byte - _ZERO
        is_digit = (digit < 10) & live
        np.multiply(number, 10, out=number, where=is_digit)
        np.add(number, digit, out=number, where=is_digit, casting="unsafe")
        digits += is_digit
        is_point = (byte == _DOT) & live
        points += is_point
        last_point[is_point] = position
    signed = (buf[starts] == _PLUS) | (buf[starts] == _MINUS)
    well_formed = (digits > 0) & (points <= 1) & (digits + points + signed == lengths) & (number < _EXACT) \
        & (lengths <= LONGEST_VALUE)
    return number, np.where(points > 0, lengths - 1 - last_point, -1), well_formed


def class_numbers(classes: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per class number below :data:`NUMBERED_CLASSES` whether ``classes`` names it (keyed by the
    number written as itself), and its value (None when not)."""
    numbered = {int(key): value for key, value in classes.items()
                if type(key) is str and key.isascii() and key.isdigit() and str(int(key)) == key
                and int(key) < NUMBERED_CLASSES}
    names, known = np.full(max(numbered, default=-1) + 1, None, object), np.zeros(max(numbered, default=-1) + 1, bool)
    for number, value in numbered.items():
        names[number], known[number] = value, True
    return known, names


@dataclass
class LaidBoxes:
    """The box files read at once (when ``wanted``): their rows' corners block by block, and the
    first of those rows of each task made of them (by the task's id)."""

    wanted: bool
    known: np.ndarray
    names: np.ndarray
    blocks: list = field(default_factory=list)
    rows: int = 0
    first_rows: dict = field(default_factory=dict)

    def store(self, tasks: list[dict]) -> ReadRings:
        """The :class:`~fastlabel_formats.table_rings.ReadRings` of ``tasks`` (the rows of tasks not read
        at once are not laid out)."""
        first = np.fromiter((self.first_rows.get(id(task), -1 if task["annotations"] else 0) for task in tasks),
                            np.int64, len(tasks))
        return box_rings(tasks, np.concatenate([np.zeros((0, 4)), *self.blocks]), first)


def plain_box_files(contents: list, sizes: list[tuple[int, int]], laid: LaidBoxes) -> tuple[dict[int, list], list]:
    """``{position: annotations}`` of the plain box files among ``contents`` (those given as bytes)
    whose boxes are finite, read at once, and the first row of each file's boxes, kept in ``laid``."""
    positions = [position for position, content in enumerate(contents) if type(content) is bytes]
    if not positions:
        return {}, [0]
    found = box_lines([contents[position] for position in positions], laid.known)
    counts = np.diff(found.first_rows)
    boxes, unfit = corner_boxes(found.values, np.array([sizes[position] for position in positions], np.float64),
                                counts)
    unfit_files = np.bincount(np.repeat(np.arange(len(positions)), counts)[unfit], minlength=len(positions))
    laid.blocks.append(boxes)
    values, points = laid.names[found.classes].tolist(), boxes.tolist()
    annotations = [{"value": value, "points": box, "type": "bbox"} for value, box in zip(values, points)]
    plain, first_rows = {}, [0] * len(contents) + [len(boxes)]
    for position, start, end, fine in zip(positions, found.first_rows.tolist(), found.first_rows[1:].tolist(),
                                          (found.plain & (unfit_files == 0)).tolist()):
        if fine:
            plain[position], first_rows[position] = annotations[start:end], start
    return plain, first_rows


def corner_boxes(values: np.ndarray, sizes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corners (x1, y1, x2, y2) of the boxes of ``values`` (centre and size, fractions of the
    image size, as :mod:`~fastlabel_formats.yolo_import` reads one line) of files of image ``sizes``
    holding ``counts`` rows each, and which rows are not all finite."""
    size_of_row = np.repeat(sizes.reshape(-1, 2), counts, axis=0)
    with np.errstate(all="ignore"):
        cx, cy = size_of_row[:, 0] * values[:, 0], size_of_row[:, 1] * values[:, 1]
        w, h = size_of_row[:, 0] * values[:, 2], size_of_row[:, 1] * values[:, 3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes, ~(np.isfinite(values).all(axis=1) & np.isfinite(boxes).all(axis=1))
