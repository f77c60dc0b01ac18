"""The state file `plan --state` carries across runs: when each item under a grace rule first qualified,
and with which fingerprint, so the grace clock survives from one scheduled run to the next.

The file is untrusted input (a CI artifact, a file anyone may edit): it is read as strictly as an
inventory (strict JSON, a size bound, exact types, ISO times, no duplicate ids), and one for another
GitLab, or from after the inventory was taken, is refused. It is written deterministically (the same
inputs give the same bytes, one item per line) and atomically (a crash leaves the old file whole).

It is read once, streamed: each item is checked as it passes and goes to a temporary store on disk
(janitor/state_store.py), which the grace clock asks a project at a time, so a state of a million items
costs the plan no more memory than one of ten. Its errors are the ones reading it whole always gave.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from janitor.errors import JanitorError, SafetyRefusal
from janitor.inventory_check import (
    Check,
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
from janitor.inventory_stream import Scanner
from janitor.model import Json, _fingerprint, format_time, json_lines, parse_time
from janitor.state_store import Entry, PreviousEntries, entry_line
from janitor.urls import normalize_url

__all__ = ["ENTRY", "FORMAT", "HEAD", "MAX_STATE_BYTES", "STATE_SCHEMA", "VERSION", "Entry", "State",
           "StateError", "entry_line", "parse_state", "read_bytes", "read_state", "state_bytes", "state_digest",
           "state_json"]

FORMAT = "gitlab-janitor-state"
VERSION = 1
# An entry is about 250 bytes: a million items under grace is a quarter of this. Past it, the file is not
# one janitor wrote (and one that is not strict JSON is read whole, to say where it is damaged).
MAX_STATE_BYTES = 1 << 30
_AS_WRITTEN = ("Use the state file exactly as `janitor plan --state` wrote it, or delete it to start every "
               "grace period afresh (nothing under a grace rule is removed on that run).")


class StateError(JanitorError):
    """A state file that cannot be used: exit 1, with what is wrong and where."""


@dataclass(frozen=True)
class State:
    path: str
    gitlab_url: str
    updated_at: datetime
    entries: PreviousEntries  # on disk, looked up a project at a time (janitor/state_store.py)
    digest: str = ""  # state_digest of exactly the bytes read

    def close(self) -> None:
        self.entries.close()


ENTRY = obj({"id": req(text), "rule": req(text), "first_qualified": req(iso_time),
             "fingerprint": req(_fingerprint)}, closed=True)


def _head(items: Check) -> Check:
    return obj({"format": req(text), "version": req(lambda _: None), "gitlab_url": req(text),
                "updated_at": req(iso_time), "items": req(items)}, closed=True)


HEAD = _head(list_of(ENTRY, unique="id"))


def read_state(path: str | Path, gitlab_url: str, now: datetime) -> State | None:
    """The previous run's state, or None when there is no file yet (the first run: every item under a
    grace rule starts its clock now). `gitlab_url` and `now` are the inventory's. The file is read once,
    streamed: its items go to disk, not memory. Close the state when done."""
    if not os.path.lexists(path):
        return None
    with _open(path) as handle:
        return _read(path, handle, gitlab_url, now)


def parse_state(path: str | Path, raw: bytes, gitlab_url: str, now: datetime) -> State:
    """A state file's bytes, checked as read_state checks them (notify hashes the same bytes it parses)."""
    return _read(path, io.BytesIO(raw), gitlab_url, now)


class _Items:
    """The items as they stream past: each checked (ENTRY) and stored; the first problem is kept, for the
    point where the whole-file check (HEAD) reaches `items`, so errors come in the order they always did."""

    def __init__(self, store: PreviousEntries) -> None:
        self.store = store
        self.problem: ShapeError | None = None

    def add(self, index: int, item: Any) -> None:
        if self.problem:
            return
        try:
            ENTRY(item)
        except ShapeError as exc:
            self.problem = exc.inside(f"[{index}]")
            return
        self.store.add(index, item["id"], item["rule"], parse_time(item["first_qualified"]),
                       item["first_qualified"], item["fingerprint"])

    def check(self, _: Any) -> None:
        """list_of(ENTRY, unique="id") of the streamed list: every element's shape first, then the ids."""
        if self.problem:
            raise self.problem
        duplicate = self.store.first_duplicate()
        if duplicate:
            raise ShapeError(f"duplicate id {show(duplicate[1])}").inside(f"[{duplicate[0]}]")


