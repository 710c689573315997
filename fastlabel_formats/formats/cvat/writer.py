"""FastLabel -> CVAT for images 1.1 (``annotations.xml``: ``<image>`` elements built per chunk,
spooled, and written after the ``<meta>`` of every label used) and CVAT for video 1.1 (one
``<task name without extension>.xml`` per video task, a ``<track>`` per annotation)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ...errors import FormatError, where
from ...files import atomic_output, basename, is_remote, make_folder
from ...pascalvoc import xml_text
from ...raster import check_raster
from ...report import ConversionReport
from ...run import Target
from ...selection import Policy, apply_policy
from ...table import AnnotationTable, TaskChunk
from .meta import FASTLABEL_INPUTS, LabelBook
from .plain import POINTS_GROUP, PROPERTIES
from .shapes import number_text, number_texts, points_text, segmentation_rle

CVAT_TYPES = ("bbox", "polygon", "line", "keypoint", "circle", "segmentation", "pose_estimation", "classification")
TRACK_TYPES = ("bbox", "polygon", "line", "keypoint", "circle", "segmentation")
CVAT_POLICY = Policy(CVAT_TYPES, keypoint_kinds=("pose_estimation",), pointless=("classification",),
                     skip_degenerate=False)
PROPERTY_NAMES = {name for name, _, _ in PROPERTIES}
HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'


def quoted(value: object) -> str:
    """``value`` as an XML attribute value (without the quotes)."""
    return _quoted_text(value if value.__class__ is str else str(value))


@lru_cache(maxsize=1 << 14)  # labels, attribute names and values repeat
def _quoted_text(text: str) -> str:
    return xml_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


element_text = lru_cache(maxsize=1 << 14)(xml_text)  # xml_text of the texts that repeat (attribute values)


class RowPlace:
    """Where a table's row came from, made text only when a loss is reported there."""

    __slots__ = ("table", "row")

    def __init__(self, table: AnnotationTable, row: int) -> None:
        self.table, self.row = table, row

    def __str__(self) -> str:
        return self.table.place(self.row)


@dataclass(slots=True)
class Shape:
    """One shape to write: its place (text, or a :class:`RowPlace`), annotation, type and points (in this frame)."""

    place: str | RowPlace
    annotation: dict
    kind: str
    points: object
    size: tuple[int, int]
    extra: list = field(default_factory=list)  # further points of a merged CVAT points shape


def _box(shape: Shape, raster: str, report: ConversionReport) -> tuple[str, str] | None:
    x1, y1, x2, y2 = map(float, shape.points)
    rotation = float(shape.annotation.get("rotation") or 0) % 360
    xtl, ytl, xbr, ybr, turn = number_texts([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), rotation])
    return "box", f'xtl="{xtl}" ytl="{ytl}" xbr="{xbr}" ybr="{ybr}"' + (f' rotation="{turn}"' if rotation else "")


def _flat(tag: str):
    def write(shape: Shape, raster: str, report: ConversionReport) -> tuple[str, str] | None:
        points = [*shape.points, *(v for extra in shape.extra for v in extra)] if shape.extra else shape.points
        return tag, f'points="{points_text(points)}"'
    return write


def _circle(shape: Shape, raster: str, report: ConversionReport) -> tuple[str, str] | None:
    cx, cy, radius = shape.points
    r = number_text(radius)
    return "ellipse", f'cx="{number_text(cx)}" cy="{number_text(cy)}" rx="{r}" ry="{r}"'


def _mask(shape: Shape, raster: str, report: ConversionReport) -> tuple[str, str] | None:
    width, height = shape.size
    if not (width and height):
        report.note("segmentation in an image without a size, not written (a CVAT mask needs it)", str(shape.place))
        return None
    found = segmentation_rle(shape.points, width, height, raster)
    if found is None:
        report.note("segmentation covering no pixel, not written", str(shape.place))
        return None
    counts, left, top, box_width, box_height = found
    if not on_pixel_edges(shape.points):
        report.note("segmentation written as a CVAT mask: its outline becomes pixel edges", str(shape.place))
    return "mask", (f'rle="{", ".join(map(str, counts))}" left="{left}" top="{top}" '
                    f'width="{box_width}" height="{box_height}"')


