"""A malformed inventory is refused entry by entry, naming the bad value's place, with exit 1 and a hint:
never a traceback, never a value silently coerced (an id of 1.5 truncated, a null list read as empty).

The inventory is the Open Group sample (tests/fixtures/opengroup/) with one project carrying every list a
kind reads, written both ways janitor reads it: one entry per line (collect's format) and whole-file JSON
(other tooling's)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from janitor.inventory import InventoryWriter

SAMPLE = Path(__file__).parent / "fixtures" / "opengroup"
GITLAB = {"GITLAB_URL": "https://gitlab.example.com"}
POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 1000, max_percent: 100}
rules:
  - {name: b, resource: branches, action: delete, match: {merged: true}}
  - {name: t, resource: tags, action: delete, match: {older_than: 1d}}
  - {name: p, resource: protected_branches, action: delete, match: {orphaned: true}}
  - {name: c, resource: container_tags, action: delete, match: {older_than: 1d}}
  - {name: k, resource: packages, action: delete, match: {older_than: 1d}}
  - {name: j, resource: job_artifacts, action: delete, match: {older_than: 1d}}
  - {name: l, resource: pipelines, action: delete, match: {older_than: 1d}}
  - {name: e, resource: environments, action: delete, match: {older_than: 1d}}
"""


def full_entries() -> dict[str, Any]:
    """The sample's projects; 101 also carries jobs, pipelines, environments and the optional lists."""
    entries: dict[str, Any] = json.loads((SAMPLE / "projects.json").read_text())["entries"]
    api = entries["101"]
    api["_pipelines"] = [{"id": 900 + n, "ref": "main", "status": "success",
                          "updated_at": "2025-01-01T00:00:00Z"} for n in range(3)]
    api["_jobs"] = [{"id": 9000 + n, "name": "build", "status": "success", "ref": "main",
                     "finished_at": "2025-01-01T00:00:00Z", "erased_at": None,
                     "artifacts": [{"file_type": "archive", "size": 100}, {"file_type": "trace", "size": 1}],
                     "pipeline": {"id": 900 + n % 3, "ref": "main", "status": "success"}} for n in range(9)]
    api["_environments"] = [{"id": 70, "name": "review/x", "state": "stopped", "tier": "development",
                             "updated_at": "2025-01-01T00:00:00Z",
                             "last_deployment": {"id": 71, "ref": "x", "status": "success",
                                                 "created_at": "2025-01-01T00:00:00Z"}}]
    api["_protectedEnvironments"] = []
    api["_protectedTags"] = [{"name": "v1.*"}]
    api["_releases"] = [{"tag_name": "v1.0.0"}]
    api["_packageProtectionRules"] = [{"package_name_pattern": "@acme/keep*", "package_type": "npm"}]
    api["_newestPipelines"] = {"main": 902}
    return entries


def write_lines(directory: Path, entries: dict[str, Any], mrs: list[Any] | None = None) -> Path:
    writer = InventoryWriter(directory, "2025-06-01T12:00:00Z", {})
    for key, entry in entries.items():
        writer._entry("projects.json", key, entry)
    default_mrs = json.loads((SAMPLE / "merge_requests.json").read_text())["entries"].values()
    for mr in default_mrs if mrs is None else mrs:
        writer._entry("merge_requests.json", str(mr["id"]) if isinstance(mr, dict) and "id" in mr else "1", mr)
    writer.commit()
    return directory


def write_whole(directory: Path, entries: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "projects.json").write_text(json.dumps({"timestamp": "2025-06-01T12:00:00Z", "entries": entries}))
    (directory / "merge_requests.json").write_bytes((SAMPLE / "merge_requests.json").read_bytes())
    return directory