def _read(path: str | Path, handle: IO[bytes], gitlab_url: str, now: datetime) -> State:
    stores: list[PreviousEntries] = []  # closed unless the state is returned
    try:
        stores.append(PreviousEntries())
        items = _Items(stores[-1])
        try:
            streamed: tuple[Any, bool, str] | None = _stream(handle, items.add)
        except ValueError:  # bad JSON, bad UTF-8, not an object
            streamed = None  # (read again outside this block, which would keep the stream's window alive)
        if streamed is None:  # the whole file read as it always was, for json's own verdict
            stores.pop().close()
            stores.append(PreviousEntries())
            items = _Items(stores[-1])
            handle.seek(0)
            raw = handle.read(MAX_STATE_BYTES + 1)
            data = _decode(path, raw)
            listed = isinstance(data, dict) and type(data.get("items")) is list
            for index, item in enumerate(data.pop("items") if listed else ()):
                items.add(index, item)
            streamed = data, listed, state_digest(raw)
        data, listed, digest = streamed
        items.store.seal()
        url, updated = _checked(path, data, items if listed else None, gitlab_url, now)
        state = State(str(path), url, updated, items.store, digest)
        stores.remove(items.store)
        return state
    except OSError as exc:
        raise StateError(f"{path} cannot be read: {exc.strerror or exc}.", _AS_WRITTEN) from None
    except sqlite3.Error as exc:  # the temporary directory is full or not writable
        raise StateError(f"{path} cannot be indexed in the temporary directory: {exc}.",
                         "Free space in the temporary directory (TMPDIR, or SQLITE_TMPDIR), then plan again.") \
            from None
    finally:
        for store in stores:
            store.close()


class _Hashed(io.RawIOBase):
    """The first `limit` bytes of a file, hashed as they are read."""

    def __init__(self, handle: IO[bytes], limit: int) -> None:
        self._handle = handle
        self._left = limit
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(min(len(buffer), self._left))
        self._left -= len(data)
        self.sha256.update(data)
        buffer[:len(data)] = data
        return len(data)


def _stream(handle: IO[bytes], each: Callable[[int, Any], None]) -> tuple[dict[str, Any], bool, str]:
    """The state file read once, value by value: its top-level keys but "items" (in file order), whether
    "items" was a list (each element then went to `each(index, element)`, not into memory), and the
    digest of the bytes read. Raises ValueError where it is not one strict JSON object (the same decoder as
    `strict_loads`, which then says what is wrong)."""
    hashed = _Hashed(handle, MAX_STATE_BYTES + 1)
    scan = Scanner(io.TextIOWrapper(io.BufferedReader(hashed), encoding="utf-8", newline=""))
    if scan.peek() != "{":
        raise ValueError("not an object")
    head: dict[str, Any] = {}
    listed = False
    for key in scan.object_keys():
        if key == "items" and scan.peek() == "[":
            listed = True
            for index, item in enumerate(scan.list_values()):
                each(index, item)
        else:
            head[key] = scan.value()
    scan.end()
    return head, listed, "sha256:" + hashed.sha256.hexdigest()


def _checked(path: str | Path, data: Any, items: _Items | None, gitlab_url: str, now: datetime
             ) -> tuple[str, datetime]:
    """The state's checks, in the order they have always come; `items` holds the streamed items (else they
    are in `data`). Returns the state's GitLab URL and updated_at."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path} is not a gitlab-janitor state file.", _AS_WRITTEN)
    if type(data.get("version")) is not int or data["version"] != VERSION:  # `true == 1` in Python
        raise StateError(f"{path} is state format version {show(data.get('version'))}; this janitor reads "
                         f"{VERSION}.", _AS_WRITTEN)
    try:
        if items is None:
            HEAD(data)
        else:
            _head(items.check)({**data, "items": ()})
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
    if items is not None:
        late = items.store.first_not_before(updated)
        if late is not None:
            index, first = late
            _time(path, f"items[{index}].first_qualified", first)
            raise StateError(f"{path}: items[{index}].first_qualified {first} is after the state's updated_at "
                             f"{data['updated_at']}.", _AS_WRITTEN)
    return normalize_url(data["gitlab_url"]), updated


def _time(path: str | Path, where: str, value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise StateError(f"{path}: {where} is empty; an ISO-8601 UTC time is required.", _AS_WRITTEN)
    return parsed


def _open(path: str | Path) -> IO[bytes]:
    """The file, opened for reading once its size is checked, every failure a StateError."""
    try:
        if os.stat(path).st_size > MAX_STATE_BYTES:
            raise StateError(f"{path} is larger than {MAX_STATE_BYTES >> 30} GiB: not a state janitor wrote.",
                             _AS_WRITTEN)
        return open(path, "rb")
    except FileNotFoundError:
        # a link to nowhere is a misconfigured artifact path, not a first run: starting afresh would hide it
        raise StateError(f"{path} is a symbolic link to a file that does not exist.",
                         "Point --state at the state file itself, or remove the link to start afresh.") from None
    except IsADirectoryError:
        raise StateError(f"{path} is a directory; --state names a file, such as {Path(path) / 'state.json'}.") \
            from None
    except OSError as exc:
        raise StateError(f"{path} cannot be read: {exc.strerror or exc}.", _AS_WRITTEN) from None


def read_bytes(path: str | Path) -> bytes:
    with _open(path) as handle:
        try:
            return handle.read(MAX_STATE_BYTES + 1)
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
