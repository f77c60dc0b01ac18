"""The state file `plan --state` carries across runs: when each item under a grace rule first qualified,
and with which fingerprint, so the grace clock survives from one scheduled run to the next.

The file is untrusted input (a CI artifact, a file anyone may edit): it is read as strictly as an
inventory (strict JSON, a size bound, exact types, ISO times, no duplicate ids), and one for another
GitLab, or from after the inventory was taken, is refused. It is written deterministically (the same
inputs give the same bytes, one item per line) and atomically (a crash leaves the old file whole).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from janitor.errors import JanitorError, SafetyRefusal
from janitor.gitlab_api import normalize_url
from janitor.inventory_check import (
    JsonProblem,
    ShapeError,
    iso_time,
    list_of,
    obj,
    req,
    show,
    strict_loads,
    text,
)
from janitor.model import Json, _fingerprint, format_time, json_lines, parse_time

FORMAT = "gitlab-janitor-state"
VERSION = 1
# An entry is about 250 bytes: a million items under grace is a quarter of this. Past it, the file is not
# one janitor wrote, and reading it whole would exhaust memory before any check could say so.
MAX_STATE_BYTES = 1 << 30
_AS_WRITTEN = ("Use the state file exactly as `janitor plan --state` wrote it, or delete it to start every "
               "grace period afresh (nothing under a grace rule is removed on that run).")


class StateError(JanitorError):
    """A state file that cannot be used: exit 1, with what is wrong and where."""


@dataclass(frozen=True)
class Entry:
    id: str
    rule: str
    first_qualified: datetime
    fingerprint: Mapping[str, Any]

    def to_json(self) -> Json:
        return {"id": self.id, "rule": self.rule, "first_qualified": format_time(self.first_qualified),
                "fingerprint": dict(self.fingerprint)}


@dataclass(frozen=True)
class State:
    path: str
    gitlab_url: str
    updated_at: datetime
    entries: Mapping[str, Entry]


ENTRY = obj({"id": req(text), "rule": req(text), "first_qualified": req(iso_time),
             "fingerprint": req(_fingerprint)}, closed=True)
HEAD = obj({"format": req(text), "version": req(lambda _: None), "gitlab_url": req(text),
            "updated_at": req(iso_time), "items": req(list_of(ENTRY, unique="id"))}, closed=True)


def read_state(path: str | Path, gitlab_url: str, now: datetime) -> State | None:
    """The previous run's state, or None when there is no file yet (the first run: every item under a
    grace rule starts its clock now). `gitlab_url` and `now` are the inventory's."""
    if not os.path.lexists(path):
        return None
    return parse_state(path, read_bytes(path), gitlab_url, now)


def parse_state(path: str | Path, raw: bytes, gitlab_url: str, now: datetime) -> State:
    """A state file's bytes, checked as read_state checks them (notify hashes the same bytes it parses)."""
    data = _decode(path, raw)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path} is not a gitlab-janitor state file.", _AS_WRITTEN)
    if type(data.get("version")) is not int or data["version"] != VERSION:  # `true == 1` in Python
        raise StateError(f"{path} is state format version {show(data.get('version'))}; this janitor reads "
                         f"{VERSION}.", _AS_WRITTEN)
    try:
        HEAD(data)
    except ShapeError as exc:
        raise StateError(f"{path}: malformed state: {exc.describe()}.", _AS_WRITTEN) from None
    if normalize_url(data["gitlab_url"]) != normalize_url(gitlab_url):
        raise SafetyRefusal(
            f"{path} is the state for another GitLab ({show(data['gitlab_url'], 80)}), not {gitlab_url}: "
            "its grace clocks say nothing about this one.",
            "Give each GitLab its own --state file. Nothing was planned.")
    updated = _time(path, "updated_at", data["updated_at"])
    if updated > now:
        raise SafetyRefusal(
            f"{path} was updated at {format_time(updated)}, after this inventory was collected "
            f"({format_time(now)}): a state from the future would shorten grace periods.",
            "Plan with a newer inventory, or check that --state names this run's file. Nothing was planned.")
    entries: dict[str, Entry] = {}
    for index, item in enumerate(data["items"]):
        first = _time(path, f"items[{index}].first_qualified", item["first_qualified"])
        if first > updated:
            raise StateError(f"{path}: items[{index}].first_qualified {item['first_qualified']} is after the "
                             f"state's updated_at {data['updated_at']}.", _AS_WRITTEN)
        entries[item["id"]] = Entry(item["id"], item["rule"], first, dict(item["fingerprint"]))
    return State(str(path), normalize_url(data["gitlab_url"]), updated, entries)


