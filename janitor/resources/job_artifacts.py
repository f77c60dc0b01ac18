"""Job artifacts: the resource the original clean-up script handled.

`delete` removes a job's artifacts and keeps its log (DELETE /projects/:id/jobs/:job_id/artifacts);
`erase` removes artifacts and log (POST /projects/:id/jobs/:job_id/erase). doc/api/job_artifacts.md, jobs.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from janitor.errors import NotFound
from janitor.model import Candidate, Json, PlanItem, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.latest_success import (
    is_latest_successful,
    latest_successful_now,
    latest_successful_per_ref,
    pipeline_ref,
)

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

JOBS = "/projects/{project}/jobs"
JOB = "/projects/{project}/jobs/{job}"
JOB_ARTIFACTS = "/projects/{project}/jobs/{job}/artifacts"
JOB_ERASE = "/projects/{project}/jobs/{job}/erase"

# Only finished jobs can be cleaned; the API filters the rest out (`scope[]`, doc/api/jobs.md).
FINISHED = ("success", "failed", "canceled")
PIPELINE_FINISHED = frozenset({"success", "failed", "canceled", "skipped", "manual", "blocked"})
JOB_FIELDS = ("id", "name", "stage", "status", "ref", "tag", "created_at", "started_at", "finished_at",
              "erased_at", "artifacts", "artifacts_expire_at", "pipeline", "web_url")

_JOB_FIELD_SET = frozenset(JOB_FIELDS)
PIPELINE_FIELDS = ("id", "project_id", "ref", "sha", "status")  # of each job's pipeline, in `_pipelines`


class JobRow(TypedDict, total=False):
    """The fields of a listed job that collect keeps (JOB_FIELDS): a page of jobs is decoded for these
    only (janitor.http_json), a fifth of the objects of GitLab's ~1.6 KB per job."""

    id: Any
    name: Any
    stage: Any
    status: Any
    ref: Any
    tag: Any
    created_at: Any
    started_at: Any
    finished_at: Any
    erased_at: Any
    artifacts: Any
    artifacts_expire_at: Any
    pipeline: Any
    web_url: Any


def removable_bytes(job: Json, action: str) -> int:
    """What the action frees: `delete` keeps the trace (log), `erase` takes it too."""
    total = 0
    for artifact in job.get("artifacts") or ():
        if action == "erase" or artifact.get("file_type") != "trace":
            total += int(artifact.get("size") or 0)
    return total


def _artifact_bytes(job: Json) -> tuple[int, int]:
    """(removable_bytes(job, "erase"), removable_bytes(job, "delete")) in one pass, for a job of a checked
    inventory (sizes are integers or null there; an API's answer goes through removable_bytes)."""
    everything = log = 0
    for artifact in job.get("artifacts") or ():
        size = int(artifact.get("size") or 0)
        everything += size
        if artifact.get("file_type") == "trace":
            log += size
    return everything, everything - log


def fingerprint(job: Json, artifacts_bytes: int | None = None) -> dict[str, Any]:
    """`artifacts_bytes`: removable_bytes(job, "erase"), when the caller has it already."""
    pipeline = job.get("pipeline") or {}
    return {
        "status": job.get("status"),
        "finished_at": job.get("finished_at"),
        "pipeline_id": pipeline.get("id"),
        "artifacts_bytes": removable_bytes(job, "erase") if artifacts_bytes is None else artifacts_bytes,
    }


