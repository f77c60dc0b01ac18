"""Warn first, delete later: the grace clock the planner consults for every item it would remove.

An item under a rule with `grace` is removed only once it has qualified, with the same fingerprint, since
at least `grace` before the inventory's time. Until then it is pending: listed, counted apart, never an
action and never counted against a limit. The clock lives in the state file (janitor/state.py):

- an item that qualifies for the first time, or whose fingerprint (a branch's commit, a tag's digest)
  or rule changed, starts its clock at the inventory's time;
- an item that no longer qualifies is dropped, so qualifying again later starts afresh;
- items of a project (or a rule in it) that this inventory could not evaluate keep their clock: an
  incomplete listing is no evidence that anything changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from janitor.model import Json, PlanItem, format_time, parse_time
from janitor.policy.model import Policy
from janitor.state import Entry, State
from janitor.units import parse_duration


@dataclass(frozen=True, slots=True)
class Pending:
    """An item that qualifies under a grace rule whose grace has not yet passed."""

    item: PlanItem
    first_qualified: datetime
    due: datetime

    def to_json(self) -> Json:
        """As plan.json's `pending` section holds it (the report adds bytes and the reason)."""
        i = self.item
        return {"id": i.id, "rule": i.rule, "resource": i.resource, "project_id": i.project_id,
                "project_path": i.project_path, "title": i.title,
                "first_qualified": format_time(self.first_qualified), "due": format_time(self.due)}


def due_text(due: str) -> str:
    """'2026-12-15T14:00:00Z' as people read it after "to be removed on or after": '2026-12-15 14:00 UTC'.
    Seconds round up to the next minute, so the shown time is never before the real one."""
    when = parse_time(due)
    if when is None:
        return due
    if when.second or when.microsecond:
        when = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _canonical(fingerprint: Mapping[str, Any]) -> str:
    # Compared as JSON: the state holds lists where a fresh fingerprint may hold tuples
    return json.dumps(dict(fingerprint), sort_keys=True, separators=(",", ":"))


class GraceClock:
    def __init__(self, policy: Policy, previous: State | None, now: datetime) -> None:
        self.now = now
        self.grace: dict[str, timedelta] = {r.name: parse_duration(r.grace) for r in policy.rules if r.grace}
        self.previous: Mapping[str, Entry] = previous.entries if previous else {}
        self.entries: dict[str, Entry] = {}
        self._by_project: dict[str, list[Entry]] | None = None

    def hold(self, item: PlanItem) -> Pending | None:
        """None when the item may be removed now (its rule has no grace, or its grace has passed);
        else the pending record. Either way an item under a grace rule is recorded in the new state."""
        grace = self.grace.get(item.rule)
        if grace is None:
            return None
        before = self.previous.get(item.id)
        if before and before.rule == item.rule and _canonical(before.fingerprint) == _canonical(item.fingerprint):
            first = before.first_qualified
        else:
            first = self.now
        self.entries[item.id] = Entry(item.id, item.rule, first, dict(item.fingerprint))
        due = first + grace
        return None if due <= self.now else Pending(item, first, due)

    def carry(self, project_id: int, rule: str | None = None) -> None:
        """Keep the clocks of a project (or of one rule in it) the inventory could not evaluate."""
        if self._by_project is None:  # indexed once: a run may have many incomplete projects
            self._by_project = {}
            for entry in self.previous.values():
                self._by_project.setdefault(entry.id.split("/", 1)[0], []).append(entry)
        for entry in self._by_project.get(str(project_id), ()):
            if entry.rule in self.grace and rule in (None, entry.rule):
                self.entries.setdefault(entry.id, entry)


def grace_section(policy: Policy) -> Json:
    """plan.json's `grace` section: only rules with grace, as the policy writes them."""
    return {r.name: {"grace": r.grace, "notify": r.notify} for r in sorted(policy.rules, key=lambda r: r.name)
            if r.grace}
