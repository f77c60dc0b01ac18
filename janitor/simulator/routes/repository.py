"""Branches, tags, protected branches and protected tags (doc/api/branches.md, tags.md,
protected_branches.md, protected_tags.md; shapes in tests/fixtures/gitlab/*branch*, *tag*).

What each DELETE refuses, and how (tests/fixtures/gitlab/errors.md):
- a branch or tag that does not exist: 404 `{"message": "404 Branch Not Found"}` / `"404 Tag Not Found"`;
- the default branch: refused by GitLab's ref checks (Gitlab::Checks::BranchCheck, "The default branch
  of a project cannot be deleted."), which Branches::DeleteService turns into a 400 with that message;
- a protected branch: a Maintainer may delete it through the API (API deletions count as the web
  interface); below Maintainer it is refused with BranchCheck's message. The exact status is not
  documented; we answer 403 (Forbidden plus the reason), as for any other refusal of a role;
- a protected tag: Tags::DestroyService refuses users who are not allowed to create it ("You don't have
  access to delete the tag"; the rule's create level, Maintainers by default); same 403 choice;
- deleting a tag also deletes its release (Tags::DestroyService destroys the tag's releases).
Protection rules are deleted with 204 (protected_branches.md); an unknown one is 404.
"""

from __future__ import annotations

from typing import Any

from janitor.simulator.repo_state import Branch, ProtectionRule, Repository, Tag, repository
from janitor.simulator.routing import ApiError, Context, Listing, Response, forbidden, not_found, route
from janitor.simulator.state import DEVELOPER_ROLE, MAINTAINER, Project, iso

_LEVELS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}


def render_commit(project: Project, sha: str, at: int, title: str, ctx: Context) -> dict[str, Any]:
    when = iso(at)
    return {
        "id": sha, "short_id": sha[:8], "created_at": when, "parent_ids": [f"{int(sha, 16) ^ 1:040x}"],
        "title": title, "message": title, "author_name": "Administrator", "author_email": "admin@example.com",
        "authored_date": when, "committer_name": "Administrator", "committer_email": "admin@example.com",
        "committed_date": when, "trailers": {}, "extended_trailers": {},
        "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/commit/{sha}",
    }


def _user_level(ctx: Context) -> int:
    return ctx.role()


def render_branch(branch: Branch, project: Project, repo: Repository, ctx: Context) -> dict[str, Any]:
    rule = repo.branch_rule(branch.name)
    level = _user_level(ctx)
    return {
        "name": branch.name, "merged": branch.merged, "protected": rule is not None,
        "default": branch.name == project.default_branch,
        "developers_can_push": rule is None or rule.push <= 30,
        "developers_can_merge": rule is None or rule.merge <= 30,
        "can_push": level >= (rule.push if rule else DEVELOPER_ROLE),
        "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/tree/{branch.name}",
        "commit": render_commit(project, branch.sha, branch.committed_at, f"Work on {branch.name}", ctx),
    }


def render_tag(tag: Tag, project: Project, repo: Repository, ctx: Context) -> dict[str, Any]:
    release = repo.releases.get(tag.name)
    commit = render_commit(project, tag.sha, tag.committed_at, f"Prepare {tag.name}", ctx)
    commit.pop("trailers")
    commit.pop("extended_trailers")
    return {
        "name": tag.name, "message": tag.message, "target": tag.sha, "commit": commit,
        "release": {"tag_name": release.tag_name, "description": f"Release notes for {release.name}"}
        if release else None,
        "protected": repo.tag_rule(tag.name) is not None,
        "created_at": iso(tag.created_at),
    }


def _levels(prefix: int, level: int, deploy_key: bool = False) -> list[dict[str, Any]]:
    levels: list[dict[str, Any]] = [{"id": prefix * 10 + level // 10, "access_level": level,
                                     "access_level_description": _LEVELS.get(level, "Maintainers")}]
    if deploy_key:  # as in GitLab's examples: a deploy key may push (or create tags) too
        levels.append({"id": prefix * 10 + 9, "access_level": 40, "access_level_description": "Deploy key",
                       "deploy_key_id": 1})
    return levels


def render_protected_branch(rule: ProtectionRule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "push_access_levels": _levels(rule.id, rule.push, True),
            "merge_access_levels": _levels(rule.id * 2, rule.merge), "allow_force_push": False,
            "code_owner_approval_required": False}


def render_protected_tag(rule: ProtectionRule) -> dict[str, Any]:
    return {"name": rule.name, "create_access_levels": _levels(rule.id, rule.push, True)}


def search_filter(ctx: Context, names: list[str]) -> list[str]:
    """GitLab's `search` on branches and tags: `^term` a prefix, `term$` a suffix, else a substring."""
    term = ctx.arg("search")
    if not term:
        return names
    if term.startswith("^") and term.endswith("$") and len(term) > 1:
        return [n for n in names if n == term[1:-1]]
    if term.startswith("^"):
        return [n for n in names if n.startswith(term[1:])]
    if term.endswith("$"):
        return [n for n in names if n.endswith(term[:-1])]
    return [n for n in names if term.lower() in n.lower()]


# -- branches -----------------------------------------------------------------------------------------
@route("GET", "/projects/:id/repository/branches")
def list_branches(ctx: Context) -> Listing:
    project = ctx.project()
    repo = repository(project)
    sort = ctx.arg("sort") or "name_asc"
    names = search_filter(ctx, sorted(repo.branches))
    if sort in ("updated_asc", "updated_desc"):
        names.sort(key=lambda n: repo.branches[n].committed_at, reverse=sort == "updated_desc")
    elif sort != "name_asc":
        raise ApiError(400, {"error": "sort does not have a valid value"})
    return Listing([repo.branches[n] for n in names], lambda b: render_branch(b, project, repo, ctx))