def on_pixel_edges(points: list) -> bool:
    """Whether every ring runs along pixel edges (whole coordinates, no diagonal edge): its mask
    then holds it exactly."""
    for region in points:
        for ring in region:
            vertices = np.asarray(ring, np.float64).reshape(-1, 2)
            steps = np.diff(np.vstack([vertices, vertices[:1]]), axis=0)
            if (vertices != np.round(vertices)).any() or ((steps[:, 0] != 0) & (steps[:, 1] != 0)).any():
                return False
    return True


GEOMETRY = {"bbox": _box, "polygon": _flat("polygon"), "line": _flat("polyline"), "keypoint": _flat("points"),
            "circle": _circle, "segmentation": _mask}


def circle_problem(points: object) -> str | None:
    """Why ``points`` are not a circle ``[cx, cy, r]`` (None when they are)."""
    if not isinstance(points, list) or len(points) != 3:
        return "circle points are not [cx, cy, r]"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in points):
        return "circle points are not finite numbers"
    return None if points[2] > 0 else "circle radius is not positive"


def attribute_parts(shape: Shape, report: ConversionReport) -> tuple[str, list[tuple[str, str, str]]]:
    """The shape's XML properties text and its ``(name, CVAT input type, value)`` attributes;
    FormatError (nothing reported) when a text of the annotation cannot be XML (see :func:`check_texts`)."""
    annotation = shape.annotation
    properties, attributes, texts, retyped = {}, [], [annotation["value"]], []
    for attribute in annotation.get("attributes") or ():
        key, value, kind = attribute.get("key"), attribute.get("value"), attribute.get("type")
        texts.append(key)
        if isinstance(value, list):
            texts += value
        else:
            texts.append(value)
        if not isinstance(key, str) or key == POINTS_GROUP:
            continue
        if key in PROPERTY_NAMES:
            properties[key] = ("1" if value else "0") if key == "occluded" else str(value)
            continue
        input_type = FASTLABEL_INPUTS.get(kind)
        if input_type is None:
            retyped.append(kind)
            input_type = "text"
        text = ("true" if value else "false") if input_type == "checkbox" else \
            ",".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
        attributes.append((key, input_type, text))
    check_text_list(texts + keypoint_keys(annotation) if "keypoints" in annotation else texts)
    for kind in retyped:
        report.note(f"{kind} attribute written as a CVAT text attribute", str(shape.place))
    properties.setdefault("occluded", "0")
    properties.setdefault("z_order", "0")
    return properties_text(tuple(properties.items())), attributes


@lru_cache(maxsize=1 << 12)  # a few combinations repeat
def properties_text(properties: tuple[tuple[str, str], ...]) -> str:
    """``name="value"`` of each property, space separated."""
    return " ".join(f'{name}="{quoted(value)}"' for name, value in properties)


def attribute_children(attributes: list[tuple[str, str, str]], pad: str) -> str:
    """The ``<attribute>`` children."""
    if not attributes:
        return ""
    return "".join(f'{pad}<attribute name="{quoted(name)}">{element_text(value)}</attribute>\n'
                   for name, _, value in attributes)


def skeleton_xml(shape: Shape, label: str, properties: str, attributes: list, book: LabelBook) -> str:
    """The ``<skeleton>`` of a pose annotation (a keypoint without a value: ``outside``)."""
    keypoints = [k for k in shape.annotation.get("keypoints") or () if isinstance(k, dict) and k.get("key")]
    nodes, edges, children = [], [], []
    for keypoint in keypoints:
        key, value = str(keypoint["key"]), keypoint.get("value") or []
        nodes.append(key)
        edges += [(key, str(other)) for other in keypoint.get("edges") or () if (str(other), key) not in edges]
        visible = len(value) >= 2
        x, y = (value[0], value[1]) if visible else (0, 0)
        occluded = "1" if visible and len(value) > 2 and value[2] == 0 else "0"
        children.append(f'      <points label="{quoted(key)}" points="{number_text(x)},{number_text(y)}" '
                        f'outside="{"0" if visible else "1"}" occluded="{occluded}"/>\n')
    book.add_skeleton(label, nodes, [(a, b) for a, b in edges if a in nodes and b in nodes])
    return (f'    <skeleton label="{quoted(label)}" {properties}>\n{"".join(children)}'
            f'{attribute_children(attributes, "      ")}    </skeleton>\n')


