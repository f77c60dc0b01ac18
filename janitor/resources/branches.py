"""Branches: `delete` removes a branch (DELETE /projects/:id/repository/branches/:branch,
doc/api/branches.md). GitLab lets a Maintainer delete a protected branch through the API, so the
protections below are ours to enforce, at plan time and again just before deleting.

Age is the last commit's committed_date. Built in: the default branch, protected branches (the branch's
own `protected` flag, which GitLab computes from every rule, and the project's rules matched here the
way GitLab matches them, `*` crossing "/"), and the source branch of an open merge request. The branch an
MR protects lives in its `source_project_id`: for a fork's MR that is the fork, while GitLab lists the MR on
the upstream (its `project_id`), so a fork's branches are checked against the upstream's MR list too.

Reading protection rules needs the Maintainer role (ProtectedBranchPolicy). Below it GitLab answers 403
and the rule of resources/protections.py applies: what the rules could protect is kept. That is no branch
GitLab listed, as each carries its own `protected` flag, computed from every rule (group-level ones too);
only a branch without the flag (an inventory made by other tooling) is kept for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.errors import AuthError, NotFound
from janitor.matchers import ref_rule_matches
from janitor.model import Candidate, Json, PlanItem, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.protections import Protections, Unreadable, read_protections, record, recorded

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

BRANCHES = "/projects/{project}/repository/branches"
BRANCH = "/projects/{project}/repository/branches/{branch}"
PROTECTED_BRANCHES = "/projects/{project}/protected_branches"
MERGE_REQUESTS = "/projects/{project}/merge_requests"
RULES_KEY = "_protectedBranches"
RULES_WHAT = "protected branch rules"


def matching_rule(name: str, rules: list[Json]) -> str | None:
    """The protected-branch rule that covers `name` (exact, or a wildcard where `*` matches anything)."""
    for rule in rules:
        pattern = str(rule.get("name"))
        if ref_rule_matches(pattern, name):
            return pattern
    return None


def protection(branch: Json, default: str | None, rules: Protections | None, open_mrs: Mapping[str, str],
               unknown: str | None = None) -> str | None:
    """Why the branch must stay, or None. `open_mrs` maps the names of branches that are an open MR's
    source to how that reads; `unknown` is set when some MRs that could use the branch were unreadable."""
    name = str(branch.get("name"))
    if branch.get("default") or name == default:
        return "the project's default branch"
    rule = matching_rule(name, rules if isinstance(rules, list) else [])
    if rule is not None:
        return f"protected branch (rule {rule!r})"
    if branch.get("protected"):
        return "protected branch"
    if isinstance(rules, Unreadable) and "protected" not in branch:
        return rules.reason
    if name in open_mrs:
        return open_mrs[name]
    if unknown:
        return unknown
    return None


OWN_MR = "source branch of an open merge request"


def _mr_ref(mr: Json) -> str:
    full = (mr.get("references") or {}).get("full")
    return str(full) if full else f"!{mr.get('iid')} of project {mr.get('project_id')}"


def open_mr_sources(project_id: Any, own: Iterable[Json], elsewhere: Iterable[Json]) -> dict[str, str]:
    """Branch name -> reason, for the open MRs whose source branch lives in this project.

    `own` are the MRs that target the project: those from a fork are about the fork's branch of that
    name, not ours, and are left out. `elsewhere` are MRs into other projects (a fork's into its upstream)
    whose `source_project_id` is this project."""
    found: dict[str, str] = {}
    for mr in own:
        # an MR that does not say where its source is (other tooling's inventory) counts as ours
        if mr.get("state", "opened") == "opened" and mr.get("source_project_id") in (None, project_id):
            found.setdefault(str(mr.get("source_branch")), OWN_MR)
    for mr in elsewhere:
        if mr.get("state", "opened") == "opened" and mr.get("source_project_id") == project_id:
            found.setdefault(str(mr.get("source_branch")),
                             f"source branch of an open merge request into another project ({_mr_ref(mr)})")
    return found


def upstream_id(project: Json) -> int | None:
    upstream = (project.get("forked_from_project") or {}).get("id")
    return int(upstream) if isinstance(upstream, int) else None


def fingerprint(branch: Json) -> dict[str, Any]:
    return {"commit": (branch.get("commit") or {}).get("id")}


class Branches(ResourceKind):
    name = "branches"
    summary = "branches (merged, stale, ...), never the default, protected or open-MR ones"
    age_field = "the last commit's committed_date"
    actions = ("delete",)
    delete_role = {"delete": "Developer"}  # doc/user/permissions.md: "Remove non-protected branches"
    conditions = ("older_than", "name", "merged", "has_open_mr")
    per: ClassVar[dict[str, PerSpec]] = {
        "project": PerSpec((), description="the N most recently committed branches of the project"),
    }
    default_per = "project"
    inventory_keys = ("_branches",)
    needs_merge_requests = True
    protections = ("the default branch", "protected branches (flag and rules, wildcards included)",
                   "source branches of open merge requests (a fork's into its upstream included)")

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        found: Json = {}
        if "_branches" not in project:
            found["_branches"] = list(api.list(BRANCHES, project=project["id"]))
        if RULES_KEY not in project:
            found.update(record(project, RULES_KEY,
                                read_protections(api, PROTECTED_BRANCHES, RULES_WHAT, project=project["id"])))
        return found

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        default = project.get("default_branch")
        rules = recorded(project, RULES_KEY, RULES_WHAT)
        open_mrs = open_mr_sources(project.get("id"), project.get("_mrs") or [],
                                   [*(project.get("_sourceMrs") or []), *(project.get("_forkMrs") or [])])
        upstream = upstream_id(project)
        unknown = None
        if project.get("_forkMrsUnknown"):
            # fail closed: any branch of the fork could be the source of an MR we could not see
            unknown = f"a fork whose merge requests into its upstream are unknown: {project['_forkMrsUnknown']}"
        for branch in project.get("_branches") or []:
            name = str(branch.get("name"))
            commit = branch.get("commit") or {}
            target: Json = {"branch": name}
            if upstream is not None:
                target["upstream_id"] = upstream  # apply re-checks the upstream's MRs from this fork
            yield Candidate(
                key=f"branch:{name}",
                title=f"branch {name}",
                target=target,
                fingerprint=fingerprint(branch),
                age_at=parse_time(commit.get("committed_date") or commit.get("created_at")),
                bytes=0,
                attrs={"name": name, "merged": branch.get("merged"), "has_open_mr": name in open_mrs},
                protected=protection(branch, default, rules, open_mrs, unknown),
            )

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        name = str(item.target["branch"])
        branch = api.get(BRANCH, project=item.project_id, branch=name)  # 404: already gone
        require_unchanged(item, fingerprint(branch))
        key = ("protected-branches", item.project_id)
        if key not in cache:
            # GET branch above carries `protected`, so unreadable rules leave nothing unjudged
            cache[key] = read_protections(api, PROTECTED_BRANCHES, RULES_WHAT, project=item.project_id)
        # `source_project_id` narrows on the server (lib/api/helpers/merge_requests_helpers.rb), and the
        # rows are checked again: a fork's MR into this project with the same branch name is not ours.
        wanted = {"state": "opened", "source_branch": name, "source_project_id": item.project_id}
        own = list(api.list(MERGE_REQUESTS, wanted, project=item.project_id))
        elsewhere: list[Json] = []
        upstream = item.target.get("upstream_id")
        if upstream is not None:
            try:
                elsewhere = list(api.list(MERGE_REQUESTS, wanted, project=upstream))
            except (NotFound, AuthError) as exc:
                if isinstance(exc, AuthError) and not exc.missing_role:
                    raise
                raise RecheckFailed(f"its upstream's merge requests cannot be read now ({exc.message})") from None
        reason = protection(branch, None, cache[key], open_mr_sources(item.project_id, own, elsewhere))
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        api.delete(BRANCH, project=item.project_id, branch=item.target["branch"])
