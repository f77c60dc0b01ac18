"""What `janitor notify` announces, worked out from the plan and the state file alone (no API calls).

The state file is untrusted input, like the plan: it must be exactly the file the plan was made with (its
SHA-256 is in the plan, under the plan's digest), and of exactly the shape `janitor plan --state` writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from janitor.errors import PlanFileError, SafetyRefusal
from janitor.plan_file import LoadedPlan
from janitor.state import parse_state, read_bytes, state_digest


class Status(Enum):
    PENDING = "pending"    # within its grace period
    AWAITING = "awaiting"  # grace passed; in the plan's actions, waiting for apply's approval


@dataclass(frozen=True)
class Notice:
    """One line of an issue: an item, when it goes, under which rule."""

    project_id: int
    project_path: str
    resource: str
    title: str
    rule: str
    due: datetime
    status: Status


def read_state(path: str | Path, plan: LoadedPlan) -> dict[str, datetime]:
    """When each item of the state first qualified, by item id; refused (exit 3) unless the file is the one
    the plan was made with, and (exit 1) unless it is a state file as janitor.state reads it."""
    expected = plan.sections.state_digest
    if expected is None:
        raise SafetyRefusal(f"{plan.path} was made without a state file (`janitor plan` without --state): it "
                            "names no state to notify from.", "Make the plan with `janitor plan --state FILE`.")
    if not os.path.lexists(path):
        raise PlanFileError(f"{path}: no such state file.", "Give the file `janitor plan --state` wrote.")
    raw = read_bytes(path)
    if state_digest(raw) != expected:
        raise SafetyRefusal(f"{path}: the state is not the one this plan was made with (its digest is not the "
                            "plan's state_digest).", "Nothing was posted. Use the plan and the state file from "
                            "the same `janitor plan --state` run.")
    # the same bytes that were hashed: the state's updated_at is the plan's time (both are the inventory's)
    state = parse_state(path, raw, plan.gitlab_url, plan.created_at)
    try:
        return {item_id: entry.first_qualified for item_id, entry in state.entries.items()}
    finally:
        state.close()  # its entries are in a temporary database


def notices(plan: LoadedPlan, first_qualified: Mapping[str, datetime]) -> dict[int, list[Notice]]:
    """Per project id, what its issue lists, soonest first: the pending items of notify rules, and the
    plan's items of notify rules (grace passed, awaiting approval), due at first qualified + grace."""
    grace = plan.sections.grace
    found: list[Notice] = []
    for pending in plan.sections.pending:
        if grace[pending.rule].notify:
            found.append(Notice(pending.project_id, pending.project_path, pending.resource, pending.title,
                                pending.rule, pending.due, Status.PENDING))
    for item in plan.items:
        rule = grace.get(item.rule)
        if rule is None or not rule.notify:
            continue
        # An item missing from the state qualified no earlier than the inventory: it is due now.
        since = first_qualified.get(item.id, plan.created_at)
        found.append(Notice(item.project_id, item.project_path, item.resource, item.title, item.rule,
                            since + rule.grace, Status.AWAITING))
    by_project: dict[int, list[Notice]] = {}
    for notice in sorted(found, key=lambda n: (n.due, n.resource, n.title, n.rule)):
        by_project.setdefault(notice.project_id, []).append(notice)
    return by_project
