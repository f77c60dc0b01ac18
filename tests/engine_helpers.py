"""Helpers shared by the engine's tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from janitor.simulator import Simulator

ARTIFACTS_POLICY = """\
version: 1
scope:
  groups: [acme]
  exclude: ["acme/legal/**"]
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match:
      older_than: 30d
      ref: {exclude: [main]}
    keep: {latest: 1, per: ref}
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


def non_get(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.method != "GET"]


def cli_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITLAB_URL", "CI_SERVER_URL", "GITLAB_TOKEN")}
    env.update(extra)
    return env