def plan(run: Callable[..., Any], tmp_path: Path, inventory: Path) -> Any:
    (tmp_path / "policy.yml").write_text(POLICY)
    result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", inventory,
                  "--out", tmp_path / "plan.json"], GITLAB)
    assert "Traceback" not in result.err
    return result


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set entry 101's value at a dotted path with [n] indices (`_jobs[7].finished_at`)."""
    def apply(entries: dict[str, Any]) -> None:
        node: Any = entries["101"]
        parts = path.replace("[", ".[").split(".")
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        last = parts[-1]
        if last.startswith("["):
            node[int(last[1:-1])] = value
        else:
            node[last] = value
    return apply


# (change to entry 101, what the message must say after "entry 101: ")
CASES: list[tuple[str, Any, str]] = [
    ("_branches", "main", "_branches: expected a list, not 'main'"),
    ("_branches", None, "_branches: must not be null"),
    ("_branches", {"0": {}}, "_branches: expected a list, not an object"),
    ("_branches[4]", "feature/x", "_branches[4]: expected an object, not 'feature/x'"),
    ("_branches[1].name", 7, "_branches[1].name: expected a string, not 7"),
    ("_branches[1].merged", "yes", "_branches[1].merged: expected true or false, not 'yes'"),
    ("_branches[1].commit.committed_date", "yesterday",
     "_branches[1].commit.committed_date: not an ISO-8601 time ('yesterday')"),
    ("_jobs[7].finished_at", "yesterday", "_jobs[7].finished_at: not an ISO-8601 time ('yesterday')"),
    ("_jobs[7].finished_at", 1700000000, "_jobs[7].finished_at: not an ISO-8601 time (1700000000)"),
    ("_jobs[2].id", 1.5, "_jobs[2].id: expected a positive integer id, not 1.5"),
    ("_jobs[2].id", True, "_jobs[2].id: expected a positive integer id, not true"),
    ("_jobs[2].id", "9002", "_jobs[2].id: expected a positive integer id, not '9002'"),
    ("_jobs[2].id", -4, "_jobs[2].id: expected a positive integer id, not -4"),
    ("_jobs[2].id", 9001, "_jobs[2]: duplicate id 9001"),
    ("_jobs[3].artifacts", "big", "_jobs[3].artifacts: expected a list, not 'big'"),
    ("_jobs[3].artifacts[0].size", -1, "_jobs[3].artifacts[0].size: expected a non-negative integer, not -1"),
    ("_jobs[3].artifacts[0].size", "1MB", "_jobs[3].artifacts[0].size: expected a non-negative integer"),
    ("_jobs[3].pipeline.id", 2.0, "_jobs[3].pipeline.id: expected a positive integer id, not 2.0"),
    ("_jobs", {}, "_jobs: expected a list, not an object"),
    ("_pipelines[0].id", "900", "_pipelines[0].id: expected a positive integer id, not '900'"),
    ("_pipelines[1].updated_at", "soon", "_pipelines[1].updated_at: not an ISO-8601 time ('soon')"),
    ("_pipelines", None, "_pipelines: must not be null"),
    ("_tags[0]", ["v1"], "_tags[0]: expected an object, not a list"),
    ("_tags[1].protected", 1, "_tags[1].protected: expected true or false, not 1"),
    ("_protectedBranches[0].name", None, "_protectedBranches[0].name: must not be null"),
    ("_protectedBranches[0].push_access_levels[0].access_level", "40",
     "_protectedBranches[0].push_access_levels[0].access_level: expected a non-negative integer, not '40'"),
    ("_protectedTags[0]", "v1.*", "_protectedTags[0]: expected an object, not 'v1.*'"),
    ("_releases", "v1.0.0", "_releases: expected a list, not 'v1.0.0'"),
    ("_containers[0].id", "301", "_containers[0].id: expected a positive integer id, not '301'"),
    ("_containers[0].tags[2].total_size", 1.5e9,
     "_containers[0].tags[2].total_size: expected a non-negative integer, not 1500000000.0"),
    ("_containers[0].tags[2].created_at", "2025-13-45",
     "_containers[0].tags[2].created_at: not an ISO-8601 time ('2025-13-45')"),
    ("_containers[0].tags", "latest", "_containers[0].tags: expected a list, not 'latest'"),
    ("_packages[0].id", 0, "_packages[0].id: expected a positive integer id, not 0"),
    ("_packages[1].name", ["x"], "_packages[1].name: expected a string, not a list"),
    ("_packages[1]._size", -10, "_packages[1]._size: expected a non-negative integer, not -10"),
    ("_packageProtectionRules", "all", "_packageProtectionRules: expected a list, not 'all'"),
    ("_environments[0].id", None, "_environments[0].id: must not be null"),
    ("_environments[0].last_deployment", "x", "_environments[0].last_deployment: expected an object, not 'x'"),
    ("_protectedEnvironments", [1], "_protectedEnvironments[0]: expected an object or a string, not 1"),
    ("_protectedEnvironments", [{"name": 5}], "_protectedEnvironments[0].name: expected a string, not 5"),
    ("_newestPipelines", {"main": "902"}, "_newestPipelines.main: expected a positive integer id, not '902'"),
    ("path_with_namespace", 12, "path_with_namespace: expected a string, not 12"),
    ("path_with_namespace", "acme/\udc80", "path_with_namespace: not valid Unicode text"),
    ("archived", "false", "archived: expected true or false, not 'false'"),
]


