"""Inventory files in The Open Group's Project Cleanup format, written and read as streams.

`DIR/projects.json` = {"timestamp", "entries": {"<project id>": {...project, "_jobs": [...], ...}}} and
`DIR/merge_requests.json` = {"timestamp", "entries": {"<mr id>": {...}}}. We write one entry per line, so
the file is ordinary JSON for other tools and yet we can read it back one project at a time: memory stays
flat however large the instance. Files from other tooling (any JSON layout) are parsed one entry at a time.
Our own facts (GitLab URL, scope, shard, completeness) sit under a top-level "janitor" key.
Files are written under a temporary name and renamed at the end: a run that fails leaves no inventory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

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
# The run's facts (complete, projects, requests), written after the entries once the run knows them.
RUN_KEY = "janitor_run"


class InventoryWriter:
    """Writes `.NAME.partial` files and renames them at commit. Whatever fails (a full disk at a write, at
    fsync or at close, a target that cannot be replaced), no partial file is left behind: the run either
    leaves a whole inventory or none, and a write error is an InventoryError, not a traceback.

    Every entry is one append of `"<id>": {...},\n` (orjson: a 100-job project is ~170 KB of JSON), so
    several processes can add to the same files (`join`); commit cuts the last comma and writes the run's
    facts after the entries (`"janitor_run"`), so nothing is read back or rewritten at the end."""

    def __init__(self, directory: str | Path, timestamp: str, meta: Json, *, join: bool = False) -> None:
        self.directory = Path(directory)
        self.timestamp = timestamp
        self.meta = meta
        self._files: dict[str, IO[bytes]] = {}
        self._heads: dict[str, int] = {}
        self._shared = join  # other processes append too: each append takes the file's lock
        with self._writing("start"):
            self.directory.mkdir(parents=True, exist_ok=True)
            for name in (PROJECTS, MERGE_REQUESTS):
                if join:  # unbuffered: each entry is one append, never split by a buffer's flush
                    self._files[name] = open(self._partial(name), "ab", buffering=0)  # noqa: SIM115
                    continue
                handle = open(self._partial(name), "wb")  # noqa: SIM115 (closed in commit/abort)
                self._files[name] = handle
                head = {"timestamp": timestamp, "janitor": meta} if name == PROJECTS else {"timestamp": timestamp}
                line = (json.dumps(head, sort_keys=True)[:-1] + _LINE_HEAD_END).encode()
                handle.write(line)
                self._heads[name] = len(line)

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
        line = b"".join((_dumps(str(key)), b": ", _dumps(value), b",\n"))
        with self._writing("writing"):
            handle = self._files[name]
            if self._shared:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                view = memoryview(line)
                while view:  # a regular file takes it whole; a short write only on a full disk (then OSError)
                    view = view[handle.write(view) or 0:]
            finally:
                if self._shared:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def add_project(self, entry: Json) -> None:
        self._entry(PROJECTS, str(entry["id"]), entry)

    def add_merge_request(self, mr: Json) -> None:
        self._entry(MERGE_REQUESTS, str(mr["id"]), mr)

    def flush(self) -> None:
        with self._writing("writing"):
            for handle in self._files.values():
                handle.flush()

    def close_joined(self) -> None:
        """A joining process is done: its entries are on disk; the process that started the files commits."""
        with self._writing("finishing"):
            for handle in self._files.values():
                os.fsync(handle.fileno())
                handle.close()
            self._files.clear()

    def commit(self, meta_updates: Json | None = None) -> None:
        with self._writing("finishing"):
            for name, handle in self._files.items():
                handle.flush()
                end = os.fstat(handle.fileno()).st_size
                if end > self._heads[name]:
                    os.ftruncate(handle.fileno(), end - 2)  # the last entry's ",\n"
                handle.seek(0, os.SEEK_END)
                tail = b"\n}"
                if name == PROJECTS and meta_updates:
                    tail += b", " + _dumps(RUN_KEY) + b": " + _dumps(meta_updates)
                handle.write(tail + b"}\n")
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
            # projects.json last: its presence is what makes the directory an inventory
            for name in (MERGE_REQUESTS, PROJECTS):
                os.replace(self._partial(name), self.directory / name)

    def abort(self) -> None:
        """Close and remove every partial file; never raises for a handle that cannot be closed."""
        for handle in self._files.values():
            # a buffered tail that cannot be written (disk full) fails close(): the file goes anyway
            with suppress(OSError):
                handle.close()
        if self._shared:
            return  # the files belong to the process that started them: it removes them if the run fails
        for name in (PROJECTS, MERGE_REQUESTS):
            # the directory itself gone or read-only: then nothing of ours can remain in it
            with suppress(OSError):
                self._partial(name).unlink(missing_ok=True)


def _dumps(value: Any) -> bytes:
    """orjson, sorted keys; what it refuses (an integer beyond 64 bits) is written by the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


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
_RUN_CLOSE = '}, "' + RUN_KEY + '": '
_TAIL_BYTES = 1 << 16
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
    """The head's facts, with the run's facts written after the entries (RUN_KEY) laid over them."""
    with _reading(path), open(path, encoding="utf-8") as handle:
        first = handle.readline()
    last = _last_line(path) if first.endswith(_LINE_HEAD_END) else ""
    if first.endswith(_LINE_HEAD_END):
        try:
            head = strict_loads(first[: -len(_LINE_HEAD_END)] + "}")
            run = _run_facts(last)
            if run is not None and isinstance(head, dict):
                head[RUN_KEY] = run
            return _with_run(path, head)
        except ValueError:
            pass
    # another tool's layout: its head and run facts may sit on either side of the entries
    return _with_run(path, dict(_stream_whole(path, entries=False)))


def _with_run(path: Path, head: Any) -> Json:
    checked = _check_head(path, head)
    run = checked.pop(RUN_KEY, None)
    if run is not None:
        _check_head(path, {"janitor": run})
        checked["janitor"] = {**(checked.get("janitor") or {}), **run}
    return checked


def _last_line(path: Path) -> str:
    """The file's last line, read from its end: the run's facts are there, and nothing else is read."""
    with _reading(path), open(path, "rb") as raw:
        size = raw.seek(0, os.SEEK_END)
        raw.seek(max(0, size - _TAIL_BYTES))
        return raw.read().rstrip(b"\n").rpartition(b"\n")[2].decode("utf-8", errors="replace")


def _run_facts(line: str) -> Any:
    """The facts in a closing line `}, "janitor_run": {...}}`, or None for the older closing `}}`."""
    if not line.startswith(_RUN_CLOSE):
        return None
    return strict_loads("{" + line[len("},"):]).get(RUN_KEY)


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
        if text == "}}" or text.startswith(_RUN_CLOSE):
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
