"""The simulator's data model: compact records that are rendered to GitLab JSON only when served.

A million jobs must fit in well under 1.5 GB, so records use slots, times are integer epoch
milliseconds, and anything derivable (durations, URLs, the artifacts list) is computed at render time.
Later resource families (branches, tags, registries ...) hang their own records off
`Project.collections` without changing this module.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Job and pipeline statuses as GitLab names them (doc/api/jobs.md, doc/api/pipelines.md).
FINISHED_STATUSES = frozenset({"success", "failed", "canceled", "skipped"})
JOB_SCOPES = frozenset(
    {"created", "pending", "running", "failed", "success", "canceled", "skipped",
     "waiting_for_resource", "manual"}
)


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as GitLab's UTC timestamp format, e.g. 2015-12-24T15:51:21.880Z."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    name: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class Token:
    """A personal access token. `access_level` is the role the user has on every project of an instance
    that declares no memberships (`Instance.add_member`); once it declares any, only those count."""

    name: str
    secret: str
    user: User
    scopes: tuple[str, ...]
    access_level: int
    id: int

    def can_write(self) -> bool:
        return "api" in self.scopes

    @property
    def admin_mode(self) -> bool:
        return "admin_mode" in self.scopes


ROOT = User(1, "root", "Administrator", True)
READER = User(2, "janitor-reader", "Janitor Reader", False)
DEVELOPER = User(3, "dev", "Dee Veloper", False)
MAINTAINER_USER = User(4, "maint", "Mae Ntainer", False)
REPORTER_USER = User(5, "rep", "Rae Porter", False)

MAINTAINER, OWNER, DEVELOPER_ROLE, REPORTER = 40, 50, 30, 20

# Public test strings, not secrets: the simulator only ever listens on loopback.
TOKENS: dict[str, str] = {
    "admin": "glpat-sim-admin-api",
    "read": "glpat-sim-read-api",
    "developer": "glpat-sim-developer-api",
    "maintainer": "glpat-sim-maintainer-api",
    "reporter": "glpat-sim-reporter-api",
    "admin-mode": "glpat-sim-admin-mode",
}
TOKEN_RECORDS: dict[str, Token] = {
    TOKENS["admin"]: Token("admin", TOKENS["admin"], ROOT, ("api",), OWNER, 101),
    TOKENS["read"]: Token("read", TOKENS["read"], READER, ("read_api",), REPORTER, 102),
    TOKENS["developer"]: Token("developer", TOKENS["developer"], DEVELOPER, ("api",), DEVELOPER_ROLE, 103),
    TOKENS["maintainer"]: Token("maintainer", TOKENS["maintainer"], MAINTAINER_USER, ("api",), MAINTAINER, 104),
    TOKENS["reporter"]: Token("reporter", TOKENS["reporter"], REPORTER_USER, ("api",), REPORTER, 105),
    TOKENS["admin-mode"]: Token("admin-mode", TOKENS["admin-mode"], ROOT, ("api", "admin_mode"), OWNER, 106),
}
USERS: dict[int, User] = {record.user.id: record.user for record in TOKEN_RECORDS.values()}
# The role each user has everywhere in an instance that declares no memberships.
DEFAULT_LEVELS: dict[int, int] = {record.user.id: record.access_level for record in TOKEN_RECORDS.values()}


@dataclass(slots=True, eq=False)
class Group:
    id: int
    name: str
    path: str
    full_path: str
    parent: Group | None
    created_at: int
    description: str = ""

    @property
    def full_name(self) -> str:
        return self.full_path.replace("/", " / ")


# Every change to a job or a pipeline takes the next number: a cached rendering of a job (routes/jobs.py) is
# current exactly while the job's and its pipeline's numbers are the ones it was rendered at. The count is
# one C call, atomic under the GIL; a value set again also takes a new number (a harmless re-render).
_EDITS = itertools.count(1)


def _set_and_count(self: Any, name: str, value: Any) -> None:
    object.__setattr__(self, name, value)
    object.__setattr__(self, "edit", next(_EDITS))


@dataclass(slots=True, eq=False)
class Pipeline:
    id: int
    iid: int
    project_id: int
    ref: str
    tag: bool
    sha: str
    before_sha: str
    status: str
    source: str
    created_at: int
    updated_at: int
    started_at: int | None
    finished_at: int | None
    jobs: list[Job] = field(default_factory=list)
    edit: int = field(default=0, init=False, repr=False)  # see _EDITS

    __setattr__ = _set_and_count


@dataclass(slots=True, eq=False)
class Job:
    """One CI job. Artifact sizes of 0 mean "absent"; metadata exists exactly when the archive does."""

    id: int
    pipeline: Pipeline
    name: str
    stage: str
    status: str
    created_at: int
    started_at: int | None
    finished_at: int | None
    archive_size: int
    metadata_size: int
    trace_size: int
    junit_size: int
    expire_at: int | None
    erased_at: int | None = None
    # The files inside the artifacts archive, by path, for the jobs a test gives real files
    # (GET /projects/:id/jobs/:job_id/artifacts/*artifact_path); None for the generated millions.
    archive_files: dict[str, bytes] | None = None
    edit: int = field(default=0, init=False, repr=False)  # see _EDITS

    __setattr__ = _set_and_count

    @property
    def artifacts_size(self) -> int:
        return self.archive_size + self.metadata_size + self.trace_size + self.junit_size

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(slots=True, eq=False)
class Note:
    id: int
    body: str
    author: User
    created_at: int
    system: bool = False


@dataclass(slots=True, eq=False)
class Issue:
    """A project issue (doc/api/issues.md). Labels are kept sorted, as GitLab lists them by title."""

    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    author: User
    created_at: int
    updated_at: int
    labels: list[str] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    state: str = "opened"
    closed_at: int | None = None
    closed_by: User | None = None
    notes: list[Note] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Project:
    id: int
    name: str
    path: str
    namespace: Group
    created_at: int
    last_activity_at: int
    description: str
    archived: bool
    repository_size: int
    commit_count: int
    default_branch: str = "main"
    job_artifacts_size: int = 0
    # the upstream's id when this project is a fork (GET /projects/:id `forked_from_project`)
    forked_from_id: int | None = None
    # "enabled", "private" or "disabled" (doc/api/projects.md, issues_access_level); disabled answers 403
    issues_access_level: str = "enabled"
    issues: list[Issue] = field(default_factory=list)  # ascending iid
    pipelines: list[Pipeline] = field(default_factory=list)  # ascending id
    jobs: list[Job] = field(default_factory=list)  # ascending id
    # Room for later resource families: "branches", "tags", "releases", ... -> their records.
    collections: dict[str, Any] = field(default_factory=dict)

    @property
    def path_with_namespace(self) -> str:
        return f"{self.namespace.full_path}/{self.path}"

    @property
    def name_with_namespace(self) -> str:
        return f"{self.namespace.full_name} / {self.name}"


@dataclass(slots=True, eq=False)
class Instance:
    """Everything the simulated GitLab knows. Mutated in place by DELETE/POST under `lock`."""

    now: int
    seed: int
    groups: dict[int, Group] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)  # insertion order = ascending id
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    groups_by_path: dict[str, Group] = field(default_factory=dict)
    projects_by_path: dict[str, Project] = field(default_factory=dict)
    # Memberships: ("project" | "group", source id, user id) -> access level (doc/api/members.md).
    members: dict[tuple[str, int, int], int] = field(default_factory=dict)
    # Projects shared with a group: project id -> [(group id, the share's maximum access level)].
    shares: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # Admin Mode (doc/administration/settings/sign_in_restrictions.md): an administrator's token acts as
    # an administrator only with the admin_mode scope.
    admin_mode: bool = False
    forks: dict[int, list[int]] = field(default_factory=dict)  # upstream id -> its forks' ids
    # The last id given out per record family created over the API ("issue", "note"): ids are instance-wide.
    last_ids: dict[str, int] = field(default_factory=dict)

    def new_id(self, family: str) -> int:
        self.last_ids[family] = self.last_ids.get(family, 0) + 1
        return self.last_ids[family]
    # Rendered JSON bytes of jobs (routes/jobs.py): job id -> (the job's state and the page's host and
    # project path it was rendered with, bytes).
    rendered_jobs: dict[int, tuple[int, int, tuple[str, str], bytes]] = field(default_factory=dict)

    def add_group(self, group: Group) -> None:
        self.groups[group.id] = group
        self.groups_by_path[group.full_path] = group

    def add_project(self, project: Project) -> None:
        self.projects[project.id] = project
        self.projects_by_path[project.path_with_namespace] = project
        if project.forked_from_id is not None:
            self.forks.setdefault(project.forked_from_id, []).append(project.id)

    def add_pipeline(self, project: Project, pipeline: Pipeline) -> None:
        project.pipelines.append(pipeline)
        self.pipelines[pipeline.id] = pipeline
        for job in pipeline.jobs:
            project.jobs.append(job)
            self.jobs[job.id] = job
            project.job_artifacts_size += job.artifacts_size

    def project(self, ref: str) -> Project | None:
        """A project by numeric id or full path (already URL-decoded)."""
        if ref.isdigit():
            return self.projects.get(int(ref))
        return self.projects_by_path.get(ref)

    def group(self, ref: str) -> Group | None:
        if ref.isdigit():
            return self.groups.get(int(ref))
        return self.groups_by_path.get(ref)

    def add_member(self, source: Project | Group, user: User, level: int) -> None:
        kind = "project" if isinstance(source, Project) else "group"
        self.members[(kind, source.id, user.id)] = level

    def share(self, project: Project, group: Group, max_level: int) -> None:
        self.shares.setdefault(project.id, []).append((group.id, max_level))

    def acts_as_admin(self, token: Token) -> bool:
        return token.user.is_admin and (not self.admin_mode or token.admin_mode)

    def _group_level(self, user: User, group: Group | None) -> int:
        best = 0
        while group is not None:  # a group's members are members of every subgroup and project below it
            best = max(best, self.members.get(("group", group.id, user.id), 0))
            group = group.parent
        return best

    def role(self, user: User, project: Project) -> int:
        """The user's effective access level in the project (0: none), as GitLab's members/all reports
        it: the highest of the direct, inherited (ancestor groups) and shared-group memberships, a share
        capped at its maximum level. Administrators are not members; see `acts_as_admin`."""
        if not self.members:
            return DEFAULT_LEVELS.get(user.id, 0)
        levels = [self.members.get(("project", project.id, user.id), 0), self._group_level(user, project.namespace)]
        for group_id, cap in self.shares.get(project.id, []):
            levels.append(min(cap, self._group_level(user, self.groups.get(group_id))))
        return max(levels)

    def descendants(self, group: Group) -> list[Group]:
        prefix = group.full_path + "/"
        return [g for g in self.groups.values() if g.full_path.startswith(prefix)]

    def delete_job_artifacts(self, job: Job, keep_trace: bool) -> None:
        project = self.projects[job.pipeline.project_id]
        before = job.artifacts_size
        job.archive_size = job.metadata_size = job.junit_size = 0
        job.archive_files = None
        if not keep_trace:
            job.trace_size = 0
        project.job_artifacts_size -= before - job.artifacts_size

    def delete_pipeline(self, pipeline: Pipeline) -> None:
        project = self.projects[pipeline.project_id]
        gone = {job.id for job in pipeline.jobs}
        for job in pipeline.jobs:
            project.job_artifacts_size -= job.artifacts_size
            del self.jobs[job.id]
        project.jobs = [job for job in project.jobs if job.id not in gone]
        project.pipelines.remove(pipeline)
        del self.pipelines[pipeline.id]

    def page_count(self, path: str, per_page: int = 100, **filters: Any) -> int:
        """How many pages a GET listing of `path` needs at `per_page` (at least 1).

        Filters are query parameters; a list value becomes a repeated `name[]` parameter.
        """
        from janitor.simulator.routes import count_rows  # the routes import this module

        query: dict[str, list[str]] = {}
        for key, value in filters.items():
            if isinstance(value, (list, tuple)):
                query[f"{key}[]"] = [str(v) for v in value]
            elif isinstance(value, bool):
                query[key] = ["true" if value else "false"]
            else:
                query[key] = [str(value)]
        rows = count_rows(self, path, query)
        per_page = max(1, min(per_page, 100))
        return max(1, -(-rows // per_page))
