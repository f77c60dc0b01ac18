"""Projects and groups: GET /projects, /projects/:id, /groups/:id, its subgroups, descendants
and projects. Field sets follow doc/api/projects.md and doc/api/groups.md (tests/fixtures/gitlab)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from janitor.simulator.routing import ApiError, Context, Keyset, Listing, Response, route
from janitor.simulator.state import Group, Project, iso

# Settings every simulated project shares; values as in the documented examples.
_PROJECT_SETTINGS: dict[str, Any] = {
    "visibility": "private", "issues_enabled": True, "open_issues_count": 0,
    "merge_requests_enabled": True, "jobs_enabled": True, "wiki_enabled": True,
    "snippets_enabled": False, "can_create_merge_request_in": True,
    "resolve_outdated_diff_discussions": False, "container_registry_enabled": True,
    "container_registry_access_level": "enabled", "security_and_compliance_access_level": "private",
    "import_url": None, "import_type": None, "import_status": "none", "import_error": None,
    "shared_runners_enabled": True, "group_runners_enabled": True, "forks_count": 0, "star_count": 0,
    "ci_default_git_depth": 20, "ci_forward_deployment_enabled": True,
    "ci_forward_deployment_rollback_allowed": True, "ci_allow_fork_pipelines_to_run_in_parent_project": True,
    "ci_separated_caches": True, "ci_restrict_pipeline_cancellation_role": "developer",
    "ci_pipeline_variables_minimum_override_role": "maintainer",
    "ci_push_repository_for_job_token_allowed": False, "public_jobs": True, "shared_with_groups": [],
    "repository_storage": "default", "only_allow_merge_if_pipeline_succeeds": False,
    "allow_merge_on_skipped_pipeline": False, "allow_pipeline_trigger_approve_deployment": False,
    "restrict_user_defined_variables": False, "only_allow_merge_if_all_discussions_are_resolved": False,
    "remove_source_branch_after_merge": True, "printing_merge_requests_link_enabled": True,
    "printing_merge_request_link_enabled": True, "request_access_enabled": True, "merge_method": "merge",
    "squash_option": "default_off", "auto_devops_enabled": False, "auto_devops_deploy_strategy": "continuous",
    "approvals_before_merge": 0, "mirror": False, "mirror_user_id": None, "mirror_trigger_builds": False,
    "only_mirror_protected_branches": False, "mirror_overwrites_diverged_branches": False,
    "external_authorization_classification_label": "", "packages_enabled": True, "empty_repo": False,
    "service_desk_enabled": False, "service_desk_address": None, "autoclose_referenced_issues": True,
    "suggestion_commit_message": None, "enforce_auth_checks_on_uploads": True,
    "merge_commit_template": None, "squash_commit_template": None,
    "issue_branch_template": None, "marked_for_deletion_at": None, "marked_for_deletion_on": None,
    "compliance_frameworks": [], "warn_about_potentially_unwanted_characters": True,
    "secret_push_protection_enabled": False, "spp_repository_pipeline_access": False,
    "license_url": None, "license": None, "avatar_url": None, "runners_token": "GR1348941simulated",
    "ci_config_path": "", "emails_disabled": False, "emails_enabled": True, "lfs_enabled": True,
    "keep_latest_artifact": True, "build_timeout": 3600, "auto_cancel_pending_pipelines": "enabled",
    "ci_job_token_scope_enabled": False, "security_and_compliance_enabled": False,
    "requirements_enabled": False, "runner_token_expiration_interval": None,
    **{f"{feature}_access_level": "enabled" for feature in (
        "issues", "repository", "merge_requests", "forking", "wiki", "builds", "snippets", "pages",
        "analytics", "requirements", "package_registry")},
}
_SIMPLE_FIELDS = (
    "id", "description", "name", "name_with_namespace", "path", "path_with_namespace", "created_at",
    "default_branch", "tag_list", "topics", "ssh_url_to_repo", "http_url_to_repo", "web_url",
    "readme_url", "avatar_url", "star_count", "last_activity_at", "namespace", "visibility",
)


def render_namespace(group: Group, base_url: str) -> dict[str, Any]:
    return {
        "id": group.id, "name": group.name, "path": group.path, "kind": "group",
        "full_path": group.full_path, "parent_id": group.parent.id if group.parent else None,
        "avatar_url": None, "web_url": f"{base_url}/groups/{group.full_path}",
    }


def render_project(project: Project, ctx: Context, statistics: bool = False, simple: bool = False
                   ) -> dict[str, Any]:
    base, full_path = ctx.base_url, project.path_with_namespace
    host = base.split("://", 1)[-1].split(":")[0]
    web_url = f"{base}/{full_path}"
    api = f"{base}/api/v4/projects/{project.id}"
    access = {"access_level": ctx.instance.role(ctx.token.user, project), "notification_level": 3}
    data: dict[str, Any] = {
        "id": project.id, "description": project.description,
        "description_html": f"<p>{project.description}</p>",
        "name": project.name, "name_with_namespace": project.name_with_namespace,
        "path": project.path, "path_with_namespace": full_path,
        "created_at": iso(project.created_at), "updated_at": iso(project.last_activity_at),
        "last_activity_at": iso(project.last_activity_at), "default_branch": project.default_branch,
        "tag_list": [], "topics": [], "ssh_url_to_repo": f"git@{host}:{full_path}.git",
        "http_url_to_repo": f"{web_url}.git", "web_url": web_url,
        "readme_url": f"{web_url}/-/blob/{project.default_branch}/README.md",
        "owner": {"id": 1, "name": "Administrator", "created_at": iso(project.created_at)},
        "namespace": render_namespace(project.namespace, base), "creator_id": 1,
        "archived": project.archived,
        "permissions": {"project_access": access, "group_access": access},
        "container_expiration_policy": {
            "cadence": "1d", "enabled": False, "keep_n": 10, "older_than": "90d", "name_regex": ".*",
            "name_regex_delete": None, "name_regex_keep": r"^v\d+\.\d+\.\d+$",
            "next_run_at": iso(ctx.instance.now + 86_400_000),
        },
        "ci_id_token_sub_claim_components": ["project_path", "ref_type", "ref"],
        "container_registry_image_prefix": f"registry.{host}/{full_path}",
        "_links": {
            "self": api, "issues": f"{api}/issues", "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches", "labels": f"{api}/labels",
            "events": f"{api}/events", "members": f"{api}/members", "cluster_agents": f"{api}/cluster_agents",
        },
    }
    data.update(_PROJECT_SETTINGS)
    data.update(issues_access_level=project.issues_access_level,
                issues_enabled=project.issues_access_level != "disabled")
    if simple:
        return {key: data[key] for key in _SIMPLE_FIELDS}
    data["forks_count"] = len(ctx.instance.forks.get(project.id, ()))
    upstream = ctx.instance.projects.get(project.forked_from_id) if project.forked_from_id else None
    if upstream is not None:
        # doc/api/projects.md: a fork's answer carries `forked_from_project`, the upstream as a basic
        # project (lib/api/entities/project.rb BasicProjectDetails); a non-fork's has no such key.
        data["forked_from_project"] = {**render_project(upstream, ctx, simple=True),
                                       "forks_count": len(ctx.instance.forks.get(upstream.id, ()))}
    if statistics:
        data["statistics"] = render_statistics(project)
    return data


def render_statistics(project: Project) -> dict[str, int]:
    artifacts = project.job_artifacts_size
    # kept current by the registry and packages routes (simulator/registry_records.py recount)
    packages = project.collections.get("packages_size", 0)
    registry = project.collections.get("container_registry_size", 0)
    return {
        "commit_count": project.commit_count,
        "storage_size": project.repository_size + artifacts + packages + registry,
        "repository_size": project.repository_size,
        "wiki_size": 0, "lfs_objects_size": 0, "job_artifacts_size": artifacts,
        "pipeline_artifacts_size": 0, "packages_size": packages, "snippets_size": 0, "uploads_size": 0,
        "container_registry_size": registry,
    }


def render_group(group: Group, ctx: Context) -> dict[str, Any]:
    return {
        "id": group.id, "name": group.name, "path": group.path, "description": group.description,
        "visibility": "private", "share_with_group_lock": False,
        "require_two_factor_authentication": False, "two_factor_grace_period": 48,
        "project_creation_level": "developer", "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer", "emails_disabled": None, "emails_enabled": None,
        "mentions_disabled": None, "lfs_enabled": True, "default_branch": None,
        "default_branch_protection": 2,
        "default_branch_protection_defaults": {
            "allowed_to_push": [{"access_level": 40}], "allow_force_push": False,
            "allowed_to_merge": [{"access_level": 40}],
        },
        "avatar_url": None, "web_url": f"{ctx.base_url}/groups/{group.full_path}",
        "request_access_enabled": False, "repository_storage": "default",
        "full_name": group.full_name, "full_path": group.full_path, "runners_token": "GR1348941simgroup",
        "file_template_project_id": None, "parent_id": group.parent.id if group.parent else None,
        "enabled_git_access_protocol": "all", "created_at": iso(group.created_at),
        "shared_with_groups": [], "prevent_sharing_groups_outside_hierarchy": False,
        "ip_restriction_ranges": None, "math_rendering_limits_enabled": True,
        "lock_math_rendering_limits_enabled": False,
    }


_SORT_KEYS: dict[str, Callable[[Project], Any]] = {
    "id": lambda p: p.id,
    "created_at": lambda p: (p.created_at, p.id),
    "updated_at": lambda p: (p.last_activity_at, p.id),
    "last_activity_at": lambda p: (p.last_activity_at, p.id),
    "name": lambda p: (p.name.lower(), p.id),
    "path": lambda p: (p.path, p.id),
}


def _project_listing(ctx: Context, projects: Iterable[Project], offset_limited: bool) -> Listing:
    archived = ctx.flag("archived")
    if archived is not None:
        projects = (p for p in projects if p.archived == archived)
    # doc/api/projects.md "List all projects": order_by default created_at, sort default desc
    order_by = ctx.arg("order_by") or "created_at"
    sort = (ctx.arg("sort") or "desc").lower()
    if order_by not in _SORT_KEYS or sort not in ("asc", "desc"):
        raise ApiError(400, {"error": "order_by, sort does not have a valid value"})
    keyset = None
    if ctx.arg("pagination") == "keyset":
        # doc/api/rest/_index.md: projects support keyset only with order_by=id; others get
        # 405 "Keyset pagination is not yet available for this type of request"
        # (lib/api/helpers/pagination_strategies.rb).
        if order_by != "id":
            raise ApiError(405, {"error": "Keyset pagination is not yet available for this type of request"})
        keyset = Keyset("id", lambda p: p.id, sort == "desc")
    descending = sort == "desc"
    if order_by == "id":
        rows = list(projects)  # already ascending id
        if descending:
            rows.reverse()
    else:
        rows = sorted(projects, key=_SORT_KEYS[order_by], reverse=descending)
    statistics = bool(ctx.flag("statistics"))
    simple = bool(ctx.flag("simple"))
    return Listing(rows, lambda p: render_project(p, ctx, statistics, simple), keyset,
                   "Project" if offset_limited else None)


@route("GET", "/projects")
def list_projects(ctx: Context) -> Listing:
    # Every simulated user is a member of every project, so `membership` narrows nothing.
    return _project_listing(ctx, ctx.instance.projects.values(), offset_limited=True)


@route("GET", "/projects/:id")
def get_project(ctx: Context) -> Response:
    return Response(body=render_project(ctx.project(), ctx, statistics=bool(ctx.flag("statistics"))))


@route("GET", "/groups/:id")
def get_group(ctx: Context) -> Response:
    group = ctx.group()
    body = render_group(group, ctx)
    # doc/api/groups.md: the deprecated `projects`/`shared_projects` are left out with with_projects=false
    if ctx.flag("with_projects") is not False:
        direct = [p for p in ctx.instance.projects.values() if p.namespace is group][:100]
        body["projects"] = [render_project(p, ctx) for p in direct]
        body["shared_projects"] = []
    return Response(body=body)


@route("GET", "/groups/:id/subgroups")
def list_subgroups(ctx: Context) -> Listing:
    group = ctx.group()
    rows = [g for g in ctx.instance.groups.values() if g.parent is group]
    return Listing(rows, lambda g: render_group(g, ctx))


@route("GET", "/groups/:id/descendant_groups")
def list_descendant_groups(ctx: Context) -> Listing:
    rows = ctx.instance.descendants(ctx.group())
    return Listing(rows, lambda g: render_group(g, ctx))


@route("GET", "/groups/:id/projects")
def list_group_projects(ctx: Context) -> Listing:
    group = ctx.group()
    if ctx.flag("include_subgroups"):
        prefix = group.full_path + "/"
        projects: Iterable[Project] = (
            p for p in ctx.instance.projects.values()
            if p.namespace is group or p.namespace.full_path.startswith(prefix)
        )
    else:
        projects = (p for p in ctx.instance.projects.values() if p.namespace is group)
    # The simulator shares no projects between groups, so `with_shared` adds nothing.
    return _project_listing(ctx, projects, offset_limited=False)
