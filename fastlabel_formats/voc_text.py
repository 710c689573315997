"""The text of Pascal VOC documents: XML escaping, the official SDK's templates, the classes written
(:class:`VocLabels`), and the documents of plain tables (no parts, actions or poses: most tables)
built column by column, a table at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from operator import methodcaller

import numpy as np

from .errors import FormatError
from .report import ConversionReport
from .table import AnnotationTable
from .tasks import Frame

PART_KEY = "part_of"  # a part's text attribute: the class of the object it belongs to
ACTION_PREFIX = "action."  # an object's actions: switch attributes action.<name>
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
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
PLAIN_OBJECT = OBJECT.format("{}", "Unspecified", "{}", "{}", "{}", BOX.format(" " * 8, "{}", "{}", "{}", "{}"), "")


@lru_cache(maxsize=4096)
def xml_text(value: object) -> str:
    """``value`` as escaped XML character data; FormatError for characters XML cannot hold."""
    text = str(value)
    if _ILLEGAL_XML.search(text):
        raise FormatError(f"{text!r} contains characters that XML 1.0 cannot represent")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


# Plain tables (no parts, actions or poses; flags 0 or 1), the common case, column by column: the
# object text is cut around its four bounds, and each row's pieces joined once per document. What comes
# before the first bound (the end of the object before it, the name and the flags) repeats: it is made
# once per distinct (name, flags, first object of its document or not).
_LITERALS = PLAIN_OBJECT.split("{}")  # before the name, around the three flags and the four bounds, after
_FLAG_TEXTS = ["{}".join(_LITERALS[1:5]).format(code >> 2, code >> 1 & 1, code & 1) for code in range(8)]
_FLAG_WEIGHTS = {"truncated": 4, "occluded": 2, "difficult": 1}
OBJECT_END = _LITERALS[8]
_KEY, _TYPE = methodcaller("get", "key"), methodcaller("get", "type")


def flag_codes(attribute_lists: list) -> np.ndarray | None:
    """Per row ``4 * truncated + 2 * occluded + difficult`` as ``pascalvoc.voc_flags`` reads them, or None
    when some row has a pose, ``part_of`` or action key, or a flag other than 0 or 1."""
    lists = [attributes or () for attributes in attribute_lists]
    flat = list(chain.from_iterable(lists))
    keys = list(map(_KEY, flat))
    if not flag_keys_only(set(keys)):
        return None
    codes = np.zeros(len(lists), np.int64)
    types = list(map(_TYPE, flat))
    if "switch" not in types:
        return codes
    switches = np.array([position for position, kind in enumerate(types) if kind == "switch"], np.int64)
    row_of = np.repeat(np.arange(len(lists)), np.fromiter(map(len, lists), np.int64, len(lists)))[switches]
    switch_keys = [keys[position] for position in switches.tolist()]
    weights = np.fromiter(map(_FLAG_WEIGHTS.get, switch_keys, repeat(0)), np.int64, len(switch_keys))
    for weight in _FLAG_WEIGHTS.values():
        of_key = np.flatnonzero(weights == weight)
        rows = row_of[of_key]
        first = np.ones(len(rows), bool)  # a row's first switch of the key (rows ascend)
        first[1:] = rows[1:] != rows[:-1]
        values = list(map(int, [flat[position].get("value") for position in switches[of_key[first]].tolist()]))
        if not set(values) <= {0, 1}:
            return None
        codes[rows[first]] += weight * np.array(values, np.int64)
    return codes


@lru_cache(maxsize=8)
def _small_integers(size: int) -> np.ndarray:
    return np.array([str(number) for number in range(size)], object)


def integer_texts(numbers: np.ndarray) -> np.ndarray:
    """``str`` of every integer of ``numbers``, an object array of the same shape (small
    non-negative ones from a cached table)."""
    if not numbers.size or numbers.min() < 0 or numbers.max() >= 1 << 16:
        return np.fromiter(map(str, numbers.ravel().tolist()), object, numbers.size).reshape(numbers.shape)
    return _small_integers(max(4096, 1 << int(numbers.max()).bit_length()))[numbers]


def _object_openings(values: list, codes: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per row its object's text up to the first bound (after the end of the object before it,
    unless ``first`` in its document), its name ``values`` escaped."""
    distinct = list(dict.fromkeys(values))
    number_of = {value: number for number, value in enumerate(distinct)}
    names = np.fromiter(map(number_of.__getitem__, values), np.int64, len(values))
    kinds, rows_kind = np.unique((names * 8 + codes) * 2 + first, return_inverse=True)
    texts = [("" if kind & 1 else OBJECT_END) + _LITERALS[0] + xml_text(distinct[kind >> 4])
             + _FLAG_TEXTS[kind >> 1 & 7] for kind in kinds.tolist()]
    return np.fromiter(texts, object, len(texts))[rows_kind]


def _picked(items: list, rows: np.ndarray) -> list:
    """``[items[row] for row in rows]``."""
    return np.fromiter(items, object, len(items))[rows].tolist()


def plain_documents(table: AnnotationTable, rows: np.ndarray, boxes: np.ndarray
                    ) -> tuple[list[tuple[str, str]], VocLabels] | None:
    """``pascalvoc.voc_documents`` of the kept ``rows`` (their ``boxes``) of a plain table, or None
    when the table is not plain."""
    annotations = _picked(table.annotations, rows)
    codes = flag_codes([annotation.get("attributes") for annotation in annotations])
    if codes is None:
        return None
    values = [annotation["value"] for annotation in annotations]
    labels = VocLabels({name: ({}, {}) for name in dict.fromkeys(map(str, values))})
    order = np.argsort(table.frame[rows], kind="stable")  # a frame's objects in row order
    frame_of = table.frame[rows[order]]
    first = np.ones(len(order), np.int64)
    first[1:] = frame_of[1:] != frame_of[:-1]
    pieces = np.empty((len(values), 8), object)  # per row: opening, xmin, text, ymin, text, xmax, text, ymax
    pieces[:, 0] = _object_openings(_picked(values, order), codes[order], first)
    pieces[:, 1::2] = integer_texts(boxes[order])
    pieces[:, 2::2] = _LITERALS[5:8]
    pieces = pieces.ravel().tolist()
    counts = np.bincount(frame_of, minlength=len(table.frames))
    ends = (np.cumsum(counts) * 8).tolist()
    documents = [(frame.file_name, document_head(frame) + "".join(pieces[start:end])
                  + (OBJECT_END + TAIL if start < end else TAIL))
                 for frame, start, end in zip(table.frames, [0, *ends], ends)]
    return documents, labels
