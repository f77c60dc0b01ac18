"""Issues and their notes (doc/api/issues.md, doc/api/notes.md; shapes in tests/fixtures/gitlab/issue*.json),
and the project's member list that says who its maintainers are (doc/api/members.md).

Roles (doc/user/permissions.md, "Project members permissions", Issues rows): a Guest creates issues, with
labels and assignees ("Set metadata ... when creating an issue"), and comments; editing the metadata of an
existing issue, and editing or closing someone else's, take Reporter. An author below Reporter may still edit
and close their own issue; the labels and assignees they send are dropped silently, as GitLab's
IssuableBaseService#filter_params drops what the user may not admin.

With the project's issues turned off (`issues_access_level: disabled`) no one may read or create issues
there. lib/api/issues.rb shows how that reaches the API: creating and editing `authorize!` the ability
(403 Forbidden); the project's list goes through IssuesFinder, which leaves out what the user may not
read (200 and no issues); one issue, and its notes, are looked up with `find_by!` through that finder
(404 Not found). A project the token cannot see answers 404 Project Not Found, as everywhere.
"""

from __future__ import annotations

from typing import Any

from janitor.simulator.routes.users_members import render_member
from janitor.simulator.routing import ApiError, Context, Listing, Response, bad_request, forbidden, not_found, route
from janitor.simulator.state import REPORTER, USERS, Issue, Note, Project, User, iso

GUEST = 10  # doc/api/members.md, "Roles"
_STATES = ("opened", "closed", "all")
_SCOPES = ("created_by_me", "assigned_to_me", "all")
_AT_LEAST_ONE_OF = ("title", "description", "assignee_ids", "assignee_id", "milestone_id", "discussion_locked",
                    "labels", "created_at", "due_date", "confidential", "state_event")
_EDITABLE = ("title", "description", "labels", "add_labels", "remove_labels", "assignee_ids", "state_event")


def _user(user: User, ctx: Context) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "username": user.username, "state": "active", "locked": False,
            "avatar_url": None, "web_url": f"{ctx.base_url}/{user.username}"}


def render_issue(issue: Issue, project: Project, ctx: Context) -> dict[str, Any]:
    path = project.path_with_namespace
    api = f"{ctx.base_url}/api/v4/projects/{project.id}"
    assignees = [_user(u, ctx) for u in issue.assignees]
    return {
        "id": issue.id, "iid": issue.iid, "project_id": issue.project_id, "title": issue.title,
        "description": issue.description, "state": issue.state, "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at), "closed_at": iso(issue.closed_at),
        "closed_by": _user(issue.closed_by, ctx) if issue.closed_by else None, "labels": list(issue.labels),
        "milestone": None, "author": _user(issue.author, ctx), "assignees": assignees,
        "assignee": assignees[0] if assignees else None, "type": "ISSUE", "issue_type": "issue",
        "upvotes": 0, "downvotes": 0, "merge_requests_count": 0, "moved_to_id": None,
        "user_notes_count": sum(1 for n in issue.notes if not n.system), "due_date": None,
        "subscribed": True, "web_url": f"{ctx.base_url}/{path}/-/issues/{issue.iid}",
        "references": {"short": f"#{issue.iid}", "relative": f"#{issue.iid}", "full": f"{path}#{issue.iid}"},
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None,
                       "human_total_time_spent": None},
        "has_tasks": False, "task_status": "0 of 0 checklist items completed", "confidential": False,
        "discussion_locked": False, "imported": False, "imported_from": "none", "severity": "UNKNOWN",
        "_links": {"self": f"{api}/issues/{issue.iid}", "notes": f"{api}/issues/{issue.iid}/notes",
                   "award_emoji": f"{api}/issues/{issue.iid}/award_emoji", "project": api,
                   "closed_as_duplicate_of": None},
        "task_completion_status": {"count": 0, "completed_count": 0},
    }


def render_note(note: Note, issue: Issue, ctx: Context) -> dict[str, Any]:
    author = {**_user(note.author, ctx), "email": f"{note.author.username}@example.com",
              "created_at": iso(ctx.instance.now)}
    return {"id": note.id, "type": None, "body": note.body, "attachment": None, "author": author,
            "created_at": iso(note.created_at), "updated_at": iso(note.created_at), "system": note.system,
            "noteable_id": issue.id, "noteable_type": "Issue", "project_id": issue.project_id,
            "noteable_iid": issue.iid, "resolvable": False, "confidential": False, "internal": False,
            "imported": False, "imported_from": "none"}


