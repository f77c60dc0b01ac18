"""Forks and their merge requests into the upstream, over HTTP through the real CLI.

GitLab lists a fork's MR on the upstream (`project_id`), while the branch it protects lives in the fork
(`source_project_id`): the fork's branch must be kept, the upstream's branch of the same name must not be."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.simulator import Instance, Simulator
from janitor.simulator.forks import add_branch, fork_project, open_fork_mr
from janitor.simulator.repo_state import repository

DAY_MS = 86_400_000
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


def with_fork(instance: Instance, *names: str) -> tuple[int, int]:
    """acme/web/api-fork forks acme/platform/api; `names` are old unprotected branches in both."""
    upstream = instance.projects[1]
    fork = fork_project(instance, upstream, "acme/web", "api-fork", branches=("main",))
    for offset, name in enumerate(names):
        at = instance.now - (60 + offset) * DAY_MS
        add_branch(upstream, name, f"{offset + 1:040x}", at)
        add_branch(fork, name, f"{offset + 101:040x}", at)
    return upstream.id, fork.id


def planned(plan: dict) -> set[tuple[int, str]]:  # type: ignore[type-arg]
    return {(i["project_id"], i["target"]["branch"]) for i in plan["items"]}


def kept_reasons(tmp_path: Path, project_id: int) -> dict[str, str]:
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    return {k["title"]: k["reason"] for p in report["projects"] if p["id"] == project_id for k in p["kept"]}


def test_a_forks_branch_with_an_open_mr_into_upstream_is_kept_and_upstreams_namesake_is_not(
        run, env, instance: Instance, tmp_path: Path) -> None:
    upstream, fork = with_fork(instance, "feature/shared", "feature/done")
    mr = open_fork_mr(instance, instance.projects[fork], "feature/shared")
    open_fork_mr(instance, instance.projects[fork], "feature/done", state="merged")
    plan = collect_and_plan(run, env, tmp_path, GREEDY)
    items = planned(plan)
    assert (fork, "feature/shared") not in items
    assert (fork, "feature/done") in items, "a merged MR protects nothing"
    assert (upstream, "feature/shared") in items, "the upstream's branch is no MR's source"
    reason = kept_reasons(tmp_path, fork)["branch feature/shared"]
    assert reason == ("source branch of an open merge request into another project "
                      f"(acme/platform/api!{mr.iid})")
    assert "branch feature/shared" not in kept_reasons(tmp_path, upstream)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert "feature/shared" in repository(instance.projects[fork]).branches
    assert "feature/shared" not in repository(instance.projects[upstream]).branches


def test_an_mr_opened_from_the_fork_after_the_plan_makes_apply_skip_the_branch(
        run, env, instance: Instance, tmp_path: Path) -> None:
    _, fork = with_fork(instance, "feature/late", "feature/other")
    plan = collect_and_plan(run, env, tmp_path, GREEDY)
    assert {(fork, "feature/late"), (fork, "feature/other")} <= planned(plan)
    mr = open_fork_mr(instance, instance.projects[fork], "feature/late")
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert ("branch feature/late: now protected: source branch of an open merge request into another "
            f"project (acme/platform/api!{mr.iid})") in result.err
    left = repository(instance.projects[fork]).branches
    assert "feature/late" in left and "feature/other" not in left


def test_an_upstream_mr_from_a_fork_does_not_stop_apply_on_the_upstreams_namesake(
        run, env, instance: Instance, tmp_path: Path) -> None:
    upstream, fork = with_fork(instance, "feature/twin")
    plan = collect_and_plan(run, env, tmp_path, GREEDY)
    assert (upstream, "feature/twin") in planned(plan)
    open_fork_mr(instance, instance.projects[fork], "feature/twin")  # listed on the upstream
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert "feature/twin" not in repository(instance.projects[upstream]).branches
    assert "feature/twin" in repository(instance.projects[fork]).branches, "the fork's item was skipped"


def test_a_fork_whose_upstream_mrs_cannot_be_read_keeps_every_branch(
        run, env, sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    _, fork = with_fork(instance, "feature/maybe")
    sim.faults.fail_paths(r"^/projects/1/merge_requests", status=403)
    policy = GREEDY.replace("scope: {groups: [acme]}", "scope: {projects: [acme/web/api-fork]}")
    plan = collect_and_plan(run, env, tmp_path, policy)
    assert not {i for i in planned(plan) if i[0] == fork}
    reason = kept_reasons(tmp_path, fork)["branch feature/maybe"]
    assert reason.startswith("a fork whose merge requests into its upstream are unknown: the upstream project 1")


def test_an_inventory_whose_merge_requests_file_holds_the_forks_mr_protects_the_forks_branch(
        run, env, instance: Instance, tmp_path: Path) -> None:
    """Other tooling's inventory has no `_forkMrs`: the upstream's MR in merge_requests.json, whose
    source_project_id is the fork, is what protects the fork's branch."""
    _, fork = with_fork(instance, "feature/listed")
    mr = open_fork_mr(instance, instance.projects[fork], "feature/listed")
    collect_and_plan(run, env, tmp_path, GREEDY)
    inventory = tmp_path / "inv" / "projects.json"
    data = json.loads(inventory.read_text())
    assert data["entries"][str(fork)].pop("_forkMrs")
    inventory.write_text(json.dumps(data))
    assert mr.id in {int(k) for k in json.loads((tmp_path / "inv" / "merge_requests.json").read_text())["entries"]}
    replanned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                     "--out", tmp_path / "again.json"], env)
    assert replanned.code == 0, replanned.err
    items = planned(json.loads((tmp_path / "again.json").read_text()))
    assert (fork, "feature/listed") not in items and (1, "feature/listed") in items
