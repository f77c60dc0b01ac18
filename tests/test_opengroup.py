"""Planning from an inventory made by The Open Group's Project Cleanup tooling (tests/fixtures/opengroup/):
pretty-printed JSON with no janitor metadata, branches, tags, protection rules, registry images and
packages, but no jobs. The plan covers what the files carry, never a protected object, and says plainly
which rule it could not evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SAMPLE = Path(__file__).parent / "fixtures" / "opengroup"
GITLAB = {"GITLAB_URL": "https://gitlab.example.com"}

# (project, kind, target): what the sample's policy should remove, and nothing else.
EXPECTED = {
    ("acme/platform/api", "branches", (("branch", "feature/login"),)),
    ("acme/web/frontend", "branches", (("branch", "feature/dark-mode"),)),
    ("acme/tools/release-scripts", "branches", (("branch", "chore/bump"),)),  # only under the override
    ("acme/platform/api", "protected_branches", (("name", "hotfix/*"),)),  # matches no branch
    ("acme/platform/api", "tags", (("tag", "v0.9.0-rc1"),)),
    # v1.1.0 is the newest image kept by keep.latest; these two tags share one image and go together
    ("acme/platform/api", "container_tags", (("repository_id", 301), ("tag_name", "feature-login"))),
    ("acme/platform/api", "container_tags", (("repository_id", 301), ("tag_name", "feature-login-old"))),
    ("acme/platform/api", "container_tags", (("repository_id", 301), ("tag_name", "v1.0.0"))),
    ("acme/platform/api", "packages", (("package_id", 401),)),
    ("acme/platform/api", "packages", (("package_id", 402),)),
    ("acme/web/frontend", "packages", (("package_id", 411),)),
    ("acme/web/frontend", "packages", (("package_id", 412),)),
}

# Built-in protections the sample exercises: (project, title as the report shows it, why it was kept).
PROTECTED = [
    ("acme/platform/api", "branch main", "the project's default branch"),
    ("acme/platform/api", "branch release/1.x", "protected branch (rule 'release/*')"),
    ("acme/platform/api", "branch feature/open-review", "source branch of an open merge request"),
    ("acme/web/frontend", "branch main", "protected branch"),
    ("acme/web/frontend", "protected-branch rule develop", "protects the default branch 'develop'"),
    ("acme/platform/api", "tag v1.0.0", "protected tag"),
    ("acme/platform/api", "acme/platform/api:latest", "the tag `latest` is never removed"),
    ("acme/platform/api", "acme/platform/api:v1.2.0", "shares its image"),
]


@pytest.fixture
def planned(tmp_path: Path, run: Any) -> tuple[Any, Path]:
    result = run(["plan", "--policy", SAMPLE / "policy.yml", "--inventory", SAMPLE, "--out", tmp_path / "plan.json",
                  "--report-dir", tmp_path / "report"], GITLAB)
    return result, tmp_path


def _items(tmp_path: Path) -> list[dict[str, Any]]:
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan["gitlab_url"] == GITLAB["GITLAB_URL"]
    items: list[dict[str, Any]] = plan["items"]
    return items


def test_the_sample_is_what_the_open_group_tooling_writes() -> None:
    projects = json.loads((SAMPLE / "projects.json").read_text(encoding="utf-8"))
    assert (SAMPLE / "projects.json").read_text(encoding="utf-8").startswith("{\n  ")  # pretty-printed
    assert set(projects) == {"timestamp", "entries"}  # no janitor metadata
    for entry in projects["entries"].values():
        added = {k for k in entry if k.startswith("_") and k != "_links"}
        assert added == {"_branches", "_tags", "_containers", "_packages", "_protectedBranches"}
    mrs = json.loads((SAMPLE / "merge_requests.json").read_text(encoding="utf-8"))
    assert {"project_id", "source_branch", "state"} <= set(next(iter(mrs["entries"].values())))


def test_plans_exactly_the_kinds_the_files_cover(planned: tuple[Any, Path]) -> None:
    result, tmp_path = planned
    assert result.code == 0, result.err
    found = {(i["project_path"], i["resource"], tuple(sorted(i["target"].items()))) for i in _items(tmp_path)}
    assert found == EXPECTED
    assert "12 items to remove, 95.0 MiB" in result.err


def test_never_plans_a_protected_object_and_says_why_it_was_kept(planned: tuple[Any, Path]) -> None:
    result, tmp_path = planned
    assert result.code == 0, result.err
    planned_titles = {(i["project_path"], i["title"]) for i in _items(tmp_path)}
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    kept = {(p["path"], k["title"]): k for p in report["projects"] for k in p["kept"]}
    for project, title, why in PROTECTED:
        assert (project, title) not in planned_titles
        matching = [k for (path, t), k in kept.items() if path == project and t.startswith(title)]
        assert matching and all(k["category"] == "protected" and why in k["reason"] for k in matching), \
            (title, matching)
    assert report["skipped_projects"] == {"outside the policy's scope": ["sandbox/playground"]}


def test_says_which_rule_it_could_not_evaluate_for_lack_of_data(planned: tuple[Any, Path]) -> None:
    result, tmp_path = planned
    assert result.code == 0, result.err
    assert "rule 'old-artifacts' not evaluated in 3 projects: the inventory has no _jobs, _pipelines" in result.err
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    rule = next(r for r in report["totals"]["by_rule"] if r["rule"] == "old-artifacts")
    assert (rule["unevaluated_projects"], rule["missing_data"], rule["items"]) == (3, ["_jobs", "_pipelines"], 0)
    evaluated = [r for r in report["totals"]["by_rule"] if r["rule"] != "old-artifacts"]
    assert all(r["unevaluated_projects"] == 0 and r["examined"] > 0 for r in evaluated)
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "### Rules not evaluated for lack of data" in markdown
    assert "- `old-artifacts`: 3 projects have no _jobs, _pipelines in the inventory" in markdown
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="not-evaluated"' in html and "<code>old-artifacts</code>: 3 projects have no _jobs" in html


def test_the_report_shows_which_override_decided(planned: tuple[Any, Path]) -> None:
    result, tmp_path = planned
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    tools = next(p for p in report["projects"] if p["path"] == "acme/tools/release-scripts")
    assert tools["overrides"] == {"merged-branches": ["acme/tools"]}
    reasons = [i["reason"] for i in tools["remove"]]
    assert reasons == ['matches merged true; older_than "3d" (age 7d); override acme/tools']
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "- rule `merged-branches` decided with override `acme/tools`" in markdown
    assert all(not p["overrides"] for p in report["projects"] if p["path"] != "acme/tools/release-scripts")


def test_without_gitlab_url_the_plan_fails_with_a_clear_message(tmp_path: Path, run: Any) -> None:
    result = run(["plan", "--policy", SAMPLE / "policy.yml", "--inventory", SAMPLE, "--out", tmp_path / "plan.json"])
    assert result.code == 1
    assert "does not say which GitLab it came from" in result.err and "GITLAB_URL" in result.err
    assert not (tmp_path / "plan.json").exists()
