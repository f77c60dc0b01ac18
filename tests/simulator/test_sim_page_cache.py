"""Job pages are served from cached renderings (so the benchmark measures the janitor, not the simulator),
and a change shows on the very next page: a delete or an erase over HTTP, or a test editing the instance."""

from __future__ import annotations

from typing import Any

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import NOW, api, auth

from janitor.simulator import Simulator, generate
from janitor.simulator.routes.jobs import render_job
from janitor.simulator.routing import Context
from janitor.simulator.state import TOKEN_RECORDS, TOKENS


def page(sim: Simulator, project_id: int) -> tuple[bytes, list[dict[str, Any]]]:
    response = requests.get(api(sim, f"/projects/{project_id}/jobs"), params={"per_page": 100},
                            headers=auth(), timeout=10)
    assert response.status_code == 200
    return response.content, response.json()


def fresh_rendering(sim: Simulator, project_id: int) -> list[dict[str, Any]]:
    """The page as the uncached renderer would write it now."""
    project = sim.instance.projects[project_id]
    ctx = Context(sim.instance, "GET", {}, {}, TOKEN_RECORDS[TOKENS["admin"]], sim.url)
    return [render_job(job, ctx, project) for job in reversed(project.jobs)][:100]


def test_a_listed_page_is_cached_and_a_delete_shows_on_the_next_listing(sim: Simulator) -> None:
    job = next(j for j in sim.instance.jobs.values() if j.archive_size)
    project_id = job.pipeline.project_id
    raw, rows = page(sim, project_id)
    assert job.id in sim.instance.rendered_jobs  # the first listing filled the cache
    assert [a["file_type"] for a in next(r for r in rows if r["id"] == job.id)["artifacts"]][:2] == \
        ["archive", "metadata"]
    cached = sim.instance.rendered_jobs[job.id]
    assert page(sim, project_id)[0] == raw  # served again from the cache, the same bytes
    assert sim.instance.rendered_jobs[job.id] is cached  # not rendered again

    done = requests.delete(api(sim, f"/projects/{project_id}/jobs/{job.id}/artifacts"), headers=auth(), timeout=10)
    assert done.status_code == 204

    _, rows = page(sim, project_id)
    listed = next(r for r in rows if r["id"] == job.id)
    assert "archive" not in [a["file_type"] for a in listed["artifacts"]]
    assert "artifacts_file" not in listed
    assert rows == fresh_rendering(sim, project_id)


# Direct edits of every kind of field render_job reads, on the job and on its pipeline (the cache's edit
# numbers, simulator/state.py _EDITS, must follow each); `other` is another job of the project.
_EDITS: dict[str, Any] = {
    "expire": lambda job, other: setattr(job, "expire_at", (job.expire_at or 0) + 86_400_000),
    "name": lambda job, other: setattr(job, "name", job.name + "-x"),
    "status": lambda job, other: setattr(job, "status", "failed" if job.status != "failed" else "success"),
    "trace": lambda job, other: setattr(job, "trace_size", job.trace_size + 1),
    "pipeline-ref": lambda job, other: setattr(job.pipeline, "ref", job.pipeline.ref + "-x"),
    "pipeline-sha": lambda job, other: setattr(job.pipeline, "sha", "f" * 40),
    "pipeline-status": lambda job, other: setattr(job.pipeline, "status", "running"),
    "other-pipeline": lambda job, other: setattr(job, "pipeline", other.pipeline),
}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["delete", "erase", *_EDITS]), st.integers(0, 10_000)), max_size=6))
def test_cached_pages_always_equal_a_fresh_rendering(changes: list[tuple[str, int]]) -> None:
    with Simulator(generate(seed=11, scale="tiny", now=NOW)) as sim:
        project_id = next(p.id for p in sim.instance.projects.values() if p.jobs)
        jobs = sim.instance.projects[project_id].jobs
        page(sim, project_id)
        for change, pick in changes:
            job = jobs[pick % len(jobs)]
            base = api(sim, f"/projects/{project_id}/jobs/{job.id}")
            if change == "delete":
                requests.delete(base + "/artifacts", headers=auth(), timeout=10)
            elif change == "erase":
                requests.post(base + "/erase", headers=auth(), timeout=10)
            else:  # a test that edits the instance directly must see its edit too, of a job or its pipeline
                _EDITS[change](job, jobs[(pick + 1) % len(jobs)])
            assert page(sim, project_id)[1] == fresh_rendering(sim, project_id)


def test_a_page_served_under_another_host_name_names_that_host(sim: Simulator) -> None:
    project_id = next(p.id for p in sim.instance.projects.values() if p.jobs)
    page(sim, project_id)
    other = requests.get(api(sim, f"/projects/{project_id}/jobs"), params={"per_page": 100},
                         headers={**auth(), "Host": "gitlab.example.com"}, timeout=10).json()
    assert other[0]["web_url"].startswith("http://gitlab.example.com/")
    assert page(sim, project_id)[1] == fresh_rendering(sim, project_id)  # and back under the first host


def test_a_renamed_project_shows_its_new_path_on_the_next_page(sim: Simulator) -> None:
    project = next(p for p in sim.instance.projects.values() if p.jobs)
    page(sim, project.id)
    project.path = "renamed"
    rows = page(sim, project.id)[1]
    assert all("/renamed/-/jobs/" in row["web_url"] for row in rows)
    assert rows == fresh_rendering(sim, project.id)
