"""Instance-level endpoints: /version, /user, /personal_access_tokens/self."""

from __future__ import annotations

from janitor.simulator.routing import Context, Response, route
from janitor.simulator.state import User, iso

VERSION = "17.11.0"
REVISION = "5a6d1cb2e1f"
TOKEN_CREATED_MS = 1_704_067_200_000  # 2024-01-01


def render_user(user: User, base_url: str) -> dict[str, object]:
    # doc/api/users.md, "List current user (for admins)": the example with is_admin
    # (tests/fixtures/gitlab/user_current_admin.json)
    created = iso(TOKEN_CREATED_MS)
    return {
        "id": user.id, "username": user.username, "email": f"{user.username}@example.com", "name": user.name,
        "state": "active", "locked": False, "avatar_url": None, "web_url": f"{base_url}/{user.username}",
        "created_at": created, "is_admin": user.is_admin, "bio": "", "bio_html": "", "location": "",
        "public_email": "", "skype": "", "linkedin": "", "twitter": "", "website_url": "", "organization": "",
        "job_title": "", "last_sign_in_at": created, "confirmed_at": created, "theme_id": 1,
        "last_activity_on": (created or "")[:10], "color_scheme_id": 1, "projects_limit": 100,
        "current_sign_in_at": created, "identities": [], "can_create_group": True, "can_create_project": True,
        "two_factor_enabled": False, "external": False, "private_profile": False, "bot": False,
        "current_sign_in_ip": "127.0.0.1", "last_sign_in_ip": "127.0.0.1",
    }


@route("GET", "/version")
def version(ctx: Context) -> Response:
    # doc/api/version.md: {"version": ..., "revision": ...}
    return Response(body={"version": VERSION, "revision": REVISION})


@route("GET", "/user")
def current_user(ctx: Context) -> Response:
    return Response(body=render_user(ctx.token.user, ctx.base_url))


@route("GET", "/personal_access_tokens/self")
def token_self(ctx: Context) -> Response:
    # doc/api/personal_access_tokens.md, "Get details on a personal access token" (self)
    token = ctx.token
    return Response(body={
        "id": token.id,
        "name": f"janitor-sim-{token.name}",
        "revoked": False,
        "created_at": iso(TOKEN_CREATED_MS),
        "description": "gitlab-janitor simulator token",
        "scopes": list(token.scopes),
        "user_id": token.user.id,
        "last_used_at": iso(ctx.instance.now),
        "active": True,
        "expires_at": None,
    })
