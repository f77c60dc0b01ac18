"""The token's role is checked before deleting (issue 8 §2).

apply reads the token's user once and its effective role in each project (direct, inherited from a group,
or through a group the project is shared with), compares it with the role each kind's delete needs as
GitLab documents it, and skips what the role cannot do: no DELETE is sent only to be refused with 403.
When nothing in the plan can be written, apply refuses (exit 3) before any write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import ARTIFACTS_POLICY, collect_and_plan, non_get
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.access import ROLE_LEVELS
from janitor.resources import KINDS
from janitor.simulator import TOKENS, Instance, Simulator
from janitor.simulator.repo_state import repository
from janitor.simulator.state import DEVELOPER, MAINTAINER, MAINTAINER_USER

MIXED = """\
version: 1
scope: {groups: [acme/platform, acme/web]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: all-branches
    resource: branches
    action: delete
    match: {name: "*"}
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d, ref: {exclude: [main]}}
    keep: {latest: 1, per: ref}
"""
ARTIFACTS_ACME = ARTIFACTS_POLICY  # acme without acme/legal


def _apply(run: Any, env: dict[str, str], tmp_path: Path, token: str, *extra: str) -> Any:
    return run(["apply", tmp_path / "plan.json", *extra, "--journal", tmp_path / f"{token}.journal"],
               {**env, "GITLAB_TOKEN": TOKENS[token]})


def _writes_refused(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.requests if r.method != "GET" and r.status == 403]


def _has_artifacts(instance: Instance, item: dict[str, Any]) -> bool:
    job = instance.jobs[item["target"]["job_id"]]
    return job.artifacts_size > job.trace_size  # a delete keeps the log


def _artifacts_left(instance: Instance, items: list[dict[str, Any]]) -> int:
    return sum(1 for i in items if i["resource"] == "job_artifacts" and _has_artifacts(instance, i))


def _branches_left(instance: Instance, items: list[dict[str, Any]]) -> int:
    return sum(1 for i in items if i["resource"] == "branches"
               and i["target"]["branch"] in repository(instance.projects[i["project_id"]]).branches)


def test_every_kind_declares_the_role_for_each_of_its_actions() -> None:
    for name, kind in KINDS.items():
        assert set(kind.delete_role) == set(kind.actions), name
        assert set(kind.delete_role.values()) <= set(ROLE_LEVELS), name


def test_a_developer_deletes_branches_and_skips_artifacts_without_a_403(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = collect_and_plan(run, env, tmp_path, MIXED)["items"]
    artifacts = [i for i in items if i["resource"] == "job_artifacts"]
    branches = [i for i in items if i["resource"] == "branches"]
    assert artifacts and branches
    sim.reset_requests()

    result = _apply(run, env, tmp_path, "developer", "--yes")

    assert result.code == 0, result.err
    assert _writes_refused(sim) == []
    assert _branches_left(instance, items) == 0
    assert _artifacts_left(instance, items) == len(artifacts)
    assert result.err.count("needs Maintainer, the token has Developer") == len(artifacts)
    assert all(line.startswith("DELETE") and "/repository/branches/" in line for line in non_get(sim))


def test_a_developer_dry_run_shows_the_same_skips(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = collect_and_plan(run, env, tmp_path, MIXED)["items"]
    result = _apply(run, env, tmp_path, "developer")
    assert result.code == 0, result.err
    artifacts = sum(1 for i in items if i["resource"] == "job_artifacts")
    assert result.out.count("would skip:") == artifacts
    assert result.out.count("needs Maintainer, the token has Developer") == artifacts
    assert non_get(sim) == []


def test_a_reporter_token_is_refused_before_any_write(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = collect_and_plan(run, env, tmp_path, MIXED)["items"]
    sim.reset_requests()
    result = _apply(run, env, tmp_path, "reporter", "--yes")
    assert result.code == 3, result.err
    assert "needs Developer, the token has Reporter" in result.err
    assert "needs Maintainer, the token has Reporter" in result.err
    assert non_get(sim) == []
    assert _branches_left(instance, items) == sum(1 for i in items if i["resource"] == "branches")
    journal = tmp_path / "reporter.journal"
    # the header and the run's "started" line at most: no item was recorded as done, failed or skipped
    lines = journal.read_text().splitlines() if journal.exists() else []
    assert not [line for line in lines if '"item"' in line], lines


def test_roles_come_from_groups_shares_and_nowhere_else(
        run: Any, env: dict[str, str], sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    items = collect_and_plan(run, env, tmp_path, ARTIFACTS_ACME)["items"]
    paths = {i["project_path"] for i in items}
    assert any(p.startswith("acme/platform/") for p in paths) and any(p.startswith("acme/web/") for p in paths)
    # Maintainer of acme/platform (inherited by its projects); Maintainer of `other`, with which acme/web's
    # projects are shared at Developer at most; no membership at all in acme/legacy.
    instance.add_member(instance.groups_by_path["acme/platform"], MAINTAINER_USER, MAINTAINER)
    instance.add_member(instance.groups_by_path["other"], MAINTAINER_USER, MAINTAINER)
    for project in instance.projects.values():
        if project.path_with_namespace.startswith("acme/web/"):
            instance.share(project, instance.groups_by_path["other"], 30)
    sim.reset_requests()

    result = _apply(run, env, tmp_path, "maintainer", "--yes")

    assert result.code == 0, result.err
    assert _writes_refused(sim) == []
    for item in items:
        still_there = _has_artifacts(instance, item)
        assert still_there == (not item["project_path"].startswith("acme/platform/")), item["project_path"]
    web = sum(1 for i in items if i["project_path"].startswith("acme/web/"))
    legacy = sum(1 for i in items if i["project_path"].startswith("acme/legacy/"))
    assert result.err.count("needs Maintainer, the token has Developer") == web
    assert result.err.count("needs Maintainer, the token has no role") == legacy


@pytest.mark.parametrize(("token", "admin_mode", "passes"), [
    ("admin", False, True),        # Admin Mode off: an administrator's token acts as one
    ("admin", True, False),        # Admin Mode on, no admin_mode scope: only the user's memberships count
    ("admin-mode", True, True),    # ... with the scope it passes again
])
def test_administrators_and_admin_mode(run: Any, env: dict[str, str], sim: Simulator, instance: Instance,
                                       tmp_path: Path, token: str, admin_mode: bool, passes: bool) -> None:
    items = collect_and_plan(run, env, tmp_path, ARTIFACTS_ACME)["items"]
    # memberships exist on this instance, none for the administrator (administrators are not members)
    instance.add_member(instance.groups_by_path["other"], DEVELOPER, 30)
    instance.admin_mode = admin_mode
    sim.reset_requests()

    result = _apply(run, env, tmp_path, token, "--yes")

    if passes:
        assert result.code == 0, result.err
        assert _artifacts_left(instance, items) == 0
    else:
        assert result.code == 3, result.err
        assert "Admin Mode is on and the token lacks the admin_mode scope" in result.err
        assert non_get(sim) == []
    assert _writes_refused(sim) == []


def test_the_gate_reads_each_project_once(run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    items = collect_and_plan(run, env, tmp_path, MIXED)["items"]
    sim.reset_requests()
    result = _apply(run, env, tmp_path, "developer", "--yes")
    assert result.code == 0, result.err
    projects = {i["project_id"] for i in items}
    members = [r for r in sim.requests if "/members/all/" in r.path]
    assert sorted(r.path for r in members) == sorted(f"/projects/{p}/members/all/3" for p in projects)
    assert sum(1 for r in sim.requests if r.path == "/user") == 1
    journal = [json.loads(line) for line in (tmp_path / "developer.journal").read_text().splitlines()[1:]]
    journal = [r for r in journal if "status" in r]  # outcomes: run markers and intents are other lines
    assert {r["status"] for r in journal} == {"deleted"}  # skips are not journaled: a better token resumes them


# -- property: whatever the memberships, apply writes exactly what the role allows and never draws a 403 ------
GROUPS = ("acme", "acme/platform", "acme/web", "acme/legacy", "other")
LEVELS = (0, 10, 20, 30, 40, 50)
PIPELINES_TOO = MIXED + """\
  - name: old-pipelines
    resource: pipelines
    action: delete
    match: {older_than: 30d, ref: {exclude: [main]}}
    keep: {latest: 2, per: ref}
