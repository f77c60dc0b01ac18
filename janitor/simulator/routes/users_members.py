"""Who the token is and what it may do: effective membership (direct, inherited from ancestor groups, or
through a group the project is shared with) and one administrator-only endpoint, which is how a client can
tell whether an administrator's token acts as one (Admin Mode needs the admin_mode scope)."""

from __future__ import annotations

from typing import Any

from janitor.simulator.routing import Context, Response, forbidden, not_found, route
from janitor.simulator.state import USERS, User, iso

_LEVEL_NAMES = {5: "Minimal Access", 10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer",
                40: "Maintainer", 50: "Owner"}


def render_member(user: User, level: int, base_url: str, created_ms: int) -> dict[str, Any]:
    # doc/api/members.md, "Get a member of a group or project, including inherited and invited members"
    return {
        "id": user.id, "username": user.username, "name": user.name, "state": "active",
        "avatar_url": None, "web_url": f"{base_url}/{user.username}",
        "access_level": level, "email": f"{user.username}@example.com", "created_at": iso(created_ms),
        "expires_at": None, "group_saml_identity": None,
    }


@route("GET", "/projects/:id/members/all/:user_id")
def project_member_all(ctx: Context) -> Response:
    project = ctx.project()
    user = USERS.get(int(ctx.params["user_id"])) if ctx.params["user_id"].isdigit() else None
    level = ctx.instance.role(user, project) if user else 0
    if user is None or level <= 0:
        # lib/api/members.rb: not_found!('Member') for a user with no membership, administrators included
        raise not_found("Member")
    return Response(body=render_member(user, level, ctx.base_url, project.created_at))


@route("GET", "/application/statistics")
def application_statistics(ctx: Context) -> Response:
    # doc/api/statistics.md: administrators only. With Admin Mode on, an administrator's token without
    # the admin_mode scope is refused like anyone else's (403).
    if not ctx.is_admin():
        raise forbidden()
    instance = ctx.instance
    counts = {"forks": 0, "issues": 0, "merge_requests": 0, "notes": 0, "snippets": 0, "ssh_keys": 0,
              "milestones": 0, "users": len(USERS), "groups": len(instance.groups),
              "projects": len(instance.projects), "active_users": len(USERS)}
    return Response(body={key: str(value) for key, value in counts.items()})
