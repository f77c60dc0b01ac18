"""The state is streamed to disk (issue 10: flat memory with --state), and nothing a user sees may change:
whatever bytes the file holds, reading it gives exactly the state, or exactly the error (class, words,
hint, exit code), that reading it whole in memory gave (tests/state_reference.py, frozen from before);
and the grace clock, its entries on disk, decides every item and writes every new state line as the
in-memory clock did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import state_reference as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import janitor.inventory_stream
import janitor.state_store
from janitor.errors import JanitorError
from janitor.grace import GraceClock
from janitor.inventory import InventoryWriter
from janitor.model import PlanItem, format_time, json_lines
from janitor.policy import load_policy
from janitor.state import Entry, parse_state, read_state, state_bytes, state_digest, state_json

URL = "https://gitlab.example.com"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
UPDATED = NOW - timedelta(days=1)
IDS = ["7/branches/branch:old", "7/branches/branch:new", "12/tags/tag:v1", "7", "70/branches/branch:x",
       "ü/x\u2028y", "12/tags/tag:\"q\""]
RULES = ["stale", "old-tags", "gone"]
TIMES = st.one_of(st.integers(0, 40).map(lambda d: format_time(UPDATED - timedelta(days=d, seconds=d * 7))),
                  st.sampled_from(["", "2026-11-30T00:00:00+01:00", "2026-12-24T00:00:00Z", "yesterday"]))
FINGERPRINTS = st.one_of(
    st.sampled_from([{"commit": "abc"}, {"commit": "def"}, {"digest": "sha256:1", "shared_with": ["a", "b"]},
                     {}, {"bytes": 12, "ok": True, "none": None}]),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4), st.none()), max_size=3))
ITEM = st.fixed_dictionaries({"id": st.sampled_from(IDS) | st.text(max_size=6), "rule": st.sampled_from(RULES),
                              "first_qualified": TIMES, "fingerprint": FINGERPRINTS})
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=3), max_leaves=8)
KEYS = st.sampled_from(["format", "version", "gitlab_url", "updated_at", "items", "extra"])


def _layout(data: Any, how: int) -> bytes:
    """The same value as janitor writes it, or as other tools might (pretty, compact, ASCII-escaped)."""
    if how == 0 and isinstance(data, dict):
        return "".join(json_lines(data, spread="items")).encode("utf-8")
    indent = [None, 2, "\t", None][how % 4]
    return json.dumps(data, indent=indent, ensure_ascii=how % 2 == 1).encode("utf-8")


@st.composite
def state_files(draw: st.DrawFn) -> bytes:
    """A state file: mostly well formed, then perhaps a value changed, a key dropped, a byte cut or
    inserted, so every check and every JSON error is reached."""
    data: dict[str, Any] = {"format": "gitlab-janitor-state", "version": 1, "gitlab_url": URL + "/",
                            "updated_at": format_time(UPDATED), "items": draw(st.lists(ITEM, max_size=8))}
    change = draw(st.integers(0, 5))
    if change == 1:
        data[draw(KEYS)] = draw(JSON)
    elif change == 2 and data["items"]:
        item = data["items"][draw(st.integers(0, len(data["items"]) - 1))]
        item[draw(st.sampled_from(["id", "rule", "first_qualified", "fingerprint", "more"]))] = draw(JSON)
    elif change == 3:
        del data[draw(KEYS.filter(lambda k: k != "extra"))]
    elif change == 4:
        data = dict(reversed(data.items()))  # items after updated_at: the stream meets the checks out of order
    raw = _layout(data, draw(st.integers(0, 3)))
    damage = draw(st.integers(0, 6))
    if damage == 1:
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif damage == 2:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b",", b"]", b"}", b"NaN", b'"x": 1,', b"\x00",
                                               b"\n", b'"items": [],'])) + raw[at:]
    return raw


def _outcome(read: Any) -> tuple[Any, ...]:
    try:
        state = read()
    except JanitorError as exc:
        return ("refused", type(exc).__name__, exc.message, exc.hint, exc.exit_code)
    try:
        entries = state.entries
        return ("read", state.gitlab_url, state.updated_at, list(entries.items()), [entries[i] for i in entries],
                len(entries), "no such id" in entries)
    finally:
        if hasattr(state, "close"):
            state.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=state_files(), chunk=st.sampled_from([1, 7, 64, 1 << 20]))
def test_any_state_file_reads_as_it_did_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: bytes,
                                                   chunk: int) -> None:
    """The same state or the same error, whatever the layout, the damage, and wherever the window of the
    stream cuts the file; and the digest is that of exactly the bytes read."""
    monkeypatch.setattr(janitor.inventory_stream, "CHUNK", chunk)
    path = tmp_path / "state.json"
    path.write_bytes(raw)
    expected = _outcome(lambda: reference.parse_state(path, raw, URL, NOW))
    assert _outcome(lambda: read_state(path, URL, NOW)) == expected
    assert _outcome(lambda: parse_state(path, raw, URL, NOW)) == expected
    if expected[0] == "read":
        state = read_state(path, URL, NOW)
        assert state is not None
        with_digest = state.digest
        state.close()
        assert with_digest == state_digest(raw)


POLICY = """\
version: 1
scope: {groups: [acme]}
rules:
  - name: stale
    resource: branches
    action: delete
    grace: 10d
    match: {merged: true}
  - name: old-tags
    resource: tags
    action: delete
    grace: 20d
    match: {older_than: 30d}
  - name: gone
    resource: branches
    action: delete
    match: {merged: true}
