"""`--format json`: one JSON summary per run of validate, collect, plan and apply, on stdout, for machines.

People read stderr, as with `--format text`; stdout then holds exactly one JSON object, also when the run
fails (exit 1, 2 or 3): `ok` is false, `exit_code` is what the process exits with, and `error` says why.
`janitor schema --summary` prints SUMMARY_SCHEMA; the tests validate every command's output against it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from janitor.errors import JanitorError, PolicyError
from janitor.model import Json
from janitor.units import human_bytes

SUMMARY_VERSION = 1
COMMANDS = ("validate", "collect", "plan", "apply")
STATUSES = ("deleted", "gone", "skipped", "failed", "would delete")

_COUNT: Json = {"type": "integer", "minimum": 0}
_STRINGS: Json = {"type": "array", "items": {"type": "string"}}


def _closed(properties: Json, optional: tuple[str, ...] = ()) -> Json:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": sorted(k for k in properties if k not in optional)}


_ITEM = _closed({"id": {"type": "string"}, "project": {"type": "string"}, "resource": {"type": "string"},
                 "title": {"type": "string"}, "status": {"enum": list(STATUSES)}, "reason": {"type": "string"},
                 "bytes": _COUNT})

SUMMARY_SCHEMA: Json = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gitlab-janitor.invalid/schemas/summary-v1.json",
    "title": "gitlab-janitor --format json summary (validate, collect, plan, apply)",
    **_closed({
        "summary_version": {"const": SUMMARY_VERSION},
        "command": {"enum": list(COMMANDS)},
        "ok": {"type": "boolean", "description": "true exactly when exit_code is 0"},
        "exit_code": {"enum": [0, 1, 2, 3], "description": "the process's exit status (see `janitor --help`)"},
        "warnings": {**_STRINGS, "description": "valid but dangerous policy choices, empty groups ..."},
        "error": _closed({"message": {"type": "string"}, "hint": {"type": ["string", "null"]},
                          "problems": {**_STRINGS, "description": "each problem of an invalid policy"}}),
        "policy": _closed({"file": {"type": "string"}, "digest": {"type": "string"}, "rules": _COUNT,
                           "kinds": _STRINGS, "overrides": _COUNT,
                           "graced_rules": {**_COUNT, "description": "rules with a grace period"}}),
        "collect": _closed({"out": {"type": "string"}, "projects": _COUNT, "incomplete": _STRINGS,
                            "requests": _COUNT, "elapsed_seconds": {"type": "number", "minimum": 0}}),
        "plan": _closed({
            "file": {"type": ["string", "null"], "description": "null when the plan was refused (not written)"},
            "digest": {"type": ["string", "null"]}, "actions": _COUNT, "bytes": _COUNT, "projects": _COUNT,
            "kept": _COUNT, "refusals": _STRINGS, "reports": _STRINGS,
            "pending": {**_COUNT, "description": "items under a grace rule whose grace period is not over"},
            "by_resource": {"type": "object", "additionalProperties": _closed({"items": _COUNT, "bytes": _COUNT})},
        }),
        "apply": _closed({
            "dry_run": {"type": "boolean"}, "plan_digest": {"type": "string"},
            "counts": {"type": "object", "propertyNames": {"enum": list(STATUSES)}, "additionalProperties": _COUNT},
            "freed_bytes": {**_COUNT, "description": "bytes of the deleted items (would delete, in a dry run)"},
            "gone_bytes": {**_COUNT, "description": "bytes of items found already gone: not freed by this run"},
            "resumed": {**_COUNT, "description": "items the journal says an earlier run did"},
            "items": {"type": "array", "items": _ITEM,
                      "description": "one per item this run handled, by project path, then item id"},
        }),
    }, optional=("error", "policy", "collect", "plan", "apply")),
    "allOf": [{"if": {"properties": {"ok": {"const": True}}}, "then": {"properties": {"exit_code": {"const": 0}}},
               "else": {"properties": {"exit_code": {"enum": [1, 2, 3]}}}}],
}


def summary(command: str, exit_code: int, warnings: list[str] | tuple[str, ...] = (), **sections: Any) -> Json:
    return {"summary_version": SUMMARY_VERSION, "command": command, "ok": exit_code == 0, "exit_code": exit_code,
            "warnings": list(warnings), **sections}


def error_summary(command: str, exc: JanitorError) -> Json:
    problems = exc.problems if isinstance(exc, PolicyError) else []
    return summary(command, exc.exit_code, error={"message": exc.message, "hint": exc.hint, "problems": problems})


def apply_sentence(counts: Counter[str], freed: int, gone: int, dry_run: bool, resumed: int) -> str:
    """The run in one sentence: "deleted 186 items (16.2 GiB), 16 already gone, 1 failed."."""
    total = sum(counts.values())
    if dry_run:
        parts = [f"{counts['would delete']} of {total} items would be deleted ({human_bytes(freed)})"]
        words = {"skipped": "would be skipped", "gone": "already gone", "failed": "could not be re-checked"}
    else:
        parts = [f"deleted {counts['deleted']} of {total} items ({human_bytes(freed)} freed)"]
        words = {"gone": "already gone", "skipped": "skipped", "failed": "failed"}
    for status, word in words.items():
        if counts[status]:
            parts.append(f"{counts[status]} {word}" + (f" ({human_bytes(gone)}, not counted as freed)"
                                                       if status == "gone" and gone else ""))
    if resumed:
        parts.append(f"{resumed} already done per the journal")
    return ", ".join(parts) + "."
