"""The simulator's registry, packages and environments answer as GitLab does: what each delete refuses,
status codes, bodies, and statistics that follow what a project holds."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from sim_helpers import api, auth

from janitor.simulator import Simulator
from janitor.simulator.registry_records import environments, package_rules, packages, repositories

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gitlab"


def statistics(sim: Simulator, project_id: int) -> dict[str, int]:
    body = requests.get(api(sim, f"/projects/{project_id}?statistics=true"), headers=auth(), timeout=10).json()
    return dict(body["statistics"])


def test_deleting_a_tag_deletes_every_tag_on_its_image(sim: Simulator) -> None:
    project = sim.instance.projects[1]
    root = repositories(project)[0]
    digest = root.tags["latest"].digest
    siblings = {n for n, t in root.tags.items() if t.digest == digest}
    assert len(siblings) >= 2
    size_before = statistics(sim, 1)["container_registry_size"]
    url = api(sim, f"/projects/1/registry/repositories/{root.id}/tags/main")
    response = requests.delete(url, headers=auth(), timeout=10)
    assert response.status_code == 200 and response.content == b""  # errors.md: `status :ok`
    assert not siblings & set(root.tags)
    assert statistics(sim, 1)["container_registry_size"] < size_before
    again = requests.delete(url, headers=auth(), timeout=10)
    assert again.status_code == 404 and again.json() == {"message": "404 Tag Not Found"}


def test_repositories_report_tags_count_and_empty_ones(sim: Simulator) -> None:
    rows = requests.get(api(sim, "/projects/1/registry/repositories?tags_count=true"), headers=auth(), timeout=10)
    counts = {r["name"]: r["tags_count"] for r in rows.json()}
    assert counts["cache"] == 0 and counts[""] > 3


def test_a_protected_package_is_refused_with_403(sim: Simulator) -> None:
    project = sim.instance.projects[1]
    guarded = next(p for p in packages(project) if any(r.covers(p) for r in package_rules(project)))
    response = requests.delete(api(sim, f"/projects/1/packages/{guarded.id}"), headers=auth(), timeout=10)
    assert response.status_code == 403 and response.json()["message"].startswith("403 Forbidden")
    free = next(p for p in packages(project) if p.status == "default"
                and not any(r.covers(p) for r in package_rules(project)))
    size = statistics(sim, 1)["packages_size"]
    assert requests.delete(api(sim, f"/projects/1/packages/{free.id}"), headers=auth(), timeout=10).status_code == 204
    assert statistics(sim, 1)["packages_size"] == size - free.size


def test_packages_list_hides_what_gitlab_hides(sim: Simulator) -> None:
    project = sim.instance.projects[1]
    hidden = [p for p in packages(project) if p.status in ("hidden", "processing")]
    listed = requests.get(api(sim, "/projects/1/packages?per_page=100"), headers=auth(), timeout=10).json()
    assert {p["status"] for p in listed} <= {"default", "deprecated", "error"}
    for package in hidden:
        single = requests.get(api(sim, f"/projects/1/packages/{package.id}"), headers=auth(), timeout=10)
        assert single.status_code == 404


def test_an_environment_must_be_stopped_before_it_is_deleted(sim: Simulator) -> None:
    staging = next(e for e in environments(sim.instance.projects[1]) if e.name == "staging")
    url = api(sim, f"/projects/1/environments/{staging.id}")
    assert requests.delete(url, headers=auth(), timeout=10).status_code == 403  # environments.md
    stopped = requests.post(url + "/stop", headers=auth(), timeout=10)
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    assert requests.delete(url, headers=auth(), timeout=10).status_code == 204
    assert requests.get(url, headers=auth(), timeout=10).status_code == 404


def test_a_protected_environment_refuses_a_developer(sim: Simulator) -> None:
    production = next(e for e in environments(sim.instance.projects[1]) if e.name == "production")
    url = api(sim, f"/projects/1/environments/{production.id}/stop")
    assert requests.post(url, headers=auth("developer"), timeout=10).status_code == 403
    names = requests.get(api(sim, "/projects/1/protected_environments"), headers=auth(), timeout=10).json()
    assert [p["name"] for p in names] == ["production"]


def test_stop_answer_has_every_documented_field(sim: Simulator) -> None:
    from test_sim_conformance import mismatches

    staging = next(e for e in environments(sim.instance.projects[1]) if e.name == "staging")
    documented = json.loads((FIXTURES / "environment_stop.json").read_text())
    answer = requests.post(api(sim, f"/projects/1/environments/{staging.id}/stop"), headers=auth(), timeout=10)
    assert mismatches(documented, answer.json()) == []


def test_projects_without_registry_or_packages_have_zero_statistics(sim: Simulator) -> None:
    for project in sim.instance.projects.values():
        stats = statistics(sim, project.id)
        assert (stats["packages_size"] == 0) == (not any(p.status != "pending_destruction"
                                                         for p in packages(project)))
        assert (stats["container_registry_size"] == 0) == (not any(r.tags for r in repositories(project)))
