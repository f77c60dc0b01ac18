"""Inventory files in The Open Group's Project Cleanup format, written and read as streams.

`DIR/projects.json` = {"timestamp", "entries": {"<project id>": {...project, "_jobs": [...], ...}}} and
`DIR/merge_requests.json` = {"timestamp", "entries": {"<mr id>": {...}}}. We write one entry per line, so
the file is ordinary JSON for other tools and yet we can read it back one project at a time: memory stays
flat however large the instance. Files from other tooling (any JSON layout) are parsed one entry at a time.
Our own facts (GitLab URL, scope, shard, completeness) sit under a top-level "janitor" key.
Files are written under a temporary name and renamed at the end: a run that fails leaves no inventory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from janitor.errors import InventoryError
from janitor.inventory_check import (
    INVENTORY_HEAD,
    MERGE_REQUEST,
    PROJECT_ENTRY,
    Check,
    JsonProblem,
    ShapeError,
    show,
    strict_loads,
)
from janitor.inventory_stream import NotAnObject, stream_file
from janitor.model import Json

PROJECTS = "projects.json"
MERGE_REQUESTS = "merge_requests.json"
INCOMPLETE = "_incomplete"


class InventoryWriter:
    """Writes `.NAME.partial` files and renames them at commit. Whatever fails (a full disk at a write, at
    fsync or at close, a target that cannot be replaced), no partial file is left behind: the run either
    leaves a whole inventory or none, and a write error is an InventoryError, not a traceback."""

    def __init__(self, directory: str | Path, timestamp: str, meta: Json) -> None:
        self.directory = Path(directory)
        self.timestamp = timestamp
        self.meta = meta
        self._files: dict[str, IO[str]] = {}
        self._counts: dict[str, int] = defaultdict(int)
        with self._writing("start"):
            self.directory.mkdir(parents=True, exist_ok=True)
            for name in (PROJECTS, MERGE_REQUESTS):
                handle = open(self._partial(name), "w", encoding="utf-8")  # noqa: SIM115 (closed in commit/abort)
                self._files[name] = handle
                head = {"timestamp": timestamp, "janitor": meta} if name == PROJECTS else {"timestamp": timestamp}
                handle.write(json.dumps(head, sort_keys=True)[:-1] + ', "entries": {\n')

    def _partial(self, name: str) -> Path:
        return self.directory / f".{name}.partial"

    @contextmanager
    def _writing(self, stage: str) -> Iterator[None]:
        """On any failure remove the partial files; a failed write becomes an InventoryError."""
        try:
            yield
        except OSError as exc:
            self.abort()
            raise InventoryError(
                f"Could not write the inventory in {self.directory} ({stage}): {exc.strerror or exc}.",
                "Check that the directory is writable and its disk has room; nothing was left behind.",
            ) from None
        except BaseException:
            self.abort()
            raise

    def _entry(self, name: str, key: str, value: Json) -> None:
        with self._writing("writing"):
            handle = self._files[name]
            if self._counts[name]:
                handle.write(",\n")
            handle.write(json.dumps(str(key)) + ": " + json.dumps(value, separators=(",", ":"), sort_keys=True))
            self._counts[name] += 1

    def add_project(self, entry: Json) -> None:
        self._entry(PROJECTS, str(entry["id"]), entry)

    def add_merge_request(self, mr: Json) -> None:
        self._entry(MERGE_REQUESTS, str(mr["id"]), mr)

    def commit(self, meta_updates: Json | None = None) -> None:
        with self._writing("finishing"):
            for handle in self._files.values():
                handle.write("\n}}\n")
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            if meta_updates:
                _rewrite_head(self._partial(PROJECTS), {**self.meta, **meta_updates})
            # projects.json last: its presence is what makes the directory an inventory
            for name in (MERGE_REQUESTS, PROJECTS):
                os.replace(self._partial(name), self.directory / name)

    def abort(self) -> None:
        """Close and remove every partial file; never raises for a handle that cannot be closed."""
        for handle in self._files.values():
            # a buffered tail that cannot be written (disk full) fails close(): the file goes anyway
            with suppress(OSError):
                handle.close()
        for name in self._files:
            for leftover in (self._partial(name), _head_temp(self._partial(name))):
                # the directory itself gone or read-only: then nothing of ours can remain in it
                with suppress(OSError):
                    leftover.unlink(missing_ok=True)


def _head_temp(path: Path) -> Path:
    return path.with_suffix(".head")


def _rewrite_head(path: Path, meta: Json) -> None:
    """Replace the first line (timestamp + janitor facts) once the run knows how it went."""
    tmp = _head_temp(path)
    with open(path, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        head = json.loads(src.readline()[: -len(', "entries": {\n')] + "}")
        head["janitor"] = meta
        dst.write(json.dumps(head, sort_keys=True)[:-1] + ', "entries": {\n')
        for line in src:
            dst.write(line)
    os.replace(tmp, path)


@dataclass
class Inventory:
    directory: Path
    timestamp: str
    meta: Json
    digest: str
    merge_requests: dict[int, list[Json]] = field(default_factory=dict)
    # by `source_project_id`, for MRs whose source is another project than their target (a fork's)
    merge_requests_from: dict[int, list[Json]] = field(default_factory=dict)

    def projects(self) -> Iterator[Json]:
        """Each project entry, one at a time, checked against its declared shape (inventory_check) before
        anyone reads it, with `_mrs` (the MRs it is the target of) and `_sourceMrs` (the MRs into other
        projects whose source branch lives in it: a fork's into its upstream) attached.
        A bad entry raises InventoryError naming its place."""
        path = self.directory / PROJECTS
        seen: set[int] = set()
        for key, entry in _iter_entries(path):
            _check_entry(path, key, entry, PROJECT_ENTRY, seen)
            entry["_mrs"] = self.merge_requests.get(entry["id"], [])
            entry["_sourceMrs"] = self.merge_requests_from.get(entry["id"], [])
            yield entry


def read_inventory(directory: str | Path) -> Inventory:
    base = Path(directory)
    path = base / PROJECTS
    if not path.is_file():
        raise InventoryError(
            f"{base} holds no {PROJECTS}.",
            "Point --inventory at the directory `janitor collect --out` wrote (or an Open Group inventory).",
        )
    head = _read_head(path)
    digest = hashlib.sha256()
    mrs: dict[int, list[Json]] = defaultdict(list)
    with _reading(path):
        for name in (PROJECTS, MERGE_REQUESTS):
            if (base / name).is_file():
                with open(base / name, "rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                        digest.update(chunk)
    from_forks: dict[int, list[Json]] = defaultdict(list)
    if (base / MERGE_REQUESTS).is_file():
        seen: set[int] = set()
        _read_head(base / MERGE_REQUESTS)
        for key, mr in _iter_entries(base / MERGE_REQUESTS):
            _check_entry(base / MERGE_REQUESTS, key, mr, MERGE_REQUEST, seen)
            mrs[mr["project_id"]].append(mr)
            source = mr.get("source_project_id")
            if source is not None and source != mr["project_id"]:
                from_forks[source].append(mr)
    return Inventory(
        directory=base,
        timestamp=str(head.get("timestamp") or ""),
        meta=dict(head.get("janitor") or {}),
        digest="sha256:" + digest.hexdigest(),
        merge_requests=dict(mrs),
        merge_requests_from=dict(from_forks),
    )


_LINE_HEAD_END = ', "entries": {\n'
_DAMAGED = "Collect it again; a partial inventory is never used."
_MALFORMED = ("Fix the tool that wrote it, or collect again with `janitor collect`: an inventory follows the Open "
              "Group format, with the GitLab API's types (ids positive integers, times ISO-8601).")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A file that cannot be opened, or is not UTF-8 text, is an InventoryError naming it."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start} of a line).",
                             "An inventory is JSON, which is UTF-8; " + _DAMAGED[0].lower() + _DAMAGED[1:]) from None
    except OSError as exc:
        raise InventoryError(f"{path} cannot be read: {exc.strerror or exc}.",
                             "Point --inventory at a directory this user can read.") from None


def _check_entry(path: Path, key: str, entry: Any, shape: Check, seen: set[int]) -> None:
    label = key if key.isdigit() and len(key) < 20 else show(key)
    try:
        shape(entry)
    except ShapeError as exc:
        raise InventoryError(f"{path}: entry {label}: {exc.describe()}", _MALFORMED) from None
    if str(entry["id"]) != key:
        raise InventoryError(f"{path}: entry {label}: its id {entry['id']} differs from the entry's key.",
                             _MALFORMED)
    if entry["id"] in seen:
        raise InventoryError(f"{path}: entry {label}: a second entry with the id {entry['id']}.", _MALFORMED)
    seen.add(entry["id"])


def _check_head(path: Path, head: Any) -> Json:
    try:
        INVENTORY_HEAD(head)
    except ShapeError as exc:
        raise InventoryError(f"{path}: {exc.describe()}", _MALFORMED) from None
    checked: Json = head
    return checked


def _read_head(path: Path) -> Json:
    with _reading(path), open(path, encoding="utf-8") as handle:
        first = handle.readline()
    if first.endswith(_LINE_HEAD_END):
        try:
            return _check_head(path, strict_loads(first[: -len(_LINE_HEAD_END)] + "}"))
        except ValueError:
            pass
    return _check_head(path, dict(_stream_whole(path, entries=False)))


def _load_whole(path: Path) -> Json:
    try:
        with _reading(path), open(path, encoding="utf-8") as handle:
            data = strict_loads(handle.read(), unique_keys=True)
    except JsonProblem as exc:
        raise InventoryError(f"{path} cannot be used: {exc}.", _MALFORMED) from None
    except ValueError as exc:
        raise InventoryError(f"{path} is not valid JSON ({exc}); it may be truncated.", _DAMAGED) from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise InventoryError(f"{path} has no \"entries\" object.",
                             'An inventory file is {"timestamp": ..., "entries": {"<id>": {...}}}.')
    return data


def _iter_entries(path: Path) -> Iterator[tuple[str, Any]]:
    """(key, entry) pairs: line by line from files we wrote, else from the whole file."""
    with _reading(path), open(path, encoding="utf-8") as handle:
        first = handle.readline()
        if first.endswith(_LINE_HEAD_END):
            yield from _iter_lines(path, handle)
            return
    yield from _stream_whole(path, entries=True)


def _stream_whole(path: Path, entries: bool) -> Iterator[tuple[str, Any]]:
    """Another tool's layout, parsed one value at a time (inventory_stream) with `_load_whole`'s verdicts;
    a file whose top level or "entries" is no object is left to `_load_whole` to say so."""
    try:
        with _reading(path), open(path, encoding="utf-8") as handle:
            yield from stream_file(handle, entries)
    except NotAnObject:
        _load_whole(path)
        raise InventoryError(f"{path} has no \"entries\" object.",  # what _load_whole says of an empty one
                             'An inventory file is {"timestamp": ..., "entries": {"<id>": {...}}}.') from None
    except JsonProblem as exc:
        raise InventoryError(f"{path} cannot be used: {exc}.", _MALFORMED) from None
    except ValueError as exc:
        raise InventoryError(f"{path} is not valid JSON ({exc}); it may be truncated.", _DAMAGED) from None


def _iter_lines(path: Path, handle: IO[str]) -> Iterator[tuple[str, Any]]:
    closed = False
    for number, line in enumerate(handle, start=2):
        text = line.rstrip("\n")
        if text == "}}":
            closed = True
            break
        if not text:
            continue
        try:
            pair = strict_loads("{" + text.rstrip(",") + "}")
        except JsonProblem as exc:
            raise InventoryError(f"{path}:{number}: this entry cannot be used: {exc}.", _MALFORMED) from None
        except ValueError:
            raise InventoryError(f"{path}:{number}: not a valid entry; the file is damaged or truncated.",
                                 _DAMAGED) from None
        yield from pair.items()
    if not closed:
        raise InventoryError(f"{path} ends before its closing '}}}}': it is truncated.", _DAMAGED)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
