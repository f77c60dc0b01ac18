"""The CLI on older GitLab releases (16.0 and later), through the simulator's release emulation.

- An endpoint without keyset pagination (an older release, or its feature flag off) answers 405, or 501 on
  GitLab's first keyset code: collect reads it with offset pages instead, once per endpoint for the run, and
  the inventory is the same as on the newest release.
- Offset pages stop at the instance's offset limit for types that have keyset pagination: the project that
  hit it is named, with the reason.
- A route the release does not have (package protection rules before 17.1) protects nothing there: the
  whole cycle plans and deletes packages on 16.0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import ARTIFACTS_POLICY, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.gitlab_api import Connection, GitLabAPI
from janitor.inventory import INCOMPLETE
from janitor.resources.job_artifacts import FINISHED, JOBS
from janitor.resources.protections import FEATURE_MISSING, PROTECTION_READS
from janitor.simulator import TOKENS, Instance, Simulator, generate
from janitor.simulator.registry_records import package_rules, packages

Run = Callable[..., Result]

PACKAGES_AND_ARTIFACTS = ARTIFACTS_POLICY + """\
  - name: old-packages
    resource: packages
    action: delete
    match: {older_than: 1d}
    keep: {latest: 1, per: name}
"""


@pytest.fixture(scope="module")
def newest_inventory(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The inventory collected from the newest release (keyset everywhere), to compare older ones with."""
    out = tmp_path_factory.mktemp("newest")
    with Simulator(generate(seed=3, scale="small")) as sim:
        return _collect(sim, out, ARTIFACTS_POLICY)


def _collect(sim: Simulator, out: Path, policy: str) -> dict[str, Any]:
    from janitor.cli import main

    (out / "policy.yml").write_text(policy, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITLAB_URL", sim.url)
        patch.setenv("GITLAB_TOKEN", TOKENS["admin"])
        code = main(["collect", "--policy", str(out / "policy.yml"), "--out", str(out / "inv")])
    assert code == 0
    entries: dict[str, Any] = json.loads((out / "inv" / "projects.json").read_text())["entries"]
    return entries


def _jobs_by_project(entries: dict[str, Any]) -> dict[str, list[int]]:
    return {key: sorted(int(job["id"]) for job in entry.get("_jobs") or []) for key, entry in entries.items()}


def _jobs_requests(sim: Simulator) -> list[tuple[bool, int]]:
    """(asked for keyset, status) of every GET /projects/:id/jobs listing."""
    return [((r.query.get("pagination") or [""])[-1] == "keyset", r.status) for r in sim.requests
            if r.method == "GET" and r.path.startswith("/projects/") and r.path.endswith("/jobs")]


@pytest.mark.parametrize(("version", "features_off", "refusal"), [
    ("15.8", (), 405),               # before project jobs had keyset pagination (doc/api/jobs.md: 15.9)
    ("16.0", ("jobs_keyset",), 405),  # the endpoint's flag off
    ("13.0", (), 501),               # GitLab's first keyset code answered 501
])
def test_collect_falls_back_to_offset_pages_once_per_endpoint(
        run: Run, tmp_path: Path, newest_inventory: dict[str, Any], version: str, features_off: tuple[str, ...],
        refusal: int) -> None:
    with Simulator(generate(seed=3, scale="small"), gitlab_version=version, features_off=features_off) as sim:
        (tmp_path / "policy.yml").write_text(ARTIFACTS_POLICY, encoding="utf-8")
        # one worker, so "once" is exact (with more, each worker asking at the same time may be refused once)
        result = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv", "--concurrency", 1],
                     {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]})
        listings = _jobs_requests(sim)
    assert result.code == 0, result.err
    entries = json.loads((tmp_path / "inv" / "projects.json").read_text())["entries"]
    assert not [e["path_with_namespace"] for e in entries.values() if e.get(INCOMPLETE)]
    assert _jobs_by_project(entries) == _jobs_by_project(newest_inventory)
    # asked once with keyset, refused, remembered: every later listing uses offset pages from the start
    assert [r for r in listings if r[0]] == [(True, refusal)]
    assert all(status == 200 for keyset, status in listings if not keyset)


def _finished_jobs(instance: Instance) -> dict[str, int]:
    return {p.path_with_namespace: sum(1 for j in p.jobs if j.status in FINISHED) for p in instance.projects.values()}


def test_offset_limit_names_the_project_and_why(run: Run, tmp_path: Path) -> None:
    instance = generate(seed=3, scale="small")
    limit = 100  # one page of 100; the second page is past the limit
    too_many = sorted(path for path, count in _finished_jobs(instance).items() if count > limit)
    assert too_many, "the sample needs a project with more finished jobs than the limit"
    with Simulator(instance, gitlab_version="16.0", features_off=("jobs_keyset",)) as sim:
        sim.offset_limit = limit
        (tmp_path / "policy.yml").write_text(ARTIFACTS_POLICY, encoding="utf-8")
        result = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"],
                     {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]})
    assert result.code == 1
    entries = json.loads((tmp_path / "inv" / "projects.json").read_text())["entries"]
    incomplete = sorted(e["path_with_namespace"] for e in entries.values() if e.get(INCOMPLETE))
    assert incomplete == too_many
    for path in too_many:
        line = next(line for line in result.err.splitlines() if path in line)
        assert "at most 100 Ci::Build rows with offset pages" in line
        assert "keyset pagination" in line and "not available" in line
    assert "Traceback" not in result.err


