"""Tags over HTTP through the real CLI: protected tags and tags with a release are never planned,
keep.latest by version, exact deletes, re-checks, and inventories from other tooling judged conservatively."""

from __future__ import annotations

import json
from pathlib import Path

from janitor.simulator import Instance
from janitor.simulator.repo_state import ProtectionRule, repository

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-tags
    resource: tags
    action: delete
    match: {older_than: 1d}
"""


def cycle(run, env, tmp_path: Path, policy: str = POLICY) -> dict:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    assert run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env).code == 0
    return plan(run, env, tmp_path)


def plan(run, env, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    return json.loads((tmp_path / "plan.json").read_text())


def tags(instance: Instance) -> set[tuple[int, str]]:
    return {(p.id, t) for p in instance.projects.values() for t in repository(p).tags}


def kept(tmp_path: Path, project_id: int) -> dict[str, str]:
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    return {k["title"]: k["reason"] for p in report["projects"] if p["id"] == project_id for k in p["kept"]}


def test_protected_and_released_tags_survive(run, env, instance: Instance, tmp_path: Path) -> None:
    guarded = {(p.id, t) for p in instance.projects.values() for t in repository(p).tags
               if repository(p).tag_rule(t) or t in repository(p).releases}
    result = cycle(run, env, tmp_path)
    planned = {(i["project_id"], i["target"]["tag"]) for i in result["items"]}
    assert planned and not planned & guarded
    reasons = kept(tmp_path, 1)
    assert reasons["tag v1.0.0"] == "protected tag"
    released = next(iter(repository(instance.projects[1]).releases))
    assert reasons[f"tag {released}"].startswith("has a release")
    before = tags(instance)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert before - tags(instance) == planned
    assert guarded <= tags(instance)


def test_keep_latest_by_version_ranks_versions_above_other_tags(run, env, instance: Instance,
                                                                tmp_path: Path) -> None:
    repo = repository(instance.projects[1])
    repo.protected_tags.clear()  # so the versions compete
    repo.releases.clear()
    result = cycle(run, env, tmp_path, POLICY + "    keep: {latest: 1, per: version}\n")
    versions = sorted((t for t in repo.tags if t.startswith("v")), key=lambda t: [int(x) for x in t[1:].split(".")])
    planned = {i["target"]["tag"] for i in result["items"] if i["project_id"] == 1}
    assert versions[-1] not in planned, "the highest version is kept"
    assert set(repo.tags) - {versions[-1]} == planned, "nightly tags rank below every version"


def test_a_tag_moved_after_the_plan_is_skipped(run, env, instance: Instance, tmp_path: Path) -> None:
    result = cycle(run, env, tmp_path)
    items = [i for i in result["items"] if i["project_id"] == 1]
    repo = repository(instance.projects[1])
    moved, locked = items[0]["target"]["tag"], items[1]["target"]["tag"]
    repo.tags[moved].sha = "e" * 40
    repo.protected_tags[locked] = ProtectionRule(999, locked)
    outcome = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert outcome.code == 0, outcome.err
    assert f"tag {moved}: changed since the plan: target" in outcome.err
    assert f"tag {locked}: now protected: protected tag" in outcome.err
    assert {moved, locked} <= set(repo.tags)


def test_an_inventory_without_protection_data_plans_no_tag(run, env, tmp_path: Path) -> None:
    cycle(run, env, tmp_path)
    inventory = tmp_path / "inv" / "projects.json"
    data = json.loads(inventory.read_text())
    for entry in data["entries"].values():  # as other tooling writes it: tags without those fields
        for tag in entry.get("_tags", []):
            tag.pop("protected", None)
            tag.pop("release", None)
    inventory.write_text(json.dumps(data))
    assert plan(run, env, tmp_path)["items"] == []
    reasons = kept(tmp_path, 1)
    assert reasons and all(reason.startswith("protection unknown") for reason in reasons.values())
