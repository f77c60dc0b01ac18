"""Durations ("30d", "6 months") and sizes ("10MB") as the policy language writes them."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_DURATION_UNITS: dict[str, float] = {
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 7 * 86400, "week": 7 * 86400, "weeks": 7 * 86400,
    # a month is 30 days and a year 365 days: ages are thresholds, not calendar arithmetic
    "mo": 30 * 86400, "month": 30 * 86400, "months": 30 * 86400,
    "y": 365 * 86400, "year": 365 * 86400, "years": 365 * 86400,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(" + "|".join(sorted(_DURATION_UNITS, key=len, reverse=True)) + r")\s*$"
DURATION_FORMS = "12h, 30d, 2w, 6mo, 1y, or words such as '30 days' and '6 months'"

_SIZE_UNITS: dict[str, int] = {
    "b": 1, "": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
SIZE_FORMS = "a number of bytes, or 500kB, 10MB, 1.5GB (powers of 1000), 10MiB, 2GiB (powers of 1024)"

# Ages are compared with `now - duration`: past a few thousand years datetime overflows, and no retention
# threshold is longer than a century, so longer is a typo (999999999999y), refused with a message.
MAX_DURATION = timedelta(days=100 * 365)
MAX_SIZE = 2**63 - 1  # GitLab stores sizes as bigint


def parse_duration(text: str | int) -> timedelta:
    """Parse a policy duration; a bare number is refused because its unit would be a guess."""
    match = _DURATION_RE.match(str(text).lower())
    if not match or match.group(2) not in _DURATION_UNITS:
        raise ValueError(f"{text!r} is not a duration (use {DURATION_FORMS})")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not seconds <= MAX_DURATION.total_seconds():  # also catches inf from a 400-digit number
        raise ValueError(f"{text!r} is longer than 100 years, the longest duration accepted")
    if "." in match.group(1):
        # DESIGN: durations are whole numbers. "1.5mo" would silently mean 45 days of 24 hours, which the
        # writer may not have meant; the exact whole equivalent is offered instead.
        raise ValueError(f"{text!r}: durations are whole numbers with a unit; write {_whole(seconds)}, "
                         "or round it (such as 10d for 1.5w)")
    return timedelta(seconds=seconds)


def _whole(seconds: float) -> str:
    """The same length as a whole number of the largest unit that expresses it exactly (1.5w -> 252h)."""
    for unit in ("y", "mo", "w", "d", "h", "min"):
        count = seconds / _DURATION_UNITS[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{max(1, round(seconds / 60))}min"


def parse_size(text: str | int) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _SIZE_RE.match(str(text).lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (use {SIZE_FORMS})")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not size <= MAX_SIZE:
        raise ValueError(f"{text!r} is larger than any size GitLab stores (8 EiB)")
    return int(size)


def whole_duration(text: str, minimum: timedelta, maximum: timedelta) -> timedelta:
    """A duration typed on the command line: a whole number and a unit, between `minimum` and `maximum`.
    Fractions are refused (DESIGN: durations are whole numbers) so '1.5w' is not read as something else."""
    if re.match(r"^\s*\d+\.\d*", text):
        raise ValueError(f"{text!r}: durations are whole numbers with a unit (for example 10d rather than 1.5w)")
    try:
        delta = parse_duration(text)
    except ValueError:
        if _DURATION_RE.match(str(text).lower()) is None:
            raise
        delta = MAX_DURATION  # a well-formed duration too long to represent: out of range below
    if not minimum <= delta <= maximum:
        raise ValueError(f"{text!r} is out of range: between {human_duration(minimum)} and "
                         f"{human_duration(maximum)}")
    return delta


def bounded_int(text: str, minimum: int, maximum: int) -> int:
    """A whole number between `minimum` and `maximum` (both included), from an option or a variable."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number (between {minimum} and {maximum})") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{text!r} is out of range: between {minimum} and {maximum}")
    return value


def bounded_float(text: str, minimum: float, maximum: float, *, above_minimum: bool = False) -> float:
    """A finite number between `minimum` and `maximum`; NaN and infinities are refused, as they compare false
    against every bound (a NaN timeout or limit would silently disable it)."""
    low = f"above {minimum:g}" if above_minimum else f"at least {minimum:g}"
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number ({low} and at most {maximum:g})") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number ({low} and at most {maximum:g})")
    if value > maximum or value < minimum or (above_minimum and value == minimum):
        raise ValueError(f"{text!r} is out of range: {low} and at most {maximum:g}")
    return value


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB'. Reports use powers of 1024, as GitLab's usage quotas page does."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}min"
