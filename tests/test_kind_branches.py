"""Branches over HTTP through the real CLI: what is never planned, exact deletes, re-checks before
deleting, and names that need URL-encoding."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.simulator import Instance, Simulator
from janitor.simulator.repo_state import MergeRequest, repository

# Tries to take every branch: only the built-in protections stand in its way.
GREEDY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: all-branches
    resource: branches
    action: delete
    match: {name: "*"}
"""
MERGED = GREEDY.replace('match: {name: "*"}', "match: {merged: true, older_than: 14d}")


def cycle(run, env, tmp_path: Path, policy: str) -> dict:  # type: ignore[no-untyped-def]
    return collect_and_plan(run, env, tmp_path, policy)


def branches(instance: Instance) -> set[tuple[int, str]]:
    return {(p.id, name) for p in instance.projects.values() for name in repository(p).branches}


def guarded(instance: Instance) -> dict[tuple[int, str], str]:
    """Every branch a built-in protection covers, with which one."""
    found = {}
    for project in instance.projects.values():
        repo = repository(project)
        open_mrs = {mr.source_branch for mr in repo.merge_requests if mr.state == "opened"}
        for name in repo.branches:
            if name == project.default_branch:
                found[(project.id, name)] = "default branch"
            elif repo.branch_rule(name):
                found[(project.id, name)] = "protected branch"
            elif name in open_mrs:
                found[(project.id, name)] = "open merge request"
    return found


def test_protected_branches_are_never_planned_and_survive_apply(run, env, instance: Instance,
                                                                 tmp_path: Path) -> None:
    protected = guarded(instance)
    assert {"default branch", "protected branch", "open merge request"} <= set(protected.values())
    plan = cycle(run, env, tmp_path, GREEDY)
    planned = {(i["project_id"], i["target"]["branch"]) for i in plan["items"]}
    assert planned and not planned & set(protected)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    reasons = {k["title"]: k["reason"] for p in report["projects"] if p["id"] == 1 for k in p["kept"]}
    assert reasons["branch main"] == "the project's default branch"
    assert reasons["branch release/1.x"] == "protected branch (rule 'release/*')"
    assert reasons["branch feature/ünïcode"] == "source branch of an open merge request"
    before = branches(instance)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert before - branches(instance) == planned, "exactly the planned branches are gone"
    assert set(protected) <= branches(instance)


def test_special_character_names_are_deleted_end_to_end(run, env, sim: Simulator, instance: Instance,
                                                        tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path, MERGED)
    planned = {i["target"]["branch"] for i in plan["items"] if i["project_id"] == 1}
    assert {"feature/a#b", "fix/100%", "docs/read me"} <= planned
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    left = set(repository(instance.projects[1]).branches)
    assert not {"feature/a#b", "fix/100%", "docs/read me"} & left
    assert "feature/ünïcode" in left  # not merged, and an open MR
    deletes = {r.path for r in sim.requests if r.method == "DELETE"}
    # the simulator records paths decoded: one DELETE per name, none split or truncated at '#' or '%'
    assert {"/projects/1/repository/branches/fix/100%", "/projects/1/repository/branches/feature/a#b",
            "/projects/1/repository/branches/docs/read me"} <= deletes


def test_changes_after_the_plan_are_skipped_with_a_reason(run, env, instance: Instance, tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path, MERGED)
    items = [i for i in plan["items"] if i["project_id"] == 1]
    assert len(items) >= 2
    repo = repository(instance.projects[1])
    moved, reviewed = items[0]["target"]["branch"], items[1]["target"]["branch"]
    repo.branches[moved].sha = "f" * 40  # someone pushed
    repo.merge_requests.append(MergeRequest(99_999, 999, 1, "Revive", reviewed, "main", "opened", "0" * 40, 0, 0))
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert f"branch {moved}: changed since the plan: commit" in result.err
    assert f"branch {reviewed}: now protected: source branch of an open merge request" in result.err
    assert {moved, reviewed} <= set(repo.branches)


def test_a_read_only_token_cannot_delete_and_a_developer_cannot_remove_a_protected_branch(sim: Simulator) -> None:
    import requests

    from janitor.simulator import TOKENS

    url = f"{sim.url}/api/v4/projects/1/repository/branches/"
    main = requests.delete(url + "main", headers={"PRIVATE-TOKEN": TOKENS["admin"]}, timeout=10)
    assert main.status_code == 400 and "default branch" in main.json()["message"]
    release = requests.delete(url + "release%2F1.x", headers={"PRIVATE-TOKEN": TOKENS["developer"]}, timeout=10)
    assert release.status_code == 403
    assert requests.delete(url + "release%2F1.x", headers={"PRIVATE-TOKEN": TOKENS["admin"]},
                           timeout=10).status_code == 204  # GitLab lets a Maintainer: our protection is ours