"""
CALL = st.one_of(
    st.tuples(st.just("hold"), st.sampled_from([7, 12, 70]), st.sampled_from(["branch:old", "branch:new", "tag:v1"]),
              st.sampled_from(RULES), FINGERPRINTS),
    st.tuples(st.just("carry"), st.sampled_from([7, 12, 70, 5]), st.sampled_from([None, *RULES])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(previous=st.lists(ITEM.filter(lambda i: i["first_qualified"] not in ("", "yesterday",
                                                                            "2026-12-24T00:00:00Z")), max_size=8),
       calls=st.lists(CALL, max_size=20), batch=st.sampled_from([1, 3, 4096]))
def test_the_clock_on_disk_decides_and_records_as_the_clock_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, previous: list[Any], calls: list[Any], batch: int) -> None:
    """Holds and carries in any order, over projects met more than once, items seen before with the same
    or another fingerprint or rule: the same pending decisions and the same new state lines."""
    monkeypatch.setattr(janitor.state_store, "_BATCH", batch)
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY, encoding="utf-8")
    policy = load_policy(policy_file)
    unique = list({item["id"]: item for item in previous}.values())
    path = tmp_path / "state.json"
    path.write_bytes(_layout({"format": "gitlab-janitor-state", "version": 1, "gitlab_url": URL,
                              "updated_at": format_time(UPDATED), "items": unique}, 0))
    ours = read_state(path, URL, NOW)
    assert ours is not None
    theirs = reference.GraceClock(policy, reference.parse_state(path, path.read_bytes(), URL, NOW), NOW)
    with GraceClock(policy, ours, NOW) as clock:
        for call in calls:
            if call[0] == "carry":
                clock.carry(call[1], call[2])
                theirs.carry(call[1], call[2])
                continue
            _, project, key, rule, fingerprint = call
            item = PlanItem(id=f"{project}/branches/{key}", rule=rule, resource="branches", action="delete",
                            project_id=project, project_path=f"acme/p{project}", title=key, target={},
                            fingerprint=fingerprint, bytes=0, reason="merged")
            assert clock.hold(item) == theirs.hold(item)
        assert list(clock.entries.lines()) == reference.state_lines(theirs)
    ours.close()


def test_the_new_state_is_written_as_state_json_wrote_it(tmp_path: Path) -> None:
    """The clock's lines, spread into the state's head, are state_bytes(state_json(...)) byte for byte."""
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY, encoding="utf-8")
    entries = [Entry(f"{n % 7}/branches/branch:{n}", "stale", UPDATED - timedelta(days=n % 5),
                     {"commit": f"c{n}", "shared_with": ["x", "ü"]}) for n in range(50)]
    with GraceClock(load_policy(policy_file), None, NOW) as clock:
        for entry in reversed(entries):
            clock.entries.put(entry)
        written = "".join(json_lines({**state_json((), URL, NOW), "items": [json.loads(line) for line in
                                                                          clock.entries.lines()]}, "items"))
    assert written.encode("utf-8") == state_bytes(state_json(entries, URL, NOW))


_SQLITE_PLACE = """
import os, sys
from datetime import datetime, timezone
import janitor.state_store
from janitor.state import read_state
janitor.state_store._CACHE = "PRAGMA cache_size = -64"  # spill to the file past 64 KiB, not 16 MiB
state = read_state(sys.argv[1], "https://gitlab.example.com", datetime(2026, 12, 1, tzinfo=timezone.utc))
fds = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
       if os.path.islink(f"/proc/self/fd/{fd}")]
