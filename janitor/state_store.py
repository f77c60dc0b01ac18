"""The grace clock's entries on disk, so a state of a million items costs the plan no more memory than one
of ten: the previous run's entries, looked up a project at a time, and this run's, handed back sorted by id.

Each store is a private temporary SQLite database (opened with an empty file name, sqlite.org/inmemorydb.html,
"Temporary Databases"): SQLite keeps it in its page cache, bounded here to 2 MiB, and past that in a file
in the system's temporary directory (SQLITE_TMPDIR, else TMPDIR, else /var/tmp or /tmp) that it unlinks as
soon as it opens it, so nothing is left behind on any exit, a crash or a kill included
(tests/test_state_stream.py checks that it is so).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import ItemsView, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any, NamedTuple

from janitor import json_forms
from janitor.model import Json, format_time

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_BATCH = 4096
# SQLite's page cache and sort memory, per store (negative: in KiB). Larger caches only filled with data
# (tests/test_plan_stream.py measures the growth) without making a 10,000-project plan any faster.
_CACHE = "PRAGMA cache_size = -2048"


@dataclass(frozen=True)
class Entry:
    """One item of a state file: since when it has qualified under its rule with this fingerprint."""

    id: str
    rule: str
    first_qualified: datetime
    fingerprint: Mapping[str, Any]

    def to_json(self) -> Json:
        return {"id": self.id, "rule": self.rule, "first_qualified": format_time(self.first_qualified),
                "fingerprint": dict(self.fingerprint)}


def entry_line(entry: Entry) -> str:
    """The entry's line in the state file (`model.json_lines`' form of a spread list's element)."""
    return json_forms.pretty(entry.to_json())


def canonical_fingerprint(fingerprint: Mapping[str, Any]) -> str:
    """What two fingerprints are compared by: their JSON, as the state holds lists where a fresh
    fingerprint may hold tuples."""
    return json.dumps(dict(fingerprint), sort_keys=True, separators=(",", ":"))


def _open() -> sqlite3.Connection:
    db = sqlite3.connect("", isolation_level=None)
    for pragma in (_CACHE, "PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF", "PRAGMA temp_store = FILE"):
        db.execute(pragma)
    return db


def micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def project_key(item_id: str) -> str:
    """The project part of an item id ("7/branches/branch:old" -> "7"): plan items are made that way."""
    return item_id.split("/", 1)[0]


