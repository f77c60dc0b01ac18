"""The state file is untrusted input: whatever bytes it holds, reading it gives a state or one clear error
(exit 1, or 3 for a refusal), never a Python exception."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.errors import JanitorError
from janitor.state import read_state

URL = "https://gitlab.example.com"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
GOOD: dict[str, Any] = {
    "format": "gitlab-janitor-state", "version": 1, "gitlab_url": URL, "updated_at": "2026-11-30T00:00:00Z",
    "items": [{"id": "7/branches/branch:old", "rule": "stale", "first_qualified": "2026-11-01T00:00:00Z",
               "fingerprint": {"commit": "abc"}}],
}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=12)
PATHS = st.sampled_from([("format",), ("version",), ("gitlab_url",), ("updated_at",), ("items",),
                         ("items", 0), ("items", 0, "id"), ("items", 0, "rule"), ("items", 0, "first_qualified"),
                         ("items", 0, "fingerprint"), ("items", 0, "fingerprint", "commit"), ("extra",)])


def test_the_untouched_state_reads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    state = read_state(path, URL + "/", NOW)
    assert state is not None and list(state.entries) == ["7/branches/branch:old"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=PATHS, value=JSON)
def test_any_changed_value_reads_or_fails_clearly(tmp_path: Path, where: tuple[Any, ...], value: Any) -> None:
    data = json.loads(json.dumps(GOOD))
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    path = tmp_path / "state.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        read_state(path, URL, NOW)
    except JanitorError as exc:
        assert exc.exit_code in (1, 3) and str(exc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_read_or_fail_clearly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    try:
        read_state(path, URL, NOW)
    except JanitorError as exc:
        assert exc.exit_code in (1, 3) and str(exc)
