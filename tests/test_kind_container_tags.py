"""container_tags through the real CLI over HTTP: collect -> plan -> apply --yes against the simulator."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from engine_helpers import collect_and_plan

from janitor.resources.common import ref_slug
from janitor.simulator import Instance, Simulator
from janitor.simulator.registry_records import RegistryTag, repositories

POLICY = """\
version: 1
scope: {groups: [acme]}
limits: {max_actions: 100000, max_percent: 100}
rules:
  - name: old-images
    resource: container_tags
    action: delete
    match: MATCH
"""


def cycle(run, env, tmp_path: Path, match: str, apply: bool = True) -> tuple[list[dict[str, Any]], Any]:  # type: ignore[no-untyped-def]
    items = collect_and_plan(run, env, tmp_path, POLICY.replace("MATCH", match))["items"]
    return items, (run(["apply", tmp_path / "plan.json", "--yes"], env) if apply else None)


def tags(instance: Instance) -> dict[tuple[int, str], RegistryTag]:
    return {(repo.id, tag.name): tag for project in instance.projects.values()
            for repo in repositories(project) for tag in repo.tags.values()}


def planned_tags(items: list[dict[str, Any]]) -> set[tuple[int, str]]:
    return {(i["target"]["repository_id"], i["target"]["tag_name"]) for i in items}


def kept_reasons(tmp_path: Path) -> list[str]:
    report = (tmp_path / "report" / "report.md").read_text()
    # as a reader sees them: names are written with character references (`&#96;`) in the file
    return [html.unescape(line) for line in report.splitlines() if line.startswith("| ") and "protected:" in line]


def test_protections_hold_and_exactly_the_plan_is_deleted(run, env, instance: Instance, tmp_path: Path) -> None:
    before = tags(instance)
    # everything older than an hour, except release tags: those are kept by not matching
    items, result = cycle(run, env, tmp_path, '{older_than: 1h, name: {exclude: ["v*"]}}')
    assert result.code == 0, result.err
    planned = planned_tags(items)
    after = tags(instance)
    assert set(before) - set(after) == planned, "exactly the planned tags are gone"
    latest = {(r, d.digest) for (r, n), d in before.items() if n == "latest"}
    releases = {(r, d.digest) for (r, n), d in before.items() if n.startswith("v")}
    guarded = {key for key, tag in before.items() if (key[0], tag.digest) in latest | releases}
    assert guarded and not guarded & planned, "latest, release tags and every tag on their images stay"
    assert guarded <= set(after)
    # the image tagged both feature-experiment-42 and v0.9.0: kept, and the report says why
    reasons = kept_reasons(tmp_path)
    assert any(":feature-experiment-42" in r and "with the kept tag" in r and "v0.9.0" in r for r in reasons)
    assert any(":latest " in r and "`latest` is never removed" in r for r in reasons)
    assert any(n == "sha-" or n.startswith("sha-") for _, n in planned), "tags on one image go together"


def test_details_are_read_only_for_repositories_with_a_removable_tag(run, env, sim: Simulator, instance: Instance,
                                                                    tmp_path: Path) -> None:
    cycle(run, env, tmp_path, '{older_than: 30d, name: "feature-*"}', apply=False)
    detail_reads = {r.path for r in sim.requests if r.method == "GET" and "/tags/" in r.path
                    and "/registry/" in r.path}
    tag_lists = {r.path for r in sim.requests if r.path.endswith("/tags") and "/registry/" in r.path}
    scoped = [p for p in instance.projects.values() if p.namespace.full_path.startswith("acme") and not p.archived]
    for project in scoped:
        for repo in repositories(project):
            prefix = f"/projects/{project.id}/registry/repositories/{repo.id}/tags"
            reads = {p for p in detail_reads if p.startswith(prefix + "/")}
            if any(name.startswith("feature-") for name in repo.tags):
                # the kept tags' digests matter too: every tag of the repository is read
                assert reads == {f"{prefix}/{name}" for name in repo.tags}
            else:
                assert reads == set(), f"{repo.name or 'root'} of {project.path} has no tag the rule could remove"
            assert (prefix in tag_lists) == bool(repo.tags), "empty repositories are skipped by tags_count"
    report = (tmp_path / "report" / "report.md").read_text()
    assert "registry repository acme/platform/api/cache has no tags" in report


def test_a_change_between_plan_and_apply_is_skipped(run, env, instance: Instance, tmp_path: Path) -> None:
    items, _ = cycle(run, env, tmp_path, "{older_than: 30d, name: {exclude: [\"v*\"]}}", apply=False)
    by_repo: dict[int, list[str]] = {}
    for item in items:
        by_repo.setdefault(item["target"]["repository_id"], []).append(item["target"]["tag_name"])
    repo_id, names = next((r, n) for r, n in by_repo.items() if len(n) >= 2)
    repo = next(r for p in instance.projects.values() for r in repositories(p) if r.id == repo_id)
    moved, shared = names[0], names[-1]
    old = repo.tags[moved]
    repo.tags[moved] = RegistryTag(moved, "sha256:" + "ab" * 32, old.created_at, old.total_size)  # re-pushed
    other = repo.tags[shared]
    repo.tags["keep-me"] = RegistryTag("keep-me", other.digest, other.created_at, other.total_size)  # new tag
    result = run(["apply", tmp_path / "plan.json", "--yes"], env)
    assert result.code == 0, result.err
    assert moved in repo.tags and shared in repo.tags and "keep-me" in repo.tags
    assert "changed since the plan: digest" in result.err
    assert "its image is also tagged keep-me" in result.err


def test_orphaned_means_no_live_branch_or_tag_names_it(run, env, instance: Instance, tmp_path: Path) -> None:
    before = tags(instance)
    items, result = cycle(run, env, tmp_path, "{orphaned: true}")
    assert result.code == 0, result.err
    planned = planned_tags(items)
    assert planned, "tags named after deleted branches are orphaned"
    for project in instance.projects.values():
        repository = project.collections.get("repository")
        if repository is None:
            continue
        refs = set(repository.branches) | set(repository.tags)
        live = refs | {ref_slug(r) for r in refs}
        for repo in repositories(project):
            for name in {n for (r, n) in planned if r == repo.id}:
                assert name not in live
            for name in live & {n for (r, n) in before if r == repo.id}:
                assert (repo.id, name) not in planned and name in repo.tags, f"{name} names a live ref"
    assert ref_slug("feature/Experiment_42") == "feature-experiment-42"
    assert ref_slug("-Docs/Read me!-") == "docs-read-me"
    assert len(ref_slug("x" * 80)) == 63
