"""The short path of reading an ``<image>``'s shapes: labelled boxes, polygons, polylines, points and
tags whose numbers read well (the others go through :mod:`.reader`'s shape readers, with their
reports). What a shape's XML attribute names allow is worked out once per layout (a :class:`Plan`);
an image's numbers are read in one pass; attribute types are looked up per label."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter

from .meta import CvatMeta

# XML attributes of a shape carried as FastLabel attributes: (name, FastLabel type, CVAT's default)
PROPERTIES = (("occluded", "switch", "0"), ("z_order", "text", "0"), ("group_id", "text", "0"),
              ("source", "text", "manual"), ("track_id", "text", None))
GEOMETRY_KEYS = {"box": {"xtl", "ytl", "xbr", "ybr", "rotation"}, "polygon": {"points"}, "polyline": {"points"},
                 "points": {"points"}, "ellipse": {"cx", "cy", "rx", "ry", "rotation"},
                 "mask": {"rle", "left", "top", "width", "height"}, "skeleton": set(), "tag": set()}
TRACK_KEYS = {"frame", "outside", "keyframe"}
PROPERTY_TYPES = {name: (kind, default) for name, kind, default in PROPERTIES}
BASE_KEYS = frozenset(TRACK_KEYS | {"label"})
KNOWN_KEYS = {tag: frozenset(keys | BASE_KEYS) for tag, keys in GEOMETRY_KEYS.items()}  # not carried as attributes
POINTS_GROUP = "cvat_points"  # the keypoints of one CVAT points shape with several points share this value
NUMBER_AS_TEXT = "CVAT number attribute carried as a text attribute"
PLAIN_KINDS = {"box": "bbox", "polygon": "polygon", "polyline": "line", "points": "keypoint", "tag": "classification"}
BOX_CORNERS = ("xtl", "ytl", "xbr", "ybr")
PLANS_KEPT = 256  # layouts remembered (a file has a few)
KNOWN_VALUES = 64  # values of a layout's carried properties remembered


@lru_cache(maxsize=1024)  # shapes of one file have a few layouts of XML attributes
def property_plan(tag: str, names: tuple[str, ...]) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """Of a shape's XML attribute ``names``: the carried properties ``(name, FastLabel type, CVAT's
    default)`` and the names neither geometry nor carried, each in document order."""
    known = KNOWN_KEYS.get(tag, BASE_KEYS)
    carried = [(name, *PROPERTY_TYPES[name]) for name in names if name not in known and name in PROPERTY_TYPES]
    return carried, [name for name in names if name not in known and name not in PROPERTY_TYPES]


class Plan:
    """What the XML attribute names of a shape (``key``: its tag, then the names in document order)
    say about reading it: ``kind`` (its FastLabel type, None when it takes the shape readers'
    way), ``numbers`` (what gives its numbers as text, see :func:`_number_text`), ``carried``
    properties ``(name, FastLabel type, default)`` with ``current`` (what gives their values out of
    the XML attributes, None when none is carried) and ``known`` (see :meth:`properties`), and
    ``outside`` (whether it has that attribute)."""

    __slots__ = ("tag", "kind", "numbers", "carried", "current", "known", "outside")

    def __init__(self, key: tuple[str, ...]) -> None:
        tag, *names = key
        self.tag, self.outside = tag, "outside" in names
        carried, unknown = property_plan(tag, tuple(names))
        self.carried = tuple(carried)
        carried_names = [name for name, _, _ in self.carried]
        self.current = itemgetter(*carried_names) if carried_names else None
        self.known: dict[object, tuple[dict, ...]] = {}
        self.numbers = _number_text(tag, names)
        readable = self.numbers is not _no_numbers or tag == "tag"
        self.kind = PLAIN_KINDS.get(tag) if readable and "label" in names and not unknown else None

    def properties(self, current: object) -> tuple[dict, ...]:
        """The FastLabel attributes of the carried properties whose ``current`` values (as
        ``current`` gives them) are not CVAT's defaults, in document order (remembered in ``known``;
        to be copied, not changed)."""
        values = current if len(self.carried) > 1 else (current,)
        found = tuple({"key": name, "value": value == "1" if kind == "switch" else value, "type": kind}
                      for (name, kind, default), value in zip(self.carried, values) if value != default)
        if len(self.known) >= KNOWN_VALUES:
            self.known.clear()
        self.known[current] = found
        return found


def _number_text(tag: str, names: list[str]) -> Callable[[dict], str | None]:
    """What gives the numbers of a shape of this layout as text out of its XML attributes: a box's
    corners and rotation separated by commas, the points of others (pairs separated by ';'), or None."""
    if tag == "box" and all(corner in names for corner in BOX_CORNERS):
        getter, suffix = (itemgetter(*BOX_CORNERS, "rotation"), "") if "rotation" in names else \
            (itemgetter(*BOX_CORNERS), ",0")

        def box_text(attrib: dict) -> str | None:
            text = ",".join(getter(attrib)) + suffix
            return None if ";" in text else text  # not read as pairs: left to the shape readers
        return box_text
    if tag in ("polygon", "polyline", "points") and "points" in names:
        return itemgetter("points")
    return _no_numbers


def _no_numbers(attrib: dict) -> None:
    return None


PLANS: dict[tuple[str, ...], Plan] = {}


def shape_plan(key: tuple[str, ...]) -> Plan:
    """The :class:`Plan` of a layout (remembered)."""
    plan = PLANS.get(key)
    if plan is None:
        if len(PLANS) >= PLANS_KEPT:
            PLANS.clear()
        plan = PLANS[key] = Plan(key)
    return plan


def plain_parts(plan: Plan, attrib: dict, values: list | None, meta: CvatMeta) -> list[dict] | None:
    """The annotations of a shape of ``plan`` (``kind`` not None) without attributes, when it is
    labelled, in view and its numbers (``values``, taken) are well formed; else None (read the shape
    readers' way)."""
    kind, label = plan.kind, attrib["label"]
    if not label or (plan.outside and attrib["outside"] == "1") or (values is None) is not (kind == "classification"):
        return None
    head = meta.heads.get((kind, label))
    if head is None:
        head = meta.head(kind, label)
    if kind == "bbox":
        if len(values) != 5:
            return None
        annotation, rotation = head.copy(), values.pop()
        annotation["points"], annotation["rotation"] = values, rotation
        return [annotation]
    if kind == "classification":
        return [head.copy()]
    if len(values) % 2 or attrib["points"].count(";") != len(values) // 2 - 1:
        return None  # not x,y pairs: reported by the shape readers
    if kind == "keypoint":
        return [_with_points(head, values[i:i + 2]) for i in range(0, len(values), 2)]
    return [_with_points(head, values)]


def _with_points(head: dict, points: list) -> dict:
    annotation = head.copy()
    annotation["points"] = points
    return annotation


def child_attributes(children: list, label: str, meta: CvatMeta, shape, position: int, tag: str) -> list[dict]:
    """The ``<attribute>`` children of a shape typed by its label's specs (a CVAT number attribute
    reported at the shape: ``shape`` (see :class:`.reader.Shape`), its ``position`` and ``tag``)."""
    types = meta.label_types(label)
    attributes = []
    for child_tag, attrib, text in children:
        if child_tag == "attribute":
            name = attrib.get("name") or ""
            known = types.get(name)
            if known is None:
                known = types[name] = meta.attribute_type(label, name)
            kind = known[0]
            text = text or ""
            attributes.append({"key": name, "value": text.strip() == "true" if kind == "switch" else text,
                               "type": kind})
            if known[1]:
                shape.position, shape.tag = position, tag
                shape.note(NUMBER_AS_TEXT)
    return attributes
