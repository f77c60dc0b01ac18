"""report.html: one self-contained page (inline CSS, HTML/SVG charts and a short script; nothing fetched), so
it can be opened from a CI job's artifacts or a mail attachment, offline, and show the same facts as
report.md, plus a filter over every table and a link to each object in GitLab.

Every string that comes from the data (project paths, branch names, reasons) is user-controlled and goes
through `e`; nothing else is ever inserted into the markup. Links are built by `Links` from the plan's
GitLab URL and each object's path, name or id, never taken from the inventory.

The page carries a Content-Security-Policy that allows nothing (`default-src 'none'`) but its own inline
<style> and <script>, each by the sha256 of the exact text emitted, computed as the page is rendered: should
a name ever slip past `e`, a browser would still run no script and load nothing from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence

from janitor.grace import due_text
from janitor.model import Json
from janitor.report.assets import CSS, JS
from janitor.report.charts import charts, items_text
from janitor.report.links import Links
from janitor.report.markup import ROWS_PER_LIST, cell, e, out_link, table
from janitor.report.page_parts import header_facts, summary_cards
from janitor.units import human_bytes

PROJECTS_IN_FULL = 200  # projects with their own section; all of them stay in the overview table


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(styles: Sequence[str], scripts: Sequence[str]) -> str:
    """Nothing but these inline styles and scripts (CSP level 2 hashes of their exact text)."""
    return (f"default-src 'none'; style-src {' '.join(_sha256(s) for s in styles)}; "
            f"script-src {' '.join(_sha256(s) for s in scripts)}; base-uri 'none'; form-action 'none'")


def _warnings(data: Json) -> str:
    out = []
    if data["refused"]:
        out.append('<div class="alert refused"><b>Refused by a safety limit: no plan was written.</b><ul>'
                   + "".join(f"<li>{e(r)}</li>" for r in data["refused"]) + "</ul></div>")
    unevaluated = [r for r in data["totals"]["by_rule"] if r["unevaluated_projects"]]
    if unevaluated:
        out.append('<div class="alert" id="not-evaluated"><b>Rules not evaluated for lack of data</b><ul>'
                   + "".join(f"<li><code>{e(r['rule'])}</code>: {r['unevaluated_projects']} projects have no "
                             f"{e(', '.join(r['missing_data']))} in the inventory</li>" for r in unevaluated)
                   + "</ul></div>")
    return "".join(out)


def _filter_bar(data: Json) -> str:
    """Hidden until the page's script shows it: without the script it could do nothing."""
    rules = "".join(f'<option value="{e(r["rule"])}">{e(r["rule"])}</option>' for r in data["totals"]["by_rule"])
    kinds = sorted({r["resource"] for r in data["totals"]["by_rule"]})
    return ('<div class="filter" id="filter" role="search" hidden>'
            '<input type="search" id="f-text" placeholder="Filter rows: name, reason…" aria-label="filter by text">'
            f'<select id="f-rule" aria-label="filter by rule"><option value="">every rule</option>{rules}</select>'
            '<select id="f-kind" aria-label="filter by kind"><option value="">every kind</option>'
            + "".join(f'<option value="{e(k)}">{e(k)}</option>' for k in kinds) + "</select>"
            '<input type="search" id="f-project" placeholder="project path" aria-label="filter by project">'
            '<output id="f-count" aria-live="polite"></output></div>')


def _project_rules(project: Json) -> dict[str, str]:
    items = [*project["remove"], *project["kept"]]
    return {"project": project["path"], "rule": " ".join(sorted({str(i["rule"]) for i in items})),
            "kind": " ".join(sorted({str(i["resource"]) for i in items}))}


def _tables(data: Json, links: Links) -> str:
    totals = data["totals"]
    rules = table(["rule", "kind", "action", "items", "bytes", "examined", "kept"],
                   (({"rule": r["rule"], "kind": r["resource"]},
                     [cell("rule", r["rule"]), cell("kind", r["resource"]), cell("action", r["action"]),
                      cell("items", r["items"], r["items"]), cell("bytes", human_bytes(r["bytes"]), r["bytes"]),
                      cell("examined", r["examined"], r["examined"]), cell("kept", r["kept"], r["kept"])])
                    for r in totals["by_rule"]))
    projects = table(["project", "to remove", "bytes to free", "kept", "overrides"],
                      ((_project_rules(p),
                        [f'<td data-h="project"><a href="#p-{int(p["id"])}">{e(p["path"])}</a>'
                         f'{out_link(links.project(p["path"]))}</td>',
                         cell("to remove", p["remove_items"], p["remove_items"]),
                         cell("bytes to free", human_bytes(p["remove_bytes"]), p["remove_bytes"]),
                         cell("kept", p["kept_items"], p["kept_items"]),
                         cell("overrides", ", ".join(sorted({o for paths in p["overrides"].values() for o in paths})))])
                       for p in data["projects"]))
    out = f'<h2>Summary by rule</h2>{rules}<h2>Projects, largest first</h2>{projects}'
    if data["skipped_projects"]:
        out += "<h2>Projects not examined</h2>" + "".join(
            f"<details><summary>{e(reason)}: {len(paths)}</summary><ul class=\"paths\" data-filter>"
            + "".join(f'<li data-project="{e(p)}">{e(p)}</li>' for p in paths) + "</ul></details>"
            for reason, paths in data["skipped_projects"].items())
    return out


