"""report.html: one self-contained page (inline CSS, SVG and a few lines of JS; nothing fetched), so it can
be opened from a CI job's artifacts or a mail attachment, offline, and show the same facts as report.md.

Every string that comes from the data (project paths, branch names, reasons) is user-controlled and goes
through `_e`; nothing else is ever inserted into the markup.

The page carries a Content-Security-Policy that allows nothing (`default-src 'none'`) but its own inline
<style> and <script>, each by the sha256 of the exact text emitted, computed as the page is rendered: should
a name ever slip past `_e`, a browser would still run no script and load nothing from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from janitor.grace import due_text
from janitor.model import Json
from janitor.textsafe import printable
from janitor.units import human_bytes

TOP_PROJECTS = 20       # bars in the by-project chart
ROWS_PER_LIST = 200     # rows per removed/kept table; the rest are counted, never dropped silently
PROJECTS_IN_FULL = 200  # projects with their own section; all of them stay in the overview table

# The SVG is drawn in these units and scaled to its column (about 520 px in a two-column layout), so
# a 12-unit font stays readable; labels are cut to what fits their column.
CHART_WIDTH = 600
LABEL_WIDTH = 200       # left column for the labels
BAR_SPACE = 250         # the longest bar; the rest of the width holds the value text
LABEL_CHARS = 30


def _e(value: Any) -> str:
    """Text and attribute values: control and bidi characters shown escaped, HTML specials as entities."""
    return html.escape(printable(value), quote=True)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(styles: Sequence[str], scripts: Sequence[str]) -> str:
    """Nothing but these inline styles and scripts (CSP level 2 hashes of their exact text)."""
    return (f"default-src 'none'; style-src {' '.join(_sha256(s) for s in styles)}; "
            f"script-src {' '.join(_sha256(s) for s in scripts)}; base-uri 'none'; form-action 'none'")


def _short(label: str) -> str:
    """Keep a label's end: for 'acme/platform/very/deep/api' the project name is what tells rows apart."""
    return label if len(label) <= LABEL_CHARS else "…" + label[-(LABEL_CHARS - 1):]


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str = ""


def _scale(values: Iterable[int], space: int = BAR_SPACE) -> float:
    top = max(values, default=0)
    return space / top if top > 0 else 0.0


