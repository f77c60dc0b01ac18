"""Project jobs and their artifacts (doc/api/jobs.md, doc/api/job_artifacts.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from janitor.simulator.routing import (
    ApiError,
    Context,
    FileBody,
    Keyset,
    Listing,
    Response,
    bad_request,
    forbidden,
    not_found,
    route,
)
from janitor.simulator.state import JOB_SCOPES, REPORTER, Instance, Job, Pipeline, Project, iso

_TAG_LIST = ["docker", "linux"]


def _runner() -> dict[str, Any]:
    return {
        "id": 32, "description": "shared-runner-1", "ip_address": None, "active": True, "paused": False,
        "is_shared": True, "runner_type": "instance_type", "name": "gitlab-runner", "online": True,
        "status": "online",
    }


def _runner_manager(job: Job) -> dict[str, Any]:
    return {
        "id": 1, "system_id": "s_89e5e9956577", "version": "17.11.0", "revision": "0f67ff19",
        "platform": "linux", "architecture": "amd64", "created_at": "2024-05-01T10:12:02.507Z",
        "contacted_at": iso(job.started_at), "ip_address": "127.0.0.1", "status": "online",
    }


# As in doc/api/jobs.md's example (and GitLab with Gravatar on): it carries a job's weight, ~1.6 KB of JSON.
_AVATAR = "https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon"


def render_user(ctx: Context) -> dict[str, Any]:
    return {
        "id": 1, "name": "Administrator", "username": "root", "state": "active", "avatar_url": _AVATAR,
        "web_url": f"{ctx.base_url}/root", "created_at": "2024-01-01T00:00:00.000Z", "bio": None,
        "location": None, "public_email": "", "skype": "", "linkedin": "", "twitter": "",
        "website_url": "", "organization": "",
    }


def render_artifacts(job: Job) -> list[dict[str, Any]]:
    artifacts = []
    if job.archive_size:
        artifacts.append({"file_type": "archive", "size": job.archive_size, "filename": "artifacts.zip",
                          "file_format": "zip"})
    if job.metadata_size:
        artifacts.append({"file_type": "metadata", "size": job.metadata_size, "filename": "metadata.gz",
                          "file_format": "gzip"})
    if job.trace_size:
        artifacts.append({"file_type": "trace", "size": job.trace_size, "filename": "job.log",
                          "file_format": "raw"})
    if job.junit_size:
        artifacts.append({"file_type": "junit", "size": job.junit_size, "filename": "junit.xml.gz",
                          "file_format": "gzip"})
    return artifacts


def render_job(job: Job, ctx: Context, project: Project, erase_view: bool = False) -> dict[str, Any]:
    pipeline = job.pipeline
    started, finished = job.started_at, job.finished_at
    data: dict[str, Any] = {
        "commit": {
            "author_email": "admin@example.com", "author_name": "Administrator",
            "created_at": iso(pipeline.created_at), "id": pipeline.sha, "message": f"Update {job.name}\n",
            "short_id": pipeline.sha[:8], "title": f"Update {job.name}",
        },
        "coverage": None, "archived": False, "allow_failure": job.stage == "deploy",
        "created_at": iso(job.created_at), "started_at": iso(started), "finished_at": iso(finished),
        "erased_at": iso(job.erased_at),
        "duration": (finished - started) / 1000 if started and finished else None,
        "queued_duration": (started - job.created_at) / 1000 if started else None,
        "artifacts": render_artifacts(job),
        "artifacts_expire_at": iso(job.expire_at) if job.archive_size else None,
        "tag_list": _TAG_LIST, "id": job.id, "name": job.name,
        "pipeline": {"id": pipeline.id, "project_id": pipeline.project_id, "ref": pipeline.ref,
                     "sha": pipeline.sha, "status": pipeline.status},
        "ref": pipeline.ref,
        "runner": _runner() if started else None,
        "runner_manager": _runner_manager(job) if started else None,
        "stage": job.stage, "status": job.status, "tag": pipeline.tag,
        "web_url": f"{ctx.base_url}/{project.path_with_namespace}/-/jobs/{job.id}",
        "project": {"ci_job_token_scope_enabled": False},
        "user": render_user(ctx),
    }
    if job.archive_size:
        data["artifacts_file"] = {"filename": "artifacts.zip", "size": job.archive_size}
    if job.status == "failed":
        data["failure_reason"] = "script_failure"
    if erase_view:
        data["download_url"] = None
    return data


def encode_jobs(jobs: Sequence[Job], ctx: Context, project: Project) -> list[bytes]:
    """The jobs' JSON bytes, each rendered once and served again for as long as it is unchanged.

    The benchmark must measure the janitor, not the simulator: rendering a 100-job page costs the
    simulator milliseconds, a page of cached jobs a join. Each entry is checked on every read against the
    edit numbers of its job and its pipeline (state.py `_EDITS`: every change to either takes a new one) and
    against the page's host and the project's path, so a change (a delete over HTTP, or a test editing the
    instance) shows at once."""
    context = (ctx.base_url, project.path_with_namespace)
    rendered = ctx.instance.rendered_jobs
    out = []
    for job in jobs:
        cached = rendered.get(job.id)
        if cached is None or cached[0] != job.edit or cached[1] != job.pipeline.edit or cached[2] != context:
            # the numbers are read before rendering: a change made meanwhile leaves them stale, not the bytes
            edits = (job.edit, job.pipeline.edit)
            cached = rendered[job.id] = (*edits, context, orjson.dumps(render_job(job, ctx, project)))
        out.append(cached[3])
    return out


def encode_job(job: Job, ctx: Context, project: Project) -> bytes:
    return encode_jobs([job], ctx, project)[0]


def _find_job(ctx: Context, project: Project) -> Job:
    raw = ctx.params["job_id"]
    job = ctx.instance.jobs.get(int(raw)) if raw.isdigit() else None
    if job is None or job.pipeline.project_id != project.id:
        raise not_found("Job")
    return job


def _scopes(ctx: Context) -> set[str]:
    scopes = set(ctx.many("scope"))
    if scopes - JOB_SCOPES:
        raise bad_request("scope does not have a valid value")
    return scopes


@route("GET", "/projects/:id/jobs")
def list_jobs(ctx: Context) -> Listing:
    project = ctx.project()
    wanted = _scopes(ctx)
    keyset = None
    if ctx.arg("pagination") == "keyset":
        # doc/api/rest/_index.md: project jobs support keyset with order_by=id, sort=desc only
        if (ctx.arg("order_by") or "id") != "id" or (ctx.arg("sort") or "desc") != "desc":
            raise ApiError(405, {"error": "Keyset pagination is not yet available for this type of request"})
        keyset = Keyset("cursor", lambda j: j.id, descending=True)
    # doc/api/jobs.md: jobs are listed newest first (id descending)
    rows = [j for j in reversed(project.jobs) if not wanted or j.status in wanted]
    return Listing(rows, lambda j: render_job(j, ctx, project), keyset,
                   encode=lambda jobs: encode_jobs(jobs, ctx, project))


@route("GET", "/projects/:id/pipelines/:pipeline_id/jobs")
def list_pipeline_jobs(ctx: Context) -> Listing:
    # doc/api/jobs.md "List pipeline jobs": same job entity and `scope` filter
    project = ctx.project()
    wanted = _scopes(ctx)
    raw = ctx.params["pipeline_id"]
    pipeline = ctx.instance.pipelines.get(int(raw)) if raw.isdigit() else None
    if pipeline is None or pipeline.project_id != project.id:
        raise not_found("Pipeline")
    rows = [j for j in pipeline.jobs if not wanted or j.status in wanted]
    return Listing(rows, lambda j: render_job(j, ctx, project), encode=lambda jobs: encode_jobs(jobs, ctx, project))


@route("GET", "/projects/:id/jobs/:job_id")
def get_job(ctx: Context) -> Response:
    project = ctx.project()
    return Response(body=render_job(_find_job(ctx, project), ctx, project))


@route("DELETE", "/projects/:id/jobs/:job_id/artifacts")
def delete_job_artifacts(ctx: Context) -> Response:
    # doc/api/job_artifacts.md "Delete job artifacts": Maintainer role, 204; the trace is kept.
    # A job without artifacts also answers 204 (lib/api/ci/job_artifacts.rb, see errors.md).
    project = ctx.project()
    ctx.require_role()
    job = _find_job(ctx, project)
    ctx.instance.delete_job_artifacts(job, keep_trace=True)
    return Response(204)


@route("POST", "/projects/:id/jobs/:job_id/erase")
def erase_job(ctx: Context) -> Response:
    # doc/api/jobs.md "Erase a job": removes artifacts and the log; 201 with the job.
    # lib/api/ci/jobs.rb: forbidden!('Job is not erasable!') unless build.erasable? -- a job
    # that has not finished, or has nothing left to erase (Ci::Build#erasable?: complete? and
    # artifacts or a log), answers 403 "403 Forbidden - Job is not erasable!".
    project = ctx.project()
    ctx.require_role()
    job = _find_job(ctx, project)
    if not job.finished or not job.artifacts_size:
        raise forbidden("Job is not erasable!")
    ctx.instance.delete_job_artifacts(job, keep_trace=False)
    job.erased_at = ctx.instance.now
    return Response(201, render_job(job, ctx, project, erase_view=True))


@route("GET", "/projects/:id/jobs/:job_id/artifacts/*artifact_path")
def artifact_file(ctx: Context) -> Response:
    # doc/api/job_artifacts.md "Download a single artifact file by job ID": 200 with the file, 400 for an
    # invalid path, 404 for "Build not found, no artifacts, or all artifacts are reports" and (Workhorse,
    # which extracts the entry) for a path the archive does not hold. Reading a private project's job
    # artifacts takes the Reporter role (doc/user/permissions.md, "Download and browse job artifacts").
    project = ctx.project()
    job = _find_job(ctx, project)
    ctx.require_role(REPORTER)
    path = ctx.params["artifact_path"]
    # lib/gitlab/ci/build/artifacts/path.rb: no NUL byte, no "..", not absolute
    if "\0" in path or path.startswith("/") or ".." in path.split("/"):
        raise bad_request("artifact_path is invalid")
    if not job.archive_size:
        raise not_found()
    content = (job.archive_files or {}).get(path)
    if content is None:
        raise ApiError(404, "Not Found\n", text=True)
    return Response(200, FileBody(content))


def add_job_with_files(instance: Instance, project: Project, *, name: str, ref: str, status: str,
                       files: dict[str, bytes], created_at: int | None = None) -> Job:
    """A finished job in a pipeline of its own whose artifacts archive holds `files` (none: no archive),
    as a CI job that published them would leave it. Ids follow the highest in the instance."""
    now = instance.now if created_at is None else created_at
    pipeline_id = max(instance.pipelines, default=0) + 1
    job_id = max(instance.jobs, default=0) + 1
    sha = f"{pipeline_id:040x}"
    pipeline = Pipeline(pipeline_id, len(project.pipelines) + 1, project.id, ref, False, sha, sha, status,
                        "schedule", now, now, now, now)
    archive = sum(len(content) for content in files.values())
    job = Job(job_id, pipeline, name, "test", status, now, now, now, archive, 150 if archive else 0, 1_000, 0,
              None, archive_files=dict(files) if files else None)
    pipeline.jobs.append(job)
    instance.add_pipeline(project, pipeline)
    return job
