"""The component, included by this project's .gitlab-ci.yml at the commit under test, cleans up a
simulated GitLab in a scheduled pipeline: validate, collect in two shards, merge, plan; then, once a
person runs the manual apply, exactly what the plan lists is gone and nothing else changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from gcl_harness import ADMIN_TOKEN, Run, SimulatorProcess, Workspace

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

JANITOR_JOBS = ["janitor:validate", "janitor:collect: [1/2]", "janitor:collect: [2/2]", "janitor:merge", "janitor:plan",
                "janitor:notify"]

# Artifact state of every job the token can see: (project id, job id) -> the artifact files it has.
Snapshot = dict[tuple[int, int], tuple[str, ...]]


def snapshot(simulator: SimulatorProcess) -> Snapshot:
    state: Snapshot = {}
    for project in simulator.get_all("/projects?order_by=id&sort=asc"):
        for job in simulator.get_all(f"/projects/{project['id']}/jobs"):
            files = tuple(sorted(artifact["file_type"] for artifact in job.get("artifacts") or []))
            state[(project["id"], job["id"])] = files
    return state


def changed(before: Snapshot, after: Snapshot) -> set[tuple[int, int]]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


@dataclass
class Cycle:
    """What the scheduled pipeline did, step by step, with the simulator's state after each step."""

    initial: Snapshot
    pipeline: Run
    after_plan: Snapshot
    plan: dict[str, Any]
    dotenv: dict[str, str]
    tampered_apply: Run
    after_tampered_apply: Snapshot
    apply: Run
    after_apply: Snapshot


@pytest.fixture(scope="module")
def cycle(workspace: Workspace, simulator: SimulatorProcess) -> Cycle:
    # The project's pipeline names the simulator its self-test starts; this test's simulator runs elsewhere.
    workspace.set_input("gitlab_url", "http://127.0.0.1:8929", simulator.url)
    variables = {"GITLAB_URL": simulator.url, "GITLAB_TOKEN": ADMIN_TOKEN}
    initial = snapshot(simulator)

    pipeline = workspace.gitlab_ci_local(source="schedule", variables=variables)
    after_plan = snapshot(simulator)
    plan_file = workspace.artifact("janitor-output/plan.json")
    reviewed = plan_file.read_text()
    plan = json.loads(reviewed)
    dotenv_dir = plan_file.parents[1] / ".gitlab-ci-reports" / "dotenv"
    dotenv = dict(
        line.split("=", 1)
        for path in dotenv_dir.rglob("*")
        if path.is_file()
        for line in path.read_text().splitlines()
        if "=" in line
    )

    # Someone swaps the target of a reviewed item for a job the plan keeps, after the review.
    kept = sorted(key for key, files in initial.items() if "archive" in files and key not in planned_keys(plan))
    tampered = json.loads(reviewed)
    tampered["items"][0]["target"]["job_id"] = kept[0][1]
    plan_file.write_text(json.dumps(tampered))
    tampered_apply = workspace.gitlab_ci_local(
        "janitor:apply", "--manual", "janitor:apply", source="schedule", variables=variables
    )
    after_tampered_apply = snapshot(simulator)
    plan_file.write_text(reviewed)

    apply = workspace.gitlab_ci_local(
        "janitor:apply", "--manual", "janitor:apply", source="schedule", variables=variables
    )
    return Cycle(
        initial, pipeline, after_plan, plan, dotenv, tampered_apply, after_tampered_apply, apply, snapshot(simulator)
    )


def planned_keys(plan: dict[str, Any]) -> set[tuple[int, int]]:
    assert {item["resource"] for item in plan["items"]} == {"job_artifacts"}, "the test policy plans artifacts"
    return {(item["project_id"], item["target"]["job_id"]) for item in plan["items"]}


def test_schedule_runs_validate_two_collect_shards_merge_and_plan_but_waits_for_apply(cycle: Cycle) -> None:
    assert cycle.pipeline.returncode == 0, cycle.pipeline.output[-6000:]
    assert cycle.pipeline.results == dict.fromkeys(JANITOR_JOBS, "PASS"), cycle.pipeline.summary()


