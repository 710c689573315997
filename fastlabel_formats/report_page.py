"""The page of ``report`` (:mod:`fastlabel_formats.report_html`): the counters it shows
(:class:`Tally`) and the HTML — inline CSS, SVG charts, thumbnails as data URIs and a plain
JavaScript class filter and search that read and write the URL's fragment (``#filter=cat&q=...``)."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import orjson

from .columns import bbox_points, row_kinds, value_codes, vertex_bounds
from .evaluation import EvaluationResult
from .report import ConversionReport
from .report_evaluation import STYLE as EVALUATION_STYLE
from .report_evaluation import evaluation_section
from .table import AnnotationTable
from .tasks import Frame

EMPTY_IMAGES_LISTED = 1000  # names of images without annotations listed (all are counted)
CLASSES_SHOWN = 1000  # classes in the chart and the filter (the most frequent)
SIZE_EDGES = 2.0 ** np.arange(0, 16.5, 0.5)  # box width / height bins: half octaves from 1 to 65,536 px
AREA_EDGES = 2.0 ** np.arange(0, 33, 1.0)  # box area bins: octaves from 1 to 2**32 px²
SPLITS = ("train", "val", "test")  # a task name's first folder naming its split
NO_SPLIT = "(no split)"
AREA_TYPES = ("bbox", "polygon", "segmentation")  # the shapes whose bounding boxes are histogrammed


@dataclass
class Card:
    """One thumbnail of the report: its picture (a data URI), caption and the classes it shows."""

    image: str
    caption: str
    classes: list[str]


@dataclass
class Tally:
    """The counters of a report: images, annotations per type and per split and class, box sizes."""

    images: int = 0
    annotations: int = 0
    empty: int = 0
    empty_names: list[str] = field(default_factory=list)
    per_type: Counter = field(default_factory=Counter)
    per_split: dict[str, Counter] = field(default_factory=dict)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(len(SIZE_EDGES) + 1, np.int64))
    heights: np.ndarray = field(default_factory=lambda: np.zeros(len(SIZE_EDGES) + 1, np.int64))
    areas: np.ndarray = field(default_factory=lambda: np.zeros(len(AREA_EDGES) + 1, np.int64))

    def add(self, table: AnnotationTable) -> None:
        """Count one chunk table."""
        self.images += len(table.frames)
        self.annotations += len(table)
        annotated = np.zeros(len(table.frames), bool)
        annotated[table.frame] = True
        for number in np.flatnonzero(~annotated).tolist():
            self.empty += 1
            if len(self.empty_names) < EMPTY_IMAGES_LISTED:
                self.empty_names.append(frame_label(table.frames[number]))
        self.per_type.update(table.kinds)
        self._add_classes(table)
        self._add_sizes(table)

    def _add_classes(self, table: AnnotationTable) -> None:
        splits = list(dict.fromkeys(_split(frame) for frame in table.frames))
        frame_split = np.array([splits.index(_split(frame)) for frame in table.frames], np.int64)
        codes, dictionary = value_codes(table)
        names = [str(value) for value in dictionary] + ["(unusable value)"]
        pairs = frame_split[table.frame] * len(names) + np.where(codes < 0, len(names) - 1, codes)
        counts = np.bincount(pairs, minlength=len(splits) * len(names))
        for pair in np.flatnonzero(counts).tolist():
            split, name = divmod(pair, len(names))
            self.per_split.setdefault(splits[split], Counter())[names[name]] += int(counts[pair])

    def _add_sizes(self, table: AnnotationTable) -> None:
        boxes = np.where((row_kinds(table) == "bbox")[:, None], bbox_points(table), vertex_bounds(table))
        boxes = boxes[np.isin(row_kinds(table), AREA_TYPES) & np.isfinite(boxes).all(axis=1)]
        with np.errstate(over="ignore"):  # a size beyond float range counts in the last bin
            sizes = np.abs(boxes[:, 2:] - boxes[:, :2])
            areas = sizes[:, 0] * sizes[:, 1]
        for counts, values, edges in ((self.widths, sizes[:, 0], SIZE_EDGES), (self.heights, sizes[:, 1], SIZE_EDGES),
                                      (self.areas, areas, AREA_EDGES)):
            counts += np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)

    def classes(self) -> list[str]:
        """Every class, the most frequent first."""
        total = Counter()
        for counts in self.per_split.values():
            total.update(counts)
        return [name for name, _ in sorted(total.items(), key=lambda item: (-item[1], item[0]))]


def _split(frame: Frame) -> str:
    first = frame.file_name.split("/", 1)[0]
    return first if first in SPLITS and "/" in frame.file_name else NO_SPLIT


def frame_label(frame: Frame) -> str:
    return frame.name if frame.key is None else f"{frame.name} frame {frame.key}"


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#223;color:#fff;padding:12px 20px;position:sticky;top:0;z-index:2}
header h1{font-size:18px;margin:0 0 8px}
header label{margin-right:16px}
main{padding:8px 20px 40px}
section{margin:20px 0}
h2{font-size:16px;border-bottom:1px solid #ccc;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 6px}
.numbers{display:flex;flex-wrap:wrap;gap:10px}
.number{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.number b{display:block;font-size:20px}
.row{display:flex;align-items:center;gap:8px;margin:2px 0}
.row .label{width:220px;text-align:right;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
.histograms{display:flex;flex-wrap:wrap;gap:20px}
.grid{display:flex;flex-wrap:wrap;gap:10px}
figure.card{margin:0;background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px;width:262px}
figure.card img{display:block;max-width:256px;max-height:256px;margin:auto;image-rendering:auto}
figcaption{font-size:12px;word-break:break-all;margin-top:4px}
.muted{color:#777}
[hidden]{display:none!important}
ul.names{columns:3;font-size:12px}
"""

