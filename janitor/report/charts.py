"""The charts of report.html, each drawn twice: by item count and by bytes.

Branches, tags, environments and protected-branch rules free 0 B, so a bytes-only chart gives them no bar,
although they are the deletions a reviewer most needs to see. Each chart therefore holds an item-count view
and a bytes view; a radio pair above the charts shows one or the other with CSS alone (no script needed).

Bars are HTML rows laid out by a CSS grid, each bar a tiny SVG scaled to its track: on a phone the label
moves onto its own line and nothing is shrunk into unreadable text. Widths are SVG attributes, not inline
styles, which the page's Content-Security-Policy forbids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from janitor.model import Json
from janitor.report.markup import e
from janitor.units import human_bytes

TOP_PROJECTS = 20       # bars in the by-project chart
LABEL_CHARS = 40
MEASURES = ("items", "bytes")  # the first is the view shown when the page opens


def _short(label: str) -> str:
    """Keep a label's end: for 'acme/platform/very/deep/api' the project name is what tells rows apart."""
    return label if len(label) <= LABEL_CHARS else "…" + label[-(LABEL_CHARS - 1):]


def items_text(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


@dataclass(frozen=True)
class Row:
    label: str
    items: int
    bytes: int
    note: str = ""

    def measure(self, measure: str) -> int:
        return self.items if measure == "items" else self.bytes

    def value_text(self, measure: str) -> str:
        both = (f"{items_text(self.items)} · {human_bytes(self.bytes)}" if measure == "items"
                else f"{human_bytes(self.bytes)} · {items_text(self.items)}")
        return both + (f" · {self.note}" if self.note else "")


def _width(value: int, top: int) -> float:
    """Percent of the track; a non-zero value always shows at least a sliver."""
    if top <= 0 or value <= 0:
        return 0.0
    return max(100.0 * value / top, 0.6)


def _bar(series: str, value: int, top: int, text: str) -> str:
    return (f'<svg class="track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect class="bar{series}" width="{_width(value, top):.2f}" height="10" rx="1"/></svg>'
            f'<span class="value">{e(text)}</span>')


def _view(measure: str, rows: Sequence[Row], empty: str) -> str:
    if not any(r.items for r in rows):
        return f'<div class="view v-{measure}"><p class="empty">{e(empty)}</p></div>'
    top = max(r.measure(measure) for r in rows)
    body = "".join(f'<span class="label" title="{e(r.label)}">{e(_short(r.label))}</span>'
                   + _bar("", r.measure(measure), top, r.value_text(measure)) for r in rows)
    return f'<div class="view v-{measure}">{body}</div>'


def bar_chart(chart_id: str, title: str, rows: Sequence[Row], limit: int | None = None,
              empty: str = "Nothing to remove.") -> str:
    """Both views of one chart; each is ordered by its own measure, largest first, then by label."""
    views = []
    for measure in MEASURES:
        ordered = sorted(rows, key=lambda r: (-r.measure(measure), r.label))
        views.append(_view(measure, ordered[:limit] if limit else ordered, empty))
    return f'<figure class="chart" id="{chart_id}"><figcaption>{e(title)}</figcaption>{"".join(views)}</figure>'


def before_after_chart(before_after: Json) -> str:
    title = "Before and after, by kind"
    if not before_after:
        return (f'<figure class="chart" id="chart-before-after"><figcaption>{e(title)}</figcaption>'
                '<p class="empty">No object was examined.</p></figure>')
    views = []
    for measure in MEASURES:
        unit = "bytes" if measure == "bytes" else "objects"
        top = max(v[f"before_{measure}"] for v in before_after.values())
        body = []
        for kind, v in before_after.items():
            gone_items, gone_bytes = v["before_items"] - v["after_items"], v["before_bytes"] - v["after_bytes"]
            pairs = []
            for series in ("before", "after"):
                count, size = v[f"{series}_items"], v[f"{series}_bytes"]
                text = (f"{count} · {human_bytes(size)}" if measure == "items" else
                        f"{human_bytes(size)} · {count}")
                if series == "after" and (gone_items or gone_bytes):
                    text += f" (−{gone_items if measure == 'items' else human_bytes(gone_bytes)})"
                pairs.append(_bar(f" {series}", v[f"{series}_{measure}"], top, text))
            body.append(f'<span class="label">{e(kind)}</span><span class="pair">{pairs[0]}</span>'
                        f'<span class="pair">{pairs[1]}</span>')
        views.append(f'<div class="view v-{measure} ba">'
                     f'<p class="legend"><span class="key before"></span>now <span class="key after"></span>'
                     f'after the plan is applied ({unit} the rules examined)</p>{"".join(body)}</div>')
    return f'<figure class="chart" id="chart-before-after"><figcaption>{e(title)}</figcaption>{"".join(views)}</figure>'


def measure_switch() -> str:
    """The radio pair that picks the charts' view; CSS hides the other view (see the stylesheet)."""
    out = ['<span class="switch-title">Charts show</span>']
    for n, measure in enumerate(MEASURES):
        text = "item counts" if measure == "items" else "bytes"
        out.append(f'<input type="radio" name="measure" id="m-{measure}" class="measure"{" checked" if n == 0 else ""}>'
                   f'<label for="m-{measure}">{text}</label>')
    return "".join(out)


def charts(data: Json) -> str:
    totals = data["totals"]
    projects = [Row(p["path"], p["remove_items"], p["remove_bytes"]) for p in data["projects"] if p["remove_items"]]
    rules = [Row(r["rule"], r["items"], r["bytes"],
                 f"not evaluated in {r['unevaluated_projects']} projects" if r["unevaluated_projects"] else "")
             for r in totals["by_rule"]]
    kinds = [Row(k, v["items"], v["bytes"]) for k, v in totals["by_resource"].items()]
    return ('<section class="charts-wrap">' + measure_switch() + '<div class="charts">'
            + bar_chart("chart-projects", f"To remove, by project (top {TOP_PROJECTS})", projects, TOP_PROJECTS)
            + bar_chart("chart-rules", "To remove, by rule", rules)
            + bar_chart("chart-kinds", "To remove, by kind", kinds)
            + before_after_chart(totals.get("before_after", {})) + "</div></section>")
