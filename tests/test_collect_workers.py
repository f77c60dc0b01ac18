"""collect --workers N: N processes share one run and write one inventory, with the same entries and the
same (minimum) requests as one process; an error in any worker stops the run and leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from janitor.collect_workers import cgroup_cpus, default_workers
from janitor.inventory import read_inventory
from janitor.simulator import Simulator


def entries(directory: Path, name: str = "projects.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))["entries"]
    return data


def collect(run, env: dict[str, str], sim: Simulator, policy: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    sim.reset_requests()
    result = run(["collect", "--policy", policy, "--out", out, *extra], env)
    return result, len(sim.requests)


@pytest.mark.parametrize("workers", ["2", "3"])
def test_workers_write_the_inventory_one_process_writes_with_the_same_requests(  # type: ignore[no-untyped-def]
        run, env: dict[str, str], sim: Simulator, policy_file: Path, tmp_path: Path, workers: str) -> None:
    alone, alone_requests = collect(run, env, sim, policy_file, tmp_path / "one", "--workers", "1")
    assert alone.code == 0, alone.err
    shared, shared_requests = collect(run, env, sim, policy_file, tmp_path / "many", "--workers", workers,
                                      "--concurrency", "5")
    assert shared.code == 0, shared.err
    assert "Traceback" not in shared.err
    assert entries(tmp_path / "many") == entries(tmp_path / "one") != {}
    assert entries(tmp_path / "many", "merge_requests.json") == entries(tmp_path / "one", "merge_requests.json")
    assert shared_requests == alone_requests  # the parent lists the projects once, for every worker
    meta = read_inventory(tmp_path / "many").meta
    assert meta["complete"] is True and meta["projects"] == len(entries(tmp_path / "one"))
    assert meta["requests"] == shared_requests
    assert f"{meta['projects']} projects, {shared_requests} requests" in shared.err
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["merge_requests.json", "projects.json"]


def test_workers_keep_to_their_shard(run, env: dict[str, str], sim: Simulator, policy_file: Path,  # type: ignore[no-untyped-def]
                                     tmp_path: Path) -> None:
    whole, _ = collect(run, env, sim, policy_file, tmp_path / "whole", "--workers", "1")
    assert whole.code == 0, whole.err
    shards = []
    for index in (1, 2):
        result, _ = collect(run, env, sim, policy_file, tmp_path / f"s{index}", "--shard", f"{index}/2",
                            "--workers", "2")
        assert result.code == 0, result.err
        shards.append(entries(tmp_path / f"s{index}"))
    assert not set(shards[0]) & set(shards[1])
    assert {**shards[0], **shards[1]} == entries(tmp_path / "whole")
    assert all(int(key) % 2 == 0 for key in shards[0])  # shard 1/2 holds ids = 0 mod 2, as without workers


def test_a_worker_stopped_by_a_rejected_token_stops_the_run_and_leaves_nothing(  # type: ignore[no-untyped-def]
        run, env: dict[str, str], sim: Simulator, policy_file: Path, tmp_path: Path) -> None:
    sim.faults.fail_paths(r"/jobs$", 401)  # only the workers list jobs: the parent's requests all pass
    result, _ = collect(run, env, sim, policy_file, tmp_path / "inv", "--workers", "2")
    assert result.code == 1
    assert "GitLab rejected the token (401)" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "inv").exists() or list((tmp_path / "inv").iterdir()) == []


def test_cgroup_quota_bounds_the_default_workers(tmp_path: Path) -> None:
    v2 = tmp_path / "cpu.max"
    v1 = (tmp_path / "quota", tmp_path / "period")
    assert cgroup_cpus(v2, v1) is None  # no cgroup files: no quota
    for text, cpus in (("max 100000", None), ("150000 100000", 1), ("400000 100000", 4), ("50000 100000", 1)):
        v2.write_text(text + "\n")
        assert cgroup_cpus(v2, v1) == cpus, text
    v2.unlink()
    v1[0].write_text("300000\n")
    v1[1].write_text("100000\n")
    assert cgroup_cpus(v2, v1) == 3
    v1[0].write_text("-1\n")
    assert cgroup_cpus(v2, v1) is None
    assert 1 <= default_workers() <= 4


def test_workers_out_of_range_are_refused_with_a_hint(run, env: dict[str, str], policy_file: Path,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    result = run(["collect", "--policy", policy_file, "--out", tmp_path / "inv", "--workers", "0"], env)
    assert result.code == 1 and "--workers" in result.err and "Traceback" not in result.err


def test_a_workers_warning_reaches_the_user_once(run, env: dict[str, str], sim: Simulator,  # type: ignore[no-untyped-def]
                                                 policy_file: Path, tmp_path: Path) -> None:
    # GitLab's links on another origin (its external_url): every worker notices, the user is told once
    sim.rewrite_links = lambda link: link.replace(sim.url, "http://gitlab.elsewhere.example")
    result, _ = collect(run, env, sim, policy_file, tmp_path / "inv", "--workers", "3")
    assert result.code == 0, result.err
    assert result.err.count("pagination links point to http://gitlab.elsewhere.example") == 1
