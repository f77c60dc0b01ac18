"""apply's journal: a locked write-ahead log, so a killed, crashed or repeated apply never deletes twice.

JSON lines. Line 1 is the header naming the plan's digest. Each run appends a `run` line (its pid and host,
so a second apply can say who holds the lock), then for every item an intent line, fsynced BEFORE the item's
write request goes out, and an outcome line after it:

    {"journal": "gitlab-janitor", "plan_digest": "sha256:..."}
    {"at": "...", "host": "ci-7", "pid": 4242, "run": "started"}
    {"at": "...", "intent": "delete", "item": "job_artifacts:12:345"}
    {"at": "...", "item": "job_artifacts:12:345", "reason": "...", "status": "deleted"}

An item with an intent and no outcome was interrupted mid-request: the next run re-checks it (a 404 means
the request went through). The file is flocked for the whole run, so two applies of one plan (a CI retry
while a manual run is still going) cannot both delete. Everything read is validated: the file is input that
anyone with write access to the runner's disk could have shaped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from janitor.errors import JanitorError, SafetyRefusal
from janitor.model import PlanItem, format_time

try:  # flock is POSIX; janitor runs in a Linux container, but keep the import error readable elsewhere
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

DELETED, GONE, SKIPPED, FAILED = "deleted", "gone", "skipped", "failed"
FINAL = frozenset({DELETED, GONE, SKIPPED})  # a later run does not touch these items again
RECORDED = FINAL | {FAILED}
MARK = "gitlab-janitor"
# We write short lines (reasons are cut to MAX_REASON); anything longer was not written by apply.
MAX_LINE = 16 * 1024
MAX_REASON = 2000
MAX_BYTES = 1024 * 1024 * 1024
_HEADER_KEYS = frozenset({"journal", "plan_digest"})
_RUN_KEYS = frozenset({"run", "pid", "host", "at"})
_INTENT_KEYS = frozenset({"item", "intent", "at"})
_OUTCOME_KEYS = frozenset({"item", "status", "reason", "at"})
_DAMAGED_HINT = ("Move the journal aside and run apply again: without it every item is re-checked, and what "
                 "is already deleted counts as gone.")


class JournalError(JanitorError):
    """The journal cannot be read, opened or written; apply sends no further request."""


def header_line(digest: str) -> bytes:
    return _encode({"journal": MARK, "plan_digest": digest})


class Journal:
    """An open, locked journal. `done` maps items with a final outcome to it; `pending` holds the items whose
    intent was written but whose outcome was not (the run stopped between the two)."""

    def __init__(self, path: Path, fd: int, actions: dict[str, str]) -> None:
        self.path = path
        self.done: dict[str, str] = {}
        self.pending: set[str] = set()
        self.cut_bytes = 0  # the torn tail cut off on opening
        self._fd: int | None = fd
        self._actions = actions
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._sync_lock = threading.Lock()
        self._written = self._synced = 0  # lines written by this run, and how many of them are fsynced

    @classmethod
    def open(cls, path: Path, digest: str, items: Iterable[PlanItem]) -> Journal:
        """Open (or create) and lock the journal of the plan sealed by `digest`, read what it records and
        mark this run in it. Refuses symlinks, other files and journals of other plans."""
        fd = _open_no_follow(path)
        try:
            _lock_or_refuse(fd, path)
        except BaseException:
            os.close(fd)
            raise
        journal = cls(path, fd, {item.id: item.action for item in items})  # owns fd from here on
        try:
            journal._load(digest)
            if os.fstat(fd).st_size == 0:
                journal._append(header_line(digest))
                _sync_directory(path)
            journal._append(_encode({"run": "started", "pid": os.getpid(), "host": socket.gethostname(),
                                     "at": _now()}))
            return journal
        except BaseException:
            journal.close()
            raise

    def intend(self, item: PlanItem) -> None:
        """Record, durably, that `item`'s write request is about to be sent. Raises JournalError when that
        cannot be written, and then the request must not be sent."""
        self._append(_encode({"item": item.id, "intent": item.action, "at": _now()}))

    def record(self, item: PlanItem, status: str, reason: str) -> None:
        if status not in RECORDED:
            raise ValueError(f"not a journal status: {status}")
        self._append(_encode({"item": item.id, "status": status, "reason": reason[:MAX_REASON], "at": _now()}))

    def close(self) -> None:
        """Release the lock (closing the descriptor does that)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __del__(self) -> None:
        # An error between open() and apply's try/finally must not leave the lock held in a long-lived process.
        if getattr(self, "_fd", None) is not None:
            self.close()

    def _append(self, line: bytes) -> None:
        """Write `line` and return once it is on disk. Threads share fsyncs (group commit): one fsync makes
        every line written before it durable, so 16 deleting threads do not queue for one fsync each."""
        with self._lock:
            if self._broken or self._fd is None:
                raise self._write_error(self._broken or "the journal is closed")
            size = os.fstat(self._fd).st_size
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError as exc:
                self._broken = exc.strerror or str(exc)
                with contextlib.suppress(OSError):  # leave no torn line if we can; the next run cuts it otherwise
                    os.ftruncate(self._fd, size)
                raise self._write_error(self._broken) from None
            self._written += 1
            mine = self._written
        with self._sync_lock:
            if self._synced >= mine:
                return
            if self._broken or self._fd is None:
                raise self._write_error(self._broken or "the journal is closed")
            upto = self._written
            try:
                os.fsync(self._fd)
            except OSError as exc:  # what was not synced may be lost: nothing may count on it
                self._broken = exc.strerror or str(exc)
                raise self._write_error(self._broken) from None
            self._synced = upto

    def _write_error(self, why: str) -> JournalError:
        return JournalError(
            f"The journal {self.path} could not be written ({why}); apply stopped and sent no request after "
            "that. Every request it sent is recorded in the journal first.",
            "Free space (or fix the disk) and run apply again with the same --journal: what it finished is "
            "skipped, and an item interrupted mid-request is re-checked (already deleted counts as gone).")

    def _load(self, digest: str) -> None:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size > MAX_BYTES:
            raise JournalError(f"The journal {self.path} is {size} bytes, more than apply ever writes "
                               f"({MAX_BYTES}).", _DAMAGED_HINT)
        reader = open(self._fd, "rb", closefd=False)  # noqa: SIM115 (shares our descriptor; closed below)
        try:
            reader.seek(0)
            offset = number = 0
            while raw := reader.readline(MAX_LINE + 1):
                number += 1
                if not raw.endswith(b"\n"):
                    if len(raw) > MAX_LINE:
                        raise JournalError(f"{self.path}:{number}: a line longer than {MAX_LINE} bytes: apply "
                                           "never writes one.", _DAMAGED_HINT)
                    self._cut_torn_tail(number, raw, offset, digest)
                    break
                self._take(number, raw[:-1], digest)
                offset += len(raw)
        finally:
            reader.close()

    def _cut_torn_tail(self, number: int, raw: bytes, offset: int, digest: str) -> None:
        """A last line without its newline is a write the previous run did not finish (it was killed or the
        disk filled). Its record never counted: cut it off, so this run's lines start on a line of their own."""
        assert self._fd is not None
        if number == 1 and not header_line(digest).startswith(raw):
            _refuse_foreign(self.path)
        os.ftruncate(self._fd, offset)
        self.cut_bytes = len(raw)

    def _take(self, number: int, raw: bytes, digest: str) -> None:
        where = f"{self.path}:{number}"
        try:
            record: Any = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            record = None
        if number == 1:
            if not isinstance(record, dict) or record.get("journal") != MARK or set(record) != _HEADER_KEYS:
                _refuse_foreign(self.path)
            if record["plan_digest"] != digest:
                raise SafetyRefusal(f"The journal {self.path} belongs to another plan "
                                    f"({str(record['plan_digest'])[:80]}).", "Use a new --journal for a new plan.")
            return
        if not isinstance(record, dict):
            raise JournalError(f"{where}: not a journal line (a JSON object).", _DAMAGED_HINT)
        keys = frozenset(record)
        if keys == _RUN_KEYS:
            _check(where, record, {"run": str, "pid": int, "host": str, "at": str})
            return
        if keys not in (_INTENT_KEYS, _OUTCOME_KEYS):
            raise JournalError(f"{where}: unknown journal line with keys {', '.join(sorted(map(str, keys)))[:200]}.",
                               _DAMAGED_HINT)
        _check(where, record, {"item": str, "at": str, **({"intent": str} if keys == _INTENT_KEYS else
                                                           {"status": str, "reason": str})})
        item = record["item"]
        if item not in self._actions:
            raise JournalError(f"{where}: item {item[:100]!r} is not in this plan.", _DAMAGED_HINT)
        if keys == _INTENT_KEYS:
            if record["intent"] != self._actions[item]:
                raise JournalError(f"{where}: intent {record['intent'][:40]!r} is not this item's action "
                                   f"({self._actions[item]}).", _DAMAGED_HINT)
            self.pending.add(item)
            self.done.pop(item, None)
            return
        if record["status"] not in RECORDED:
            raise JournalError(f"{where}: unknown status {record['status'][:40]!r} (known: "
                               f"{', '.join(sorted(RECORDED))}).", _DAMAGED_HINT)
        self.pending.discard(item)
        if record["status"] in FINAL:
            self.done[item] = record["status"]
        else:
            self.done.pop(item, None)


