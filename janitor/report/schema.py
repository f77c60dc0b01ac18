"""The JSON schema of report.json (`janitor schema --report`), for tools that read reports.

Removed items have exactly the plan's item shape, so that part is taken from the plan's schema and the
two cannot drift apart. Objects whose keys are ours are closed (additionalProperties false); maps keyed
by kind, rule, category or reason are open by nature.
"""

from __future__ import annotations

import copy

from janitor.model import KEPT_BY_KEEP, KEPT_LIMIT, KEPT_NOT_MATCHED, KEPT_PROTECTED, Json
from janitor.plan_file import PLAN_SCHEMA

_COUNT: Json = {"type": "integer", "minimum": 0}
_DIGEST: Json = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}


def _closed(properties: Json, required: list[str] | None = None, **extra: object) -> Json:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": sorted(properties) if required is None else required, **extra}


_KEPT = _closed({
    "rule": {"type": "string"},
    "resource": {"type": "string"},
    "title": {"type": "string"},
    "bytes": _COUNT,
    "category": {"enum": [KEPT_PROTECTED, KEPT_NOT_MATCHED, KEPT_BY_KEEP, KEPT_LIMIT]},
    "reason": {"type": "string"},
}, description="one object a rule examined and did not remove, and why")

_PENDING = _closed({
    **copy.deepcopy(PLAN_SCHEMA["properties"]["pending"]["items"]["properties"]),
    "bytes": _COUNT,
    "reason": {"type": "string"},
}, description="an item that qualifies under a rule with grace, to be removed on or after `due`")

_PROJECT = _closed({
    "id": {"type": "integer"},
    "path": {"type": "string"},
    "remove_items": _COUNT,
    "remove_bytes": _COUNT,
    "kept_items": _COUNT,
    "kept_by_category": {"type": "object", "additionalProperties": _COUNT},
    "overrides": {"type": "object", "description": "rule name -> the override paths that decided it, "
                  "shallowest first (the deepest wins)",
                  "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    "notes": {"type": "array", "items": {"type": "string"}},
    "remove": {"type": "array", "items": copy.deepcopy(PLAN_SCHEMA["properties"]["items"]["items"]),
               "description": "the plan's items for this project, largest first"},
    "kept": {"type": "array", "items": _KEPT},
    "pending_items": _COUNT,
    "pending": {"type": "array", "items": _PENDING, "description": "soonest due first; never in the plan's items"},
})

_RULE_TOTALS = _closed({
    "rule": {"type": "string"},
    "resource": {"type": "string"},
    "action": {"type": "string"},
    "items": _COUNT,
    "bytes": _COUNT,
    "examined": _COUNT,
    "kept": _COUNT,
    "unevaluated_projects": {**_COUNT, "description": "projects whose inventory lacks the data this rule needs"},
    "missing_data": {"type": "array", "items": {"type": "string"},
                     "description": "the inventory keys that were missing, e.g. _jobs"},
    "pending": {**_COUNT, "description": "items that qualify but whose grace period has not passed"},
    "grace": {"type": ["string", "null"], "description": "the rule's grace period as the policy writes it"},
})

_BEFORE_AFTER = _closed({
    "before_items": _COUNT, "before_bytes": _COUNT, "after_items": _COUNT, "after_bytes": _COUNT,
}, description="objects the rules examined, counted once each, now and after the plan is applied")

REPORT_SCHEMA: Json = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gitlab-janitor.invalid/schemas/report-v1.json",
    "title": "gitlab-janitor report (report.json), version 1",
    **_closed({
        "format": {"const": "gitlab-janitor-report"},
        "version": {"const": 1},
        "gitlab_url": {"type": "string", "pattern": "^https?://"},
        "created_at": {"type": "string", "format": "date-time", "description": "when the inventory was collected"},
        "policy": {"type": "string", "description": "the policy file's path as given to plan"},
        "policy_digest": _DIGEST,
        "inventory_digest": _DIGEST,
        "plan_digest": {"anyOf": [_DIGEST, {"type": "null"}], "description": "null when the plan was refused"},
        "gitlab_version": {"type": ["string", "null"],
                           "description": "GitLab's version as collect read it (GET /version); null if unknown"},
        "refused": {"type": "array", "items": {"type": "string"},
                    "description": "why the policy's limits refused the plan; empty when a plan was written"},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "the policy's valid but dangerous choices, as `janitor validate` lists them"},
        "totals": _closed({
            "projects": _COUNT,
            "remove_items": _COUNT,
            "remove_bytes": _COUNT,
            "kept_items": _COUNT,
            "kept_bytes": _COUNT,
            "pending_items": _COUNT,
            "pending_bytes": _COUNT,
            "by_resource": {"type": "object", "additionalProperties": _closed({"items": _COUNT, "bytes": _COUNT})},
            "by_rule": {"type": "array", "items": _RULE_TOTALS},
            "before_after": {"type": "object", "additionalProperties": _BEFORE_AFTER},
        }),
        "skipped_projects": {"type": "object", "description": "why a project was not examined -> its paths",
                             "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "projects": {"type": "array", "items": _PROJECT, "description": "largest first"},
    }, required=["created_at", "format", "gitlab_url", "inventory_digest", "plan_digest", "policy",
                 "policy_digest", "projects", "refused", "skipped_projects", "totals", "version"]),
}