def _bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> str:
    if not bars:
        return f'<figure class="chart" id="{chart_id}"><figcaption>{_e(title)}</figcaption>' \
               '<p class="empty">Nothing to remove.</p></figure>'
    row = 26
    height = row * len(bars) + 6
    scale = _scale(b.value for b in bars)
    parts = [f'<figure class="chart" id="{chart_id}"><figcaption>{_e(title)}</figcaption>',
             f'<svg role="img" aria-label="{_e(title)}" '
             f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%">']
    for n, bar in enumerate(bars):
        y = n * row + 4
        width = bar.value * scale
        value = human_bytes(bar.value) + (f" · {bar.note}" if bar.note else "")
        parts.append(
            f'<g class="row"><title>{_e(bar.label)}: {_e(value)}</title>'
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end">{_e(_short(bar.label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="18" rx="2"/>'
            f'<text class="value" x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 14}">{_e(value)}</text></g>')
    parts.append("</svg></figure>")
    return "".join(parts)


def _before_after_chart(before_after: Json) -> str:
    title = "Before and after, by kind"
    if not before_after:
        return f'<figure class="chart" id="chart-before-after"><figcaption>{_e(title)}</figcaption>' \
               '<p class="empty">No object was examined.</p></figure>'
    row = 46
    height = row * len(before_after) + 6
    scale = _scale((v["before_bytes"] for v in before_after.values()), BAR_SPACE - 50)  # longer value text
    parts = [f'<figure class="chart" id="chart-before-after"><figcaption>{_e(title)}</figcaption>',
             '<p class="legend">bytes of the objects the rules examined: <span class="key before"></span>now '
             '<span class="key after"></span>after the plan is applied</p>',
             f'<svg role="img" aria-label="{_e(title)}" '
             f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%">']
    for n, (kind, v) in enumerate(before_after.items()):
        y = n * row + 4
        freed = v["before_bytes"] - v["after_bytes"]
        parts.append(f'<g class="row"><title>{_e(kind)}: {v["before_items"]} objects, '
                     f'{_e(human_bytes(v["before_bytes"]))} before; {v["after_items"]} objects, '
                     f'{_e(human_bytes(v["after_bytes"]))} after</title>'
                     f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 23}" text-anchor="end">{_e(kind)}</text>')
        for offset, series, count, size in ((0, "before", v["before_items"], v["before_bytes"]),
                                            (20, "after", v["after_items"], v["after_bytes"])):
            width = size * scale
            note = f" · −{human_bytes(freed)}" if series == "after" and freed else ""
            parts.append(f'<rect class="bar {series}" x="{LABEL_WIDTH}" y="{y + offset}" width="{width:.1f}" '
                         f'height="16" rx="2"/><text class="value" x="{LABEL_WIDTH + width + 6:.1f}" '
                         f'y="{y + offset + 13}">{_e(human_bytes(size))} · {count} objects{_e(note)}</text>')
        parts.append("</g>")
    parts.append("</svg></figure>")
    return "".join(parts)


def _cell(value: Any, sort: int | None = None) -> str:
    """A table cell; numbers carry their raw value so sorting by '1.5 GiB' orders by bytes, not text."""
    if sort is None:
        return f"<td>{_e(value)}</td>"
    return f'<td class="num" data-sort="{int(sort)}">{_e(value)}</td>'


NUMERIC = frozenset({"items", "bytes", "examined", "kept", "to remove", "bytes to free"})


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], total: int | None = None) -> str:
    head = "".join(f'<th scope="col" class="num">{_e(h)}</th>' if h in NUMERIC else f'<th scope="col">{_e(h)}</th>'
                   for h in header)
    body = "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows)
    out = f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    if total is not None and total > ROWS_PER_LIST:
        out += f'<p class="more">… and {total - ROWS_PER_LIST} more, listed in report.json.</p>'
    return out


def _summary(data: Json) -> str:
    totals = data["totals"]
    touched = sum(1 for p in data["projects"] if p["remove_items"])
    cards = [(f"{totals['remove_items']}", "items to remove"),
             (human_bytes(totals["remove_bytes"]), "to free"),
             (f"{touched} of {totals['projects']}", "projects touched"),
             (f"{totals['kept_items']}", f"items kept ({human_bytes(totals['kept_bytes'])})")]
    if totals["pending_items"]:
        cards.append((f"{totals['pending_items']}",
                      f"items pending, grace not over ({human_bytes(totals['pending_bytes'])})"))
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{_e(big)}</b><span>{_e(small)}</span></div>' for big, small in cards) + "</div>"


def _warnings(data: Json) -> str:
    out = []
    if data["refused"]:
        out.append('<div class="alert refused"><b>Refused by a safety limit: no plan was written.</b><ul>'
                   + "".join(f"<li>{_e(r)}</li>" for r in data["refused"]) + "</ul></div>")
    unevaluated = [r for r in data["totals"]["by_rule"] if r["unevaluated_projects"]]
    if unevaluated:
        out.append('<div class="alert" id="not-evaluated"><b>Rules not evaluated for lack of data</b><ul>'
                   + "".join(f"<li><code>{_e(r['rule'])}</code>: {r['unevaluated_projects']} projects have no "
                             f"{_e(', '.join(r['missing_data']))} in the inventory</li>" for r in unevaluated)
                   + "</ul></div>")
    return "".join(out)


