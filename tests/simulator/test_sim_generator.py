"""The generator is deterministic and builds an instance worth cleaning up."""

from __future__ import annotations

from collections import Counter

from sim_helpers import NOW

from janitor.simulator import SCALES, Instance, generate
from janitor.simulator.generator import DAY_MS


def fingerprint(instance: Instance) -> list[tuple[object, ...]]:
    return [(j.id, j.pipeline.id, j.pipeline.ref, j.pipeline.sha, j.status, j.created_at, j.archive_size,
             j.trace_size) for j in instance.jobs.values()]


def test_same_seed_and_now_give_the_same_instance() -> None:
    first, second = generate(seed=5, scale="small", now=NOW), generate(seed=5, scale="small", now=NOW)
    assert fingerprint(first) == fingerprint(second)
    assert list(first.projects_by_path) == list(second.projects_by_path)
    assert fingerprint(generate(seed=6, scale="small", now=NOW)) != fingerprint(first)


def test_scales() -> None:
    assert len(generate(seed=1, scale="tiny", now=NOW).projects) == 6
    small = generate(seed=1, scale="small", now=NOW)
    assert len(small.projects) == 40
    assert 1_500 <= len(small.jobs) <= 2_500
    assert SCALES["demo"] == SCALES["small"]
    assert (SCALES["large"].projects, SCALES["large"].projects * SCALES["large"].jobs_per_project) == (
        10_000, 1_000_000)


def test_groups_and_named_projects() -> None:
    instance = generate(seed=1, projects=120, jobs_per_project=5, now=NOW)
    for path in ("acme", "acme/platform", "acme/web", "acme/legacy", "acme/legal", "other",
                 "acme/platform/tools"):
        assert path in instance.groups_by_path
    for path in ("acme/platform/api", "acme/legal/contracts", "other/tool"):
        assert path in instance.projects_by_path
    assert instance.projects_by_path["acme/legacy/monolith"].archived
    docs = instance.projects_by_path["acme/web/docs"]
    assert docs.jobs == [] and docs.job_artifacts_size == 0


def test_history_makes_clean_up_interesting(small: Instance) -> None:
    jobs = list(small.jobs.values())
    statuses = Counter(j.status for j in jobs)
    assert statuses["success"] > statuses["failed"] > 0
    assert statuses["running"] and statuses["pending"] and statuses["canceled"] and statuses["manual"]
    assert all(j.finished_at is None for j in jobs if j.status in ("running", "pending", "manual"))
    ages = [small.now - p.created_at for p in small.pipelines.values()]
    assert max(ages) > 150 * DAY_MS and min(ages) < DAY_MS and max(ages) <= 180 * DAY_MS
    old_feature = [j for j in jobs if j.pipeline.ref.startswith("feature/") and j.archive_size
                   and small.now - j.created_at > 30 * DAY_MS]
    assert old_feature
    assert any(j.pipeline.tag for j in jobs)
    assert any(j.trace_size and not j.archive_size and j.finished for j in jobs)
    sizes = sorted(p.job_artifacts_size for p in small.projects.values())
    assert sizes[-1] > 10 * sizes[len(sizes) // 2] > 0


def test_every_ref_keeps_a_latest_successful_pipeline(small: Instance) -> None:
    project = small.projects_by_path["acme/platform/api"]
    refs = {p.ref for p in project.pipelines}
    successful = {p.ref for p in project.pipelines if p.status == "success"}
    assert "main" in successful and len(successful) >= len(refs) // 2


def test_statistics_match_the_jobs(small: Instance) -> None:
    for project in small.projects.values():
        assert project.job_artifacts_size == sum(j.artifacts_size for j in project.jobs)
        assert [j.id for j in project.jobs] == sorted(j.id for j in project.jobs)
        created = [p.created_at for p in project.pipelines]
        assert created == sorted(created)  # a newer pipeline always has a higher id
