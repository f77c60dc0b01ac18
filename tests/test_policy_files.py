"""Data-driven policy tests: adding a file to tests/policies/{valid,invalid}/ or examples/ adds a test.

Each invalid policy sits beside NAME.expected, whose lines must all appear in `janitor validate`'s message.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from janitor.policy import policy_schema

HERE = Path(__file__).parent
VALID = sorted((HERE / "policies" / "valid").glob("*.yml")) + sorted((HERE.parent / "examples").glob("*.yml"))
INVALID = sorted((HERE / "policies" / "invalid").glob("*.yml"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_policies_validate(run, path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(["validate", path])
    assert result.code == 0, result.err
    assert "valid policy" in result.out
    # The generated schema agrees with the loader on every valid file.
    jsonschema.validate(yaml.safe_load(path.read_text()), policy_schema())


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_policies_fail_with_their_message(run, path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(["validate", path])
    assert result.code == 1
    assert result.out == ""
    for expected in path.with_suffix(".expected").read_text().splitlines():
        if expected:
            assert expected in result.err, f"expected {expected!r} in:\n{result.err}"
    assert str(path) in result.err, "errors name the file"


def test_every_invalid_policy_has_its_expectation() -> None:
    assert INVALID, "the invalid folder must not be empty"
    for path in INVALID:
        assert path.with_suffix(".expected").is_file(), path


def test_all_problems_are_reported_at_once(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nscope: {groups: [acme], archive: true}\nrules:\n"
                   "  - {name: a, resource: job_artifacts, action: remove}\n"
                   "  - {name: b, resource: job_artifacts, action: delete, match: {older_than: soon}}\n")
    result = run(["validate", bad])
    assert result.code == 1
    assert "3 problems" in result.err
    assert "did you mean 'archived'" in result.err and "'remove'" in result.err and "'soon'" in result.err


def test_missing_policy_file_is_a_clear_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(["validate", tmp_path / "nope.yml"])
    assert result.code == 1 and "no such file" in result.err


def test_schema_command_prints_the_generated_schemas(run) -> None:  # type: ignore[no-untyped-def]
    policy = json.loads(run(["schema"]).out)
    kinds = policy["properties"]["rules"]["items"]["properties"]["resource"]["enum"]
    assert "job_artifacts" in kinds
    from janitor.resources import KINDS

    assert sorted(kinds) == sorted(KINDS), "the schema's kinds come from the registry"
    plan = json.loads(run(["schema", "--plan"]).out)
    assert "digest" in plan["required"]
