"""Project merge requests and releases (doc/api/merge_requests.md, doc/api/releases/_index.md; shapes in
tests/fixtures/gitlab/merge_requests_list.json and releases_list.json)."""

from __future__ import annotations

from typing import Any

from janitor.simulator.repo_state import MergeRequest, Release, repository
from janitor.simulator.routes.repository import render_commit
from janitor.simulator.routing import ApiError, Context, Listing, route
from janitor.simulator.state import Project, iso

_STATES = ("opened", "closed", "locked", "merged", "all")


def _user(ctx: Context) -> dict[str, Any]:
    return {"id": 1, "name": "Administrator", "username": "root", "state": "active", "locked": False,
            "avatar_url": None, "web_url": f"{ctx.base_url}/root"}


def _milestone(project: Project, ctx: Context) -> dict[str, Any]:
    at = iso(project.created_at)
    return {"id": project.id, "iid": 1, "project_id": project.id, "title": "Backlog", "description": "",
            "state": "active", "created_at": at, "updated_at": at,
            "due_date": at[:10] if at else None, "start_date": at[:10] if at else None,
            "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/milestones/1"}


def render_merge_request(mr: MergeRequest, project: Project, ctx: Context) -> dict[str, Any]:
    merged = mr.state == "merged"
    closed = mr.state == "closed"
    path = project.path_with_namespace
    return {
        "id": mr.id, "iid": mr.iid, "project_id": mr.project_id, "title": mr.title,
        "description": f"Changes from {mr.source_branch}", "state": mr.state, "imported": False,
        "imported_from": "none", "merged_by": _user(ctx) if merged else None,
        "merge_user": _user(ctx) if merged else None, "merged_at": iso(mr.updated_at) if merged else None,
        "merge_after": iso(mr.created_at), "prepared_at": iso(mr.created_at + 60_000),
        "closed_by": _user(ctx) if closed else None, "closed_at": iso(mr.updated_at) if closed else None,
        "created_at": iso(mr.created_at), "updated_at": iso(mr.updated_at),
        "target_branch": mr.target_branch, "source_branch": mr.source_branch, "upvotes": 0, "downvotes": 0,
        "author": _user(ctx), "assignee": _user(ctx), "assignees": [_user(ctx)], "reviewers": [_user(ctx)],
        "source_project_id": mr.source_project, "target_project_id": mr.project_id, "labels": [],
        "draft": mr.title.startswith("Draft:"), "work_in_progress": mr.title.startswith("Draft:"),
        "milestone": _milestone(project, ctx), "merge_when_pipeline_succeeds": False,
        "merge_status": "can_be_merged", "detailed_merge_status": "mergeable" if mr.state == "opened" else "not_open",
        "sha": mr.sha, "merge_commit_sha": None, "squash_commit_sha": None, "user_notes_count": 0,
        "discussion_locked": None, "should_remove_source_branch": True, "force_remove_source_branch": False,
        "web_url": f"{ctx.base_url}/{path}/-/merge_requests/{mr.iid}", "reference": f"!{mr.iid}",
        "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{path}!{mr.iid}"},
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                       "human_total_time_spent": None},
        "squash": False, "squash_on_merge": False, "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": False, "blocking_discussions_resolved": True, "approvals_before_merge": 0,
    }


@route("GET", "/projects/:id/merge_requests")
def list_merge_requests(ctx: Context) -> Listing:
    project = ctx.project()
    state = ctx.arg("state") or "all"
    if state not in _STATES:
        raise ApiError(400, {"error": "state does not have a valid value"})
    rows = repository(project).merge_requests
    if state != "all":
        rows = [mr for mr in rows if mr.state == state]
    for name in ("source_branch", "target_branch"):
        wanted = ctx.arg(name)
        if wanted:
            rows = [mr for mr in rows if getattr(mr, name) == wanted]
    # `source_project_id` (integer): lib/api/helpers/merge_requests_helpers.rb merge_requests_base_params;
    # a fork's MRs into its upstream are listed on the upstream, this picks the fork's.
    source = ctx.arg("source_project_id")
    if source is not None:
        if not source.isdigit():
            raise ApiError(400, {"error": "source_project_id is invalid"})
        rows = [mr for mr in rows if mr.source_project == int(source)]
    # default order: created_at desc (merge_requests.md)
    rows = sorted(rows, key=lambda mr: (mr.created_at, mr.id), reverse=(ctx.arg("sort") or "desc") == "desc")
    return Listing(rows, lambda mr: render_merge_request(mr, project, ctx))


def render_release(release: Release, project: Project, ctx: Context) -> dict[str, Any]:
    repo = repository(project)
    tag = repo.tags.get(release.tag_name)
    base = f"{ctx.base_url}/{project.path_with_namespace}"
    sha = tag.sha if tag else "0" * 40
    commit = render_commit(project, sha, tag.committed_at if tag else release.created_at,
                           f"Prepare {release.tag_name}", ctx)
    for key in ("trailers", "extended_trailers", "web_url"):
        commit.pop(key)
    archive = f"{base}/-/archive/{release.tag_name}/{project.path}-{release.tag_name}"
    query = f"release_tag={release.tag_name}&scope=all"
    return {
        "tag_name": release.tag_name, "description": f"Release notes for {release.name}",
        "name": release.name, "created_at": iso(release.created_at), "released_at": iso(release.created_at),
        "author": _user(ctx), "commit": commit, "milestones": [], "commit_path": f"/{project.path_with_namespace}"
        f"/-/commit/{sha}", "tag_path": f"/{project.path_with_namespace}/-/tags/{release.tag_name}",
        "assets": {"count": 4, "sources": [{"format": f, "url": f"{archive}.{f}"}
                                           for f in ("zip", "tar.gz", "tar.bz2", "tar")],
                   "links": [], "evidence_file_path": f"{base}/-/releases/{release.tag_name}/evidence.json"},
        "evidences": [{"sha": sha[:44], "filepath": f"{base}/-/releases/{release.tag_name}/evidence.json",
                       "collected_at": iso(release.created_at)}],
        "upcoming_release": False,
        "_links": {
            "closed_issues_url": f"{base}/-/issues?{query}&state=closed",
            "closed_merge_requests_url": f"{base}/-/merge_requests?{query}&state=closed",
            "edit_url": f"{base}/-/releases/{release.tag_name}/edit",
            "merged_merge_requests_url": f"{base}/-/merge_requests?{query}&state=merged",
            "opened_issues_url": f"{base}/-/issues?{query}&state=opened",
            "opened_merge_requests_url": f"{base}/-/merge_requests?{query}&state=opened",
            "self": f"{base}/-/releases/{release.tag_name}",
        },
    }


@route("GET", "/projects/:id/releases")
def list_releases(ctx: Context) -> Listing:
    project = ctx.project()
    # default order: released_at desc (releases/_index.md)
    rows = sorted(repository(project).releases.values(), key=lambda r: r.created_at, reverse=True)
    return Listing(rows, lambda r: render_release(r, project, ctx))
