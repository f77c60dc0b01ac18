"""Plain data that flows between the steps. Nothing here talks to GitLab."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from janitor import json_forms
from janitor.inventory_check import ShapeError, list_of, obj, parse_iso_time, positive_id, req, scalar, show, size, text

if TYPE_CHECKING:
    from janitor.grace import Pending

Json = dict[str, Any]


def parse_time(value: str | None) -> datetime | None:
    """GitLab timestamps ('2015-12-24T17:54:27.895Z', '...+01:00') as aware UTC datetimes; None for none.
    Anything else (a number, 'yesterday') raises ValueError naming the value."""
    return parse_iso_time(value)


def json_lines(value: Json, spread: str) -> Iterator[str]:
    """JSON with each top-level key on its own line and each element of `spread` (a list) on its own line,
    yielded piece by piece so a large file is never one string in memory.

    Readable in a diff or a pager, byte-stable (sorted keys), and fast: every piece goes through the C
    encoder, which `indent=` would switch off (it makes the stdlib fall back to pure Python)."""
    yield "{\n "
    for index, key in enumerate(sorted(value)):
        if index:
            yield ",\n "
        rows = value[key]
        if key == spread and isinstance(rows, list) and rows:
            yield f"{json.dumps(key)}: [\n  "
            for number, row in enumerate(rows):
                yield (",\n  " if number else "") + json_forms.pretty(row)
            yield "\n ]"
        else:
            yield f"{json.dumps(key)}: {json_forms.pretty(rows)}"
    yield "\n}\n"


def format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# Candidate and Kept are made once per examined object (100,000 at issue 10's scale) and never changed
# (a kind that needs another makes a copy, dataclasses.replace). They are not frozen: a frozen dataclass's
# __init__ sets each field through object.__setattr__, ~7% of the instructions of plan's evaluation.
@dataclass(slots=True)
class Candidate:
    """One removable thing in one project, as a resource kind sees it in the inventory.

    `protected` is the built-in protection that keeps it whatever the policy says (None: none applies).
    `attrs` holds the values conditions and `keep.per` read (ref, status, merged, ...).
    """

    key: str
    title: str
    target: Mapping[str, Any]
    fingerprint: Mapping[str, Any]
    age_at: datetime | None
    bytes: int
    attrs: Mapping[str, Any]
    protected: str | None = None


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One approved action. Apply carries out exactly these, after re-checking the fingerprint."""

    id: str
    rule: str
    resource: str
    action: str
    project_id: int
    project_path: str
    title: str
    target: Mapping[str, Any]
    fingerprint: Mapping[str, Any]
    bytes: int
    reason: str

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "rule": self.rule,
            "resource": self.resource,
            "action": self.action,
            "project_id": self.project_id,
            "project_path": self.project_path,
            "title": self.title,
            "target": dict(self.target),
            "fingerprint": dict(self.fingerprint),
            "bytes": self.bytes,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Any) -> PlanItem:
        """The item as the plan file holds it, with every field of exactly its type (a project_id of 1.5
        or "12" is refused, not truncated: apply acts on these ids). Raises ShapeError naming the field."""
        PLAN_ITEM(data)
        return cls(**{**data, "target": dict(data["target"]), "fingerprint": dict(data["fingerprint"])})


def _target(value: Any) -> None:
    """The ids apply acts on: `*_id` keys are positive integers (GitLab's ids), the rest names (strings)."""
    if type(value) is not dict or not value:
        raise ShapeError(f"expected a non-empty object, not {show(value)}")
    for key, found in value.items():
        try:
            (positive_id if key.endswith("_id") else text)(found)
        except ShapeError as exc:
            raise exc.inside(key) from None


def _fingerprint(value: Any) -> None:
    """Flat: scalars, or lists of scalars (container tags' `shared_with`, access levels)."""
    if type(value) is not dict:
        raise ShapeError(f"expected an object, not {show(value)}")
    for key, found in value.items():
        try:
            (list_of(scalar) if type(found) is list else scalar)(found)
        except ShapeError as exc:
            raise exc.inside(key) from None


PLAN_ITEM = obj({
    "id": req(text), "rule": req(text), "resource": req(text), "action": req(text),
    "project_id": req(positive_id), "project_path": req(text), "title": req(text),
    "target": req(_target), "fingerprint": req(_fingerprint), "bytes": req(size), "reason": req(text),
}, closed=True)


# Why something was kept, in the order the report groups them.
KEPT_PROTECTED = "protected"
KEPT_NOT_MATCHED = "not matched"
KEPT_BY_KEEP = "keep"
KEPT_LIMIT = "refused by limit"


@dataclass(slots=True)
class Kept:
    """An examined object the plan keeps, and why (see Candidate for why it is not frozen)."""

    rule: str
    resource: str
    title: str
    bytes: int
    category: str
    reason: str


@dataclass
class ProjectResult:
    """What the plan decided for one project; the reports are views of a list of these."""

    project_id: int
    path: str
    removed: list[PlanItem] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overrides: dict[str, list[str]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)  # qualify, but their grace has not yet passed

    @property
    def removed_bytes(self) -> int:
        return sum(item.bytes for item in self.removed)