def image_shape_xml(shape: Shape, raster: str, report: ConversionReport, book: LabelBook) -> str:
    """The XML of one shape of an ``<image>`` ('' when it cannot be written, reported)."""
    label = str(shape.annotation["value"])
    try:
        properties, attributes = attribute_parts(shape, report)
    except (FormatError, TypeError) as error:
        report.note(UNWRITABLE_TEXT.format("annotation"), f"{shape.place}: {error}")
        return ""
    if shape.kind == "pose_estimation":
        book.add(label, "skeleton", attributes, shape.annotation.get("color"))
        return skeleton_xml(shape, label, properties, attributes, book)
    if shape.kind == "classification":
        book.add(label, "tag", attributes, shape.annotation.get("color"))
        tag_properties = " ".join(p for p in properties.split(" ") if not p.startswith(("occluded=", "z_order=")))
        return (f'    <tag label="{quoted(label)}"{" " + tag_properties if tag_properties else ""}>\n'
                f'{attribute_children(attributes, "      ")}    </tag>\n')
    geometry = GEOMETRY[shape.kind](shape, raster, report)
    if geometry is None:
        return ""
    tag, geometry_text = geometry
    book.add(label, tag, attributes, shape.annotation.get("color"))
    return (f'    <{tag} label="{quoted(label)}" {properties} {geometry_text}>\n'
            f'{attribute_children(attributes, "      ")}    </{tag}>\n')


def group_key(annotation: dict) -> object:
    """The ``cvat_points`` value that ties keypoints into one CVAT points shape (None: alone)."""
    for attribute in annotation.get("attributes") or ():
        if attribute.get("key") == POINTS_GROUP:
            return (annotation.get("value"), str(attribute.get("value")))
    return None


def merged_points(shapes: list[Shape]) -> list[Shape]:
    """``shapes`` with the keypoints of one ``cvat_points`` group folded into the first of them."""
    kept, first_of = [], {}
    for shape in shapes:
        key = group_key(shape.annotation) if shape.kind == "keypoint" else None
        if key is not None and key in first_of:
            first_of[key].extra.append(shape.points)
            continue
        if key is not None:
            first_of[key] = shape
        kept.append(shape)
    return kept


def image_fragment(table: AnnotationTable, raster: str, report: ConversionReport) -> tuple[bytes, LabelBook]:
    """The ``<image>`` elements of a table's frames and the labels they use."""
    keep = apply_policy(table, CVAT_POLICY, report)
    per_frame: list[list[Shape]] = [[] for _ in table.frames]
    sizes = [(frame.width, frame.height) for frame in table.frames]
    frame_of = table.frame.tolist()
    for row in np.flatnonzero(keep).tolist():
        kind, points = table.kinds[row], table.points[row]
        problem = circle_problem(points) if kind == "circle" else None
        if problem:
            report.note(f"malformed annotation skipped ({problem})", table.place(row))
            continue
        frame = frame_of[row]
        per_frame[frame].append(Shape(RowPlace(table, row), table.annotations[row], kind, points, sizes[frame]))
    book, parts = LabelBook(), []
    for number, (frame, shapes) in enumerate(zip(table.frames, per_frame), table.first_frame):
        try:
            name = quoted(frame.file_name)
        except FormatError:
            report.note(UNWRITABLE_TEXT.format("image name"), where(table.source, frame.name))
            continue
        body = "".join(image_shape_xml(shape, raster, report, book) for shape in merged_points(shapes))
        parts.append(f'  <image id="{number}" name="{name}" width="{frame.width}" '
                     f'height="{frame.height}">\n{body}  </image>\n')
    return "".join(parts).encode(), book


UNWRITABLE_TEXT = "{} with characters XML cannot hold, skipped"


