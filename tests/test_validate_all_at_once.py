"""`janitor validate` as a policy author meets it: every problem in one run, whole-number durations, and
warnings (exit 0) for valid but dangerous policies, also listed in report.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import collect_and_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: RULE_NAME
    resource: container_tags
    action: delete
    match: {older_than: AGE, larger_than: SIZE}
  - name: artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d, EXTRA}
"""
# independent mistakes, each with what its message must say; any subset appears together in one run
MISTAKES = {
    "RULE_NAME": ("Old_Images", "old-images", "'Old_Images' is not a rule name"),
    "AGE": ("1.5w", "2w", "durations are whole numbers"),
    "SIZE": ("10 gigs", "10GB", "'10 gigs' is not a size"),
    "EXTRA": ("olderthan: 3d", "ref: main", "unknown key 'olderthan'"),
}


def policy_with(mistakes: set[str]) -> str:
    text = BASE
    for key, (bad, good, _) in MISTAKES.items():
        text = text.replace(key, bad if key in mistakes else good)
    return text


# `run` reads and clears the captured output on each call, so sharing it between examples is safe
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mistakes=st.sets(st.sampled_from(sorted(MISTAKES)), min_size=1))
def test_every_problem_is_reported_in_one_run(run, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
                                              mistakes: set[str]) -> None:
    policy = tmp_path_factory.mktemp("v") / "policy.yml"
    policy.write_text(policy_with(mistakes), encoding="utf-8")
    result = run(["validate", policy])
    assert result.code == 1
    for key in mistakes:
        assert MISTAKES[key][2] in result.err, f"{key} not reported alongside {sorted(mistakes - {key})}"
    assert f"({len(mistakes)} problem" in result.err
    assert "Traceback" not in result.err


def test_a_fractional_duration_is_refused_with_a_whole_number_hint(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.yml"
    policy.write_text(policy_with({"AGE"}), encoding="utf-8")
    result = run(["validate", policy])
    assert result.code == 1
    assert f"{policy}:8:" in result.err and "'1.5w'" in result.err and "252h" in result.err and "10d" in result.err


SAFE = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: erase
    match: {older_than: 30d}
    keep: {latest: 1}
"""
DANGERS = {
    "no age": (("    match: {older_than: 30d}\n", "    match: {ref: main}\n"),
               ("action: erase", "action: delete"), "no age condition"),
    "erase without older_than": (("    match: {older_than: 30d}\n", ""), ("", ""), "erase with no older_than"),
    "keep.latest 0": (("keep: {latest: 1}", "keep: {latest: 0}"), ("", ""), "keep.latest: 0"),
    "scope.all without limits": (("scope: {groups: [acme]}", "scope: {all: true}"),
                                 ("limits: {max_actions: 100000, max_percent: 100}\n", ""), "scope.all with no limits"),
}


@pytest.mark.parametrize("danger", sorted(DANGERS))
def test_a_dangerous_policy_validates_with_a_warning(run, tmp_path: Path, danger: str) -> None:  # type: ignore[no-untyped-def]
    first, second, says = DANGERS[danger]
    policy = tmp_path / "policy.yml"
    policy.write_text(SAFE.replace(*first).replace(*second) if second[0] else SAFE.replace(*first), encoding="utf-8")
    result = run(["validate", policy])
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("validate: warning: ")]
    assert len(warnings) == 1 and says in warnings[0] and f"{policy}:" in warnings[0]
    assert "1 warning" in result.out


def test_a_safe_policy_has_no_warning(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "policy.yml"
    policy.write_text(SAFE, encoding="utf-8")
    result = run(["validate", policy])
    assert result.code == 0 and result.err == "" and "warning" not in result.out


def test_warnings_are_printed_by_plan_and_listed_in_report_md(run, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    collect_and_plan(run, env, tmp_path, SAFE.replace("keep: {latest: 1}", "keep: {latest: 0}"))
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Policy warnings" in report and "keep.latest: 0 keeps none of the newest" in report
    planned = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                   "--out", tmp_path / "again.json"], env)
    assert planned.code == 0 and "plan: warning: " in planned.err
