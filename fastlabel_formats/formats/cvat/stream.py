"""The top-level elements of a CVAT XML file, one at a time, as the file streams through lxml.

:func:`top_level` gives ``(tag, element)`` for each ``<meta>``, ``<image>``, ``<track>`` and frame
``<tag>`` child of the root, in document order. A file without a DTD goes through a parser target
(:class:`_Collector`): no element tree is built, an ``<image>`` comes as a light :class:`Node` whose
items are its shapes as records (``[tag, XML attributes, children or None]``, each child
``[tag, XML attributes, text]``; :func:`as_node` makes a record a :class:`Node`), and the rarer
``<meta>`` and ``<track>`` as lxml elements built by a ``TreeBuilder``. A file with a DTD (whose
entities only the tree keeps unresolved) goes through ``iterparse`` instead, each element freed once
used (:func:`element_records` gives the records of such an ``<image>``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

TOP_LEVEL = ("meta", "image", "track", "tag")
SAFE_PARSING = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}
FEED_BYTES = 1 << 16
_BUILT = frozenset({"meta", "track"})  # top-level elements handed on as lxml elements


class Node(list):
    """An element of an ``<image>`` as read by :class:`_Collector`: the list of its element
    children, with its tag, XML attributes (in document order; ``get`` as an element's) and text
    before its first child (None when none)."""

    __slots__ = ("tag", "attrib", "get", "text")

    def __init__(self, tag: str, attrib: dict) -> None:  # the list starts empty
        self.tag, self.attrib, self.get, self.text = tag, attrib, attrib.get, None

    def items(self):
        return self.attrib.items()

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


class _Collector:
    """An lxml parser target collecting the finished top-level elements in ``done``.

    Text comes in through ``data``, which is ``texts.append`` (no Python call per piece of text, most
    of them the blanks between elements): at the next start, end, comment or processing instruction
    the pieces since the last one are the text of the element being read (see :meth:`_text`) or
    dropped."""

    def __init__(self) -> None:
        from lxml import etree

        self.tree_builder = etree.TreeBuilder
        self.depth = 0
        self.done: list[tuple[str, object]] = []
        self.image: Node | None = None  # its items: shape records (see the module's docstring)
        self.texted: list | None = None  # the record of the shape child whose text is being read
        self.builder = None  # the TreeBuilder of a <meta> or <track> being read
        self.texts: list[str] = []  # the pieces of text since the last event
        self.data = self.texts.append

    def _text(self) -> None:
        """Hand the pieces of text read since the last event to the element they belong to (the
        shape child being read: its text ends here; a ``<meta>`` or ``<track>``) or drop them."""
        texts = self.texts
        if self.texted is not None:
            self.texted[2] = "".join(texts) if texts else None
            self.texted = None
        elif self.builder is not None and texts:
            self.builder.data("".join(texts))
        texts.clear()

    def start(self, tag: str, attrib: dict) -> None:
        depth = self.depth = self.depth + 1
        if self.texted is not None or self.builder is not None:
            self._text()
        elif self.texts:
            self.texts.clear()  # blanks between elements
        if self.builder is not None:
            self.builder.start(tag, attrib)
        elif depth == 3:
            if self.image is not None:
                self.image.append([tag, attrib, None])
        elif depth == 4:
            if self.image is not None:
                shape = self.image[-1]
                self.texted = child = [tag, attrib, None]
                if shape[2] is None:
                    shape[2] = [child]
                else:
                    shape[2].append(child)
        elif depth == 2:
            self._top(tag, attrib)

    def _top(self, tag: str, attrib: dict) -> None:
        if tag == "image":
            self.image = Node(tag, attrib)
        elif tag in _BUILT:
            self.builder = self.tree_builder()
            self.builder.start(tag, attrib)
        elif tag == "tag":
            self.done.append((tag, Node(tag, attrib)))

    def end(self, tag: str) -> None:
        depth, self.depth = self.depth, self.depth - 1
        if self.texted is not None or self.builder is not None:
            self._text()
        elif self.texts:
            self.texts.clear()
        if self.builder is not None:
            self.builder.end(tag)
            if depth == 2:
                self.done.append((tag, self.builder.close()))
                self.builder = None
        elif depth == 2:
            if self.image is not None:
                self.done.append(("image", self.image))
            self.image = None

    def comment(self, text: str) -> None:
        self._text()  # an element's text ends at its first child, a comment too
        if self.builder is not None:
            self.builder.comment(text)

    def pi(self, target: str, data: str | None = None) -> None:
        self._text()
        if self.builder is not None:
            self.builder.pi(target, data)

    def doctype(self, *declaration) -> None:
        raise _HasDoctype  # before the root element: nothing was handed on yet

    def close(self) -> None:
        """The end of the document (what was read is in ``done``)."""


def top_level(path: str | os.PathLike[str]) -> Iterator[tuple[str, object]]:
    """``(tag, element)`` of each top-level ``<meta>``, ``<image>``, ``<track>`` and ``<tag>``;
    lxml's XMLSyntaxError for broken XML."""
    from lxml import etree

    collector = _Collector()
    resolve = "internal" if etree.LXML_VERSION >= (5,) else True  # no DTD (see doctype): XML's own entities only
    parser = etree.XMLParser(target=collector, **{**SAFE_PARSING, "resolve_entities": resolve})
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(FEED_BYTES):
                parser.feed(chunk)
                yield from _drain(collector.done)
        parser.close()
    except _HasDoctype:
        yield from _iterparsed(path)
        return
    yield from _drain(collector.done)


class _HasDoctype(Exception):
    """Internal: the file declares a DTD (read through ``iterparse``)."""


def _drain(done: list) -> Iterator[tuple[str, object]]:
    items = done[:]
    done.clear()
    yield from items


def _iterparsed(path: str | os.PathLike[str]) -> Iterator[tuple[str, object]]:
    """:func:`top_level` through ``iterparse`` (each top-level element freed once used)."""
    from lxml import etree

    for _, element in etree.iterparse(str(path), events=("end",), tag=TOP_LEVEL, **SAFE_PARSING):
        parent = element.getparent()
        if parent is None or parent.getparent() is not None:
            continue  # not a child of the root: read with its parent
        yield element.tag, element
        _release(element)


def _release(element) -> None:
    """Free a read element and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


def as_node(record: list) -> Node:
    """A shape record as a :class:`Node` (its children as Nodes with their text)."""
    tag, attrib, children = record
    node = Node(tag, attrib)
    for child_tag, child_attrib, text in children or ():
        child = Node(child_tag, child_attrib)
        child.text = text
        node.append(child)
    return node


def element_records(image) -> list[list]:
    """The shape records of an lxml ``<image>`` element (comments and processing instructions left out)."""
    return [[shape.tag, dict(shape.items()),
             [[child.tag, dict(child.items()), child.text] for child in shape if child.tag.__class__ is str] or None]
            for shape in image if shape.tag.__class__ is str]
