"""apply's journal: a torn tail is cut off, foreign files and symlinks are refused, damage is named by line,
every write request is journaled before it is sent, a full disk stops the run before its next request, and
two applies of one plan cannot run at once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import ARTIFACTS_POLICY, cli_env, non_get
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janitor.errors import JanitorError
from janitor.journal import Journal, header_line
from janitor.model import PlanItem
from janitor.simulator import TOKENS, Instance, Simulator, generate

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def planned(run, env, policy_file: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    result = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json"],
                 env)
    assert result.code == 0, result.err
    return tmp_path / "plan.json"


def _items(plan: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(plan.read_text())["items"]
    return items


def _artifacts_path(item: dict[str, Any]) -> str:
    return f"/projects/{item['project_id']}/jobs/{item['target']['job_id']}/artifacts"


def _deletes(sim: Simulator) -> Counter[str]:
    return Counter(r.path for r in sim.requests if r.method == "DELETE")


def _lines(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


# --- torn tail, foreign files, symlinks, damage -------------------------------------------------------------

def test_a_torn_last_line_is_cut_off_and_every_later_run_goes_on(run, env, sim: Simulator, planned: Path) -> None:
    journal = Path(str(planned) + ".journal")
    assert run(["apply", planned, "--yes"], env).code == 0
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write('{"at": "2026-11-30T20:00:00Z", "item": "job_artifacts:')  # killed mid-write
    for _ in range(2):  # the run after the next is the one that used to fail ("X:35 is not a journal line")
        result = run(["apply", planned, "--yes"], env)
        assert result.code == 0, result.err
        assert "already done per the journal" in result.err
    text = journal.read_text()
    assert text.endswith("\n") and "job_artifacts:\n" not in text
    assert all(isinstance(line, dict) for line in _lines(journal))
    assert sum(_deletes(sim).values()) == len(_items(planned))


@pytest.mark.parametrize("content", [b"hello world\n", b"# my notes\nmore\n", b'{"journal": "other-tool"}\n',
                                     b"\x00\x01\x02binary", b'{"plan_digest": "x"}\n'])
def test_a_file_that_is_not_our_journal_is_refused(run, env, sim: Simulator, planned: Path, tmp_path: Path,
                                                   content: bytes) -> None:
    journal = tmp_path / "notes.txt"
    journal.write_bytes(content)
    result = run(["apply", planned, "--yes", "--journal", journal], env)
    assert result.code == 3
    assert "is not a gitlab-janitor journal" in result.err and "Nothing was deleted" in result.err
    assert journal.read_bytes() == content
    assert non_get(sim) == []


def test_a_symlinked_journal_is_not_followed(run, env, sim: Simulator, planned: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "authorized_keys"
    target.parent.mkdir()
    link = tmp_path / "plan.json.journal"
    link.symlink_to(target)  # dangling: following it would create the file it points to
    result = run(["apply", planned, "--yes", "--journal", link], env)
    assert result.code == 3
    assert "is a symbolic link" in result.err
    assert not target.exists()
    assert non_get(sim) == []


def test_a_directory_as_journal_is_refused(run, env, sim: Simulator, planned: Path, tmp_path: Path) -> None:
    result = run(["apply", planned, "--yes", "--journal", tmp_path], env)
    assert result.code == 1 and "is a directory" in result.err  # a wrong argument: bad input
    assert non_get(sim) == []
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run(["apply", planned, "--yes", "--journal", fifo], env)
    assert result.code == 3 and "is not a regular file" in result.err  # not a file we would write into
    assert non_get(sim) == []


@pytest.mark.parametrize("bad_line", [
    '{"at": "x", "item": "job_artifacts:999999:1", "reason": "", "status": "deleted"}',  # not in the plan
    '{"at": "x", "item": "ITEM", "reason": "", "status": "vanished"}',  # unknown status
    '{"at": "x", "item": "ITEM", "status": "deleted"}',  # a key missing
    '{"at": "x", "item": "ITEM", "reason": "", "status": "deleted", "extra": 1}',  # an unknown key
    '{"at": "x", "intent": "erase", "item": "ITEM"}',  # not the item's action
    '{"at": 5, "item": "ITEM", "reason": "", "status": "deleted"}',  # a wrong type
    '["ITEM", "deleted"]',
    "",
    "x" * 20000,  # longer than apply ever writes
    "[" * 5000,  # nesting the JSON parser would recurse into
])
def test_a_damaged_line_in_the_middle_is_named_by_file_and_line(run, env, sim: Simulator, planned: Path,
                                                                 bad_line: str) -> None:
    journal = Path(str(planned) + ".journal")
    assert run(["apply", planned, "--yes"], env).code == 0
    lines = journal.read_text().splitlines()
    lines[3] = bad_line.replace("ITEM", _items(planned)[0]["id"])
    journal.write_text("\n".join(lines) + "\n")
    sim.reset_requests()
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 1
    assert f"{journal}:4:" in result.err
    assert "Move the journal aside" in result.err
    assert "Traceback" not in result.err
    assert non_get(sim) == []


# --- write ahead ---------------------------------------------------------------------------------------------

def test_every_delete_is_journaled_as_an_intent_before_it_is_sent(run, env, sim: Simulator, planned: Path) -> None:
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 0, result.err
    records = _lines(Path(str(planned) + ".journal"))
    assert records[1]["run"] == "started" and records[1]["pid"] == os.getpid()
    intents = {r["item"]: n for n, r in enumerate(records) if "intent" in r}
    outcomes = {r["item"]: n for n, r in enumerate(records) if "status" in r}
    items = _items(planned)
    assert set(intents) == set(outcomes) == {i["id"] for i in items}
    assert all(intents[item] < outcomes[item] for item in intents)
    assert sum(_deletes(sim).values()) == len(intents)


def test_an_item_interrupted_mid_request_is_rechecked(run, env, sim: Simulator, instance: Instance,
                                                       planned: Path) -> None:
    items = _items(planned)
    went_through, never_sent = items[0], items[1]
    instance.delete_job_artifacts(instance.jobs[went_through["target"]["job_id"]], keep_trace=True)
    journal = Path(str(planned) + ".journal")
    digest = json.loads(planned.read_text())["digest"]
    journal.write_bytes(header_line(digest) + b"".join(
        json.dumps({"at": "2026-11-30T20:00:00Z", "intent": "delete", "item": i["id"]}).encode() + b"\n"
        for i in (went_through, never_sent)))
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 0, result.err
    outcome = {r["item"]: r for r in _lines(journal) if "status" in r}
    assert outcome[went_through["id"]]["status"] == "gone"
    assert "interrupted run's request went through" in outcome[went_through["id"]]["reason"]
    assert outcome[never_sent["id"]]["status"] == "deleted"
    deletes = _deletes(sim)
    assert _artifacts_path(went_through) not in deletes and deletes[_artifacts_path(never_sent)] == 1


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a journal on it runs out of space after a few dozen lines. Needs root."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("concurrency", [1, 16])
def test_a_full_disk_stops_apply_before_its_next_delete(run, env, sim: Simulator, planned: Path,
                                                         tiny_disk: Path, concurrency: int) -> None:
    filler = tiny_disk / "filler"
    filler.write_bytes(b"x" * (60 * 1024))  # leaves one 4 KiB page for the journal
    journal = tiny_disk / "apply.journal"
    items = _items(planned)
    result = run(["apply", planned, "--yes", "--journal", journal, "--concurrency", concurrency], env)
    assert result.code == 1
    assert "could not be written (No space left on device)" in result.err
    assert "Traceback" not in result.err
    intents = [r["item"] for r in _lines(journal) if "intent" in r]  # every line whole: no torn tail left
    deletes = _deletes(sim)
    assert 0 < len(intents) < len(items)
    journaled = {_artifacts_path(i) for i in items if i["id"] in intents}
    assert set(deletes) <= journaled, "a DELETE went out without its intent on disk"
    if concurrency == 1:  # one at a time, the DELETE whose outcome could not be written is the last one sent
        assert set(deletes) == journaled
    filler.unlink()
    result = run(["apply", planned, "--yes", "--journal", journal], env)
    assert result.code == 0, result.err
    deletes = _deletes(sim)
    assert set(deletes) == {_artifacts_path(i) for i in items} and max(deletes.values()) == 1


# --- two applies at once -------------------------------------------------------------------------------------

def test_a_second_apply_of_the_same_journal_is_refused_naming_the_first(tmp_path: Path) -> None:
    with Simulator(generate(seed=3, scale="small")) as sim:
        env = cli_env({"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]})
        janitor = [sys.executable, "-m", "janitor"]
        (tmp_path / "policy.yml").write_text(ARTIFACTS_POLICY)
        subprocess.run([*janitor, "collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / "inv"],
                       env=env, check=True, capture_output=True)
        subprocess.run([*janitor, "plan", "--policy", tmp_path / "policy.yml", "--inventory", tmp_path / "inv",
                        "--out", tmp_path / "plan.json"], env=env, check=True, capture_output=True)
        items = _items(tmp_path / "plan.json")
        journal = Path(str(tmp_path / "plan.json") + ".journal")
        sim.reset_requests()
        sim.latency = 0.03  # the first apply is still deleting when the second starts
        first = subprocess.Popen([*janitor, "apply", tmp_path / "plan.json", "--yes", "--concurrency", "2"],
                                 env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not (journal.exists() and '"intent"' in journal.read_text()) and time.monotonic() < deadline:
            time.sleep(0.01)
        second = subprocess.run([*janitor, "apply", tmp_path / "plan.json", "--yes"], env=env,
                                capture_output=True, text=True)
        sim.latency = 0
        first_err = first.communicate(timeout=120)[1]
        assert first.returncode == 0, first_err
        assert second.returncode == 3, second.stderr
        assert f"in use by another apply of this plan: pid {first.pid} on host {socket.gethostname()}" \
            in second.stderr
        deletes = _deletes(sim)
        assert set(deletes) == {_artifacts_path(i) for i in items} and max(deletes.values()) == 1


# --- fuzzing the reader --------------------------------------------------------------------------------------

ITEMS = [PlanItem(id=f"job_artifacts:1:{n}", rule="r", resource="job_artifacts", action="delete", project_id=1,
                  project_path="acme/x", title=f"job {n}", target={"job_id": n}, fingerprint={}, bytes=1, reason="")
         for n in range(3)]
_GOOD_LINES = [
    header_line(DIGEST),
    b'{"at": "t", "host": "h", "pid": 7, "run": "started"}\n',
    *(json.dumps({"at": "t", "intent": "delete", "item": i.id}).encode() + b"\n" for i in ITEMS),
    *(json.dumps({"at": "t", "item": i.id, "reason": "", "status": s}).encode() + b"\n"
      for i in ITEMS for s in ("deleted", "gone", "skipped", "failed")),
]
_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                st.sampled_from(["at", "item", "status", "reason", "intent", "run", "pid", "host",
                                                 "journal", "plan_digest", "x"]), inner, max_size=5),
                            max_leaves=8)
_line = st.one_of(st.sampled_from(_GOOD_LINES), st.binary(max_size=40),
                  _json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
                  st.sampled_from([10, 3000, 16000]).map(lambda n: b"[" * n + b"\n"))


@st.composite
def _journal_bytes(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    lines = [header_line(DIGEST), *draw(st.lists(_line, max_size=8))]
    data = b"".join(lines)
    if draw(st.booleans()):  # a random cut, as a crash would leave
        data = data[:draw(st.integers(0, len(data)))]
    if data and draw(st.booleans()):  # one byte changed
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_journal_bytes())
def test_fuzz_the_reader_only_ever_raises_janitor_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.journal"
    path.write_bytes(data)
    try:
        journal = Journal.open(path, DIGEST, ITEMS)
    except JanitorError:
        return
    done, pending = dict(journal.done), set(journal.pending)
    journal.close()
    again = Journal.open(path, DIGEST, ITEMS)  # whatever a run leaves, the next run reads the same state
    again.close()
    assert (again.done, again.pending, again.cut_bytes) == (done, pending, 0)
    assert path.read_bytes().endswith(b"\n")
