"""`janitor notify` through the CLI against the simulator: dry run, create, idempotence, update in place,
close with a comment, summary mode, per-project failures, hostile names, tampered inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import non_get
from notify_helpers import Branch, Inputs, write_inputs

from janitor.simulator import Instance, Simulator, generate
from janitor.simulator.state import Issue

API, FRONTEND, DOCS = (1, "acme/platform/api"), (2, "acme/web/frontend"), (6, "acme/web/docs")
TITLE = re.compile(r"Scheduled clean-up: (\d+) items? will be removed on or after (\d{4}-\d\d-\d\d)")


@pytest.fixture
def instance() -> Instance:
    return generate(seed=11, scale="tiny")


def branches() -> list[Branch]:
    return [Branch(*API, "feature/old", since_days=10), Branch(*API, "fix/done", since_days=2),
            Branch(*FRONTEND, "spike", since_days=20, awaiting=True)]


def open_issues(sim: Simulator, project_id: int) -> list[Issue]:
    return [i for i in sim.instance.projects[project_id].issues if i.state == "opened"]


def notify(run: Any, env: dict[str, str], plan: Path, state: Path, *extra: str) -> Any:
    return run(["notify", "--plan", plan, "--state", state, *extra], env)


def test_dry_run_shows_each_issue_and_writes_nothing(run: Any, env: dict[str, str], sim: Simulator,
                                                     tmp_path: Path) -> None:
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    result = notify(run, env, plan, state)
    assert result.code == 0, result.err
    assert non_get(sim) == []
    # earliest due: feature/old qualified 10 days before the inventory, grace 14d -> 4 days after it
    assert "Scheduled clean-up: 2 items will be removed on or after 2026-01-19" in result.out
    # the awaiting item (qualified 20 days ago) was due 6 days ago
    assert "Scheduled clean-up: 1 item will be removed on or after 2026-01-09" in result.out
    assert "would create: acme/platform/api" in result.err and "dry run: nothing posted" in result.err


def test_yes_creates_one_issue_per_project_and_a_second_run_writes_nothing(
        run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    sim.faults.burst_429(1, retry_after=1)  # GitLab's throttle answers first: honoured, then retried
    assert notify(run, env, plan, state, "--yes").code == 0
    [issue] = open_issues(sim, 1)
    assert TITLE.fullmatch(issue.title) and issue.labels == ["janitor"]
    assert issue.description and "<!-- gitlab-janitor:notify project=1 -->" in issue.description
    assert "feature/old" in issue.description and "fix/done" in issue.description
    assert "awaiting approval" in open_issues(sim, 2)[0].description  # type: ignore[operator]
    assert open_issues(sim, 6) == []  # nothing scheduled there: no issue

    sim.reset_requests()
    again = notify(run, env, plan, state, "--yes")
    assert again.code == 0, again.err
    assert non_get(sim) == [] and "2 unchanged" in again.err
    assert [len(open_issues(sim, p)) for p in (1, 2)] == [1, 1]


def test_changed_items_edit_the_issue_in_place_and_gone_items_close_it_with_a_comment(
        run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    assert notify(run, env, plan, state, "--yes").code == 0
    [first] = open_issues(sim, 1)
    # next run: fix/done was merged away, a new branch qualifies; frontend has nothing left
    later = [Branch(*API, "feature/old", since_days=11), Branch(*API, "wip/new", since_days=0)]
    plan, state = write_inputs(tmp_path, sim.url, Inputs(later), name="plan2")
    sim.reset_requests()
    result = notify(run, env, plan, state, "--yes")
    assert result.code == 0, result.err
    [issue] = open_issues(sim, 1)
    assert issue is first and "wip/new" in (issue.description or "") and "fix/done" not in (issue.description or "")
    assert non_get(sim).count("PUT /projects/1/issues/1") == 1
    [closed] = sim.instance.projects[2].issues
    assert closed.state == "closed"
    assert any("Nothing here is scheduled for removal any more" in n.body for n in closed.notes)
    sim.reset_requests()
    assert notify(run, env, plan, state, "--yes").code == 0 and non_get(sim) == []  # closed stays closed


def test_summary_mode_posts_one_issue_with_a_section_per_project(run: Any, env: dict[str, str], sim: Simulator,
                                                                  tmp_path: Path) -> None:
    inputs = Inputs(branches(), notify={"issues": None, "project": "acme/web/docs", "labels": ["janitor", "ops"],
                                         "assignees": "none"})
    plan, state = write_inputs(tmp_path, sim.url, inputs)
    assert notify(run, env, plan, state, "--yes").code == 0
    [issue] = open_issues(sim, 6)
    assert open_issues(sim, 1) == open_issues(sim, 2) == []
    assert TITLE.fullmatch(issue.title) and TITLE.fullmatch(issue.title).group(1) == "3"  # type: ignore[union-attr]
    assert issue.labels == ["janitor", "ops"]
    description = issue.description or ""
    assert description.index("### ` acme/platform/api `") < description.index("### ` acme/web/frontend `")
    sim.reset_requests()
    assert notify(run, env, plan, state, "--yes").code == 0 and non_get(sim) == []


def test_a_project_with_issues_off_is_reported_exit_2_and_the_others_are_notified(
        run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    sim.instance.projects[1].issues_access_level = "disabled"
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    result = notify(run, env, plan, state, "--yes")
    assert result.code == 2
    assert "failed: acme/platform/api" in result.err and "403" in result.err and "Reporter" in result.err
    assert len(open_issues(sim, 2)) == 1


def test_maintainers_are_assigned_when_the_policy_asks(run: Any, env: dict[str, str], sim: Simulator,
                                                       tmp_path: Path) -> None:
    inputs = Inputs(branches(), notify={"issues": "per-project", "project": None, "labels": ["janitor"],
                                         "assignees": "maintainers"})
    plan, state = write_inputs(tmp_path, sim.url, inputs)
    assert notify(run, env, plan, state, "--yes").code == 0
    # the simulator's members: root (Owner 50), maint (Maintainer 40), dev, rep, reader: only 40 counts
    assert [u.username for u in open_issues(sim, 1)[0].assignees] == ["maint"]


HOSTILE = "x @all <img src=x onerror=alert(1)> [click](https://evil.example) ` #1 !2 ~bug \x1b[2J\u202e"


def test_names_from_project_members_cannot_ping_link_or_inject_markup(run: Any, env: dict[str, str],
                                                                       sim: Simulator, tmp_path: Path) -> None:
    plan, state = write_inputs(tmp_path, sim.url, Inputs([Branch(*API, HOSTILE)]))
    assert notify(run, env, plan, state, "--yes").code == 0
    description = open_issues(sim, 1)[0].description or ""
    [line] = [x for x in description.splitlines() if "@all" in x]
    # the name sits whole inside one code span (fence longer than its own backtick), controls escaped
    span = re.search(r"(`{2,}) (.*?) \1", line)
    assert span is not None and "@all" in span.group(2) and "<img" in span.group(2)
    outside = line.replace(span.group(0), "")
    assert not re.search(r"[@<\[#!~]", outside.replace("**", "")), outside
    assert "\x1b" not in description and "\u202e" not in description and "\\x1b" in description


def test_a_tampered_plan_or_state_is_refused_before_any_request(run: Any, env: dict[str, str], sim: Simulator,
                                                                tmp_path: Path) -> None:
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    original = state.read_bytes()
    state.write_bytes(original.replace(b"feature/old", b"feature/olD"))
    refused = notify(run, env, plan, state, "--yes")
    assert refused.code == 3 and "not the one this plan was made with" in refused.err
    state.write_bytes(original)
    data = json.loads(plan.read_text())
    data["pending"][0]["due"] = "2099-01-01T00:00:00Z"
    plan.write_text(json.dumps(data))
    tampered = notify(run, env, plan, state, "--yes")
    assert tampered.code == 3 and "digest does not match" in tampered.err
    assert sim.requests == []


def test_a_state_file_of_the_wrong_shape_is_bad_input_even_with_the_right_digest(
        run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    import hashlib

    from janitor.plan_file import seal

    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    bad = b'{"format": "gitlab-janitor-state", "version": 1, "gitlab_url": "x", "updated_at": "now", "items": []}'
    state.write_bytes(bad)
    data = json.loads(plan.read_text())
    del data["digest"]
    data["state_digest"] = "sha256:" + hashlib.sha256(bad).hexdigest()
    data["digest"] = seal(data)
    plan.write_text(json.dumps(data))
    result = notify(run, env, plan, state)
    assert result.code == 1 and "malformed state: updated_at" in result.err
    assert "Traceback" not in result.err


def test_never_more_than_one_open_issue_per_project(run: Any, env: dict[str, str], sim: Simulator,
                                                    tmp_path: Path) -> None:
    import requests

    from janitor.simulator import TOKENS

    # two runs that raced, one under an earlier token's user: both carry the label and the marker
    for n, token in ((1, TOKENS["maintainer"]), (2, env["GITLAB_TOKEN"])):
        requests.post(f"{sim.url}/api/v4/projects/1/issues", headers={"PRIVATE-TOKEN": token},
                      json={"title": f"copy {n}", "labels": "janitor",
                            "description": "<!-- gitlab-janitor:notify project=1 -->\nold"}, timeout=10)
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    assert notify(run, env, plan, state, "--yes").code == 0
    [kept] = open_issues(sim, 1)
    assert kept.iid == 1 and kept.author.username == "maint" and TITLE.fullmatch(kept.title)
    [superseded] = [i for i in sim.instance.projects[1].issues if i.state == "closed"]
    assert any("Superseded by #1" in n.body for n in superseded.notes)


def test_a_plan_for_another_gitlab_is_refused(run: Any, sim: Simulator, tmp_path: Path) -> None:
    from janitor.simulator import TOKENS

    plan, state = write_inputs(tmp_path, "https://gitlab.example.com", Inputs(branches()))
    result = notify(run, {"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]}, plan, state, "--yes")
    assert result.code == 3 and "made for https://gitlab.example.com" in result.err
    assert sim.requests == []


def test_a_project_whose_writes_keep_failing_is_reported_and_the_run_goes_on(
        run: Any, env: dict[str, str], sim: Simulator, tmp_path: Path) -> None:
    sim.faults.fail_paths(r"^/projects/2/issues$", status=502)
    plan, state = write_inputs(tmp_path, sim.url, Inputs(branches()))
    result = notify(run, {**env, "JANITOR_MAX_RETRIES": "0"}, plan, state, "--yes")
    assert result.code == 2 and "failed: acme/web/frontend" in result.err
    assert len(open_issues(sim, 1)) == 1
