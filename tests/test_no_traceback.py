"""No failure ends in a Python traceback: usage errors, closed pipes, odd paths and bugs each end in one
message (with the path and the reason, or a hint) and a documented exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import Result

from janitor.simulator import Simulator

HERE = Path(__file__).parent
VALID_POLICY = HERE / "policies" / "valid" / "full-job-artifacts.yml"  # no warnings: stderr stays empty


def janitor(*args: object, env: dict[str, str] | None = None, stdout: int | None = subprocess.PIPE,
            ) -> subprocess.CompletedProcess[str]:
    """The janitor as a user starts it, in its own process (so the interpreter's exit is seen too)."""
    return subprocess.run([sys.executable, "-m", "janitor", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, timeout=120)


def assert_one_clean_message(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.strip(), "something was said"


@pytest.mark.parametrize("args", [
    ["collect", "--policy"], ["nope"], [], ["apply"], ["plan", "--policy", "p", "--inventory", "i"],
    ["apply", "p.json", "--concurrency", "many"], ["--log-level", "loud", "schema"],
])
def test_usage_errors_exit_1_not_argparses_2(run, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = run(args)
    assert result.code == 1, result.err
    assert "usage: janitor" in result.err and "--help" in result.err
    assert_one_clean_message(result.err)


def test_usage_errors_exit_1_from_the_console_too() -> None:
    out = janitor("collect", "--policy")
    assert out.returncode == 1 and "usage: janitor collect" in out.stderr
    assert_one_clean_message(out.stderr)


def test_help_and_version_still_exit_0(run) -> None:  # type: ignore[no-untyped-def]
    helped = run(["--help"])
    assert helped.code == 0 and "Exit codes:" in helped.out and "141" in helped.out
    assert run(["apply", "--help"]).code == 0
    assert run(["--version"]).code == 0


@pytest.mark.parametrize("args", [["schema"], ["schema", "--plan"], ["validate", VALID_POLICY]])
def test_a_closed_stdout_ends_quietly_with_141(args: list[object]) -> None:
    # `janitor schema | head -1` once head has gone: the read end is closed before the janitor writes.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = janitor(*args, stdout=write_end)
    finally:
        os.close(write_end)
    assert out.returncode == 141, out.stderr
    assert out.stderr == "", "no traceback, no 'Exception ignored' line"


def test_a_pipe_into_head_ends_quietly() -> None:
    out = subprocess.run(f"{sys.executable} -m janitor schema | head -1", shell=True, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout == "{\n" and out.stderr == ""


@pytest.fixture
def inventory(run, env: dict[str, str], sim: Simulator, policy_file: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    return tmp_path / "inv"


def _plan(run, policy_file: Path, inventory: Path, *extra: object) -> Result:  # type: ignore[no-untyped-def]
    return run(["plan", "--policy", policy_file, "--inventory", inventory, *extra])  # type: ignore[no-any-return]


def test_plan_out_where_no_file_can_be_made_names_the_path_and_reason(run, policy_file: Path,  # type: ignore[no-untyped-def]
                                                                      inventory: Path) -> None:
    result = _plan(run, policy_file, inventory, "--out", "/proc/x")
    assert result.code == 1
    assert result.err.startswith("janitor plan: /proc/") and "No such file or directory" in result.err
    assert "accepts new files" in result.err
    assert_one_clean_message(result.err)
    result = _plan(run, policy_file, inventory, "--out", "/proc/nope/plan.json")
    assert result.code == 1 and "/proc/nope" in result.err


def test_a_directory_where_the_plan_belongs_is_refused_before_planning(run, policy_file: Path,  # type: ignore[no-untyped-def]
                                                                       inventory: Path, tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    result = _plan(run, policy_file, inventory, "--out", tmp_path / "plans")
    assert result.code == 1
    assert f"{tmp_path / 'plans'} is a directory; give a file name, such as {tmp_path / 'plans' / 'plan.json'}" \
        in result.err
    (tmp_path / "a-file").write_text("")
    result = _plan(run, policy_file, inventory, "--out", tmp_path / "a-file" / "plan.json")
    assert result.code == 1 and f"{tmp_path / 'a-file'} is a file, not a directory" in result.err


def test_a_report_dir_that_is_a_file_is_refused(run, policy_file: Path, inventory: Path,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    (tmp_path / "report").write_text("not a directory")
    result = _plan(run, policy_file, inventory, "--out", tmp_path / "p.json", "--report-dir", tmp_path / "report")
    assert result.code == 1 and f"{tmp_path / 'report'} is a file, not a directory" in result.err
    assert not (tmp_path / "p.json").exists()


def test_collect_out_on_a_file_is_refused_before_any_request(run, env: dict[str, str], sim: Simulator,  # type: ignore[no-untyped-def]
                                                             policy_file: Path, tmp_path: Path) -> None:
    (tmp_path / "inv").write_text("")
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env)
    assert result.code == 1 and f"{tmp_path / 'inv'} is a file, not a directory" in result.err
    assert sim.requests == []


def test_a_journal_that_is_a_directory_is_one_message(run, env: dict[str, str], policy_file: Path,  # type: ignore[no-untyped-def]
                                                      inventory: Path, tmp_path: Path) -> None:
    assert _plan(run, policy_file, inventory, "--out", tmp_path / "p.json").code == 0
    (tmp_path / "journal").mkdir()
    result = run(["apply", tmp_path / "p.json", "--yes", "--journal", tmp_path / "journal"], env)
    assert result.code == 1 and f"{tmp_path / 'journal'} is a directory" in result.err
    (tmp_path / "p.json.journal").mkdir()  # the default journal, next to the plan
    result = run(["apply", tmp_path / "p.json", "--yes"], env)
    assert result.code == 1
    assert f"janitor apply: {tmp_path / 'p.json.journal'}: Is a directory" in result.err
    assert "give a file name" in result.err
    assert_one_clean_message(result.err)


def test_an_unexpected_error_is_one_paragraph_that_says_it_is_a_bug(tmp_path: Path) -> None:
    # The last net, for a bug no test foresaw: one is injected into the command, since a known bug would be fixed.
    script = ("import sys, janitor.commands as c\n"
              "def broken(args): raise RuntimeError('boom near ' + 'glpat-secret-value')\n"
              "c.cmd_validate = broken\n"
              "from janitor.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, "GITLAB_TOKEN": "glpat-secret-value"}
    out = subprocess.run([sys.executable, "-c", script, "validate", "x.yml"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith("janitor validate: internal error: RuntimeError: boom near [MASKED]")
    assert "This is a bug" in out.stderr and "--log-level debug" in out.stderr
    assert "Traceback" not in out.stderr and "glpat-secret-value" not in out.stderr
    debug = subprocess.run([sys.executable, "-c", script, "--log-level", "debug", "validate", "x.yml"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert "Traceback" in debug.stderr and "glpat-secret-value" not in debug.stderr


def test_odd_environment_values_are_usage_errors_not_tracebacks(run, env: dict[str, str],  # type: ignore[no-untyped-def]
                                                               sim: Simulator, policy_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in [("JANITOR_TIMEOUT", "nan"), ("JANITOR_MAX_RETRIES", "-1"), ("JANITOR_RATE_LIMIT", "1e-300"),
                        ("JANITOR_TIMEOUT", "1e999")]:
        result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], {**env, name: value})
        assert result.code == 1 and name in result.err, (name, value, result.err)
        assert_one_clean_message(result.err)
        monkeypatch.delenv(name)
    assert not (tmp_path / "inv").exists() and sim.requests == []


def test_a_simulator_port_in_use_is_one_message(run) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(["simulator", "--scale", "tiny", "--port", taken.getsockname()[1]])
    assert result.code == 1
    assert result.err == ("janitor simulator: Address already in use\n"
                          "Another program has that port: choose another --port, or 0 for any free one.\n")
