"""Protected-branch rules: `delete` removes a rule, not a branch (DELETE /projects/:id/protected_branches/:name,
doc/api/protected_branches.md; the name URL-encoded, wildcards included). Needs the Maintainer role,
to list the rules too: below it GitLab answers 403, no rule can be seen, so none is planned and the
report says why (resources/protections.py).

Rules have no age. `orphaned`: the rule's pattern matches no existing branch (`*` crosses "/", as in
GitLab). Built in: the rule that protects the default branch is never removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.matchers import ref_rule_matches
from janitor.model import Candidate, Json, PlanItem
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.branches import BRANCHES, PROTECTED_BRANCHES, RULES_KEY, RULES_WHAT
from janitor.resources.protections import Unreadable, read_protections, record, recorded

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

RULE = "/projects/{project}/protected_branches/{name}"
PROJECT = "/projects/{project}"


def covers(pattern: str, branch: str) -> bool:
    return ref_rule_matches(pattern, branch)


def fingerprint(rule: Json) -> dict[str, Any]:
    def levels(key: str) -> list[int]:
        return sorted(int(level.get("access_level") or 0) for level in rule.get(key) or [])

    return {"push": levels("push_access_levels"), "merge": levels("merge_access_levels")}


def protection(pattern: str, default: str | None) -> str | None:
    if default and covers(pattern, default):
        return f"protects the default branch {default!r}"
    return None


class ProtectedBranches(ResourceKind):
    name = "protected_branches"
    summary = "protected-branch rules (the rule, not the branch), e.g. ones that match no branch"
    age_field = "none: rules have no date"
    actions = ("delete",)
    delete_role = {"delete": "Maintainer"}  # permissions.md: "Remove protected branches"
    conditions = ("orphaned", "name")
    per: ClassVar[dict[str, PerSpec]] = {"project": PerSpec((), description="the project's rules")}
    default_per = "project"
    inventory_keys = ("_protectedBranches", "_branches")
    protections = ("the rule that protects the default branch",)

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        found: Json = {}
        if RULES_KEY not in project:
            found.update(record(project, RULES_KEY,
                                read_protections(api, PROTECTED_BRANCHES, RULES_WHAT, project=project["id"])))
        if "_branches" not in project:
            found["_branches"] = list(api.list(BRANCHES, project=project["id"]))
        return found

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        default = project.get("default_branch")
        branches = [str(b.get("name")) for b in project.get("_branches") or []]
        rules = recorded(project, RULES_KEY, RULES_WHAT)
        for rule in rules if isinstance(rules, list) else []:
            pattern = str(rule.get("name"))
            orphaned = not any(covers(pattern, b) for b in branches)
            yield Candidate(
                key=f"protected-branch:{pattern}",
                title=f"protected-branch rule {pattern}",
                target={"name": pattern},
                # whether it was orphaned is part of the state it was planned on: apply re-checks it
                fingerprint={**fingerprint(rule), "orphaned": orphaned},
                age_at=None,
                bytes=0,
                attrs={"name": pattern, "orphaned": orphaned},
                protected=protection(pattern, default),
            )

    def notes(self, project: Json) -> list[str]:
        rules = recorded(project, RULES_KEY, RULES_WHAT)
        return [f"{RULES_WHAT} could not be read (403): none can be planned"] if isinstance(rules, Unreadable) else []

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        pattern = str(item.target["name"])
        rule = api.get(RULE, project=item.project_id, name=pattern)  # 404: already gone
        if item.fingerprint.get("orphaned") and not self._still_orphaned(api, item.project_id, pattern):
            raise RecheckFailed("no longer orphaned: a branch it matches exists now, and would lose its protection")
        require_unchanged(item, {**fingerprint(rule), "orphaned": item.fingerprint.get("orphaned")})
        key = ("project", item.project_id)
        if key not in cache:
            cache[key] = api.get(PROJECT, project=item.project_id)
        reason = protection(pattern, cache[key].get("default_branch"))
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    @staticmethod
    def _still_orphaned(api: GitLabAPI, project_id: int, pattern: str) -> bool:
        search = pattern.split("*", 1)[0]  # GitLab's `search=^prefix` narrows the listing to candidates
        names = (str(b.get("name")) for b in api.list(BRANCHES, {"search": f"^{search}"} if search else {},
                                                      project=project_id))
        return not any(covers(pattern, n) for n in names)

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        api.delete(RULE, project=item.project_id, name=item.target["name"])
