"""The report given predictions: the evaluation's numbers, its precision–recall curves (inline SVG,
one per IoU threshold, one curve per class that the class filter picks) and per-class table — the
curves' values those of ``EvaluationResult.pr_curve``, checked in the page and, in a real headless
Chromium, on the points the browser parsed."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import ann, task
from test_report_html import EXTERNAL, body_attributes, chromium, script_errors

from fastlabel_formats import export_coco, report_evaluation
from fastlabel_formats.evaluation import evaluate
from fastlabel_formats.report_evaluation import PR_IOUS, pr_point
from fastlabel_formats.report_html import report

CLASSES = ("cat", "dog", "bird")
CURVE = re.compile(r'<polyline class="pr-(class|mean)"([^>]*)>')


def scored_project(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Labelled boxes of three classes on 12 images and predictions near them (some missed, some twice), scored."""
    rng = random.Random(seed)
    tasks, predictions = [], []
    for number in range(12):
        labels, found = [], []
        for _ in range(4):
            x, y, w, h = rng.uniform(0, 200), rng.uniform(0, 150), rng.uniform(10, 80), rng.uniform(10, 60)
            value = rng.choice(CLASSES)
            labels.append(ann("bbox", value, [round(v, 2) for v in (x, y, x + w, y + h)], color="#00ff00"))
            for _ in range(rng.choice([0, 1, 1, 2])):
                moved = [round(v + rng.uniform(-6, 6), 2) for v in (x, y, x + w, y + h)]
                found.append(ann("bbox", value, moved, attributes=[{"key": "score", "value": round(rng.random(), 3)}]))
        tasks.append(task(f"train/{number}.png", 320, 240, *labels))
        predictions.append(task(f"train/{number}.png", 320, 240, *found))
    return tasks, predictions


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> tuple[Path, str, object]:
    folder = tmp_path_factory.mktemp("scored")
    tasks, predictions = scored_project()
    report(tasks, folder / "report.html", predictions=predictions, samples=2)
    return folder / "report.html", (folder / "report.html").read_text(), evaluate(tasks, predictions)


def charts(page: str) -> dict[float, str]:
    return {float(iou): body for iou, body in
            re.findall(r'<svg class="pr-curve" data-iou="([^"]+)".*?>(.*?)</svg>', page, re.DOTALL)}


def curves(chart: str) -> dict[str | None, list[float]]:
    """``{class or None for the mean: precision values}`` of one chart."""
    found = {}
    for css, attributes in CURVE.findall(chart):
        name = re.search(r'data-class="([^"]*)"', attributes)
        values = re.search(r'data-precision="([^"]*)"', attributes).group(1).replace("&quot;", '"')
        found[name.group(1) if css == "class" else None] = json.loads(values)
    return found


def test_the_section_shows_the_numbers_of_the_evaluation(scored):
    _, page, result = scored
    section = page[page.index('<section id="evaluation">'):]
    section = section[:section.index("</section>")]
    assert f"evaluation by <b>{result.backend}</b>" in section
    for name in ("AP", "AP50", "AP75"):
        assert f'<b>{result.metrics[name]:.3f}</b>{name}</div>' in section
    assert f'<b>{result.counts["predictions"]:,}</b>predictions' in section
    rows = re.findall(r'<tr data-classes="[^"]*" data-text="([^"]*)"><td>[^<]*</td>((?:<td>[^<]*</td>)+)</tr>', section)
    assert [name for name, _ in rows] == list(result.per_class)
    for name, cells in rows:
        assert re.findall(r"<td>([^<]*)</td>", cells) == [f"{value:.3f}" if value > -1 else "–"
                                                         for value in result.per_class[name].values()]


def test_one_chart_per_iou_threshold_with_the_curves_of_pr_curve(scored):
    _, page, result = scored
    drawn = charts(page)
    assert sorted(drawn) == sorted(PR_IOUS)
    for iou, chart in drawn.items():
        found = curves(chart)
        assert sorted(found, key=str) == sorted([None, *CLASSES], key=str)
        for name, values in found.items():
            recall, precision = result.pr_curve(iou, name)
            assert values == precision.tolist() and len(recall) == 101  # exactly, not to a tolerance


def test_the_page_stays_self_contained(scored):
    _, page, _ = scored
    assert not EXTERNAL.search(page) and not re.search(r"https?://", page.replace("http://www.w3.org", ""))


