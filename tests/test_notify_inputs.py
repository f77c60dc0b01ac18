"""The plan's grace sections as read_plan reads them, and the code spans notify writes names in."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from notify_helpers import NOW, ZERO_DIGEST, Branch, Inputs, write_inputs

from janitor.notify_render import code
from janitor.plan_file import build_plan, read_plan, seal, write_plan
from janitor.plan_sections import Assignees, IssueMode
from janitor.textsafe import printable


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_name_becomes_one_code_span_that_shows_it_exactly(name: str) -> None:
    span = code(name)
    fence = re.match(r"`+", span).group(0)  # type: ignore[union-attr]
    assert span.startswith(fence + " ") and span.endswith(" " + fence)
    inner = span[len(fence) + 1: -len(fence) - 1]
    assert inner == printable(name)  # what the reader sees, controls escaped
    assert "\n" not in inner and "\r" not in inner
    # the span can only end at its closing fence: no run of backticks inside is as long
    assert all(len(run) < len(fence) for run in re.findall(r"`+", inner))


def test_a_plan_without_the_sections_reads_as_empty(tmp_path: Path) -> None:
    plan = build_plan([], gitlab_url="https://gitlab.example.com", created_at=NOW, policy_digest=ZERO_DIGEST,
                      inventory_digest=ZERO_DIGEST, scope_lock=None)
    write_plan(tmp_path / "old.json", plan)
    loaded = read_plan(tmp_path / "old.json")
    assert loaded.sections.pending == () and loaded.sections.state_digest is None
    assert loaded.sections.notify.mode is IssueMode.PER_PROJECT and loaded.sections.notify.labels == ("janitor",)


def test_the_sections_are_read_as_written(tmp_path: Path) -> None:
    inputs = Inputs([Branch(1, "acme/platform/api", "feature/x")],
                    notify={"issues": None, "project": "ops/log", "labels": ["cleanup", "bot"],
                            "assignees": "maintainers"})
    plan_path, _ = write_inputs(tmp_path, "https://gitlab.example.com", inputs)
    sections = read_plan(plan_path).sections
    [pending] = sections.pending
    assert (pending.title, pending.project_id, (pending.due - pending.first_qualified).days) == (
        "branch feature/x", 1, 14)
    assert sections.grace["merged-branches"].notify is True
    assert (sections.notify.mode, sections.notify.project, sections.notify.labels, sections.notify.assignees) == (
        IssueMode.SUMMARY, "ops/log", ("cleanup", "bot"), Assignees.MAINTAINERS)


def _resealed(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    del data["digest"]
    change(data)
    data["digest"] = seal(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["notify"].update(labels=["a,b"]), "notify.labels[0]: 'a,b' is not a label name"),
    (lambda d: d["notify"].update(labels=[]), "notify.labels: empty"),
    (lambda d: d["notify"].update(assignees="everyone"), "notify.assignees: expected one of"),
    (lambda d: d["pending"][0].update(extra=1), "pending[0]: unknown key 'extra'"),
    (lambda d: d["pending"][0].update(project_id="1"), "pending[0].project_id: expected a positive integer"),
    (lambda d: d["grace"].clear(), "pending items of rules that have no grace settings"),
    (lambda d: d["grace"]["merged-branches"].update(grace="soon"), "grace.merged-branches.grace"),
    (lambda d: d.update(state_digest="md5:1"), "state_digest: expected sha256:"),
])
def test_a_sealed_plan_with_malformed_sections_is_bad_input(run: Any, tmp_path: Path, change: Any,
                                                            message: str) -> None:
    plan_path, state_path = write_inputs(tmp_path, "https://gitlab.example.com", Inputs(
        [Branch(1, "acme/platform/api", "feature/x")]))
    _resealed(plan_path, change)
    result = run(["notify", "--plan", plan_path, "--state", state_path],
                 {"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "glpat-unused-000000"})
    assert result.code == 1 and message in result.err, result.err
    assert "Traceback" not in result.err


def test_a_long_list_stays_within_gitlabs_description_limit_and_says_how_many_more() -> None:
    from datetime import timedelta

    from janitor.notify_inputs import Notice, Status
    from janitor.notify_render import LINES_PER_PROJECT, project_description, summary_description

    many = [Notice(1, "acme/api", "branches", f"branch b{n:05d}" + "x" * 200, "merged-branches",
                   NOW + timedelta(days=n % 30), Status.PENDING) for n in range(LINES_PER_PROJECT + 7)]
    description = project_description(1, many)
    assert "... and 7 more" in description and len(description) < 1_048_576
    projects = [[Notice(p, f"acme/p{p}", "branches", "branch x" * 50, "r", NOW, Status.PENDING)] * 3
                for p in range(1, 5000)]
    summary = summary_description(projects)
    assert "more (the plan's report lists every one)" in summary and len(summary) < 1_048_576
