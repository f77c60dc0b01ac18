"""environments through the real CLI over HTTP: collect -> plan -> apply --yes against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_helpers import collect_and_plan

from janitor.simulator import Instance, Simulator
from janitor.simulator.registry_records import Deployment, Environment, environments, protected_environments

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-environments
    resource: environments
    action: delete
    match: MATCH
"""


def cycle(run, env, tmp_path: Path, match: str, apply: bool = True) -> tuple[list[dict[str, Any]], Any]:  # type: ignore[no-untyped-def]
    items = collect_and_plan(run, env, tmp_path, POLICY.replace("MATCH", match))["items"]
    return items, (run(["apply", tmp_path / "plan.json", "--yes"], env) if apply else None)


def all_environments(instance: Instance) -> dict[int, Environment]:
    return {e.id: e for project in instance.projects.values() for e in environments(project)}


def test_protections_hold_and_exactly_the_plan_is_deleted(run, env, sim: Simulator, instance: Instance,
                                                         tmp_path: Path) -> None:
    before = all_environments(instance)
    protected = {e.id for p in instance.projects.values() for e in environments(p)
                 if e.name in protected_environments(p)}
    running = {e.id for e in before.values() if e.last_deployment and e.last_deployment.status == "running"}
    assert protected and running
    available = {e.id for e in before.values() if e.state == "available"}
    items, result = cycle(run, env, tmp_path, "{older_than: 1h}")
    assert result.code == 0, result.err
    planned = {i["target"]["environment_id"] for i in items}
    assert not planned & (protected | running)
    after = all_environments(instance)
    assert set(before) - set(after) == planned
    assert protected | running <= set(after)
    stops = {int(r.path.split("/")[4]) for r in sim.requests if r.method == "POST" and r.path.endswith("/stop")}
    assert stops == planned & available, "available environments are stopped first, stopped ones are not"
    report = (tmp_path / "report" / "report.md").read_text()
    assert "environment production (available) | old-environments | protected: protected environment" in report
    assert "protected: its last deployment is still running (running)" in report


def test_without_protected_environments_production_tier_is_kept(run, env, instance: Instance,
                                                                tmp_path: Path) -> None:
    for project in instance.projects.values():
        project.collections["protected_environments_unavailable"] = "ce"  # GitLab CE has no such route: 404
    items, result = cycle(run, env, tmp_path, "{older_than: 1h}")
    assert result.code == 0, result.err
    titles = {i["title"] for i in items}
    assert not any(t.startswith("environment production ") for t in titles)
    assert any(t.startswith("environment staging ") for t in titles)
    assert "production-tier environments are kept in their place" in (tmp_path / "report" / "report.md").read_text()
    assert all(any(e.tier == "production" for e in environments(p)) for p in instance.projects.values()
               if environments(p))


def test_a_change_between_plan_and_apply_is_skipped(run, env, instance: Instance, tmp_path: Path) -> None:
    items, _ = cycle(run, env, tmp_path, "{older_than: 1h}", apply=False)
    by_id = all_environments(instance)
    redeployed = by_id[items[0]["target"]["environment_id"]]
    redeployed.last_deployment = Deployment(redeployed.id * 10 + 7, 99, "main", "f" * 40, "success", instance.now, 1)
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert redeployed.id in all_environments(instance)
    assert "changed since the plan: last_deployment_id" in result.err


def test_orphaned_review_apps_are_those_of_deleted_branches(run, env, instance: Instance, tmp_path: Path) -> None:
    expected = set()
    for project in instance.projects.values():
        repository = project.collections.get("repository")
        branches = set(repository.branches) if repository else set()
        for e in environments(project):
            if e.name.startswith("review/") and e.last_deployment and e.last_deployment.ref not in branches \
                    and project.namespace.full_path.startswith("acme") and not project.archived:
                expected.add(e.id)
    items, result = cycle(run, env, tmp_path, "{orphaned: true}")
    assert result.code == 0, result.err
    planned = {i["target"]["environment_id"] for i in items}
    assert planned == expected and planned
    assert not expected & set(all_environments(instance)), "they are gone"
    assert any(e.name.startswith("review/") for e in all_environments(instance).values()), "live ones stay"
