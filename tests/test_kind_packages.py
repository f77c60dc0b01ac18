"""packages through the real CLI over HTTP: collect -> plan -> apply --yes against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_helpers import collect_and_plan

from janitor.simulator import Instance, Simulator
from janitor.simulator.registry_records import Package, PackageFile, PackageProtectionRule, package_rules, packages

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-packages
    resource: packages
    action: delete
    match: MATCH
"""


def cycle(run, env, tmp_path: Path, match: str, apply: bool = True) -> tuple[list[dict[str, Any]], Any]:  # type: ignore[no-untyped-def]
    items = collect_and_plan(run, env, tmp_path, POLICY.replace("MATCH", match))["items"]
    return items, (run(["apply", tmp_path / "plan.json", "--yes"], env) if apply else None)


def all_packages(instance: Instance) -> dict[int, Package]:
    return {p.id: p for project in instance.projects.values() for p in packages(project)}


def protected_ids(instance: Instance) -> set[int]:
    return {p.id for project in instance.projects.values() for p in packages(project)
            if p.status != "default" or any(rule.covers(p) for rule in package_rules(project))}


def test_protections_hold_and_exactly_the_plan_is_deleted(run, env, instance: Instance, tmp_path: Path) -> None:
    before = all_packages(instance)
    guarded = protected_ids(instance)
    assert guarded, "the instance must have protected and non-default packages"
    items, result = cycle(run, env, tmp_path, "{older_than: 1h}")
    assert result.code == 0, result.err
    planned = {i["target"]["package_id"] for i in items}
    assert not planned & guarded
    after = all_packages(instance)
    assert set(before) - set(after) == planned
    assert guarded <= set(after)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "protected: covered by the package protection rule" in report
    assert "protected: its status is" in report
    # the plan counts what the files weigh
    assert all(i["bytes"] == before[i["target"]["package_id"]].size for i in items)


def test_statistics_and_filters_limit_what_is_read(run, env, sim: Simulator, instance: Instance,
                                                  tmp_path: Path) -> None:
    items, _ = cycle(run, env, tmp_path, '{older_than: 30d, package_type: [maven, pypi]}', apply=False)
    listed = {int(r.path.split("/")[2]) for r in sim.requests if r.path.endswith("/packages")}
    scoped = [p for p in instance.projects.values() if p.namespace.full_path.startswith("acme") and not p.archived]
    empty = {p.id for p in scoped if not packages(p)}
    assert empty and not listed & empty, "projects whose packages_size is 0 are not listed"
    assert listed == {p.id for p in scoped if packages(p)}
    files_read = {int(r.path.split("/")[4]) for r in sim.requests if r.path.endswith("/package_files")}
    guarded = protected_ids(instance)
    wanted = {p.id for pid in listed for p in packages(instance.projects[pid])
              if p.package_type in ("maven", "pypi") and p.id not in guarded}
    assert files_read == wanted, "sizes are read only for packages the rule could remove"
    assert items and {i["title"].split()[0] for i in items} <= {"maven", "pypi"}


def test_a_change_between_plan_and_apply_is_skipped(run, env, instance: Instance, tmp_path: Path) -> None:
    items, _ = cycle(run, env, tmp_path, "{older_than: 1h}", apply=False)
    by_id = all_packages(instance)
    grown, ruled = by_id[items[0]["target"]["package_id"]], by_id[items[-1]["target"]["package_id"]]
    grown.files.append(PackageFile(grown.id * 10 + 9, "late.bin", 1234, instance.now, "0" * 64))
    project = instance.projects[ruled.project_id]
    project.collections.setdefault("package_protection_rules", []).append(
        PackageProtectionRule(999, project.id, ruled.name, ruled.package_type))
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert grown.id in all_packages(instance) and ruled.id in all_packages(instance)
    assert "changed since the plan: files" in result.err
    assert "now protected by the package protection rule" in result.err


def test_a_refused_delete_is_a_failure_with_its_reason(run, env, instance: Instance, tmp_path: Path) -> None:
    # an instance that cannot list protection rules (before GitLab 17.6): only GitLab's 403 guards them
    for project in instance.projects.values():
        project.collections["package_rules_unavailable"] = True
    guarded = {p.id for project in instance.projects.values() for p in packages(project)
               if any(rule.covers(p) for rule in package_rules(project))}
    items, result = cycle(run, env, tmp_path, "{older_than: 1h}")
    planned = {i["target"]["package_id"] for i in items}
    assert planned & guarded, "without the rules, protected packages reach the plan"
    assert result.code == 2
    assert "protected from deletion by a package protection rule" in result.err
    assert guarded <= set(all_packages(instance))
