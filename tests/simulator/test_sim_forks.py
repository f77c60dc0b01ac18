"""Forks in the simulator, over HTTP: `forked_from_project` (doc/api/projects.md), and a fork's MR listed
on the upstream with the fork as `source_project_id` (doc/api/merge_requests.md), found by the list filters
GitLab has (state, source_branch, source_project_id)."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from sim_helpers import api, auth, client

from janitor.simulator import Simulator
from janitor.simulator.forks import fork_project, open_fork_mr
from janitor.simulator.repo_state import repository

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gitlab"


def test_a_fork_names_its_upstream_and_the_upstream_counts_its_forks(sim: Simulator) -> None:
    upstream = sim.instance.projects[1]
    fork = fork_project(sim.instance, upstream, "other", "api-fork")
    gl = client(sim)
    body = gl.http_get(f"/projects/{fork.id}")
    assert isinstance(body, dict)
    assert body["forked_from_project"]["id"] == 1
    assert body["forked_from_project"]["path_with_namespace"] == upstream.path_with_namespace
    assert set(body["forked_from_project"]) >= {"id", "name", "path", "http_url_to_repo", "web_url", "namespace"}
    assert set(repository(fork).branches) == set(repository(upstream).branches), "a fork starts with its refs"
    listed = {p["id"]: p for p in gl.http_list("/projects", {"statistics": "true"}, get_all=True)}
    assert listed[fork.id]["forked_from_project"]["id"] == 1
    assert "forked_from_project" not in listed[1] and listed[1]["forks_count"] == 1


def test_a_forks_mr_is_listed_on_the_upstream_and_found_by_source_project_and_branch(sim: Simulator) -> None:
    upstream = sim.instance.projects[1]
    fork = fork_project(sim.instance, upstream, "other", "api-fork")
    branch = next(n for n in repository(fork).branches if n.startswith("feature/"))
    mr = open_fork_mr(sim.instance, fork, branch)
    url = api(sim, f"/projects/{upstream.id}/merge_requests")
    rows = requests.get(url, {"state": "opened", "source_project_id": fork.id}, headers=auth(), timeout=10).json()
    assert [(r["iid"], r["project_id"], r["source_project_id"], r["target_project_id"]) for r in rows] == [
        (mr.iid, upstream.id, fork.id, upstream.id)]
    documented = json.loads((FIXTURES / "merge_requests_list.json").read_text())[0]
    assert set(documented) <= set(rows[0]), "every documented field is there"
    by_branch = requests.get(url, {"state": "opened", "source_branch": branch}, headers=auth(), timeout=10).json()
    assert mr.id in {r["id"] for r in by_branch}
    own = requests.get(url, {"source_project_id": upstream.id}, headers=auth(), timeout=10).json()
    assert own and all(r["source_project_id"] == upstream.id for r in own)
    assert mr.id not in {r["id"] for r in own}
    on_fork = requests.get(api(sim, f"/projects/{fork.id}/merge_requests"), headers=auth(), timeout=10).json()
    assert on_fork == [], "an MR is listed by the project it targets only"
    bad = requests.get(url, {"source_project_id": "x"}, headers=auth(), timeout=10)
    assert (bad.status_code, bad.json()) == (400, {"error": "source_project_id is invalid"})
