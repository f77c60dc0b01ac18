"""apply reads nothing but the plan, so a plan is refused unless every item has exactly its types. The seal
is an unkeyed SHA-256 anyone can recompute, so the tests re-seal their changes: what stops a hostile or
hand-edited plan is the validation, and the messages name the item index and the field. An unsealed change
is still a safety refusal (exit 3), checked first."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from janitor.plan_file import seal

SAMPLE = Path(__file__).parent / "fixtures" / "opengroup"
GITLAB = {"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "glpat-not-used-here"}


@pytest.fixture
def plan_path(run: Callable[..., Any], tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    made = run(["plan", "--policy", SAMPLE / "policy.yml", "--inventory", SAMPLE, "--out", path], GITLAB)
    assert made.code == 0, made.err
    return path


def resealed(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = json.loads(path.read_text())
    change(data)
    data["digest"] = seal({k: v for k, v in data.items() if k != "digest"})
    path.write_text(json.dumps(data))
    return path


def index_of(data: dict[str, Any], resource: str) -> int:
    return next(n for n, item in enumerate(data["items"]) if item["resource"] == resource)


def apply(run: Callable[..., Any], path: Path) -> Any:
    result = run(["apply", path], GITLAB)
    assert "Traceback" not in result.err
    return result


def item_change(field: str, value: Any, resource: str = "packages") -> Callable[[dict[str, Any]], None]:
    """Set a field of the first item of `resource` (`target.package_id` reaches inside)."""
    def change(data: dict[str, Any]) -> None:
        item = data["items"][index_of(data, resource)]
        *parents, last = field.split(".")
        for part in parents:
            item = item[part]
        item[last] = value
    return change


ITEM_CASES: list[tuple[str, Any, str]] = [
    ("project_id", 101.5, ".project_id: expected a positive integer id, not 101.5"),
    ("project_id", "abc", ".project_id: expected a positive integer id, not 'abc'"),
    ("project_id", "101", ".project_id: expected a positive integer id, not '101'"),
    ("project_id", True, ".project_id: expected a positive integer id, not true"),
    ("project_id", 0, ".project_id: expected a positive integer id, not 0"),
    ("project_id", None, ".project_id: must not be null"),
    ("target.package_id", 401.9, ".target.package_id: expected a positive integer id, not 401.9"),
    ("target.package_id", "401", ".target.package_id: expected a positive integer id, not '401'"),
    ("target", {}, ".target: expected a non-empty object"),
    ("bytes", -1, ".bytes: expected a non-negative integer, not -1"),
    ("bytes", 10.5, ".bytes: expected a non-negative integer, not 10.5"),
    ("title", 5, ".title: expected a string, not 5"),
    ("project_path", ["acme"], ".project_path: expected a string, not a list"),
    ("reason", {"a": 1}, ".reason: expected a string, not an object"),
    ("fingerprint", [], ".fingerprint: expected an object, not a list"),
    ("fingerprint.version", {"deep": [1]}, ".fingerprint.version: expected a string, integer, boolean or null"),
    ("fingerprint.version", 1.5, ".fingerprint.version: expected a string, integer, boolean or null, not 1.5"),
    ("surprise", "x", ": unknown key 'surprise'"),
]


@pytest.mark.parametrize(("field", "value", "message"), ITEM_CASES, ids=[f"{c[0]}={c[1]!r}" for c in ITEM_CASES])
def test_an_item_field_of_the_wrong_type_is_refused(run: Callable[..., Any], plan_path: Path, field: str,
                                                   value: Any, message: str) -> None:
    index = index_of(json.loads(plan_path.read_text()), "packages")
    result = apply(run, resealed(plan_path, item_change(field, value)))
    assert result.code == 1
    assert f"plan.json: items[{index}]{message}" in result.err
    assert "Use the plan file exactly as `janitor plan` wrote it" in result.err


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["items"][0].pop("reason"), "items[0].reason: missing"),
    (lambda d: d["items"][0].update(resource="repositories"),
     "items[0].resource: 'repositories' is not a resource kind"),
    (lambda d: d["items"][index_of(d, "branches")].update(action="erase"), "].action: branches cannot 'erase'"),
    (lambda d: d["items"].append(dict(d["items"][0])), "a second item with the id"),
    (lambda d: d["items"].__setitem__(0, "delete everything"), "items[0]: expected an object, not 'delete every"),
    (lambda d: d.update(created_at="yesterday"), "malformed plan: created_at: not an ISO-8601 time ('yesterday')"),
    (lambda d: d.update(gitlab_url=None), "malformed plan: gitlab_url: must not be null"),
    (lambda d: d.update(items={"0": {}}), "malformed plan: items: expected a list, not an object"),
    (lambda d: d.update(extra=1), "malformed plan: unknown key 'extra'"),
])
def test_a_malformed_plan_is_refused_by_place(run: Callable[..., Any], plan_path: Path,
                                              change: Callable[[dict[str, Any]], None], message: str) -> None:
    result = apply(run, resealed(plan_path, change))
    assert result.code == 1 and message in result.err


def test_the_digest_is_checked_first(run: Callable[..., Any], plan_path: Path) -> None:
    data = json.loads(plan_path.read_text())
    data["items"][0]["project_id"] = 1.5  # changed, not re-sealed
    data["items"][0]["title"] = "\udc80"  # a lone surrogate: no UTF-8 encoder takes it, the seal still must
    plan_path.write_text(json.dumps(data))
    result = apply(run, plan_path)
    assert result.code == 3 and "digest does not match" in result.err


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_at_parse(run: Callable[..., Any], plan_path: Path, constant: str) -> None:
    text = plan_path.read_text()
    plan_path.write_text(text.replace('"bytes": 0', f'"bytes": {constant}', 1))
    result = apply(run, plan_path)
    assert result.code == 1 and f"it holds {constant}, which is not JSON" in result.err


def test_deep_nesting_is_a_plan_file_error(run: Callable[..., Any], plan_path: Path) -> None:
    text = plan_path.read_text()
    plan_path.write_text(text.replace('"reason": "', '"deep": ' + "[" * 200_000 + "]" * 200_000 + ', "reason": "', 1))
    result = apply(run, plan_path)
    assert result.code == 1 and "nested too deeply" in result.err


def test_a_huge_file_is_refused_before_it_is_read(run: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate((2 << 30) + 1)  # sparse: takes no disk, and must not be read into memory
    result = apply(run, path)
    assert result.code == 1 and "larger than 2 GiB" in result.err


def test_odd_files_are_plan_file_errors(run: Callable[..., Any], plan_path: Path, tmp_path: Path) -> None:
    raw = plan_path.read_bytes()
    plan_path.write_bytes(raw[:40] + b"\xff\xfe" + raw[40:])
    result = apply(run, plan_path)
    assert result.code == 1 and "not valid JSON" in result.err and "utf-8" in result.err
    result = apply(run, tmp_path)  # a directory
    assert result.code == 1 and "cannot be read" in result.err
    unreadable = tmp_path / "locked.json"
    unreadable.write_text("{}")
    os.chmod(unreadable, 0)
    if not os.access(unreadable, os.R_OK):  # root reads anything
        result = apply(run, unreadable)
        assert result.code == 1 and "cannot be read" in result.err
