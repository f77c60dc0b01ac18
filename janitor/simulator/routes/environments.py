"""Environments, their deployments and protection (doc/api/environments.md, deployments.md,
protected_environments.md).

GitLab refuses to delete an environment that is not stopped (403, environments.md) and lets only
those allowed to deploy to a protected environment stop or delete it.
"""

from __future__ import annotations

from typing import Any

from janitor.simulator.registry_records import Deployment, Environment, environments, protected_environments
from janitor.simulator.routes.jobs import render_user
from janitor.simulator.routing import ApiError, Context, Listing, Response, bad_request, forbidden, not_found, route
from janitor.simulator.state import DEVELOPER_ROLE, MAINTAINER, Project, iso

STATES = frozenset({"available", "stopping", "stopped"})
RUNNING = frozenset({"created", "running", "pending", "blocked"})
_ACCESS = {30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}


def _external_url(env: Environment, ctx: Context) -> str:
    return f"https://{env.slug}.{ctx.base_url.split('://', 1)[1].split(':')[0]}.example"


def render_environment(env: Environment, project: Project, ctx: Context, single: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": env.id, "name": env.name, "slug": env.slug, "description": f"{env.tier} environment",
        "external_url": _external_url(env, ctx), "state": env.state, "tier": env.tier,
        "created_at": iso(env.created_at), "updated_at": iso(env.updated_at),
        "enable_advanced_logs_querying": False,
        "logs_api_path": f"/{project.path_with_namespace}/-/logs/k8s.json?environment_name={env.name}",
        "auto_stop_at": None, "kubernetes_namespace": None, "flux_resource_path": None,
        "auto_stop_setting": "always",
    }
    if single:
        last = env.last_deployment
        data["last_deployment"] = _deployment(last, env, project, ctx, nested=True) if last else None
        data["cluster_agent"] = None
    return data


def _commit(dep: Deployment) -> dict[str, Any]:
    at = iso(dep.created_at)
    return {
        "id": dep.sha, "short_id": dep.sha[:8], "created_at": at, "parent_ids": [],
        "title": f"Deploy {dep.ref}", "message": f"Deploy {dep.ref}\n", "author_name": "Administrator",
        "author_email": "admin@example.com", "authored_date": at, "committer_name": "Administrator",
        "committer_email": "admin@example.com", "committed_date": at,
    }


def _deployment(dep: Deployment, env: Environment, project: Project, ctx: Context,
                nested: bool = False) -> dict[str, Any]:
    at = iso(dep.created_at)
    finished = None if dep.status in RUNNING else at
    job_status = "running" if dep.status in RUNNING else dep.status
    user = render_user(ctx)
    data: dict[str, Any] = {
        "id": dep.id, "iid": dep.iid, "ref": dep.ref, "sha": dep.sha, "created_at": at, "updated_at": at,
        "status": dep.status,
        "user": {k: user[k] for k in ("id", "name", "state", "username", "avatar_url", "web_url")},
        "deployable": {
            "id": dep.job_id, "status": job_status, "stage": "deploy", "name": "deploy", "ref": dep.ref,
            "tag": False, "coverage": None, "created_at": at, "started_at": at, "finished_at": finished,
            "duration": None if finished is None else 60.0, "project": {"ci_job_token_scope_enabled": False},
            "user": user, "commit": _commit(dep),
            "pipeline": {"id": dep.job_id + 5, "sha": dep.sha, "ref": dep.ref, "status": job_status,
                         "created_at": at, "updated_at": at,
                         "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/pipelines/{dep.job_id + 5}"},
            "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/jobs/{dep.job_id}",
            "artifacts": [], "runner": None, "artifacts_expire_at": None,
        },
    }
    if not nested:
        data["environment"] = {"id": env.id, "name": env.name, "external_url": _external_url(env, ctx)}
    return data


def _environment(ctx: Context, project: Project) -> Environment:
    raw = ctx.params["environment_id"]
    found = next((e for e in environments(project) if str(e.id) == raw), None)
    if found is None:
        raise not_found("Environment")
    return found