def _charts(data: Json) -> str:
    totals = data["totals"]
    top = [p for p in data["projects"] if p["remove_items"]][:TOP_PROJECTS]
    projects = [Bar(p["path"], p["remove_bytes"], f"{p['remove_items']} items") for p in top]
    rules = sorted((Bar(r["rule"], r["bytes"], f"{r['items']} items" + (
        f", not evaluated in {r['unevaluated_projects']} projects" if r["unevaluated_projects"] else ""))
        for r in totals["by_rule"]), key=lambda b: (-b.value, b.label))
    kinds = sorted((Bar(k, v["bytes"], f"{v['items']} items") for k, v in totals["by_resource"].items()),
                   key=lambda b: (-b.value, b.label))
    return ('<section class="charts">'
            + _bar_chart("chart-projects", f"Bytes to free by project (top {TOP_PROJECTS})", projects)
            + _bar_chart("chart-rules", "Bytes to free by rule", rules)
            + _bar_chart("chart-kinds", "Bytes to free by kind", kinds)
            + _before_after_chart(totals.get("before_after", {})) + "</section>")


def _tables(data: Json) -> str:
    totals = data["totals"]
    rules = _table(["rule", "kind", "action", "items", "bytes", "examined", "kept"],
                   ([_cell(r["rule"]), _cell(r["resource"]), _cell(r["action"]), _cell(r["items"], r["items"]),
                     _cell(human_bytes(r["bytes"]), r["bytes"]), _cell(r["examined"], r["examined"]),
                     _cell(r["kept"], r["kept"])] for r in totals["by_rule"]))
    projects = _table(["project", "to remove", "bytes to free", "kept", "overrides"],
                      ([f'<td><a href="#p-{int(p["id"])}">{_e(p["path"])}</a></td>',
                        _cell(p["remove_items"], p["remove_items"]),
                        _cell(human_bytes(p["remove_bytes"]), p["remove_bytes"]),
                        _cell(p["kept_items"], p["kept_items"]),
                        _cell(", ".join(sorted({o for paths in p["overrides"].values() for o in paths})))]
                       for p in data["projects"]))
    out = f'<h2>Summary by rule</h2>{rules}<h2>Projects, largest first</h2>{projects}'
    if data["skipped_projects"]:
        out += "<h2>Projects not examined</h2>" + "".join(
            f"<details><summary>{_e(reason)}: {len(paths)}</summary><ul class=\"paths\">"
            + "".join(f"<li>{_e(p)}</li>" for p in paths) + "</ul></details>"
            for reason, paths in data["skipped_projects"].items())
    return out


def _project(project: Json, open_: bool) -> str:
    head = (f"{_e(project['path'])}: {project['remove_items']} to remove, "
            f"{_e(human_bytes(project['remove_bytes']))}, {project['kept_items']} kept"
            + (f", {project['pending_items']} pending" if project["pending_items"] else ""))
    out = [f'<details class="project" id="p-{int(project["id"])}"{" open" if open_ else ""}>'
           f"<summary>{head}</summary>"]
    facts = [f"<li>note: {_e(n)}</li>" for n in project["notes"]]
    facts += [f"<li>rule <code>{_e(rule)}</code> decided with override "
              + ", ".join(f"<code>{_e(p)}</code>" for p in paths) + "</li>"
              for rule, paths in project["overrides"].items()]
    if facts:
        out.append(f'<ul class="facts">{"".join(facts)}</ul>')
    if project["remove"]:
        out.append(f"<h4>Remove ({project['remove_items']}, {_e(human_bytes(project['remove_bytes']))})</h4>")
        out.append(_table(["item", "rule", "kind", "bytes", "why"],
                          ([_cell(i["title"]), _cell(i["rule"]), _cell(i["resource"]),
                            _cell(human_bytes(i["bytes"]), i["bytes"]), _cell(i["reason"])]
                           for i in project["remove"][:ROWS_PER_LIST]), project["remove_items"]))
    if project["pending"]:
        out.append(f'<h4 class="pending">Pending ({project["pending_items"]}: grace period not over)</h4>')
        out.append(_table(["item", "rule", "kind", "bytes", "status"],
                          ([_cell(i["title"]), _cell(i["rule"]), _cell(i["resource"]),
                            _cell(human_bytes(i["bytes"]), i["bytes"]),
                            _cell(f"to be removed on or after {due_text(i['due'])}")]
                           for i in project["pending"][:ROWS_PER_LIST]), project["pending_items"]))
    if project["kept"]:
        counts = ", ".join(f"{n} {c}" for c, n in project["kept_by_category"].items())
        out.append(f"<details><summary>Kept ({project['kept_items']}: {_e(counts)})</summary>")
        out.append(_table(["item", "rule", "kind", "bytes", "kept because"],
                          ([_cell(k["title"]), _cell(k["rule"]), _cell(k["resource"]),
                            _cell(human_bytes(k["bytes"]), k["bytes"]), _cell(f"{k['category']}: {k['reason']}")]
                           for k in project["kept"][:ROWS_PER_LIST]), project["kept_items"]))
        out.append("</details>")
    out.append("</details>")
    return "".join(out)


