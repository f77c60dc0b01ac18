"""Warn first, delete later, as the CI component runs it: three scheduled pipelines against one simulator.

The component is included with a policy whose only rule removes merged branches of one project after a
14-day grace period and notifies the owners. The project that "runs" the pipelines is another simulated
project (CI_PROJECT_ID, CI_SERVER_URL point the jobs at the simulator), so `janitor fetch-state` finds the
previous run's state exactly as it does on GitLab: the newest successful `janitor:plan` job on the ref,
its artifact downloaded by job id. gitlab-ci-local uploads nothing to a GitLab, so after each run the test
leaves that job in the simulator with the state file the run's plan job published.

The inventory's time is the collector's clock (janitor.collect), not GitLab's Date header, so time moves
forward by moving the state's times back: every ISO-8601 time in the handed-over state is shifted.

- run 1: everything under the grace rule is pending: one issue per project, nothing deleted;
- the state is 7 days older: run 2, within the grace period, updates that issue in place (new dates),
  still one open issue, nothing deleted;
- one pending branch gets a new commit; the state is 8 more days older (15 > 14): run 3 deletes the
  branches whose grace has passed, but not the one that changed (its clock restarted: still pending).

It needs `janitor plan --state` and `janitor notify` (issue 11's grace and notify parts, built on other
branches); until both are merged it is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from gcl_harness import ADMIN_TOKEN, Run, Workspace

from janitor.cli import build_parser
from janitor.simulator import Simulator, generate
from janitor.simulator.routes.jobs import add_job_with_files
from janitor.simulator.state import Project


def _has_notify() -> bool:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return "notify" in commands.choices


pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.slow,
    pytest.mark.skipif(not _has_notify(), reason="needs `janitor notify` and `janitor plan --state` (issue 11's "
                                                 "grace and notify parts): enable after merging them"),
]

STATE = "janitor-output/janitor-state.json"
TARGET = "acme/platform/api"  # the project tests/fixtures/ci/warn-first-policy.yml cleans
OPS = "other/tool"  # the project whose scheduled pipelines run the component
PIPELINE = """\
stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/janitor@$CI_COMMIT_SHA
    inputs:
      policy: tests/fixtures/ci/warn-first-policy.yml
      gitlab_url: {url}
      when_apply: manual