def holder_of(path: Path) -> str:
    """'pid 4242 on host ci-7 (since ...)' from the journal's last run line, read leniently: it is being
    written by the holder while we read."""
    found = "an unknown process"
    try:
        with open(path, "rb") as handle:
            for raw in iter(lambda: handle.readline(MAX_LINE + 1), b""):
                if b'"run"' not in raw:
                    continue
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):
                    continue
                if isinstance(record, dict) and set(record) == _RUN_KEYS:
                    found = (f"pid {str(record['pid'])[:20]} on host {str(record['host'])[:100]}"
                             f" (started {str(record['at'])[:40]})")
    except OSError:
        pass
    return found


def _open_no_follow(path: Path) -> int:
    try:
        existing: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise JournalError(f"The journal {path} cannot be read: {exc.strerror}.") from None
    if existing is not None:
        _refuse_odd(path, existing)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a symlink after lstat
            _refuse_odd(path, os.lstat(path))
        raise JournalError(f"The journal {path} cannot be opened for writing: {exc.strerror}.",
                           "Pass --journal a path in a writable directory.") from None
    try:
        _refuse_odd(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refuse_odd(path: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise SafetyRefusal(f"The journal {path} is a symbolic link; apply does not follow links for the file "
                            "it records deletions in. Nothing was deleted.", "Pass the real path with --journal.")
    if stat.S_ISDIR(info.st_mode):  # a wrong argument, not an attack: bad input (exit 1)
        raise JournalError(f"{path}: Is a directory, and the journal is a file. Nothing was deleted.",
                           "Pass --journal a path to give a file name (it is created if missing).")
    if not stat.S_ISREG(info.st_mode):
        raise SafetyRefusal(f"The journal {path} is not a regular file. Nothing was deleted.",
                            "Pass --journal the path of a file (it is created if missing).")


def _lock_or_refuse(fd: int, path: Path) -> None:
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SafetyRefusal(
            f"The journal {path} is in use by another apply of this plan: {holder_of(path)}. Nothing was deleted.",
            "Two applies of one plan would delete twice. Let that one finish (or stop it); then run apply "
            "again with the same --journal to finish what it left.") from None
    except OSError as exc:
        raise JournalError(f"The journal {path} cannot be locked: {exc.strerror}.",
                           "Put the journal on a local file system.") from None


def _refuse_foreign(path: Path) -> None:
    raise SafetyRefusal(f"{path} is not a gitlab-janitor journal (its first line is not our header); apply does "
                        "not write into a file it did not make. Nothing was deleted.",
                        "Pass --journal a new path, or the journal an earlier apply of this plan wrote.")


def _check(where: str, record: dict[str, Any], types: dict[str, type]) -> None:
    for key, expected in types.items():
        value = record[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise JournalError(f"{where}: `{key}` should be a {expected.__name__}.", _DAMAGED_HINT)


def _sync_directory(path: Path) -> None:
    """A new file's name is durable only once its directory is synced."""
    try:
        fd = os.open(path.parent if str(path.parent) else Path("."), os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")


def _now() -> str:
    return format_time(datetime.now(timezone.utc))