def _project(ctx: Context, writing: bool = False) -> Project:
    """The request's project: unseen -> 404; a write where issues are off -> 403 (reads see no issues)."""
    project = ctx.project()
    role = ctx.role()
    if role <= 0:
        raise not_found("Project")
    if writing and (_issues_off(project) or role < GUEST):
        raise forbidden()
    return project


def _issues_off(project: Project) -> bool:
    return project.issues_access_level == "disabled"


def _issue(ctx: Context, project: Project) -> Issue:
    wanted = ctx.params["issue_iid"]
    for issue in [] if _issues_off(project) else project.issues:
        if wanted.isdigit() and issue.iid == int(wanted):
            return issue
    # `find_by!` raises RecordNotFound, which the API answers with this body (lib/api/api.rb rescue_from)
    raise ApiError(404, {"message": "404 Not found"})


def _labels(text: str) -> list[str]:
    # "Comma-separated label names" (issues.md); GitLab strips blanks and keeps each label once
    return sorted({part.strip() for part in text.split(",") if part.strip()})


def _assignees(ctx: Context) -> list[User]:
    ids = [v for value in ctx.many("assignee_ids") for v in value.split(",")]
    users = []
    for raw in ids:
        if not raw.strip().lstrip("-").isdigit():
            raise ApiError(400, {"error": "assignee_ids is invalid"})
        user = USERS.get(int(raw))
        if user is not None and user not in users:  # 0 means "nobody"; unknown ids are ignored
            users.append(user)
    return users


def _filtered(rows: list[Issue], ctx: Context) -> list[Issue]:
    state = ctx.arg("state") or "all"
    if state not in _STATES:
        raise ApiError(400, {"error": "state does not have a valid value"})
    if state != "all":
        rows = [i for i in rows if i.state == state]
    labels = ctx.arg("labels")
    if labels:
        if labels.lower() == "none":
            rows = [i for i in rows if not i.labels]
        elif labels.lower() == "any":
            rows = [i for i in rows if i.labels]
        else:  # "issues must have all labels to be returned"
            wanted = set(_labels(labels))
            rows = [i for i in rows if wanted <= set(i.labels)]
    search = (ctx.arg("search") or "").lower()
    if search:
        fields = (ctx.arg("in") or "title,description").split(",")
        rows = [i for i in rows if any(search in (getattr(i, f, None) or "").lower() for f in fields
                                       if f in ("title", "description"))]
    iids = {int(v) for v in ctx.many("iids") if v.isdigit()}
    if iids:
        rows = [i for i in rows if i.iid in iids]
    # default order: created_at desc
    return sorted(rows, key=lambda i: (i.created_at, i.id), reverse=(ctx.arg("sort") or "desc") == "desc")


@route("GET", "/projects/:id/issues")
def list_issues(ctx: Context) -> Listing:
    project = _project(ctx)
    rows = [] if _issues_off(project) else project.issues
    return Listing(_filtered(rows, ctx), lambda i: render_issue(i, project, ctx))


@route("GET", "/issues")
def list_all_issues(ctx: Context) -> Listing:
    scope = ctx.arg("scope") or "created_by_me"
    if scope not in _SCOPES:
        raise ApiError(400, {"error": "scope does not have a valid value"})
    user = ctx.token.user
    visible = [p for p in ctx.instance.projects.values() if p.issues_access_level != "disabled"
               and (ctx.is_admin() or ctx.instance.role(user, p) > 0)]
    rows = [i for p in visible for i in p.issues]
    if scope == "created_by_me":
        rows = [i for i in rows if i.author.id == user.id]
    elif scope == "assigned_to_me":
        rows = [i for i in rows if any(a.id == user.id for a in i.assignees)]
    projects = ctx.instance.projects
    return Listing(_filtered(rows, ctx), lambda i: render_issue(i, projects[i.project_id], ctx))


@route("GET", "/projects/:id/issues/:issue_iid")
def get_issue(ctx: Context) -> Response:
    project = _project(ctx)
    return Response(body=render_issue(_issue(ctx, project), project, ctx))