@pytest.mark.parametrize("layout", ["lines", "whole"])
@pytest.mark.parametrize(("place", "value", "message"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_a_bad_value_is_named_by_its_place(run: Callable[..., Any], tmp_path: Path, layout: str, place: str,
                                           value: Any, message: str) -> None:
    entries = full_entries()
    _set(place, value)(entries)
    inventory = (write_lines if layout == "lines" else write_whole)(tmp_path / "inv", entries)
    result = plan(run, tmp_path, inventory)
    assert result.code == 1
    assert f"projects.json: entry 101: {message}" in result.err
    assert "Open Group format" in result.err  # the hint
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda e: e["101"].update(id="101"), "entry 101: id: expected a positive integer id, not '101'"),
    (lambda e: e["101"].update(id=101.0), "entry 101: id: expected a positive integer id, not 101.0"),
    (lambda e: e["101"].update(id=-101), "entry 101: id: expected a positive integer id, not -101"),
    (lambda e: e["101"].pop("id"), "entry 101: id: missing"),
    (lambda e: e["101"].update(id=102), "entry 101: its id 102 differs from the entry's key"),
    (lambda e: e.update({"101": "acme/platform/api"}), "entry 101: expected an object, not 'acme/platform/api'"),
])
def test_project_ids_are_positive_integers_matching_their_key(run: Callable[..., Any], tmp_path: Path,
                                                              change: Callable[[dict[str, Any]], None],
                                                              message: str) -> None:
    entries = full_entries()
    change(entries)
    result = plan(run, tmp_path, write_lines(tmp_path / "inv", entries))
    assert result.code == 1 and message in result.err


def test_a_project_twice_is_refused(run: Callable[..., Any], tmp_path: Path) -> None:
    entries = full_entries()
    valid = plan(run, tmp_path, write_lines(tmp_path / "valid", copy.deepcopy(entries)))
    assert valid.code == 0, valid.err  # the sample with every list is a valid inventory ...
    directory = tmp_path / "inv"
    writer = InventoryWriter(directory, "2025-06-01T12:00:00Z", {})
    for key, entry in [*entries.items(), ("101", entries["101"])]:
        writer._entry("projects.json", key, entry)
    writer.commit()
    result = plan(run, tmp_path, directory)
    assert result.code == 1 and "entry 101: a second entry with the id 101" in result.err
    # whole-file JSON: the second key would silently replace the first; it is refused instead
    text = json.dumps({"timestamp": "2025-06-01T12:00:00Z", "entries": {"101": entries["101"]}})
    text = text.replace('"entries": {', '"entries": {"101": {"id": 101, "path_with_namespace": "acme/x"}, ')
    (directory / "projects.json").write_text(text)
    result = plan(run, tmp_path, directory)
    assert result.code == 1 and "the key '101' appears twice in one object" in result.err


