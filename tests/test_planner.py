"""The planner as a pure function of a policy and an inventory (in-memory data, no HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from janitor.inventory import InventoryWriter, read_inventory
from janitor.model import KEPT_BY_KEEP, KEPT_NOT_MATCHED, KEPT_PROTECTED, format_time
from janitor.planner import evaluate
from janitor.policy import validate_text

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def job(job_id: int, pipeline: int, ref: str, days_old: float, *, status: str = "success",
        pipeline_status: str = "success", size: int = 1000) -> dict:  # type: ignore[type-arg]
    finished = format_time(NOW - timedelta(days=days_old)) if status in ("success", "failed", "canceled") else None
    return {"id": job_id, "name": "build", "status": status, "ref": ref, "finished_at": finished,
            "pipeline": {"id": pipeline, "ref": ref, "status": pipeline_status},
            "artifacts": [{"file_type": "archive", "size": size}, {"file_type": "trace", "size": 10}]}


def project(pid: int, path: str, jobs: list[dict], **extra: object) -> dict:  # type: ignore[type-arg]
    pipelines = {j["pipeline"]["id"]: {**j["pipeline"], "id": j["pipeline"]["id"]} for j in jobs}
    return {"id": pid, "path_with_namespace": path, "archived": False, "_jobs": jobs,
            "_pipelines": list(pipelines.values()), **extra}


def inventory(tmp_path: Path, *projects: dict):  # type: ignore[no-untyped-def,type-arg]
    writer = InventoryWriter(tmp_path / "inv", format_time(NOW), {"gitlab_url": "https://gitlab.example.com"})
    for entry in projects:
        writer.add_project(entry)
    writer.commit()
    return read_inventory(tmp_path / "inv")


POLICY = """\
version: 1
scope: {groups: [acme]}
rules:
  - name: old
    resource: job_artifacts
    action: delete
    match: {older_than: 30d}
"""


def removed_ids(result) -> set[int]:  # type: ignore[no-untyped-def]
    return {item.target["job_id"] for item in result.items}


def test_age_protections_and_reasons(tmp_path: Path) -> None:
    jobs = [
        job(1, 10, "feature/a", 90),                       # old, removed
        job(2, 11, "feature/a", 60, pipeline_status="failed"),
        job(3, 12, "feature/a", 40),                       # latest successful pipeline of feature/a: locked
        job(4, 13, "feature/a", 5, pipeline_status="failed"),  # too new
        job(5, 14, "feature/b", 80, status="running", pipeline_status="running"),
        job(6, 15, "feature/b", 70, pipeline_status="running"),  # finished job of a running pipeline
    ]
    result = evaluate(validate_text(POLICY, "p.yml"), inventory(tmp_path, project(1, "acme/app", jobs)), NOW)
    assert removed_ids(result) == {1, 2}
    kept = {k.title.split()[1]: k for k in result.projects[0].kept}
    assert kept["3"].category == KEPT_PROTECTED and "latest successful pipeline" in kept["3"].reason
    assert kept["4"].category == KEPT_NOT_MATCHED and "newer than 30d" in kept["4"].reason
    assert kept["5"].category == KEPT_PROTECTED and "not finished" in kept["5"].reason
    assert kept["6"].category == KEPT_PROTECTED and "pipeline 15 is not finished" in kept["6"].reason


def test_keep_latest_counts_pipelines_per_ref(tmp_path: Path) -> None:
    # job ids from 1: GitLab ids are positive, and the inventory reader refuses a 0
    jobs = [job(i + 1, 100 + i // 2, "feature/a", 100 - i, pipeline_status="failed") for i in range(8)]
    policy = POLICY + "    keep: {latest: 2, per: ref}\n"
    result = evaluate(validate_text(policy, "p.yml"), inventory(tmp_path, project(1, "acme/app", jobs)), NOW)
    # Pipelines 100..103, two jobs each; the two newest pipelines (102, 103) keep all their jobs.
    assert removed_ids(result) == {1, 2, 3, 4}
    assert all(k.category == KEPT_BY_KEEP for k in result.projects[0].kept)


def test_overrides_deepest_path_wins_and_keys_merge(tmp_path: Path) -> None:
    policy = POLICY.replace("match: {older_than: 30d}", "match: {older_than: 30d, ref: {exclude: [main]}}") + """\
