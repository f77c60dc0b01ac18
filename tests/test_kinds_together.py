"""Kinds that share inventory keys, collected and planned together in one run."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import collect_and_plan

from janitor.simulator import Instance

BOTH = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d}
  - name: old-pipelines
    resource: pipelines
    action: delete
    match: {older_than: 90d}
"""


def test_job_artifacts_and_pipelines_share_one_pipeline_list(run, env, instance: Instance, tmp_path: Path) -> None:
    newest: dict[tuple[int, str], int] = {}
    latest_success: dict[tuple[int, str], int] = {}
    for p in instance.pipelines.values():
        newest[(p.project_id, p.ref)] = max(newest.get((p.project_id, p.ref), 0), p.id)
        if p.status == "success":
            latest_success[(p.project_id, p.ref)] = max(latest_success.get((p.project_id, p.ref), 0), p.id)
    guarded_pipelines = set(newest.values()) | set(latest_success.values())
    guarded_jobs = {j.id for j in instance.jobs.values() if j.pipeline.id in set(latest_success.values())}
    sizes_before = {job_id: instance.jobs[job_id].artifacts_size for job_id in guarded_jobs}

    plan = collect_and_plan(run, env, tmp_path, BOTH)
    by_rule: dict[str, set[int]] = {"old-artifacts": set(), "old-pipelines": set()}
    for item in plan["items"]:
        by_rule[item["rule"]].add(item["target"].get("job_id") or item["target"].get("pipeline_id"))
    assert by_rule["old-artifacts"] and by_rule["old-pipelines"], "both rules must have work in the sample"
    assert not by_rule["old-pipelines"] & guarded_pipelines
    assert not by_rule["old-artifacts"] & guarded_jobs

    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert guarded_pipelines <= set(instance.pipelines), "a protected pipeline was deleted"
    for job_id, size in sizes_before.items():
        assert job_id in instance.jobs, "a job of a latest successful pipeline went with its pipeline"
        assert instance.jobs[job_id].artifacts_size == size, "locked artifacts were deleted"
    # Artifacts of a pipeline the pipelines rule deleted count as already gone, not as failures.
    assert " failed" not in result.err and "deleted " in result.err
    assert not [line for line in result.out.splitlines() if line.startswith("failed: ")]
