"""The one-file HTML report: self-contained (no URL), every chart and every finding's thumbnail
present, the findings those of ``validate``, a seeded sample, and — in a real headless Chromium —
no script error and a class filter that hides what it should."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import ann, task
from PIL import Image

from fastlabel_formats import report_html
from fastlabel_formats.checks import stats, validate
from fastlabel_formats.report_html import HIGHLIGHT, report

CLASSES = ["cat", "dog"]
BOWTIE = [10, 10, 50, 50, 50, 10, 10, 50]
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "google-chrome-stable", "google-chrome",
                                                "chromium-browser"))), None)
EXTERNAL = re.compile(r"""(?:src|href|action|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
CARD = re.compile(r'<figure class="card" data-classes="([^"]*)"[^>]*>\s*<img alt="[^"]*" src="([^"]+)">')


def project() -> list[dict]:
    """Two splits, two classes, an empty image and one instance of each kind of finding."""
    return [
        task("train/a.png", 100, 80, ann("bbox", "cat", [10, 10, 40, 30], color="#00ff00"),
             ann("polygon", "dog", BOWTIE, color="#0000ff")),
        task("train/b.png", 100, 80, ann("bbox", "cat", [20, 20, 20, 60], color="#00ff00"),
             ann("bbox", "bird", [5, 5, 15, 15], color="#ffff00")),
        task("val/c.png", 100, 80, ann("bbox", "dog", [60, 40, 130, 70], color="#0000ff"),
             ann("bbox", "cat", [1, 1, 9, 9], color="#00ff00"), ann("bbox", "cat", [1, 1, 9, 9], color="#00ff00")),
        task("val/d.png", 100, 80, ann("bbox", "dog", [1, 2, 3], color="#0000ff")),
        task("val/empty.png", 100, 80),
    ]


def write_images(folder: Path, tasks: list[dict], missing: str = "") -> Path:
    for item in tasks:
        if item["name"] != missing:
            path = folder / item["name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (item["width"], item["height"]), (200, 200, 200)).save(path)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str, object]:
    folder = tmp_path_factory.mktemp("report")
    tasks = project()
    images = write_images(folder / "images", tasks, missing="val/d.png")
    losses = report(tasks, folder / "report.html", images=images, classes=CLASSES, samples=5, progress=False)
    return folder / "report.html", (folder / "report.html").read_text(), losses


def cards(page: str, section: str) -> list[tuple[str, str]]:
    start = page.index(f'<section id="{section}">')
    return CARD.findall(page[start:page.index("</section>", start)])


def decoded(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/webp;base64,")
    return np.array(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def test_the_page_names_no_external_url(built):
    _, page, _ = built
    assert not EXTERNAL.search(page)
    assert not re.search(r"https?://", page)
    assert all(uri.startswith("data:") for uri in re.findall(r'\bsrc="([^"]*)"', page))
    assert "default-src 'none'" in page  # the browser itself refuses any request


def test_charts_are_svg(built):
    _, page, _ = built
    assert page.count('<svg class="histogram"') == 3
    rows = re.findall(r'<div class="row" data-classes="([^"]*)"', page)
    assert sorted(rows) == sorted(["[&quot;cat&quot;]", "[&quot;dog&quot;]", "[&quot;bird&quot;]"])
    assert "<title>cat in train: 2</title>" in page and "<title>cat in val: 2</title>" in page


def test_every_finding_is_validates_and_has_its_thumbnail(built):
    _, page, _ = built
    expected = validate(project(), classes=CLASSES)
    assert len(expected.findings) == 6
    findings = cards(page, "findings")
    assert len(findings) == sum(finding.count for finding in expected.findings.values())
    for kind, finding in expected.findings.items():
        assert f"{finding.count:,} × {kind}" in page.replace("&#x27;", "'")
    for _, uri in findings:
        assert decoded(uri).shape[2] == 3


def test_a_finding_thumbnail_is_cropped_around_its_shape_drawn():
    moved = [v + 1000 - 500 * (i % 2) for i, v in enumerate(BOWTIE)]
    tasks = [task("a.png", 2000, 1000, ann("polygon", "dog", moved, color="#0000ff"))]
    card = report_html.Gallery(report_html.Painter(None, "t", report_html.ConversionReport("r")), 0, 0)
    report_html._collect_findings(next(_tables(tasks)), report_html.ConversionReport("validate"), None, card)
    (only,) = card.findings.values()
    pixels = decoded(only[0].image)
    assert max(pixels.shape[:2]) == report_html.THUMBNAIL_SIDE  # a crop of ~60 px enlarged, not the whole image
    highlight = np.array([int(HIGHLIGHT[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels.astype(int) - highlight).sum(axis=2) < 90).sum() > 50


def _tables(tasks):
    from fastlabel_formats.run import prepared_tables

    return prepared_tables(tasks, report_html._ReportTarget("."), report_html.ConversionReport("v"), "image_bbox",
                           None, None)


def test_the_counts_are_those_of_stats():
    from fastlabel_formats.report_page import SIZE_EDGES, Tally

    tally = Tally()
    for table in _tables(project()):
        tally.add(table)
    counted = stats(project())
    assert {split: dict(counts) for split, counts in tally.per_split.items()} == counted["per_split"]
    assert dict(tally.per_type) == counted["annotations_per_type"] and tally.images == counted["images"]
    assert tally.widths.sum() == tally.heights.sum() == tally.areas.sum() == 7  # 6 boxes and the polygon
    assert tally.widths[np.searchsorted(SIZE_EDGES, 70, side="right")] == 1  # the 70-px-wide box


def test_summary_empty_images_and_losses(built):
    _, page, losses = built
    assert '<div class="number"><b>5</b>images</div>' in page
    empty = stats(project())["images_without_annotations"]
    assert empty == 2 and f"Images without annotations ({empty})" in page  # val/d.png: only a malformed one
    assert "<li data-classes=\"[]\" data-text=\"val/empty.png\">val/empty.png</li>" in page
    assert list(losses.findings) == ["no image file for the task, drawn on a blank canvas"]
    assert "What this report could not show" in page


def test_the_class_filter_and_search_exist(built):
    _, page, _ = built
    assert '<select id="class-filter">' in page and '<input id="search"' in page
    assert "location.hash" in page and "toggleAttribute('hidden'" in page


def test_the_sample_project_every_type_drawn_on_its_images(tmp_path):
    sample = Path(__file__).parent.parent / "examples" / "sample_project"
    losses = report(sample / "tasks.json", tmp_path / "r.html", images=sample / "images", samples=6)
    drawn = cards((tmp_path / "r.html").read_text(), "samples")
    assert losses.ok and len(drawn) == 6
    for _, uri in drawn:  # the image itself, not a blank canvas: many colours
        assert len(np.unique(decoded(uri).reshape(-1, 3), axis=0)) > 50


def test_progress_off_a_terminal_is_a_plain_line(tmp_path, capsys):
    report(project(), tmp_path / "r.html", samples=0, progress=True)
    assert "report: 5 of 5 tasks" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::RuntimeWarning:fastlabel_formats.geometry")  # rounding 1e308 overflows
def test_hostile_names_values_and_coordinates_stay_text(tmp_path):
    name, value = '"><script>alert(1)</script><img src=x onerror=alert(2)>.png', "</script><marquee>"
    tasks = [task(name, 50, 40, ann("bbox", value, [0, 0, 1e308, 10], color="#ff0000"),
                  ann("polygon", value, [-1e300, 0, 5, 5, 0, 5], color="javascript:x")),
             task("sizeless.png", 0, 0, ann("bbox", "cat", [400, 300, 420, 330], color="#00ff00"))]
    losses = report(tasks, tmp_path / "r.html", samples=2, progress=False)
    page = (tmp_path / "r.html").read_text()
    assert page.count("<script") == 1 and "<marquee>" not in page and "<img src=" not in page
    assert "&lt;/script&gt;&lt;marquee&gt;" in page
    assert list(losses.findings) == ["annotation without a usable colour not drawn"]
    sizeless = decoded(cards(page, "samples")[1][1])
    assert sizeless.shape[:2] == (201, 256)  # the shape's bounds from the origin, not a 1-pixel frame


def test_samples_are_seeded_and_capped(tmp_path):
    tasks = [task(f"i{n}.png", 30, 20, ann("bbox", "cat", [1, 1, 5, 5], color="#00ff00")) for n in range(40)]

    def sampled(seed: int) -> list[str]:
        report(iter(tasks), tmp_path / "r.html", samples=4, seed=seed, progress=False)
        return re.findall(r"<figcaption>(i\d+\.png)</figcaption>", (tmp_path / "r.html").read_text())

    assert sampled(1) == sampled(1) and len(sampled(1)) == 4
    assert sampled(1) != sampled(2)
    with pytest.raises(report_html.FormatError, match="samples"):
        report(tasks, tmp_path / "r.html", samples=report_html.MAX_SAMPLES + 1)


def test_finding_thumbnails_are_capped_per_kind_and_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(report_html, "FINDING_THUMBNAILS_PER_KIND", 3)
    tasks = [task(f"i{n}.png", 30, 20, ann("bbox", "cat", [5, 5, 5, 9], color="#00ff00")) for n in range(20)]
    report(tasks, tmp_path / "r.html", samples=0, progress=False)
    page = (tmp_path / "r.html").read_text()
    assert len(cards(page, "findings")) == 3 and "20 × bbox of zero width or height" in page
    assert "… and 17 more not drawn (thumbnails of the first 3 of each kind, 1,000 in all)" in page
    monkeypatch.setattr(report_html, "FINDING_BYTES", 1)  # the first thumbnail uses the budget up
    monkeypatch.setattr(report_html, "SAMPLE_BYTES", 1)
    report(tasks, tmp_path / "r.html", samples=5, progress=False)
    page = (tmp_path / "r.html").read_text()
    assert len(cards(page, "findings")) == 1 and len(cards(page, "samples")) == 1


def test_a_coco_source_is_read(tmp_path):
    from fastlabel_formats import export_coco

    export_coco(project()[:3], tmp_path / "coco")
    coco = next((tmp_path / "coco").rglob("*.json"))
    report(coco, tmp_path / "r.html", samples=0, progress=False)
    assert '<div class="number"><b>3</b>images</div>' in (tmp_path / "r.html").read_text()


def test_the_command_line_writes_the_report(tmp_path):
    from fastlabel_formats import cli

    if "report" not in cli.build_parser()._subparsers._group_actions[0].choices:
        pytest.skip("the command line has no report command yet")
    source = tmp_path / "tasks.jsonl"
    source.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in project()))
    code = cli.main(["report", str(source), "--classes", "cat,dog", "--samples", "2", "-q", "-o",
                     str(tmp_path / "r.html")])
    page = (tmp_path / "r.html").read_text()
    assert code == 0 and "value not in the classes" in page
    assert re.search(r"Sample images \(<span[^>]*>2</span> of 5, seed 0\)", page)


# --- in a real browser ---------------------------------------------------------------------------------------

def chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (CI installs it: apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def script_errors(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if "Uncaught" in line or ":CONSOLE(" in line]


def body_attributes(dom: str) -> str:
    return re.search(r"<body([^>]*)>", dom).group(1)


def test_the_browser_check_sees_a_script_error(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>undefinedThing();</script></body></html>")
    assert script_errors(chromium(tmp_path, "--dump-dom", broken.as_uri()))


def test_in_chromium_the_class_filter_hides_the_other_classes(built, tmp_path):
    path, _, _ = built
    run = chromium(tmp_path, "--dump-dom", path.as_uri() + "#filter=cat")
    assert run.returncode == 0, run.stderr[-2000:]
    assert script_errors(run) == []
    dom = run.stdout
    body = body_attributes(dom)
    assert 'data-ready="1"' in body and 'data-filter="cat"' in body and "data-errors" not in body
    filtered = re.findall(r'<(?:div|figure) class="(?:row|card)" data-classes="([^"]*)"[^>]*?( hidden="")?>', dom)
    assert any(hidden for _, hidden in filtered) and not all(hidden for _, hidden in filtered)
    assert all(("&quot;cat&quot;" in classes) != bool(hidden) for classes, hidden in filtered)
    kinds = dict((text, bool(hidden)) for hidden, text in
                 re.findall(r'<div class="kind" data-drawn="[^"]*"( hidden="")?><h3>1 × ([^<]*) <', dom))
    assert kinds["polygon: self-intersection"] and not kinds["bbox of zero width or height"]  # a dog; a cat
    unfiltered = chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    assert 'data-ready="1"' in body_attributes(unfiltered) and ' hidden=""' not in unfiltered


def test_in_chromium_choosing_a_class_filters_and_updates_the_url(built, tmp_path):
    path, page, _ = built
    choose = ("<script>var s = document.getElementById('class-filter'); s.value = 'dog';"
              "s.dispatchEvent(new Event('change')); document.body.setAttribute('data-hash', location.hash);</script>")
    chosen = tmp_path / "chosen.html"
    chosen.write_text(page.replace("</body>", choose + "</body>"))
    run = chromium(tmp_path, "--dump-dom", chosen.as_uri())
    body = body_attributes(run.stdout)
    assert script_errors(run) == [] and 'data-filter="dog"' in body and 'data-hash="#filter=dog"' in body
    rows = re.findall(r'<div class="row" data-classes="([^"]*)"[^>]*?( hidden="")?>', run.stdout)
    assert sorted(classes for classes, hidden in rows if not hidden) == ["[&quot;dog&quot;]"]


def test_in_chromium_the_search_applies_from_the_url(built, tmp_path):
    path, _, _ = built
    dom = chromium(tmp_path, "--dump-dom", path.as_uri() + "#q=val%2Fc.png").stdout
    shown = re.findall(r'<figure class="card" data-classes="[^"]*" data-text="([^"]*)">', dom)
    assert shown and all("val/c.png" in text for text in shown)


def test_in_chromium_a_screenshot_is_taken(built, tmp_path):
    path, _, _ = built
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", path.as_uri())
    assert run.returncode == 0 and script_errors(run) == []
    with Image.open(shot) as image:
        assert image.size == (1280, 2400) and len(image.convert("L").getcolors(1 << 16)) > 20
    if os.environ.get("FASTLABEL_ARTIFACTS"):  # kept by CI for review
        Path(os.environ["FASTLABEL_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["FASTLABEL_ARTIFACTS"]) / "report.png")