"""
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def shifted(value: Any, back: timedelta) -> Any:
    """The state with every ISO-8601 UTC time moved `back` into the past, in the format it had."""
    if isinstance(value, dict):
        return {key: shifted(item, back) for key, item in value.items()}
    if isinstance(value, list):
        return [shifted(item, back) for item in value]
    if isinstance(value, str) and ISO_TIME.match(value):
        moved = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc) - back
        text = moved.isoformat(timespec="milliseconds" if "." in value else "seconds")
        return text.replace("+00:00", "Z") if value.endswith("Z") else text
    return value


@dataclass
class Scheduled:
    run: Run
    plan: dict[str, Any]
    branches: set[str]  # the target project's branches after the run
    writes: list[str]  # the run's write requests, "METHOD path"
    issues: list[dict[str, Any]]  # the target project's janitor issues after the run, open and closed


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(generate(seed=1, scale="small")) as server:
        yield server


@pytest.fixture(scope="module")
def pipelines(workspace: Workspace, sim: Simulator) -> Workspace:
    (workspace.root / "warn-first-ci.yml").write_text(PIPELINE.format(url=sim.url))
    return workspace


def _project(sim: Simulator, path: str) -> Project:
    return sim.instance.projects_by_path[path]


def _branches(sim: Simulator) -> set[str]:
    with sim.instance.lock:
        return set(_project(sim, TARGET).collections["repository"].branches)


def scheduled_run(workspace: Workspace, sim: Simulator) -> Scheduled:
    """One scheduled pipeline, the manual apply included (approved: the test is the reviewer)."""
    sim.reset_requests()
    ops = _project(sim, OPS)
    run = workspace.gitlab_ci_local(
        "--file", "warn-first-ci.yml", "--manual", "janitor:apply", source="schedule", timeout=900,
        variables={"GITLAB_TOKEN": ADMIN_TOKEN, "CI_SERVER_URL": sim.url, "CI_PROJECT_ID": str(ops.id),
                   "CI_COMMIT_REF_NAME": "main"})
    assert run.results.get("janitor:plan") == "PASS", run.output[-6000:]
    plan = json.loads(workspace.artifact("janitor-output/plan.json").read_text())
    writes = [f"{r.method} {r.path}" for r in sim.requests if r.method != "GET"]
    target = _project(sim, TARGET)
    issues = list(sim_get(sim, f"/projects/{target.id}/issues?labels=janitor&state=all&per_page=100"))
    return Scheduled(run, plan, _branches(sim), writes, issues)


def sim_get(sim: Simulator, path: str) -> Any:
    answer = requests.get(f"{sim.url}/api/v4{path}", headers={"PRIVATE-TOKEN": ADMIN_TOKEN}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def hand_over_state(workspace: Workspace, sim: Simulator, back: timedelta) -> None:
    """Leave the run's plan job, with its state artifact `back` older, where the next run's fetch-state looks."""
    state = json.loads(workspace.artifact(STATE).read_text())
    with sim.instance.lock:
        add_job_with_files(sim.instance, _project(sim, OPS), name="janitor:plan", ref="main", status="success",
                           files={STATE: json.dumps(shifted(state, back), sort_keys=True).encode()})


@dataclass
class ThreeRuns:
    initial: set[str]
    first: Scheduled
    second: Scheduled
    changed_branch: str
    third: Scheduled


@pytest.fixture(scope="module")
def three_runs(pipelines: Workspace, sim: Simulator) -> ThreeRuns:
    initial = _branches(sim)
    first = scheduled_run(pipelines, sim)
    hand_over_state(pipelines, sim, timedelta(days=7))
    second = scheduled_run(pipelines, sim)
    # A new commit on a pending branch: a new candidate, whose grace starts again.
    pending_titles = {p["title"] for p in second.plan["pending"]}
    with sim.instance.lock:
        repository = _project(sim, TARGET).collections["repository"]
        changed = next(b for name, b in sorted(repository.branches.items()) if f"branch {name}" in pending_titles)
        changed.sha = f"{int(changed.sha, 16) ^ 1:040x}"
        changed.committed_at = int(datetime.now(timezone.utc).timestamp() * 1000)
    hand_over_state(pipelines, sim, timedelta(days=8))
    third = scheduled_run(pipelines, sim)
    keep = os.environ.get("JANITOR_PIPELINE_LOG_DIR")  # to read the three runs' job logs afterwards
    if keep:
        for n, scheduled in enumerate((first, second, third), 1):
            (Path(keep) / f"warn-first-run-{n}.log").write_text(scheduled.run.output, encoding="utf-8")
    return ThreeRuns(initial, first, second, changed.name, third)


def test_run_1_notifies_and_deletes_nothing(three_runs: ThreeRuns) -> None:
    first = three_runs.first
    assert first.run.results["janitor:notify"] == "PASS", first.run.output[-6000:]
    assert first.plan["pending"], "the grace rule covers merged branches: they must be pending"
    assert first.plan["items"] == [], "a first run deletes nothing a grace rule covers"
    assert first.branches == three_runs.initial
    assert not [w for w in first.writes if w.startswith("DELETE")]
    assert [i["state"] for i in first.issues] == ["opened"]
    assert "on or after" in first.issues[0]["title"]


def test_run_2_within_the_grace_period_updates_the_same_notification(three_runs: ThreeRuns) -> None:
    first, second = three_runs.first, three_runs.second
    assert second.plan["items"] == [] and second.branches == three_runs.initial
    assert [(i["iid"], i["state"]) for i in second.issues] == [(first.issues[0]["iid"], "opened")]
    assert second.issues[0]["description"] != first.issues[0]["description"], "the dates moved: updated in place"
    assert [w for w in second.writes if w.startswith("POST") and w.endswith("/issues")] == []
    assert [w for w in second.writes if w.startswith("PUT") and "/issues/" in w]


def test_run_3_after_the_grace_period_deletes_what_stayed_unchanged(three_runs: ThreeRuns) -> None:
    third = three_runs.third
    assert third.run.results["janitor:apply"] == "PASS", third.run.output[-6000:]
    planned = {item["target"]["branch"] for item in third.plan["items"]}
    assert planned, "the grace period has passed: the unchanged pending branches are planned"
    assert three_runs.initial - third.branches == planned
    assert all(w.startswith("DELETE") or "/issues" in w for w in third.writes)


def test_a_branch_with_a_new_commit_in_between_is_not_deleted(three_runs: ThreeRuns) -> None:
    assert three_runs.changed_branch in three_runs.third.branches
    assert three_runs.changed_branch in json.dumps(three_runs.third.plan["pending"])
    open_issues = [i for i in three_runs.third.issues if i["state"] == "opened"]
    assert len(open_issues) == 1 and three_runs.changed_branch in open_issues[0]["description"]