overrides:
  acme:
    old: {match: {older_than: 60d}}
  acme/legacy:
    old: {match: {older_than: 7d}}
  acme/legacy/frozen:
    old: {enabled: false}
"""
    jobs = [job(1, 10, "feature/a", 20, pipeline_status="failed"), job(2, 11, "main", 20, pipeline_status="failed")]
    inv = inventory(tmp_path, project(1, "acme/app", [dict(j) for j in jobs]),
                    project(2, "acme/legacy/portal", [dict(j, id=j["id"] + 10) for j in jobs]),
                    project(3, "acme/legacy/frozen", [dict(j, id=j["id"] + 20) for j in jobs]))
    result = evaluate(validate_text(policy, "p.yml"), inv, NOW)
    by_path = {p.path: p for p in result.projects}
    assert not by_path["acme/app"].removed                       # 60d from acme applies: 20d is too new
    portal = by_path["acme/legacy/portal"]
    assert [i.target["job_id"] for i in portal.removed] == [11]  # 7d from acme/legacy; main still excluded
    assert portal.overrides == {"old": ["acme", "acme/legacy"]}
    assert portal.removed[0].reason.endswith("override acme/legacy")
    assert not by_path["acme/legacy/frozen"].removed
    assert "disabled here by an override" in by_path["acme/legacy/frozen"].notes[0]


def test_limits_refuse_the_plan(tmp_path: Path) -> None:
    jobs = [job(i, 10 + i, "feature/x", 90, pipeline_status="failed") for i in range(1, 11)]
    inv = inventory(tmp_path, project(1, "acme/app", jobs))
    many = evaluate(validate_text(POLICY.replace("rules:", "limits: {max_actions: 5}\nrules:"), "p.yml"), inv, NOW)
    assert many.refusals == ["the plan has 10 actions, more than limits.max_actions 5"]
    share = evaluate(validate_text(POLICY.replace("rules:", "limits: {max_percent: 50}\nrules:"), "p.yml"), inv, NOW)
    assert share.refusals and "10 of 10 examined (100.0%)" in share.refusals[0]


def test_scope_exclusions_and_archived_are_not_examined(tmp_path: Path) -> None:
    policy = POLICY.replace("scope: {groups: [acme]}", "scope: {groups: [acme], exclude: ['acme/legal/**']}")
    old = [job(1, 10, "feature/a", 90, pipeline_status="failed")]
    inv = inventory(tmp_path, project(1, "acme/legal/contracts", old), project(2, "other/tool", old),
                    project(3, "acme/old", old, archived=True), project(4, "acme/app", old))
    result = evaluate(validate_text(policy, "p.yml"), inv, NOW)
    assert [p.path for p in result.projects] == ["acme/app"]
    assert result.skipped_projects == {
        "archived (scope.archived is false)": ["acme/old"],
        "excluded by scope.exclude 'acme/legal/**'": ["acme/legal/contracts"],
        "outside the policy's scope": ["other/tool"],
    }


def test_incomplete_projects_are_never_planned(tmp_path: Path) -> None:
    old = [job(1, 10, "feature/a", 90, pipeline_status="failed")]
    inv = inventory(tmp_path, project(1, "acme/app", old, _incomplete="GET jobs: 500"))
    result = evaluate(validate_text(POLICY, "p.yml"), inv, NOW)
    assert result.items == []
    assert "incomplete inventory" in result.projects[0].notes[0]


def test_missing_data_is_reported_not_guessed(tmp_path: Path) -> None:
    inv = inventory(tmp_path, {"id": 1, "path_with_namespace": "acme/app", "_branches": []})
    result = evaluate(validate_text(POLICY, "p.yml"), inv, NOW)
    assert result.items == []
    assert result.rules["old"].unevaluated_projects == 1
    assert result.rules["old"].missing == {"_jobs", "_pipelines"}


def test_truncated_inventory_is_refused(tmp_path: Path) -> None:
    inventory(tmp_path, project(1, "acme/app", [job(1, 10, "f", 90)]), project(2, "acme/b", []))
    path = tmp_path / "inv" / "projects.json"
    path.write_text(path.read_text()[:-20])
    from janitor.errors import InventoryError

    with pytest.raises(InventoryError, match="truncated"):
        list(read_inventory(tmp_path / "inv").projects())
