"""GitLab's path rules (issue 9 §1, §2): group and project paths are case-insensitive and ASCII.

GitLab resolves `acme/Legal` and `acme/legal` to one group and answers with the path in its real case, so
every place a policy names a path (scope, exclude, overrides, `--scope`, the scope lock) compares ignoring
case. Branch, tag and package names keep their case, as in GitLab.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import collect_and_plan
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.inventory import InventoryWriter, read_inventory
from janitor.matchers import path_matches
from janitor.model import format_time
from janitor.policy.model import path_covers
from janitor.simulator import Instance, Simulator
from janitor.simulator.state import Group

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OLD = format_time(NOW - timedelta(days=400))


def _rename(instance: Instance, old: str, new: str) -> None:
    """Rename a group's path in the simulator, as a GitLab admin would (`acme/legal` -> `acme/Legal`)."""
    group: Group = instance.groups_by_path.pop(old)
    group.path = new.rsplit("/", 1)[-1]
    group.full_path = new
    instance.groups_by_path[new] = group
    for path, project in list(instance.projects_by_path.items()):
        if project.namespace is group:
            del instance.projects_by_path[path]
            instance.projects_by_path[project.path_with_namespace] = project


SIM_POLICY = """\
version: 1
scope:
  groups: [acme]
  exclude: ["acme/legal/**"]
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 1d}
overrides:
  acme/legacy:
    old-artifacts: {enabled: false}
"""


def test_a_group_renamed_in_case_stays_excluded_and_keeps_its_overrides(run, env, sim: Simulator,  # type: ignore[no-untyped-def]
                                                                         instance: Instance, tmp_path: Path) -> None:
    _rename(instance, "acme/legal", "acme/Legal")
    _rename(instance, "acme/legacy", "acme/Legacy")
    legal = {p.id for p in instance.projects.values() if p.path_with_namespace.startswith("acme/Legal/")}
    legacy = {p.id for p in instance.projects.values() if p.path_with_namespace.startswith("acme/Legacy/")}
    assert legal and legacy and all(instance.projects[i].job_artifacts_size for i in legal | legacy)
    plan = collect_and_plan(run, env, tmp_path, SIM_POLICY)
    planned = {i["project_id"] for i in plan["items"]}
    assert planned, "the rule plans elsewhere in acme"
    assert not planned & legal, "acme/Legal/** is excluded by acme/legal/**"
    assert not planned & legacy, "the override for acme/legacy disables the rule in acme/Legacy"
    collected = {int(entry["id"]) for entry in read_inventory(tmp_path / "inv").projects()}
    assert legacy & collected and not legal & collected, "collect does not even read the excluded projects"
    # the scope lock, written in another case, lets the plan through and apply deletes only what it lists
    before = {i: instance.projects[i].job_artifacts_size for i in legal | legacy}
    applied = run(["apply", tmp_path / "plan.json", "--yes", "--scope", "ACME"], env)
    assert applied.code == 0, applied.err
    assert {i: instance.projects[i].job_artifacts_size for i in legal | legacy} == before


def _branch(name: str) -> dict[str, Any]:
    return {"name": name, "merged": True, "protected": False, "commit": {"id": "a" * 40, "committed_date": OLD}}


def _inventory(tmp_path: Path, paths: list[str]) -> Path:
    writer = InventoryWriter(tmp_path / "inv", format_time(NOW), {"gitlab_url": "https://gitlab.example.com"})
    for pid, path in enumerate(paths, start=1):
        writer.add_project({"id": pid, "path_with_namespace": path, "default_branch": "main", "archived": False,
                            "_branches": [_branch("main"), _branch("feature/x"), _branch("Keep-me")],
                            "_protectedBranches": [{"name": "Release/*"}]})
    writer.commit()
    return tmp_path / "inv"


PATHS = ["acme/api", "acme/Web/frontend", "acme/web/docs", "acme/Legacy/x", "acme/legacy/y", "ACME/tools/z",
         "other/tool"]


