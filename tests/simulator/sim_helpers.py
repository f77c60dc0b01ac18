"""Helpers for the simulator tests (a uniquely named module: other test folders have their own
conftest.py, so `import conftest` would be ambiguous)."""

from __future__ import annotations

from datetime import datetime, timezone

import gitlab

from janitor.simulator import TOKENS, Simulator

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def api(sim: Simulator, path: str) -> str:
    return f"{sim.url}/api/v4{path}"


def auth(name: str = "admin") -> dict[str, str]:
    return {"PRIVATE-TOKEN": TOKENS[name]}


def client(sim: Simulator, token: str = "admin", **options: object) -> gitlab.Gitlab:
    return gitlab.Gitlab(sim.url, private_token=TOKENS[token], **options)  # type: ignore[arg-type]
