"""Every number read from an option or an environment variable is range-checked before any work, with an error
that names the option (or variable), the value and the accepted range. Values that used to be accepted and
then hang (0.001/min), disable a guard (nan), retry forever (-1) or overflow (1e-300, 99999999999d)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.cli import MAX_CONCURRENCY, build_parser
from janitor.errors import UsageError
from janitor.gitlab_api import MAX_RETRIES, MAX_TIMEOUT_S, Connection
from janitor.simulator import Simulator

BAD_RATES = ["nan", "inf", "-inf", "0.001/min", "1e-300", "-5", "0", "0.5/h", "2e6/min", "1e308/s", "NaN/s"]


@pytest.mark.parametrize("option", ["--rate-limit", "--jobs-rate-limit"])
@pytest.mark.parametrize("value", BAD_RATES)
def test_rate_limits_out_of_range_are_refused_before_any_request(run, env: dict[str, str], sim: Simulator,  # type: ignore[no-untyped-def]
                                                                 option: str, value: str, tmp_path) -> None:
    result = run(["collect", "--policy", tmp_path / "p.yml", "--out", tmp_path / "inv", f"{option}={value}"], env)
    assert result.code == 1
    assert f"argument {option}: Rate limit {value!r}" in result.err
    assert "between 1/min and 1000000/min" in result.err
    assert sim.requests == []


@pytest.mark.parametrize("variable", ["JANITOR_RATE_LIMIT", "JANITOR_JOBS_RATE_LIMIT"])
def test_rate_limits_from_the_environment_are_checked_and_named(run, env: dict[str, str], variable: str,  # type: ignore[no-untyped-def]
                                                                tmp_path) -> None:
    result = run(["apply", tmp_path / "plan.json"], {**env, variable: "1e-300"})
    assert result.code == 1 and variable in result.err and "between 1/min" in result.err


@pytest.mark.parametrize(("value", "expected"), [("1/min", 1.0), ("1000000/min", 1e6), ("10/s", 600.0)])
def test_rate_limits_at_the_bounds_are_accepted(value: str, expected: float) -> None:
    from janitor.pacing import parse_rate

    args = build_parser().parse_args(["apply", "p.json", "--rate-limit", value])
    assert parse_rate(args.rate_limit) == expected


@pytest.mark.parametrize(("name", "value"), [
    ("JANITOR_TIMEOUT", "0"), ("JANITOR_TIMEOUT", "-1"), ("JANITOR_TIMEOUT", "inf"), ("JANITOR_TIMEOUT", "nan"),
    ("JANITOR_TIMEOUT", "3601"), ("JANITOR_TIMEOUT", "soon"), ("JANITOR_MAX_RETRIES", "-1"),
    ("JANITOR_MAX_RETRIES", "51"), ("JANITOR_MAX_RETRIES", "1.5"), ("JANITOR_MAX_RETRIES", "nan"),
])
def test_connection_numbers_from_the_environment_are_range_checked(name: str, value: str) -> None:
    with pytest.raises(UsageError) as caught:
        Connection.from_env({"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "t", name: value})
    text = caught.value.render()
    assert text.startswith(f"{name}: {value!r}") and "unset it to use the default" in text
    assert ("above 0 and at most 3600" if name == "JANITOR_TIMEOUT" else "between 0 and 50") in text


def test_connection_numbers_at_their_bounds_are_accepted() -> None:
    conn = Connection.from_env({"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "t",
                                "JANITOR_TIMEOUT": "0.5", "JANITOR_MAX_RETRIES": "0"})
    assert (conn.timeout, conn.max_retries) == (0.5, 0)
    conn = Connection.from_env({"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "t",
                                "JANITOR_TIMEOUT": str(MAX_TIMEOUT_S), "JANITOR_MAX_RETRIES": str(MAX_RETRIES)})
    assert (conn.timeout, conn.max_retries) == (MAX_TIMEOUT_S, MAX_RETRIES)


@pytest.mark.parametrize(("args", "message"), [
    (["apply", "p.json", "--max-age", "99999999999d"], "out of range: between 1min and 365d"),
    (["apply", "p.json", "--max-age", "366d"], "out of range: between 1min and 365d"),
    (["apply", "p.json", "--max-age", "0d"], "out of range"),
    (["apply", "p.json", "--max-age", "1.5w"], "whole numbers with a unit (for example 10d rather than 1.5w)"),
    (["apply", "p.json", "--max-age", "7"], "is not a duration"),
    (["apply", "p.json", "--concurrency", "0"], f"'0' is out of range: between 1 and {MAX_CONCURRENCY}"),
    (["apply", "p.json", "--concurrency", "-5"], "out of range"),
    (["collect", "--policy", "p", "--out", "o", "--concurrency", "100000"], "out of range"),
    (["collect", "--policy", "p", "--out", "o", "--concurrency", "4.0"], "not a whole number"),
    (["collect", "--policy", "p", "--out", "o", "--shard", "1/100000"], "N at most 1000"),
    (["simulator", "--port", "70000"], "argument --port: '70000' is out of range: between 0 and 65535"),
    (["simulator", "--port", "-1"], "out of range: between 0 and 65535"),
    (["simulator", "--latency", "-1"], "argument --latency: '-1' is out of range"),
    (["simulator", "--latency", "nan"], "'nan' is not a finite number"),
    (["simulator", "--latency", "inf"], "'inf' is not a finite number"),
    (["simulator", "--seed", "-1"], "argument --seed: '-1' is out of range"),
    (["simulator", "--seed", "1e3"], "not a whole number"),
])
def test_numbers_on_the_command_line_are_range_checked(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run(args)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err


def test_the_bounds_are_stated_in_the_help() -> None:
    sub = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    apply_help = " ".join(sub["apply"].format_help().split())
    assert "1min to 365d" in apply_help and f"1 to {MAX_CONCURRENCY}" in apply_help
    assert "between 1/min and 1000000/min" in apply_help
    simulator_help = " ".join(sub["simulator"].format_help().split())
    assert "1 to 65535" in simulator_help and "0 to 60" in simulator_help


NUMBERISH = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e-300", "1e308", "0x10", "1_000", " 7 ", "", "٣"]),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(concurrency=NUMBERISH, latency=NUMBERISH, port=NUMBERISH, age=NUMBERISH.map(lambda s: s + "d"))
def test_any_value_is_either_in_range_or_a_usage_error(concurrency: str, latency: str, port: str, age: str) -> None:
    parser = build_parser()
    for argv, check in [
        (["apply", "p.json", "--concurrency", concurrency], lambda a: 1 <= a.concurrency <= MAX_CONCURRENCY),
        (["apply", "p.json", "--max-age", age], lambda a: timedelta(minutes=1) <= a.max_age <= timedelta(days=365)),
        (["simulator", "--latency", latency], lambda a: math.isfinite(a.latency) and 0 <= a.latency <= 60),
        (["simulator", "--port", port], lambda a: 0 <= a.port <= 65535),
    ]:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 1
        else:
            assert check(args), argv


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf"])
def test_rate_limit_headers_that_are_not_finite_are_ignored(value: str) -> None:
    from janitor.pacing import Pacer

    slept: list[float] = []
    pacer = Pacer(sleep=slept.append)
    pacer.observe("/api/v4/projects", 429, {"RateLimit-Limit": value, "Retry-After": value,
                                             "RateLimit-Remaining": "0"})
    pacer.wait("/api/v4/projects")
    assert pacer.state().per_minute is None, "pacing is not turned off or set to nonsense"
    assert slept and all(math.isfinite(s) and s <= 1.0 for s in slept), "a default pause, not forever"
