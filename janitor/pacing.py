"""Client-side pacing: spread requests so a run stays under the server's rate limit instead of
bouncing off it with 429s.

GitLab announces its throttle on every response (RateLimit-Limit per minute, RateLimit-Remaining,
RateLimit-Reset; doc/administration/settings/user_and_ip_rate_limits.md). The pacer keeps one schedule
per "lane" (all requests, plus a lane per endpoint family with its own application limit, such as
/projects/:id/jobs, whose 429s carry no headers) and makes each request wait for its slot.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping

_JOBS_LANE = re.compile(r"/api/v4/projects/[^/]+/jobs/?$")


def lane_of(path: str) -> str | None:
    return "jobs" if _JOBS_LANE.search(path) else None


class _Lane:
    def __init__(self) -> None:
        self.interval = 0.0  # seconds between requests; 0 = unpaced
        self.next_slot = 0.0

    def reserve(self, now: float) -> float:
        if self.interval <= 0:
            return 0.0
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        return slot - now


class Pacer:
    """Thread-safe; `wait` before each request, `observe` after each response."""

    def __init__(self, per_minute: float | None = None, lane_limits: Mapping[str, float] | None = None) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[str | None, _Lane] = {None: _Lane()}
        self._fixed: dict[str | None, float] = {}
        if per_minute:
            self._fixed[None] = 60.0 / per_minute
        for lane_name, limit in (lane_limits or {}).items():
            self._fixed[lane_name] = 60.0 / limit
        for name, interval in self._fixed.items():
            self._lanes.setdefault(name, _Lane()).interval = interval

    def wait(self, path: str) -> None:
        now = time.monotonic()
        with self._lock:
            delay = self._lanes[None].reserve(now)
            lane = lane_of(path)
            if lane in self._lanes and lane is not None:
                delay = max(delay, self._lanes[lane].reserve(now + delay))
        if delay > 0:
            time.sleep(delay)

    def observe(self, path: str, status: int, headers: Mapping[str, str]) -> None:
        limit = _number(headers.get("RateLimit-Limit"))
        if limit and None not in self._fixed:
            # Keep a 5% margin under the announced per-minute quota.
            with self._lock:
                self._lanes[None].interval = 60.0 / (limit * 0.95)
        if status == 429 and not headers.get("RateLimit-Limit"):
            lane = lane_of(path)
            if lane is not None and lane not in self._fixed:
                # An application limit with no headers: slow this lane down and keep it there.
                with self._lock:
                    current = self._lanes.setdefault(lane, _Lane())
                    current.interval = max(current.interval * 1.5, 0.05)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
