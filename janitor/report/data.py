"""The report as one JSON-able value: totals, then per project, largest first. Built one project at a time
(`ReportTotals.add`), so a plan of a million items never holds them all for its reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from janitor.grace import Pending
from janitor.model import Json, Kept, ProjectResult
from janitor.planner import Evaluation
from janitor.policy.model import Policy


def _kept_json(k: Kept) -> Json:
    return {"rule": k.rule, "resource": k.resource, "title": k.title, "bytes": k.bytes,
            "category": k.category, "reason": k.reason}


def _pending_json(p: Pending) -> Json:
    return {**p.to_json(), "bytes": p.item.bytes, "reason": p.item.reason}


def project_json(p: ProjectResult, prepared: Mapping[str, Json] | None = None, lists: bool = True) -> Json:
    """A project's full report entry, as report.json lists it. `prepared` maps item ids to JSON made already.
    Without `lists`, the removed and kept lists are left empty (no report file will show them); the counts
    and the pending list are the same."""
    prepared = prepared or {}
    kept_by: Counter[str] = Counter(k.category for k in p.kept)
    return {
        "id": p.project_id,
        "path": p.path,
        "remove_items": len(p.removed),
        "remove_bytes": p.removed_bytes,
        "kept_items": len(p.kept),
        "kept_by_category": dict(sorted(kept_by.items())),
        "overrides": p.overrides,
        "notes": p.notes,
        "remove": [prepared.get(i.id) or i.to_json() for i in sorted(p.removed, key=lambda i: (-i.bytes, i.id))]
        if lists else [],
        "kept": [_kept_json(k) for k in sorted(p.kept, key=lambda k: (k.category, -k.bytes, k.title))] if lists else [],
        "pending_items": len(p.pending),
        "pending": [_pending_json(w) for w in sorted(p.pending, key=lambda w: (w.due, w.item.id))],
    }


# What report.md and report.html can show: the renderers detail at most this many projects, this many rows
# per list. Only these projects' lists are loaded into the report value; every count stays exact, and
# report.json lists everything. A renderer that shows more must raise these (tests/test_plan_stream.py
# checks the renderers' own caps against them).
DETAIL_PROJECTS = 200
DETAIL_ROWS = 200


def project_summary(project: Json) -> Json:
    """A project's report entry without its lists: what the overview tables need for every project."""
    return {**project, "remove": [], "kept": [], "pending": []}


def project_detail(project: Json) -> Json:
    """A project's report entry with its lists cut to what the renderers show."""
    return {**project, "remove": project["remove"][:DETAIL_ROWS], "kept": project["kept"][:DETAIL_ROWS],
            "pending": project["pending"][:DETAIL_ROWS]}


class ReportTotals:
    """The report's totals, added up one project at a time (the planner streams projects)."""

    def __init__(self) -> None:
        self.projects = 0
        self.remove_items = 0
        self.remove_bytes = 0
        self.kept_items = 0
        self.kept_bytes = 0
        self.pending_items = 0
        self.pending_bytes = 0
        self.by_resource: dict[str, dict[str, int]] = defaultdict(lambda: {"items": 0, "bytes": 0})
        self.before_after: dict[str, dict[str, int]] = defaultdict(
            lambda: {"before_items": 0, "before_bytes": 0, "after_items": 0, "after_bytes": 0})

    def add(self, p: ProjectResult) -> None:
        self.projects += 1
        for item in p.removed:
            self.by_resource[item.resource]["items"] += 1
            self.by_resource[item.resource]["bytes"] += item.bytes
        self.remove_items += len(p.removed)
        self.remove_bytes += p.removed_bytes
        self.kept_items += len(p.kept)
        self.kept_bytes += sum(k.bytes for k in p.kept)
        self.pending_items += len(p.pending)
        self.pending_bytes += sum(w.item.bytes for w in p.pending)
        self._before_after(p)

    def _before_after(self, p: ProjectResult) -> None:
        """Per kind, what the examined objects weigh now and what stays after the plan is applied.

        Several rules may examine the same object (kept by one, removed by another), so objects are counted
        once, by (kind, title) within the project (project ids are unique, so per project is enough); an
        object any rule removes is gone "after".
        """
        seen: dict[str, dict[str, tuple[int, bool]]] = defaultdict(dict)
        for k in p.kept:
            seen[k.resource].setdefault(k.title, (k.bytes, False))
        for w in p.pending:  # still there after this plan: its grace period has not passed
            seen[w.item.resource].setdefault(w.item.title, (w.item.bytes, False))
        for i in p.removed:
            seen[i.resource][i.title] = (i.bytes, True)
        for resource, objects in seen.items():
            counts = self.before_after[resource]
            for size, gone in objects.values():
                counts["before_items"] += 1
                counts["before_bytes"] += size
                if not gone:
                    counts["after_items"] += 1
                    counts["after_bytes"] += size

    def to_json(self, rules: list[Json]) -> Json:
        return {
            "projects": self.projects,
            "remove_items": self.remove_items,
            "remove_bytes": self.remove_bytes,
            "kept_items": self.kept_items,
            "kept_bytes": self.kept_bytes,
            "pending_items": self.pending_items,
            "pending_bytes": self.pending_bytes,
            "by_resource": {k: dict(self.by_resource[k]) for k in sorted(self.by_resource)},
            "by_rule": rules,
            "before_after": {k: dict(self.before_after[k]) for k in sorted(self.before_after)},
        }


def report_data(evaluation: Evaluation, policy: Policy, header: Json, totals: ReportTotals,
                projects: list[Json]) -> Json:
    """The report value. `projects` are the report entries largest first: summaries, with their lists only
    for the first DETAIL_PROJECTS (report.json's full lists are streamed separately)."""
    rules: list[Json] = []
    for rule in policy.rules:
        by_rule = evaluation.rules[rule.name]
        rules.append({
            "rule": rule.name, "resource": rule.resource, "action": rule.action,
            "items": by_rule.removed, "bytes": by_rule.bytes, "examined": by_rule.examined, "kept": by_rule.kept,
            "unevaluated_projects": by_rule.unevaluated_projects, "missing_data": sorted(by_rule.missing),
            "pending": by_rule.pending, "grace": rule.grace,
        })
    data: dict[str, Any] = {
        "format": "gitlab-janitor-report",
        "version": 1,
        **header,
        "refused": list(evaluation.refusals),
        "warnings": list(policy.warnings),
        "totals": totals.to_json(rules),
        "skipped_projects": {reason: sorted(paths) for reason, paths in sorted(evaluation.skipped_projects.items())},
        "projects": projects,
    }
    return data


def report_of(evaluation: Evaluation, policy: Policy, header: Json) -> Json:
    """The whole report value of an in-memory evaluation, every list in full (small inventories, tests)."""
    totals = ReportTotals()
    for project in evaluation.projects:
        totals.add(project)
    projects = sorted(evaluation.projects, key=lambda p: (-p.removed_bytes, p.path))
    return report_data(evaluation, policy, header, totals, [project_json(p) for p in projects])
