"""The ``<meta>`` of a CVAT XML file: its labels (kind, attribute specs, skeleton nodes and edges)
and, for a video task, its frames (start, stop, step) and size; and the same written back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...pascalvoc import xml_text

# CVAT attribute input types -> FastLabel attribute types (a checkbox is one boolean in CVAT)
INPUT_TYPES = {"checkbox": "switch", "radio": "radio", "select": "select", "text": "text", "number": "text"}
FASTLABEL_INPUTS = {"switch": "checkbox", "radio": "radio", "select": "select", "text": "text"}
_EDGE = re.compile(r'data-type="edge"[^>]*?data-node-from="(\d+)"[^>]*?data-node-to="(\d+)"'
                   r'|data-node-from="(\d+)"[^>]*?data-node-to="(\d+)"[^>]*?data-type="edge"')
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_NODE = re.compile(r'<circle[^>]*?data-node-id="(\d+)"[^>]*?data-label-name="([^"]*)"')


@dataclass
class LabelSpec:
    """One CVAT label: its shape kind, attribute specs ``{name: (input type, [values])}`` and, for a
    skeleton, its nodes (sublabel names in order) and edges (pairs of node names)."""

    kind: str = "any"
    color: str | None = None
    attributes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CvatMeta:
    """What a file's ``<meta>`` says."""

    labels: dict[str, LabelSpec] = field(default_factory=dict)
    name: str = ""
    size: int = 0
    start: int = 0
    stop: int | None = None
    step: int = 1
    width: int = 0
    height: int = 0
    types: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict, repr=False)  # looked up
    colors: dict[str, dict] = field(default_factory=dict, repr=False)  # looked up
    label_typing: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict, repr=False)  # looked up
    heads: dict[tuple[str, str], dict] = field(default_factory=dict, repr=False)  # looked up

    def attribute_type(self, label: str, name: str) -> tuple[str, bool]:
        """The FastLabel type of attribute ``name`` of ``label`` and whether it is a CVAT number."""
        known = self.types.get((label, name))
        if known is None:
            known = self.types[label, name] = self._attribute_type(label, name)
        return known

    def head(self, kind: str, label: str) -> dict:
        """``{"type": kind, "value": label}`` and the label's colour: how an annotation of them starts
        (to be copied, not changed)."""
        head = self.heads[kind, label] = {"type": kind, "value": label, **self.color(label)}
        return head

    def label_types(self, label: str) -> dict[str, tuple[str, bool]]:
        """The attribute types of ``label`` looked up so far (``{name: attribute_type(label, name)}``,
        for the caller to fill)."""
        types = self.label_typing.get(label)
        if types is None:
            types = self.label_typing[label] = {}
        return types

    def color(self, label: str) -> dict:
        """``{"color": "#rrggbb"}`` of a label that has one in ``<meta>``, else ``{}`` (not to be changed)."""
        known = self.colors.get(label)
        if known is None:
            spec = self.labels.get(label)
            known = self.colors[label] = {"color": spec.color} if spec is not None and spec.color else {}
        return known

    def _attribute_type(self, label: str, name: str) -> tuple[str, bool]:
        spec = self.labels.get(label)
        input_type = spec.attributes.get(name, ("text", []))[0] if spec else "text"
        return INPUT_TYPES.get(input_type, "text"), input_type == "number"


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return default


def parse_meta(meta) -> CvatMeta:
    """The labels and frames of a ``<meta>`` element (a task's or a project's)."""
    task = meta.find("task")
    found = CvatMeta(name=(task.findtext("name") if task is not None else None) or "")
    found.name = (meta.findtext("source") or found.name).strip()
    if task is not None:
        found.size, found.start = _int(task.findtext("size")), _int(task.findtext("start_frame"))
        stop = task.findtext("stop_frame")
        found.stop = _int(stop) if stop is not None else None
        step = re.search(r"step\s*=\s*(\d+)", task.findtext("frame_filter") or "")
        found.step = max(int(step.group(1)), 1) if step else 1
        found.width = _int(task.findtext("original_size/width"))
        found.height = _int(task.findtext("original_size/height"))
    parents: dict[str, list[str]] = {}
    for label in meta.iter("label"):
        name = label.findtext("name") or ""
        parent = label.findtext("parent")
        if parent:
            parents.setdefault(parent, []).append(name)
            continue
        found.labels[name] = _label_spec(label)
    for parent, nodes in parents.items():
        spec = found.labels.setdefault(parent, LabelSpec("skeleton"))
        spec.nodes = nodes
    return found


def _label_spec(label) -> LabelSpec:
    spec = LabelSpec((label.findtext("type") or "any").strip(), (label.findtext("color") or "").strip() or None)
    for attribute in label.iter("attribute"):
        values = [v for v in (attribute.findtext("values") or "").split("\n") if v]
        spec.attributes[attribute.findtext("name") or ""] = ((attribute.findtext("input_type") or "text").strip(),
                                                             values)
    svg = label.findtext("svg") or ""
    nodes = {node_id: name for node_id, name in _NODE.findall(svg)}
    for match in _EDGE.finditer(svg):
        start, end = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        if start in nodes and end in nodes:
            spec.edges.append((nodes[start], nodes[end]))
    return spec


