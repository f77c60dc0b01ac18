"""GET /projects/:id/jobs/:job_id/artifacts/*artifact_path, as doc/api/job_artifacts.md describes it
("Download a single artifact file by job ID")."""

from __future__ import annotations

import requests

from janitor.simulator import TOKENS, Simulator
from janitor.simulator.routes.jobs import add_job_with_files
from janitor.simulator.state import MAINTAINER, MAINTAINER_USER


def _get(http: requests.Session, sim: Simulator, path: str, token: str = TOKENS["read"]) -> requests.Response:
    return http.get(f"{sim.url}/api/v4{path}", headers={"PRIVATE-TOKEN": token}, timeout=10)


def test_one_file_of_the_archive_is_served_by_its_path_with_slashes(sim: Simulator, http: requests.Session) -> None:
    project = next(iter(sim.instance.projects.values()))
    job = add_job_with_files(sim.instance, project, name="janitor:plan", ref="main", status="success",
                             files={"out/deep/state.json": b'{"a": 1}\n', "out/plan.json": b"{}"})
    answer = _get(http, sim, f"/projects/{project.id}/jobs/{job.id}/artifacts/out/deep/state.json")
    assert answer.status_code == 200 and answer.content == b'{"a": 1}\n'
    # the job shows an archive in its artifacts list, so a client can tell before asking
    listed = _get(http, sim, f"/projects/{project.id}/jobs/{job.id}").json()
    assert [a["file_type"] for a in listed["artifacts"]][:1] == ["archive"]
    assert _get(http, sim, f"/projects/{project.id}/jobs/{job.id}/artifacts/out/missing.json").status_code == 404
    assert _get(http, sim, f"/projects/{project.id}/jobs/{job.id}/artifacts/out/%2E%2E/plan.json").status_code == 400
    assert _get(http, sim, f"/projects/{project.id}/jobs/999999/artifacts/out/plan.json").status_code == 404


def test_no_archive_or_no_role_answers_as_gitlab(sim: Simulator, http: requests.Session) -> None:
    project = next(iter(sim.instance.projects.values()))
    bare = add_job_with_files(sim.instance, project, name="janitor:plan", ref="main", status="success", files={})
    assert _get(http, sim, f"/projects/{project.id}/jobs/{bare.id}/artifacts/state.json").status_code == 404
    job = add_job_with_files(sim.instance, project, name="janitor:plan", ref="main", status="success",
                             files={"state.json": b"{}"})
    sim.instance.delete_job_artifacts(job, keep_trace=True)  # expired, or deleted by a clean-up
    assert _get(http, sim, f"/projects/{project.id}/jobs/{job.id}/artifacts/state.json").status_code == 404
    kept = add_job_with_files(sim.instance, project, name="janitor:plan", ref="main", status="success",
                              files={"state.json": b"{}"})
    sim.instance.add_member(project, MAINTAINER_USER, MAINTAINER)  # the read token's user is no member now
    assert _get(http, sim, f"/projects/{project.id}/jobs/{kept.id}/artifacts/state.json").status_code == 403

