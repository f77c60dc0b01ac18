"""`janitor fetch-state`: the CI component's plan job picks up the state the previous scheduled pipeline left.

Run as the component runs it (CI_PROJECT_ID, CI_COMMIT_REF_NAME, GITLAB_URL, GITLAB_TOKEN in the
environment) against the simulator over HTTP. The jobs a pipeline would have left are added to the
simulated project with the files their artifacts hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.simulator import TOKENS, Instance, Simulator, generate
from janitor.simulator.routes.jobs import add_job_with_files
from janitor.simulator.state import MAINTAINER, MAINTAINER_USER, Project

STATE = "janitor-output/janitor-state.json"


@pytest.fixture
def project(instance: Instance) -> Project:
    return instance.projects_by_path["acme/platform/api"] if "acme/platform/api" in instance.projects_by_path \
        else next(iter(instance.projects.values()))


def plan_job(instance: Instance, project: Project, content: bytes | None, *, name: str = "janitor:plan",
             ref: str = "main", status: str = "success") -> int:
    files = {} if content is None else {STATE: content}
    return add_job_with_files(instance, project, name=name, ref=ref, status=status, files=files).id


def ci_env(sim: Simulator, project: Project, token: str = TOKENS["read"]) -> dict[str, str]:
    return {"GITLAB_URL": sim.url, "GITLAB_TOKEN": token, "CI_PROJECT_ID": str(project.id),
            "CI_COMMIT_REF_NAME": "main"}


def fetch(run, out: Path, env: dict[str, str], *extra: object) -> Result:  # type: ignore[no-untyped-def]
    result: Result = run(["fetch-state", "--out", out, *extra], env)
    assert env["GITLAB_TOKEN"] not in result.out + result.err
    return result


def test_the_newest_successful_plan_job_on_the_same_ref_is_chosen(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                                  project: Project, tmp_path: Path) -> None:
    plan_job(instance, project, b'{"run": "older"}\n')
    chosen = plan_job(instance, project, b'{"run": "previous"}\n')
    plan_job(instance, project, b'{"run": "another branch"}\n', ref="feature/x")
    plan_job(instance, project, b'{"run": "another job"}\n', name="janitor:collect")
    # the newest plan job failed: a failed plan published nothing worth trusting
    plan_job(instance, project, b'{"run": "failed"}\n', status="failed")
    out = tmp_path / "janitor-output" / "janitor-state.json"

    result = fetch(run, out, ci_env(sim, project))

    assert result.code == 0, result.err
    assert out.read_bytes() == b'{"run": "previous"}\n'
    assert f"from job {chosen}" in result.err
    downloads = [r.path for r in sim.requests if "/artifacts/" in r.path]
    assert downloads == [f"/projects/{project.id}/jobs/{chosen}/artifacts/{STATE}"]
    assert all(r.method == "GET" for r in sim.requests)
    listings = [r.query for r in sim.requests if r.path == f"/projects/{project.id}/jobs"]
    assert listings and all(q.get("scope[]") == ["success"] for q in listings)


def test_first_run_without_a_plan_job_starts_fresh_and_writes_nothing(run, sim: Simulator,  # type: ignore[no-untyped-def]
                                                                      project: Project, tmp_path: Path) -> None:
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project))
    assert result.code == 0, result.err
    assert "first run, starting fresh" in result.err
    assert not out.exists()


def test_a_state_file_already_in_the_workspace_is_not_trusted_on_a_first_run(  # type: ignore[no-untyped-def]
        run, sim: Simulator, project: Project, tmp_path: Path) -> None:
    # e.g. committed to the repository the pipeline checks out, with dates that would end every grace period
    out = tmp_path / "state.json"
    out.write_text('{"items": "planted"}')
    result = fetch(run, out, ci_env(sim, project))
    assert result.code == 0, result.err
    assert not out.exists()
    assert "removed" in result.err


@pytest.mark.parametrize("content", [None, "other file"])
def test_expired_artifacts_or_an_archive_without_the_state_start_fresh(  # type: ignore[no-untyped-def]
        run, sim: Simulator, instance: Instance, project: Project, tmp_path: Path, content: str | None) -> None:
    job = add_job_with_files(instance, project, name="janitor:plan", ref="main", status="success",
                             files={} if content is None else {"janitor-output/plan.json": b"{}"})
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project))
    assert result.code == 0, result.err
    assert f"job {job.id}" in result.err and "starting fresh" in result.err
    assert not out.exists()
    if content is not None:  # the archive exists, so the file was asked for and GitLab answered 404
        assert [r.status for r in sim.requests if "/artifacts/" in r.path] == [404]


def test_a_token_without_the_reporter_role_is_a_clear_error(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                            project: Project, tmp_path: Path) -> None:
    plan_job(instance, project, b"{}\n")
    # Once memberships are declared, the read token's user, who has none here, has no role in the project.
    instance.add_member(project, MAINTAINER_USER, MAINTAINER)
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project, TOKENS["read"]))
    assert result.code == 1
    assert "403" in result.err and "read_api" in result.err and "Reporter" in result.err
    assert "Traceback" not in result.err
    assert not out.exists()


def test_a_project_the_token_cannot_see_is_a_clear_error(run, sim: Simulator, project: Project,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    env = {**ci_env(sim, project), "CI_PROJECT_ID": "999999"}
    result = fetch(run, tmp_path / "state.json", env)
    assert result.code == 1
    assert "404" in result.err and "CI_PROJECT_ID" in result.err


def test_a_huge_artifact_is_refused_and_nothing_is_written(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                          project: Project, tmp_path: Path) -> None:
    plan_job(instance, project, b"x" * (2 * 1024 * 1024))
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project), "--max-size", "1MiB")
    assert result.code == 1
    assert "larger than 1048576 bytes" in result.err
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[tuple[Simulator, Project]]:
    instance = generate(seed=3, scale="tiny")
    with Simulator(instance) as server:
        yield server, next(iter(instance.projects.values()))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=1, max_value=3000), bound=st.integers(min_value=1, max_value=3000))
def test_a_state_is_written_whole_exactly_when_it_fits_the_bound(  # type: ignore[no-untyped-def]
        run, shared_sim: tuple[Simulator, Project], tmp_path_factory: pytest.TempPathFactory, size: int,
        bound: int) -> None:
    sim, project = shared_sim
    content = bytes(i % 251 for i in range(size))
    with sim.instance.lock:
        plan_job(sim.instance, project, content)
    out = tmp_path_factory.mktemp("fetch") / "state.json"
    result = fetch(run, out, ci_env(sim, project), "--max-size", f"{bound}B")
    if size <= bound:
        assert result.code == 0 and out.read_bytes() == content, result.err
    else:
        assert result.code == 1 and not out.exists()


def test_the_search_is_bounded_and_says_how_far_it_looked(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                          project: Project, tmp_path: Path) -> None:
    plan_job(instance, project, b"{}\n")
    for _ in range(30):
        plan_job(instance, project, b"", name="build")
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project), "--max-jobs", "20")
    assert result.code == 0, result.err
    assert "among the 20 newest successful jobs (--max-jobs 20)" in result.err
    assert not out.exists()
    assert fetch(run, out, ci_env(sim, project), "--max-jobs", "40").code == 0
    assert out.read_bytes() == b"{}\n"


@pytest.fixture
def other_host() -> Iterator[Simulator]:
    """Another origin (another port): it must never see a request."""
    with Simulator(generate(seed=1, scale="tiny")) as server:
        yield server


def test_a_link_header_to_another_host_is_not_followed(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                       project: Project, other_host: Simulator,
                                                       tmp_path: Path) -> None:
    chosen = plan_job(instance, project, b'{"ok": true}\n')
    for _ in range(150):  # the plan job is on the second page
        plan_job(instance, project, b"", name="build")
    sim.rewrite_links = lambda link: link.replace(sim.url, other_host.url)
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project))
    assert result.code == 0, result.err
    assert out.read_bytes() == b'{"ok": true}\n' and f"from job {chosen}" in result.err
    assert other_host.requests == []


def test_a_redirect_of_the_download_to_another_host_is_refused(run, sim: Simulator, instance: Instance,  # type: ignore[no-untyped-def]
                                                               project: Project, other_host: Simulator,
                                                               tmp_path: Path) -> None:
    plan_job(instance, project, b"{}\n")
    sim.faults.redirect(r"/artifacts/", other_host.url)
    out = tmp_path / "state.json"
    result = fetch(run, out, ci_env(sim, project))
    assert result.code == 3
    assert "Nothing was sent there" in result.err
    assert other_host.requests == [] and not out.exists()


def test_without_a_project_or_ref_it_says_which_variable_is_missing(  # type: ignore[no-untyped-def]
        run, sim: Simulator, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_COMMIT_REF_NAME", raising=False)
    env = ci_env(sim, project)
    del env["CI_COMMIT_REF_NAME"]
    result = fetch(run, tmp_path / "state.json", env)
    assert result.code == 1
    assert "--ref (CI_COMMIT_REF_NAME)" in result.err


def test_a_job_cleaning_another_gitlab_looks_for_its_pipeline_only_where_told(  # type: ignore[no-untyped-def]
        run, sim: Simulator, instance: Instance, project: Project, tmp_path: Path) -> None:
    # The component's gitlab_url input names another GitLab than the one running the pipeline: CI_PROJECT_ID
    # means nothing there (it could even name someone else's project), so it is not searched ...
    plan_job(instance, project, b'{"ok": true}\n')
    env = {**ci_env(sim, project), "CI_SERVER_URL": "https://ci.example.test"}
    out = tmp_path / "state.json"
    result = fetch(run, out, env, "--gitlab-url", sim.url)
    assert result.code == 0, result.err
    assert "runs on https://ci.example.test but talks to" in result.err and "nothing under a grace rule" in result.err
    assert not out.exists() and not [r for r in sim.requests if "/jobs" in r.path]
    # ... unless a project over there is named explicitly.
    result = fetch(run, out, env, "--gitlab-url", sim.url, "--project", project.path_with_namespace)
    assert result.code == 0, result.err
    assert out.read_bytes() == b'{"ok": true}\n'
