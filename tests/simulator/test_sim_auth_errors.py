"""Authentication, token scopes, roles and error bodies as GitLab sends them
(tests/fixtures/gitlab/errors.md)."""

from __future__ import annotations

import gitlab
import pytest
import requests
from sim_helpers import api, auth, client

from janitor.simulator import TOKENS, Simulator

INSUFFICIENT_SCOPE = {
    "error": "insufficient_scope",
    "error_description": "The request requires higher privileges than provided by the access token.",
    "scope": "api",
}


@pytest.mark.parametrize("headers", [{}, {"PRIVATE-TOKEN": "glpat-wrong"}, {"Authorization": "Bearer nope"}])
def test_missing_or_unknown_token_is_401(shared_sim: Simulator, headers: dict[str, str]) -> None:
    response = requests.get(api(shared_sim, "/projects"), headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "401 Unauthorized"}


def test_bearer_token_is_accepted(shared_sim: Simulator) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['read']}"}
    assert requests.get(api(shared_sim, "/user"), headers=headers, timeout=10).json()["username"] == (
        "janitor-reader")


def test_token_self_reports_its_scopes(shared_sim: Simulator) -> None:
    scopes = {name: requests.get(api(shared_sim, "/personal_access_tokens/self"), headers=auth(name),
                                 timeout=10).json()["scopes"] for name in TOKENS}
    assert scopes == {"admin": ["api"], "read": ["read_api"], "developer": ["api"], "maintainer": ["api"],
                      "reporter": ["api"], "admin-mode": ["api", "admin_mode"]}


def test_version_and_user(shared_sim: Simulator) -> None:
    gl = client(shared_sim)
    gl.auth()
    assert gl.user is not None and gl.user.username == "root"
    assert gl.version()[0] != "unknown"


def test_read_api_token_cannot_write(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.archive_size)
    path = f"/projects/{job.pipeline.project_id}/jobs/{job.id}/artifacts"
    response = requests.delete(api(sim, path), headers=auth("read"), timeout=10)
    assert response.status_code == 403
    assert response.json() == INSUFFICIENT_SCOPE
    assert job.archive_size  # nothing changed
    assert requests.get(api(sim, path.rsplit("/", 1)[0]), headers=auth("read"), timeout=10).ok


def test_developer_cannot_delete_artifacts_erase_or_delete_pipelines(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.archive_size)
    project = client(sim, "developer").projects.get(job.pipeline.project_id, lazy=True)
    attempts = (
        project.jobs.get(job.id, lazy=True).delete_artifacts,
        project.jobs.get(job.id, lazy=True).erase,
        lambda: project.pipelines.delete(job.pipeline.id),
    )
    for attempt in attempts:
        with pytest.raises(gitlab.GitlabError) as refused:
            attempt()
        assert refused.value.response_code == 403
    assert job.archive_size and job.pipeline.id in sim.instance.pipelines
    response = requests.delete(api(sim, f"/projects/{job.pipeline.project_id}/jobs/{job.id}/artifacts"),
                               headers=auth("developer"), timeout=10)
    assert response.json() == {"message": "403 Forbidden"}


@pytest.mark.parametrize(("path", "body"), [
    ("/projects/9999", {"message": "404 Project Not Found"}),
    ("/projects/acme%2Fnope", {"message": "404 Project Not Found"}),
    ("/groups/9999", {"message": "404 Group Not Found"}),
    ("/projects/1/jobs/99999999", {"message": "404 Job Not Found"}),
    ("/projects/1/pipelines/99999999", {"message": "404 Pipeline Not Found"}),
    ("/projects/1/no-such-thing", {"error": "404 Not Found"}),
])
def test_not_found_bodies(shared_sim: Simulator, path: str, body: dict[str, str]) -> None:
    response = requests.get(api(shared_sim, path), headers=auth(), timeout=10)
    assert response.status_code == 404
    assert response.json() == body


def test_a_job_of_another_project_is_not_found(shared_sim: Simulator) -> None:
    job_id = shared_sim.instance.projects[2].jobs[0].id
    response = requests.get(api(shared_sim, f"/projects/1/jobs/{job_id}"), headers=auth(), timeout=10)
    assert response.status_code == 404


def test_projects_and_groups_by_full_path(shared_sim: Simulator) -> None:
    gl = client(shared_sim)
    assert gl.projects.get("acme/platform/api").id == 1
    assert gl.groups.get("acme/platform").full_path == "acme/platform"
    response = requests.get(api(shared_sim, "/projects/acme%2Fplatform%2Fapi/jobs?per_page=1"),
                            headers=auth(), timeout=10)
    assert response.json()[0]["pipeline"]["project_id"] == 1


def test_responses_keep_the_connection_alive(shared_sim: Simulator, http: requests.Session) -> None:
    for _ in range(3):
        response = http.get(api(shared_sim, "/version"), headers=auth(), timeout=10)
        assert response.headers["Content-Type"] == "application/json"
        assert int(response.headers["Content-Length"]) == len(response.content)
    adapter = http.get_adapter(shared_sim.url)
    assert adapter.poolmanager is not None
    assert response.raw.version == 11
