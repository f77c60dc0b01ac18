"""Helpers shared by the engine's tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def collect_and_plan(run: Callable[..., Result], env: dict[str, str], tmp_path: Path, policy: str) -> dict[str, Any]:
    """Write the policy, run collect and plan (with reports) through the CLI, return the plan file's JSON.
    Leaves tmp_path/policy.yml, inv/, plan.json and report/ behind for the test to look at."""
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    collected = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env)
    assert collected.code == 0, collected.err
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    plan: dict[str, Any] = json.loads((tmp_path / "plan.json").read_text())
    return plan


def non_get(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.method != "GET"]


def cli_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITLAB_URL", "CI_SERVER_URL", "GITLAB_TOKEN")}
    env.update(extra)
    return env
