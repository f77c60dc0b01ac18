"""Warn first, delete later: grace periods and the state file across runs, through the real CLI against
the simulator over HTTP. Time moves forward between runs by shifting the state's times back, exactly as
a run `grace` later would see them."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from engine_helpers import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from janitor.model import format_time, parse_time
from janitor.plan_file import PLAN_SCHEMA, read_plan
from janitor.report.schema import REPORT_SCHEMA
from janitor.simulator import Instance
from janitor.simulator.repo_state import repository
from janitor.state import STATE_SCHEMA

WARN_FIRST = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 1000, max_percent: 100}
rules:
  - name: merged-branches
    resource: branches
    action: delete
    grace: 14d
    notify: true
    match: {merged: true}
notify:
  project: platform/cleanup-log
  labels: [janitor, cleanup]
"""


def collect(run: Any, env: dict[str, str], tmp_path: Path, policy: str = WARN_FIRST, out: str = "inv") -> Path:
    (tmp_path / "policy.yml").write_text(policy, encoding="utf-8")
    done = run(["collect", "--policy", tmp_path / "policy.yml", "--out", tmp_path / out], env)
    assert done.code == 0, done.err
    return tmp_path / out


def plan(run: Any, env: dict[str, str], tmp_path: Path, inventory: Path, *extra: object,
         out: str = "plan.json") -> Result:
    result: Result = run(["plan", "--policy", tmp_path / "policy.yml", "--inventory", inventory,
                          "--out", tmp_path / out, "--report-dir", tmp_path / "report", *extra], env)
    return result


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shift_back(state: Path, delta: timedelta) -> None:
    """What the next scheduled run sees `delta` later: every time in the state is `delta` older."""
    data = load(state)

    def back(value: str) -> str:
        when = parse_time(value)
        assert when is not None
        return format_time(when - delta)

    data["updated_at"] = back(data["updated_at"])
    for item in data["items"]:
        item["first_qualified"] = back(item["first_qualified"])
    state.write_text(json.dumps(data), encoding="utf-8")


def test_first_run_plans_nothing_under_grace_second_run_after_grace_plans_it(run, env, tmp_path: Path) -> None:
    strict = WARN_FIRST.replace("max_actions: 1000, max_percent: 100", "max_actions: 0, max_percent: 1")
    inventory = collect(run, env, tmp_path, strict)
    state = tmp_path / "state.json"
    first = plan(run, env, tmp_path, inventory, "--state", state)
    assert first.code == 0, first.err  # max_actions 0: pending items count toward no limit
    plan1 = load(tmp_path / "plan.json")
    jsonschema.validate(plan1, PLAN_SCHEMA)
    assert plan1["items"] == [] and plan1["totals"]["actions"] == 0
    pending = {p["id"] for p in plan1["pending"]}
    assert pending and plan1["totals"]["pending"] == len(pending)
    assert "pending (grace period not over)" in first.err and "to be removed on or after" in first.err
    assert plan1["grace"] == {"merged-branches": {"grace": "14d", "notify": True}}
    assert plan1["notify"] == {"issues": None, "project": "platform/cleanup-log", "labels": ["janitor", "cleanup"],
                               "assignees": "none"}
    assert plan1["state_digest"].startswith("sha256:")
    for p in plan1["pending"]:
        assert p["first_qualified"] == plan1["created_at"]
        assert parse_time(p["due"]) == parse_time(plan1["created_at"]) + timedelta(days=14)  # type: ignore[operator]
    saved = load(state)
    jsonschema.validate(saved, STATE_SCHEMA)
    assert [i["id"] for i in saved["items"]] == sorted(pending)
    rows = [json.loads(line.strip().rstrip(",")) for line in state.read_text().splitlines() if '"id":' in line]
    assert rows == saved["items"]  # one line per item: small, and readable in a diff
    assert saved["updated_at"] == plan1["created_at"] and saved["gitlab_url"] == plan1["gitlab_url"]
    assert read_plan(tmp_path / "plan.json").items == ()  # apply reads the new sections

    shift_back(state, timedelta(days=13))  # a day short of the grace period
    second = plan(run, env, tmp_path, inventory, "--state", state)
    assert second.code == 0, second.err
    assert load(tmp_path / "plan.json")["items"] == []
    assert {p["id"] for p in load(tmp_path / "plan.json")["pending"]} == pending

    shift_back(state, timedelta(days=1))  # now exactly 14 days since they first qualified
    kept = state.read_bytes()
    refused = plan(run, env, tmp_path, inventory, "--state", state)
    assert refused.code == 3 and f"the plan has {len(pending)} actions, more than limits.max_actions 0" in refused.err
    assert state.read_bytes() == kept  # a refused plan moves no clock
    (tmp_path / "policy.yml").write_text(WARN_FIRST, encoding="utf-8")
    third = plan(run, env, tmp_path, inventory, "--state", state, "--max-actions", len(pending))
    assert third.code == 0, third.err
    plan3 = load(tmp_path / "plan.json")
    assert {i["id"] for i in plan3["items"]} == pending and plan3["pending"] == []
    assert {i["id"] for i in load(state)["items"]} == pending  # still qualify: kept until they are gone