print(len(state.entries), len(os.listdir(os.environ["SQLITE_TMPDIR"])),
      sum(1 for link in fds if link.startswith(os.environ["SQLITE_TMPDIR"]) and link.endswith("(deleted)")))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_store_is_a_file_in_the_temp_dir_that_no_exit_can_leave_behind(tmp_path: Path) -> None:
    """The entries are on disk in the temporary directory, in a file already unlinked while it is in use: a
    crash, Ctrl-C or kill leaves nothing, and memory does not hold the entries."""
    items = [{"id": f"{n}/branches/branch:b", "rule": "stale", "first_qualified": format_time(UPDATED),
              "fingerprint": {"commit": "x" * 40}} for n in range(2000)]
    path = tmp_path / "state.json"
    path.write_bytes(_layout({"format": "gitlab-janitor-state", "version": 1, "gitlab_url": URL,
                              "updated_at": format_time(UPDATED), "items": items}, 0))
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = subprocess.run([sys.executable, "-c", _SQLITE_PLACE, str(path)], capture_output=True, text=True,
                          check=False, env={**os.environ, "SQLITE_TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2000", "0", "1"]
    assert list(temp.iterdir()) == []


_GRACE_POLICY = """\
version: 1
scope: {groups: [acme]}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    grace: 20d
    match: {older_than: 30d}
"""


def _grace_plan_setup(tmp_path: Path, projects: int) -> tuple[Path, Path, list[str], dict[str, str]]:
    """An inventory of `projects` projects of 40 old jobs each, the grace policy, and `plan --state`'s
    arguments and environment with a temporary directory of its own: (out, temp, args, env)."""
    inventory = tmp_path / "inv"
    writer = InventoryWriter(inventory, format_time(NOW), {"gitlab_url": URL})
    for number in range(1, projects + 1):
        writer.add_project({"id": number, "path_with_namespace": f"acme/p{number}", "_pipelines": [],
                            "_jobs": [{"id": number * 100 + n, "status": "success", "ref": f"r{n}",
                                       "finished_at": format_time(NOW - timedelta(days=90)),
                                       "artifacts": [{"file_type": "archive", "size": 10}]} for n in range(40)]})
    writer.commit()
    policy = tmp_path / "policy.yml"
    policy.write_text(_GRACE_POLICY, encoding="utf-8")
    out, temp = tmp_path / "out", tmp_path / "tmp"
    temp.mkdir()
    args = ["plan", "--policy", str(policy), "--inventory", str(inventory), "--out", str(out / "plan.json"),
            "--report-dir", str(out), "--state", str(out / "state.json")]
    return out, temp, args, {**os.environ, "TMPDIR": str(temp), "SQLITE_TMPDIR": str(temp)}


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.8, 1.6, 2.4])
def test_ctrl_c_during_plan_with_a_state_leaves_no_temporary_file_and_the_old_state(tmp_path: Path,
                                                                                     after: float) -> None:
    """Interrupted wherever it is (reading the state, planning, writing), `plan --state` leaves nothing in
    the temporary directory, no partial plan or state, and the previous state as it was."""
    out, temp, args, env = _grace_plan_setup(tmp_path, 600)  # past the stores' 2 MiB caches: files on disk
    command = [sys.executable, "-m", "janitor", *args]
    subprocess.run(command, capture_output=True, check=True, env=env)  # the previous run's state
    before = (out / "state.json").read_bytes()
    (out / "plan.json").unlink()
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    time.sleep(after)
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=120)
    assert list(temp.iterdir()) == []
    assert not list(out.glob(".*.partial"))
    if running.returncode != 0:
        assert (out / "state.json").read_bytes() == before and not (out / "plan.json").exists(), err


# The stores' temporary database capped at 16 pages (SQLite's own limit, PRAGMA max_page_count): past it,
# SQLite fails as on a full disk ("database or disk is full"), wherever the store is written.
_FULL_TEMP_DIR = """
import sys
import janitor.state_store
janitor.state_store._CACHE = "PRAGMA max_page_count = 16"
from janitor.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_temporary_directory_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    """Whether the previous state cannot be indexed, or the new entries cannot be kept mid-plan, plan says
    so in one paragraph (not as a bug), writes no plan and leaves the previous state and no temporary file."""
    out, temp, args, env = _grace_plan_setup(tmp_path, 200)

    def full(stage: str) -> str:
        done = subprocess.run([sys.executable, "-c", _FULL_TEMP_DIR, *args], capture_output=True, text=True,
                              check=False, env=env)
        assert done.returncode == 1, (stage, done.stdout, done.stderr)
        assert "database or disk is full" in done.stderr and "TMPDIR" in done.stderr, (stage, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr, (stage, done.stderr)
        assert not (out / "plan.json").exists() and not list(out.glob(".*.partial")), stage
        assert list(temp.iterdir()) == [], stage
        return done.stderr

    # the first run: no previous state, the new entries do not fit while planning
    said = full("first run")
    assert "grace periods' entries" in said and not (out / "state.json").exists()
    # a later run: the previous state (24,000 pending entries) cannot be indexed
    subprocess.run([sys.executable, "-m", "janitor", *args], capture_output=True, check=True, env=env)
    before = (out / "state.json").read_bytes()
    (out / "plan.json").unlink()
    said = full("with a previous state")
    assert "cannot be indexed in the temporary directory" in said
    assert (out / "state.json").read_bytes() == before
