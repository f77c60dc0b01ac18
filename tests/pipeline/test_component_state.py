"""The component carries the grace state between scheduled pipelines and runs janitor:notify between plan
and apply; the notify job's `auto` mode decides from the plan, which exists only once plan has run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from component_yaml import jobs, spec

STATE = "janitor-output/janitor-state.json"


def test_plan_fetches_the_previous_state_plans_with_it_and_publishes_the_new_one() -> None:
    plan = jobs({"gitlab_url": "https://gitlab.example.com", "state_expire_in": "6 weeks"})["janitor:plan"]
    script = "\n".join(plan["script"])
    fetch = script.index(f"janitor fetch-state --out {STATE} --gitlab-url 'https://gitlab.example.com'")
    assert fetch < script.index('janitor plan "$@"')
    assert f"--state {STATE}" in script
    assert STATE in plan["artifacts"]["paths"]
    # the artifact must outlive the schedule's interval: its own input, written into the job
    assert plan["artifacts"]["expire_in"] == "6 weeks"
    assert plan["artifacts"]["when"] == "always"


@pytest.mark.parametrize("value", ["30 days", "6 weeks", "3 months", "1 year", "12h", "90d", "2w", "1 day"])
def test_state_expiry_accepts_what_artifacts_expire_in_takes(value: str) -> None:
    assert re.fullmatch(spec()["inputs"]["state_expire_in"]["regex"], value)


@pytest.mark.parametrize("value", ["never", "0 days", "", "30 days'; rm -rf /", "30", "days", "$EXPIRY"])
def test_state_expiry_refuses_never_zero_and_anything_but_a_duration(value: str) -> None:
    # `never` would keep every plan's artifacts forever; the rest is not a duration, or not safe in the YAML
    assert not re.fullmatch(spec()["inputs"]["state_expire_in"]["regex"], value)


def test_notify_runs_after_plan_and_before_apply_and_a_partial_failure_only_warns() -> None:
    defined = spec()["inputs"]["notify"]
    assert (defined["type"], defined["default"], defined["options"]) == ("string", "auto", ["auto", "true", "false"])
    rendered = jobs({"stage_plan": "review"})
    notify = rendered["janitor:notify"]
    assert notify["needs"] == [{"job": "janitor:plan", "artifacts": True}]
    assert notify["stage"] == "review"
    assert notify["allow_failure"] == {"exit_codes": [2]}
    assert {"job": "janitor:notify", "artifacts": False} in rendered["janitor:apply"]["needs"]


def _run_notify_script(tmp_path: Path, mode: str, plan: dict[str, Any]) -> tuple[subprocess.CompletedProcess[str],
                                                                               list[str]]:
    """The job's script, as the runner's shell runs it, in a directory holding plan.json; `janitor` is a
    stand-in that records its arguments (the command itself is tested in its own module)."""
    work = tmp_path / mode
    (work / "janitor-output").mkdir(parents=True)
    (work / "janitor-output" / "plan.json").write_text(json.dumps(plan))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    calls = work / "calls"
    (bin_dir / "janitor").write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
    (bin_dir / "janitor").chmod(0o755)
    script = "\n".join(jobs({"notify": mode, "gitlab_url": "https://gitlab.example.com"})["janitor:notify"]["script"])
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GITLAB_TOKEN": "glpat-not-a-real-token-000"}
    done = subprocess.run(["sh", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    return done, calls.read_text().splitlines() if calls.exists() else []


QUIET = {"items": [], "grace": {"old-branches": {"grace": "14d", "notify": False}}, "pending": []}
LOUD = {"items": [], "grace": {"old-branches": {"grace": "14d", "notify": False},
                               "stale-mrs": {"grace": "7d", "notify": True}}, "pending": []}


def test_notify_auto_ends_quietly_without_a_notify_rule(tmp_path: Path) -> None:
    for plan in (QUIET, {"items": []}):  # a grace rule without notify; a plan without grace rules
        done, calls = _run_notify_script(tmp_path / str(len(plan)), "auto", plan)
        assert done.returncode == 0, done.stderr
        assert calls == []
        assert done.stdout.strip().splitlines() == [
            "janitor:notify: nothing to do: no rule of the policy has notify: true"]


def test_notify_auto_posts_when_a_rule_notifies(tmp_path: Path) -> None:
    done, calls = _run_notify_script(tmp_path, "auto", LOUD)
    assert done.returncode == 0, done.stderr
    assert calls == [f"notify --plan janitor-output/plan.json --state {STATE} --yes "
                     "--gitlab-url https://gitlab.example.com"]


def test_notify_true_always_posts_and_false_never_does(tmp_path: Path) -> None:
    assert _run_notify_script(tmp_path, "true", QUIET)[1] != []
    done, calls = _run_notify_script(tmp_path, "false", LOUD)
    assert done.returncode == 0 and calls == []
    assert "off" in done.stdout