SCRIPT = r"""
(function () {
  var errors = [];
  window.addEventListener('error', function (event) {
    errors.push(String(event.message));
    document.body.setAttribute('data-errors', errors.join('; '));
  });
  var select = document.getElementById('class-filter');
  var search = document.getElementById('search');
  function wanted() {
    var params = new URLSearchParams(location.hash.slice(1));
    return {cls: params.get('filter') || '', q: params.get('q') || ''};
  }
  function apply(cls, q) {
    var needle = q.toLowerCase(), shown = 0;
    document.querySelectorAll('[data-classes]').forEach(function (element) {
      var classes = JSON.parse(element.getAttribute('data-classes'));
      var text = (element.getAttribute('data-text') || '').toLowerCase();
      var hide = (cls !== '' && classes.indexOf(cls) < 0) || (needle !== '' && text.indexOf(needle) < 0);
      element.toggleAttribute('hidden', hide);
      if (!hide) { shown += 1; }
    });
    document.querySelectorAll('[data-shown-of]').forEach(function (counter) {
      var box = document.getElementById(counter.getAttribute('data-shown-of'));
      counter.textContent = box.querySelectorAll('[data-classes]:not([hidden])').length;
    });
    document.querySelectorAll('[data-drawn]').forEach(function (kind) {
      var grid = document.getElementById(kind.getAttribute('data-drawn'));
      kind.toggleAttribute('hidden', grid.querySelector('[data-classes]:not([hidden])') === null);
    });
    document.body.setAttribute('data-filter', cls);
    document.body.setAttribute('data-query', q);
    document.body.setAttribute('data-shown', String(shown));
  }
  function changed() {
    var params = new URLSearchParams();
    if (select.value) { params.set('filter', select.value); }
    if (search.value) { params.set('q', search.value); }
    try { history.replaceState(null, '', '#' + params.toString()); } catch (ignored) { /* opened from disk */ }
    apply(select.value, search.value);
  }
  function fromHash() {
    var state = wanted();
    var listed = Array.prototype.some.call(select.options, function (o) { return o.value === state.cls; });
    if (!listed) {
      var option = document.createElement('option');
      option.value = option.textContent = state.cls;
      select.appendChild(option);
    }
    select.value = state.cls;
    search.value = state.q;
    apply(state.cls, state.q);
  }
  select.addEventListener('change', changed);
  search.addEventListener('input', changed);
  window.addEventListener('hashchange', fromHash);
  fromHash();
  document.body.setAttribute('data-ready', '1');
})();
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
SPLIT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _filterable(classes: list[str], text: str) -> str:
    """The attributes the class filter and the search read."""
    return f'data-classes="{_e(orjson.dumps(classes).decode())}" data-text="{_e(text)}"'


@dataclass
class Pictures:
    """The thumbnails of a page: the findings' by kind (at most ``caps``: per kind, in all), and the
    sample's (``sampled`` of ``seen`` images, chosen by ``seed``)."""

    findings: dict[str, list[Card]]
    samples: list[Card]
    seen: int
    seed: int
    caps: tuple[int, int] = (0, 0)


