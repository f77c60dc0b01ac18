"""report.html in a real browser (headless Chromium, Debian package `chromium`): the charts are laid out with
visible bars, the inline script makes the tables sortable, and the page does not render blank.

Skipped only when Chromium is not installed; when it is, a missing chart fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from report_helpers import ARTIFACTS_ONLY, EVERY_KIND, ProjectSpec, write_artifact_inventory

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian package `chromium`: apt-get install chromium)")

FREE_COLOUR = (0xD1, 0x49, 0x5B)  # --free in the page's CSS: the "bytes to free" bars

# Appended to a copy of the page (after its own script ran): measures what the browser laid out, then sorts
# the project table by "bytes to free" the way a click does, and writes the findings into the DOM.
PROBE = """<script>
var found = {charts: {}, sortable: document.querySelectorAll('table[data-sortable="ready"]').length,
             tables: document.querySelectorAll("table").length};
document.querySelectorAll("figure.chart").forEach(function (figure) {
  var box = figure.getBoundingClientRect();
  var bars = Array.from(figure.querySelectorAll("rect.bar")).filter(function (r) {
    var b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
  found.charts[figure.id] = {width: box.width, height: box.height, visible_bars: bars.length};
});
var table = document.querySelectorAll("table")[1], header = table.querySelectorAll("th")[2];
header.click();
found.ascending = table.tBodies[0].rows[0].cells[0].textContent.replace(" \u2197", "");
header.click();
found.descending = table.tBodies[0].rows[0].cells[0].textContent.replace(" \u2197", "");
var out = document.createElement("pre"); out.id = "probe"; out.textContent = JSON.stringify(found);
document.body.appendChild(out);
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def report_html(tmp_path: Path, run: Any) -> Path:
    specs = [ProjectSpec(n, f"acme/team/p{n:02}", jobs=1 + n % 4, job_bytes=n * 300_000,
                         recent_jobs=1) for n in range(1, 26)]
    write_artifact_inventory(tmp_path / "inv", specs)
    (tmp_path / "policy.yml").write_text(ARTIFACTS_ONLY, encoding="utf-8")
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"])
    assert planned.code == 0, planned.err
    return tmp_path / "report" / "report.html"


def _with_probe(page: str) -> str:
    """The page with PROBE appended, and PROBE's hash added to the page's CSP (which blocks it otherwise)."""
    code = PROBE.removeprefix("<script>").removesuffix("</script>")
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
    assert page.count("script-src ") == 1, "the page declares where scripts may come from exactly once"
    return page.replace("script-src ", f"script-src 'sha256-{digest}' ").replace("</body>", PROBE + "</body>")


def test_the_browser_lays_out_every_chart_and_sorts_the_tables(tmp_path: Path, report_html: Path) -> None:
    probed = tmp_path / "probed.html"
    probed.write_text(_with_probe(report_html.read_text(encoding="utf-8")), encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", probed.as_uri()).stdout
    assert '<pre id="probe">' in dom, "the page's script or the probe did not run"
    found = json.loads(dom.split('<pre id="probe">')[1].split("</pre>")[0].replace("&quot;", '"'))

    charts = found["charts"]
    assert sorted(charts) == ["chart-before-after", "chart-kinds", "chart-projects", "chart-rules"]
    for name, chart in charts.items():
        assert chart["width"] > 300 and chart["height"] > 60, f"{name} is not drawn: {chart}"
    assert charts["chart-projects"]["visible_bars"] == 20
    assert charts["chart-rules"]["visible_bars"] == 1 and charts["chart-kinds"]["visible_bars"] == 1
    assert charts["chart-before-after"]["visible_bars"] == 2
    assert found["sortable"] == found["tables"] > 2
    # Sorting by "bytes to free" orders by the byte count, not by the text ("9.4 MiB" after "26.3 MiB").
    projects = json.loads((report_html.parent / "report.json").read_text(encoding="utf-8"))["projects"]
    by_bytes = sorted(projects, key=lambda p: p["remove_bytes"])
    assert (found["ascending"], found["descending"]) == (by_bytes[0]["path"], by_bytes[-1]["path"])


def test_the_page_s_own_script_runs_under_its_csp_and_nothing_is_refused(tmp_path: Path, report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    assert "default-src 'none'" in page
    done = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", report_html.as_uri())
    # the inline script marks each table it made sortable: it ran, so its hash is in the CSP
    assert done.stdout.count('data-sortable="ready"') == page.count('class="sortable') > 2
    refused = [line for line in done.stderr.splitlines() if "Content Security Policy" in line]
    assert not refused, refused
    # the same page with one unlisted inline script: Chromium refuses it and says so (the check above can fail)
    tampered = tmp_path / "tampered.html"
    tampered.write_text(page.replace("</body>", "<script>document.title='ran'</script></body>"), encoding="utf-8")
    done = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", tampered.as_uri())
    assert "<title>ran</title>" not in done.stdout
    assert any("Content Security Policy" in line for line in done.stderr.splitlines()), done.stderr[-2000:]


def test_the_rendered_page_is_not_blank(tmp_path: Path, report_html: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1280,1000", f"--screenshot={shot}", report_html.as_uri())
    width, height, pixels = _read_png(shot.read_bytes())
    assert (width, height) == (1280, 1000)
    colours = Counter(pixels)
    assert len(colours) > 50, "the screenshot is (nearly) one colour"
    bar_pixels = sum(n for c, n in colours.items()
                     if all(abs(a - b) <= 8 for a, b in zip(c, FREE_COLOUR, strict=True)))
    assert bar_pixels > 5000, f"only {bar_pixels} pixels in the bars' colour: the charts did not render"


def _read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Enough of PNG to read Chromium's screenshots (8-bit RGB or RGBA, not interlaced), without Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8:offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unexpected PNG layout"
    channels = 4 if colour_type == 6 else 3
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        pixels += [tuple(line[x:x + 3]) for x in range(0, stride, channels)]  # type: ignore[misc]
        previous = line
    return width, height, pixels


LONG_BRANCH = "feature/" + "a-very-long-branch-name-with-no-space-to-break-at-" * 3 + "end"

# Headless Chromium lays a window out at 500 px at least, so the page is measured and photographed in an
# iframe of the exact width (its own viewport: media queries and scrollWidth answer for 420 px).
FRAME = """<!DOCTYPE html><html><body style="margin:0"><iframe src="{src}" width="{width}" height="{height}"
style="border:0;display:block"></iframe><script>window.addEventListener("message", function (m) {{
var p = document.createElement("pre"); p.id = "probe"; p.textContent = m.data; document.body.appendChild(p);
}});</script></body></html>"""

# Measures the layout at the frame's width, then filters the way a reader does: types into the text box
# (an `input` event), then picks a rule; after each, counts the rows and project sections left visible.
LAYOUT_PROBE = """<script>
function visible(el) { return el.getClientRects().length > 0; }
function layout() {
  var wide = Array.from(document.querySelectorAll(".scroll")).filter(function (s) {
    return s.scrollWidth > s.clientWidth + 1; }).length;
  return {scroll_width: document.documentElement.scrollWidth, viewport: window.innerWidth, wide_tables: wide};
}
function counts() {
  return {item_rows: Array.from(document.querySelectorAll("details.project tbody tr")).filter(visible).length,
          sections: Array.from(document.querySelectorAll("details.project")).filter(visible).length,
          shown: document.getElementById("filter").getAttribute("data-shown"),
          said: document.getElementById("f-count").value};
}
var found = {before: layout(), filter_visible: visible(document.getElementById("filter"))};
found.all = counts();
var text = document.getElementById("f-text");
text.value = NEEDLE; text.dispatchEvent(new Event("input"));
found.typed = counts(); found.after = layout();
text.value = ""; text.dispatchEvent(new Event("input"));
var rule = document.getElementById("f-rule");
rule.value = "merged-branches"; rule.dispatchEvent(new Event("change"));
found.rule = counts();
function kindsBars() {
  return Array.from(document.querySelectorAll("#chart-kinds rect.bar")).filter(function (r) {
    return r.getBoundingClientRect().width > 0; }).length;
}
found.kinds_bars = kindsBars();
document.querySelector('label[for="m-bytes"]').click();
found.kinds_bars_by_bytes = kindsBars(); found.bytes_layout = layout();
parent.postMessage(JSON.stringify(found), "*");
</script>"""


@pytest.fixture
def every_kind_report(tmp_path: Path, instance: Any, env: dict[str, str], run: Any) -> Path:
    """The simulator's instance planned with one rule per kind, and one merged branch whose name is far
    wider than a phone."""
    from janitor.simulator.repo_state import Branch, repository

    project = next(p for p in instance.projects.values()
                   if p.namespace.full_path == "acme/platform" and not p.archived)
    repository(project).branches[LONG_BRANCH] = Branch(LONG_BRANCH, "d" * 40, instance.now - 400 * 86_400_000,
                                                       merged=True)
    (tmp_path / "policy.yml").write_text(EVERY_KIND, encoding="utf-8")
    collected = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env)
    assert collected.code == 0, collected.err
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    return tmp_path / "report" / "report.html"


def _framed(tmp_path: Path, page: Path, width: int, height: int) -> Path:
    frame = page.with_name(f"frame-{page.stem}-{width}.html")  # next to the page: src is its name
    frame.write_text(FRAME.format(src=page.name, width=width, height=height), encoding="utf-8")
    return frame


def _probe_at(tmp_path: Path, page: str, width: int, needle: str) -> dict[str, Any]:
    probe = LAYOUT_PROBE.replace("NEEDLE", json.dumps(needle))
    code = probe.removeprefix("<script>").removesuffix("</script>")
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
    probed = tmp_path / f"probed-{width}.html"
    allowed = page.replace("script-src ", f"script-src 'sha256-{digest}' ")
    probed.write_text(allowed.replace("</body>", probe + "</body>"), encoding="utf-8")
    frame = _framed(tmp_path, probed, width, 900)
    dom = _chromium(tmp_path, "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom",
                    frame.as_uri()).stdout
    assert '<pre id="probe">' in dom, "the page's script or the probe did not run"
    result: dict[str, Any] = json.loads(dom.split('<pre id="probe">')[1].split("</pre>")[0].replace("&quot;", '"'))
    return result


def test_on_a_phone_and_a_desktop_nothing_overflows_and_the_filter_finds_rows(
        tmp_path: Path, every_kind_report: Path) -> None:
    page = every_kind_report.read_text(encoding="utf-8")
    report = json.loads((every_kind_report.parent / "report.json").read_text(encoding="utf-8"))
    needle = LONG_BRANCH[:40]
    rows = [(p, row) for p in report["projects"] for row in (*p["remove"], *p["kept"])]
    matching = [(p["path"], r) for p, r in rows if needle.lower() in (r["title"] + r["reason"]).lower()]
    merged = [(p["path"], r) for p, r in rows if r["rule"] == "merged-branches"]
    assert len(matching) == 1 and merged and len(rows) > len(merged)
    kinds = report["totals"]["by_resource"]
    assert {k for k, v in kinds.items() if v["bytes"] == 0} >= {"branches", "tags", "protected_branches"}

    shots = {}
    for width, height in ((420, 2400), (1400, 1600)):
        found = _probe_at(tmp_path, page, width, needle)
        for moment in ("before", "after"):
            layout = found[moment]
            assert layout["viewport"] == width, layout
            assert layout["scroll_width"] <= width, f"at {width} px the page is {layout['scroll_width']} px wide"
            assert layout["wide_tables"] == 0, f"at {width} px {layout['wide_tables']} tables scroll sideways"
        assert found["filter_visible"]
        assert found["all"]["item_rows"] == 0 or found["all"]["sections"] > 0
        # typing part of a name leaves exactly its row, in its project's section, opened
        assert found["typed"]["item_rows"] == 1 and found["typed"]["sections"] == 1, found["typed"]
        assert found["typed"]["said"].endswith("rows match")
        # a rule leaves that rule's rows, in the projects where it did something
        assert found["rule"]["item_rows"] == len(merged), found["rule"]
        assert found["rule"]["sections"] == len({path for path, _ in merged})
        # item counts are the first view: every kind gets a bar, the 0-byte ones too
        assert found["kinds_bars"] == len(kinds)
        # the switch redraws by bytes: the 0-byte kinds' bars go, the layout still fits
        assert found["kinds_bars_by_bytes"] == sum(1 for v in kinds.values() if v["bytes"] > 0) > 0
        assert found["bytes_layout"]["scroll_width"] <= width
        shot = tmp_path / f"report-{width}px.png"
        frame = _framed(tmp_path, every_kind_report, width, height)
        _chromium(tmp_path, f"--window-size={width},{height}", "--virtual-time-budget=10000", f"--screenshot={shot}",
                  frame.as_uri())
        shots[width] = shot
        assert _read_png(shot.read_bytes())[:2] == (width, height)
    keep = os.environ.get("JANITOR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.values():
            shutil.copy(shot, Path(keep) / shot.name)
