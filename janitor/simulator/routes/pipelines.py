"""Project pipelines (doc/api/pipelines.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from janitor.simulator.routing import ApiError, Context, Listing, Response, bad_request, not_found, route
from janitor.simulator.state import Pipeline, Project, iso

_FINISHED = ("success", "failed", "canceled", "skipped")
# doc/api/pipelines.md "List project pipelines": scope running, pending, finished, branches, tags
_SCOPES: dict[str, Callable[[Pipeline], bool]] = {
    "running": lambda p: p.status == "running",
    "pending": lambda p: p.status == "pending",
    "finished": lambda p: p.status in _FINISHED,
    "branches": lambda p: not p.tag,
    "tags": lambda p: p.tag,
}
_ORDER: dict[str, Callable[[Pipeline], Any]] = {
    "id": lambda p: p.id,
    "status": lambda p: (p.status, p.id),
    "ref": lambda p: (p.ref, p.id),
    "updated_at": lambda p: (p.updated_at, p.id),
    "user_id": lambda p: p.id,  # every simulated pipeline is root's
}
_STATUS_TEXT = {"success": "passed", "failed": "failed", "running": "running", "pending": "pending",
                "canceled": "canceled", "skipped": "skipped", "created": "created", "manual": "manual"}


def _web_url(pipeline: Pipeline, project: Project, ctx: Context) -> str:
    return f"{ctx.base_url}/{project.path_with_namespace}/-/pipelines/{pipeline.id}"


def render_pipeline_basic(pipeline: Pipeline, project: Project, ctx: Context) -> dict[str, Any]:
    return {
        "id": pipeline.id, "iid": pipeline.iid, "project_id": pipeline.project_id,
        "status": pipeline.status, "source": pipeline.source, "ref": pipeline.ref, "sha": pipeline.sha,
        "name": "Build pipeline", "web_url": _web_url(pipeline, project, ctx),
        "created_at": iso(pipeline.created_at), "updated_at": iso(pipeline.updated_at),
    }


def render_pipeline(pipeline: Pipeline, project: Project, ctx: Context) -> dict[str, Any]:
    data = render_pipeline_basic(pipeline, project, ctx)
    started, finished = pipeline.started_at, pipeline.finished_at
    text = _STATUS_TEXT.get(pipeline.status, pipeline.status)
    details_path = f"/{project.path_with_namespace}/-/pipelines/{pipeline.id}"
    data.update({
        "before_sha": pipeline.before_sha, "tag": pipeline.tag, "yaml_errors": None,
        "user": {"id": 1, "username": "root", "name": "Administrator", "state": "active",
                 "avatar_url": None, "web_url": f"{ctx.base_url}/root"},
        "started_at": iso(started), "finished_at": iso(finished), "committed_at": None,
        "duration": (finished - started) // 1000 if started and finished else None,
        "queued_duration": (started - pipeline.created_at) // 1000 if started else None,
        "coverage": None,
        "detailed_status": {
            "icon": f"status_{pipeline.status}", "text": text, "label": text, "group": pipeline.status,
            "tooltip": text, "has_details": True, "details_path": details_path, "illustration": None,
            "favicon": f"/assets/ci_favicons/favicon_status_{pipeline.status}.png",
        },
    })
    return data


def _timestamp(ctx: Context, name: str) -> int | None:
    value = ctx.arg(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} is invalid") from None
    return int(parsed.timestamp() * 1000)


def _find_pipeline(ctx: Context, project: Project) -> Pipeline:
    raw = ctx.params["pipeline_id"]
    pipeline = ctx.instance.pipelines.get(int(raw)) if raw.isdigit() else None
    if pipeline is None or pipeline.project_id != project.id:
        raise not_found("Pipeline")
    return pipeline


@route("GET", "/projects/:id/pipelines")
def list_pipelines(ctx: Context) -> Listing:
    project = ctx.project()
    rows = project.pipelines
    scope, ref, status = ctx.arg("scope"), ctx.arg("ref"), ctx.arg("status")
    if scope:
        if scope not in _SCOPES:
            raise bad_request("scope does not have a valid value")
        rows = [p for p in rows if _SCOPES[scope](p)]
    if ref:
        rows = [p for p in rows if p.ref == ref]
    if status:
        rows = [p for p in rows if p.status == status]
    before, after = _timestamp(ctx, "updated_before"), _timestamp(ctx, "updated_after")
    if before is not None:
        rows = [p for p in rows if p.updated_at < before]
    if after is not None:
        rows = [p for p in rows if p.updated_at > after]
    order_by, sort = ctx.arg("order_by") or "id", (ctx.arg("sort") or "desc").lower()
    if order_by not in _ORDER or sort not in ("asc", "desc"):
        raise ApiError(400, {"error": "order_by, sort does not have a valid value"})
    if order_by == "id":
        rows = list(reversed(rows)) if sort == "desc" else list(rows)
    else:
        rows = sorted(rows, key=_ORDER[order_by], reverse=sort == "desc")
    return Listing(rows, lambda p: render_pipeline_basic(p, project, ctx))


@route("GET", "/projects/:id/pipelines/:pipeline_id")
def get_pipeline(ctx: Context) -> Response:
    project = ctx.project()
    return Response(body=render_pipeline(_find_pipeline(ctx, project), project, ctx))


@route("DELETE", "/projects/:id/pipelines/:pipeline_id")
def delete_pipeline(ctx: Context) -> Response:
    # doc/api/pipelines.md "Delete a pipeline": Owner role; deleting a pipeline removes its
    # jobs and their artifacts. The success status is not stated; the REST rule gives 204.
    project = ctx.project()
    ctx.require_owner()
    ctx.instance.delete_pipeline(_find_pipeline(ctx, project))
    return Response(204)