def test_a_new_commit_restarts_the_clock_and_a_deleted_branch_is_dropped(run, env, instance: Instance,
                                                                        tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert plan(run, env, tmp_path, collect(run, env, tmp_path), "--state", state).code == 0
    pending = load(tmp_path / "plan.json")["pending"]
    assert len(pending) >= 2
    pushed, deleted = pending[0], pending[1]
    for item, change in ((pushed, "push"), (deleted, "delete")):
        branches = repository(instance.projects[item["project_id"]]).branches
        name = item["id"].split("/branch:", 1)[1]  # ids are <project>/branches/branch:<name>
        if change == "push":
            branches[name].sha = "f" * 40
        else:
            del branches[name]
    shift_back(state, timedelta(days=15))
    again = plan(run, env, tmp_path, collect(run, env, tmp_path, out="inv2"), "--state", state)
    assert again.code == 0, again.err
    plan2 = load(tmp_path / "plan.json")
    removed = {i["id"] for i in plan2["items"]}
    still = {p["id"]: p for p in plan2["pending"]}
    assert pushed["id"] in still and still[pushed["id"]]["first_qualified"] == plan2["created_at"]
    assert deleted["id"] not in removed and deleted["id"] not in still
    assert removed == {p["id"] for p in pending} - {pushed["id"], deleted["id"]}
    saved = {i["id"]: i for i in load(state)["items"]}
    assert deleted["id"] not in saved
    assert saved[pushed["id"]]["fingerprint"] == {"commit": "f" * 40}


def test_a_project_the_inventory_could_not_list_keeps_its_clocks(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    assert plan(run, env, tmp_path, inventory, "--state", state).code == 0
    project = load(tmp_path / "plan.json")["pending"][0]["project_id"]
    projects = inventory / "projects.json"
    lines = projects.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = f'"{project}": {{'
    lines = [line.replace(entry, entry + '"_incomplete": "listing failed (HTTP 500)", ', 1)
             if line.startswith(entry) else line for line in lines]
    projects.write_text("".join(lines), encoding="utf-8")
    shift_back(state, timedelta(days=15))
    before = {i["id"]: i for i in load(state)["items"]}
    result = plan(run, env, tmp_path, inventory, "--state", state)
    assert result.code == 0, result.err
    written = load(tmp_path / "plan.json")
    held = {i for i in before if i.startswith(f"{project}/")}
    assert held and not held & {i["id"] for i in written["items"] + written["pending"]}
    after = {i["id"]: i for i in load(state)["items"]}
    assert {i: after[i] for i in held} == {i: before[i] for i in held}  # same first_qualified: clock kept
    assert set(after) == set(before)


def test_without_state_plan_warns_that_nothing_under_grace_can_ever_be_removed(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    result = plan(run, env, tmp_path, inventory)
    assert result.code == 0, result.err
    assert "no --state: nothing under a grace rule (merged-branches) can ever be removed" in result.err
    written = load(tmp_path / "plan.json")
    assert written["items"] == [] and written["pending"] and written["state_digest"] is None


def test_reports_list_and_count_pending_items(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    assert plan(run, env, tmp_path, inventory, "--state", tmp_path / "state.json").code == 0
    pending = load(tmp_path / "plan.json")["pending"]
    report = load(tmp_path / "report" / "report.json")
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["totals"]["pending_items"] == len(pending) and report["totals"]["remove_items"] == 0
    branches = report["totals"]["before_after"]["branches"]
    assert branches["after_items"] == branches["before_items"]  # pending items are still there afterwards
    assert sum(p["pending_items"] for p in report["projects"]) == len(pending)
    assert report["totals"]["by_rule"][0]["pending"] == len(pending)
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert f"**{len(pending)} item{'' if len(pending) == 1 else 's'} pending**" in markdown
    assert markdown.count("to be removed on or after") == len(pending)
    assert f"<b>{len(pending)}</b><span>pending a grace period</span>" in html  # the top card
    assert html.count("to be removed on or after") == len(pending)


def test_same_inventory_policy_and_state_give_the_same_bytes(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    assert plan(run, env, tmp_path, inventory, "--state", state).code == 0
    shift_back(state, timedelta(days=20))
    before = state.read_bytes()
    outputs = []
    for name in ("a", "b"):
        copy = tmp_path / f"state-{name}.json"
        copy.write_bytes(before)
        assert plan(run, env, tmp_path, inventory, "--state", copy, out=f"plan-{name}.json").code == 0
        outputs.append(((tmp_path / f"plan-{name}.json").read_bytes(), copy.read_bytes()))
    assert outputs[0] == outputs[1]
    assert load(tmp_path / "plan-a.json")["items"]


def foreign(data: dict[str, Any]) -> None:
    data["gitlab_url"] = "https://gitlab.example.com"


def future(data: dict[str, Any]) -> None:
    data["updated_at"] = "2999-01-01T00:00:00Z"


def duplicate(data: dict[str, Any]) -> None:
    data["items"].append(dict(data["items"][0]))


def bad_time(data: dict[str, Any]) -> None:
    data["items"][0]["first_qualified"] = "last tuesday"


def extra_key(data: dict[str, Any]) -> None:
    data["items"][0]["owner"] = "mallory"


def after_update(data: dict[str, Any]) -> None:
    data["items"][0]["first_qualified"] = "2999-01-01T00:00:00Z"


def wrong_format(data: dict[str, Any]) -> None:
    data["format"] = "gitlab-janitor-plan"


@pytest.mark.parametrize(("tamper", "code", "words"), [
    (foreign, 3, "state for another GitLab"),
    (future, 3, "after this inventory was collected"),
    (duplicate, 1, "duplicate id"),
    (bad_time, 1, "items[0].first_qualified: not an ISO-8601 time"),
    (extra_key, 1, "unknown key 'owner'"),
    (after_update, 1, "is after the state's updated_at"),
    (wrong_format, 1, "is not a gitlab-janitor state file"),
])
def test_tampered_state_is_refused_and_nothing_is_written(run, env, tmp_path: Path, tamper: Any, code: int,
                                                          words: str) -> None:
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    assert plan(run, env, tmp_path, inventory, "--state", state).code == 0
    (tmp_path / "plan.json").unlink()
    data = load(state)
    tamper(data)
    state.write_text(json.dumps(data), encoding="utf-8")
    written = state.read_bytes()
    result = plan(run, env, tmp_path, inventory, "--state", state)
    assert result.code == code, result.err
    assert words in result.err and "Traceback" not in result.err
    assert not (tmp_path / "plan.json").exists() and state.read_bytes() == written


@pytest.mark.parametrize(("content", "words"), [
    (b'{"format": "gitlab-janitor-state", "version": 1, "items": [', "not valid JSON"),
    (b'{"format": "gitlab-janitor-state", "version": NaN}', "NaN"),
    (b"\xff\xfe not text", "not valid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"format": "gitlab-janitor-state", "version": 2}', "state format version 2"),
    (b'{"format": "gitlab-janitor-state", "version": true}', "state format version true"),
])
def test_corrupt_state_is_a_clear_error(run, env, tmp_path: Path, content: bytes, words: str) -> None:
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    state.write_bytes(content)
    result = plan(run, env, tmp_path, inventory, "--state", state)
    assert result.code == 1 and words in result.err and "Traceback" not in result.err
    assert state.read_bytes() == content


def test_a_dangling_symlink_is_not_taken_for_a_first_run(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    state.symlink_to(tmp_path / "artifacts" / "state.json")
    result = plan(run, env, tmp_path, inventory, "--state", state)
    assert result.code == 1 and "symbolic link to a file that does not exist" in result.err
    assert not (tmp_path / "plan.json").exists()


def test_state_and_plan_cannot_share_a_file(run, env, tmp_path: Path) -> None:
    inventory = collect(run, env, tmp_path)
    result = plan(run, env, tmp_path, inventory, "--state", tmp_path / "plan.json")
    assert result.code == 1 and "--state" in result.err and "its own file" in result.err
    assert not (tmp_path / "plan.json").exists()


def test_state_schema_is_printed(run) -> None:
    result = run(["schema", "--state"])
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["title"].startswith("gitlab-janitor state")
    assert schema["properties"]["items"]["items"]["required"] == ["id", "rule", "first_qualified", "fingerprint"]


def test_grace_clock_invariants_and_byte_stability_property(run, env, tmp_path: Path) -> None:
    """Whatever the previous state says (some items known for a while, some never seen), the same inputs give
    the same plan and state bytes; an item is removed exactly when its clock reached the grace period."""
    inventory = collect(run, env, tmp_path)
    state = tmp_path / "state.json"
    assert plan(run, env, tmp_path, inventory, "--state", state).code == 0
    fresh = load(state)
    now = parse_time(fresh["updated_at"])
    assert now is not None and len(fresh["items"]) >= 3

    @settings(max_examples=3, deadline=None)
    @given(ages=st.lists(st.one_of(st.none(), st.integers(0, 30 * 24)), min_size=len(fresh["items"]),
                         max_size=len(fresh["items"])),
           lag=st.integers(0, 48))
    def check(ages: list[int | None], lag: int) -> None:
        previous = dict(fresh, updated_at=format_time(now - timedelta(hours=lag)), items=[
            dict(item, first_qualified=format_time(now - timedelta(hours=lag + age)))
            for item, age in zip(fresh["items"], ages, strict=True) if age is not None])
        runs = []
        for name in ("a", "b"):
            copy = tmp_path / f"prop-{name}.json"
            copy.write_text(json.dumps(previous), encoding="utf-8")
            assert plan(run, env, tmp_path, inventory, "--state", copy, out=f"prop-{name}.plan").code == 0
            runs.append(((tmp_path / f"prop-{name}.plan").read_bytes(), copy.read_bytes()))
        assert runs[0] == runs[1]
        written, new_state = json.loads(runs[0][0]), json.loads(runs[0][1])
        known = {i["id"]: parse_time(i["first_qualified"]) for i in previous["items"]}
        due = {i for i, first in known.items() if first + timedelta(days=14) <= now}  # type: ignore[operator]
        assert {i["id"] for i in written["items"]} == due
        assert {p["id"] for p in written["pending"]} == {i["id"] for i in fresh["items"]} - due
        for p in written["pending"]:
            assert parse_time(p["first_qualified"]) == known.get(p["id"], now)
        assert {i["id"] for i in new_state["items"]} == {i["id"] for i in fresh["items"]}
        assert written["state_digest"] == "sha256:" + hashlib.sha256(runs[0][1]).hexdigest()

    check()