def check_texts(annotation: dict) -> None:
    """FormatError when the value, an attribute or a keypoint key holds characters XML cannot."""
    texts = [annotation["value"]]
    for attribute in annotation.get("attributes") or ():
        value = attribute.get("value")
        texts += [attribute.get("key"), *(value if isinstance(value, list) else [value])]
    check_text_list(texts + keypoint_keys(annotation))


def keypoint_keys(annotation: dict) -> list:
    """The keys of an annotation's keypoints."""
    keypoints = annotation.get("keypoints")
    return [keypoint.get("key") for keypoint in keypoints if isinstance(keypoint, dict)] if keypoints else []


def check_text_list(texts: list) -> None:
    """FormatError naming the first of ``texts`` that holds characters XML cannot."""
    try:
        xml_text("\n".join(map(str, texts)))  # all at once; one by one for the message naming the text
    except FormatError:
        for text in texts:
            xml_text(str(text))


def meta_xml(book: LabelBook, size: int, name: str, mode: str, extra: str = "") -> str:
    """The ``<meta>`` of a written file."""
    frames = f"      <start_frame>0</start_frame>\n      <stop_frame>{max(size - 1, 0)}</stop_frame>\n"
    return (f"  <meta>\n    <task>\n      <name>{xml_text(name)}</name>\n      <size>{size}</size>\n"
            f"      <mode>{mode}</mode>\n{frames}{book.xml()}{extra}    </task>\n  </meta>\n")


class CvatTarget(Target):
    """CVAT XML: ``annotations.xml`` for image tasks, ``<name>.xml`` per video task."""

    name = "cvat"
    geometry = frozenset(("bbox", "polygon", "line", "keypoint", "segmentation"))

    def __init__(self, output_dir, *, raster: str = "staircase") -> None:
        super().__init__(output_dir)
        self.raster = check_raster(raster)
        self.book, self.images, self._spool = LabelBook(), 0, None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_spool": None}  # the spool stays with the parent

    def survey(self, chunk: TaskChunk) -> dict[str, int] | None:
        """For video tasks: each task's frame count (its track ends there)."""
        counts: dict[str, int] = {}
        for frame in chunk.frames:
            if frame.key is not None:
                counts[frame.name] = counts.get(frame.name, 0) + 1
        return counts or None

    def plan(self, survey: dict[str, int] | None) -> dict[str, int] | None:
        return survey

    def encode(self, table: AnnotationTable, plan: object, report: ConversionReport) -> tuple:
        """``("video", written files)`` of a video table, ``("images", <image> elements, labels,
        frame count)`` of an image table."""
        if table.is_video:
            from .video_writer import video_files

            return "video", video_files(self, table, plan or {}, report)
        fragment, book = image_fragment(table, self.raster, report)
        return "images", fragment, book, len(table.frames)

    def assemble(self, parts: list[tuple], report: ConversionReport) -> None:
        for chunk_result in parts:
            if chunk_result[0] == "video":
                report.files.extend(chunk_result[1])
                continue
            _, fragment, book, frames = chunk_result
            self.spool().write(fragment)
            self.book.merge(book)
            self.images += frames

    def spool(self):
        """The temporary file holding the ``<image>`` elements written so far."""
        if self._spool is None:
            folder = None
            if not is_remote(self.output_dir):
                make_folder(self.output_dir)
                folder = self.output_dir
            self._spool = tempfile.TemporaryFile(prefix=".annotations.xml.", suffix=".tmp", dir=folder)
        return self._spool

    def finish(self, report: ConversionReport) -> None:
        if not self.images:
            return
        path = self.output("annotations.xml", "annotations.xml")
        try:
            with atomic_output(path) as stream:
                stream.write((HEAD + meta_xml(self.book, self.images, "fastlabel", "annotation")).encode())
                spool = self.spool()
                spool.seek(0)
                while block := spool.read(1 << 20):
                    stream.write(block)
                stream.write(b"</annotations>\n")
        finally:
            self.abort()
        report.files.append(path)

    def abort(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def output_name(task_name: str) -> str:
    """The CVAT for video file of a video task."""
    return basename(task_name) + ".xml"
