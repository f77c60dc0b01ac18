"""The toolkit route modules are written with: a path-template registry, the request context,
the error type and the two kinds of result (a finished response, or a listing the server paginates).

A route module declares handlers with `@route("GET", "/projects/:id/jobs")`; the server never
needs to know which families exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from janitor.simulator.state import MAINTAINER, OWNER, Group, Instance, Project, Token

JSON = Any


class ApiError(Exception):
    """An error answer. `body` is JSON, or plain text when it is a str and `text` is true."""

    def __init__(self, status: int, body: JSON, text: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.text = text


def not_found(what: str | None = None) -> ApiError:
    # lib/api/helpers.rb not_found!(resource) -> "404 <Resource> Not Found" (errors.md)
    return ApiError(404, {"message": f"404 {what} Not Found" if what else "404 Not Found"})


def forbidden(reason: str | None = None) -> ApiError:
    # lib/api/helpers.rb forbidden!(reason) (errors.md)
    return ApiError(403, {"message": f"403 Forbidden - {reason}" if reason else "403 Forbidden"})


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"message": f"400 Bad request - {message}"})


class FileBody(bytes):
    """A body served as a file (application/octet-stream), not JSON: plain bytes are pre-rendered JSON pages."""


@dataclass(slots=True)
class Response:
    status: int = 200
    body: JSON = None  # None -> no body (204)


@dataclass(slots=True)
class Keyset:
    """How a listing supports `pagination=keyset`.

    `style` "id" puts `id_after`/`id_before` in the next link (projects, doc/api/rest/_index.md);
    "cursor" puts an opaque `cursor` (project jobs). `key` gives an item's id.
    """

    style: str
    key: Callable[[Any], int]
    descending: bool


@dataclass(slots=True)
class Listing:
    """A collection the server paginates; items are rendered only for the page served."""

    items: Sequence[Any]
    render: Callable[[Any], JSON]
    keyset: Keyset | None = None
    # Set when offset pagination is capped for this type (doc/api/rest/_index.md, "max offset").
    offset_limit_type: str | None = None
    # The items' JSON bytes, when the route keeps them cached: the page is then served as their join.
    encode: Callable[[Sequence[Any]], list[bytes]] | None = None


@dataclass(slots=True)
class Context:
    instance: Instance
    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    token: Token
    base_url: str  # scheme://host[:port], from the request's Host header

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        if value is None or value == "":
            return None
        return value.lower() in ("true", "1", "yes", "t")

    def many(self, name: str) -> list[str]:
        """A parameter given as `name`, `name[]`, or repeated."""
        return [v for key in (name, f"{name}[]") for v in self.query.get(key, []) if v]

    def project(self) -> Project:
        found = self.instance.project(self.params["id"])
        if found is None:
            raise not_found("Project")
        return found

    def group(self) -> Group:
        found = self.instance.group(self.params["id"])
        if found is None:
            raise not_found("Group")
        return found

    def is_admin(self) -> bool:
        return self.instance.acts_as_admin(self.token)

    def role(self) -> int:
        """The token's access level in the request's project; administrators (in effect) count above Owner."""
        return 60 if self.is_admin() else self.instance.role(self.token.user, self.project())

    def require_role(self, level: int = MAINTAINER) -> None:
        if self.role() >= level:
            return
        raise forbidden()

    def require_owner(self) -> None:
        self.require_role(OWNER)


Handler = Callable[[Context], "Response | Listing"]


@dataclass(slots=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []

_RESOLVED: dict[tuple[str, str], tuple[Route, dict[str, str]] | None] = {}
_RESOLVED_MAX = 20_000  # paths remembered at most; past it the memo starts afresh


def _compile(template: str) -> re.Pattern[str]:
    # ":id" segments match one path segment; the server matches against the still-encoded
    # path, so "acme%2Fplatform%2Fapi" stays one segment as in GitLab.
    parts = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", template)
    # "*name" is Grape's wildcard: the rest of the path, slashes included (`*artifact_path`).
    parts = re.sub(r"\*(\w+)", r"(?P<\1>.+)", parts)
    return re.compile(f"^{parts}$")


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, template, _compile(template), handler))
        _RESOLVED.clear()  # a path remembered as unknown may be this route's
        return handler

    return register


def resolve(method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route a request goes to and its path parameters, URL-decoded. Each request resolves its path
    twice (the version emulation, then dispatch) against every registered pattern in turn, so answers are
    remembered until a route is registered."""
    key = (method, raw_path)
    if key in _RESOLVED:
        found = _RESOLVED[key]
    else:
        found = None
        for candidate in ROUTES:
            if candidate.method != method:
                continue
            matched = candidate.pattern.match(raw_path)
            if matched:
                found = candidate, {k: unquote(v) for k, v in matched.groupdict().items()}
                break
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        _RESOLVED[key] = found
    return None if found is None else (found[0], dict(found[1]))