@pytest.mark.parametrize(("mr", "message"), [
    ({"id": 1, "project_id": "101", "source_branch": "x", "state": "opened"},
     "entry 1: project_id: expected a positive integer id, not '101'"),
    ({"id": 1, "project_id": 101.5, "source_branch": "x", "state": "opened"},
     "entry 1: project_id: expected a positive integer id, not 101.5"),
    ({"id": 1, "source_branch": "x", "state": "opened"}, "entry 1: project_id: missing"),
    ({"id": 1, "project_id": 101, "source_branch": ["x"]}, "entry 1: source_branch: expected a string, not a list"),
    ({"id": 1, "project_id": 101, "source_branch": "x", "state": 3}, "entry 1: state: expected a string, not 3"),
    ("opened", "entry 1: expected an object, not 'opened'"),
])
def test_merge_requests_are_checked_too(run: Callable[..., Any], tmp_path: Path, mr: Any, message: str) -> None:
    result = plan(run, tmp_path, write_lines(tmp_path / "inv", full_entries(), mrs=[mr]))
    assert result.code == 1 and f"merge_requests.json: {message}" in result.err


def test_nan_and_infinity_are_not_json(run: Callable[..., Any], tmp_path: Path) -> None:
    for layout, constant in (("lines", "NaN"), ("whole", "Infinity"), ("lines", "-Infinity")):
        directory = (write_lines if layout == "lines" else write_whole)(tmp_path / layout / constant,
                                                                         full_entries())
        path = directory / "projects.json"
        path.write_text(path.read_text().replace('"size":100', f'"size":{constant}')
                        .replace('"size": 100', f'"size": {constant}'))
        result = plan(run, tmp_path, directory)
        assert result.code == 1 and f"it holds {constant}, which is not JSON" in result.err


def test_a_bad_timestamp_is_refused(run: Callable[..., Any], tmp_path: Path) -> None:
    directory = write_whole(tmp_path / "inv", full_entries())
    data = json.loads((directory / "projects.json").read_text())
    data["timestamp"] = "last tuesday"
    (directory / "projects.json").write_text(json.dumps(data))
    result = plan(run, tmp_path, directory)
    assert result.code == 1 and "projects.json: timestamp: not an ISO-8601 time ('last tuesday')" in result.err


@pytest.mark.parametrize("layout", ["lines", "whole"])
def test_deep_nesting_is_explained(run: Callable[..., Any], tmp_path: Path, layout: str) -> None:
    entries = full_entries()
    entries["101"]["description"] = "NEST"
    directory = (write_lines if layout == "lines" else write_whole)(tmp_path / "inv", entries)
    path = directory / "projects.json"
    text = path.read_text()
    path.write_text(text.replace('"NEST"', "[" * 100_000 + "]" * 100_000))
    result = plan(run, tmp_path, directory)
    assert result.code == 1 and "nested too deeply" in result.err


@pytest.mark.parametrize("name", ["projects.json", "merge_requests.json"])
def test_bytes_that_are_not_utf8(run: Callable[..., Any], tmp_path: Path, name: str) -> None:
    directory = write_lines(tmp_path / "inv", full_entries())
    path = directory / name
    raw = path.read_bytes()
    cut = raw.index(b"\n", raw.index(b"\n") + 1)  # inside the second line: after the head
    path.write_bytes(raw[:cut] + b"\xff\xfe" + raw[cut:])
    result = plan(run, tmp_path, directory)
    assert result.code == 1 and f"{name} is not UTF-8 text" in result.err
