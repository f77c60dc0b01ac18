"""The action-count gates live in the janitor, not in shell: `plan --max-actions N` and `apply --max-actions N`
refuse (exit 3) above N, and N must be a positive whole number, so "1000.0", "1e3" or "1,000" can no longer
make a CI gate pass by failing to compare. `apply --expect-digest` refuses an empty or malformed digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import ARTIFACTS_POLICY, collect_and_plan, non_get
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.cli import build_parser
from janitor.simulator import Simulator

NOT_A_COUNT = ["1000.0", "1e3", "1,000", "0", "-1", "", " 5", "+5", "٣"]


def usage_error(run, capsys: pytest.CaptureFixture[str], args: list[object]) -> str:  # type: ignore[no-untyped-def]
    """Run the CLI, expect its usage error: exit 1 (DESIGN.md; argparse's own 2 means "some items failed")."""
    result = run(args)
    assert result.code == 1, result
    assert "usage: janitor" in result.err
    return str(result.err)


@pytest.mark.parametrize("value", NOT_A_COUNT)
def test_plan_max_actions_must_be_a_positive_whole_number(run, capsys, value: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    err = usage_error(run, capsys, ["plan", "--policy", "p.yml", "--inventory", tmp_path, "--out",
                                    tmp_path / "plan.json", "--max-actions", value])
    assert f"argument --max-actions: {value!r} is not a positive whole number" in err
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize("value", NOT_A_COUNT)
def test_apply_max_actions_must_be_a_positive_whole_number(run, capsys, value: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    err = usage_error(run, capsys, ["apply", tmp_path / "plan.json", "--yes", "--max-actions", value])
    assert f"argument --max-actions: {value!r} is not a positive whole number" in err


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=12))
def test_max_actions_accepts_exactly_the_canonical_positive_integers(text: str) -> None:
    parser = build_parser()
    canonical = text.isascii() and text.isdigit() and int(text) >= 1
    try:
        args = parser.parse_args(["apply", "plan.json", "--max-actions", text])
    except SystemExit:
        assert not canonical, f"{text!r} was refused"
        return
    assert canonical, f"{text!r} was accepted as {args.max_actions}"
    assert args.max_actions == int(text)


def test_plan_refuses_more_actions_than_max_actions_and_writes_no_plan(run, env, sim: Simulator,
                                                                       tmp_path: Path) -> None:
    planned = collect_and_plan(run, env, tmp_path, ARTIFACTS_POLICY)
    count = len(planned["items"])
    assert count > 1
    out, dotenv = tmp_path / "gated.json", tmp_path / "plan.env"
    common: list[object] = ["plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                            "--out", out, "--dotenv", dotenv, "--report-dir", tmp_path / "gated-report"]
    refused = run([*common, "--max-actions", count - 1], env)
    assert refused.code == 3, refused.err
    assert f"the plan has {count} actions, more than --max-actions {count - 1}" in refused.err
    assert not out.exists() and not dotenv.exists()
    report = json.loads((tmp_path / "gated-report" / "report.json").read_text())
    assert any("--max-actions" in reason for reason in report["refused"])
    allowed = run([*common, "--max-actions", count], env)
    assert allowed.code == 0, allowed.err
    assert json.loads(out.read_text())["digest"] == planned["digest"]


def test_apply_refuses_more_actions_than_max_actions_and_deletes_nothing(run, env, sim: Simulator,
                                                                         tmp_path: Path) -> None:
    planned = collect_and_plan(run, env, tmp_path, ARTIFACTS_POLICY)
    count = len(planned["items"])
    refused = run(["apply", tmp_path / "plan.json", "--yes", "--max-actions", count - 1], env)
    assert refused.code == 3
    assert f"The plan has {count} actions, more than --max-actions {count - 1}." in refused.err
    assert non_get(sim) == []
    applied = run(["apply", tmp_path / "plan.json", "--yes", "--max-actions", count,
                   "--expect-digest", planned["digest"]], env)
    assert applied.code == 0, applied.err
    assert len(non_get(sim)) >= 1


def test_apply_refuses_an_empty_or_malformed_expected_digest(run, capsys, env, sim: Simulator,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    planned = collect_and_plan(run, env, tmp_path, ARTIFACTS_POLICY)
    assert planned["items"]
    for digest in ["", " ", "sha256:", "sha256:" + "0" * 63, "sha256:" + "A" * 64, "md5:" + "0" * 64, "0" * 64,
                   planned["digest"] + "\n"]:
        err = usage_error(run, capsys, ["apply", tmp_path / "plan.json", "--yes", "--expect-digest", digest])
        assert "argument --expect-digest:" in err and "is not a plan digest (sha256: and 64 hex digits" in err
    assert non_get(sim) == []
