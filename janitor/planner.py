"""Evaluate a policy against an inventory. Pure: no network, no clock (time is the inventory's), no I/O
beyond reading the inventory stream, so the same inputs always give the same plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from janitor.grace import GraceClock
from janitor.inventory import INCOMPLETE, Inventory
from janitor.matchers import NameMatcher
from janitor.model import (
    KEPT_BY_KEEP,
    KEPT_NOT_MATCHED,
    KEPT_PROTECTED,
    Candidate,
    Json,
    Kept,
    PlanItem,
    ProjectResult,
)
from janitor.policy.model import EffectiveRule, Policy, path_covers
from janitor.resources import KINDS
from janitor.resources.base import ResourceKind
from janitor.units import human_duration


@dataclass
class RuleTotals:
    examined: int = 0
    removed: int = 0
    bytes: int = 0
    kept: int = 0
    unevaluated_projects: int = 0
    pending: int = 0  # qualify, but their grace has not passed: not removed, counted against no limit
    missing: set[str] = field(default_factory=set)


@dataclass
class Evaluation:
    now: datetime
    projects: list[ProjectResult]
    rules: dict[str, RuleTotals]
    refusals: list[str]
    skipped_projects: dict[str, list[str]]
    clock: GraceClock

    @property
    def items(self) -> list[PlanItem]:
        return [item for project in self.projects for item in project.removed]


def in_scope(policy: Policy, project: Json) -> str | None:
    """None when the policy's scope covers the project; else why not (for the report)."""
    path = str(project.get("path_with_namespace") or "")
    scope = policy.scope
    if not scope.all and not any(path_covers(p, path) for p in scope.paths()):
        return "outside the policy's scope"
    pattern = scope.excluded_by(path)
    if pattern:
        return f"excluded by scope.exclude {pattern!r}"
    if project.get("archived") and not scope.archived:
        return "archived (scope.archived is false)"
    return None


def evaluate(policy: Policy, inventory: Inventory, now: datetime, clock: GraceClock | None = None) -> Evaluation:
    """The whole evaluation in memory: every project's result, sorted largest first. For small inventories
    and tests; `janitor plan` streams the same projects through `evaluate_projects` instead.
    `clock` holds the previous run's grace state; without one, everything under a grace rule is pending."""
    result = new_evaluation(policy, now, clock)
    result.projects.extend(evaluate_projects(policy, inventory, result))
    result.projects.sort(key=lambda p: (-p.removed_bytes, p.path))
    check_limits(policy, result)
    return result


def new_evaluation(policy: Policy, now: datetime, clock: GraceClock | None = None) -> Evaluation:
    return Evaluation(now, [], {r.name: RuleTotals() for r in policy.rules}, [], defaultdict(list),
                      clock or GraceClock(policy, None, now))


def evaluate_projects(policy: Policy, inventory: Inventory, result: Evaluation) -> Iterator[ProjectResult]:
    """Each examined project's result, in inventory order, one at a time: only `result`'s totals, skipped
    paths and grace clock grow, so memory stays flat in the items however large the instance.
    `result.projects` is left alone; the caller keeps or spools what it needs. Call `check_limits` once the
    iterator is exhausted."""
    for entry in inventory.projects():
        # inventory.projects() has checked the entry's shape (inventory_check.PROJECT_ENTRY): the id is a
        # positive int and the path a string, so neither is coerced here (int() would truncate 1.5)
        path: str = entry["path_with_namespace"]
        outside = in_scope(policy, entry)
        if outside:
            result.skipped_projects[outside].append(path)
            continue
        project = ProjectResult(entry["id"], path)
        if entry.get(INCOMPLETE):
            project.notes.append(f"incomplete inventory ({entry[INCOMPLETE]}): nothing planned here")
            result.clock.carry(project.project_id)
        else:
            _evaluate_project(policy, entry, project, result)
        yield project


def _evaluate_project(policy: Policy, entry: Json, project: ProjectResult, result: Evaluation) -> None:
    claimed: set[tuple[str, str]] = set()
    for rule in policy.rules:
        effective = policy.effective(rule, project.path)
        totals = result.rules[rule.name]
        if effective is None:
            if rule.enabled:
                project.notes.append(f"rule {rule.name!r} disabled here by an override")
            continue
        if effective.decided_by:
            project.overrides[rule.name] = list(effective.decided_by)
        kind = KINDS[rule.resource]
        if not kind.has_data(entry):
            missing = [k for k in kind.inventory_keys if k not in entry]
            totals.unevaluated_projects += 1
            totals.missing.update(missing)
            project.notes.append(f"rule {rule.name!r} not evaluated: the inventory has no {', '.join(missing)}")
            result.clock.carry(project.project_id, rule.name)
            continue
        candidates = list(kind.candidates(entry, effective.rule.action))
        totals.examined += len(candidates)
        project.notes.extend(note for note in kind.notes(entry) if note not in project.notes)
        for candidate, kept in kind.settle(list(_decide(kind, effective, candidates, result.now))):
            if kept is not None:
                project.kept.append(kept)
                totals.kept += 1
                continue
            if (rule.resource, candidate.key) in claimed:
                continue  # an earlier rule already removes it
            claimed.add((rule.resource, candidate.key))
            item = _plan_item(effective, kind, project, candidate, result.now)
            pending = result.clock.hold(item)
            if pending is not None:
                project.pending.append(pending)
                totals.pending += 1
                continue
            project.removed.append(item)
            totals.removed += 1
            totals.bytes += item.bytes