"""


@pytest.fixture(scope="module")
def planned_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, list[dict[str, Any]]]:
    """One plan for every example: made against a simulator whose port each example's fresh copy reuses
    (a plan only applies to the GitLab URL it was made for)."""
    from janitor.cli import main
    from janitor.simulator import generate

    tmp = tmp_path_factory.mktemp("roles")
    (tmp / "policy.yml").write_text(PIPELINES_TOO, encoding="utf-8")
    with Simulator(generate(seed=3, scale="small")) as sim, pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITLAB_URL", sim.url)
        patch.setenv("GITLAB_TOKEN", TOKENS["admin"])
        assert main(["collect", "--policy", str(tmp / "policy.yml"), "--out", str(tmp / "inv")]) == 0
        assert main(["plan", "--policy", str(tmp / "policy.yml"), "--inventory", str(tmp / "inv"),
                     "--out", str(tmp / "plan.json")]) == 0
        port = sim.port
    return port, tmp / "plan.json", json.loads((tmp / "plan.json").read_text())["items"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memberships=st.fixed_dictionaries({group: st.sampled_from(LEVELS) for group in GROUPS}),
       share_web=st.sampled_from((0, 20, 30, 40, 50)))
def test_apply_writes_exactly_what_the_role_allows(
        planned_once: tuple[int, Path, list[dict[str, Any]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        memberships: dict[str, int], share_web: int) -> None:
    from janitor.cli import main
    from janitor.simulator import generate

    port, plan, items = planned_once
    instance = generate(seed=3, scale="small")
    for group, level in memberships.items():
        if level:
            instance.add_member(instance.groups_by_path[group], MAINTAINER_USER, level)
    if share_web:
        for project in instance.projects.values():
            if project.path_with_namespace.startswith("acme/web/"):
                instance.share(project, instance.groups_by_path["other"], share_web)
    if not instance.members:  # keep the instance in membership mode: no role at all
        instance.add_member(instance.groups_by_path["other"], DEVELOPER, 30)
    # the simulator's own answer for each item (the client learns it over HTTP)
    writable = {i["id"] for i in items if instance.role(MAINTAINER_USER, instance.projects[i["project_id"]])
                >= ROLE_LEVELS[KINDS[i["resource"]].delete_role[i["action"]]]}
    journal = tmp_path / f"journal-{len(list(tmp_path.iterdir()))}"
    with Simulator(instance, port=port) as sim:
        monkeypatch.setenv("GITLAB_URL", sim.url)
        monkeypatch.setenv("GITLAB_TOKEN", TOKENS["maintainer"])
        code = main(["apply", str(plan), "--yes", "--journal", str(journal)])
        err = capsys.readouterr().err
        assert _writes_refused(sim) == []
        if not writable:
            assert code == 3, err
            assert non_get(sim) == []
            return
        assert code == 0, err
    done = {r["item"] for r in map(json.loads, journal.read_text().splitlines()[1:]) if "item" in r}
    assert done == writable
    # every other item was skipped for its role (a re-check may skip a writable one too: that is journaled)
    role_skips = [line for line in err.splitlines()
                  if line.startswith("apply: skipped:") and ", the token has " in line]
    assert len(role_skips) == len(items) - len(writable)
