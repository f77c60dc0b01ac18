"""What several kinds need at collect time: the policy's rules as they apply to one project (so a kind
can skip reading details no rule could use), and the project's live branch and tag names (for `orphaned`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from janitor.matchers import NameMatcher
from janitor.model import Json
from janitor.resources.base import CollectContext

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI
    from janitor.policy.model import EffectiveRule

BRANCHES = "/projects/{project}/repository/branches"
GIT_TAGS = "/projects/{project}/repository/tags"
_SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def ref_slug(ref: str) -> str:
    """CI_COMMIT_REF_SLUG as doc/ci/variables/predefined_variables.md defines it: "CI_COMMIT_REF_NAME in
    lowercase, shortened to 63 bytes, and with everything except 0-9 and a-z replaced with -. No leading /
    trailing -." (lib/gitlab/utils.rb `slugify` replaces per character, then cuts, then strips.)"""
    return "".join(c if c in _SLUG_CHARS else "-" for c in ref.lower())[:63].strip("-")


def rules_for(ctx: CollectContext, kind: str, project: Json) -> list[EffectiveRule] | None:
    """The kind's rules as they apply to this project (overrides merged); None when collect has no policy."""
    if ctx.policy is None:
        return None
    path = str(project.get("path_with_namespace") or "")
    found = (ctx.policy.effective(rule, path) for rule in ctx.policy.rules if rule.resource == kind)
    return [rule for rule in found if rule is not None]


def name_may_be_removed(rules: list[EffectiveRule] | None, name: str) -> bool:
    """False when no rule in effect could remove an object of this name, whatever else is true of it."""
    if rules is None:
        return True
    for effective in rules:
        if effective.keep_names and effective.keep_names.explain(name) is None:
            continue
        spec = effective.rule.match.get("name")
        if spec is None or NameMatcher.from_policy(spec).explain(name) is None:
            return True
    return False


def uses(rules: list[EffectiveRule] | None, condition: str) -> bool:
    return rules is None or any(condition in r.rule.match for r in rules)


def list_refs(api: GitLabAPI, project: Json) -> Json:
    """`_branches` and `_tags` (GitLab objects) for `orphaned`, unless another kind already listed them."""
    found: Json = {}
    if "_branches" not in project:
        found["_branches"] = list(api.list(BRANCHES, project=project["id"]))
    if "_tags" not in project:
        found["_tags"] = list(api.list(GIT_TAGS, project=project["id"]))
    return found


def live_refs(project: Json) -> set[str] | None:
    """Names and CI slugs of the project's branches and tags; None when the inventory lacks them."""
    if "_branches" not in project or "_tags" not in project:
        return None
    names = {str(r.get("name")) for r in (project.get("_branches") or []) + (project.get("_tags") or [])}
    return names | {ref_slug(n) for n in names}
