"""Emulating an older GitLab release: `Simulator(..., gitlab_version="16.0")`, `janitor simulator
--gitlab-version 16.0`.

The newest behaviour is the simulator's default. An older release differs, for what gitlab-janitor uses, in
three ways, each taken from GitLab's docs or code:

- routes it does not have yet answer like any unknown route, `404 {"error": "404 Not Found"}` (Grape's
  catch-all in lib/api/api.rb; doc/api/rest/troubleshooting.md);
- listings without keyset pagination yet answer `pagination=keyset` with "Keyset pagination is not yet
  available for this type of request": 405 (lib/api/helpers/pagination_strategies.rb), 501 in GitLab's first
  keyset code (lib/api/helpers/pagination.rb of the 13.x line);
- `GET /version` names the release.

A feature behind a flag can also be switched off (`features_off`), as an administrator can: "jobs_keyset"
makes the project jobs listing refuse keyset pagination on any release, and its offset pages stop at the
instance's offset limit, as for every type that has keyset pagination (pagination_strategies.rb).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from janitor.simulator.registry_records import PACKAGE_RULES
from janitor.simulator.routing import ApiError, resolve
from janitor.simulator.state import Instance

# route (method, template) -> the release that added it, with GitLab's source
ROUTES_ADDED: dict[tuple[str, str], tuple[tuple[int, int], str]] = {
    ("GET", "/projects/:id/packages/protection/rules"):
        ((17, 1), "doc/api/project_packages_protection_rules.md: introduced in 17.1 (flag), GA in 17.6"),
}
# listing template -> the release whose API first answers it with keyset pages
KEYSET_ADDED: dict[str, tuple[tuple[int, int], str]] = {
    "/projects/:id/jobs": ((15, 9), "doc/api/jobs.md and doc/api/rest/_index.md: keyset for project jobs, 15.9"),
}
# GitLab's first keyset helper answered 501, lib/api/helpers/pagination_strategies.rb answers 405. The release
# that switched is not pinned down here: an estimate, far below the 16.0 the CLI supports, so that the client's
# handling of 501 can be exercised.
KEYSET_REFUSED_WITH_501_BEFORE = (13, 6)
KEYSET_REFUSAL = "Keyset pagination is not yet available for this type of request"
FEATURES = frozenset({"jobs_keyset"})
_RELEASE = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?")


@dataclass(frozen=True, order=True)
class Release:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Release:
        found = _RELEASE.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"{text!r} is not a GitLab release such as 16.0 or 17.11.2")
        return cls(int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))

    def before(self, release: tuple[int, int]) -> bool:
        return (self.major, self.minor) < release

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


class Emulation:
    """What the simulated release answers differently; None release: the newest (no differences)."""

    def __init__(self, release: Release | None = None, features_off: Iterable[str] = ()) -> None:
        off = frozenset(features_off)
        unknown = off - FEATURES
        if unknown:
            raise ValueError(f"unknown feature(s) {sorted(unknown)}; known: {sorted(FEATURES)}")
        self.release = release
        self.features_off = off

    @property
    def version(self) -> str | None:
        return None if self.release is None else str(self.release)

    def prepare(self, instance: Instance) -> None:
        """Data a release without the feature cannot hold: no package protection rules before 17.1."""
        if self.release is not None and self.release.before(ROUTES_ADDED[
                ("GET", "/projects/:id/packages/protection/rules")][0]):
            for project in instance.projects.values():
                project.collections.pop(PACKAGE_RULES, None)

    def refusal(self, method: str, raw_path: str, query: dict[str, list[str]]) -> ApiError | None:
        """The older release's answer to this request, when it differs from the newest's."""
        found = resolve(method, raw_path)
        if found is None:
            return None
        template = found[0].template
        release = self.release
        added = ROUTES_ADDED.get((method, template))
        if release is not None and added is not None and release.before(added[0]):
            return ApiError(404, {"error": "404 Not Found"})
        if method != "GET" or (query.get("pagination") or [""])[-1] != "keyset":
            return None
        keyset = KEYSET_ADDED.get(template)
        no_keyset = release is not None and keyset is not None and release.before(keyset[0])
        if template == "/projects/:id/jobs" and "jobs_keyset" in self.features_off:
            no_keyset = True
        if not no_keyset:
            return None
        status = 501 if release is not None and release.before(KEYSET_REFUSED_WITH_501_BEFORE) else 405
        return ApiError(status, {"error": KEYSET_REFUSAL})

    def offset_limited(self, method: str, raw_path: str) -> str | None:
        """The type name GitLab caps offset pages for on this listing, beyond what the route itself says."""
        if "jobs_keyset" in self.features_off and method == "GET":
            found = resolve(method, raw_path)
            if found is not None and found[0].template == "/projects/:id/jobs":
                return "Ci::Build"
        return None

    def version_body(self, body: Any) -> Any:
        if self.release is None or not isinstance(body, dict):
            return body
        return {**body, "version": str(self.release)}
