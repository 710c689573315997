"""The text of Pascal VOC documents: XML escaping, the official SDK's templates, the classes written
(:class:`VocLabels`), and the documents of plain tables (no parts or actions: most tables)
built column by column, a table at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from operator import itemgetter, length_hint

import numpy as np

from .columns import values_of
from .errors import FormatError
from .report import ConversionReport
from .table import AnnotationTable
from .table_rings import value_codes_of
from .tasks import Frame

PART_KEY = "part_of"  # a part's text attribute: the class of the object it belongs to
ACTION_PREFIX = "action."  # an object's actions: switch attributes action.<name>
VOC_FLAGS = ("truncated", "occluded", "difficult")  # an object's flags, switch attributes of their names
UNSPECIFIED = "Unspecified"  # the pose of an object without one
INT64_END = 2.0**63  # a box bound is a whole number below it (VOC tools read 64 bits; JSON writers take no more)
_ILLEGAL_BUT_NUL = "\x01-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"  # characters XML 1.0 cannot hold, but NUL
_ILLEGAL_XML, _ILLEGAL_XML_BUT_NUL = re.compile(f"[\x00{_ILLEGAL_BUT_NUL}]"), re.compile(f"[{_ILLEGAL_BUT_NUL}]")
# the official SDK's text: a document's start (file name, width, height), an object (name, pose, three
# flags, its box indented, its parts and actions), a box (indent, four bounds), the end
HEAD = (
    "<annotation>\n    <filename>{}</filename>\n    <size>\n        <width>{}</width>\n"
    "        <height>{}</height>\n        <depth>3</depth>\n    </size>\n    <segmented>0</segmented>"
)
BOX = ("{0}<bndbox>\n{0}    <xmin>{1}</xmin>\n{0}    <ymin>{2}</ymin>\n{0}    <xmax>{3}</xmax>\n"
       "{0}    <ymax>{4}</ymax>\n{0}</bndbox>")
OBJECT = (
    "\n    <object>\n        <name>{}</name>\n        <pose>{}</pose>\n"
    "        <truncated>{}</truncated>\n        <occluded>{}</occluded>\n        <difficult>{}</difficult>\n"
    "{}{}\n    </object>"
)
TAIL = "\n</annotation>"
# an object without parts or actions, posed "Unspecified": name, three flags, four box bounds
PLAIN_OBJECT = OBJECT.format("{}", UNSPECIFIED, "{}", "{}", "{}", BOX.format(" " * 8, "{}", "{}", "{}", "{}"), "")


@lru_cache(maxsize=4096, typed=True)
def xml_text(value: object) -> str:
    """``value`` as escaped XML character data; FormatError for characters XML cannot hold."""
    text = str(value)
    if _ILLEGAL_XML.search(text):
        raise FormatError(f"{text!r} contains characters that XML 1.0 cannot represent")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_texts(values: list) -> list[str]:
    """:func:`xml_text` of every value, checked and escaped at once (joined at NUL, which XML cannot hold)."""
    texts = list(map(str, values))
    joined = "\x00".join(texts)
    if not texts or _ILLEGAL_XML_BUT_NUL.search(joined) or joined.count("\x00") != len(texts) - 1:
        return list(map(xml_text, values))  # none, or one XML cannot hold: named
    return joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("\x00")


def document_heads(frames: list[Frame]) -> list[str]:
    """:func:`document_head` of every frame."""
    return list(map(HEAD.format, xml_texts([frame.file_name for frame in frames]), [frame.width for frame in frames],
                    [frame.height for frame in frames]))


def document_head(frame: Frame) -> str:
    """The start of a frame's document, up to its first object."""
    return HEAD.format(xml_text(frame.file_name), frame.width, frame.height)


def flag_keys_only(keys: set) -> bool:
    """True when none of the attribute ``keys`` is a pose, ``part_of`` or action key."""
    return "pose" not in keys and PART_KEY not in keys and not any(
        isinstance(key, str) and key.startswith(ACTION_PREFIX) for key in keys)


