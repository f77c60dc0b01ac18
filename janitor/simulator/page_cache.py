"""Whole pages of job listings, kept as the bytes served, so a page served again costs the simulator a
comparison instead of a hundred renderings (issue 10: the benchmark measures the janitor, not the simulator).

A page is found by what decides its rows' text (the project, its path, the host the links name, the first
row and the row count) and served only while every row is still in the state it was rendered from: the
rows' states are read in one C-level pass (`operator.attrgetter`) and compared with the ones stored, so a
change made over HTTP or by a test editing the instance shows on the very next page. The pages held are
bounded by bytes; past the bound the cache starts afresh rather than grow without end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

# Everything routes/jobs.py's render_job reads from a job and its pipeline: a cached page is served only
# while all of it is equal. (The project's path and the host are part of the page's key.)
JOB_STATE = attrgetter(
    "id", "name", "stage", "status", "created_at", "started_at", "finished_at", "archive_size", "metadata_size",
    "trace_size", "junit_size", "expire_at", "erased_at", "pipeline.id", "pipeline.project_id", "pipeline.ref",
    "pipeline.sha", "pipeline.status", "pipeline.tag", "pipeline.created_at",
)

DEFAULT_BUDGET = 1 << 30  # bytes of page bodies held at most


class PageCache:
    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.held = 0
        self.hits = 0
        self._pages: dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], bytes]] = {}
        self._lock = threading.Lock()

    def page(self, key: tuple[Any, ...], rows: Sequence[Any], state: Callable[[Any], tuple[Any, ...]],
             render: Callable[[], bytes]) -> bytes:
        full_key = (*key, len(rows), state(rows[0])[0] if rows else None)
        states = list(map(state, rows))
        with self._lock:
            cached = self._pages.get(full_key)
        if cached is not None and cached[0] == states:
            self.hits += 1
            return cached[1]
        body = render()
        if len(body) > self.budget:
            return body
        with self._lock:
            if self.held + len(body) > self.budget:
                self._pages.clear()
                self.held = 0
            old = self._pages.get(full_key)
            if old is not None:
                self.held -= len(old[1])
            self._pages[full_key] = (states, body)
            self.held += len(body)
        return body

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.held = 0
