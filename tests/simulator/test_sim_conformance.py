"""Every simulator response carries each field of GitLab's documented example, with its JSON type.

The examples are in tests/fixtures/gitlab (see its README for their source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from sim_helpers import api, auth

from janitor.simulator import Instance, Simulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gitlab"

# Keys whose documented example holds a value that a fresh, unconfigured GitLab answers with null
# (no licence detected, no avatar, not marked for deletion, no mirror). Null is accepted for these.
NULLABLE = {"license", "license_url", "avatar_url", "marked_for_deletion_at", "marked_for_deletion_on",
            "mirror_user_id", "issue_branch_template", "file_template_project_id", "parent_id",
            "runner", "runner_manager", "artifacts_expire_at", "started_at", "finished_at",
            "duration", "queued_duration", "contacted_at"}
# Keys GitLab sends only on some items: failure_reason on failed jobs (see the notes in the
# fixtures README), artifacts_file on jobs with an archive. A page must show them on some item.
CONDITIONAL = {"failure_reason", "artifacts_file"}
# An environment without a Kubernetes agent or an auto-stop time (most of them) answers null for these.
NULLABLE |= {"auto_stop_at", "kubernetes_namespace", "flux_resource_path", "cluster_agent"}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def mismatches(example: Any, actual: Any, where: str = "$") -> list[str]:
    """Differences that make `actual` not a superset of `example`: missing keys, other types."""
    problems: list[str] = []
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected object, got {kind(actual)}"]
        for key, value in example.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            elif value is None or (actual[key] is None and key in NULLABLE):
                continue
            elif kind(value) != kind(actual[key]):
                problems.append(f"{where}.{key}: expected {kind(value)}, got {kind(actual[key])}")
            else:
                problems += mismatches(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list) and example and actual:
        problems += list_mismatches(example, actual, where)
    return problems


def list_mismatches(examples: list[Any], actuals: list[Any], where: str) -> list[str]:
    """Each item has the keys every example item has; together they have every example key
    (some keys, like failure_reason or artifacts_file, only appear on some items)."""
    if not all(isinstance(e, dict) for e in examples):
        return [] if kind(examples[0]) == kind(actuals[0]) else [f"{where}[]: item type differs"]
    common = set.intersection(*(set(e) for e in examples)) - CONDITIONAL
    problems: list[str] = []
    for index, actual in enumerate(actuals):
        for example in examples:
            for problem in mismatches({k: v for k, v in example.items() if k in common}, actual,
                                      f"{where}[{index}]"):
                if problem not in problems:
                    problems.append(problem)
    seen = set().union(*(set(a) for a in actuals if isinstance(a, dict)))
    every = set().union(*(set(e) for e in examples))
    problems += [f"{where}[].{key}: on no item" for key in sorted(every - seen)]
    return problems


def fetch(sim: Simulator, path: str, method: str = "GET") -> Any:
    response = requests.request(method, api(sim, path), headers=auth(), timeout=10)
    assert response.ok, response.text
    return response.json()


def failed_job_with_archive(instance: Instance) -> tuple[int, int]:
    for job in instance.jobs.values():
        if job.archive_size and job.junit_size:
            return job.pipeline.project_id, job.id
    raise AssertionError("no job with a full set of artifacts")


def jobs_path(instance: Instance) -> str:
    # A page that mixes failed jobs, jobs with archives and jobs without: all example keys appear.
    project = next(j.pipeline.project_id for j in instance.jobs.values() if j.status == "failed")
    return f"/projects/{project}/jobs?per_page=100&scope[]=failed&scope[]=success"


def released_tag(instance: Instance) -> str:
    from janitor.simulator.repo_state import repository

    return "%5E" + next(iter(repository(instance.projects[1]).releases)) + "%24"  # ^name$: exactly that tag


CASES = {
    "projects_list.json": lambda i: "/projects?per_page=100",
    "projects_list_simple.json": lambda i: "/projects?simple=true",
    "project_single.json": lambda i: "/projects/1?statistics=true",
    "group_single.json": lambda i: "/groups/acme%2Fplatform",
    "group_single_with_projects_false.json": lambda i: "/groups/acme%2Fplatform?with_projects=false",
    "group_projects.json": lambda i: "/groups/acme/projects?include_subgroups=true",
    "group_subgroups.json": lambda i: "/groups/acme/subgroups",
    "jobs_list.json": jobs_path,
    "job_single.json": lambda i: "/projects/{}/jobs/{}".format(*failed_job_with_archive(i)),
    "pipelines_list.json": lambda i: "/projects/1/pipelines",
    "pipeline_single.json": lambda i: f"/projects/1/pipelines/{i.projects[1].pipelines[0].id}",
    # repository: project 1 has tags with a release (the newest version) and merged merge requests
    "branches_list.json": lambda i: "/projects/1/repository/branches",
    "branch_single.json": lambda i: "/projects/1/repository/branches/main",
    "tags_list.json": lambda i: "/projects/1/repository/tags?search=" + released_tag(i),
    "tag_single.json": lambda i: "/projects/1/repository/tags/v1.0.0",
    "protected_branches_list.json": lambda i: "/projects/1/protected_branches",
    "protected_tags_list.json": lambda i: "/projects/1/protected_tags",
    "releases_list.json": lambda i: "/projects/1/releases",
    "merge_requests_list.json": lambda i: "/projects/1/merge_requests?state=merged",
}


@pytest.mark.parametrize("example", sorted(CASES))
def test_response_has_every_documented_field(example: str, shared_sim: Simulator, small: Instance) -> None:
    documented = json.loads((FIXTURES / example).read_text())
    actual = fetch(shared_sim, CASES[example](small))
    assert mismatches(documented, actual) == []


def test_erase_response_has_every_documented_field(sim: Simulator) -> None:
    project_id, job_id = failed_job_with_archive(sim.instance)
    documented = json.loads((FIXTURES / "job_erase.json").read_text())
    documented.pop("failure_reason", None)
    actual = fetch(sim, f"/projects/{project_id}/jobs/{job_id}/erase", method="POST")
    assert mismatches(documented, actual) == []


def test_the_checker_notices_a_missing_field_and_a_wrong_type() -> None:
    documented = {"id": 1, "pipeline": {"ref": "main"}, "items": [{"a": 1}]}
    assert mismatches(documented, {"id": "1", "pipeline": {}, "items": [{"b": 2}]}) == [
        "$.id: expected number, got str", "$.pipeline.ref: missing", "$.items[0].a: missing",
        "$.items[].a: on no item",
    ]


# Registry, packages and environments (janitor/simulator/routes/registry.py, packages.py, environments.py)
def _first(instance: Instance, family: str) -> Any:
    from janitor.simulator import registry_records as records

    return next(x for p in instance.projects.values() for x in getattr(records, family)(p))


def _conan_project(instance: Instance) -> int:
    from janitor.simulator.registry_records import packages

    return next(p.id for p in instance.projects.values() if any(k.package_type == "conan" for k in packages(p)))


CASES.update({
    "registry_repositories_list.json": lambda i: "/projects/1/registry/repositories",
    "registry_repository_single.json":
        lambda i: f"/registry/repositories/{_first(i, 'repositories').id}?tags=true&tags_count=true&size=true",
    "registry_tags_list.json": lambda i: f"/projects/1/registry/repositories/{_first(i, 'repositories').id}/tags",
    "registry_tag_details.json":
        lambda i: f"/projects/1/registry/repositories/{_first(i, 'repositories').id}/tags/latest",
    "packages_list.json": lambda i: f"/projects/{_conan_project(i)}/packages?per_page=100",
    "package_single.json": lambda i: "/projects/1/packages/{}".format(
        next(p.id for p in _packages_of(i, 1) if p.status == "default")),
    "package_files_list.json": lambda i: "/projects/1/packages/{}/package_files".format(
        next(p.id for p in _packages_of(i, 1) if p.status == "default")),
    "environments_list.json": lambda i: "/projects/1/environments",
    "environment_single.json": lambda i: f"/projects/1/environments/{_first(i, 'environments').id}",
    "deployments_list.json": lambda i: "/projects/1/deployments",
})


def _packages_of(instance: Instance, project_id: int) -> list[Any]:
    from janitor.simulator.registry_records import packages

    return packages(instance.projects[project_id])
