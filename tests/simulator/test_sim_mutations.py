"""Deleting artifacts, erasing jobs and deleting pipelines change the instance the way GitLab
does, and project statistics follow."""

from __future__ import annotations

import requests
from sim_helpers import api, auth, client

from janitor.simulator import Instance, Simulator


def artifact_types(sim: Simulator, project_id: int, job_id: int) -> list[str]:
    job = client(sim).projects.get(project_id, lazy=True).jobs.get(job_id)
    return [a["file_type"] for a in job.attributes["artifacts"]]


def stored_artifacts(instance: Instance, project_id: int) -> int:
    return sum(job.artifacts_size for job in instance.projects[project_id].jobs)


def job_artifacts_size(sim: Simulator, project_id: int) -> int:
    project = client(sim).projects.get(project_id, statistics=True)
    size: int = project.statistics["job_artifacts_size"]
    return size


def test_deleting_artifacts_keeps_the_log_and_updates_statistics(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.archive_size and j.junit_size)
    project_id = job.pipeline.project_id
    before = job_artifacts_size(sim, project_id)
    assert artifact_types(sim, project_id, job.id) == ["archive", "metadata", "trace", "junit"]
    removed = job.archive_size + job.metadata_size + job.junit_size

    client(sim).projects.get(project_id, lazy=True).jobs.get(job.id, lazy=True).delete_artifacts()

    assert artifact_types(sim, project_id, job.id) == ["trace"]
    after = job_artifacts_size(sim, project_id)
    assert after == before - removed == stored_artifacts(sim.instance, project_id)
    body = requests.get(api(sim, f"/projects/{project_id}/jobs/{job.id}"), headers=auth(), timeout=10).json()
    assert "artifacts_file" not in body


def test_deleting_artifacts_of_a_job_without_any_is_still_204(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if not j.archive_size)
    path = f"/projects/{job.pipeline.project_id}/jobs/{job.id}/artifacts"
    for _ in range(2):
        response = requests.delete(api(sim, path), headers=auth(), timeout=10)
        assert response.status_code == 204
        assert response.content == b""


def test_erase_removes_artifacts_and_log(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.archive_size)
    project_id = job.pipeline.project_id
    response = requests.post(api(sim, f"/projects/{project_id}/jobs/{job.id}/erase"), headers=auth(),
                             timeout=10)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == job.id
    assert body["artifacts"] == []
    assert body["erased_at"] is not None
    assert job_artifacts_size(sim, project_id) == stored_artifacts(sim.instance, project_id)


def test_a_job_that_has_not_finished_cannot_be_erased(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.status in ("running", "pending", "manual"))
    response = requests.post(api(sim, f"/projects/{job.pipeline.project_id}/jobs/{job.id}/erase"),
                             headers=auth(), timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "403 Forbidden - Job is not erasable!"}


def test_deleting_a_pipeline_deletes_its_jobs(sim: Simulator) -> None:
    project = next(p for p in sim.instance.projects.values() if p.job_artifacts_size)
    pipeline = next(p for p in project.pipelines if any(j.artifacts_size for j in p.jobs))
    job_ids = [job.id for job in pipeline.jobs]

    client(sim).projects.get(project.id, lazy=True).pipelines.delete(pipeline.id)

    for path in [f"/projects/{project.id}/pipelines/{pipeline.id}"] + [
            f"/projects/{project.id}/jobs/{job_id}" for job_id in job_ids]:
        assert requests.get(api(sim, path), headers=auth(), timeout=10).status_code == 404
    listed = [j.id for j in client(sim).projects.get(project.id, lazy=True).jobs.list(iterator=True)]
    assert not set(job_ids) & set(listed)
    assert job_artifacts_size(sim, project.id) == stored_artifacts(sim.instance, project.id)


def test_pipeline_filters(shared_sim: Simulator) -> None:
    project = shared_sim.instance.projects[1]
    gl_project = client(shared_sim).projects.get(1, lazy=True)
    main = [p.id for p in gl_project.pipelines.list(iterator=True, ref="main")]
    assert main == sorted((p.id for p in project.pipelines if p.ref == "main"), reverse=True)
    running = [p.id for p in gl_project.pipelines.list(iterator=True, scope="running")]
    assert running == [p.id for p in project.pipelines if p.status == "running"]
    cutoff = project.pipelines[len(project.pipelines) // 2]
    stamp = requests.get(api(shared_sim, f"/projects/1/pipelines/{cutoff.id}"), headers=auth(),
                         timeout=10).json()["updated_at"]
    older = gl_project.pipelines.list(iterator=True, updated_before=stamp, order_by="updated_at", sort="asc")
    stamps = [p.updated_at for p in older]
    assert stamps == sorted(stamps) and all(s < stamp for s in stamps) and stamps


def test_job_scope_filters(shared_sim: Simulator) -> None:
    gl_project = client(shared_sim).projects.get(1, lazy=True)
    jobs = list(gl_project.jobs.list(iterator=True, scope=["running", "pending"]))
    assert jobs and {j.status for j in jobs} <= {"running", "pending"}
    assert all(j.finished_at is None for j in jobs)
    single = requests.get(api(shared_sim, "/projects/1/jobs?scope=success&per_page=100"), headers=auth(),
                          timeout=10).json()
    assert {j["status"] for j in single} == {"success"}


def test_pipeline_jobs(shared_sim: Simulator) -> None:
    pipeline = shared_sim.instance.projects[1].pipelines[0]
    jobs = client(shared_sim).projects.get(1, lazy=True).pipelines.get(pipeline.id, lazy=True).jobs.list(
        iterator=True)
    assert sorted(j.id for j in jobs) == [j.id for j in pipeline.jobs]