def _decide(kind: ResourceKind, effective: EffectiveRule, candidates: list[Candidate],
            now: datetime) -> Iterable[tuple[Candidate, Kept | None]]:
    rule = effective.rule
    checks = effective.checks

    def kept(c: Candidate, category: str, reason: str) -> Kept:
        return Kept(rule.name, rule.resource, c.title, c.bytes, category, reason)

    kept_by_keep = _kept_by_latest(kind, effective, [c for c in candidates if not c.protected])
    for candidate in sorted(candidates, key=_by_key):
        if candidate.protected:
            yield candidate, kept(candidate, KEPT_PROTECTED, candidate.protected)
            continue
        failed = None
        for check in checks:  # the first condition that does not hold says why
            failed = check(candidate, now)
            if failed:
                break
        if failed:
            yield candidate, kept(candidate, KEPT_NOT_MATCHED, failed)
            continue
        if effective.keep_names and effective.keep_names.explain(str(candidate.attrs.get("name"))) is None:
            names = list(effective.keep_names.include)
            yield candidate, kept(candidate, KEPT_BY_KEEP, f"name is in keep.names {names}")
            continue
        if candidate.key in kept_by_keep:
            yield candidate, kept(candidate, KEPT_BY_KEEP, kept_by_keep[candidate.key])
            continue
        yield candidate, None


def _by_key(candidate: Candidate) -> str:
    return candidate.key


def _kept_by_latest(kind: ResourceKind, effective: EffectiveRule, candidates: list[Candidate]) -> dict[str, str]:
    """keep.latest N: in each group (keep.per), the candidates of the N newest units are kept."""
    if not effective.keep_latest:
        return {}
    per_name = effective.keep_per or kind.default_per
    spec = kind.per[per_name]
    groups: dict[tuple[str, ...], dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for c in candidates:
        group = tuple([str(c.attrs.get(a)) for a in spec.group])
        unit = str(c.attrs.get(spec.unit)) if spec.unit else c.key
        groups[group][unit].append(c)
    kept: dict[str, str] = {}
    for group, units in groups.items():
        def newest(item: tuple[str, list[Candidate]]) -> tuple[Any, str]:
            if spec.rank:
                return (max(c.attrs[spec.rank] for c in item[1]), item[0])
            stamps = [c.age_at.timestamp() for c in item[1] if c.age_at]
            return (max(stamps) if stamps else 0.0, item[0])

        ranked = sorted(units.items(), key=newest, reverse=True)
        label = ", ".join(f"{a} {v!r}" for a, v in zip(spec.group, group, strict=True)) or "the project"
        reason = f"among the newest {effective.keep_latest} per {per_name} ({label})"
        for _, members in ranked[: effective.keep_latest]:
            for c in members:
                kept[c.key] = reason
    return kept


def _plan_item(effective: EffectiveRule, kind: ResourceKind, project: ProjectResult, c: Candidate,
               now: datetime) -> PlanItem:
    rule = effective.rule
    reason = effective.matches
    if c.age_at:
        reason += f" (age {human_duration(now - c.age_at)})"
    if effective.decided_by:
        reason += f"; override {effective.decided_by[-1]}"
    return PlanItem(
        id=f"{project.project_id}/{kind.name}/{c.key}",
        rule=rule.name,
        resource=kind.name,
        action=rule.action,
        project_id=project.project_id,
        project_path=project.path,
        title=c.title,
        target=c.target,
        fingerprint=c.fingerprint,
        bytes=c.bytes,
        reason=reason,
    )


def check_limits(policy: Policy, result: Evaluation) -> None:
    """The policy's limits, judged on the totals over every project (so only once all are evaluated)."""
    limits = policy.limits
    total = sum(t.removed for t in result.rules.values())
    if limits.max_actions is not None and total > limits.max_actions:
        result.refusals.append(
            f"the plan has {total} actions, more than limits.max_actions {limits.max_actions}"
        )
    if limits.max_percent is not None:
        for name, totals in result.rules.items():
            if totals.examined and totals.removed * 100 / totals.examined > limits.max_percent:
                share = totals.removed * 100 / totals.examined
                result.refusals.append(
                    f"rule {name!r} would remove {totals.removed} of {totals.examined} examined "
                    f"({share:.1f}%), more than limits.max_percent {limits.max_percent}%"
                )


__all__ = ["Evaluation", "NameMatcher", "RuleTotals", "check_limits", "evaluate", "evaluate_projects", "in_scope",
           "new_evaluation"]
