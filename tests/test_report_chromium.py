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
from report_helpers import ARTIFACTS_ONLY, ProjectSpec, write_artifact_inventory

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
