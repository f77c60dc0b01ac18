"""Whoever may run the pipeline with variables cannot lift the component's settings.

Pipeline variables (a manual run, a schedule, a trigger) take precedence over every variable the YAML
sets (GitLab doc/ci/variables/_index.md, "CI/CD variable precedence"). Here a project includes the
component with a scope lock, max_actions 1 and its GitLab's URL, and runs it under gitlab-ci-local with
pipeline variables that used to replace each of them: the jobs still use the inputs.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from gcl_harness import ADMIN_TOKEN, SimulatorProcess, Workspace

from janitor import __version__

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

PIPELINE = """\
stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/janitor@$CI_COMMIT_SHA
    inputs:
      policy: tests/fixtures/ci/policy.yml
      scope: {scope}
      max_actions: 1
      gitlab_url: {url}
"""

# What an attacker with "run pipeline" rights would pass: no scope lock, no limits, their own policy, image
# and plan age. GITLAB_URL is tried on its own (it stops the run at collect).
OVERRIDES = {
    "JANITOR_SCOPE": "",
    "JANITOR_MAX_ACTIONS": "100000",
    "JANITOR_POLICY": "attacker/policy.yml",
    "JANITOR_MAX_PLAN_AGE": "9999w",
    "JANITOR_DEFAULT_IMAGE": "attacker.example/janitor:latest",
}


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path} token={'PRIVATE-TOKEN' in self.headers}")
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def attacker_host() -> Iterator[tuple[str, list[str]]]:
    """A host a GITLAB_URL pipeline variable could point at; it records whatever reaches it."""
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.fixture(scope="module")
def pipelines(workspace: Workspace, simulator: SimulatorProcess) -> Workspace:
    (workspace.root / "locked-ci.yml").write_text(PIPELINE.format(scope="acme", url=simulator.url))
    (workspace.root / "narrow-ci.yml").write_text(PIPELINE.format(scope="acme/web", url=simulator.url))
    return workspace


def test_pipeline_variables_change_neither_the_policy_nor_the_limit(pipelines: Workspace) -> None:
    run = pipelines.gitlab_ci_local("--file", "locked-ci.yml", source="schedule",
                                    variables={"GITLAB_TOKEN": ADMIN_TOKEN, **OVERRIDES})
    # validate and collect read the input's policy, not JANITOR_POLICY; plan keeps max_actions 1.
    assert run.results == {"janitor:validate": "PASS", "janitor:collect: [1/1]": "PASS", "janitor:merge": "PASS",
                           "janitor:plan": "FAIL"}, run.output[-6000:]
    assert re.search(r"the plan has \d+ actions, more than --max-actions 1\b", run.output)
    assert re.search(r"janitor:plan\s+finished in .* FAIL 3\b", run.output), "a safety refusal: exit 3"
    assert "attacker/policy.yml" not in run.output


def test_a_pipeline_variable_cannot_drop_the_scope_lock(pipelines: Workspace) -> None:
    run = pipelines.gitlab_ci_local("--file", "narrow-ci.yml", "janitor:collect", source="schedule",
                                    variables={"GITLAB_TOKEN": ADMIN_TOKEN, **OVERRIDES})
    assert run.results == {"janitor:collect: [1/1]": "FAIL"}, run.output[-4000:]
    assert "The policy reaches outside --scope acme/web" in run.output


def test_a_pipeline_variable_cannot_send_the_token_to_another_host(
    pipelines: Workspace, simulator: SimulatorProcess, attacker_host: tuple[str, list[str]]
) -> None:
    url, seen = attacker_host
    run = pipelines.gitlab_ci_local("--file", "locked-ci.yml", "janitor:collect", source="schedule",
                                    variables={"GITLAB_TOKEN": ADMIN_TOKEN, "GITLAB_URL": url})
    assert run.results == {"janitor:collect: [1/1]": "FAIL"}, run.output[-4000:]
    assert f"GITLAB_URL is {url}, but --gitlab-url says this run talks to {simulator.url}" in run.output
    assert seen == [], "the other host received requests"


def test_the_image_is_the_input_not_a_variable(pipelines: Workspace) -> None:
    run = pipelines.gitlab_ci_local("--file", "locked-ci.yml", "--preview", source="schedule",
                                    variables=OVERRIDES)
    config = yaml.safe_load(run.output[run.output.index("---") if run.output.startswith("---") else 0:]
                            .split("\nparsing and downloads")[0])
    images = {name: job["image"]["name"] for name, job in config.items() if name.startswith("janitor:")}
    assert len(images) == 6, images
    for name, image in images.items():
        assert image.endswith(f"/gitlab-janitor/gitlab-janitor:{__version__}"), (name, image)
        assert "attacker" not in image and "JANITOR_DEFAULT_IMAGE" not in image, (name, image)