@dataclass
class VocLabels:
    """The classes written as objects, each with the names of its parts and actions, in order."""

    classes: dict[str, tuple[dict, dict]] = field(default_factory=dict)

    def add(self, name: str, parts: list[str], actions: list[str]) -> None:
        """Record one object of class ``name``."""
        own_parts, own_actions = self.classes.setdefault(name, ({}, {}))
        if parts:
            own_parts.update(dict.fromkeys(parts))
        if actions:
            own_actions.update(dict.fromkeys(actions))

    def merge(self, other: VocLabels) -> None:
        """Add every class of ``other``."""
        for name, (parts, actions) in other.classes.items():
            self.add(name, list(parts), list(actions))

    def text(self, report: ConversionReport) -> bytes:
        """``labelmap.txt`` as datumaro reads it: ``name:color:parts:actions`` per class, sorted
        (colours left to the reader); a part that is also a class is not listed as a part."""
        lines = ["# label:color_rgb:parts:actions"]
        for name in sorted(self.classes):
            parts, actions = self.classes[name]
            listed_parts = [part for part in parts if part not in self.classes]
            for label in (name, *listed_parts, *actions):
                if ":" in label or "," in label or label != label.strip() or label.startswith("#"):
                    report.note("name with ':', ',', '#' or outer spaces, which labelmap.txt cannot hold",
                                f"labelmap.txt class {name!r}")
            lines.append(f"{name}::{','.join(listed_parts)}:{','.join(actions)}")
        return ("\n".join(lines) + "\n").encode()


# Plain tables (no parts or actions; flags 0 or 1; poses allowed), the common case, column by column: an
# object's text is its opening (the name, the pose and the flags: made once per distinct triple) and
# its four bounds, each followed by the literal after it (from a cached table per bound), the object's
# end after ymax; each document joined once.
_LITERALS = OBJECT.format(*["{}"] * 5, BOX.format(" " * 8, *["{}"] * 4), "").split("{}")  # before the name,
# between it and the pose, around the three flags, after the flags and the four bounds
_FLAG_TEXTS = ["{}".join(_LITERALS[2:6]).format(code >> 2, code >> 1 & 1, code & 1) for code in range(8)]
_FLAG_WEIGHTS = dict(zip(VOC_FLAGS, (4, 2, 1)))
_BOUND_ENDS = np.array(_LITERALS[6:10], object)  # after xmin, ymin, xmax; after ymax the object's end
_VALUE = itemgetter("value")


def object_attributes(attribute_lists: list) -> tuple[np.ndarray, list[str] | None] | None:
    """Per row its flag code ``4 * truncated + 2 * occluded + difficult`` and its pose (all None when no
    row has a pose key), as ``pascalvoc.voc_attributes`` reads them; None when some row has a
    ``part_of`` or action key, or a flag other than 0 or 1."""
    flat = list(chain.from_iterable(filter(None, attribute_lists)))  # (None: no attributes)
    lengths = np.fromiter(map(length_hint, attribute_lists), np.int64, len(attribute_lists))
    if lengths.sum() != len(flat):
        raise ValueError("attributes that are not lists")
    keys = values_of(flat, "key")
    named = set(keys)
    if not flag_keys_only(named - {"pose"}):
        return None
    types = values_of(flat, "type")
    if "switch" not in types and "pose" not in named:
        return np.zeros(len(lengths), np.int64), None
    attributes, row_of = np.fromiter(flat, object, len(flat)), np.repeat(np.arange(len(lengths)), lengths)
    switch = np.fromiter(types, object, len(types)) == "switch"
    codes = _flag_codes(attributes, keys, switch, row_of, len(lengths))
    if codes is None or "pose" not in named:
        return None if codes is None else (codes, None)
    is_pose = (np.fromiter(keys, object, len(keys)) == "pose") & ~switch
    return codes, _poses(attributes[is_pose], row_of[is_pose], len(lengths))


