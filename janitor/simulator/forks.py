"""Forks and the merge requests they propose into their upstream.

GitLab keeps a fork's MR in the project it targets (doc/api/merge_requests.md, "List project merge
requests": `project_id` and `target_project_id` are the upstream, `source_project_id` the fork), so the
branch it protects lives in one project and the MR is listed by another.
"""

from __future__ import annotations

from janitor.simulator.repo_state import Branch, MergeRequest, repository
from janitor.simulator.state import Instance, Project

DAY_MS = 86_400_000


def fork_project(instance: Instance, upstream: Project, namespace: str, path: str | None = None,
                 branches: tuple[str, ...] | None = None) -> Project:
    """A fork of `upstream` in the group `namespace`, holding copies of the named upstream branches
    (all of them by default), as a fork starts with its upstream's refs."""
    group = instance.groups_by_path[namespace]
    project_id = max(instance.projects, default=0) + 1
    fork = Project(
        id=project_id, name=(path or upstream.path).replace("-", " ").title(), path=path or upstream.path,
        namespace=group, created_at=instance.now - 30 * DAY_MS, last_activity_at=instance.now - 30 * DAY_MS,
        description=f"Fork of {upstream.path_with_namespace}", archived=False,
        repository_size=upstream.repository_size, commit_count=upstream.commit_count,
        default_branch=upstream.default_branch, forked_from_id=upstream.id,
    )
    instance.add_project(fork)
    source = repository(upstream).branches
    names = source if branches is None else [n for n in branches if n in source]
    mine = repository(fork)
    for name in names:
        branch = source[name]
        mine.branches[name] = Branch(name, branch.sha, branch.committed_at, branch.merged)
    return fork


def add_branch(project: Project, name: str, sha: str, committed_at: int, merged: bool = False) -> Branch:
    branch = repository(project).branches[name] = Branch(name, sha, committed_at, merged)
    return branch


def open_fork_mr(instance: Instance, fork: Project, branch: str, state: str = "opened",
                 into: Project | None = None) -> MergeRequest:
    """An MR from `fork`'s `branch` into its upstream (or `into`), stored where GitLab lists it."""
    target = into or instance.projects[fork.forked_from_id or fork.id]
    repo = repository(target)
    iid = max((mr.iid for mr in repo.merge_requests), default=0) + 1
    head = repository(fork).branches.get(branch)
    sha = head.sha if head else "0" * 40
    at = head.committed_at if head else instance.now
    mr = MergeRequest(target.id * 1000 + iid, iid, target.id, f"From {fork.path_with_namespace}: {branch}",
                      branch, target.default_branch, state, sha, at, at, source_project_id=fork.id)
    repo.merge_requests.append(mr)
    return mr
