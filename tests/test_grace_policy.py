"""`janitor validate` on the grace and notify keys: each mistake is one message at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

BASE = """\
version: 1
scope: {groups: [acme]}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    match: {merged: true}
"""


def validate(run, tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    return run(["validate", path])


def test_a_rule_with_grace_and_notify_is_valid(run, tmp_path: Path) -> None:
    text = BASE + "    grace: 14d\n    notify: true\nnotify:\n  labels: [janitor, cleanup]\n  assignees: maintainers\n"
    result = validate(run, tmp_path, text)
    assert result.code == 0, result.err
    assert "1 with a grace period" in result.out


@pytest.mark.parametrize(("extra", "where", "words"), [
    ("    notify: true\n", ":8:13: rule 'merged-branches': notify: true needs a grace period", "add grace: 14d"),
    ("    grace: 1.5w\n", ":8:12: rule 'merged-branches': grace: '1.5w' is not a grace period", "whole number"),
    ("    grace: 14 fortnights\n", ":8:12: rule 'merged-branches': grace:", "not a grace period"),
    ("    grace: 0d\n", ":8:12: rule 'merged-branches': grace: a grace of '0d' waits for nothing", "remove grace"),
    ("    grace: 1000y\n", ":8:12: rule 'merged-branches': grace: '1000y' is longer than 100 years", ""),
    ("    grace: 14\n", ":8:12: rule 'merged-branches': grace: expected string", ""),
    ("    grace: 14d\n    notify: yes please\n", ":9:13: rule 'merged-branches': notify: expected boolean", ""),
    ("    grase: 14d\n", ":8:5: rule 'merged-branches': grase: unknown key 'grase'", "did you mean 'grace'?"),
    ("notify:\n  issues: per-project\n  project: platform/log\n", ":9:3: notify: set either issues", "not both"),
    ("notify:\n  project: platform\n", ":9:12: notify.project: 'platform' is not a project path", ""),
    ("notify:\n  project: plаtform/log\n", ":9:12: notify.project: 'а' (U+0430, CYRILLIC SMALL LETTER A)", ""),
    ("notify:\n  labels: []\n", ":9:11: notify.labels:", ""),
    ("notify:\n  labels: [a, b, c, d, e, f, g, h, i, j, k]\n", ":9:11: notify.labels:", "too long"),
    ("notify:\n  labels: ['a,b']\n", ":9:12: notify.labels.0: 'a,b' is not a label janitor can use", "comma"),
    ("notify:\n  labels: [x, x]\n", ":9:11: notify.labels: names the same label twice", ""),
    ("notify:\n  assignees: everyone\n", ":9:14: notify.assignees: 'everyone' is not one of", ""),
    ("notify:\n  issue: per-project\n", ":9:3: notify.issue: unknown key 'issue'", "did you mean 'issues'?"),
])
def test_grace_and_notify_mistakes_are_line_precise(run, tmp_path: Path, extra: str, where: str,
                                                     words: str) -> None:
    result = validate(run, tmp_path, BASE + extra)
    assert result.code == 1
    assert where in result.err and words in result.err, result.err
    assert "Traceback" not in result.err
