"""apply killed at random points (SIGKILL after a random number of DELETEs, sometimes with the journal's last
line torn as a power cut would leave it), then resumed with the same journal: no object receives two DELETEs,
none is lost, every DELETE sent had its intent on disk first, and the final summary adds up."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import cli_env
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from janitor.simulator import TOKENS, Simulator, generate
from janitor.simulator.routes.sim_admin import attach

NOW = datetime.now(timezone.utc)  # one instant, so every example's fresh instance is the planned one
JANITOR = [sys.executable, "-m", "janitor"]
POLICY = """\
version: 1
scope: {groups: [acme/platform]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-artifacts
    resource: job_artifacts
    action: delete
    match: {older_than: 30d, ref: {exclude: [main]}}
    keep: {latest: 1, per: ref}
"""


class Planned:
    def __init__(self, sim: Simulator, env: dict[str, str], plan: Path, work: Path, paths: dict[str, str]) -> None:
        self.sim, self.env, self.plan, self.work = sim, env, plan, work
        self.paths = paths  # item id -> the path its DELETE goes to

    def __repr__(self) -> str:  # hypothesis prints it with a failure; the environment is noise there
        return f"Planned({self.plan})"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planned]:
    work = tmp_path_factory.mktemp("resume")
    with attach(Simulator(generate(seed=3, scale="small", now=NOW))) as sim:
        env = cli_env({"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]})
        (work / "policy.yml").write_text(POLICY)
        subprocess.run([*JANITOR, "collect", "--policy", work / "policy.yml", "--out", work / "inv"], env=env,
                       check=True, capture_output=True)
        subprocess.run([*JANITOR, "plan", "--policy", work / "policy.yml", "--inventory", work / "inv",
                        "--out", work / "plan.json"], env=env, check=True, capture_output=True)
        items = json.loads((work / "plan.json").read_text())["items"]
        assert len(items) >= 20
        paths = {i["id"]: f"/projects/{i['project_id']}/jobs/{i['target']['job_id']}/artifacts" for i in items}
        yield Planned(sim, env, work / "plan.json", work, paths)


def _deletes(sim: Simulator) -> Counter[str]:
    return Counter(r.path for r in sim.requests if r.method == "DELETE")


def _writes_per_path(sim: Simulator) -> Counter[str]:
    """The simulator's own count (its admin route), as a run against `janitor simulator` would read it."""
    request = urllib.request.Request(f"{sim.url}/api/v4/-/sim/writes", headers={"PRIVATE-TOKEN": TOKENS["admin"]})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return Counter(json.load(answer))


def _records(journal: Path) -> list[dict[str, Any]]:
    records = []
    for line in journal.read_bytes().splitlines():
        with contextlib.suppress(ValueError):  # a torn line: the run was killed mid-write
            records.append(json.loads(line))
    return records


@dataclass(frozen=True)
class Kill:
    after_deletes: int
    extra_delay: float
    concurrency: int
    tear: int | None  # cut the journal's last line this many bytes short of its end (None: leave it)


kills = st.builds(Kill, after_deletes=st.integers(1, 40), extra_delay=st.sampled_from([0.0, 0.003, 0.02]),
                  concurrency=st.sampled_from([1, 4, 16]), tear=st.none() | st.integers(1, 60))


# No shrinking: each example runs janitor three times; a failing list of two kills is read as it is.
@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(plan_kills=st.lists(kills, min_size=1, max_size=2))
def test_killed_and_resumed_apply_deletes_each_item_exactly_once(planned: Planned, plan_kills: list[Kill]) -> None:
    sim = planned.sim
    sim.instance = generate(seed=3, scale="small", now=NOW)  # same URL, fresh objects
    attach(sim)  # the admin routes know a simulator by its instance
    sim.reset_requests()
    journal = planned.work / f"{uuid.uuid4().hex}.journal"
    apply = [*JANITOR, "apply", planned.plan, "--yes", "--journal", journal]
    for kill in plan_kills:
        start = len(sim.requests)
        before = sum(_deletes(sim).values())
        run = subprocess.Popen([*apply, "--concurrency", str(kill.concurrency)], env=planned.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while (run.poll() is None and time.monotonic() < deadline
               and sum(_deletes(sim).values()) < before + kill.after_deletes):
            time.sleep(0.002)
        time.sleep(kill.extra_delay)
        run.send_signal(signal.SIGKILL)
        run.wait()
        intents = {r["item"] for r in _records(journal) if "intent" in r}
        sent = {r.path for r in sim.requests[start:] if r.method == "DELETE"}
        assert sent <= {planned.paths[i] for i in intents}, "a DELETE was sent with no intent on disk"
        if kill.tear is not None:
            data = journal.read_bytes()
            last_line_start = data.rstrip(b"\n").rfind(b"\n") + 1
            journal.write_bytes(data[:max(last_line_start, len(data) - kill.tear)])
    final = subprocess.run([*apply, "--format", "json"], env=planned.env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    writes = _writes_per_path(sim)
    assert max(writes.values()) == 1, f"written twice: {[p for p, n in writes.items() if n > 1]}"
    assert set(writes) == {f"DELETE {path}" for path in planned.paths.values()}, "an item was lost"
    last: dict[str, str] = {}
    for record in _records(journal):
        if "status" in record:
            last[record["item"]] = record["status"]
    assert set(last) == set(planned.paths) and set(last.values()) <= {"deleted", "gone"}
    result = json.loads(final.stdout)["apply"]
    counts = result["counts"]
    assert sum(counts.values()) + result["resumed"] == len(planned.paths)
    assert set(counts) <= {"deleted", "gone"}
