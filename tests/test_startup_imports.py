"""Commands that never talk to GitLab (validate, plan, schema, --help) do not import python-gitlab, requests or
urllib3: ~0.1 s of every such run, a fifth of `janitor validate` (issue 10, plan's time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine_helpers import ARTIFACTS_POLICY

from janitor.simulator import Simulator

PROBE = """
import sys
from janitor.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("gitlab", "requests", "urllib3") if m in sys.modules)
print("IMPORTED:" + ",".join(heavy))
sys.exit(code)
"""


def imported(*args: object, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    line = next(line for line in done.stdout.splitlines() if line.startswith("IMPORTED:"))
    return done.returncode, line[len("IMPORTED:"):]


def test_offline_commands_leave_python_gitlab_unloaded(run, env: dict[str, str], sim: Simulator,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(ARTIFACTS_POLICY, encoding="utf-8")
    assert run(["collect", "--policy", policy, "--out", tmp_path / "inv"], env).code == 0
    assert imported("validate", policy) == (0, "")
    assert imported("schema", "--plan") == (0, "")
    assert imported("plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json",
                    "--report-dir", tmp_path / "report", "--state", tmp_path / "state.json") == (0, "")
    assert (tmp_path / "plan.json").stat().st_size > 0


def test_commands_that_talk_to_gitlab_load_it_when_they_do(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(ARTIFACTS_POLICY, encoding="utf-8")
    unreachable = {"GITLAB_URL": "http://127.0.0.1:1", "GITLAB_TOKEN": "glpat-sim-admin-api",
                   "JANITOR_MAX_RETRIES": "0"}
    code, heavy = imported("collect", "--policy", policy, "--out", tmp_path / "inv", env=unreachable)
    assert code == 1 and heavy == "gitlab,requests,urllib3"  # it tried GitLab, through python-gitlab
