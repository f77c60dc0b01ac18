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

from dataclasses import dataclass
from datetime import datetime, timedelta

from janitor.model import Json, PlanItem, format_time, parse_time
from janitor.policy.model import Policy
from janitor.state import State
from janitor.state_store import Entry, NextEntries, Stored, canonical_fingerprint, project_key
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


class GraceClock:
    """Consulted for every item the plan would remove, a project at a time: the previous state's entries
    of the project at hand are read from disk when its first item comes, and this run's entries go to disk
    (janitor/state_store.py), so the clock's memory does not grow with the number of items under grace.
    Close it (or use it in a `with`) to drop its temporary store."""

    def __init__(self, policy: Policy, previous: State | None, now: datetime) -> None:
        self.now = now
        self.grace: dict[str, timedelta] = {r.name: parse_duration(r.grace) for r in policy.rules if r.grace}
        self._previous = previous.entries if previous else None
        self.entries = NextEntries()
        self._project: str | None = None
        self._of_project: dict[str, Stored] = {}

    def __enter__(self) -> GraceClock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.entries.close()

    def _before(self, project: str) -> dict[str, Stored]:
        """The previous state's entries of a project (items are evaluated a project at a time)."""
        if self._previous is None:
            return {}
        if project != self._project:
            self._of_project = self._previous.of_project(project)
            self._project = project
        return self._of_project

    def hold(self, item: PlanItem) -> Pending | None:
        """None when the item may be removed now (its rule has no grace, or its grace has passed);
        else the pending record. Either way an item under a grace rule is recorded in the new state."""
        grace = self.grace.get(item.rule)
        if grace is None:
            return None
        before = self._before(project_key(item.id)).get(item.id)
        if before and before.rule == item.rule and before.fingerprint == canonical_fingerprint(item.fingerprint):
            first = before.first_qualified
        else:
            first = self.now
        self.entries.put(Entry(item.id, item.rule, first, dict(item.fingerprint)))
        due = first + grace
        return None if due <= self.now else Pending(item, first, due)

    def carry(self, project_id: int, rule: str | None = None) -> None:
        """Keep the clocks of a project (or of one rule in it) the inventory could not evaluate."""
        for stored in self._before(str(project_id)).values():
            if stored.rule in self.grace and rule in (None, stored.rule):
                self.entries.keep(stored.entry())


def grace_section(policy: Policy) -> Json:
    """plan.json's `grace` section: only rules with grace, as the policy writes them."""
    return {r.name: {"grace": r.grace, "notify": r.notify} for r in sorted(policy.rules, key=lambda r: r.name)
            if r.grace}
