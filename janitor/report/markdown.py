"""report.md: for a merge-request comment, a job log or a log repository."""

from __future__ import annotations

from typing import Any

from janitor.model import Json
from janitor.units import human_bytes

ROWS_PER_LIST = 100     # rows shown per list; the rest are counted, never dropped silently
PROJECTS_IN_FULL = 200  # projects detailed; the rest get one summary row each


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _folded(title: str, header: list[str], rows: list[list[Any]], total: int) -> list[str]:
    lines = ["<details>", f"<summary>{title}</summary>", ""]
    lines += _table(header, rows[:ROWS_PER_LIST])
    if total > ROWS_PER_LIST:
        lines.append(f"\n… and {total - ROWS_PER_LIST} more, listed in report.json.")
    lines += ["", "</details>", ""]
    return lines


def render_markdown(data: Json) -> str:
    totals = data["totals"]
    out = ["# gitlab-janitor dry-run report", ""]
    out.append(f"GitLab **{data.get('gitlab_url')}** · inventory collected {data.get('created_at')} · "
               f"plan `{str(data.get('plan_digest') or 'not written')[:19]}`")
    out.append("")
    if data["refused"]:
        out.append("> **Refused by a safety limit: no plan was written.**")
        out += [f"> - {reason}" for reason in data["refused"]]
        out.append("")
    out.append(f"**{totals['remove_items']} items to remove, {human_bytes(totals['remove_bytes'])} to free**, "
               f"in {sum(1 for p in data['projects'] if p['remove_items'])} of {totals['projects']} projects; "
               f"{totals['kept_items']} items kept ({human_bytes(totals['kept_bytes'])}).")
    out += ["", "## Summary", ""]
    out += _table(["rule", "kind", "action", "items", "bytes", "examined", "kept"],
                  [[r["rule"], r["resource"], r["action"], r["items"], human_bytes(r["bytes"]), r["examined"],
                    r["kept"]] for r in totals["by_rule"]])
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
        out += [f"- `{r['rule']}`: {r['unevaluated_projects']} projects have no "
                f"{', '.join(r['missing_data'])} in the inventory" for r in unevaluated]
    if data["skipped_projects"]:
        out += ["", "### Projects not examined", ""]
        for reason, paths in data["skipped_projects"].items():
            shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
            out.append(f"- {reason}: {len(paths)} ({shown})")
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
    out = [f"### {project['path']}: {project['remove_items']} to remove, {human_bytes(project['remove_bytes'])}", ""]
    for note in project["notes"]:
        out.append(f"- note: {note}")
    for rule, paths in project["overrides"].items():
        out.append(f"- rule `{rule}` decided with override {', '.join(f'`{p}`' for p in paths)}")
    if project["notes"] or project["overrides"]:
        out.append("")
    if project["remove"]:
        out += _folded(f"Remove ({project['remove_items']}, {human_bytes(project['remove_bytes'])})",
                       ["item", "rule", "bytes", "why"],
                       [[i["title"], i["rule"], human_bytes(i["bytes"]), i["reason"]] for i in project["remove"]],
                       project["remove_items"])
    if project["kept"]:
        counts = ", ".join(f"{n} {c}" for c, n in project["kept_by_category"].items())
        out += _folded(f"Kept ({project['kept_items']}: {counts})", ["item", "rule", "kept because"],
                       [[k["title"], k["rule"], f"{k['category']}: {k['reason']}"] for k in project["kept"]],
                       project["kept_items"])
    return out