def _may_deploy(ctx: Context, project: Project, env: Environment) -> None:
    """Only those allowed to deploy to a protected environment may stop or delete it."""
    level = protected_environments(project).get(env.name)
    if level is None or ctx.is_admin() or (level < 60 and ctx.role() >= level):
        return
    raise forbidden()


@route("GET", "/projects/:id/environments")
def list_environments(ctx: Context) -> Listing:
    project = ctx.project()
    name, search, states = ctx.arg("name"), ctx.arg("search"), ctx.arg("states")
    if name and search:
        raise bad_request("name, search are mutually exclusive")
    if search is not None and len(search) < 3:
        raise bad_request("search must be at least 3 characters")
    if states is not None and states not in STATES:
        raise bad_request("states does not have a valid value")
    rows = [e for e in environments(project) if (name is None or e.name == name)
            and (search is None or search in e.name) and (states is None or e.state == states)]
    return Listing(rows, lambda e: render_environment(e, project, ctx))


@route("GET", "/projects/:id/environments/:environment_id")
def get_environment(ctx: Context) -> Response:
    project = ctx.project()
    return Response(body=render_environment(_environment(ctx, project), project, ctx, single=True))


@route("POST", "/projects/:id/environments/:environment_id/stop")
def stop_environment(ctx: Context) -> Response:
    # environments.md "Stop an environment": 200 with the environment; stopping a stopped one is harmless.
    # Developer and above (doc/user/permissions.md, CI/CD table: "Stop environments").
    project = ctx.project()
    ctx.require_role(DEVELOPER_ROLE)
    env = _environment(ctx, project)
    _may_deploy(ctx, project, env)
    env.state = "stopped"
    env.updated_at = ctx.instance.now
    return Response(200, render_environment(env, project, ctx))


@route("DELETE", "/projects/:id/environments/:environment_id")
def delete_environment(ctx: Context) -> Response:
    # environments.md: 204; 404 when missing; "The environment must be stopped first, otherwise 403".
    # Developer and above: app/policies/project_policy.rb enables destroy_environment with developer_access.
    project = ctx.project()
    ctx.require_role(DEVELOPER_ROLE)
    env = _environment(ctx, project)
    _may_deploy(ctx, project, env)
    if env.state != "stopped":
        raise forbidden()
    project.collections["environments"] = [e for e in environments(project) if e is not env]
    return Response(204)


@route("GET", "/projects/:id/protected_environments")
def list_protected_environments(ctx: Context) -> Listing:
    project = ctx.project()
    unavailable = project.collections.get("protected_environments_unavailable")
    if unavailable == "ce":
        # GitLab CE has no such route: lib/api/api.rb's catch-all answers it
        raise ApiError(404, {"error": "404 Not Found"})
    if unavailable:
        # GitLab EE without Premium: ee/lib/api/protected_environments.rb authorizes
        # admin_protected_environments, an ability only a licensed instance grants
        raise ApiError(403, {"message": "403 Forbidden"})
    ctx.require_role(MAINTAINER)
    return Listing(sorted(protected_environments(project).items()), lambda item: {
        "name": item[0],
        "deploy_access_levels": [{"id": 1, "access_level": item[1], "access_level_description": _ACCESS[item[1]],
                                  "user_id": None, "group_id": None, "group_inheritance_type": 0}],
        "required_approval_count": 0,
    })


@route("GET", "/projects/:id/deployments")
def list_deployments(ctx: Context) -> Listing:
    # deployments.md; the simulator keeps each environment's last deployment only
    project = ctx.project()
    wanted = ctx.arg("environment")
    rows = [(e.last_deployment, e) for e in environments(project)
            if e.last_deployment and (wanted is None or e.name == wanted)]
    rows.sort(key=lambda pair: pair[0].id, reverse=ctx.arg("sort") == "desc")
    return Listing(rows, lambda pair: _deployment(pair[0], pair[1], project, ctx))
