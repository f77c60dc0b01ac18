"""Ids and paths are bound together (issue 8 §1).

apply acts on a plan item's project id, but every scope check reads its path. An inventory from other tooling
(the Open Group format) can label another group's project id with a path inside the locked group; apply must
read GitLab's own path for that id before writing anything, and write nothing there when they disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine_helpers import non_get

from janitor.simulator import Instance, Simulator
from janitor.simulator.repo_state import repository

EVERY_BRANCH = """\
version: 1
scope: {groups: [GROUPS]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: all-branches
    resource: branches
    action: delete
    match: {name: "*"}
"""
FORGED_ID = 5  # other/tool in the generated instance


def _inventory(run: Any, env: dict[str, str], tmp_path: Path, keep: set[str] | None) -> Path:
    """Collect acme and other, then relabel other/tool as a project inside acme, as a foreign tool could."""
    policy = tmp_path / "collect.yml"
    policy.write_text(EVERY_BRANCH.replace("GROUPS", "acme, other"), encoding="utf-8")
    collected = run(["collect", "--policy", policy, "--out", tmp_path / "inv"], env)
    assert collected.code == 0, collected.err
    projects = tmp_path / "inv" / "projects.json"
    data = json.loads(projects.read_text())
    entry = data["entries"][str(FORGED_ID)]
    assert entry["path_with_namespace"] == "other/tool"
    entry.update(path_with_namespace="acme/not-really", path="not-really", name="not-really",
                 name_with_namespace="acme / not-really")
    entry["namespace"] = {**entry["namespace"], "full_path": "acme", "path": "acme", "name": "acme"}
    if keep is not None:
        data["entries"] = {k: v for k, v in data["entries"].items() if k in keep}
    projects.write_text(json.dumps(data), encoding="utf-8")
    return tmp_path / "inv"


def _plan(run: Any, env: dict[str, str], tmp_path: Path, inventory: Path) -> list[dict[str, Any]]:
    policy = tmp_path / "policy.yml"
    policy.write_text(EVERY_BRANCH.replace("GROUPS", "acme"), encoding="utf-8")
    planned = run(["plan", "--policy", policy, "--inventory", inventory, "--out", tmp_path / "plan.json",
                   "--scope", "acme"], env)
    assert planned.code == 0, planned.err
    items: list[dict[str, Any]] = json.loads((tmp_path / "plan.json").read_text())["items"]
    return items


def _branches(instance: Instance, project_id: int) -> set[str]:
    return set(repository(instance.projects[project_id]).branches)


def test_a_foreign_id_under_a_path_in_scope_is_refused_before_any_write(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = _plan(run, env, tmp_path, _inventory(run, env, tmp_path, keep={str(FORGED_ID)}))
    assert items and {i["project_path"] for i in items} == {"acme/not-really"}
    before = _branches(instance, FORGED_ID)
    sim.reset_requests()

    result = run(["apply", tmp_path / "plan.json", "--yes", "--scope", "acme"], env)

    assert result.code == 3, result.err
    assert "GitLab's project 5 is other/tool, outside the scope acme" in result.err
    assert non_get(sim) == []
    assert _branches(instance, FORGED_ID) == before


def test_the_forged_project_is_skipped_and_the_rest_of_the_plan_goes_on(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = _plan(run, env, tmp_path, _inventory(run, env, tmp_path, keep=None))
    forged = [i for i in items if i["project_id"] == FORGED_ID]
    genuine = [i for i in items if i["project_id"] != FORGED_ID]
    assert forged and genuine
    before = _branches(instance, FORGED_ID)
    sim.reset_requests()

    result = run(["apply", tmp_path / "plan.json", "--yes", "--scope", "acme"], env)

    assert result.code == 0, result.err
    assert _branches(instance, FORGED_ID) == before
    assert not any(f"/projects/{FORGED_ID}/" in line for line in non_get(sim))
    assert result.err.count("apply: skipped: acme/not-really") == len(forged)
    assert "outside the scope acme: nothing is written there" in result.err
    # GitLab's project was read once for the whole project, however many items it has
    reads = [r for r in sim.requests if r.method == "GET" and r.path == f"/projects/{FORGED_ID}"]
    assert len(reads) == 1
    deleted = {(i["project_id"], i["target"]["branch"]) for i in genuine}
    assert all(name not in _branches(instance, pid) for pid, name in deleted)


def test_a_dry_run_shows_the_same_skip(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = _plan(run, env, tmp_path, _inventory(run, env, tmp_path, keep={str(FORGED_ID)}))
    result = run(["apply", tmp_path / "plan.json", "--scope", "acme"], env)
    assert result.code == 0, result.err
    assert result.out.count("would skip: acme/not-really") == len(items)
    assert "would delete" not in result.out
