"""The plan: a sealed value. Apply reads nothing else.

The digest is SHA-256 over the canonical JSON of everything in the file except the digest itself, so a
changed item, URL or date is caught. Its time is the inventory's: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from janitor import __version__, json_forms
from janitor.errors import PlanFileError, SafetyRefusal
from janitor.inventory_check import (
    JsonProblem,
    ShapeError,
    anything,
    iso_time,
    list_of,
    obj,
    opt,
    present,
    req,
    show,
    size,
    strict_loads,
    text,
)
from janitor.model import Json, PlanItem, format_time, json_lines, parse_time
from janitor.plan_sections import HEAD_FIELDS, PlanSections, read_sections
from janitor.resources import KINDS

FORMAT = "gitlab-janitor-plan"
VERSION = 1


def seal(body: Json) -> str:
    canonical = json_forms.canonical(body)  # the standard library's encoder, never the fast path
    # surrogatepass: a hostile plan may hold a lone surrogate ("\\ud800"); its digest simply won't match
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


SECTIONS = ("grace", "notify", "state_digest")
DEFAULT_NOTIFY: Json = {"issues": "per-project", "project": None, "labels": ["janitor"], "assignees": "none"}


def plan_head(*, gitlab_url: str, created_at: datetime, policy_digest: str, inventory_digest: str,
              scope_lock: str | None, totals: Json, grace: Json, notify: Json, state_digest: str | None) -> Json:
    """Every field of a plan but its items, pending items and digest: one definition for build_plan and
    for the streamed plan (janitor.plan_stream), whose bytes must be the same."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "generator": f"gitlab-janitor {__version__}",
        "gitlab_url": gitlab_url,
        "created_at": format_time(created_at),
        "policy_digest": policy_digest,
        "inventory_digest": inventory_digest,
        "scope_lock": scope_lock,
        "totals": totals,
        "grace": grace,
        "notify": notify,
        "state_digest": state_digest,
    }


def build_plan(items: Iterable[PlanItem], *, gitlab_url: str, created_at: datetime, policy_digest: str,
               inventory_digest: str, scope_lock: str | None, prepared: Mapping[str, Json] | None = None,
               pending: Iterable[Json] = (), grace: Json | None = None, notify: Json | None = None,
               state_digest: str | None = None) -> Json:
    """The sealed plan. `prepared` maps item ids to their JSON when the caller already made it (the report
    shares those dicts, which matters at hundreds of thousands of items).

    `pending` (janitor.grace.Pending.to_json), `grace` (rule -> its grace and notify), `notify` (the policy's
    resolved settings) and `state_digest` (of the state file this plan wrote) are what `janitor notify`
    reads; they are under the digest like everything else, and pending items are never actions."""
    ordered = sorted(items, key=lambda i: (i.project_path, i.resource, i.rule, i.id))
    waiting = sorted(pending, key=lambda p: (p["project_path"], p["resource"], p["rule"], p["id"]))
    by_resource: Counter[str] = Counter()
    bytes_by_resource: Counter[str] = Counter()
    for item in ordered:
        by_resource[item.resource] += 1
        bytes_by_resource[item.resource] += item.bytes
    head = plan_head(gitlab_url=gitlab_url, created_at=created_at, policy_digest=policy_digest,
                     inventory_digest=inventory_digest, scope_lock=scope_lock,
                     totals={"actions": len(ordered), "bytes": sum(i.bytes for i in ordered),
                             "by_resource": {k: {"actions": by_resource[k], "bytes": bytes_by_resource[k]}
                                             for k in sorted(by_resource)},
                             "pending": len(waiting)},
                     grace=grace or {}, notify=notify or DEFAULT_NOTIFY, state_digest=state_digest)
    # the file's order: the head, the items and pending items, then the sections notify reads
    body: Json = {k: v for k, v in head.items() if k not in SECTIONS}
    body["items"] = [prepared[item.id] if prepared and item.id in prepared else item.to_json() for item in ordered]
    body["pending"] = waiting
    body.update((k, head[k]) for k in SECTIONS)
    body["digest"] = seal(body)
    return body


def write_plan(path: str | Path, plan: Json) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(json_lines(plan, spread="items"))  # one item per line
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


