"""apply refuses what it must, skips what changed, and resumes from its journal without repeating."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import cli_env, non_get

from janitor.simulator import TOKENS, Instance, Simulator, generate
from janitor.units import human_bytes


@pytest.fixture
def planned(run, env, policy_file: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    result = run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "plan.json"],
                 env)
    assert result.code == 0, result.err
    return tmp_path / "plan.json"


def test_tampered_plan_is_refused(run, env, sim: Simulator, planned: Path) -> None:
    plan = json.loads(planned.read_text())
    plan["items"][0]["target"]["job_id"] += 1  # point an approved item at another job
    planned.write_text(json.dumps(plan))
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 3
    assert "digest does not match" in result.err
    assert non_get(sim) == []


def test_truncated_plan_is_a_clear_error(run, env, sim: Simulator, planned: Path) -> None:
    planned.write_bytes(planned.read_bytes()[:500])
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 1
    assert "truncated or damaged" in result.err
    assert non_get(sim) == []


def test_plan_for_another_gitlab_is_refused(run, env, sim: Simulator, planned: Path) -> None:
    other = Simulator(generate(seed=3, scale="tiny")).start()
    try:
        result = run(["apply", planned, "--yes"], {**env, "GITLAB_URL": other.url})
        assert result.code == 3
        assert "made for" in result.err
        assert non_get(other) == [] and non_get(sim) == []
    finally:
        other.stop()


def test_expired_plan_is_refused(run, env, sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    assert run(["collect", "--policy", policy_file, "--out", tmp_path / "inv"], env).code == 0
    projects = tmp_path / "inv" / "projects.json"
    head, rest = projects.read_text().split("\n", 1)
    stamp = json.loads(head[: -len(', "entries": {')] + "}")["timestamp"]
    projects.write_text(head.replace(stamp, "2020-01-01T00:00:00Z") + "\n" + rest)
    assert run(["plan", "--policy", policy_file, "--inventory", tmp_path / "inv", "--out", tmp_path / "p.json"],
               env).code == 0
    result = run(["apply", tmp_path / "p.json", "--yes", "--max-age", "7d"], env)
    assert result.code == 3 and "--max-age" in result.err
    assert non_get(sim) == []


def test_unexpected_digest_is_refused(run, env, sim: Simulator, planned: Path) -> None:
    result = run(["apply", planned, "--yes", "--expect-digest", "sha256:" + "0" * 64], env)
    assert result.code == 3 and "not the approved one" in result.err
    assert non_get(sim) == []


def test_changed_item_is_skipped_with_reason(run, env, sim: Simulator, instance: Instance, planned: Path) -> None:
    items = json.loads(planned.read_text())["items"]
    changed = instance.jobs[items[0]["target"]["job_id"]]
    changed.junit_size += 1234  # the job's artifacts are not what the plan saw
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 0, result.err
    assert "skipped" in result.err and "changed since the plan" in result.err
    deleted = {r.path for r in sim.requests if r.method == "DELETE"}
    assert f"/projects/{changed.pipeline.project_id}/jobs/{changed.id}/artifacts" not in deleted
    assert len(deleted) == len(items) - 1
    journal = [json.loads(line) for line in Path(str(planned) + ".journal").read_text().splitlines()[1:]]
    assert {r["status"] for r in journal if "status" in r} == {"deleted", "skipped"}


def test_already_gone_counts_as_done(run, env, sim: Simulator, instance: Instance, planned: Path) -> None:
    items = json.loads(planned.read_text())["items"]
    job = instance.jobs[items[0]["target"]["job_id"]]
    instance.delete_job_artifacts(job, keep_trace=True)
    result = run(["apply", planned, "--yes"], env)
    assert result.code == 0
    assert ", 1 already gone" in result.err
    assert [line for line in result.out.splitlines() if line.startswith("gone: ")] == [
        f"gone: {items[0]['project_path']} {items[0]['title']} ({human_bytes(items[0]['bytes'])}): already gone"]


def test_read_only_token_cannot_apply(run, env, sim: Simulator, planned: Path) -> None:
    result = run(["apply", planned, "--yes"], {**env, "GITLAB_TOKEN": TOKENS["read"]})
    assert result.code == 1
    assert "needs api" in result.err
    assert non_get(sim) == []


def test_a_developer_token_is_refused_before_any_delete(run, env, sim: Simulator, planned: Path) -> None:
    # artifacts need Maintainer (tests/test_apply_roles.py covers the roles in depth)
    result = run(["apply", planned, "--yes"], {**env, "GITLAB_TOKEN": TOKENS["developer"]})
    assert result.code == 3
    assert "needs Maintainer, the token has Developer" in result.err
    assert non_get(sim) == []


def test_scope_lock_refuses_a_plan_outside_it(run, env, sim: Simulator, planned: Path) -> None:
    result = run(["apply", planned, "--yes", "--scope", "acme/web"], env)
    assert result.code == 3 and "outside --scope acme/web" in result.err
    assert non_get(sim) == []


def test_killed_apply_resumes_without_repeating_a_delete(tmp_path: Path) -> None:
    instance = generate(seed=3, scale="small")
    with Simulator(instance, latency=0.05) as sim:
        env = cli_env({"GITLAB_URL": sim.url, "GITLAB_TOKEN": TOKENS["admin"]})
        policy = tmp_path / "policy.yml"
        from engine_helpers import ARTIFACTS_POLICY

        policy.write_text(ARTIFACTS_POLICY)
        janitor = [sys.executable, "-m", "janitor"]
        subprocess.run([*janitor, "collect", "--policy", policy, "--out", tmp_path / "inv"], env=env, check=True)
        subprocess.run([*janitor, "plan", "--policy", policy, "--inventory", tmp_path / "inv", "--out",
                        tmp_path / "plan.json"], env=env, check=True)
        items = json.loads((tmp_path / "plan.json").read_text())["items"]
        assert len(items) >= 20
        journal = tmp_path / "apply.journal"
        first = subprocess.Popen([*janitor, "apply", tmp_path / "plan.json", "--yes", "--journal", journal,
                                  "--concurrency", "2"], env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if journal.exists() and len(journal.read_text().splitlines()) > 6:
                break
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        done_first = len([r for r in sim.requests if r.method == "DELETE"])
        assert 0 < done_first < len(items), "the kill should land half-way"
        second = subprocess.run([*janitor, "apply", tmp_path / "plan.json", "--yes", "--journal", journal],
                                env=env, capture_output=True, text=True)
        assert second.returncode == 0, second.stderr
        deletes = [r.path for r in sim.requests if r.method == "DELETE"]
        assert len(deletes) == len(set(deletes)) == len(items), "every item deleted exactly once"
        assert "already done per the journal" in second.stderr
        assert os.path.getsize(journal) > 0