class JobArtifacts(ResourceKind):
    name = "job_artifacts"
    summary = "artifacts of finished jobs (delete keeps the log, erase removes it too)"
    age_field = "the job's finished_at"
    actions = ("delete", "erase")
    delete_role = {"delete": "Maintainer", "erase": "Maintainer"}  # job_artifacts.md; ci/build_policy.rb
    conditions = ("older_than", "ref", "name", "status", "larger_than")
    per: ClassVar[dict[str, PerSpec]] = {
        "ref": PerSpec(("ref",), unit="pipeline_id", description="the newest N pipelines of each ref"),
        "job": PerSpec(("ref", "name"), description="the newest N jobs of each name on each ref"),
        "project": PerSpec((), unit="pipeline_id", description="the newest N pipelines of the project"),
    }
    default_per = "ref"
    inventory_keys = ("_jobs", "_pipelines")
    empty_when_statistic_zero = "job_artifacts_size"
    protections = (
        "jobs that are not finished, and finished jobs of a pipeline still running",
        "artifacts of the latest successful pipeline of each ref (GitLab locks them)",
    )

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        jobs: list[Json] = []
        pipelines: dict[int, Json] = {}
        keep_trace_only = "erase" in ctx.actions
        # Keyset pagination (order_by=id, sort=desc) is what GitLab recommends for jobs (doc/api/jobs.md).
        action = "erase" if keep_trace_only else "delete"
        for job in api.list(JOBS, {"scope[]": list(FINISHED)}, keyset="desc", rows=JobRow, project=project["id"]):
            pipeline = job.get("pipeline") or {}
            if pipeline.get("id") is not None and int(pipeline["id"]) not in pipelines:
                pipelines[int(pipeline["id"])] = {k: pipeline.get(k) for k in PIPELINE_FIELDS}
            if removable_bytes(job, action) > 0:
                # a row decoded as JobRow (janitor.http_json) already holds exactly the fields kept
                jobs.append(job if job.keys() == _JOB_FIELD_SET else {k: job.get(k) for k in JOB_FIELDS})
        return {"_jobs": jobs, "_pipelines": sorted(pipelines.values(), key=lambda p: -int(p["id"]))}

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        latest = latest_successful_per_ref(project)
        for job in project.get("_jobs") or []:
            everything, without_log = _artifact_bytes(job)
            size = everything if action == "erase" else without_log
            if size <= 0 or job.get("erased_at"):
                continue
            pipeline = job.get("pipeline") or {}
            ref = str(job.get("ref") or pipeline.get("ref") or "")
            pipeline_id = pipeline.get("id")
            yield Candidate(
                key=f"job:{job['id']}",
                title=f"job {job['id']} {job.get('name', '')} ({ref}, pipeline {pipeline_id})",
                target={"job_id": job["id"]},
                fingerprint=fingerprint(job, everything),
                age_at=parse_time(job.get("finished_at")),
                bytes=size,
                attrs={"ref": ref, "name": job.get("name"), "status": job.get("status"),
                       "pipeline_id": pipeline_id},
                protected=self._protection(job, pipeline, ref, latest),
            )

    @staticmethod
    def _protection(job: Json, pipeline: Json, ref: str, latest: dict[str, int]) -> str | None:
        if job.get("status") not in FINISHED or not job.get("finished_at"):
            return f"job is not finished ({job.get('status')})"
        status = pipeline.get("status")
        if status is not None and status not in PIPELINE_FINISHED:
            return f"pipeline {pipeline.get('id')} is not finished ({status})"
        if is_latest_successful(pipeline, latest, ref):
            return f"latest successful pipeline of {pipeline_ref(pipeline, ref)!r} (GitLab keeps its artifacts locked)"
        return None

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        job = api.get(JOB, project=item.project_id, job=item.target["job_id"])
        if removable_bytes(job, item.action) == 0 or (item.action == "erase" and job.get("erased_at")):
            raise NotFound(f"job {item.target['job_id']} has no artifacts left", status=404)
        require_unchanged(item, fingerprint(job))
        pipeline = job.get("pipeline") or {}
        ref = str(job.get("ref") or pipeline.get("ref") or "")
        latest = latest_successful_now(api, item.project_id, pipeline_ref(pipeline, ref), cache)
        reason = self._protection(job, pipeline, ref, latest)
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        if item.action == "erase":
            api.post(JOB_ERASE, project=item.project_id, job=item.target["job_id"])
        else:
            api.delete(JOB_ARTIFACTS, project=item.project_id, job=item.target["job_id"])
