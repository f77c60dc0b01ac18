"""`janitor notify`: tell the people of each project what is scheduled for removal, in a GitLab issue.

One open issue per project (or one summary issue in a log project), found again by the first label plus a
hidden marker in its description, updated in place, closed with a comment once nothing is scheduled. Each
write is made only when the rendered issue differs from what GitLab holds, so a second run writes nothing.
A project that refuses (403, issues turned off, gone) is reported and the run goes on.

Roles (doc/user/permissions.md, "Project members permissions", Issues rows): creating an issue with its
labels and assignees, and commenting, take Guest; the author may edit and close their issue; changing the
labels or assignees of an existing issue takes Reporter (Planner on GitLab 17.7+), so Reporter is what the
README asks for. The token needs the `api` scope (read_api cannot write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

from janitor.errors import ApiError, SafetyRefusal
from janitor.gitlab_api import GitLabAPI
from janitor.notify_inputs import Notice, notices
from janitor.notify_render import (
    CLOSING_COMMENT,
    marker,
    project_description,
    summary_description,
    title,
)
from janitor.plan_file import LoadedPlan
from janitor.plan_sections import Assignees, IssueMode, NotifySettings
from janitor.policy.model import path_covers

MAINTAINER = 40  # doc/api/members.md, "Roles": 40 is Maintainer


_HINTS = {403: "the token needs the Reporter role there, and the project's issues turned on",
          404: "the project or the issue is gone, hidden from this token, or the project's issues are off"}


class Outcome(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    """What happened to one project's issue (or the summary issue). `issue` is the rendered issue for a
    create or an update, so a dry run can show what it would post."""

    project: str
    outcome: Outcome
    detail: str = ""
    issue: tuple[str, str] | None = None


@dataclass(frozen=True)
class Wanted:
    title: str
    description: str
    labels: tuple[str, ...]
    assignee_ids: tuple[int, ...] | None  # None: leave assignees alone


def run_notify(plan: LoadedPlan, first_qualified: Mapping[str, datetime], api: GitLabAPI, *, yes: bool,
               on_result: Callable[[Result], None]) -> list[Result]:
    if plan.gitlab_url.rstrip("/") != api.connection.url.rstrip("/"):
        raise SafetyRefusal(f"The plan was made for {plan.gitlab_url}, but GITLAB_URL is {api.connection.url}.",
                            "Notify the GitLab the plan was made for; nothing was posted.")
    api.check_token(needs_write=yes)
    worker = _Notifier(plan, api, yes, on_result)
    by_project = notices(plan, first_qualified)
    settings = plan.sections.notify
    if settings.mode is IssueMode.SUMMARY:
        assert settings.project is not None
        worker.summary(settings.project, [by_project[k] for k in sorted(by_project, key=_path_of(by_project))])
    else:
        worker.per_project(by_project)
    return worker.results


def _path_of(by_project: Mapping[int, Sequence[Notice]]) -> Callable[[int], str]:
    return lambda project_id: by_project[project_id][0].project_path


class _Notifier:
    def __init__(self, plan: LoadedPlan, api: GitLabAPI, yes: bool, on_result: Callable[[Result], None]) -> None:
        self.plan, self.api, self.yes, self.on_result = plan, api, yes, on_result
        self.settings: NotifySettings = plan.sections.notify
        self.results: list[Result] = []

    def _report(self, result: Result) -> None:
        self.results.append(result)
        self.on_result(result)

    # -- the two modes --------------------------------------------------------------------------
    def per_project(self, by_project: Mapping[int, Sequence[Notice]]) -> None:
        open_issues = self._open_issues_everywhere()
        for project_id in sorted(by_project.keys() | open_issues.keys(),
                                 key=lambda p: by_project[p][0].project_path if p in by_project else
                                 _issue_path(open_issues[p][0])):
            found = open_issues.get(project_id, [])
            items = by_project.get(project_id, ())
            name = items[0].project_path if items else _issue_path(found[0])
            self._guarded(name, partial(self._one_project, project_id, name, found, items))

    def _one_project(self, project_id: int, name: str, found: list[dict[str, Any]],
                     items: Sequence[Notice]) -> Result:
        if items:  # whoever opened it (another token's user, a person): the project's own list finds it
            found = self._open_issues_in(project_id, marker(project_id))
        return self._sync(project_id, name, found, items, lambda: self._wanted(
            project_id, title(items), project_description(project_id, items)))

    def _open_issues_in(self, project: int | str, mark: str) -> list[dict[str, Any]]:
        return [i for i in self.api.list("/projects/{project}/issues", {
            "labels": self.settings.labels[0], "state": "opened"}, project=project)
            if mark in (i.get("description") or "")]

    def summary(self, log_project: str, sections: Sequence[Sequence[Notice]]) -> None:
        def work() -> Result:
            found = self._open_issues_in(log_project, marker(None))
            items = [n for section in sections for n in section]
            return self._sync(log_project, log_project, found, items, lambda: self._wanted(
                log_project, title(items), summary_description(sections)))

        self._guarded(log_project, work)

    # -- one project's issue ----------------------------------------------------------------------
    def _guarded(self, name: str, work: Callable[[], Result]) -> None:
        try:
            self._report(work())
        except ApiError as exc:
            # A rejected token (401) or an unreachable GitLab (no status) ends the run: every project would
            # fail the same way. A project's refusal (403, 404, issues off) or failure (5xx, 429 after
            # retries) is that project's, and the run goes on.
            if exc.status in (None, 401):
                raise
            hint = _HINTS.get(exc.status or 0)
            self._report(Result(name, Outcome.FAILED, exc.message + (f" ({hint})" if hint else "")))

    def _sync(self, project: int | str, name: str, found: list[dict[str, Any]], items: Sequence[Notice],
              wanted: Callable[[], Wanted]) -> Result:
        found = sorted(found, key=lambda i: int(i["iid"]))
        if not items:
            for issue in found:
                self._close(project, issue, CLOSING_COMMENT)
            return Result(name, Outcome.CLOSED, ", ".join(str(i.get("web_url")) for i in found))
        want = wanted()
        shown = (want.title, want.description)
        if not found:
            if self.yes:
                created = self.api.post("/projects/{project}/issues", _create_fields(want), project=project)
                return Result(name, Outcome.CREATED, str(created.get("web_url", "")), shown)
            return Result(name, Outcome.CREATED, "", shown)
        keep, duplicates = found[0], found[1:]
        for extra in duplicates:  # never more than one open issue per project
            self._close(project, extra, f"Superseded by #{keep['iid']}, which gitlab-janitor keeps up to date.")
        changes = _changes(keep, want)
        if not changes:
            return Result(name, Outcome.UNCHANGED, str(keep.get("web_url", "")))
        if self.yes:
            self.api.put("/projects/{project}/issues/{iid}", changes, project=project, iid=keep["iid"])
        return Result(name, Outcome.UPDATED, str(keep.get("web_url", "")), shown)

    def _wanted(self, project: int | str, wanted_title: str, description: str) -> Wanted:
        assignees: tuple[int, ...] | None = None
        if self.settings.assignees is Assignees.MAINTAINERS:
            assignees = tuple(sorted({int(m["id"]) for m in self.api.list("/projects/{project}/members/all",
                                                                        project=project)
                                      if m.get("access_level") == MAINTAINER and m.get("state", "active") == "active"}))
        return Wanted(wanted_title, description, self.settings.labels, assignees)

    def _close(self, project: int | str, issue: Mapping[str, Any], comment: str) -> None:
        if not self.yes:
            return
        self.api.post("/projects/{project}/issues/{iid}/notes", {"body": comment}, project=project, iid=issue["iid"])
        self.api.put("/projects/{project}/issues/{iid}", {"state_event": "close"}, project=project, iid=issue["iid"])

    def _open_issues_everywhere(self) -> dict[int, list[dict[str, Any]]]:
        """The open issues this token's user opened, by project: those of projects with nothing scheduled
        any more are to be closed. The first label narrows GitLab's list, the marker decides; `scope=all`
        would list every labelled issue the user can see (all of gitlab.com's public ones). Issues in
        projects outside the plan's scope lock are left alone (another policy's)."""
        found: dict[int, list[dict[str, Any]]] = {}
        for issue in self.api.list("/issues", {"labels": self.settings.labels[0], "state": "opened",
                                               "scope": "created_by_me"}):
            project_id = issue.get("project_id")
            if not isinstance(project_id, int) or marker(project_id) not in (issue.get("description") or ""):
                continue
            lock = self.plan.scope_lock
            if lock and not path_covers(lock.strip("/"), _issue_path(issue)):
                continue
            found.setdefault(project_id, []).append(issue)
        return found


def _issue_path(issue: Mapping[str, Any]) -> str:
    """The project path of an issue, from its full reference ("group/project#12")."""
    full = str((issue.get("references") or {}).get("full") or "")
    return full.rsplit("#", 1)[0] if "#" in full else f"project {issue.get('project_id')}"


def _create_fields(want: Wanted) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": want.title, "description": want.description, "labels": ",".join(want.labels)}
    if want.assignee_ids:
        fields["assignee_ids"] = list(want.assignee_ids)
    return fields


def _changes(issue: Mapping[str, Any], want: Wanted) -> dict[str, Any]:
    """The fields to PUT so the issue says what `want` says; labels and assignees people added stay."""
    changes: dict[str, Any] = {}
    if issue.get("title") != want.title:
        changes["title"] = want.title
    if _normalized(issue.get("description")) != _normalized(want.description):
        changes["description"] = want.description
    labels = set(_names(issue.get("labels")))
    if not set(want.labels) <= labels:
        changes["labels"] = ",".join(sorted(labels | set(want.labels)))
    if want.assignee_ids is not None:
        current = sorted(int(a["id"]) for a in issue.get("assignees") or [] if isinstance(a, dict))
        if current != list(want.assignee_ids):
            changes["assignee_ids"] = list(want.assignee_ids) or [0]  # 0 unassigns all (issues.md, Edit issue)
    return changes


def _normalized(description: Any) -> str:
    # Line endings and trailing blanks may come back other than sent (a browser edit saves CRLF); neither
    # changes what a reader sees, so neither is worth an edit.
    return str(description or "").replace("\r\n", "\n").rstrip()


def _names(labels: Iterable[Any] | None) -> list[str]:
    # with_labels_details=true answers objects; the default answers names
    return [str(label.get("name") if isinstance(label, dict) else label) for label in labels or []]