def _time(path: str | Path, where: str, value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise StateError(f"{path}: {where} is empty; an ISO-8601 UTC time is required.", _AS_WRITTEN)
    return parsed


def read_bytes(path: str | Path) -> bytes:
    try:
        if os.stat(path).st_size > MAX_STATE_BYTES:
            raise StateError(f"{path} is larger than {MAX_STATE_BYTES >> 30} GiB: not a state janitor wrote.",
                             _AS_WRITTEN)
        with open(path, "rb") as handle:
            return handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        # a link to nowhere is a misconfigured artifact path, not a first run: starting afresh would hide it
        raise StateError(f"{path} is a symbolic link to a file that does not exist.",
                         "Point --state at the state file itself, or remove the link to start afresh.") from None
    except IsADirectoryError:
        raise StateError(f"{path} is a directory; --state names a file, such as {Path(path) / 'state.json'}.") \
            from None
    except OSError as exc:
        raise StateError(f"{path} cannot be read: {exc.strerror or exc}.", _AS_WRITTEN) from None


def _decode(path: str | Path, raw: bytes) -> Any:
    try:
        return strict_loads(raw.decode("utf-8"), unique_keys=True)
    except JsonProblem as exc:
        raise StateError(f"{path} cannot be used: {exc}.", _AS_WRITTEN) from None
    except (ValueError, MemoryError) as exc:  # UnicodeDecodeError is a ValueError
        raise StateError(f"{path} is not valid JSON ({show(str(exc), 200)}); it is truncated or damaged.",
                         _AS_WRITTEN) from None


def state_json(entries: Iterable[Entry], gitlab_url: str, updated_at: datetime) -> Json:
    return {"format": FORMAT, "version": VERSION, "gitlab_url": gitlab_url, "updated_at": format_time(updated_at),
            "items": [e.to_json() for e in sorted(entries, key=lambda e: e.id)]}


def state_bytes(state: Json) -> bytes:
    return "".join(json_lines(state, spread="items")).encode("utf-8")


def state_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


_TIME = {"type": "string", "format": "date-time", "pattern": "Z$"}
STATE_SCHEMA: Json = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gitlab-janitor.invalid/schemas/state-v1.json",
    "title": "gitlab-janitor state (plan --state), version 1",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "version", "gitlab_url", "updated_at", "items"],
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "gitlab_url": {"type": "string", "pattern": "^https?://", "description": "the GitLab it belongs to"},
        "updated_at": {**_TIME, "description": "the inventory time of the plan that wrote it"},
        "items": {
            "type": "array",
            "description": "items that qualify under a rule with grace, sorted by id, ids unique",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "rule", "first_qualified", "fingerprint"],
                "properties": {
                    "id": {"type": "string", "description": "the plan item id"},
                    "rule": {"type": "string"},
                    "first_qualified": {**_TIME, "description": "the inventory time it first qualified at "
                                        "with this fingerprint; due = first_qualified + the rule's grace"},
                    "fingerprint": {"type": "object", "description": "as in the plan's items",
                                    "additionalProperties": {"type": ["string", "integer", "boolean", "null",
                                                                      "array"],
                                                             "items": {"type": ["string", "integer", "boolean",
                                                                                "null"]}}},
                },
            },
        },
    },
}