def render_html(data: Json) -> str:
    projects = data["projects"]
    sections = "".join(_project(p, open_=n < 3 and bool(p["remove_items"]))
                       for n, p in enumerate(projects[:PROJECTS_IN_FULL]))
    if len(projects) > PROJECTS_IN_FULL:
        sections += (f'<p class="more">… and {len(projects) - PROJECTS_IN_FULL} more projects, in the table '
                     "above and in report.json.</p>")
    meta = (f"GitLab <b>{_e(data.get('gitlab_url'))}</b> · inventory collected {_e(data.get('created_at'))} · "
            f"plan <code>{_e(str(data.get('plan_digest') or 'not written')[:19])}</code>")
    csp = content_security_policy([_CSS], [_JS])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'  # our text: no " & <
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>gitlab-janitor dry-run report</title><style>{_CSS}</style></head><body><main>"
            f'<h1>gitlab-janitor dry-run report</h1><p class="meta">{meta}</p>'
            f"{_warnings(data)}{_summary(data)}{_charts(data)}{_tables(data)}"
            f"<h2>Per project, largest first</h2>{sections}</main><script>{_JS}</script></body></html>\n")


_CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--free:#d1495b;--before:#9aa5b1;--after:#2a9d8f}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink)}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;
border-bottom:1px solid var(--line)}h4{margin:14px 0 6px}
.meta{color:var(--muted);margin:0 0 16px}code{font:12px ui-monospace,Menlo,Consolas,monospace;
background:var(--bg);padding:1px 4px;border-radius:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 8px}
.card{flex:1 1 180px;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:12px 16px}
.card b{display:block;font-size:22px}.card span{color:var(--muted)}
.alert{border:1px solid #d4a72c;background:#fff8c5;border-radius:8px;padding:10px 14px;margin:12px 0}
.alert.refused{border-color:#cf222e;background:#ffebe9}.alert ul{margin:6px 0 0;padding-left:20px}
.charts{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;margin-top:16px}
.chart{margin:0;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
figcaption{font-weight:600;margin-bottom:6px}
.chart svg{display:block;font-size:12px;overflow:visible}.chart .label{fill:var(--ink)}.chart .value{fill:var(--muted)}
.bar{fill:var(--free)}.bar.before{fill:var(--before)}.bar.after{fill:var(--after)}
.legend{margin:0 0 6px;color:var(--muted)}.key{display:inline-block;width:12px;height:12px;border-radius:2px;
margin:0 4px 0 10px;vertical-align:-1px}.key.before{background:var(--before)}.key.after{background:var(--after)}
.empty{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);cursor:pointer;user-select:none;white-space:nowrap}
th::after{content:" ↕";color:#b0b8c1}th[aria-sort=ascending]::after{content:" ▲";color:inherit}
th[aria-sort=descending]::after{content:" ▼";color:inherit}
th.num,td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tbody tr:hover{background:#f0f6ff}
details{margin:6px 0}summary{cursor:pointer}
details.project{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
details.project>summary{font-weight:600}
.facts{margin:6px 0;padding-left:20px;color:var(--muted)}.more{color:var(--muted);font-style:italic}
ul.paths{columns:3;font-size:13px}a{color:#0969da}
"""

# Sorting without network: click (or Enter on) a header; numeric cells sort by their data-sort value.
_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th");
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.toLowerCase() : Number(v);
  }
  heads.forEach(function (th, col) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending", body = table.tBodies[0];
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a.cells[col]), y = key(b.cells[col]);
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      }).forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
  table.setAttribute("data-sortable", "ready");
});
"""
