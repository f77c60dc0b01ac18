"""Roles in the simulator: effective membership as GET /projects/:id/members/all/:user_id reports it (direct,
inherited from ancestor groups, through a shared group, capped by the share), administrators and Admin Mode,
and every delete route refusing (403) below the role GitLab documents for it -- the same role the client's
kinds declare, so the two sides check each other."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests
from sim_helpers import api, auth
from test_sim_conformance import FIXTURES, mismatches

from janitor.access import ROLE_LEVELS
from janitor.resources import KINDS
from janitor.simulator import Instance, Simulator, generate
from janitor.simulator.registry_records import (
    environments,
    package_rules,
    packages,
    protected_environments,
    repositories,
)
from janitor.simulator.repo_state import repository
from janitor.simulator.state import DEVELOPER, MAINTAINER_USER, REPORTER_USER, Project

Steps = list[tuple[str, str]]


def _member(sim: Simulator, project: int, user: int, token: str = "admin") -> requests.Response:
    return requests.get(api(sim, f"/projects/{project}/members/all/{user}"), headers=auth(token), timeout=10)


def test_member_and_user_answers_carry_the_documented_fields(sim: Simulator) -> None:
    user = requests.get(api(sim, "/user"), headers=auth("admin"), timeout=10).json()
    assert mismatches(json.loads((FIXTURES / "user_current_admin.json").read_text()), user) == []
    member = _member(sim, 1, DEVELOPER.id)
    assert member.ok, member.text
    assert mismatches(json.loads((FIXTURES / "member_all_single.json").read_text()), member.json()) == []


def test_effective_role_is_direct_inherited_or_shared(sim: Simulator) -> None:
    instance = sim.instance
    web = instance.projects_by_path["acme/web/frontend"]
    platform = instance.projects_by_path["acme/platform/api"]
    legacy = instance.projects_by_path["acme/legacy/monolith"]
    instance.add_member(instance.groups_by_path["acme"], MAINTAINER_USER, 20)       # inherited everywhere
    instance.add_member(instance.groups_by_path["acme/platform"], MAINTAINER_USER, 40)
    instance.add_member(instance.groups_by_path["other"], MAINTAINER_USER, 50)
    instance.share(web, instance.groups_by_path["other"], 30)                        # capped at Developer
    instance.add_member(legacy, REPORTER_USER, 30)                                   # direct only

    def level(project: Project, user: int) -> int | None:
        answer = _member(sim, project.id, user)
        return answer.json()["access_level"] if answer.ok else answer.status_code

    assert level(platform, MAINTAINER_USER.id) == 40
    assert level(web, MAINTAINER_USER.id) == 30
    assert level(legacy, MAINTAINER_USER.id) == 20
    assert level(legacy, REPORTER_USER.id) == 30
    assert level(web, REPORTER_USER.id) == 404  # not a member
    assert level(web, 1) == 404  # administrators are not members


def test_admin_mode_needs_the_admin_mode_scope(sim: Simulator) -> None:
    def statistics(token: str) -> int:
        return requests.get(api(sim, "/application/statistics"), headers=auth(token), timeout=10).status_code

    assert (statistics("admin"), statistics("admin-mode"), statistics("developer")) == (200, 200, 403)
    sim.instance.admin_mode = True
    assert (statistics("admin"), statistics("admin-mode")) == (403, 200)


def _acme(instance: Instance) -> list[Project]:
    return [p for p in instance.projects.values() if p.path_with_namespace.startswith("acme/")]


def _branch(instance: Instance) -> Steps:
    for project in _acme(instance):
        repo = repository(project)
        for name in repo.branches:
            if name != project.default_branch and repo.branch_rule(name) is None:
                return [("DELETE", f"/projects/{project.id}/repository/branches/{quote(name, safe='')}")]
    raise AssertionError("no unprotected branch")


def _tag(instance: Instance) -> Steps:
    for project in _acme(instance):
        repo = repository(project)
        for name in repo.tags:
            if repo.tag_rule(name) is None:
                return [("DELETE", f"/projects/{project.id}/repository/tags/{quote(name, safe='')}")]
    raise AssertionError("no unprotected tag")


def _job(instance: Instance, suffix: str, method: str) -> Steps:
    job = next(j for j in instance.jobs.values() if j.archive_size and j.finished
               and j.pipeline.ref != instance.projects[j.pipeline.project_id].default_branch)
    return [(method, f"/projects/{job.pipeline.project_id}/jobs/{job.id}/{suffix}")]


def _pipeline(instance: Instance) -> Steps:
    pipeline = next(p for p in instance.pipelines.values() if p.status == "success")
    return [("DELETE", f"/projects/{pipeline.project_id}/pipelines/{pipeline.id}")]


def _container_tag(instance: Instance) -> Steps:
    for project in _acme(instance):
        for repo in repositories(project):
            for name in repo.tags:
                if name != "latest":
                    return [("DELETE", f"/projects/{project.id}/registry/repositories/{repo.id}/tags/{name}")]
    raise AssertionError("no registry tag")


def _package(instance: Instance) -> Steps:
    for project in _acme(instance):
        for package in packages(project):
            if not any(rule.covers(package) for rule in package_rules(project)):
                return [("DELETE", f"/projects/{project.id}/packages/{package.id}")]
    raise AssertionError("no unprotected package")


def _environment(instance: Instance) -> Steps:
    for project in _acme(instance):
        for env in environments(project):
            if env.name not in protected_environments(project):
                base = f"/projects/{project.id}/environments/{env.id}"
                return [("POST", f"{base}/stop"), ("DELETE", base)]
    raise AssertionError("no unprotected environment")


def _protected_branch(instance: Instance) -> Steps:
    for project in _acme(instance):
        for name in repository(project).protected_branches:
            return [("DELETE", f"/projects/{project.id}/protected_branches/{quote(name, safe='')}")]
    raise AssertionError("no protected-branch rule")


TARGETS: dict[tuple[str, str], Callable[[Instance], Steps]] = {
    ("branches", "delete"): _branch,
    ("tags", "delete"): _tag,
    ("job_artifacts", "delete"): lambda i: _job(i, "artifacts", "DELETE"),
    ("job_artifacts", "erase"): lambda i: _job(i, "erase", "POST"),
    ("pipelines", "delete"): _pipeline,
    ("container_tags", "delete"): _container_tag,
    ("packages", "delete"): _package,
    ("environments", "delete"): _environment,
    ("protected_branches", "delete"): _protected_branch,
}


def test_every_kind_and_action_has_a_target() -> None:
    assert set(TARGETS) == {(name, action) for name, kind in KINDS.items() for action in kind.actions}


@pytest.mark.parametrize(("kind", "action"), sorted(TARGETS))
def test_each_write_needs_the_role_the_kind_declares(kind: str, action: str) -> None:
    needed = ROLE_LEVELS[KINDS[kind].delete_role[action]]
    below = max(level for level in ROLE_LEVELS.values() if level < needed)
    instance = generate(seed=3, scale="small")
    steps = TARGETS[(kind, action)](instance)
    with Simulator(instance) as sim:
        def statuses(level: int) -> list[int]:
            instance.members.clear()
            instance.add_member(instance.groups_by_path["acme"], MAINTAINER_USER, level)
            return [requests.request(method, api(sim, path), headers=auth("maintainer"), timeout=10).status_code
                    for method, path in steps]

        assert statuses(below)[0] == 403
        assert all(200 <= status < 300 for status in statuses(needed)), steps
