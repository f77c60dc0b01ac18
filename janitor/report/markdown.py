"""report.md: for a merge-request comment, a job log or a log repository.

Every string taken from the data (project paths, item titles, reasons that embed names, rule names,
notes, override paths) passes through `md_text` on its way in; only our own fixed text and numbers are
written as Markdown.
"""

from __future__ import annotations

import re
from typing import Any

from janitor.grace import due_text
from janitor.model import Json
from janitor.textsafe import printable
from janitor.units import human_bytes

ROWS_PER_LIST = 100     # rows shown per list; the rest are counted, never dropped silently
PROJECTS_IN_FULL = 200  # projects detailed; the rest get one summary row each

# Characters that start Markdown or HTML structure, written as numeric character references. CommonMark
# treats a reference as the literal character and never as markup, in inline text and in raw HTML alike,
# and GFM splits table rows on literal pipes only; so one spelling is safe in every context below.
_MARKUP = {ord(c): f"&#{ord(c)};" for c in "&<>|`[]\\*~$"}
_MARKUP.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"})
_CODE_SAFE = re.compile(r"[\w./*: -]+")  # what a code span may show as is (rule names, override paths)


def md_text(value: Any) -> str:
    """A user-controlled string made inert for the three places report.md puts one: a GFM table cell,
    inline text (headings, list items) and the raw-HTML `<summary>` of a `<details>` fold.

    - control characters, newlines and bidi overrides are shown escaped (`printable`), so a name can
      neither start a new block nor reorder what the reader sees;
    - HTML specials (`< > &`) become entities, so `</details><details>` cannot refold the report;
    - `|` cannot add a table column, `` ` `` cannot open a code span, `[ ]` cannot make a link or an image,
      `\\` cannot escape our own syntax, `*`, `~` and `$` cannot open emphasis, strike-through or math;
    - `_` is escaped where it could open or close emphasis (not between two letters or digits, where
      CommonMark never reads it as emphasis), and a leading `#`, where it
      would start a heading (`>` is always an entity).
    """
    text = printable(value).translate(_MARKUP)
    if text.startswith("#"):
        text = "&#35;" + text[1:]
    if "_" in text:
        text = "".join("&#95;" if c == "_" and not (0 < i < len(text) - 1 and text[i - 1].isalnum()
                                                   and text[i + 1].isalnum()) else c
                       for i, c in enumerate(text))
    return text


def _code(value: Any) -> str:
    """A rule name or path in a code span when that is safe (code spans show references literally), else
    as `md_text`."""
    text = str(value)
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else md_text(text)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
    return lines


def _folded(title: str, header: list[str], rows: list[list[Any]], total: int) -> list[str]:
    """`title` is Markdown we built (its data parts already through `md_text`)."""
    lines = ["<details>", f"<summary>{title}</summary>", ""]
    lines += _table(header, rows[:ROWS_PER_LIST])
    if total > ROWS_PER_LIST:
        lines.append(f"\n… and {total - ROWS_PER_LIST} more, listed in report.json.")
    lines += ["", "</details>", ""]
    return lines