def _firsts(positions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The first of the ascending ``positions`` of each distinct value of ``groups`` (one per position)."""
    return positions[np.unique(groups, return_index=True)[1]]


def _flag_codes(attributes: np.ndarray, keys: list, switch: np.ndarray, row_of: np.ndarray, count: int
                ) -> np.ndarray | None:
    """Per row its flag code from the first switch of each flag (None: a flag other than 0 or 1)."""
    weights = np.fromiter(map(_FLAG_WEIGHTS.get, keys, repeat(0)), np.int64, len(keys))
    flags = np.flatnonzero(weights * switch)
    read = _firsts(flags, row_of[flags] * 8 + weights[flags])
    values = list(map(int, values_of(attributes[read].tolist(), "value")))
    if not set(values) <= {0, 1}:
        return None
    return np.bincount(row_of[read], weights[read] * np.array(values, np.int64), count).astype(np.int64)


def _poses(attributes: np.ndarray, row_of: np.ndarray, count: int) -> list[str]:
    """Per row the text of its first pose attribute with a value (of ``attributes``, those of the key
    ``pose`` that are not switches, their rows ``row_of``), else Unspecified."""
    values = values_of(attributes.tolist(), "value")
    given = np.flatnonzero(np.fromiter(map(bool, values), bool, len(values)))
    chosen = _firsts(given, row_of[given])
    poses = np.full(count, UNSPECIFIED, object)
    poses[row_of[chosen]] = [str(values[position]) or UNSPECIFIED for position in chosen.tolist()]
    return poses.tolist()


@lru_cache(maxsize=8)
def _small_integers(size: int) -> np.ndarray:
    return np.array([str(number) for number in range(size)], object)


def _small_enough(numbers: np.ndarray) -> bool:
    return bool(numbers.size) and numbers.min() >= 0 and numbers.max() < 1 << 16


def _table_size(numbers: np.ndarray) -> int:
    return max(4096, 1 << int(numbers.max()).bit_length())


def integer_texts(numbers: np.ndarray) -> np.ndarray:
    """``str`` of every integer of ``numbers``, an object array of the same shape (small
    non-negative ones from a cached table)."""
    if not _small_enough(numbers):
        return np.fromiter(map(str, numbers.ravel().tolist()), object, numbers.size).reshape(numbers.shape)
    return _small_integers(_table_size(numbers))[numbers]


@lru_cache(maxsize=8)
def _small_bounds(size: int) -> np.ndarray:
    return _small_integers(size)[:, None] + _BOUND_ENDS


def bound_texts(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(texts, index)``: texts of integer bounds, each followed by what follows it in a plain object
    (the next bound's opening tag; after ymax the object's end), and per bound of the ``(rows, 4)``
    ``boxes`` the index of its text."""
    if not _small_enough(boxes):
        return (integer_texts(boxes) + _BOUND_ENDS).ravel(), np.arange(boxes.size).reshape(boxes.shape)
    return _small_bounds(_table_size(boxes)).ravel(), boxes * 4 + np.arange(4)


def object_openings(names: list[str], codes: np.ndarray, poses: list[str] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(texts, index)``: the distinct openings of objects (their text up to the first bound: the
    name and the pose escaped, the flags of ``codes``) and per row of ``names`` the index of its opening."""
    name_of, distinct_names = value_codes_of(names)
    pose_of, distinct_poses = value_codes_of(poses) if poses is not None else (0, [UNSPECIFIED])
    width = len(distinct_poses)
    kinds, kind_of = np.unique((name_of * width + pose_of) * 8 + codes, return_inverse=True)
    texts = [_LITERALS[0] + xml_text(distinct_names[(kind >> 3) // width]) + _LITERALS[1]
             + xml_text(distinct_poses[(kind >> 3) % width]) + _FLAG_TEXTS[kind & 7] for kind in kinds.tolist()]
    return np.array(texts, object), kind_of.reshape(-1)


def _picked(items: list, rows: np.ndarray) -> list:
    """``[items[row] for row in rows]``."""
    if len(rows) == len(items):  # every row, in order
        return items
    return np.fromiter(items, object, len(items))[rows].tolist()


def plain_documents(table: AnnotationTable, rows: np.ndarray, boxes: np.ndarray
                    ) -> tuple[list[tuple[str, str]], VocLabels] | None:
    """``pascalvoc.voc_documents`` of the kept ``rows`` (their ``boxes``) of a plain table (poses
    included), or None when the table is not plain (parts, actions, flags other than 0 or 1)."""
    annotations = _picked(table.annotations, rows)
    read = object_attributes(values_of(annotations, "attributes"))
    if read is None:
        return None
    codes, poses = read
    names = list(map(str, map(_VALUE, annotations)))
    labels = VocLabels({name: ({}, {}) for name in dict.fromkeys(names)})
    order = np.argsort(table.frame[rows], kind="stable")  # a frame's objects in row order
    openings, opening_of = object_openings(_picked(names, order), codes[order], poses and _picked(poses, order))
    bounds, bound_of = bound_texts(boxes[order])
    # per row: its opening, then each bound and what follows it
    pieces = np.concatenate([openings, bounds])[np.column_stack([opening_of, bound_of + len(openings)])]
    return joined_documents(table.frames, table.frame[rows[order]], pieces), labels


def joined_documents(frames: list[Frame], frame_of: np.ndarray, pieces: np.ndarray) -> list[tuple[str, str]]:
    """``(file name, text)`` of each of ``frames``: its head, the ``pieces`` of its objects (a row
    each, their ``frame_of`` ascending), the end."""
    flat = pieces.ravel().tolist()
    ends = (np.cumsum(np.bincount(frame_of, minlength=len(frames))) * pieces.shape[1]).tolist()
    return [(frame.file_name, "".join([head, *flat[start:end], TAIL]))
            for frame, head, start, end in zip(frames, document_heads(frames), [0, *ends], ends)]
