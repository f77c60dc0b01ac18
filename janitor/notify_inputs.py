"""What `janitor notify` announces, worked out from the plan and the state file alone (no API calls).

The state file is untrusted input, like the plan: it must be exactly the file the plan was made with (its
SHA-256 is in the plan, under the plan's digest), and of exactly the shape `janitor plan --state` writes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from janitor.errors import PlanFileError, SafetyRefusal
from janitor.inventory_check import (
    JsonProblem,
    ShapeError,
    anything,
    iso_time,
    list_of,
    obj,
    req,
    show,
    strict_loads,
    text,
)
from janitor.model import parse_time
from janitor.plan_file import LoadedPlan

STATE_FORMAT = "gitlab-janitor-state"
STATE_VERSION = 1
# One line per item: a million items is well under this; anything larger is not a state file we wrote.
MAX_STATE_BYTES = 1 << 30
_AS_WRITTEN = "Use the state file exactly as `janitor plan --state` wrote it, with the plan made from it."

STATE_ITEM = obj({"id": req(text), "rule": req(text), "first_qualified": req(iso_time),
                  "fingerprint": req(obj({}))}, closed=True)
STATE_FILE = obj({"format": req(anything), "version": req(anything), "gitlab_url": req(text),
                  "updated_at": req(iso_time), "items": req(list_of(STATE_ITEM, unique="id"))}, closed=True)


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
    the plan was made with, and (exit 1) unless it has exactly the state file's shape."""
    try:
        if os.stat(path).st_size > MAX_STATE_BYTES:
            raise PlanFileError(f"{path} is larger than {MAX_STATE_BYTES >> 30} GiB: not a state file janitor "
                                "wrote.", _AS_WRITTEN)
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such state file.", "Give the file `janitor plan --state` wrote.") from None
    except OSError as exc:
        raise PlanFileError(f"{path} cannot be read: {exc.strerror or exc}.", _AS_WRITTEN) from None
    expected = plan.sections.state_digest
    if expected is None:
        raise SafetyRefusal(f"{plan.path} was made without a state file (`janitor plan` without --state): it "
                            "names no state to notify from.", "Make the plan with `janitor plan --state FILE`.")
    actual = "sha256:" + hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise SafetyRefusal(f"{path}: the state is not the one this plan was made with (its digest is not the "
                            "plan's state_digest).", "Nothing was posted. Use the plan and the state file from "
                            "the same `janitor plan --state` run.")
    data = _parse(path, raw)
    if data.get("gitlab_url") != plan.gitlab_url:
        raise PlanFileError(f"{path}: the state is for {show(data.get('gitlab_url'), 80)}, the plan for "
                            f"{plan.gitlab_url}.", _AS_WRITTEN)
    qualified: dict[str, datetime] = {}
    for item in data["items"]:
        when = parse_time(item["first_qualified"])
        if when is None:
            raise PlanFileError(f"{path}: item {show(item['id'])} has an empty first_qualified.", _AS_WRITTEN)
        qualified[item["id"]] = when
    return qualified


def _parse(path: str | Path, raw: bytes) -> Mapping[str, Any]:
    try:
        data = strict_loads(raw.decode("utf-8"), unique_keys=True)
    except JsonProblem as exc:
        raise PlanFileError(f"{path} cannot be used: {exc}.", _AS_WRITTEN) from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PlanFileError(f"{path} is not valid JSON ({show(str(exc), 200)}).", _AS_WRITTEN) from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise PlanFileError(f"{path} is not a gitlab-janitor state file.", _AS_WRITTEN)
    if data.get("version") != STATE_VERSION:
        raise PlanFileError(f"{path} is state format version {show(data.get('version'))}; this janitor reads "
                            f"{STATE_VERSION}.")
    try:
        STATE_FILE(data)
    except ShapeError as exc:
        raise PlanFileError(f"{path}: malformed state file: {exc.describe()}.", _AS_WRITTEN) from None
    return data


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
