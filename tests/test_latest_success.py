"""One answer to "which pipeline is the latest successful one of its ref" (issue 8 §10): job_artifacts
keeps that pipeline's artifacts (GitLab locks them) and pipelines keeps that pipeline, from the same
function, so a plan can never delete a pipeline whose artifacts it calls locked, nor the other way round.

Before, job_artifacts read only `_pipelines` while pipelines also read `_newestSuccessfulPipelines` (what
its recent listing saw without storing it): an older success looked latest to one kind and not to the other.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory import InventoryWriter
from janitor.model import format_time
from janitor.resources import KINDS

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OLD = format_time(NOW - timedelta(days=90))
LATEST = "latest successful pipeline"

POLICY = """\
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
    match: {older_than: 30d}
"""


def _pipeline(pid: int, ref: str, status: str = "success") -> dict[str, Any]:
    return {"id": pid, "iid": pid, "project_id": 1, "ref": ref, "sha": f"{pid:040x}", "status": status,
            "source": "push", "created_at": OLD, "updated_at": OLD}


def _job(jid: int, pipeline: dict[str, Any]) -> dict[str, Any]:
    return {"id": jid, "name": "build", "status": "success", "ref": pipeline["ref"], "finished_at": OLD,
            "pipeline": {k: pipeline[k] for k in ("id", "ref", "status")},
            "artifacts": [{"file_type": "archive", "size": 1000}, {"file_type": "trace", "size": 10}]}


def test_both_kinds_see_the_same_latest_success_in_a_plan(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = [_pipeline(80, "main"), _pipeline(90, "main")]
    writer = InventoryWriter(tmp_path / "inv", format_time(NOW), {"gitlab_url": "https://gitlab.example.com"})
    writer.add_project({"id": 1, "path_with_namespace": "acme/app", "archived": False, "default_branch": "main",
                        "job_artifacts_size": 2020, "_pipelines": old,
                        "_jobs": [_job(800, old[0]), _job(900, old[1])],
                        # the pipelines kind's recent listing saw pipeline 100 succeed on main
                        "_newestPipelines": {"main": 100}, "_newestSuccessfulPipelines": {"main": 100}})
    writer.commit()
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                  "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"])
    assert result.code == 0, result.err
    items = json.loads((tmp_path / "plan.json").read_text())["items"]
    assert {(i["resource"], json.dumps(i["target"], sort_keys=True)) for i in items} == {
        ("pipelines", '{"pipeline_id": 80, "ref": "main"}'), ("pipelines", '{"pipeline_id": 90, "ref": "main"}'),
        ("job_artifacts", '{"job_id": 800}'), ("job_artifacts", '{"job_id": 900}')}
    assert LATEST not in (tmp_path / "report" / "report.md").read_text()


REFS = st.sampled_from(["main", "dev", "v1.0"])
STATUSES = st.sampled_from(["success", "success", "failed", "canceled", "running"])


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    ids = sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=12)))
    pipelines = [_pipeline(pid, draw(REFS), draw(STATUSES)) for pid in ids]
    listed = [p for p in pipelines if draw(st.booleans())]  # what the pipelines kind stored in full
    jobs = [_job(1000 + p["id"], p) for p in pipelines if p["status"] != "running" and draw(st.booleans())]
    slim = [{k: p[k] for k in ("id", "ref", "status")} for p in pipelines
            if p not in listed and any(j["pipeline"]["id"] == p["id"] for j in jobs)]
    recent = draw(st.dictionaries(REFS, st.integers(41, 60), max_size=3))
    return {"id": 1, "path_with_namespace": "acme/app", "_pipelines": listed + slim, "_jobs": jobs,
            "_newestPipelines": dict(recent), "_newestSuccessfulPipelines": recent}


@settings(max_examples=300, deadline=None)
@given(projects())
def test_no_pipeline_is_deletable_while_its_artifacts_are_called_locked(project: dict[str, Any]) -> None:
    locked = {c.attrs["pipeline_id"] for c in KINDS["job_artifacts"].candidates(project, "delete")
              if c.protected and LATEST in c.protected}
    pipelines = {c.target["pipeline_id"]: c.protected for c in KINDS["pipelines"].candidates(project, "delete")}
    called_latest = {pid for pid, reason in pipelines.items() if reason and LATEST in reason}
    assert not {pid for pid in locked if pid in pipelines and pipelines[pid] is None}, \
        "a pipeline is deletable while job_artifacts keeps its artifacts as locked"
    with_jobs = {j["pipeline"]["id"] for j in project["_jobs"] if j["pipeline"]["status"] != "running"}
    assert called_latest & with_jobs <= locked, "pipelines calls a pipeline latest that job_artifacts does not"
