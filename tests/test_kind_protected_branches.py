"""Protected-branch rules over HTTP through the real CLI: orphaned rules go, the rule that protects the
default branch never does, wildcard names are URL-encoded, and re-checks catch a rule that matters again."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.simulator import Instance
from janitor.simulator.repo_state import Branch, repository

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: stale-rules
    resource: protected_branches
    action: delete
    match: {orphaned: true}
"""
GREEDY = POLICY.replace("match: {orphaned: true}", 'match: {name: "*"}')


def cycle(run, env, tmp_path: Path, policy: str = POLICY) -> dict:  # type: ignore[no-untyped-def]
    return collect_and_plan(run, env, tmp_path, policy)


def rules(instance: Instance) -> set[tuple[int, str]]:
    return {(p.id, r) for p in instance.projects.values() for r in repository(p).protected_branches}


def test_orphaned_rules_are_removed_and_the_rest_stay(run, env, instance: Instance, tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path)
    planned = {(i["project_id"], i["target"]["name"]) for i in plan["items"]}
    in_scope = {p.id for p in instance.projects.values() if p.path_with_namespace.startswith("acme/")
                and not p.archived}
    assert planned == {(pid, "hotfix/*") for pid in in_scope}, "only the rule that matches no branch"
    before = rules(instance)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert before - rules(instance) == planned
    assert all(("release/*" in repository(p).protected_branches) for p in instance.projects.values())


def test_the_rule_of_the_default_branch_is_never_removed(run, env, instance: Instance, tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path, GREEDY)
    assert "main" not in {i["target"]["name"] for i in plan["items"]}
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    reasons = {k["title"]: k["reason"] for p in report["projects"] if p["id"] == 1 for k in p["kept"]}
    assert reasons["protected-branch rule main"] == "protects the default branch 'main'"
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert all(set(repository(p).protected_branches) == {"main"} for p in instance.projects.values()
               if (p.id, "release/*") in {(i["project_id"], i["target"]["name"]) for i in plan["items"]})


def test_a_rule_that_matches_a_new_branch_is_skipped(run, env, instance: Instance, tmp_path: Path) -> None:
    cycle(run, env, tmp_path)
    repo = repository(instance.projects[1])
    repo.branches["hotfix/urgent fix"] = Branch("hotfix/urgent fix", "a" * 40, instance.now)
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert "protected-branch rule hotfix/*: no longer orphaned" in result.err
    assert "hotfix/*" in repo.protected_branches
    assert "hotfix/*" not in repository(instance.projects[2]).protected_branches
