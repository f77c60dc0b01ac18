"""The plan's grace-period sections, as `janitor notify` reads them: the pending items, each grace rule's
settings, the policy's `notify:` settings and the digest of the state file the plan was made with.

`janitor plan --state` writes them inside the plan's digest; a plan made before they existed has none, which
reads as empty. Their shapes are checked as strictly as the items: the plan is untrusted input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from janitor.inventory_check import (
    ShapeError,
    flag,
    iso_time,
    list_of,
    map_of,
    obj,
    one_of,
    opt,
    positive_id,
    req,
    show,
    text,
)
from janitor.model import parse_time
from janitor.units import parse_duration


class IssueMode(Enum):
    PER_PROJECT = "per-project"  # one issue in each affected project
    SUMMARY = "summary"          # one issue in a log project, a section per project


class Assignees(Enum):
    NONE = "none"
    MAINTAINERS = "maintainers"


@dataclass(frozen=True)
class PendingItem:
    """An item that qualifies but whose grace period has not passed: it is only announced."""

    id: str
    rule: str
    resource: str
    project_id: int
    project_path: str
    title: str
    first_qualified: datetime
    due: datetime


@dataclass(frozen=True)
class GraceRule:
    grace: timedelta
    notify: bool


@dataclass(frozen=True)
class NotifySettings:
    mode: IssueMode = IssueMode.PER_PROJECT
    project: str | None = None  # the log project's path in summary mode
    labels: tuple[str, ...] = ("janitor",)
    assignees: Assignees = Assignees.NONE


@dataclass(frozen=True)
class PlanSections:
    pending: tuple[PendingItem, ...] = ()
    grace: Mapping[str, GraceRule] = field(default_factory=dict)
    notify: NotifySettings = field(default_factory=NotifySettings)
    state_digest: str | None = None


def _duration(value: Any) -> None:
    text(value)
    try:
        parse_duration(value)
    except ValueError as exc:
        raise ShapeError(str(exc)) from None


def _label(value: Any) -> None:
    text(value)
    # The API takes labels comma-separated (doc/api/issues.md): a comma would split one label into two.
    if not value.strip() or "," in value:
        raise ShapeError(f"{show(value)} is not a label name (not empty, no comma)")


def _digest(value: Any) -> None:
    text(value)
    body = value[len("sha256:"):] if value.startswith("sha256:") else ""
    if len(body) != 64 or any(c not in "0123456789abcdef" for c in body):
        raise ShapeError(f"expected sha256: and 64 lower-case hex digits, not {show(value)}")


PENDING_ITEM = obj({"id": req(text), "rule": req(text), "resource": req(text), "project_id": req(positive_id),
                    "project_path": req(text), "title": req(text), "first_qualified": req(iso_time),
                    "due": req(iso_time)}, closed=True)
GRACE_RULE = obj({"grace": req(_duration), "notify": req(flag)}, closed=True)
NOTIFY = obj({"issues": opt(one_of(IssueMode.PER_PROJECT.value)), "project": opt(text),
              "labels": req(list_of(_label)), "assignees": req(one_of(*(a.value for a in Assignees)))},
             closed=True)

# The keys the plan's head may carry for these sections (plan_file.PLAN_HEAD adds them to its own).
HEAD_FIELDS = {"pending": opt(list_of(PENDING_ITEM, unique="id")), "grace": opt(map_of(GRACE_RULE)),
               "notify": opt(NOTIFY), "state_digest": opt(_digest)}


def read_sections(data: Mapping[str, Any]) -> PlanSections:
    """The sections of a plan whose head already passed HEAD_FIELDS; absent ones read as empty."""
    pending = tuple(PendingItem(
        id=raw["id"], rule=raw["rule"], resource=raw["resource"], project_id=raw["project_id"],
        project_path=raw["project_path"], title=raw["title"], first_qualified=_time(raw["first_qualified"]),
        due=_time(raw["due"])) for raw in data.get("pending") or [])
    grace = {name: GraceRule(parse_duration(raw["grace"]), raw["notify"])
             for name, raw in (data.get("grace") or {}).items()}
    unknown = sorted({p.rule for p in pending} - grace.keys())
    if unknown:
        raise ShapeError(f"pending items of rules that have no grace settings: {', '.join(map(show, unknown))}")
    raw_notify = data.get("notify")
    notify = NotifySettings() if raw_notify is None else _notify(raw_notify)
    return PlanSections(pending, grace, notify, data.get("state_digest"))


def _notify(raw: Mapping[str, Any]) -> NotifySettings:
    project = raw.get("project")
    if project is not None and raw.get("issues") is not None:
        raise ShapeError("notify: `issues` and `project` both set; a plan has one or the other")
    if not raw["labels"]:
        raise ShapeError("notify.labels: empty; the first label is how notify finds its issues again")
    return NotifySettings(mode=IssueMode.SUMMARY if project else IssueMode.PER_PROJECT, project=project,
                          labels=tuple(raw["labels"]), assignees=Assignees(raw["assignees"]))


def _time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:  # iso_time lets "" through, as GitLab's "no time"; here a time is required
        raise ShapeError("an empty time where one is required")
    return parsed
