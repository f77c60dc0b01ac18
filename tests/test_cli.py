"""The command line as users run it: entry points, exit codes, refusals, the demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import non_get

from janitor import __version__
from janitor.simulator import Simulator


def test_version_from_both_entry_points() -> None:
    out = subprocess.run([sys.executable, "-m", "janitor", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"gitlab-janitor {__version__}"
    console = shutil.which("janitor")
    if console is None:
        pytest.skip("the console script is not on PATH (scripts/test installs it into .venv)")
    out = subprocess.run([console, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"gitlab-janitor {__version__}"


def test_usage_errors_exit_1_with_usage(run) -> None:  # type: ignore[no-untyped-def]
    result = run(["collect", "--policy"])
    assert result.code == 1 and "usage: janitor collect" in result.err  # not argparse's own 2
    assert run(["collect", "--policy", "p.yml", "--out", "x", "--shard", "3/2"]).code == 1


def test_limits_exceeded_exit_3_and_write_no_plan(run, env, sim: Simulator, policy_file: Path,
                                                 tmp_path: Path) -> None:
    policy_file.write_text(policy_file.read_text().replace("max_actions: 100000", "max_actions: 3"))
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    result = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                  "--report-dir", tmp_path / "report"], env)
    assert result.code == 3
    assert "REFUSED" in result.err and "more than limits.max_actions 3" in result.err
    assert not (tmp_path / "plan.json").exists()
    assert "Refused by a safety limit" in (tmp_path / "report" / "report.md").read_text()


def test_scope_lock_refuses_a_policy_reaching_outside(run, env, sim: Simulator, policy_file: Path,
                                                      tmp_path: Path) -> None:
    collected = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--scope", "acme/web"], env)
    assert collected.code == 3 and "reaches outside --scope acme/web" in collected.err
    assert not (tmp_path / "inv").exists()
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--scope", "acme"], env).code == 0
    planned = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "p.json",
                   "--scope", "acme/web"], env)
    assert planned.code == 3 and not (tmp_path / "p.json").exists()
    assert non_get(sim) == []


def test_plan_writes_the_digest_for_ci(run, env, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    result = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "p.json",
                  "--dotenv", tmp_path / "plan.env"], env)
    assert result.code == 0
    lines = dict(line.split("=", 1) for line in (tmp_path / "plan.env").read_text().splitlines())
    assert lines["JANITOR_PLAN_DIGEST"].startswith("sha256:") and lines["JANITOR_PLAN_DIGEST"] in result.err
    assert int(lines["JANITOR_PLAN_ACTIONS"]) > 0
    applied = run(["apply", tmp_path / "p.json", "--yes", "--expect-digest", lines["JANITOR_PLAN_DIGEST"]], env)
    assert applied.code == 0, applied.err


def test_collect_reports_progress_on_stderr(run, env, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert result.code == 0
    assert "collect: " in result.err and " projects" in result.err and "requests" in result.err
    assert result.out == "", "stdout stays clean for pipes"


def test_demo_runs_the_whole_cycle(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "janitor", "demo", "--dir", str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "== OK: nothing protected was touched" in out.stdout
    assert "items left to delete" in out.stdout
    assert "pending under a grace period, not in the plan; for example " in out.stdout
    assert "(stale-branches): to be removed on or after " in out.stdout
    assert (tmp_path / "demo" / "report" / "report.md").is_file()
