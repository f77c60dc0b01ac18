"""The policy's JSON schema, generated from the resource registry and the conditions table."""

from __future__ import annotations

from typing import Any

from janitor.conditions import CONDITIONS
from janitor.resources import KINDS
from janitor.units import DURATION_PATTERN

RULE_NAME = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
# DESIGN: durations are whole numbers with a unit; a grace of "1.5w" is refused rather than guessed at
WHOLE_DURATION = DURATION_PATTERN.replace(r"(\.\d+)?", "", 1)
PROJECT_PATH = r"^[^\s/]+(/[^\s/]+)+$"
# GitLab's issues API takes `labels` as a comma-separated list (doc/api/issues.md), so no label holds a comma
LABEL = r"^[^,]*[^,\s][^,]*$"
MAX_LABELS = 10
SCHEMA_ID = "https://gitlab-janitor.invalid/schemas/policy-v1.json"


def _keep_schema(per: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "latest": {"type": "integer", "minimum": 0, "description": "the newest N of each group are kept"},
            "per": {"enum": per, "description": "how `latest` groups (each kind has a default)"},
            "names": {"type": "array", "items": {"type": "string", "minLength": 1},
                      "description": "globs of names that are never removed"},
        },
    }


def _match_schema(conditions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "every condition must hold",
        "properties": {name: dict(CONDITIONS[name].schema) for name in conditions},
    }


def _rule_patch_schema(kinds_any: bool = True) -> dict[str, Any]:
    names = sorted({c for k in KINDS.values() for c in k.conditions})
    pers = sorted({p for k in KINDS.values() for p in k.per})
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "enabled": {"type": "boolean"},
            "match": _match_schema(tuple(names)),
            "keep": _keep_schema(pers),
        },
    }


def _notify_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "where `janitor notify` posts: one issue per project (default) or one in a log project",
        "properties": {
            "issues": {"enum": ["per-project"], "description": "one issue in each affected project"},
            "project": {"type": "string", "pattern": PROJECT_PATH,
                        "description": "one summary issue in this project (group/project), a section per project"},
            "labels": {"type": "array", "minItems": 1, "maxItems": MAX_LABELS, "uniqueItems": True,
                       "items": {"type": "string", "pattern": LABEL},
                       "description": "the first label is how notify finds its issues again (default [janitor])"},
            "assignees": {"enum": ["maintainers", "none"], "default": "none"},
        },
        "not": {"required": ["issues", "project"]},
    }


def policy_schema() -> dict[str, Any]:
    kinds = sorted(KINDS)
    per_kind = [
        {
            "if": {"properties": {"resource": {"const": name}}, "required": ["resource"]},
            "then": {
                "properties": {
                    "action": {"enum": list(kind.actions)},
                    "match": _match_schema(kind.conditions),
                    "keep": _keep_schema(kind.schema_per()),
                }
            },
        }
        for name, kind in sorted(KINDS.items())
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gitlab-janitor policy, version 1",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "scope", "rules"],
        "properties": {
            "version": {"const": 1},
            "scope": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "groups": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "projects": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "all": {"type": "boolean", "description": "every project the token can see"},
                    "exclude": {"type": "array", "items": {"type": "string", "minLength": 1},
                                "description": "globs on project full paths; ** crosses '/'"},
                    "archived": {"type": "boolean", "default": False},
                },
            },
            "limits": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "max_actions": {"type": "integer", "minimum": 0},
                    "max_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                },
            },
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "resource", "action"],
                    "properties": {
                        "name": {"type": "string", "pattern": RULE_NAME},
                        "description": {"type": "string"},
                        "resource": {"enum": kinds},
                        "action": {"type": "string"},
                        "enabled": {"type": "boolean"},
                        "match": {"type": "object"},
                        "keep": {"type": "object"},
                        "grace": {"type": "string", "pattern": WHOLE_DURATION,
                                  "description": "warn first: removed only after qualifying unchanged this "
                                                 "long (plan --state carries the clock across runs)"},
                        "notify": {"type": "boolean",
                                   "description": "tell the project's people while pending (needs grace)"},
                    },
                    "allOf": per_kind,
                },
            },
            "notify": _notify_schema(),
            "overrides": {
                "type": "object",
                "description": "by group or project path; the deepest path wins, keys merge",
                "additionalProperties": {"type": "object", "additionalProperties": _rule_patch_schema()},
            },
        },
    }