@route("POST", "/projects/:id/issues")
def create_issue(ctx: Context) -> Response:
    project = _project(ctx, writing=True)
    title = ctx.arg("title")
    if not title:
        raise ApiError(400, {"error": "title is missing"})
    now = ctx.instance.now
    issue = Issue(id=ctx.instance.new_id("issue"), iid=len(project.issues) + 1, project_id=project.id,
                  title=title, description=ctx.arg("description"), author=ctx.token.user, created_at=now,
                  updated_at=now,
                  labels=_labels(ctx.arg("labels") or ""), assignees=_assignees(ctx))
    project.issues.append(issue)
    return Response(201, render_issue(issue, project, ctx))


@route("PUT", "/projects/:id/issues/:issue_iid")
def edit_issue(ctx: Context) -> Response:
    project = _project(ctx, writing=True)
    issue = _issue(ctx, project)
    if ctx.role() < REPORTER and issue.author.id != ctx.token.user.id:
        raise forbidden()
    if not any(ctx.query.get(name) or ctx.query.get(f"{name}[]") for name in _EDITABLE):
        # Grape's at_least_one_of (lib/api/issues.rb, "Update an existing issue")
        raise ApiError(400, {"error": f"{', '.join(_AT_LEAST_ONE_OF)} are missing, at least one parameter must "
                                      "be provided"})
    event = ctx.arg("state_event")
    if event is not None and event not in ("close", "reopen"):
        raise ApiError(400, {"error": "state_event does not have a valid value"})
    if ctx.arg("title") is not None:
        if not ctx.arg("title"):
            raise bad_request("title is empty")
        issue.title = ctx.arg("title") or issue.title
    if ctx.arg("description") is not None:
        issue.description = ctx.arg("description")
    if ctx.role() >= REPORTER:
        _edit_metadata(ctx, issue)
    now = ctx.instance.now
    if event == "close" and issue.state == "opened":
        issue.state, issue.closed_at, issue.closed_by = "closed", now, ctx.token.user
        issue.notes.append(Note(ctx.instance.new_id("note"), "closed", ctx.token.user, now, system=True))
    elif event == "reopen" and issue.state == "closed":
        issue.state, issue.closed_at, issue.closed_by = "opened", None, None
        issue.notes.append(Note(ctx.instance.new_id("note"), "reopened", ctx.token.user, now, system=True))
    issue.updated_at = now
    return Response(200, render_issue(issue, project, ctx))


def _edit_metadata(ctx: Context, issue: Issue) -> None:
    if ctx.arg("labels") is not None:
        issue.labels = _labels(ctx.arg("labels") or "")
    if ctx.arg("add_labels"):
        issue.labels = sorted(set(issue.labels) | set(_labels(ctx.arg("add_labels") or "")))
    if ctx.arg("remove_labels"):
        issue.labels = sorted(set(issue.labels) - set(_labels(ctx.arg("remove_labels") or "")))
    if ctx.query.get("assignee_ids") is not None or ctx.query.get("assignee_ids[]") is not None:
        issue.assignees = _assignees(ctx)


@route("GET", "/projects/:id/issues/:issue_iid/notes")
def list_notes(ctx: Context) -> Listing:
    project = _project(ctx)
    issue = _issue(ctx, project)
    # default order: created_at desc (notes.md)
    rows = sorted(issue.notes, key=lambda n: n.id, reverse=(ctx.arg("sort") or "desc") == "desc")
    return Listing(rows, lambda n: render_note(n, issue, ctx))


@route("POST", "/projects/:id/issues/:issue_iid/notes")
def create_note(ctx: Context) -> Response:
    project = _project(ctx)
    issue = _issue(ctx, project)
    body = ctx.arg("body")
    if not body:
        raise ApiError(400, {"error": "body is missing"})
    note = Note(ctx.instance.new_id("note"), body, ctx.token.user, ctx.instance.now)
    issue.notes.append(note)
    return Response(201, render_note(note, issue, ctx))


@route("GET", "/projects/:id/members/all")
def list_members_all(ctx: Context) -> Listing:
    # doc/api/members.md "List all members of a group or project including inherited and invited members"
    project = ctx.project()
    if ctx.role() <= 0:
        raise not_found("Project")
    rows = [(user, level) for user in USERS.values()
            if (level := ctx.instance.role(user, project)) > 0]
    return Listing(rows, lambda row: render_member(row[0], row[1], ctx.base_url, project.created_at))
