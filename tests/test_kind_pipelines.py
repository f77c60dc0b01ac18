"""Pipelines over HTTP through the real CLI: unfinished and newest-per-ref pipelines are never planned,
collect lets GitLab filter by age, exact deletes, and re-checks before deleting."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.simulator import Instance, Simulator

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-pipelines
    resource: pipelines
    action: delete
    match: {older_than: OLDER}
"""


def cycle(run, env, tmp_path: Path, older: str = "1h") -> dict:  # type: ignore[no-untyped-def]
    return collect_and_plan(run, env, tmp_path, POLICY.replace("OLDER", older))


def newest_per_ref(instance: Instance) -> set[int]:
    newest: dict[tuple[int, str], int] = {}
    for p in instance.pipelines.values():
        newest[(p.project_id, p.ref)] = max(newest.get((p.project_id, p.ref), 0), p.id)
    return set(newest.values())


def latest_successful_per_ref(instance: Instance) -> set[int]:
    latest: dict[tuple[int, str], int] = {}
    for p in instance.pipelines.values():
        if p.status == "success":
            latest[(p.project_id, p.ref)] = max(latest.get((p.project_id, p.ref), 0), p.id)
    return set(latest.values())


def test_unfinished_and_newest_pipelines_survive(run, env, instance: Instance, tmp_path: Path) -> None:
    newest = newest_per_ref(instance) | latest_successful_per_ref(instance)
    assert latest_successful_per_ref(instance) - newest_per_ref(instance), "some ref's newest pipeline failed"
    stuck = next(p for p in instance.pipelines.values() if p.id not in newest and p.status == "success")
    stuck.status = "running"  # an old pipeline still running: age alone must not remove it
    running = {p.id for p in instance.pipelines.values() if p.status == "running"}
    plan = cycle(run, env, tmp_path)
    planned = {i["target"]["pipeline_id"] for i in plan["items"]}
    assert planned and not planned & (newest | running)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    reasons = {k["reason"].split(" (")[0].split(" '")[0] for p in report["projects"] for k in p["kept"]}
    assert {"newest pipeline of", "pipeline is not finished", "latest successful pipeline of"} <= reasons
    before = set(instance.pipelines)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    assert before - set(instance.pipelines) == planned
    assert (newest | running) <= set(instance.pipelines)


def test_collect_lets_gitlab_filter_by_age_yet_knows_the_newest_of_each_ref(
        run, env, sim: Simulator, instance: Instance, tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path, older="60d")
    lists = [r for r in sim.requests if r.method == "GET" and r.path.endswith("/pipelines")]
    assert lists and all("updated_before" in r.query or "updated_after" in r.query or "ref" in r.query
                         for r in lists)
    planned = {i["target"]["pipeline_id"] for i in plan["items"]}
    assert planned and not planned & (newest_per_ref(instance) | latest_successful_per_ref(instance))
    cutoff = instance.now - 60 * 86_400_000
    assert all(instance.pipelines[p].updated_at < cutoff for p in planned)


def test_changes_after_the_plan_are_skipped_with_a_reason(run, env, instance: Instance, tmp_path: Path) -> None:
    plan = cycle(run, env, tmp_path)
    first, second = plan["items"][0], plan["items"][1]
    instance.pipelines[first["target"]["pipeline_id"]].updated_at += 1_000  # retried since
    # the newest pipeline of the second one's ref is deleted by someone else: it becomes the newest
    ref_pipelines = [p for p in instance.projects[second["project_id"]].pipelines
                     if p.ref == second["target"]["ref"] and p.id > second["target"]["pipeline_id"]]
    for pipeline in ref_pipelines:
        instance.delete_pipeline(pipeline)
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert f"{first['title']}: changed since the plan: updated_at" in result.err
    assert f"{second['title']}: now protected: newest pipeline of" in result.err
    assert {first["target"]["pipeline_id"], second["target"]["pipeline_id"]} <= set(instance.pipelines)
