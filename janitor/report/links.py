"""Links from report.html to the objects in GitLab, made only from the plan's GitLab URL and the paths, names
and ids of each object, every segment URL-encoded.

Nothing in the inventory is ever used as a URL (GitLab's `web_url` fields included: an inventory is a file
anyone can edit). A link is emitted only when the result stays on the GitLab URL's http(s) origin; otherwise
the object is shown as text.

The web routes are GitLab's own (as in the API's `web_url` / `_links.web_path` fields of
doc/api/branches.md `/-/tree/main`, doc/api/jobs.md `/-/jobs/7`, doc/api/pipelines.md `/-/pipelines/287`,
doc/api/packages.md `/-/packages/1`; and the project pages `/-/tags/<tag>`, `/-/environments/<id>`,
`/-/container_registry/<repository id>`, `/-/settings/repository` for protected branches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_PLAIN_PATH = frozenset(_ALNUM + "-._~/")
_PLAIN_HOST = frozenset(_ALNUM + "-.:[]")  # host, port, IPv6 brackets: no userinfo, no escapes


def _segments(text: str) -> str | None:
    """'feature/x' as 'feature/x', each part percent-encoded ('?', '#', '%', '\\' and all); None when a part
    is empty, '.' or '..', which a browser would resolve into another page rather than keep as a name."""
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return "/".join(quote(p, safe="") for p in parts)


def _positive_id(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None


class Links:
    """`href`s for one GitLab instance, or None for all of them when its URL is not a plain http(s) URL.

    A name GitLab could not hold (an empty, '.' or '..' segment, which a browser would resolve away) or an id
    that is not a positive integer gets the list page of its kind instead: still on the origin, and the page
    keeps the same markup whatever the names are.
    """

    def __init__(self, gitlab_url: Any) -> None:
        self.origin: str | None = None
        self._base = ""
        if not isinstance(gitlab_url, str):
            return
        try:
            parts = urlsplit(gitlab_url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            return
        path = parts.path.rstrip("/")
        if (parts.scheme not in ("http", "https") or not parts.hostname or not set(parts.netloc) <= _PLAIN_HOST
                or not set(path) <= _PLAIN_PATH or (path and _segments(path[1:]) is None)
                or parts.query or parts.fragment):
            return
        self.origin = f"{parts.scheme}://{parts.netloc.lower()}"
        self._base = self.origin + path

    def home(self) -> str | None:
        return None if self.origin is None else self._base + "/"

    def project(self, path: Any) -> str | None:
        if self.origin is None:
            return None
        encoded = _segments(path) if isinstance(path, str) else None
        return self._base + "/" if encoded is None else f"{self._base}/{encoded}"

    def item(self, project_path: Any, resource: Any, target: Any) -> str | None:
        """The page of a plan item in GitLab, from its `target` (the ids apply acts on)."""
        project = self.project(project_path)
        if project is None or not isinstance(target, Mapping):
            return None
        if resource == "protected_branches":
            return f"{project}/-/settings/repository"
        route, listing, key = _ROUTES.get(str(resource), (None, None, None))
        if route is None or listing is None or key is None:
            return project
        value = target.get(key)
        tail = _segments(value) if isinstance(value, str) else str(value) if _positive_id(value) else None
        return f"{project}/-/{listing}" if tail is None else f"{project}/-/{route}/{tail}"

    def kept(self, project_path: Any, resource: Any, title: Any) -> str | None:
        """Kept objects carry no ids, only their title; branches and tags are named by it ('branch x')."""
        prefix = {"branches": "branch ", "tags": "tag "}.get(str(resource))
        if prefix is None or not isinstance(title, str) or not title.startswith(prefix):
            return None
        return self.item(project_path, resource, {_ROUTES[str(resource)][2]: title[len(prefix):]})


# kind -> (the object's route, the list page when the object cannot be named safely, its key in `target`)
_ROUTES: dict[str, tuple[str, str, str]] = {
    "branches": ("tree", "branches", "branch"),
    "tags": ("tags", "tags", "tag"),
    "job_artifacts": ("jobs", "jobs", "job_id"),
    "pipelines": ("pipelines", "pipelines", "pipeline_id"),
    "packages": ("packages", "packages", "package_id"),
    "container_tags": ("container_registry", "container_registry", "repository_id"),
    "environments": ("environments", "environments", "environment_id"),
}
