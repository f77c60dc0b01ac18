"""Protections fail closed: one rule (janitor/resources/protections.py), tested per kind over HTTP.

- GitLab answers 403 on a protection route (a Developer's token): everything that data could protect is
  kept, with the reason "<what> could not be read (403)", and apply's re-check follows the same rule;
- GitLab answers a bare 404 for the route (the tier or version lacks the feature): it protects nothing;
- a 404 for the project itself stays an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import collect_and_plan, non_get

from janitor.errors import NotFound
from janitor.gitlab_api import Connection, GitLabAPI
from janitor.model import PlanItem
from janitor.resources import KINDS
from janitor.resources.base import RecheckFailed
from janitor.resources.packages import PROTECTION_RULES
from janitor.resources.protections import PROTECTION_READS, FeatureMissing, Unreadable, read_protections
from janitor.simulator import TOKENS, Instance, Simulator
from janitor.simulator.registry_records import environments, package_rules, packages, protected_environments

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: clean
    resource: RESOURCE
    action: delete
    match: MATCH
"""


def policy(resource: str, match: str = "{older_than: 1h}") -> str:
    return POLICY.replace("RESOURCE", resource).replace("MATCH", match)


def developer(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GITLAB_TOKEN": TOKENS["developer"]}


def under(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


def kept(tmp_path: Path) -> dict[str, str]:
    """Title -> why, for every object the plan kept (report.json)."""
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    return {f"{p['path']} {k['title']}": k["reason"] for p in report["projects"] for k in p["kept"]}


def inventory(tmp_path: Path) -> dict[str, Any]:
    entries: dict[str, Any] = json.loads((tmp_path / "inv" / "projects.json").read_text(encoding="utf-8"))["entries"]
    return entries


# -- packages ---------------------------------------------------------------------------------------
def test_packages_unreadable_rules_keep_every_package(run, env, instance: Instance, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert any(package_rules(p) for p in instance.projects.values())
    plan = collect_and_plan(run, developer(env), tmp_path, policy("packages"))
    assert plan["items"] == [], "nothing the unread rules could cover is planned"
    reasons = kept(tmp_path)
    assert reasons and all("package protection rules could not be read (403)" in r or "status" in r
                           for r in reasons.values())
    assert any(e.get(PROTECTION_READS) == {"_packageProtectionRules": "403"} for e in inventory(tmp_path).values())


def test_packages_without_the_feature_are_planned(run, env, instance: Instance, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for project in instance.projects.values():
        project.collections["package_rules_unavailable"] = True  # before GitLab 17.6: 404 for the route
    plan = collect_and_plan(run, env, tmp_path, policy("packages"))
    assert plan["items"]
    assert not any("could not be read" in r for r in kept(tmp_path).values())
    assert any(e.get(PROTECTION_READS) == {"_packageProtectionRules": "404"} for e in inventory(tmp_path).values())


def test_apply_re_check_keeps_packages_whose_rules_it_cannot_read(run, env, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    plan = collect_and_plan(run, env, tmp_path, policy("packages"))
    assert plan["items"]
    before = {p.id for project in instance.projects.values() for p in packages(project)}
    sim.requests.clear()
    # A Developer may not delete packages (Maintainer): apply's role gate stops it before any re-check ...
    result = run(["apply", tmp_path / "plan.json", "--yes"], developer(env))
    assert result.code == 3 and "needs Maintainer, the token has Developer" in result.err
    assert not [r for r in non_get(sim) if "/packages/" in r], "no DELETE was sent"
    assert before == {p.id for project in instance.projects.values() for p in packages(project)}
    # ... and the re-check itself fails closed for a token that cannot read the rules (a role lowered
    # between the gate and the item): the item is kept with the reason, whatever the rules would say.
    api = GitLabAPI(Connection(sim.url, TOKENS["developer"], max_retries=0))
    item = PlanItem.from_json(plan["items"][0])
    with pytest.raises(RecheckFailed, match=r"package protection rules could not be read \(403\)"):
        KINDS["packages"].recheck(api, item, {})


# -- environments -----------------------------------------------------------------------------------
def test_environments_unreadable_protection_keeps_every_environment(run, env, instance: Instance,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    assert any(protected_environments(p) for p in instance.projects.values())
    plan = collect_and_plan(run, developer(env), tmp_path, policy("environments"))
    assert plan["items"] == []
    reasons = kept(tmp_path)
    assert reasons and all("protected environments could not be read (403)" in r for r in reasons.values())


def test_environments_on_ee_without_premium_are_all_kept(run, env, instance: Instance, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for project in instance.projects.values():
        project.collections["protected_environments_unavailable"] = True  # EE Free answers 403, even to Owners
    plan = collect_and_plan(run, env, tmp_path, policy("environments"))
    assert plan["items"] == []


def test_environments_without_the_feature_keep_the_production_tier_only(run, env, instance: Instance,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    for project in instance.projects.values():
        project.collections["protected_environments_unavailable"] = "ce"  # GitLab CE: 404 for the route
    plan = collect_and_plan(run, env, tmp_path, policy("environments"))
    tiers = {e.id: e.tier for p in instance.projects.values() for e in environments(p)}
    planned = {tiers[i["target"]["environment_id"]] for i in plan["items"]}
    assert planned and "production" not in planned
    assert any("production-tier environments are kept in their place" in r for r in kept(tmp_path).values())
    assert any(e.get(PROTECTION_READS) == {"_protectedEnvironments": "404"} for e in inventory(tmp_path).values())


# -- branches, protected-branch rules, tags ----------------------------------------------------------
def test_branches_judge_by_their_own_flag_when_rules_are_unreadable(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    merged = policy("branches", "{merged: true, older_than: 1h}")
    as_admin = collect_and_plan(run, env, under(tmp_path, "admin"), merged)
    as_developer = collect_and_plan(run, developer(env), under(tmp_path, "dev"), merged)
    assert as_developer["items"] and [i["title"] for i in as_developer["items"]] == \
        [i["title"] for i in as_admin["items"]], "every branch GitLab lists carries `protected`: nothing unjudged"
    assert any(e.get(PROTECTION_READS) == {"_protectedBranches": "403"} for e in inventory(tmp_path / "dev").values())
    assert any(r.startswith("protected branch") for r in kept(tmp_path / "dev").values())


def test_a_branch_without_its_flag_is_kept_when_rules_are_unreadable(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    merged = policy("branches", "{merged: true, older_than: 1h}")
    collect_and_plan(run, developer(env), tmp_path, merged)
    projects = json.loads((tmp_path / "inv" / "projects.json").read_text(encoding="utf-8"))
    for entry in projects["entries"].values():  # as an inventory made by tooling that drops the flag
        for branch in entry.get("_branches") or []:
            branch.pop("protected", None)
    (tmp_path / "inv" / "projects.json").write_text(json.dumps(projects), encoding="utf-8")
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
    assert planned.code == 0, planned.err
    assert json.loads((tmp_path / "plan.json").read_text())["items"] == []
    assert any("protected branch rules could not be read (403)" in r for r in kept(tmp_path).values())


def test_branches_when_the_rules_route_is_missing_are_planned(run, env, sim: Simulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim.faults.fail_paths(r"/protected_branches$", 404)
    plan = collect_and_plan(run, env, tmp_path, policy("branches", "{merged: true, older_than: 1h}"))
    assert plan["items"]
    assert any(e.get(PROTECTION_READS) == {"_protectedBranches": "404"} for e in inventory(tmp_path).values())


def test_protected_branch_rules_a_developer_cannot_read_are_never_planned(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = collect_and_plan(run, developer(env), tmp_path, policy("protected_branches", '{name: "*"}'))
    assert plan["items"] == []
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "protected branch rules could not be read (403): none can be planned" in report


def test_tags_need_no_rules_their_flag_decides(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    as_admin = collect_and_plan(run, env, under(tmp_path, "admin"), policy("tags", '{name: "*"}'))
    as_developer = collect_and_plan(run, developer(env), under(tmp_path, "dev"), policy("tags", '{name: "*"}'))
    assert [i["title"] for i in as_developer["items"]] == [i["title"] for i in as_admin["items"]]
    assert any(r.startswith("protected tag") for r in kept(tmp_path / "dev").values())


# -- the rule itself, over HTTP --------------------------------------------------------------------
def test_the_three_answers_are_told_apart(sim: Simulator, instance: Instance) -> None:
    project = next(p for p in instance.projects.values() if package_rules(p))

    def read(token: str, project_id: int) -> object:
        api = GitLabAPI(Connection(sim.url, TOKENS[token], max_retries=0))
        return read_protections(api, PROTECTION_RULES, "package protection rules", project=project_id)

    assert isinstance(read("admin", project.id), list)
    assert read("developer", project.id) == Unreadable("package protection rules")
    try:
        read("admin", 999_999)
        raise AssertionError("a missing project is an error, not a missing feature")
    except NotFound as exc:
        assert exc.missing == "Project"
    project.collections["package_rules_unavailable"] = True
    assert read("admin", project.id) == FeatureMissing("package protection rules")