def _item_table(path: str, rows: list[Json], total: int, last: str, last_text: Callable[[Json], str],
                href: Callable[[Json], str | None]) -> str:
    """A project's removed, pending or kept items: the same columns and filter attributes, the last column
    saying why; at most ROWS_PER_LIST rows, the rest counted."""
    return table(["item", "rule", "kind", "bytes", last],
                 (({"rule": r["rule"], "kind": r["resource"], "project": path},
                   [cell("item", r["title"], href=href(r)), cell("rule", r["rule"]), cell("kind", r["resource"]),
                    cell("bytes", human_bytes(r["bytes"]), r["bytes"]), cell(last, last_text(r))])
                  for r in rows[:ROWS_PER_LIST]), total)


def _project(project: Json, open_: bool, links: Links) -> str:
    path = project["path"]
    head = (f"{e(path)}: {items_text(project['remove_items'])} to remove, "
            f"{e(human_bytes(project['remove_bytes']))}, {project['kept_items']} kept"
            + (f", {project['pending_items']} pending" if project.get("pending_items") else ""))
    out = [f'<details class="project" id="p-{int(project["id"])}" data-project="{e(path)}"{" open" if open_ else ""}>'
           f"<summary>{head}</summary>"]
    facts = []
    if (href := links.project(path)) is not None:
        facts.append(f'<li><a href="{e(href)}">{e(path)} in GitLab</a></li>')
    facts += [f"<li>note: {e(n)}</li>" for n in project["notes"]]
    facts += [f"<li>rule <code>{e(rule)}</code> decided with override "
              + ", ".join(f"<code>{e(p)}</code>" for p in paths) + "</li>"
              for rule, paths in project["overrides"].items()]
    if facts:
        out.append(f'<ul class="facts">{"".join(facts)}</ul>')
    if project["remove"]:
        out.append(f"<h4>Remove ({project['remove_items']}, {e(human_bytes(project['remove_bytes']))})</h4>")
        out.append(_item_table(path, project["remove"], project["remove_items"], "why", lambda i: i["reason"],
                               lambda i: links.item(path, i["resource"], i.get("target"))))
    if project.get("pending"):
        out.append(f'<h4 class="pending">Pending ({project["pending_items"]}: grace period not over)</h4>')
        out.append(_item_table(path, project["pending"], project["pending_items"], "status",
                               lambda i: f"to be removed on or after {due_text(i['due'])}",
                               lambda i: links.kept(path, i["resource"], i["title"])))
    if project["kept"]:
        counts = ", ".join(f"{n} {c}" for c, n in project["kept_by_category"].items())
        out.append(f"<details><summary>Kept ({project['kept_items']}: {e(counts)})</summary>")
        out.append(_item_table(path, project["kept"], project["kept_items"], "kept because",
                               lambda k: f"{k['category']}: {k['reason']}",
                               lambda k: links.kept(path, k["resource"], k["title"])))
        out.append("</details>")
    out.append("</details>")
    return "".join(out)


def render_html(data: Json) -> str:
    links = Links(data.get("gitlab_url"))
    projects = data["projects"]
    sections = "".join(_project(p, n < 3 and bool(p["remove_items"]), links)
                       for n, p in enumerate(projects[:PROJECTS_IN_FULL]))
    if len(projects) > PROJECTS_IN_FULL:
        sections += (f'<p class="more">… and {len(projects) - PROJECTS_IN_FULL} more projects, in the table '
                     "above and in report.json.</p>")
    csp = content_security_policy([CSS], [JS])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'  # our text: no " & <
            '<meta name="referrer" content="no-referrer">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>gitlab-janitor dry-run report</title><style>{CSS}</style></head><body><main>"
            f"<h1>gitlab-janitor dry-run report</h1>{header_facts(data, links)}"
            f"{_warnings(data)}{summary_cards(data)}{charts(data)}{_filter_bar(data)}"
            f"{_tables(data, links)}"
            f"<h2>Per project, largest first</h2>{sections}</main><script>{JS}</script></body></html>\n")