def render_page(title: str, tally: Tally, findings: ConversionReport, pictures: Pictures,
                losses: ConversionReport, evaluation: EvaluationResult | None = None) -> str:
    """The whole HTML document (with an evaluation section when given the ``evaluation`` of predictions)."""
    classes = tally.classes()[:CLASSES_SHOWN]
    options = "".join(f'<option value="{_e(name)}">{_e(name)}</option>' for name in classes)
    scored = evaluation_section(evaluation, classes) if evaluation is not None else ""
    sections = (_summary(tally, findings), scored, _class_chart(tally, classes), _histograms(tally), _empty(tally),
                _findings(findings, pictures), _samples(pictures), _losses(losses))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
            f'<style>{STYLE}{EVALUATION_STYLE}</style></head><body><header><h1>{_e(title)}</h1>'
            f'<label>class <select id="class-filter"><option value="">all classes</option>{options}</select></label>'
            f'<label>search <input id="search" type="search" placeholder="task name, finding, class"></label>'
            f'</header><main>{"".join(sections)}</main><script>{SCRIPT}</script></body></html>\n')


def _summary(tally: Tally, findings: ConversionReport) -> str:
    found = sum(finding.count for finding in findings.findings.values())
    numbers = [("images", tally.images), ("annotations", tally.annotations), ("classes", len(tally.classes())),
               ("images without annotations", tally.empty), ("validate findings", found)]
    cards = "".join(f'<div class="number"><b>{value:,}</b>{_e(name)}</div>' for name, value in numbers)
    types = ", ".join(f"{_e(kind)} {count:,}" for kind, count in tally.per_type.most_common())
    return (f'<section id="summary"><h2>Summary</h2><div class="numbers">{cards}</div>'
            f'<p>annotations per type: {types or "none"}</p></section>')


def _class_chart(tally: Tally, classes: list[str]) -> str:
    """Per class one row of bars, one bar per split (an SVG each, so that filtered rows fold away)."""
    splits = sorted(tally.per_split, key=lambda name: (name not in SPLITS, SPLITS.index(name) if name in SPLITS else 0))
    colours = dict(zip(splits, SPLIT_COLOURS * (len(splits) // len(SPLIT_COLOURS) + 1)))
    top = max((tally.per_split[split][name] for split in splits for name in classes), default=1) or 1
    legend = "".join(f'<span><i style="background:{colours[split]}"></i>{_e(split)}</span>' for split in splits)
    rows = []
    for name in classes:
        bars = "".join(_bar(index, tally.per_split[split][name], top, colours[split], f"{name} in {split}")
                       for index, split in enumerate(splits))
        total = sum(tally.per_split[split][name] for split in splits)
        rows.append(f'<div class="row" {_filterable([name], name)}><span class="label" title="{_e(name)}">'
                    f'{_e(name)}</span><svg width="420" height="{12 * len(splits) + 2}" role="img">{bars}</svg>'
                    f'<span>{total:,}</span></div>')
    more = len(tally.classes()) - len(classes)
    note = f'<p class="muted">{more:,} less frequent class(es) not shown</p>' if more > 0 else ""
    return (f'<section id="classes"><h2>Annotations per class and split (classes shown: '
            f'<span data-shown-of="class-rows">{len(classes)}</span>)</h2><div class="legend">{legend}</div>'
            f'<div id="class-rows">{"".join(rows)}</div>{note}</section>')


def _bar(index: int, count: int, top: int, colour: str, what: str) -> str:
    width = 0 if not count else max(1.0, 400 * count / top)
    return (f'<rect x="0" y="{12 * index + 1}" width="{width:.1f}" height="10" fill="{colour}">'
            f'<title>{_e(what)}: {count:,}</title></rect>')


def _histograms(tally: Tally) -> str:
    charts = (_histogram("box width (px)", tally.widths, SIZE_EDGES), _histogram("box height (px)", tally.heights,
              SIZE_EDGES), _histogram("box area (px²)", tally.areas, AREA_EDGES))
    return (f'<section id="sizes"><h2>Box sizes</h2><p class="muted">bounding boxes of every bbox, polygon and '
            f'segmentation, all classes; bins on a log scale</p><div class="histograms">{"".join(charts)}</div>'
            f'</section>')


def _edge_label(value: float) -> str:
    return f"{value:,.0f}" if value < 1e4 else f"2^{np.log2(value):.0f}"


def _histogram(name: str, counts: np.ndarray, edges: np.ndarray) -> str:
    """An SVG histogram over log-spaced ``edges`` (first bin: below the first edge, last: above the last)."""
    width, height, left, bottom = 480, 180, 44, 30
    step = (width - left - 26) / len(counts)
    top = int(counts.max()) or 1
    labels = ["< " + _edge_label(edges[0])] + [f"{_edge_label(a)} – {_edge_label(b)}" for a, b in zip(edges, edges[1:])]
    labels.append("≥ " + _edge_label(edges[-1]))
    parts = [f'<text x="{left - 4}" y="12" text-anchor="end" font-size="10">{top:,}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="10">0</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#999"/>']
    for index, (count, label) in enumerate(zip(counts.tolist(), labels)):
        bar = (height - bottom - 8) * count / top
        x = left + index * step
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - bar:.1f}" width="{max(step - 1, 1):.1f}" '
                     f'height="{bar:.1f}" fill="#4c78a8"><title>{_e(label)}: {count:,}</title></rect>')
        if index % 4 == 1:
            tick = _e(_edge_label(edges[index - 1]))
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 12}" font-size="9">{tick}</text>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="11">{_e(name)}, log scale</text>')
    return f'<svg class="histogram" width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def _empty(tally: Tally) -> str:
    items = "".join(f'<li {_filterable([], name)}>{_e(name)}</li>' for name in tally.empty_names)
    more = tally.empty - len(tally.empty_names)
    note = f'<p class="muted">… and {more:,} more</p>' if more > 0 else ""
    return (f'<section id="empty"><h2>Images without annotations ({tally.empty:,})</h2>'
            f'<details><summary>list</summary><ul class="names">{items}</ul>{note}</details></section>')


