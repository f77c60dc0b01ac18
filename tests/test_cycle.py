"""The whole cycle through the real CLI against the simulator over HTTP: collect, plan, apply."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import non_get

from janitor.simulator import Instance, Simulator


def _plan(run, env, policy_file: Path, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    collected = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert collected.code == 0, collected.err
    planned = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                   "--report-dir", tmp_path / "report", *extra], env)
    return planned


def _planned_jobs(tmp_path: Path) -> set[int]:
    plan = json.loads((tmp_path / "plan.json").read_text())
    return {item["target"]["job_id"] for item in plan["items"]}


def _artifact_state(instance: Instance) -> dict[int, tuple[int, int, int, int]]:
    return {j.id: (j.archive_size, j.metadata_size, j.junit_size, j.trace_size) for j in instance.jobs.values()}


def test_dry_run_makes_no_changes(run, env, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    planned = _plan(run, env, policy_file, tmp_path)
    assert planned.code == 0, planned.err
    assert _planned_jobs(tmp_path), "the sample instance should have old artifacts to plan"
    dry = run(["apply", tmp_path / "plan.json"], env)
    assert dry.code == 0, dry.err
    assert "would delete" in dry.out and "nothing deleted" in dry.err
    assert non_get(sim) == []
    assert not (tmp_path / "plan.json.journal").exists()


def test_apply_deletes_exactly_the_plan(run, env, sim: Simulator, instance: Instance, policy_file: Path,
                                        tmp_path: Path) -> None:
    assert _plan(run, env, policy_file, tmp_path).code == 0
    planned = _planned_jobs(tmp_path)
    before = _artifact_state(instance)
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    after = _artifact_state(instance)
    changed = {job_id for job_id in before if before[job_id] != after[job_id]}
    assert changed == planned
    for job_id in planned:
        archive, metadata, junit, trace = after[job_id]
        assert (archive, metadata, junit) == (0, 0, 0)
        assert trace == before[job_id][3], "delete keeps the job log"
    deletes = [r.path for r in sim.requests if r.method == "DELETE"]
    assert sorted(deletes) == sorted(f"/projects/{instance.jobs[j].pipeline.project_id}/jobs/{j}/artifacts"
                                     for j in planned)


def test_protected_artifacts_survive(run, env, instance: Instance, policy_file: Path, tmp_path: Path) -> None:
    # A policy that would take everything it may: any age, any ref.
    policy_file.write_text(policy_file.read_text().replace("older_than: 30d", "older_than: 1h")
                           .replace("ref: {exclude: [main]}", "ref: '*'").replace("keep: {latest: 1, per: ref}", ""))
    latest_success: dict[tuple[int, str], int] = {}
    for pipeline in instance.pipelines.values():
        if pipeline.status == "success":
            key = (pipeline.project_id, pipeline.ref)
            latest_success[key] = max(latest_success.get(key, 0), pipeline.id)
    unfinished = {j.id for j in instance.jobs.values() if not j.finished and j.artifacts_size}
    running_pipeline_jobs = {j.id for j in instance.jobs.values()
                             if j.pipeline.status in ("running", "pending", "created") and j.artifacts_size}
    guarded = {j.id for j in instance.jobs.values()
               if latest_success.get((j.pipeline.project_id, j.pipeline.ref)) == j.pipeline.id and j.archive_size}
    assert guarded and (unfinished or running_pipeline_jobs), "the instance must exercise the protections"
    before = _artifact_state(instance)
    assert _plan(run, env, policy_file, tmp_path).code == 0
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    after = _artifact_state(instance)
    for job_id in guarded | unfinished | running_pipeline_jobs:
        assert after[job_id] == before[job_id], f"protected job {job_id} was touched"
    assert any(before[j] != after[j] for j in before), "the permissive policy should still delete something"


def test_erase_removes_log_too(run, env, instance: Instance, policy_file: Path, tmp_path: Path) -> None:
    policy_file.write_text(policy_file.read_text().replace("action: delete", "action: erase"))
    assert _plan(run, env, policy_file, tmp_path).code == 0
    planned = _planned_jobs(tmp_path)
    assert run(["apply", tmp_path / "plan.json", "--yes"], env).code == 0
    for job_id in planned:
        job = instance.jobs[job_id]
        assert job.artifacts_size == 0 and job.erased_at is not None


def test_plan_is_byte_identical_on_same_inputs(run, env, policy_file: Path, tmp_path: Path) -> None:
    assert _plan(run, env, policy_file, tmp_path).code == 0
    first = (tmp_path / "plan.json").read_bytes()
    report = (tmp_path / "report" / "report.json").read_bytes()
    again = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                 "--report-dir", tmp_path / "report"], {})
    assert again.code == 0, again.err
    assert (tmp_path / "plan.json").read_bytes() == first
    assert (tmp_path / "report" / "report.json").read_bytes() == report


def test_sharded_collect_merges_to_the_same_plan(run, env, policy_file: Path, tmp_path: Path) -> None:
    assert _plan(run, env, policy_file, tmp_path).code == 0
    whole = _planned_jobs(tmp_path)
    for index in (1, 2):
        result = run(["collect", "--policy", policy_file, "--out", tmp_path / f"shard{index}", "--shard",
                      f"{index}/2"], env)
        assert result.code == 0, result.err
    missing = run(["merge", tmp_path / "shard1", "--out", tmp_path / "merged-bad"], env)
    assert missing.code == 1 and "missing 2/2" in missing.err
    assert run(["merge", tmp_path / "shard1", tmp_path / "shard2", "--out", tmp_path / "merged"], env).code == 0
    result = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "merged", "--out",
                  tmp_path / "plan.json"], env)
    assert result.code == 0, result.err
    assert _planned_jobs(tmp_path) == whole
