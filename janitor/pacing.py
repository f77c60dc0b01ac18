"""Client-side pacing: spread requests so a run stays under the server's rate limits instead of
bouncing off them with 429s.

GitLab announces its throttle on every response (RateLimit-Limit per minute, RateLimit-Remaining,
RateLimit-Reset; doc/administration/settings/user_and_ip_rate_limits.md). Application limits, such as
600 calls a minute on GET /projects/:id/jobs on GitLab.com (lib/api/ci/jobs.rb, `jobs_index`), are not in
those headers but still answer 429. So the pacer keeps one schedule per lane: the whole API, plus one per
endpoint family with its own limit. A lane's limit is configured (`--jobs-rate-limit 600/min`), announced
(RateLimit-Limit) or learned from a 429: the requests that lane had accepted in the last minute.

Each request takes the next free slot of every lane it belongs to (no bursts), a small margin under the
limit, so a fixed 60-second window on the server never sees more than the limit. A 429 holds its lane for
Retry-After, for every thread at once, and a quota that runs low (someone else shares the token) holds
the whole API until RateLimit-Reset.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from janitor.errors import UsageError

JOBS_LANE = "jobs"
_JOBS_INDEX = re.compile(r"/projects/[^/]+/jobs/?$")
_ID_SEGMENT = re.compile(r"/(?:\d+|[^/]*%2[Ff][^/]*)(?=/|$)")
WINDOW_S = 60.0
GITLAB_COM_JOBS_PER_MINUTE = 600.0
MIN_RATE, MAX_RATE = 1.0, 1_000_000.0
RATE_RANGE = "between 1/min and 1000000/min"
_UNITS = {"s": 60.0, "sec": 60.0, "second": 60.0, "m": 1.0, "min": 1.0, "minute": 1.0, "h": 1 / 60, "hour": 1 / 60}


def lane_of(path: str) -> str:
    """The lane a request path belongs to: "jobs" for the jobs index, else its family
    ("/api/v4/projects/:id/jobs/:id/artifacts"), which gets a schedule only once it is limited."""
    if _JOBS_INDEX.search(path):
        return JOBS_LANE
    return _ID_SEGMENT.sub("/:id", path)


def parse_rate(text: str) -> float:
    """'2000/min', '600/m', '30/s', '100000/h' or a bare number (per minute) -> requests per minute, between
    MIN_RATE and MAX_RATE: below one a minute a run would look hung (and 1e-300 overflows the schedule),
    NaN would turn pacing off."""
    number, _, unit = text.strip().lower().partition("/")
    try:
        value = float(number)
        per_minute = value * _UNITS[unit.strip() or "min"]
    except (ValueError, KeyError):
        raise UsageError(f"Rate limit {text!r} is not N/min, N/s or N/h.", "For example --rate-limit 2000/min.") \
            from None
    if not MIN_RATE <= per_minute <= MAX_RATE:  # false for NaN too
        raise UsageError(f"Rate limit {text!r} is out of range: {RATE_RANGE}.", "For example --rate-limit 2000/min.")
    return per_minute


class _Lane:
    __slots__ = ("held_until", "learned", "next_slot", "per_minute", "sent")

    def __init__(self) -> None:
        self.per_minute: float | None = None
        self.learned = False
        self.next_slot = 0.0
        self.held_until = 0.0
        self.sent: deque[float] = deque()  # times of accepted requests in the last minute, for learning

    def interval(self, margin: float) -> float:
        return WINDOW_S / (self.per_minute * margin) if self.per_minute else 0.0


@dataclass(frozen=True)
class PacerState:
    """What a run learned, for its closing line and for tests."""

    per_minute: float | None
    lanes: dict[str, float]
    waited_s: float


class Pacer:
    """Thread-safe; `wait(path)` before each request, `observe(path, status, headers)` after each response."""

    def __init__(self, per_minute: float | None = None, lane_limits: Mapping[str, float] | None = None, *,
                 margin: float = 0.97, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.margin = margin
        self._clock, self._wall, self._sleep = clock, wall_clock, sleep
        self._lock = threading.Lock()
        self._all = _Lane()
        self._lanes: dict[str, _Lane] = {}
        self._fixed: set[str | None] = set()
        self.waited_s = 0.0
        if per_minute:
            self._all.per_minute = per_minute
            self._fixed.add(None)
        for name, limit in (lane_limits or {}).items():
            self._lane(name).per_minute = limit
            self._fixed.add(name)

    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane()
        return lane

    def wait(self, path: str) -> None:
        now = self._clock()
        with self._lock:
            lanes = [self._all]
            lane = self._lanes.get(lane_of(path))
            if lane is not None:
                lanes.append(lane)
            # one slot that is free in every lane the request belongs to
            slot = max([now] + [max(x.next_slot, x.held_until) for x in lanes])
            for x in lanes:
                x.next_slot = slot + x.interval(self.margin)
            delay = slot - now
            self.waited_s += delay
        if delay > 0:
            self._sleep(delay)

    def observe(self, path: str, status: int, headers: Mapping[str, str]) -> None:
        now = self._clock()
        name = lane_of(path)
        limit = _number(headers.get("RateLimit-Limit"))
        remaining = _number(headers.get("RateLimit-Remaining"))
        with self._lock:
            if limit and None not in self._fixed:
                self._all.per_minute = limit
            if status == 429:
                retry_after = _number(headers.get("Retry-After")) or 1.0
                if remaining is None or remaining <= 0:
                    # the API-wide throttle: everyone waits for the window to reset
                    self._all.held_until = max(self._all.held_until, now + retry_after)
                else:
                    # an application limit the headers do not show: this lane waits, and learns its pace
                    lane = self._lane(name)
                    lane.held_until = max(lane.held_until, now + retry_after)
                    self._learn(name, lane, now)
                return
            self._record(name, now)
            reset = _number(headers.get("RateLimit-Reset"))
            if remaining is not None and reset and limit and remaining <= max(1.0, limit * 0.02):
                # the quota is nearly spent (another client shares the token): wait for its reset
                self._all.held_until = max(self._all.held_until, now + max(0.0, reset - self._wall()))

    def _record(self, name: str, now: float) -> None:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lane(name)
        sent = lane.sent
        sent.append(now)
        while sent and sent[0] < now - WINDOW_S:
            sent.popleft()

    def _learn(self, name: str, lane: _Lane, now: float) -> None:
        if name in self._fixed:
            return
        while lane.sent and lane.sent[0] < now - WINDOW_S:
            lane.sent.popleft()
        accepted = float(len(lane.sent))
        if lane.learned and lane.per_minute:
            accepted = min(accepted, lane.per_minute * 0.9)  # still too fast: slow down further
        lane.per_minute = max(1.0, accepted)
        lane.learned = True

    def state(self) -> PacerState:
        with self._lock:
            lanes = {name: lane.per_minute for name, lane in self._lanes.items() if lane.per_minute}
            return PacerState(self._all.per_minute, lanes, self.waited_s)


def build_pacer(gitlab_url: str, rate_limit: str | None = None, jobs_rate_limit: str | None = None) -> Pacer:
    """The pacer for a run: limits given on the command line or in JANITOR_RATE_LIMIT and
    JANITOR_JOBS_RATE_LIMIT; on gitlab.com the jobs index is known to allow 600 calls a minute."""
    per_minute = parse_rate(rate_limit) if rate_limit else None
    lanes: dict[str, float] = {}
    if jobs_rate_limit:
        lanes[JOBS_LANE] = parse_rate(jobs_rate_limit)
    elif (urlsplit(gitlab_url).hostname or "").lower() == "gitlab.com":
        lanes[JOBS_LANE] = GITLAB_COM_JOBS_PER_MINUTE
    return Pacer(per_minute, lanes)


def _number(value: str | None) -> float | None:
    """A header's number; NaN, infinities and negatives are no number (a `Retry-After: inf` would sleep forever,
    a `RateLimit-Limit: nan` turn pacing off)."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None