def render_markdown(data: Json) -> str:
    totals = data["totals"]
    out = ["# gitlab-janitor dry-run report", ""]
    out.append(f"GitLab **{md_text(data.get('gitlab_url'))}** · inventory collected "
               f"{md_text(data.get('created_at'))} · plan {_code(str(data.get('plan_digest') or 'not written')[:19])}")
    out.append("")
    if data["refused"]:
        out.append("> **Refused by a safety limit: no plan was written.**")
        out += [f"> - {md_text(reason)}" for reason in data["refused"]]
        out.append("")
    if data.get("warnings"):
        out.append("> **Policy warnings** (valid, but often more than meant):")
        out += [f"> - {md_text(text)}" for text in data["warnings"]]
        out.append("")
    out.append(f"**{totals['remove_items']} items to remove, {human_bytes(totals['remove_bytes'])} to free**, "
               f"in {sum(1 for p in data['projects'] if p['remove_items'])} of {totals['projects']} projects; "
               f"{totals['kept_items']} items kept ({human_bytes(totals['kept_bytes'])}).")
    if totals["pending_items"]:
        n = totals["pending_items"]
        out += ["", f"**{n} item{'' if n == 1 else 's'} pending** ({human_bytes(totals['pending_bytes'])}): they "
                "qualify, but their rule's grace period has not passed; none is in the plan."]
    out += ["", "## Summary", ""]
    out += _table(["rule", "kind", "action", "items", "bytes", "examined", "kept", "pending"],
                  [[r["rule"], r["resource"], r["action"], r["items"], human_bytes(r["bytes"]), r["examined"],
                    r["kept"], f"{r['pending']} (grace {r['grace']})" if r["grace"] else "-"]
                   for r in totals["by_rule"]])
    before_after = totals.get("before_after") or {}
    if before_after:
        out += ["", "Before and after, by kind (objects the rules examined, each counted once):", ""]
        out += _table(["kind", "before", "after", "freed"],
                      [[kind, f"{v['before_items']} · {human_bytes(v['before_bytes'])}",
                        f"{v['after_items']} · {human_bytes(v['after_bytes'])}",
                        human_bytes(v["before_bytes"] - v["after_bytes"])] for kind, v in before_after.items()])
    unevaluated = [r for r in totals["by_rule"] if r["unevaluated_projects"]]
    if unevaluated:
        out += ["", "### Rules not evaluated for lack of data", ""]
        out += [f"- {_code(r['rule'])}: {r['unevaluated_projects']} projects have no "
                f"{', '.join(r['missing_data'])} in the inventory" for r in unevaluated]  # our own inventory keys
    if data["skipped_projects"]:
        out += ["", "### Projects not examined", ""]
        for reason, paths in data["skipped_projects"].items():
            shown = ", ".join(md_text(p) for p in paths[:10])
            shown += f" and {len(paths) - 10} more" if len(paths) > 10 else ""
            out.append(f"- {md_text(reason)}: {len(paths)} ({shown})")
    out += ["", "## Per project, largest first", ""]
    projects = data["projects"]
    for project in projects[:PROJECTS_IN_FULL]:
        out += _project(project)
    if len(projects) > PROJECTS_IN_FULL:
        out += ["### Other projects", ""]
        out += _table(["project", "remove", "bytes", "kept"],
                      [[p["path"], p["remove_items"], human_bytes(p["remove_bytes"]), p["kept_items"]]
                       for p in projects[PROJECTS_IN_FULL:]])
    return "\n".join(out) + "\n"


def _project(project: Json) -> list[str]:
    out = [f"### {md_text(project['path'])}: {project['remove_items']} to remove, "
           f"{human_bytes(project['remove_bytes'])}"
           + (f", {project['pending_items']} pending" if project["pending_items"] else ""), ""]
    for note in project["notes"]:
        out.append(f"- note: {md_text(note)}")
    for rule, paths in project["overrides"].items():
        out.append(f"- rule {_code(rule)} decided with override {', '.join(_code(p) for p in paths)}")
    if project["notes"] or project["overrides"]:
        out.append("")
    if project["remove"]:
        out += _folded(f"Remove ({project['remove_items']}, {human_bytes(project['remove_bytes'])})",
                       ["item", "rule", "bytes", "why"],
                       [[i["title"], i["rule"], human_bytes(i["bytes"]), i["reason"]] for i in project["remove"]],
                       project["remove_items"])
    if project["pending"]:
        out += _folded(f"Pending ({project['pending_items']}: grace period not over)",
                       ["item", "rule", "bytes", "status"],
                       [[i["title"], i["rule"], human_bytes(i["bytes"]),
                         f"to be removed on or after {due_text(i['due'])}"] for i in project["pending"]],
                       project["pending_items"])
    if project["kept"]:
        counts = ", ".join(f"{n} {md_text(c)}" for c, n in project["kept_by_category"].items())
        out += _folded(f"Kept ({project['kept_items']}: {counts})", ["item", "rule", "kept because"],
                       [[k["title"], k["rule"], f"{k['category']}: {k['reason']}"] for k in project["kept"]],
                       project["kept_items"])
    return out
