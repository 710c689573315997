"""The compact JSON of the COCO records of plain boxes (most rows of a detection dataset), made
from their numbers at once rather than record by record: each number as orjson writes it, put in
the record's bytes as orjson lays a record out."""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from .geometry import integral_to_int
from .jsonparts import number_texts
from .table import AnnotationTable

if TYPE_CHECKING:
    from .coco import CocoRows

# the compact JSON (as orjson writes it) of the record of a plain box: a bbox without keypoints,
# attributes or rotation, its segmentation the closed ring of its corners
PLAIN_BOX_RECORD = (b'{"num_keypoints":0,"keypoints":[],"segmentation":[[%b,%b,%b,%b,%b,%b,%b,%b,%b,%b]],"iscrowd":0,'
                    b'"area":%b,"image_id":%d,"bbox":[%b,%b,%b,%b],"rotation":0,"category_id":%d,"id":%d,'
                    b'"attributes":{}}')


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
    order = rows.order[positions]
    corners = number_texts(list(chain.from_iterable(map(table.points.__getitem__, order.tolist()))))
    areas = number_texts(integral_to_int(rows.area[order]))
    boxes = number_texts(integral_to_int(rows.xywh[order].ravel()))
    image_ids = (table.frame[order] + table.first_frame + 1).tolist()
    return [PLAIN_BOX_RECORD % (x1, y1, x2, y1, x2, y2, x1, y2, x1, y1, area, image, x, y, w, h, category, number)
            for (x1, y1, x2, y2), area, image, (x, y, w, h), category, number
            in zip(zip(*[iter(corners)] * 4), areas, image_ids, zip(*[iter(boxes)] * 4),
                   rows.category[order].tolist(), (first_id + positions).tolist())]