@dataclass(frozen=True)
class LoadedPlan:
    path: str
    digest: str
    gitlab_url: str
    created_at: datetime
    scope_lock: str | None
    items: tuple[PlanItem, ...]
    raw: Json
    # pending items, grace and notify settings, the state's digest (empty in a plan made without them)
    sections: PlanSections = field(default_factory=PlanSections)


# A plan of a million items is about 500 MB; anything far past that is not a plan janitor wrote, and
# reading it whole would exhaust memory before any check could say so.
MAX_PLAN_BYTES = 2 << 30
_USE_AS_WRITTEN = "Use the plan file exactly as `janitor plan` wrote it (the plan job's artifact)."

PLAN_HEAD = obj({
    "gitlab_url": req(text), "created_at": req(iso_time), "scope_lock": opt(text),
    "policy_digest": req(text), "inventory_digest": req(text), "generator": present(text),
    "totals": req(obj({"actions": req(size), "bytes": req(size), "pending": opt(size)})),
    "items": req(list_of(anything)),
    "format": req(anything), "version": req(anything),  # checked before the digest, with their own words
    **HEAD_FIELDS,
}, closed=True)


def read_plan(path: str | Path) -> LoadedPlan:
    """The plan, refused unless it is exactly what `janitor plan` writes: strict JSON, sealed by its
    digest (checked first: a changed plan is a safety refusal), every item of exactly its types."""
    data = _load(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanFileError(f"{path} is not a gitlab-janitor plan.", "Make one with `janitor plan`.")
    if data.get("version") != VERSION:
        raise PlanFileError(f"{path} is plan format version {show(data.get('version'))}; this janitor reads "
                            f"{VERSION}.")
    claimed = data.get("digest")
    body = {k: v for k, v in data.items() if k != "digest"}
    try:
        actual = seal(body)
    except RecursionError:
        raise PlanFileError(f"{path} is nested too deeply to be a plan.", _USE_AS_WRITTEN) from None
    if claimed != actual:
        raise SafetyRefusal(
            f"{path}: the plan's digest does not match its content: it was changed after `janitor plan` sealed it.",
            "Nothing was deleted. Re-run plan and have the new plan approved.",
        )
    try:
        PLAN_HEAD(body)
        sections = read_sections(body)
    except ShapeError as exc:
        raise PlanFileError(f"{path}: malformed plan: {exc.describe()}.", _USE_AS_WRITTEN) from None
    items = tuple(_item(path, index, raw) for index, raw in enumerate(data["items"]))
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise PlanFileError(f"{path}: items[{index}]: a second item with the id {show(item.id)}.",
                                _USE_AS_WRITTEN)
        seen.add(item.id)
    created = parse_time(data["created_at"])
    if created is None:
        raise PlanFileError(f"{path}: the plan has no created_at.")
    return LoadedPlan(str(path), actual, data["gitlab_url"], created, data.get("scope_lock"), items, data, sections)


def _load(path: str | Path) -> Any:
    try:
        if os.stat(path).st_size > MAX_PLAN_BYTES:
            raise PlanFileError(f"{path} is larger than {MAX_PLAN_BYTES >> 30} GiB: not a plan janitor wrote.",
                                _USE_AS_WRITTEN)
        with open(path, encoding="utf-8") as handle:
            return strict_loads(handle.read(), unique_keys=True)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file.") from None
    except OSError as exc:
        raise PlanFileError(f"{path} cannot be read: {exc.strerror or exc}.", _USE_AS_WRITTEN) from None
    except JsonProblem as exc:
        raise PlanFileError(f"{path} cannot be used: {exc}.", _USE_AS_WRITTEN) from None
    except (ValueError, MemoryError) as exc:  # UnicodeDecodeError is a ValueError
        raise PlanFileError(f"{path} is not valid JSON ({show(str(exc), 200)}); it is truncated or damaged.",
                            _USE_AS_WRITTEN) from None


def _item(path: str | Path, index: int, raw: Any) -> PlanItem:
    try:
        item = PlanItem.from_json(raw)
    except ShapeError as exc:
        raise PlanFileError(f"{path}: {exc.inside(f'items[{index}]').describe()}.", _USE_AS_WRITTEN) from None
    kind = KINDS.get(item.resource)
    if kind is None:
        raise PlanFileError(f"{path}: items[{index}].resource: {show(item.resource)} is not a resource kind "
                            f"({', '.join(sorted(KINDS))}).", _USE_AS_WRITTEN)
    if item.action not in kind.actions:
        raise PlanFileError(f"{path}: items[{index}].action: {item.resource} cannot {show(item.action)} (only "
                            f"{', '.join(kind.actions)}).", _USE_AS_WRITTEN)
    return item


PLAN_SCHEMA: Json = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gitlab-janitor.invalid/schemas/plan-v1.json",
    "title": "gitlab-janitor plan, version 1",
    "type": "object",
    "required": ["format", "version", "gitlab_url", "created_at", "policy_digest", "inventory_digest",
                 "totals", "items", "pending", "grace", "notify", "state_digest", "digest"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "generator": {"type": "string"},
        "gitlab_url": {"type": "string", "pattern": "^https?://"},
        "created_at": {"type": "string", "format": "date-time",
                       "description": "when the inventory was collected; --max-age counts from here"},
        "policy_digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "inventory_digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "scope_lock": {"type": ["string", "null"]},
        "totals": {
            "type": "object",
            "required": ["actions", "bytes", "by_resource"],
            "properties": {
                "actions": {"type": "integer", "minimum": 0},
                "pending": {"type": "integer", "minimum": 0, "description": "items awaiting their grace"},
                "bytes": {"type": "integer", "minimum": 0},
                "by_resource": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"actions": {"type": "integer"}, "bytes": {"type": "integer"}}}},
            },
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "rule", "resource", "action", "project_id", "project_path", "title", "target",
                             "fingerprint", "bytes", "reason"],
                "properties": {
                    "id": {"type": "string"},
                    "rule": {"type": "string"},
                    "resource": {"type": "string"},
                    "action": {"type": "string"},
                    "project_id": {"type": "integer", "minimum": 1},
                    "project_path": {"type": "string"},
                    "title": {"type": "string"},
                    "target": {"type": "object", "minProperties": 1, "description": "the ids apply acts on",
                               "patternProperties": {"_id$": {"type": "integer", "minimum": 1}},
                               "additionalProperties": {"type": "string"}},
                    "fingerprint": {"type": "object", "description": "the state it was planned on",
                                    "additionalProperties": {"type": ["string", "integer", "boolean", "null",
                                                                      "array"],
                                                             "items": {"type": ["string", "integer", "boolean",
                                                                                "null"]}}},
                    "bytes": {"type": "integer", "minimum": 0},
                    "reason": {"type": "string"},
                },
            },
        },
        "pending": {
            "type": "array",
            "description": "items that qualify under a rule with grace whose grace has not passed: never acted on",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "rule", "resource", "project_id", "project_path", "title", "first_qualified",
                             "due"],
                "properties": {
                    "id": {"type": "string"},
                    "rule": {"type": "string"},
                    "resource": {"type": "string"},
                    "project_id": {"type": "integer", "minimum": 1},
                    "project_path": {"type": "string"},
                    "title": {"type": "string"},
                    "first_qualified": {"type": "string", "format": "date-time"},
                    "due": {"type": "string", "format": "date-time",
                            "description": "first_qualified + the rule's grace: removed on or after this"},
                },
            },
        },
        "grace": {"type": "object", "description": "rules with grace, by name",
                  "additionalProperties": {"type": "object", "additionalProperties": False,
                                           "required": ["grace", "notify"],
                                           "properties": {"grace": {"type": "string"},
                                                          "notify": {"type": "boolean"}}}},
        "notify": {"type": "object", "additionalProperties": False,
                   "required": ["issues", "project", "labels", "assignees"],
                   "description": "the policy's notify settings, defaults resolved",
                   "properties": {"issues": {"enum": ["per-project", None]},
                                  "project": {"type": ["string", "null"]},
                                  "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                  "assignees": {"enum": ["maintainers", "none"]}}},
        "state_digest": {"anyOf": [{"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, {"type": "null"}],
                         "description": "SHA-256 of the state file this plan wrote (null: plan ran without --state)"},
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$",
                   "description": "SHA-256 of the canonical JSON of every other field"},
    },
}
