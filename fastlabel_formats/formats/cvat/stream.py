"""The top-level elements of a CVAT XML file, one at a time, as the file streams through lxml.

:func:`top_level` gives ``(tag, element)`` for each ``<meta>``, ``<image>``, ``<track>`` and frame
``<tag>`` child of the root, in document order. A file without a DTD goes through a parser target
(:class:`_Collector`): no element tree is built, an ``<image>`` comes as light :class:`Node` s (its
shapes and their children, what the shape readers use of an lxml element) and the rarer ``<meta>``
and ``<track>`` as lxml elements built by a ``TreeBuilder``. A file with a DTD (whose entities only
the tree keeps unresolved) goes through ``iterparse`` instead, each element freed once used.
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
    """An lxml parser target collecting the finished top-level elements in ``done``."""

    def __init__(self) -> None:
        from lxml import etree

        self.tree_builder = etree.TreeBuilder
        self.depth = 0
        self.done: list[tuple[str, object]] = []
        self.image: Node | None = None
        self.shape: Node | None = None
        self.texted: Node | None = None  # the shape child whose text is being read
        self.builder = None  # the TreeBuilder of a <meta> or <track> being read

    def start(self, tag: str, attrib: dict) -> None:
        depth = self.depth = self.depth + 1
        if self.builder is not None:
            self.builder.start(tag, attrib)
        elif depth == 3:
            if self.image is not None:
                self.shape = Node(tag, attrib)
                self.image.append(self.shape)
        elif depth == 4:
            if self.shape is not None:
                self.texted = Node(tag, attrib)
                self.shape.append(self.texted)
        elif depth == 2:
            self._top(tag, attrib)
        else:
            self.texted = None

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
        if self.builder is not None:
            self.builder.end(tag)
            if depth == 2:
                self.done.append((tag, self.builder.close()))
                self.builder = None
        elif depth == 2:
            if self.image is not None:
                self.done.append(("image", self.image))
            self.image = self.shape = None
        elif depth <= 4:
            self.texted = None

    def data(self, text: str) -> None:
        texted = self.texted
        if texted is not None:
            texted.text = text if texted.text is None else texted.text + text
        elif self.builder is not None:
            self.builder.data(text)

    def comment(self, text: str) -> None:
        self.texted = None  # an element's text ends at its first child, a comment too
        if self.builder is not None:
            self.builder.comment(text)

    def pi(self, target: str, data: str | None = None) -> None:
        self.texted = None
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