# writing: the labels of what was written, merged across chunks


@dataclass
class LabelBook:
    """The labels written: per label its shape kinds, attribute specs and skeleton nodes/edges."""

    kinds: dict[str, dict[str, None]] = field(default_factory=dict)
    attributes: dict[str, dict[str, tuple[str, dict[str, None]]]] = field(default_factory=dict)
    nodes: dict[str, dict[str, None]] = field(default_factory=dict)
    edges: dict[str, dict[tuple[str, str], None]] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, kind: str, attributes: list[tuple[str, str, str]], color: object = None) -> None:
        """Record a shape of ``kind`` with ``(name, input type, value)`` attributes (and the
        label's colour, the first one given)."""
        self.kinds.setdefault(label, {})[kind] = None
        if isinstance(color, str) and _COLOR.fullmatch(color):
            self.colors.setdefault(label, color)
        specs = self.attributes.setdefault(label, {})
        for name, input_type, value in attributes:
            known_type, values = specs.setdefault(name, (input_type, {}))
            if known_type != input_type:
                specs[name] = ("text", values)
            values[value] = None

    def add_skeleton(self, label: str, nodes: list[str], edges: list[tuple[str, str]]) -> None:
        """Record the nodes and edges of a skeleton of ``label``."""
        self.nodes.setdefault(label, {}).update(dict.fromkeys(nodes))
        self.edges.setdefault(label, {}).update(dict.fromkeys(edges))

    def merge(self, other: LabelBook) -> None:
        """Add everything of ``other``."""
        for label, kinds in other.kinds.items():
            for kind in kinds:
                self.add(label, kind, [(name, input_type, value)
                                       for name, (input_type, values) in other.attributes.get(label, {}).items()
                                       for value in values], other.colors.get(label))
        for label, nodes in other.nodes.items():
            self.add_skeleton(label, list(nodes), list(other.edges.get(label, {})))

    def xml(self) -> str:
        """The ``<labels>`` element (skeleton nodes as labels with a ``<parent>``)."""
        parts = ["      <labels>\n"]
        for label, kinds in self.kinds.items():
            kind = next(iter(kinds)) if len(kinds) == 1 else "any"
            parts.append(_label_xml(label, kind, self.attributes.get(label, {}), self._svg(label), None,
                                    self.colors.get(label)))
            for node in self.nodes.get(label, {}) if kind == "skeleton" else ():
                parts.append(_label_xml(node, "points", {}, "", label))
        parts.append("      </labels>\n")
        return "".join(parts)

    def _svg(self, label: str) -> str:
        nodes = list(self.nodes.get(label, {}))
        if not nodes:
            return ""
        ids = {node: number for number, node in enumerate(nodes, 1)}
        edges = "".join(f'<line x1="0" y1="0" x2="0" y2="0" data-type="edge" data-node-from="{ids[a]}" '
                        f'data-node-to="{ids[b]}"></line>' for a, b in self.edges.get(label, {}))
        circles = "".join(f'<circle r="1.5" cx="{number}" cy="{number}" data-type="element node" '
                          f'data-element-id="{number}" data-node-id="{number}" data-label-name="{_quoted(node)}">'
                          "</circle>" for node, number in ids.items())
        return edges + circles


KIND_TYPES = {"box": "rectangle", "polygon": "polygon", "polyline": "polyline", "points": "points",
              "ellipse": "ellipse", "mask": "mask", "skeleton": "skeleton", "tag": "tag"}


def _quoted(text: str) -> str:
    return xml_text(text).replace('"', "&quot;")


def _label_xml(name: str, kind: str, attributes: dict, svg: str, parent: str | None, color: str | None = None
               ) -> str:
    lines = [f"        <label>\n          <name>{xml_text(name)}</name>\n",
             f"          <color>{color}</color>\n" if color else "",
             f"          <type>{KIND_TYPES.get(kind, 'any')}</type>\n"]
    if parent is not None:
        lines.append(f"          <parent>{xml_text(parent)}</parent>\n")
    if svg:
        lines.append(f"          <svg>{xml_text(svg)}</svg>\n")
    lines.append("          <attributes>\n")
    for attribute, (input_type, values) in attributes.items():
        listed = list(values) if input_type != "text" else []
        default = listed[0] if listed else ""
        if input_type == "checkbox":
            listed, default = ["false", "true"], "false"
        lines.append(f"            <attribute>\n              <name>{xml_text(attribute)}</name>\n"
                     f"              <mutable>False</mutable>\n              <input_type>{input_type}</input_type>\n"
                     f"              <default_value>{xml_text(default)}</default_value>\n"
                     f"              <values>{xml_text(chr(10).join(listed))}</values>\n            </attribute>\n")
    lines.append("          </attributes>\n        </label>\n")
    return "".join(lines)
