"""Fuzzing the inventory and plan readers: whatever a file holds, `janitor plan` and `read_plan` end in a
JanitorError (one message, exit 1 or 3) or succeed; never another exception, never a traceback.

- random JSON values put at random places of a valid inventory entry (the sample with every list);
- random truncations and byte changes of projects.json, merge_requests.json and plan.json.
Sized to stay well under 30 s together."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_inventory_validation import POLICY, full_entries

from janitor.cli import main
from janitor.errors import JanitorError
from janitor.inventory import InventoryWriter
from janitor.plan_file import read_plan, seal

SAMPLE = Path(__file__).parent / "fixtures" / "opengroup"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=False)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["", "2025-01-01T00:00:00Z", "yesterday", "latest", "\u0000"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="janitor-fuzz-") as name:
        base = Path(name)
        (base / "policy.yml").write_text(POLICY)
        write_inventory(base / "valid", full_entries())
        code, err = plan(base, base / "valid")
        assert code == 0, err
        yield base


def write_inventory(directory: Path, entries: dict[str, Any]) -> None:
    writer = InventoryWriter(directory, "2025-06-01T12:00:00Z", {"gitlab_url": "https://gitlab.example.com"})
    for key, entry in entries.items():
        writer._entry("projects.json", key, entry)
    for key, mr in json.loads((SAMPLE / "merge_requests.json").read_text())["entries"].items():
        writer._entry("merge_requests.json", key, mr)
    writer.commit()


def plan(base: Path, inventory: Path) -> tuple[int, str]:
    """`janitor plan` in-process: any exception other than the CLI's own handling fails the test."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["plan", "--policy", str(base / "policy.yml"), "--inventory", str(inventory),
                     "--out", str(base / "plan.json")])
    assert code in (0, 1, 3), err.getvalue()
    assert "Traceback" not in err.getvalue()
    return code, err.getvalue()


def places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value (as a path of keys and indices), the root's children first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from places(child, (*path, index))


@FUZZ
@given(data=st.data(), value=json_values)
def test_random_values_at_random_places_of_an_entry(workdir: Path, data: st.DataObject, value: Any) -> None:
    entries = full_entries()
    entry = entries["101"]
    spots = list(places(entry))
    where = data.draw(st.sampled_from(spots), label="place")
    node = entry
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    with tempfile.TemporaryDirectory(dir=workdir) as name:
        write_inventory(Path(name), entries)
        plan(workdir, Path(name))


@pytest.mark.parametrize("name", ["projects.json", "merge_requests.json"])
@FUZZ
@given(data=st.data())
def test_damaged_inventory_files(workdir: Path, name: str, data: st.DataObject) -> None:
    raw = (workdir / "valid" / name).read_bytes()
    damaged = damage(data, raw)
    with tempfile.TemporaryDirectory(dir=workdir) as dirname:
        directory = Path(dirname)
        for other in ("projects.json", "merge_requests.json"):
            (directory / other).write_bytes(damaged if other == name else (workdir / "valid" / other).read_bytes())
        plan(workdir, directory)


@settings(FUZZ, max_examples=200)  # cheap: the plan is small and nothing else runs
@given(data=st.data())
def test_damaged_plan_files(workdir: Path, data: st.DataObject) -> None:
    raw = (workdir / "plan.json").read_bytes()
    with tempfile.TemporaryDirectory(dir=workdir) as dirname:
        path = Path(dirname) / "plan.json"
        path.write_bytes(damage(data, raw))
        with contextlib.suppress(JanitorError):
            read_plan(path)


@FUZZ
@given(data=st.data(), value=json_values)
def test_random_values_in_a_resealed_plan_are_refused_or_kept_exactly(workdir: Path, data: st.DataObject,
                                                                      value: Any) -> None:
    """The seal is unkeyed: anyone can re-seal an edited plan. Such a plan is refused, or read with every
    value exactly as the file has it (nothing coerced: a project_id of 1.5 is never read as 1)."""
    plan_data = json.loads((workdir / "plan.json").read_text())
    where = data.draw(st.sampled_from(list(places(plan_data["items"]))), label="place")
    node = plan_data["items"]
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    plan_data["digest"] = seal({k: v for k, v in plan_data.items() if k != "digest"})
    with tempfile.TemporaryDirectory(dir=workdir) as dirname:
        path = Path(dirname) / "plan.json"
        path.write_text(json.dumps(plan_data))
        try:
            loaded = read_plan(path)
        except JanitorError:
            return
    assert [item.to_json() for item in loaded.items] == plan_data["items"]


def damage(data: st.DataObject, raw: bytes) -> bytes:
    how = data.draw(st.sampled_from(["truncate", "bytes", "splice", "random"]), label="how")
    if how == "truncate":
        return raw[: data.draw(st.integers(0, len(raw) - 1), label="cut")]
    if how == "random":
        return data.draw(st.binary(max_size=200), label="random")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    if how == "bytes":
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=4), label="bytes") + raw[at + 4:]
    # a JSON token where another was, often right after a quote (inside a string, or in place of one)
    if how == "splice" and data.draw(st.booleans(), label="at a quote"):
        quotes = [n + 1 for n, byte in enumerate(raw) if byte == ord('"')]
        at = data.draw(st.sampled_from(quotes), label="after quote")
    token = data.draw(st.sampled_from([b"NaN", b"-Infinity", b"1.5", b"true", b"null", b'"x"', b"[]", b"{}",
                                       b"[[[[[[", b"\\ud800", b"0", b"-1", b"1e999"]), label="token")
    return raw[:at] + token + raw[at:]


def test_cli_never_prints_a_traceback_for_damaged_files(workdir: Path) -> None:
    """As users run it: a separate process, stderr read whole."""
    bad = workdir / "cli"
    bad.mkdir()
    raw = (workdir / "valid" / "projects.json").read_bytes()
    (bad / "projects.json").write_bytes(raw[: len(raw) // 2].replace(b'"size":100', b'"size":NaN'))
    (bad / "plan.json").write_bytes((workdir / "plan.json").read_bytes()[:-300] + b"\xff")
    for argv in (["plan", "--policy", str(workdir / "policy.yml"), "--inventory", str(bad), "--out",
                  str(bad / "out.json")], ["apply", str(bad / "plan.json")]):
        done = subprocess.run([sys.executable, "-m", "janitor", *argv], capture_output=True, text=True,
                              env={"GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "x", "PATH": ""},
                              check=False, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") <= 3
