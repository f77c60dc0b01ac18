"""The plan: a sealed value. Apply reads nothing else.

The digest is SHA-256 over the canonical JSON of everything in the file except the digest itself, so a
changed item, URL or date is caught. Its time is the inventory's: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from janitor import __version__
from janitor.errors import PlanFileError, SafetyRefusal
from janitor.model import Json, PlanItem, format_time, json_lines, parse_time

FORMAT = "gitlab-janitor-plan"
VERSION = 1


def seal(body: Json) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def build_plan(items: Iterable[PlanItem], *, gitlab_url: str, created_at: datetime, policy_digest: str,
               inventory_digest: str, scope_lock: str | None, prepared: Mapping[str, Json] | None = None) -> Json:
    """The sealed plan. `prepared` maps item ids to their JSON when the caller already made it (the report
    shares those dicts, which matters at hundreds of thousands of items)."""
    ordered = sorted(items, key=lambda i: (i.project_path, i.resource, i.rule, i.id))
    by_resource: Counter[str] = Counter()
    bytes_by_resource: Counter[str] = Counter()
    for item in ordered:
        by_resource[item.resource] += 1
        bytes_by_resource[item.resource] += item.bytes
    body: Json = {
        "format": FORMAT,
        "version": VERSION,
        "generator": f"gitlab-janitor {__version__}",
        "gitlab_url": gitlab_url,
        "created_at": format_time(created_at),
        "policy_digest": policy_digest,
        "inventory_digest": inventory_digest,
        "scope_lock": scope_lock,
        "totals": {
            "actions": len(ordered),
            "bytes": sum(i.bytes for i in ordered),
            "by_resource": {k: {"actions": by_resource[k], "bytes": bytes_by_resource[k]}
                            for k in sorted(by_resource)},
        },
        "items": [prepared[item.id] if prepared and item.id in prepared else item.to_json() for item in ordered],
    }
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


def read_plan(path: str | Path) -> LoadedPlan:
    try:
        with open(path, encoding="utf-8") as handle:
            data: Any = json.load(handle)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFileError(
            f"{path} is not valid JSON ({exc}); it is truncated or damaged.",
            "Use the plan file exactly as `janitor plan` wrote it (the plan job's artifact).",
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanFileError(f"{path} is not a gitlab-janitor plan.", "Make one with `janitor plan`.")
    if data.get("version") != VERSION:
        raise PlanFileError(f"{path} is plan format version {data.get('version')!r}; this janitor reads {VERSION}.")
    claimed = data.get("digest")
    body = {k: v for k, v in data.items() if k != "digest"}
    actual = seal(body)
    if claimed != actual:
        raise SafetyRefusal(
            f"{path}: the plan's digest does not match its content: it was changed after `janitor plan` sealed it.",
            "Nothing was deleted. Re-run plan and have the new plan approved.",
        )
    try:
        items = tuple(PlanItem.from_json(i) for i in data["items"])
        created = parse_time(data["created_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed plan ({exc}).") from None
    if created is None:
        raise PlanFileError(f"{path}: the plan has no created_at.")
    return LoadedPlan(str(path), actual, str(data.get("gitlab_url")), created, data.get("scope_lock"), items, data)


PLAN_SCHEMA: Json = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gitlab-janitor.invalid/schemas/plan-v1.json",
    "title": "gitlab-janitor plan, version 1",
    "type": "object",
    "required": ["format", "version", "gitlab_url", "created_at", "policy_digest", "inventory_digest",
                 "totals", "items", "digest"],
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
                    "project_id": {"type": "integer"},
                    "project_path": {"type": "string"},
                    "title": {"type": "string"},
                    "target": {"type": "object", "description": "the ids apply acts on"},
                    "fingerprint": {"type": "object", "description": "the state it was planned on"},
                    "bytes": {"type": "integer", "minimum": 0},
                    "reason": {"type": "string"},
                },
            },
        },
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$",
                   "description": "SHA-256 of the canonical JSON of every other field"},
    },
}
