"""The compact JSON of the COCO records of plain boxes (most rows of a detection dataset), made
from their numbers at once rather than record by record: each number as orjson writes it, put in
the record's bytes as orjson lays a record out."""

from __future__ import annotations

import re
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from .jsonparts import array_texts, number_texts
from .table import AnnotationTable

if TYPE_CHECKING:
    from .sdk_order import CocoRows

# the compact JSON (as orjson writes it) of the record of a plain box: a bbox without keypoints,
# attributes or rotation, its segmentation the closed ring of its corners
PLAIN_BOX_RECORD = (b'{"num_keypoints":0,"keypoints":[],"segmentation":[[%b,%b,%b,%b,%b,%b,%b,%b,%b,%b]],"iscrowd":0,'
                    b'"area":%b,"image_id":%d,"bbox":[%b,%b,%b,%b],"rotation":0,"category_id":%d,"id":%d,'
                    b'"attributes":{}}')
# its constant parts (before, between and after its numbers) and what each number is
PLAIN_BOX_PARTS = re.split(rb"%[bd]", PLAIN_BOX_RECORD)
PLAIN_BOX_TEXTS = PLAIN_BOX_RECORD.replace(b"%d", b"%b")  # every number given as its text
PLAIN_BOX_NUMBERS = ("x1", "y1", "x2", "y1", "x2", "y2", "x1", "y2", "x1", "y1", "area", "image_id",
                     "x", "y", "w", "h", "category_id", "id")


def plain_boxes(table: AnnotationTable, rows: CocoRows) -> np.ndarray:
    """Per record (in ``rows.order``) whether it is a plain box (see :data:`PLAIN_BOX_RECORD`):
    a bbox of 4 coordinates whose annotation has no keypoints, no attributes, and a ``rotation``
    that is absent or the integer 0."""
    plain = rows.kinds[rows.order] == "bbox"
    positions = np.flatnonzero(plain)
    boxes = rows.order[positions].tolist()
    plain[positions] = [("keypoints" not in annotation and "attributes" not in annotation
                         and "rotation" not in annotation or _plain(annotation)) and len(points) == 4
                        for annotation, points in zip(map(table.annotations.__getitem__, boxes),
                                                      map(table.points.__getitem__, boxes))]
    return plain


def _plain(annotation: dict) -> bool:
    """Whether a bbox annotation has no keypoints, no attributes, and a ``rotation`` that is absent
    or the integer 0 (for one that names any of them)."""
    rotation = annotation.get("rotation", 0)
    return not annotation.get("keypoints") and not annotation.get("attributes") and type(rotation) is int \
        and rotation == 0


def plain_box_json(table: AnnotationTable, rows: CocoRows, positions: np.ndarray, first_id: int) -> list[bytes]:
    """The JSON of the plain boxes at ``positions`` of ``rows.order``: each number as orjson
    writes it in the record (dumped together, then split)."""
    if not positions.size:
        return []
    texts = plain_box_texts(table, rows, positions, first_id)
    return [PLAIN_BOX_TEXTS % numbers for numbers in zip(*map(texts.__getitem__, PLAIN_BOX_NUMBERS))]


def plain_boxes_json(table: AnnotationTable, rows: CocoRows, positions: np.ndarray, first_id: int) -> bytes:
    """The records of :func:`plain_box_json` joined by commas, laid out at once: each constant part
    and each number's texts set into one list of pieces by a strided slice, then joined."""
    count = len(positions)
    if not count:
        return b""
    texts = plain_box_texts(table, rows, positions, first_id)
    width = len(PLAIN_BOX_PARTS) + len(PLAIN_BOX_NUMBERS)
    pieces: list[bytes] = [b""] * (width * count)
    for slot, part in enumerate(PLAIN_BOX_PARTS[:-1]):
        pieces[2 * slot::width] = [part] * count
    pieces[width - 1::width] = [PLAIN_BOX_PARTS[-1] + b","] * count
    pieces[-1] = PLAIN_BOX_PARTS[-1]
    for slot, name in enumerate(PLAIN_BOX_NUMBERS):
        pieces[2 * slot + 1::width] = texts[name]
    return b"".join(pieces)


def plain_box_texts(table: AnnotationTable, rows: CocoRows, positions: np.ndarray, first_id: int
                    ) -> dict[str, list[bytes]]:
    """``{number: its text in each record}`` of the plain boxes at ``positions`` of ``rows.order``
    (the names of :data:`PLAIN_BOX_NUMBERS`)."""
    order = rows.order[positions]
    count = len(order)
    corners = number_texts(list(chain.from_iterable(map(table.points.__getitem__, order.tolist()))))
    boxes = array_texts(rows.xywh[order])
    integers = array_texts(np.concatenate([table.frame[order] + table.first_frame + 1, rows.category[order],
                                           first_id + positions]).astype(np.int64))
    return {"x1": corners[0::4], "y1": corners[1::4], "x2": corners[2::4], "y2": corners[3::4],
            "area": array_texts(rows.area[order]), "image_id": integers[:count],
            "x": boxes[0::4], "y": boxes[1::4], "w": boxes[2::4], "h": boxes[3::4],
            "category_id": integers[count:2 * count], "id": integers[2 * count:]}
