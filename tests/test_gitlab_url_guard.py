"""In a CI job (CI_SERVER_URL set) the token goes only to that GitLab, or to the one --gitlab-url names.

A pipeline variable can replace GITLAB_URL (pipeline variables take precedence over the project's variables
and the YAML: GitLab's doc/ci/variables/_index.md, "CI/CD variable precedence"). Here the simulator plays
the host such a variable points at, and records every request it gets: a refused run sends it nothing."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import collect_and_plan, non_get

from janitor.simulator import TOKENS, Simulator

CI_SERVER = "https://gitlab.example.test"


def test_collect_in_ci_refuses_a_gitlab_url_other_than_the_jobs_gitlab(run, sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                                                      tmp_path: Path) -> None:
    env = {"CI_SERVER_URL": CI_SERVER, "GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
    refused = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert refused.code == 3
    assert f"GITLAB_URL is {sim.url}, not this CI job's GitLab ({CI_SERVER}): refusing to send the token" in refused.err
    assert "gitlab_url input" in refused.err
    assert sim.requests == [], "the token went to the other host"
    assert not (tmp_path / "inv").exists()


def test_an_explicit_gitlab_url_allows_another_instance(run, sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path) -> None:
    env = {"CI_SERVER_URL": CI_SERVER, "GITLAB_URL": sim.url + "/api/v4/", "GITLAB_TOKEN": TOKENS["admin"]}
    allowed = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--gitlab-url", sim.url], env)
    assert allowed.code == 0, allowed.err
    assert (tmp_path / "inv" / "projects.json").is_file()


def test_gitlab_url_alone_names_the_instance_when_gitlab_url_is_unset(run, sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path) -> None:
    env = {"CI_SERVER_URL": CI_SERVER, "GITLAB_TOKEN": TOKENS["admin"]}
    collected = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--gitlab-url", sim.url], env)
    assert collected.code == 0, collected.err
    assert sim.url in (tmp_path / "inv" / "projects.json").read_text().split("\n", 1)[0]


def test_a_gitlab_url_other_than_the_explicit_one_is_refused(run, sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    env = {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}
    refused = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--gitlab-url", CI_SERVER], env)
    assert refused.code == 3
    assert f"GITLAB_URL is {sim.url}, but --gitlab-url says this run talks to {CI_SERVER}" in refused.err
    assert sim.requests == []


def test_same_instance_spelled_differently_is_not_refused(run, sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    env = {"CI_SERVER_URL": sim.url, "GITLAB_URL": sim.url.upper().replace("HTTP://", "http://") + "/",
           "GITLAB_TOKEN": TOKENS["admin"]}
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0


def test_apply_in_ci_refuses_a_gitlab_url_other_than_the_jobs_gitlab(run, env, sim: Simulator,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path, policy_file: Path) -> None:
    plan = collect_and_plan(run, env, tmp_path, policy_file.read_text())
    assert plan["items"]
    sim.requests.clear()
    refused = run(["apply", tmp_path / "plan.json", "--yes", "--expect-digest", plan["digest"]],
                  {**env, "CI_SERVER_URL": CI_SERVER})
    assert refused.code == 3
    assert "not this CI job's GitLab" in refused.err
    assert sim.requests == [] and non_get(sim) == []
