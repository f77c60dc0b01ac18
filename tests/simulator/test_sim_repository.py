"""Repository endpoints with GitLab's semantics: lookups by encoded name, what each DELETE refuses and
with which status and body, and the filters the kinds rely on."""

from __future__ import annotations

from urllib.parse import quote

import requests
from sim_helpers import api, auth

from janitor.simulator import Simulator
from janitor.simulator.repo_state import repository


def enc(name: str) -> str:
    return quote(name, safe="")


def test_branches_with_special_names_are_found_by_their_encoded_name(sim: Simulator) -> None:
    for name in ("feature/a#b", "fix/100%", "docs/read me", "feature/ünïcode"):
        response = requests.get(api(sim, f"/projects/1/repository/branches/{enc(name)}"), headers=auth(), timeout=10)
        assert response.status_code == 200 and response.json()["name"] == name
    missing = requests.get(api(sim, "/projects/1/repository/branches/nope"), headers=auth(), timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Branch Not Found"})


def test_branch_flags_follow_the_protection_rules_and_the_default(sim: Simulator) -> None:
    rows = requests.get(api(sim, "/projects/1/repository/branches?per_page=100"), headers=auth(), timeout=10).json()
    flags = {b["name"]: (b["default"], b["protected"]) for b in rows}
    assert flags["main"] == (True, True)
    assert flags["release/1.x"] == (False, True)  # by the wildcard rule release/*
    assert flags["fix/100%"] == (False, False)
    found = requests.get(api(sim, "/projects/1/repository/branches?search=%5Efeature%2F"), headers=auth(),
                         timeout=10).json()
    assert found and all(b["name"].startswith("feature/") for b in found)


def test_branch_delete_refusals(sim: Simulator) -> None:
    url = api(sim, "/projects/1/repository/branches/")
    default = requests.delete(url + "main", headers=auth(), timeout=10)
    assert (default.status_code, default.json()) == (
        400, {"message": "The default branch of a project cannot be deleted."})
    developer = requests.delete(url + enc("release/1.x"), headers=auth("developer"), timeout=10)
    assert developer.status_code == 403 and "protected branches" in developer.json()["message"]
    reader = requests.delete(url + enc("fix/100%"), headers=auth("read"), timeout=10)
    assert reader.status_code == 403 and reader.json()["error"] == "insufficient_scope"
    assert requests.delete(url + enc("fix/100%"), headers=auth("developer"), timeout=10).status_code == 204
    assert requests.delete(url + enc("fix/100%"), headers=auth(), timeout=10).status_code == 404
    assert "fix/100%" not in repository(sim.instance.projects[1]).branches


def test_tag_delete_refuses_protected_tags_below_maintainer_and_takes_the_release(sim: Simulator) -> None:
    repo = repository(sim.instance.projects[1])
    url = api(sim, "/projects/1/repository/tags/")
    refused = requests.delete(url + "v1.0.0", headers=auth("developer"), timeout=10)
    assert (refused.status_code, refused.json()) == (403, {"message": "403 Forbidden - You don't have access to "
                                                                      "delete the tag"})
    released = next(iter(repo.releases))
    tag = requests.get(url + released, headers=auth(), timeout=10).json()
    assert tag["release"]["tag_name"] == released and tag["protected"] is False
    assert requests.delete(url + released, headers=auth(), timeout=10).status_code == 204
    assert released not in repo.tags and released not in repo.releases
    assert requests.get(url + released, headers=auth(), timeout=10).json() == {"message": "404 Tag Not Found"}


def test_tags_sort_by_version(sim: Simulator) -> None:
    rows = requests.get(api(sim, "/projects/1/repository/tags?order_by=version&sort=asc"), headers=auth(),
                        timeout=10).json()
    versions = [t["name"] for t in rows if t["name"].startswith("v")]
    assert versions == sorted(versions, key=lambda n: [int(x) for x in n[1:].split(".")])


def test_protection_rules_need_maintainer_and_wildcards_delete_by_encoded_name(sim: Simulator) -> None:
    url = api(sim, "/projects/1/protected_branches")
    assert requests.get(url, headers=auth("developer"), timeout=10).status_code == 403
    names = [r["name"] for r in requests.get(url, headers=auth(), timeout=10).json()]
    assert names == ["main", "release/*", "hotfix/*"]
    assert requests.delete(f"{url}/{enc('hotfix/*')}", headers=auth(), timeout=10).status_code == 204
    gone = requests.get(f"{url}/{enc('hotfix/*')}", headers=auth(), timeout=10)
    assert (gone.status_code, gone.json()) == (404, {"message": "404 Protected Branch Not Found"})
    tags = requests.get(api(sim, "/projects/1/protected_tags"), headers=auth(), timeout=10).json()
    assert [t["name"] for t in tags] == ["v*.0.0"]


def test_merge_requests_filter_by_state_and_source_branch(sim: Simulator) -> None:
    url = api(sim, "/projects/1/merge_requests")
    opened = requests.get(url, {"state": "opened"}, headers=auth(), timeout=10).json()
    assert opened and all(mr["state"] == "opened" for mr in opened)
    one = requests.get(url, {"state": "opened", "source_branch": "feature/ünïcode"}, headers=auth(),
                       timeout=10).json()
    assert [mr["source_branch"] for mr in one] == ["feature/ünïcode"]
    assert requests.get(url, {"state": "bogus"}, headers=auth(), timeout=10).status_code == 400


def test_every_pipeline_branch_ref_that_exists_is_a_branch(sim: Simulator) -> None:
    for project in sim.instance.projects.values():
        repo = repository(project)
        assert project.default_branch in repo.branches and "hotfix/*" in repo.protected_branches
        refs = {p.ref for p in project.pipelines if not p.tag}
        assert {r for r in refs if not r.startswith("feature/")} <= set(repo.branches)
        gone = {r for r in refs if r not in repo.branches}
        assert all(any(mr.source_branch == r and mr.state == "merged" for mr in repo.merge_requests) for r in gone)