def test_nothing_is_deleted_before_the_manual_apply(cycle: Cycle) -> None:
    assert changed(cycle.initial, cycle.after_plan) == set()


def test_plan_job_shows_the_summary_and_publishes_reports_and_digest(cycle: Cycle, workspace: Workspace) -> None:
    for report in ("report.md", "report.html", "report.json"):
        assert workspace.artifact(f"janitor-output/report/{report}").stat().st_size > 0
    assert cycle.plan["items"], "the test policy must plan something, or the apply proves nothing"
    assert cycle.dotenv["JANITOR_PLAN_DIGEST"] == cycle.plan["digest"]
    assert cycle.dotenv["JANITOR_PLAN_ACTIONS"] == str(len(cycle.plan["items"]))
    assert f"Plan: {len(cycle.plan['items'])} action(s), digest {cycle.plan['digest']}" in cycle.pipeline.output
    assert "# gitlab-janitor dry-run report" in cycle.pipeline.output


def test_apply_refuses_a_plan_changed_after_review_and_deletes_nothing(cycle: Cycle) -> None:
    assert cycle.tampered_apply.returncode != 0
    assert cycle.tampered_apply.results == {"janitor:apply": "FAIL"}, cycle.tampered_apply.output[-4000:]
    assert re.search(r"\bFAIL 3\b", cycle.tampered_apply.output), "refused by a safety check means exit code 3"
    assert changed(cycle.initial, cycle.after_tampered_apply) == set()


def test_approved_apply_removes_exactly_the_planned_artifacts_and_keeps_their_logs(cycle: Cycle) -> None:
    assert cycle.apply.returncode == 0, cycle.apply.output[-6000:]
    assert cycle.apply.results == {"janitor:apply": "PASS"}
    planned = planned_keys(cycle.plan)
    assert changed(cycle.initial, cycle.after_apply) == planned
    for key in planned:
        assert set(cycle.initial[key]) - {"trace"}, f"job {key[1]} had no artifacts to delete"
        kept_log = ("trace",) if "trace" in cycle.initial[key] else ()
        assert cycle.after_apply[key] == kept_log, f"job {key[1]}: `delete` removes the artifacts, keeps the log"


def test_protected_and_out_of_scope_projects_are_untouched(
    cycle: Cycle, simulator: SimulatorProcess, workspace: Workspace
) -> None:
    paths = {
        project["id"]: project["path_with_namespace"] for project in simulator.get_all("/projects?order_by=id&sort=asc")
    }
    touched = changed(cycle.initial, cycle.after_apply)
    touched_paths = {paths[project_id] for project_id, _ in touched}
    assert touched_paths, "the apply touched nothing"
    outside = {path for path in touched_paths if not path.startswith("acme/") or path.startswith("acme/legal/")}
    assert not outside, f"projects outside the policy's scope were changed: {outside}"
    report = json.loads(workspace.artifact("janitor-output/report/report.json").read_text())
    protected = {
        (project["id"], int(re.match(r"job (\d+)", item["title"]).group(1)))  # type: ignore[union-attr]
        for project in report["projects"]
        for item in project["kept"]
        if item["category"] == "protected"
    }
    assert protected, "the simulator has protected artifacts (latest successful pipelines, running jobs)"
    assert not protected & touched, f"protected artifacts were deleted: {sorted(protected & touched)}"


def test_push_pipeline_does_not_run_the_janitor_jobs(workspace: Workspace) -> None:
    jobs = workspace.list_jobs("push")
    janitor = {name: job["when"] for name, job in jobs.items() if name.startswith("janitor:")}
    assert janitor and set(janitor.values()) == {"never"}, janitor
    assert jobs["lint"]["when"] == "on_success"


def test_schedule_makes_apply_a_blocking_manual_job(workspace: Workspace) -> None:
    jobs = workspace.list_jobs("schedule")
    assert jobs["janitor:apply"]["when"] == "manual"
    assert jobs["janitor:apply"]["allow_failure"] is False
    assert {name for name, job in jobs.items() if job["when"] != "never"} == {*JANITOR_JOBS, "janitor:apply"}
