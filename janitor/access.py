"""The gate before apply writes anything: is each project the one the plan names, inside the scope, and may
this token carry out each item there?

A plan names a project twice: by id (what apply acts on) and by path (what every scope check reads). An
inventory from other tooling can pair another group's id with a path inside the locked group, so before any
write apply reads `GET /projects/:id` once per project and requires GitLab's own `path_with_namespace` to be
the plan's path (ignoring case: GitLab paths are case-insensitive) and inside `--scope` and the plan's scope.

The token's user is read once (`GET /user`) and its effective role per project with
`GET /projects/:id/members/all/:user_id` (doc/api/members.md: the highest of direct, inherited and
shared-group memberships; `permissions` in `GET /projects/:id` misses the last). Each kind declares the role
its delete endpoint needs (`ResourceKind.delete_role`, cited there). GitLab documents these levels in
doc/api/members.md, "Valid access levels".

Administrators are not members, and pass. With Admin Mode on, GitLab grants an administrator's token its
powers only with the `admin_mode` scope (doc/user/profile/personal_access_tokens.md, "Personal access token
scopes"). The token's scopes come from `GET /personal_access_tokens/self`; when `admin_mode` is not among
them, an administrator-only endpoint (`GET /application/statistics`, doc/api/statistics.md) tells whether
the powers work anyway (Admin Mode off), and otherwise the token counts with its user's memberships only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from janitor.errors import AuthError, NotFound, SafetyRefusal
from janitor.gitlab_api import GitLabAPI, Json
from janitor.model import PlanItem
from janitor.policy.model import path_covers
from janitor.resources import KINDS

ROLE_LEVELS: Mapping[str, int] = {"Guest": 10, "Reporter": 20, "Developer": 30, "Maintainer": 40, "Owner": 50}
ADMIN_LEVEL = 60  # above every role: what an administrator (in effect) may do
# Enough to overlap the reads' latency without crowding the deletes that follow.
MAX_READS_IN_FLIGHT = 8


def role_name(level: int | None) -> str:
    """'Developer' for 30; 'no role' for a non-member or Minimal Access (5)."""
    names = [name for name, value in ROLE_LEVELS.items() if level is not None and value <= level]
    return names[-1] if names else "no role"


@dataclass(frozen=True)
class TokenUser:
    id: int
    username: str
    admin: bool  # an administrator whose powers work through this token
    note: str = ""  # said along with every role refusal (an administrator without admin_mode ...)


@dataclass(frozen=True)
class ProjectAccess:
    """What apply may do in one project. `refused` blocks every item in it; `level` is the token's role."""

    project_id: int
    gitlab_path: str | None
    level: int
    refused: str | None = None


@dataclass(frozen=True)
class Gate:
    user: TokenUser
    projects: Mapping[int, ProjectAccess]

    def refusal(self, item: PlanItem) -> str | None:
        """Why `item` must not be written, or None."""
        access = self.projects[item.project_id]
        if access.refused:
            return access.refused
        if (access.gitlab_path or "").lower() != item.project_path.lower():
            return (f"the plan names project {item.project_id} {item.project_path}, but GitLab's project "
                    f"{item.project_id} is {access.gitlab_path}: nothing is written there")
        needed = KINDS[item.resource].delete_role.get(item.action)
        if needed is None or needed not in ROLE_LEVELS:
            return f"janitor does not know which role GitLab needs to {item.action} {item.resource}"
        if access.level < ROLE_LEVELS[needed]:
            return f"needs {needed}, the token has {role_name(access.level)}{self.user.note}"
        return None

    def nothing_writable(self, refusals: Mapping[str, str]) -> SafetyRefusal:
        reasons = sorted(set(refusals.values()))
        shown = "; ".join(reasons[:5]) + (f"; and {len(reasons) - 5} more" if len(reasons) > 5 else "")
        return SafetyRefusal(
            f"This token may write none of the plan's {len(refusals)} remaining items: {shown}.",
            "Run apply with a token whose role is high enough in these projects (or an administrator's with "
            "the admin_mode scope), or plan again from an inventory of the right projects. Nothing was "
            "deleted.",
        )


def read_token_user(api: GitLabAPI, token_info: Json) -> TokenUser:
    me = api.get("/user")
    user_id, username = int(me.get("id") or 0), str(me.get("username") or "")
    if not me.get("is_admin"):
        return TokenUser(user_id, username, admin=False)
    scopes = token_info.get("scopes")
    if isinstance(scopes, list) and "admin_mode" in scopes:
        return TokenUser(user_id, username, admin=True)
    try:
        api.get("/application/statistics", retries=2)
    except AuthError as exc:
        if not exc.missing_role:
            raise
        return TokenUser(user_id, username, admin=False, note=(
            f" ({username} is an administrator, but GitLab's Admin Mode is on and the token lacks the "
            "admin_mode scope)"))
    return TokenUser(user_id, username, admin=True)


def gate_projects(api: GitLabAPI, items: Iterable[PlanItem], scopes: Sequence[str | None],
                  token_info: Json, concurrency: int = MAX_READS_IN_FLIGHT) -> Gate:
    """Read the token's user, then each project of `items` and the token's role in it, concurrently."""
    user = read_token_user(api, token_info)
    locks = [scope.strip("/") for scope in scopes if scope and scope.strip("/")]
    ids = sorted({item.project_id for item in items})

    def one(project_id: int) -> ProjectAccess:
        return _project_access(api, project_id, user, locks)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, MAX_READS_IN_FLIGHT)),
                            thread_name_prefix="gate") as pool:
        found = dict(zip(ids, pool.map(one, ids), strict=True))
    return Gate(user, found)


def _project_access(api: GitLabAPI, project_id: int, user: TokenUser, locks: Sequence[str]) -> ProjectAccess:
    try:
        project = api.get("/projects/{project}", project=project_id)
    except NotFound:
        return ProjectAccess(project_id, None, 0, f"GitLab has no project {project_id} that this token can see")
    path = str(project.get("path_with_namespace") or "")
    outside = [lock for lock in locks if not path_covers(lock.lower(), path.lower())]
    if outside:
        return ProjectAccess(project_id, path, 0, f"GitLab's project {project_id} is {path}, outside the "
                                                  f"scope {outside[0]}: nothing is written there")
    if user.admin:
        return ProjectAccess(project_id, path, ADMIN_LEVEL)
    try:
        member = api.get("/projects/{project}/members/all/{user}", project=project_id, user=user.id)
    except NotFound:  # not a member, directly or through any group
        return ProjectAccess(project_id, path, 0)
    except AuthError as exc:
        if not exc.missing_role:
            raise
        return ProjectAccess(project_id, path, 0, "the token's role in the project could not be read (403)")
    return ProjectAccess(project_id, path, int(member.get("access_level") or 0))