def test_predictions_from_a_coco_results_file(tmp_path):
    tasks, predictions = scored_project(seed=1)
    expected = evaluate(tasks, predictions)
    ids = {item["name"]: number for number, item in enumerate(tasks, 1)}
    export_coco(tasks, tmp_path / "coco")
    gt = tmp_path / "coco" / "annotations.json"
    document = json.loads(gt.read_text())
    categories = {category["name"]: category["id"] for category in document["categories"]}
    results = [{"image_id": ids[item["name"]], "category_id": categories[a["value"]],
                "score": a["attributes"][0]["value"], "bbox": [x1, y1, x2 - x1, y2 - y1]}
               for item in predictions for a in item["annotations"] for x1, y1, x2, y2 in [a["points"]]]
    (tmp_path / "results.json").write_text(json.dumps(results))
    report(gt, tmp_path / "r.html", predictions=tmp_path / "results.json", samples=0)
    drawn = curves(charts((tmp_path / "r.html").read_text())[0.5])
    direct = evaluate(gt, tmp_path / "results.json")
    assert drawn[None] == direct.pr_curve(0.5)[1].tolist()
    assert direct.metrics == pytest.approx(expected.metrics, abs=1e-9)  # the same boxes, as results


def test_curves_are_capped_with_a_line_saying_how_many_more(tmp_path, monkeypatch):
    monkeypatch.setattr(report_evaluation, "PR_CLASSES", 1)
    tasks, predictions = scored_project()
    report(tasks, tmp_path / "r.html", predictions=predictions, samples=0)
    page = (tmp_path / "r.html").read_text()
    assert all(len(curves(chart)) == 2 for chart in charts(page).values())  # the mean and one class
    assert "2 more scored class(es) without a curve of their own" in page


def test_without_predictions_there_is_no_evaluation(tmp_path):
    tasks, _ = scored_project()
    report(iter(tasks), tmp_path / "r.html", samples=0)
    assert 'id="evaluation"' not in (tmp_path / "r.html").read_text()


def test_a_one_shot_iterator_of_tasks_is_read_for_both(tmp_path):
    tasks, predictions = scored_project()
    report(iter(tasks), tmp_path / "r.html", predictions=predictions, samples=0)
    page = (tmp_path / "r.html").read_text()
    assert '<div class="number"><b>12</b>images</div>' in page and len(charts(page)) == 2


# --- in a real browser ---------------------------------------------------------------------------------------

PROBE = """<script>
document.body.setAttribute('data-curves', JSON.stringify(Array.prototype.map.call(
  document.querySelectorAll('svg.pr-curve polyline'), function (line) {
    var points = [];
    for (var i = 0; i < line.points.numberOfItems; i++) {
      var point = line.points.getItem(i); points.push([point.x, point.y]);
    }
    return {iou: line.closest('svg').getAttribute('data-iou'), name: line.getAttribute('data-class'),
            shown: getComputedStyle(line).display !== 'none', stroke: getComputedStyle(line).stroke, points: points};
  })));
</script></body>"""


def browser_curves(tmp_path: Path, page: str, fragment: str = "") -> tuple[list[dict], str]:
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE))
    run = chromium(tmp_path, "--dump-dom", probed.as_uri() + fragment)
    assert run.returncode == 0 and script_errors(run) == [], run.stderr[-2000:]
    body = body_attributes(run.stdout)
    assert 'data-ready="1"' in body and "data-errors" not in body
    found = re.search(r'data-curves="([^"]*)"', body).group(1).replace("&quot;", '"').replace("&amp;", "&")
    return orjson.loads(found), body


def test_in_chromium_the_drawn_points_are_pr_curve(scored, tmp_path):
    _, page, result = scored
    drawn, _ = browser_curves(tmp_path, page)
    assert len(drawn) == len(PR_IOUS) * (1 + len(CLASSES)) and all(line["shown"] for line in drawn)
    for line in drawn:
        recall, precision = result.pr_curve(float(line["iou"]), line["name"])
        expected = np.array([pr_point(r, p) for r, p in zip(recall.tolist(), precision.tolist())])
        assert np.abs(np.array(line["points"]) - expected).max() < 0.006  # pixels written to 2 decimals


def test_in_chromium_the_class_filter_picks_one_curve(scored, tmp_path):
    _, page, _ = scored
    drawn, body = browser_curves(tmp_path, page, "#filter=dog")
    assert 'data-filter="dog"' in body
    shown = {(line["iou"], line["name"]) for line in drawn if line["shown"]}
    assert shown == {(str(iou), name) for iou in PR_IOUS for name in (None, "dog")}
    picked = {line["stroke"] for line in drawn if line["name"] == "dog"}
    assert picked == {"rgb(255, 31, 90)"}  # highlighted once picked


def test_the_command_line_scores_predictions_into_the_report(tmp_path):
    from fastlabel_formats.cli import main

    tasks, predictions = scored_project(seed=3)
    (tmp_path / "gt.json").write_bytes(orjson.dumps(tasks))
    (tmp_path / "pred.json").write_bytes(orjson.dumps(predictions))
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "gt.json"), "--predictions", str(tmp_path / "pred.json"),
                 "--iou-type", "bbox", "--samples", "1", "-o", str(out), "--quiet"]) == 0
    page = out.read_text()
    assert f'<b>{evaluate(tasks, predictions).metrics["AP"]:.3f}</b>AP</div>' in page
    assert set(charts(page)) == set(PR_IOUS)
