"""A quicker yes for the inventory's largest list, `_jobs` (issue 10: at 100,000 jobs, checking them was an
eighth of plan's CPU). It answers only "certainly valid" or "not sure": on "not sure" the declared shape
(inventory_check.JOB) checks the list again and decides, so what is refused, and the message that says
why, cannot change. It may only ever be stricter than the declared shape, never looser: every test here
implies the declared shape's own (tests/test_inventory_fast.py holds the two to that over damaged entries).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

_UTC = timezone.utc


def _is_text(value: Any) -> bool:
    """inventory_check.text's test: a str that UTF-8 can hold (no lone surrogate)."""
    if type(value) is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_time(value: Any) -> bool:
    """inventory_check.iso_time's test (parse_iso_time succeeds), done as it does it."""
    if value is None or value == "":
        return True
    if type(value) is not str:
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed.astimezone(_UTC)
    except (ValueError, OverflowError):
        return False
    return True


def _is_artifacts(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not list:
        return False
    for artifact in value:
        if type(artifact) is not dict:
            return False
        size = artifact.get("size")
        if size is not None and (type(size) is not int or size < 0):
            return False
        kind = artifact.get("file_type")
        if kind is not None and not (type(kind) is str and kind.isascii()) and not _is_text(kind):
            return False
    return True


def _is_pipeline(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not dict:
        return False
    number = value.get("id")
    if number is not None and (type(number) is not int or number < 1):
        return False
    for key in ("ref", "status"):
        found = value.get(key)
        if found is not None and not (type(found) is str and found.isascii()) and not _is_text(found):
            return False
    return True


def certainly_jobs(value: Any) -> bool:
    """True only when `list_of(JOB, unique="id")` accepts the value; False when it may not."""
    if type(value) is not list:
        return False
    ids: set[int] = set()
    for job in value:
        if type(job) is not dict:
            return False
        number = job.get("id")
        if type(number) is not int or number < 1 or number in ids:
            return False
        ids.add(number)
        for key in ("name", "status", "ref"):
            found = job.get(key)
            if found is not None and not (type(found) is str and found.isascii()) and not _is_text(found):
                return False
        erased = job.get("erased_at")
        if not (_is_time(job.get("finished_at")) and (erased is None or _is_time(erased))
                and _is_artifacts(job.get("artifacts")) and _is_pipeline(job.get("pipeline"))):
            return False
    return True
