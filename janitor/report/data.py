"""The report as one JSON-able value, built from an evaluation: per project, largest first."""

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


def _project_json(p: ProjectResult, prepared: Mapping[str, Json]) -> Json:
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
        "remove": [prepared.get(i.id) or i.to_json() for i in sorted(p.removed, key=lambda i: (-i.bytes, i.id))],
        "kept": [_kept_json(k) for k in sorted(p.kept, key=lambda k: (k.category, -k.bytes, k.title))],
        "pending_items": len(p.pending),
        "pending": [_pending_json(w) for w in sorted(p.pending, key=lambda w: (w.due, w.item.id))],
    }


def _before_after(projects: list[ProjectResult]) -> Json:
    """Per kind, what the examined objects weigh now and what stays after the plan is applied.

    Several rules may examine the same object (kept by one, removed by another), so objects are counted
    once, by (project, kind, title); an object any rule removes is gone "after".
    """
    seen: dict[str, dict[tuple[int, str], tuple[int, bool]]] = defaultdict(dict)
    for p in projects:
        for k in p.kept:
            seen[k.resource].setdefault((p.project_id, k.title), (k.bytes, False))
        for w in p.pending:  # still there after this plan: its grace period has not passed
            seen[w.item.resource].setdefault((p.project_id, w.item.title), (w.item.bytes, False))
        for i in p.removed:
            seen[i.resource][(p.project_id, i.title)] = (i.bytes, True)
    out: Json = {}
    for resource in sorted(seen):
        objects = seen[resource].values()
        out[resource] = {
            "before_items": len(objects), "before_bytes": sum(b for b, _ in objects),
            "after_items": sum(1 for _, gone in objects if not gone),
            "after_bytes": sum(b for b, gone in objects if not gone),
        }
    return out


def report_data(evaluation: Evaluation, policy: Policy, header: Json,
                prepared: Mapping[str, Json] | None = None) -> Json:
    """`prepared` maps plan item ids to their JSON, shared with the plan rather than made twice."""
    by_resource: dict[str, dict[str, int]] = defaultdict(lambda: {"items": 0, "bytes": 0})
    for project in evaluation.projects:
        for item in project.removed:
            by_resource[item.resource]["items"] += 1
            by_resource[item.resource]["bytes"] += item.bytes
    rules: list[Json] = []
    for rule in policy.rules:
        totals = evaluation.rules[rule.name]
        rules.append({
            "rule": rule.name, "resource": rule.resource, "action": rule.action,
            "items": totals.removed, "bytes": totals.bytes, "examined": totals.examined, "kept": totals.kept,
            "unevaluated_projects": totals.unevaluated_projects, "missing_data": sorted(totals.missing),
            "pending": totals.pending, "grace": rule.grace,
        })
    projects = sorted(evaluation.projects, key=lambda p: (-p.removed_bytes, p.path))
    removed_items = sum(len(p.removed) for p in projects)
    data: dict[str, Any] = {
        "format": "gitlab-janitor-report",
        "version": 1,
        **header,
        "refused": list(evaluation.refusals),
        "warnings": list(policy.warnings),
        "totals": {
            "projects": len(projects),
            "remove_items": removed_items,
            "remove_bytes": sum(p.removed_bytes for p in projects),
            "kept_items": sum(len(p.kept) for p in projects),
            "kept_bytes": sum(k.bytes for p in projects for k in p.kept),
            "pending_items": sum(len(p.pending) for p in projects),
            "pending_bytes": sum(w.item.bytes for p in projects for w in p.pending),
            "by_resource": {k: by_resource[k] for k in sorted(by_resource)},
            "by_rule": rules,
            "before_after": _before_after(projects),
        },
        "skipped_projects": {reason: sorted(paths) for reason, paths in sorted(evaluation.skipped_projects.items())},
        "projects": [_project_json(p, prepared or {}) for p in projects],
    }
    return data