class PreviousEntries(Mapping[str, Entry]):
    """The previous state's items by id, in file order. Loaded once with `add` (rows as the file holds them,
    checked by the caller), then `seal`ed, which builds the lookup index."""

    def __init__(self) -> None:
        self._db = _open()
        self._db.execute("CREATE TABLE entry (number INTEGER PRIMARY KEY, project TEXT NOT NULL, id TEXT NOT NULL,"
                         " rule TEXT NOT NULL, first INTEGER, first_text TEXT NOT NULL, fingerprint TEXT NOT NULL)")
        self._db.execute("BEGIN")
        self._rows: list[tuple[int, str, str, str, int | None, str, str]] = []
        self._length = 0

    def add(self, number: int, item_id: str, rule: str, first: datetime | None, first_text: str,
            fingerprint: Mapping[str, Any]) -> None:
        """Item `number` of the file; `first` is None where its first_qualified is empty."""
        self._rows.append((number, project_key(item_id), item_id, rule, None if first is None else micros(first),
                           first_text, canonical_fingerprint(fingerprint)))
        if len(self._rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?, ?, ?)", self._rows)
        self._length += len(self._rows)
        self._rows.clear()

    def seal(self) -> None:
        self._flush()
        self._db.execute("COMMIT")
        self._db.execute("CREATE INDEX by_id ON entry (project, id)")

    def first_duplicate(self) -> tuple[int, str] | None:
        """(number, id) of the first item whose id an earlier item has, in file order."""
        seconds = []
        for project, item_id in self._db.execute("SELECT project, id FROM entry GROUP BY project, id "
                                                 "HAVING COUNT(*) > 1").fetchall():
            numbers = self._db.execute("SELECT number FROM entry WHERE project = ? AND id = ? ORDER BY number "
                                       "LIMIT 2", (project, item_id)).fetchall()
            seconds.append((numbers[1][0], item_id))
        return min(seconds, default=None)

    def first_not_before(self, limit: datetime) -> tuple[int, str] | None:
        """(number, first_qualified as written) of the first item whose first_qualified is empty or after
        `limit`."""
        row = self._db.execute("SELECT number, first_text FROM entry WHERE first IS NULL OR first > ? "
                               "ORDER BY number LIMIT 1", (micros(limit),)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def of_project(self, project: str) -> dict[str, Stored]:
        """The entries whose id starts with `project` and "/" (or is just it), by id."""
        return {row[0]: Stored(row[0], row[1], from_micros(row[2]), row[3]) for row in self._db.execute(
            "SELECT id, rule, first, fingerprint FROM entry WHERE project = ?", (project,))}

    def __getitem__(self, item_id: str) -> Entry:
        row = self._db.execute("SELECT id, rule, first, fingerprint FROM entry WHERE project = ? AND id = ?",
                               (project_key(item_id), item_id)).fetchone()
        if row is None:
            raise KeyError(item_id)
        return _entry(row)

    def __iter__(self) -> Iterator[str]:
        return (str(row[0]) for row in self._db.execute("SELECT id FROM entry ORDER BY number"))

    def items(self) -> ItemsView[str, Entry]:
        return _AllEntries(self)

    def all_entries(self) -> Iterator[tuple[str, Entry]]:
        """(id, entry) in file order, in one pass (Mapping's own items() would look each id up)."""
        return ((row[0], _entry(row)) for row in self._db.execute(
            "SELECT id, rule, first, fingerprint FROM entry ORDER BY number"))

    def __len__(self) -> int:
        return self._length

    def close(self) -> None:
        self._db.close()


class _AllEntries(ItemsView[str, Entry]):
    _mapping: PreviousEntries

    def __iter__(self) -> Iterator[tuple[str, Entry]]:
        return self._mapping.all_entries()


def _entry(row: tuple[Any, ...]) -> Entry:
    return Stored(row[0], row[1], from_micros(row[2]), row[3]).entry()


class Stored(NamedTuple):
    """An entry as the store holds it: its fingerprint still the canonical JSON it is compared by."""

    id: str
    rule: str
    first_qualified: datetime
    fingerprint: str  # canonical_fingerprint's form

    def entry(self) -> Entry:
        return Entry(self.id, self.rule, self.first_qualified, json.loads(self.fingerprint))


class NextEntries:
    """This run's entries, as `GraceClock` records them: `put` replaces an entry of the same id, `keep`
    adds one only if there is none yet. Rows are only appended; which one stands for an id is settled when
    they are read back in id order (the last `put`, else the first `keep`), as a dict would have it."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None  # opened on the first entry: most plans have no grace rule
        self._rows: list[tuple[str, int, int, str]] = []
        self._sequence = count()

    def put(self, entry: Entry) -> None:
        self._add(entry.id, 0, -next(self._sequence), entry_line(entry))

    def keep(self, entry: Entry) -> None:
        self._add(entry.id, 1, next(self._sequence), entry_line(entry))

    def _add(self, item_id: str, rank: int, order: int, line: str) -> None:
        self._rows.append((item_id, rank, order, line))
        if len(self._rows) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._db is None:
            self._db = _open()
            self._db.execute("CREATE TABLE entry (id TEXT NOT NULL, rank INTEGER NOT NULL, sequence INTEGER "
                             "NOT NULL, line TEXT NOT NULL)")
            self._db.execute("BEGIN")  # one transaction throughout: a commit per batch writes the cache out
        self._db.executemany("INSERT INTO entry VALUES (?, ?, ?, ?)", self._rows)
        self._rows.clear()

    def lines(self) -> Iterator[str]:
        """Each entry's line (`state.entry_line`), sorted by id: SQLite compares TEXT as UTF-8 bytes, which
        orders as Python orders the code points (ids are checked text, without lone surrogates)."""
        if self._rows:
            self._flush()
        if self._db is None:
            return
        last = None
        for item_id, line in self._db.execute("SELECT id, line FROM entry ORDER BY id, rank, sequence"):
            if item_id != last:
                yield line
                last = item_id

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
