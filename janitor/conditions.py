"""The `match:` conditions: each declares its schema fragment and how it is evaluated, so the policy
schema and the planner cannot drift apart. Kinds say which conditions apply to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from janitor.matchers import NameMatcher
from janitor.model import Candidate
from janitor.units import DURATION_PATTERN, human_duration, parse_duration, parse_size

Check = Callable[[Candidate, datetime], "str | None"]  # None = condition holds; else why not

NAME_MATCHER_SCHEMA: dict[str, Any] = {
    "description": "a glob (`*` matches any characters, '/' included), a list of globs, or a map",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "include": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "regex": {"type": "string", "minLength": 1},
                "exclude_regex": {"type": "string", "minLength": 1},
            },
        },
    ],
}
DURATION_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": DURATION_PATTERN,
    "description": "an age: 12h, 30d, 2w, 6mo, 1y, '30 days', '6 months'",
}
SIZE_SCHEMA: dict[str, Any] = {
    "description": "bytes, or a size such as 500kB, 10MB, 2GiB",
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[A-Za-z]*\s*$"}],
}
WORDS_SCHEMA: dict[str, Any] = {
    "description": "a word or a list of words",
    "oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]
}


@dataclass(frozen=True)
class Condition:
    name: str
    schema: Mapping[str, Any]
    description: str
    compile: Callable[[Any], Check]


def _older_than(value: Any) -> Check:
    threshold = parse_duration(value)

    def check(c: Candidate, now: datetime) -> str | None:
        if c.age_at is None:
            return "has no date to measure its age by"
        age = now - c.age_at
        return None if age > threshold else f"newer than {value} (age {human_duration(age)})"

    return check


def _name_matcher(attr: str) -> Callable[[Any], Check]:
    def compile_(value: Any) -> Check:
        matcher = NameMatcher.from_policy(value)

        def check(c: Candidate, now: datetime) -> str | None:
            why = matcher.explain(str(c.attrs.get(attr) or ""))
            return None if why is None else f"{attr} {c.attrs.get(attr)!r} {why}"

        return check

    return compile_


def _flag(attr: str) -> Callable[[Any], Check]:
    def compile_(value: Any) -> Check:
        wanted = bool(value)

        def check(c: Candidate, now: datetime) -> str | None:
            actual = c.attrs.get(attr)
            if actual is None:
                return f"{attr} is unknown in the inventory"
            return None if bool(actual) == wanted else f"{attr} is {str(bool(actual)).lower()}"

        return check

    return compile_


def _one_of(attr: str) -> Callable[[Any], Check]:
    def compile_(value: Any) -> Check:
        allowed = {value} if isinstance(value, str) else set(value)

        def check(c: Candidate, now: datetime) -> str | None:
            actual = c.attrs.get(attr)
            return None if actual in allowed else f"{attr} is {actual!r}"

        return check

    return compile_


def _larger_than(value: Any) -> Check:
    threshold = parse_size(value)

    def check(c: Candidate, now: datetime) -> str | None:
        return None if c.bytes > threshold else f"not larger than {value} ({c.bytes} bytes)"

    return check


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("older_than", DURATION_SCHEMA, "older than this age (each kind says which date)", _older_than),
        Condition("name", NAME_MATCHER_SCHEMA, "the object's name", _name_matcher("name")),
        Condition("ref", NAME_MATCHER_SCHEMA, "the branch or tag the object was made for", _name_matcher("ref")),
        Condition("version", NAME_MATCHER_SCHEMA, "the package version", _name_matcher("version")),
        Condition("merged", {"type": "boolean"}, "merged into the default branch", _flag("merged")),
        Condition("has_open_mr", {"type": "boolean"}, "source of an open merge request", _flag("has_open_mr")),
        Condition("orphaned", {"type": "boolean"}, "no live branch or tag accounts for it", _flag("orphaned")),
        Condition("status", WORDS_SCHEMA, "status, or one of a list", _one_of("status")),
        Condition("package_type", WORDS_SCHEMA, "package type (maven, npm, generic, ...)", _one_of("package_type")),
        Condition("state", WORDS_SCHEMA, "state (available, stopped, ...)", _one_of("state")),
        Condition("larger_than", SIZE_SCHEMA, "frees more than this many bytes", _larger_than),
    )
}


def compile_match(match: Mapping[str, Any]) -> list[Check]:
    return [CONDITIONS[name].compile(value) for name, value in sorted(match.items())]