def test_whole_cycle_against_gitlab_16_0(run: Run, tmp_path: Path) -> None:
    instance = generate(seed=3, scale="small")
    with_rules = [p for p in instance.projects.values() if package_rules(p)]
    assert with_rules, "the sample should have package protection rules to lose on 16.0"
    with Simulator(instance, gitlab_version="16.0") as sim:
        env = {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
        (tmp_path / "policy.yml").write_text(PACKAGES_AND_ARTIFACTS, encoding="utf-8")
        collected = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"], env)
        assert collected.code == 0, collected.err
        rules_reads = [r.status for r in sim.requests if r.path.endswith("/packages/protection/rules")]
        assert rules_reads and set(rules_reads) == {404}
        entries = json.loads((tmp_path / "inv" / "projects.json").read_text())["entries"]
        assert all(not e.get(INCOMPLETE) for e in entries.values())
        read_cases = {e["path_with_namespace"]: e.get(PROTECTION_READS) for e in entries.values()
                      if e.get("_packages")}
        assert read_cases and all(case == {"_packageProtectionRules": FEATURE_MISSING} for case in read_cases.values())

        planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                       "--out", tmp_path / "plan.json", "--report-dir", tmp_path / "report"], env)
        assert planned.code == 0, planned.err
        items = json.loads((tmp_path / "plan.json").read_text())["items"]
        package_ids = {item["target"]["package_id"] for item in items if item["resource"] == "packages"}
        artifact_jobs = {item["target"]["job_id"] for item in items if item["resource"] == "job_artifacts"}
        assert package_ids and artifact_jobs

        before = {p.id for project in instance.projects.values() for p in packages(project)}
        applied = run(["apply", tmp_path / "plan.json", "--yes"], env)
        assert applied.code == 0, applied.err + applied.out
        after = {p.id for project in instance.projects.values() for p in packages(project)}
    assert before - after == package_ids
    assert all(instance.jobs[job].archive_size == 0 for job in artifact_jobs)


def test_the_simulator_answers_as_the_release_asked_for(run: Run) -> None:
    import gitlab

    with Simulator(generate(seed=3, scale="tiny"), gitlab_version="16.0") as sim:
        client = gitlab.Gitlab(sim.url, private_token=TOKENS["admin"])
        assert client.version()[0] == "16.0.0"
        project = next(iter(sim.instance.projects.values()))
        with pytest.raises(gitlab.exceptions.GitlabHttpError) as missing:
            client.http_get(f"/projects/{project.id}/packages/protection/rules")
        assert missing.value.response_code == 404
        assert json.loads(missing.value.response_body) == {"error": "404 Not Found"}
    bad = run(["simulator", "--gitlab-version", "sixteen"])
    assert bad.code == 1 and "--gitlab-version" in bad.err and "16.0" in bad.err


_NEWEST: dict[int, list[int]] = {}


def _every_projects_jobs(sim: Simulator) -> tuple[dict[int, list[int]], GitLabAPI]:
    api = GitLabAPI(Connection(sim.url, TOKENS["admin"], max_retries=0))
    return {pid: [int(job["id"]) for job in api.list(JOBS, {"scope[]": list(FINISHED)}, keyset="desc", project=pid)]
            for pid in sim.instance.projects}, api


@settings(max_examples=12, deadline=None)
@given(release=st.tuples(st.integers(13, 18), st.integers(0, 11)), flag_off=st.booleans())
def test_any_release_lists_the_same_jobs_in_the_same_order(release: tuple[int, int], flag_off: bool) -> None:
    """Keyset or offset pages, 405 or 501: the rows, and their order (newest first), never depend on the
    release; keyset is asked for at most once per endpoint when GitLab refuses it."""
    if not _NEWEST:
        with Simulator(generate(seed=5, scale="tiny")) as newest:
            _NEWEST.update(_every_projects_jobs(newest)[0])
    version = f"{release[0]}.{release[1]}"
    with Simulator(generate(seed=5, scale="tiny"), gitlab_version=version,
                   features_off=("jobs_keyset",) if flag_off else ()) as sim:
        listed, api = _every_projects_jobs(sim)
        refused = [r for r in _jobs_requests(sim) if r[0] and r[1] != 200]
    assert listed == _NEWEST
    assert len(refused) <= 1 and (JOBS in api.offset_only.templates()) == bool(refused)


def test_a_missing_route_is_told_apart_from_a_403_and_from_a_gone_project() -> None:
    """Package protection rules: 16.0 has no such route (protects nothing); a role that cannot read them
    (403, everything kept); a project that is gone (404 Project Not Found, an error like any other)."""
    from janitor.errors import NotFound
    from janitor.resources.packages import PROTECTION_RULES, RULES_WHAT
    from janitor.resources.protections import FeatureMissing, Unreadable, read_protections

    instance = generate(seed=3, scale="small")
    project = next(p for p in instance.projects.values() if package_rules(p))
    with Simulator(instance) as newest:
        reporter = GitLabAPI(Connection(newest.url, TOKENS["reporter"], max_retries=0))
        assert read_protections(reporter, PROTECTION_RULES, RULES_WHAT, project=project.id) == Unreadable(RULES_WHAT)
        admin = GitLabAPI(Connection(newest.url, TOKENS["admin"], max_retries=0))
        assert len(read_protections(admin, PROTECTION_RULES, RULES_WHAT, project=project.id)) >= 1  # type: ignore[arg-type]
        with pytest.raises(NotFound) as gone:
            read_protections(admin, PROTECTION_RULES, RULES_WHAT, project=999_999)
        assert gone.value.missing == "Project"
    with Simulator(generate(seed=3, scale="small"), gitlab_version="16.0") as old:
        for token in ("reporter", "admin"):  # a route GitLab lacks is 404 whatever the role
            api = GitLabAPI(Connection(old.url, TOKENS[token], max_retries=0))
            assert read_protections(api, PROTECTION_RULES, RULES_WHAT, project=project.id) == FeatureMissing(RULES_WHAT)
