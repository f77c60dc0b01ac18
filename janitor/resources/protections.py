"""Reading the data that protects a kind's objects, and what it means when GitLab will not give it.

Protected branches, protected environments, package protection rules: each kind reads its protection
data through `read_protections`, and every kind follows one rule about the answer.

- 200: the data protects what it says.
- 403 for want of a role (`AuthError.missing_role`): the data exists, this token cannot see it. Everything
  that data could protect is KEPT, with the reason "<what> could not be read (403)". A plan must never list
  an object that unseen data protects: the reviewer approves the plan, not apply's re-check.
- 404 for the route itself, GitLab's bare "404 Not Found" (lib/api/api.rb answers a route it does not have
  with it: this tier or version lacks the feature, e.g. package protection rules before 17.6, protected
  environments outside Premium): the feature protects nothing here.
- 404 for the project ("404 Project Not Found", `NotFound.missing`) or a 403 for a missing token scope: an
  error like any other read, so the project is marked incomplete and nothing in it is planned.

What "everything that data could protect" is, each kind says: an object that carries GitLab's own verdict
(a branch's `protected` flag, computed from every rule) needs no rules to be judged. Environments keep
their production tier whenever the protected environments are unknown, 404 included.

collect records which case happened in the inventory (`PROTECTION_READS`), so plan decides offline what
collect saw; apply's re-check reads through `read_protections` again and follows the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from janitor.errors import AuthError, NotFound
from janitor.model import Json

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

# inventory key: {protection data key ("_packageProtectionRules" ...): "403" | "404"}
PROTECTION_READS = "_protectionReads"
UNREADABLE, FEATURE_MISSING = "403", "404"


@dataclass(frozen=True)
class Unreadable:
    """GitLab answered 403: the data exists and this token's role cannot read it."""

    what: str

    @property
    def reason(self) -> str:
        return f"{self.what} could not be read (403): the token's role cannot see them, so anything they " \
               "could protect is kept"


@dataclass(frozen=True)
class FeatureMissing:
    """GitLab has no such route (a bare 404): this tier or version lacks the feature."""

    what: str


Protections = list[Json] | Unreadable | FeatureMissing


def read_protections(api: GitLabAPI, template: str, what: str, **path: Any) -> Protections:
    """Every row of the protection listing at `template`, or which of the rule's cases applies."""
    try:
        return list(api.list(template, **path))
    except NotFound as exc:
        if exc.missing is not None:
            raise  # the project (or its group) is gone or hidden: not a statement about the feature
        return FeatureMissing(what)
    except AuthError as exc:
        if not exc.missing_role:
            raise
        return Unreadable(what)


def record(project: Json, key: str, read: Protections) -> Json:
    """The inventory keys that store `read` under `key`: the rows, or None and the case in PROTECTION_READS
    (merged with what earlier kinds recorded for this project)."""
    reads = dict(project.get(PROTECTION_READS) or {})
    if isinstance(read, list):
        reads.pop(key, None)
        found: Json = {key: read}
    else:
        reads[key] = UNREADABLE if isinstance(read, Unreadable) else FEATURE_MISSING
        found = {key: None}
    if reads or PROTECTION_READS in project:
        found[PROTECTION_READS] = reads
    return found


def recorded(project: Json, key: str, what: str) -> Protections | None:
    """What collect read for `key`; None when the inventory does not say (made by other tooling, or
    before this was recorded): each kind keeps its own handling of that case."""
    case = (project.get(PROTECTION_READS) or {}).get(key)
    if case == UNREADABLE:
        return Unreadable(what)
    if case == FEATURE_MISSING:
        return FeatureMissing(what)
    rows = project.get(key)
    return list(rows) if isinstance(rows, list) else None