def _cards(cards: list[Card], extra_text: str = "") -> str:
    return "".join(f'<figure class="card" {_filterable(card.classes, f"{extra_text} {card.caption} {card.classes}")}>'
                   f'<img alt="{_e(card.caption)}" src="{card.image}"><figcaption>{_e(card.caption)}</figcaption>'
                   f'</figure>' for card in cards)


def _findings(findings: ConversionReport, pictures: Pictures) -> str:
    parts = []
    for number, (kind, finding) in enumerate(findings.findings.items()):
        cards = pictures.findings.get(kind, [])
        if not cards:
            places = "".join(f"<li>{_e(place)}</li>" for place in finding.examples)
            parts.append(f'<div class="kind"><h3>{finding.count:,} × {_e(kind)} <span class="muted">(none drawn)'
                         f'</span></h3><ul>{places}</ul></div>')
            continue
        more = finding.count - len(cards)
        note = (f'<p class="muted more">… and {more:,} more not drawn (thumbnails of the first {pictures.caps[0]:,} '
                f'of each kind, {pictures.caps[1]:,} in all)</p>' if more > 0 else "")
        parts.append(f'<div class="kind" data-drawn="kind-{number}"><h3>{finding.count:,} × {_e(kind)} '
                     f'<span class="muted">(<span data-shown-of="kind-{number}">{len(cards):,}</span> shown)</span>'
                     f'</h3><div class="grid" id="kind-{number}">{_cards(cards, kind)}</div>{note}</div>')
    body = "".join(parts) or "<p>nothing found</p>"
    return (f'<section id="findings"><h2>Findings</h2><p class="muted">what <code>validate</code> finds, and '
            f'what reading the source skipped; each drawn in its place, up to a cap per kind</p>{body}</section>')


def _samples(pictures: Pictures) -> str:
    cards = pictures.samples
    return (f'<section id="samples"><h2>Sample images (<span data-shown-of="sample-grid">{len(cards)}</span> '
            f'of {pictures.seen:,}, seed {pictures.seed})</h2><div class="grid" id="sample-grid">'
            f'{_cards(cards)}</div></section>')


def _losses(losses: ConversionReport) -> str:
    if losses.ok:
        return ""
    items = "".join(f"<li>{finding.count:,} × {_e(kind)}: {_e('; '.join(finding.examples[:3]))}</li>"
                    for kind, finding in losses.findings.items())
    return f'<section id="notes"><h2>What this report could not show</h2><ul>{items}</ul></section>'
