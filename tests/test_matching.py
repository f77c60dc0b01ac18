"""Nothing a project member writes can stall a run (issue 8 §3).

Protected-branch and protected-tag wildcards are written by any Maintainer, branch and tag names by any
Developer: name wildcards must match in linear time, and policy regexes run on RE2 (no backtracking).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory import InventoryWriter
from janitor.matchers import NameMatcher, name_glob, package_rule_matches, ref_rule_matches
from janitor.model import format_time

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OLD = format_time(NOW - timedelta(days=400))
HOSTILE_RULE = "*a*a*a*a*a*a*a*a*a*a*b"
HOSTILE_NAME = "a" * 60 + "!"
HOSTILE_REGEX = "(a+)+$"

POLICY = f"""\
version: 1
scope: {{groups: [acme]}}
limits: {{max_actions: 100000, max_percent: 100}}
rules:
  - name: stale-branches
    resource: branches
    action: delete
    match:
      older_than: 30d
      name: {{regex: "{HOSTILE_REGEX}|.*", exclude_regex: "(a|aa)+b", exclude: ["{HOSTILE_RULE}"]}}
  - name: old-tags
    resource: tags
    action: delete
    match:
      older_than: 30d
      name: {{include: ["*a*a*a*a*a*a*a*a*a*a*!"], regex: "(a*)*!", exclude_regex: "(a+)+b"}}
"""


def _commit(sha: str) -> dict[str, Any]:
    return {"id": sha, "committed_date": OLD, "created_at": OLD}


def _hostile_inventory(tmp_path: Path) -> Path:
    """Many projects, each with branches and tags whose names defeat backtracking, under wildcard rules
    built to do the same."""
    writer = InventoryWriter(tmp_path / "inv", format_time(NOW), {"gitlab_url": "https://gitlab.example.com"})
    for pid in range(1, 41):
        names = [HOSTILE_NAME, "a" * 200 + "!", "a" * 59 + "b", f"feature/{'a' * 80}"]
        rules = [HOSTILE_RULE, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c", "**********************z"]
        writer.add_project({
            "id": pid, "path_with_namespace": f"acme/p{pid}", "default_branch": "main", "archived": False,
            "_branches": [{"name": n, "merged": True, "protected": False, "commit": _commit(f"{i:040x}")}
                          for i, n in enumerate(names)],
            "_protectedBranches": [{"id": i, "name": r} for i, r in enumerate(rules)],
            "_tags": [{"name": n, "protected": False, "release": None, "commit": _commit(f"{i:040x}")}
                      for i, n in enumerate(names)],
            "_protectedTags": [{"name": r} for r in rules],
            "_releases": [],
        })
    writer.commit()
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    return tmp_path / "inv"


def test_a_plan_over_hostile_rules_names_and_regexes_finishes_quickly(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inventory = _hostile_inventory(tmp_path)
    assert run(["validate", tmp_path / "policy.yml"]).code == 0  # loads the CLI's modules: time the plan alone
    started = time.monotonic()
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", inventory,
                  "--out", tmp_path / "plan.json"])
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    assert elapsed < 2, f"plan took {elapsed:.1f}s"
    items = json.loads((tmp_path / "plan.json").read_text())["items"]
    branches = {i["target"]["branch"] for i in items if i["resource"] == "branches"}
    tags = {i["target"]["tag"] for i in items if i["resource"] == "tags"}
    # a*b is protected by the hostile rule; the others are not, and the policy takes them
    assert branches == {HOSTILE_NAME, "a" * 200 + "!", f"feature/{'a' * 80}"}
    assert tags == {HOSTILE_NAME, "a" * 200 + "!"}
    assert len(items) == 40 * 5


def test_the_hostile_wildcard_is_instant() -> None:
    started = time.monotonic()
    for _ in range(1000):
        assert not name_glob(HOSTILE_RULE).matches(HOSTILE_NAME)
        assert name_glob(HOSTILE_RULE).matches("a" * 60 + "b")
    assert time.monotonic() - started < 0.5


def test_a_catastrophic_policy_regex_is_linear() -> None:
    matcher = NameMatcher.from_policy({"regex": HOSTILE_REGEX})
    started = time.monotonic()
    assert matcher.explain("a" * 5000 + "!") == "does not match regex '(a+)+$'"  # still the whole name
    assert matcher.explain("a" * 5000) is None
    assert time.monotonic() - started < 0.5


def _reference(pattern: str, name: str) -> bool:
    """A second, obviously correct reading of GitLab's wildcard: a regex where `*` is `.*` and every
    other character stands for itself (fnmatch would read `?` and `[` as special, GitLab does not)."""
    body = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(body, name, re.DOTALL) is not None


ALPHABET = st.sampled_from(["a", "b", "*", "/", ".", "?", "[", "]", "\\", "%", "_", "A"])


@settings(max_examples=500, deadline=None)
@given(st.text(ALPHABET, max_size=8), st.text(ALPHABET.filter(lambda c: c != "*"), max_size=10))
def test_the_linear_matcher_agrees_with_a_regex_reading(pattern: str, name: str) -> None:
    assert name_glob(pattern).matches(name) == _reference(pattern, name)
    assert ref_rule_matches(pattern, name) == (bool(pattern) and (pattern == name or
                                                                  ("*" in pattern and _reference(pattern, name))))
    assert package_rule_matches(pattern, name) == (bool(pattern) and bool(name)
                                                   and _reference(pattern.lower(), name.lower()))


PACKAGES_POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-packages
    resource: packages
    action: delete
    match: {older_than: 30d}
"""


def test_package_protection_rules_ignore_case_as_gitlab_ilike_does(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """GitLab matches `package_name_pattern` with ILIKE: `@Acme/*` protects `@acme/ui`. `%` and `_` are
    literal there, so `a_b` does not protect `axb`."""
    writer = InventoryWriter(tmp_path / "inv", format_time(NOW), {"gitlab_url": "https://gitlab.example.com"})
    packages = [("@acme/ui", "npm"), ("@other/ui", "npm"), ("axb", "generic"), ("a_b", "generic")]
    writer.add_project({
        "id": 1, "path_with_namespace": "acme/app", "archived": False,
        "_packages": [{"id": i, "name": n, "version": "1.0.0", "package_type": t, "status": "default",
                       "created_at": OLD} for i, (n, t) in enumerate(packages, start=1)],
        "_packageProtectionRules": [{"package_name_pattern": "@Acme/*", "package_type": "npm"},
                                    {"package_name_pattern": "A_B", "package_type": "generic"}],
    })
    writer.commit()
    (tmp_path / "policy.yml").write_text(PACKAGES_POLICY, encoding="utf-8")
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                  "--out", tmp_path / "plan.json"])
    assert result.code == 0, result.err
    planned = {i["target"]["package_id"] for i in json.loads((tmp_path / "plan.json").read_text())["items"]}
    assert planned == {2, 3}