def _branch(ctx: Context, repo: Repository) -> Branch:
    found = repo.branches.get(ctx.params["branch"])
    if found is None:
        raise not_found("Branch")
    return found


@route("GET", "/projects/:id/repository/branches/:branch")
def get_branch(ctx: Context) -> Response:
    project = ctx.project()
    repo = repository(project)
    return Response(body=render_branch(_branch(ctx, repo), project, repo, ctx))


@route("DELETE", "/projects/:id/repository/branches/:branch")
def delete_branch(ctx: Context) -> Response:
    project = ctx.project()
    ctx.require_role(DEVELOPER_ROLE)  # push access to the repository
    repo = repository(project)
    branch = _branch(ctx, repo)
    if branch.name == project.default_branch:
        raise ApiError(400, {"message": "The default branch of a project cannot be deleted."})
    rule = repo.branch_rule(branch.name)
    if rule is not None and _user_level(ctx) < MAINTAINER:
        raise forbidden("You are not allowed to delete protected branches from this project. "
                        "Only a project maintainer or owner can delete a protected branch.")
    del repo.branches[branch.name]
    return Response(204)


# -- tags -----------------------------------------------------------------------------------------------
def _version_key(name: str) -> tuple[int, ...]:
    parts = name.lstrip("vV").split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


@route("GET", "/projects/:id/repository/tags")
def list_tags(ctx: Context) -> Listing:
    project = ctx.project()
    repo = repository(project)
    order_by, sort = ctx.arg("order_by") or "updated", (ctx.arg("sort") or "desc").lower()
    if order_by not in ("name", "updated", "version") or sort not in ("asc", "desc"):
        raise ApiError(400, {"error": "order_by, sort does not have a valid value"})
    names = search_filter(ctx, list(repo.tags))
    if order_by == "name":
        names.sort()
    elif order_by == "version":
        names.sort(key=_version_key)
    else:
        names.sort(key=lambda n: repo.tags[n].committed_at)
    if sort == "desc":
        names.reverse()
    return Listing([repo.tags[n] for n in names], lambda t: render_tag(t, project, repo, ctx))


def _tag(ctx: Context, repo: Repository) -> Tag:
    found = repo.tags.get(ctx.params["tag_name"])
    if found is None:
        raise not_found("Tag")
    return found


@route("GET", "/projects/:id/repository/tags/:tag_name")
def get_tag(ctx: Context) -> Response:
    project = ctx.project()
    repo = repository(project)
    return Response(body=render_tag(_tag(ctx, repo), project, repo, ctx))


@route("DELETE", "/projects/:id/repository/tags/:tag_name")
def delete_tag(ctx: Context) -> Response:
    project = ctx.project()
    ctx.require_role(DEVELOPER_ROLE)
    repo = repository(project)
    tag = _tag(ctx, repo)
    rule = repo.tag_rule(tag.name)
    if rule is not None and _user_level(ctx) < max(rule.push, MAINTAINER):
        raise forbidden("You don't have access to delete the tag")
    del repo.tags[tag.name]
    repo.releases.pop(tag.name, None)
    return Response(204)


# -- protection rules -------------------------------------------------------------------------------
def _rules(ctx: Context, kind: str) -> tuple[dict[str, ProtectionRule], Repository]:
    project = ctx.project()
    # Reading the rules needs Maintainer too (ProtectedBranchPolicy: read_protected_branch comes with
    # admin_project); everyone else sees only each branch's or tag's `protected` flag.
    ctx.require_role(MAINTAINER)
    repo = repository(project)
    return (repo.protected_branches if kind == "branches" else repo.protected_tags), repo


def _filter_rules(ctx: Context, rules: dict[str, ProtectionRule]) -> list[ProtectionRule]:
    term = ctx.arg("search")
    return [r for r in rules.values() if not term or term in r.name]


@route("GET", "/projects/:id/protected_branches")
def list_protected_branches(ctx: Context) -> Listing:
    rules, _ = _rules(ctx, "branches")
    return Listing(_filter_rules(ctx, rules), render_protected_branch)


@route("GET", "/projects/:id/protected_tags")
def list_protected_tags(ctx: Context) -> Listing:
    rules, _ = _rules(ctx, "tags")
    return Listing(_filter_rules(ctx, rules), render_protected_tag)


def _rule(ctx: Context, rules: dict[str, ProtectionRule], what: str) -> ProtectionRule:
    found = rules.get(ctx.params["name"])
    if found is None:
        raise not_found(what)
    return found


@route("GET", "/projects/:id/protected_branches/:name")
def get_protected_branch(ctx: Context) -> Response:
    rules, _ = _rules(ctx, "branches")
    return Response(body=render_protected_branch(_rule(ctx, rules, "Protected Branch")))


@route("DELETE", "/projects/:id/protected_branches/:name")
def delete_protected_branch(ctx: Context) -> Response:
    rules, _ = _rules(ctx, "branches")
    del rules[_rule(ctx, rules, "Protected Branch").name]
    return Response(204)


@route("GET", "/projects/:id/protected_tags/:name")
def get_protected_tag(ctx: Context) -> Response:
    rules, _ = _rules(ctx, "tags")
    return Response(body=render_protected_tag(_rule(ctx, rules, "Protected Tag")))


@route("DELETE", "/projects/:id/protected_tags/:name")
def delete_protected_tag(ctx: Context) -> Response:
    rules, _ = _rules(ctx, "tags")
    del rules[_rule(ctx, rules, "Protected Tag").name]
    return Response(204)

