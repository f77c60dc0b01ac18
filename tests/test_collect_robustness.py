"""What burnt users before: partial inventories after a 429, tokens in logs, silent truncation at
100 or 10,000 rows, unclear errors for a bad URL, a bad token or an unreachable server."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import pytest
from engine_helpers import ARTIFACTS_POLICY

from janitor.simulator import TOKENS, Instance, Simulator, generate
from janitor.simulator.server import Faults

FINISHED = ("success", "failed", "canceled")


def _entries(directory: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return json.loads((directory / "projects.json").read_text())["entries"]


def _jobs_by_project(directory: Path) -> dict[str, list[int]]:
    return {k: sorted(j["id"] for j in v["_jobs"]) for k, v in _entries(directory).items()}


class FailOnceMidListing(Faults):
    """Answer 429 to the second page of the first jobs listing that has one (keyset: same path)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, int] = {}
        self.fired = False

    def pick(self, path: str) -> tuple[int, int | None] | None:
        if path.endswith("/jobs") and not self.fired:
            self.pages[path] = self.pages.get(path, 0) + 1
            if self.pages[path] == 2:
                self.fired = True
                return 429, 1
        return super().pick(path)


def test_429_mid_pagination_loses_nothing(run, env, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "clean"], env).code == 0
    faults = FailOnceMidListing()
    sim.faults = faults
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "bumpy"], env)
    assert result.code == 0, result.err
    assert faults.fired, "the instance must have a jobs listing longer than one page"
    assert any(r.status == 429 for r in sim.requests)
    assert _jobs_by_project(tmp_path / "bumpy") == _jobs_by_project(tmp_path / "clean")


def test_server_errors_are_retried_to_a_complete_inventory(run, env, sim: Simulator, policy_file: Path,
                                                           tmp_path: Path) -> None:
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "clean"], env).code == 0
    sim.faults.error_rate = 0.3
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "flaky"], env)
    assert result.code == 0, result.err
    assert sum(1 for r in sim.requests if r.status >= 500) >= 3
    assert _jobs_by_project(tmp_path / "flaky") == _jobs_by_project(tmp_path / "clean")


def test_a_failing_project_is_marked_incomplete_not_dropped(run, env, sim: Simulator, instance: Instance,
                                                            policy_file: Path, tmp_path: Path) -> None:
    victim = next(p for p in instance.projects.values() if p.path_with_namespace.startswith("acme/web/")
                  and p.jobs)
    sim.faults.fail_paths(rf"^/projects/{victim.id}/jobs$", 500)
    env = {**env, "JANITOR_MAX_RETRIES": "3"}  # the default 8 backs off for ~25 s per failing listing
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert result.code == 1
    assert victim.path_with_namespace in result.err and "--keep-going" in result.err
    entry = _entries(tmp_path / "inv")[str(victim.id)]
    assert "500" in entry["_incomplete"]
    kept = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv2", "--keep-going"], env)
    assert kept.code == 0
    plan = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv2", "--out", tmp_path / "plan.json",
                "--report-dir", tmp_path / "report"], env)
    assert plan.code == 0
    assert "incomplete" in plan.err
    items = json.loads((tmp_path / "plan.json").read_text())["items"]
    assert items and all(i["project_id"] != victim.id for i in items)
    assert "incomplete inventory" in (tmp_path / "report" / "report.md").read_text()


def test_more_than_100_and_10000_rows_are_all_listed(run, tmp_path: Path) -> None:
    instance = generate(seed=5, projects=2, jobs_per_project=11000)
    big = max(instance.projects.values(), key=lambda p: len(p.jobs))
    small = min(instance.projects.values(), key=lambda p: len(p.jobs))
    assert len(big.jobs) > 10_000 and len(small.jobs) > 100
    policy = tmp_path / "policy.yml"
    policy.write_text(ARTIFACTS_POLICY.replace('exclude: ["acme/legal/**"]', "exclude: []"))
    with Simulator(instance) as sim:
        env = {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
        assert run(["collect", "--policy", policy, "--out", tmp_path / "inv"], env).code == 0
    listed = _entries(tmp_path / "inv")
    for project in (big, small):
        expected = sorted(j.id for j in project.jobs
                          if j.status in FINISHED and (j.archive_size or j.metadata_size or j.junit_size))
        assert sorted(j["id"] for j in listed[str(project.id)]["_jobs"]) == expected


def test_url_without_scheme_is_a_clear_error(run, policy_file: Path, tmp_path: Path) -> None:
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 {"GITLAB_URL": "gitlab.example.com", "GITLAB_TOKEN": "x"})
    assert result.code == 1
    assert "no http:// or https:// scheme" in result.err and "https://gitlab.example.com" in result.err
    assert not (tmp_path / "inv").exists()


def test_missing_token_is_a_clear_error(run, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], {"GITLAB_URL": sim.url})
    assert result.code == 1 and "GITLAB_TOKEN" in result.err


def test_bad_token_is_a_clear_error(run, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 {"GITLAB_URL": sim.url, "GITLAB_TOKEN": "glpat-wrong"})
    assert result.code == 1
    assert "rejected the token (401)" in result.err
    assert not (tmp_path / "inv" / "projects.json").exists()


def test_unreachable_server_fails_fast(run, policy_file: Path, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 {"GITLAB_URL": f"http://127.0.0.1:{port}", "GITLAB_TOKEN": "x"})
    assert result.code == 1
    assert "Could not reach GitLab" in result.err
    assert time.monotonic() - started < 10
    assert not (tmp_path / "inv" / "projects.json").exists()


def test_token_never_appears_in_output_logs_or_files(run, env, sim: Simulator, policy_file: Path, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = env["GITLAB_TOKEN"]
    outputs = []
    for args in (["collect", "--policy", policy_file, "--out", tmp_path / "inv"],
                 ["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                  "--report-dir", tmp_path / "report", "--dotenv", tmp_path / "plan.env"],
                 ["apply", tmp_path / "plan.json"],
                 ["apply", tmp_path / "plan.json", "--yes"]):
        result = run(["--log-level", "debug", *args], env)
        assert result.code == 0, result.err
        outputs += [result.out, result.err]
    outputs.append(caplog.text)
    assert "DEBUG janitor.api: GET /api/v4/projects" in "".join(outputs), "debug logging was on"
    for text in outputs:
        assert token not in text
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        assert token.encode() not in path.read_bytes(), path
    assert all(token not in r.path and not any(token in v for vs in r.query.values() for v in vs)
               for r in sim.requests), "the token travels only in a header"


def test_a_scope_path_gitlab_does_not_know_is_a_clear_error(run, env, sim: Simulator, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(ARTIFACTS_POLICY.replace("groups: [acme]", "groups: [acme-typo]"))
    result = run(["collect", "--policy", policy, "--out", tmp_path / "inv"], env)
    assert result.code == 1
    assert "scope names the group 'acme-typo', which GitLab does not show to this token (404)" in result.err
    assert "404 404" not in result.err
    assert not (tmp_path / "inv" / "projects.json").exists()