def _plan(run, tmp_path: Path, policy: str, *extra: str) -> tuple[Any, dict[str, set[str]]]:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", _inventory(tmp_path, PATHS),
                  "--out", tmp_path / "plan.json", *extra])
    if result.code != 0:
        return result, {}
    planned: dict[str, set[str]] = {}
    for item in json.loads((tmp_path / "plan.json").read_text())["items"]:
        planned.setdefault(item["project_path"], set()).add(item["target"]["branch"])
    return result, planned


CASE_POLICY = """\
version: 1
scope: {groups: [ACME], exclude: ["acme/WEB/**"]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: merged
    resource: branches
    action: delete
    match: {merged: true, name: {exclude: ["keep-*"]}}
overrides:
  Acme:
    merged: {match: {name: {exclude: ["feature/*"]}}}
  acme/LEGACY:
    merged: {enabled: false}
"""


def test_scope_exclude_and_overrides_ignore_case_but_names_do_not(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, planned = _plan(run, tmp_path, CASE_POLICY, "--scope", "acme")
    assert result.code == 0, result.err
    # scope [ACME] keeps every acme project, whatever case GitLab returns; acme/WEB/** excludes acme/Web and
    # acme/web; the override for acme/LEGACY disables the rule in acme/Legacy and acme/legacy; the override
    # for Acme applies everywhere in acme. `keep-*` does not exclude `Keep-me`: names keep their case.
    assert planned == {"acme/api": {"Keep-me"}, "ACME/tools/z": {"Keep-me"}}


def test_a_scope_lock_in_another_case_refuses_nothing_inside_and_everything_outside(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, _ = _plan(run, tmp_path, CASE_POLICY, "--scope", "Acme/")
    assert result.code == 0, result.err
    outside = CASE_POLICY.replace("groups: [ACME]", "groups: [ACME], projects: [Other/Tool]")
    result, _ = _plan(run, tmp_path, outside, "--scope", "ACME")
    assert result.code == 3
    assert "Other/Tool" in result.err


@pytest.mark.parametrize("command", ["collect", "plan", "apply"])
def test_a_non_ascii_scope_lock_is_a_usage_error(run, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                 command: str) -> None:
    args = {"collect": ["--policy", "p.yml", "--out", tmp_path / "o"],
            "plan": ["--policy", "p.yml", "--inventory", tmp_path, "--out", tmp_path / "p.json"],
            "apply": [tmp_path / "plan.json"]}[command]
    result = run([command, *args, "--scope", "аcme"])  # Cyrillic а
    assert result.code == 1  # a usage error (DESIGN.md: usage errors exit 1)
    err = result.err
    assert "'а' (U+0430, CYRILLIC SMALL LETTER A) is not ASCII; GitLab paths are ASCII" in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "p.json").exists()


SEGMENT = st.text(st.sampled_from("abcXYZ-_.1"), min_size=1, max_size=5)
PATH = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flips[i % len(flips)] else c for i, c in enumerate(text))


@settings(max_examples=300, deadline=None)
@given(PATH, PATH, st.sampled_from(["", "/*", "/**", "/**/x", "*", "?"]), st.lists(st.booleans(), min_size=1))
def test_path_comparisons_ignore_ascii_case(prefix: str, rest: str, glob: str, flips: list[bool]) -> None:
    path = f"{prefix}/{rest}"
    assert path_covers(_recase(prefix, flips), path)
    assert path_covers(prefix, _recase(path, flips))
    assert (path_matches(path, [prefix + glob]) is None) == (path_matches(_recase(path, flips),
                                                                          [_recase(prefix + glob, flips)]) is None)



def test_an_empty_scope_lock_is_refused_not_silently_off(run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policy.yml").write_text(CASE_POLICY, encoding="utf-8")
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", _inventory(tmp_path, PATHS),
                  "--out", tmp_path / "plan.json", "--scope", ""])
    assert result.code == 1
    assert "'' is not a group path" in result.err
    assert not (tmp_path / "plan.json").exists()
