"""The state reader and grace clock as they were before the state was streamed to disk (main, late November):
the whole file parsed in memory, every entry a dict item. Frozen here as the oracle the streamed reader
(janitor/state.py, janitor/state_store.py) and clock (janitor/grace.py) are held to, byte for byte and
message for message (tests/test_state_stream.py). Not imported by janitor itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from janitor.errors import SafetyRefusal
from janitor.gitlab_api import normalize_url
from janitor.grace import Pending
from janitor.inventory_check import JsonProblem, ShapeError, iso_time, list_of, obj, req, show, strict_loads, text
from janitor.model import PlanItem, _fingerprint, format_time, parse_time
from janitor.policy.model import Policy
from janitor.state import _AS_WRITTEN, FORMAT, VERSION, Entry, StateError, entry_line
from janitor.units import parse_duration


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


def _decode(path: str | Path, raw: bytes) -> Any:
    try:
        return strict_loads(raw.decode("utf-8"), unique_keys=True)
    except JsonProblem as exc:
        raise StateError(f"{path} cannot be used: {exc}.", _AS_WRITTEN) from None
    except (ValueError, MemoryError) as exc:  # UnicodeDecodeError is a ValueError
        raise StateError(f"{path} is not valid JSON ({show(str(exc), 200)}); it is truncated or damaged.",
                         _AS_WRITTEN) from None


def _canonical(fingerprint: Mapping[str, Any]) -> str:
    # Compared as JSON: the state holds lists where a fresh fingerprint may hold tuples
    return json.dumps(dict(fingerprint), sort_keys=True, separators=(",", ":"))


class GraceClock:
    def __init__(self, policy: Policy, previous: State | None, now: datetime) -> None:
        self.now = now
        self.grace: dict[str, timedelta] = {r.name: parse_duration(r.grace) for r in policy.rules if r.grace}
        self.previous: Mapping[str, Entry] = previous.entries if previous else {}
        self.entries: dict[str, Entry] = {}
        self._by_project: dict[str, list[Entry]] | None = None

    def hold(self, item: PlanItem) -> Pending | None:
        """None when the item may be removed now (its rule has no grace, or its grace has passed);
        else the pending record. Either way an item under a grace rule is recorded in the new state."""
        grace = self.grace.get(item.rule)
        if grace is None:
            return None
        before = self.previous.get(item.id)
        if before and before.rule == item.rule and _canonical(before.fingerprint) == _canonical(item.fingerprint):
            first = before.first_qualified
        else:
            first = self.now
        self.entries[item.id] = Entry(item.id, item.rule, first, dict(item.fingerprint))
        due = first + grace
        return None if due <= self.now else Pending(item, first, due)

    def carry(self, project_id: int, rule: str | None = None) -> None:
        """Keep the clocks of a project (or of one rule in it) the inventory could not evaluate."""
        if self._by_project is None:  # indexed once: a run may have many incomplete projects
            self._by_project = {}
            for entry in self.previous.values():
                self._by_project.setdefault(entry.id.split("/", 1)[0], []).append(entry)
        for entry in self._by_project.get(str(project_id), ()):
            if entry.rule in self.grace and rule in (None, entry.rule):
                self.entries.setdefault(entry.id, entry)


def state_lines(clock: GraceClock) -> list[str]:
    """The new state's entry lines, as `plan --state` wrote them from the in-memory clock."""
    return [entry_line(e) for e in sorted(clock.entries.values(), key=lambda e: e.id)]
