"""Plans and state files for `janitor notify`, written to the contract `janitor plan --state` follows:
the plan's pending/grace/notify/state_digest sections sealed under its digest, the state file whose
SHA-256 is the plan's state_digest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from janitor.model import PlanItem, format_time
from janitor.plan_file import build_plan, seal, write_plan

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
ZERO_DIGEST = "sha256:" + "0" * 64


@dataclass
class Branch:
    """A branch under a grace rule: pending (`since` days ago, grace not over) or awaiting approval."""

    project_id: int
    project_path: str
    name: str
    since_days: int = 3
    awaiting: bool = False
    rule: str = "merged-branches"

    @property
    def id(self) -> str:
        return f"branches:{self.project_id}:{self.name}"

    @property
    def title(self) -> str:
        return f"branch {self.name}"


@dataclass
class Inputs:
    branches: list[Branch] = field(default_factory=list)
    grace: dict[str, dict[str, Any]] = field(default_factory=lambda: {"merged-branches": {"grace": "14d",
                                                                                           "notify": True}})
    notify: dict[str, Any] = field(default_factory=lambda: {"issues": "per-project", "project": None,
                                                            "labels": ["janitor"], "assignees": "none"})


def write_inputs(tmp_path: Path, gitlab_url: str, inputs: Inputs, name: str = "plan") -> tuple[Path, Path]:
    """Write NAME.json and NAME.state.json; return their paths."""
    state_items = []
    pending = []
    items = []
    for branch in inputs.branches:
        grace = timedelta(days=int(inputs.grace[branch.rule]["grace"].rstrip("d")))
        first = NOW - timedelta(days=branch.since_days)
        state_items.append({"id": branch.id, "rule": branch.rule, "first_qualified": format_time(first),
                            "fingerprint": {"sha": "a" * 40}})
        if branch.awaiting:
            items.append(PlanItem(id=branch.id, rule=branch.rule, resource="branches", action="delete",
                                  project_id=branch.project_id, project_path=branch.project_path,
                                  title=branch.title, target={"project_id": branch.project_id, "branch": branch.name},
                                  fingerprint={"sha": "a" * 40}, bytes=0, reason="merged, older than 14d"))
        else:
            pending.append({"id": branch.id, "rule": branch.rule, "resource": "branches",
                            "project_id": branch.project_id, "project_path": branch.project_path,
                            "title": branch.title, "first_qualified": format_time(first),
                            "due": format_time(first + grace)})
    state = {"format": "gitlab-janitor-state", "version": 1, "gitlab_url": gitlab_url,
             "updated_at": format_time(NOW), "items": sorted(state_items, key=lambda i: i["id"])}
    state_bytes = (json.dumps(state, sort_keys=True) + "\n").encode()
    state_path = tmp_path / f"{name}.state.json"
    state_path.write_bytes(state_bytes)
    plan = build_plan(items, gitlab_url=gitlab_url, created_at=NOW, policy_digest=ZERO_DIGEST,
                      inventory_digest=ZERO_DIGEST, scope_lock=None)
    del plan["digest"]
    plan["totals"]["pending"] = len(pending)
    plan.update(pending=pending, grace=inputs.grace, notify=inputs.notify,
                state_digest="sha256:" + hashlib.sha256(state_bytes).hexdigest())
    plan["digest"] = seal(plan)
    plan_path = tmp_path / f"{name}.json"
    write_plan(plan_path, plan)
    return plan_path, state_path
