"""Pipelines: `delete` removes a finished pipeline with its jobs, artifacts and logs
(DELETE /projects/:id/pipelines/:pipeline_id, doc/api/pipelines.md; GitLab requires the Owner role).

Age is the pipeline's updated_at. Built in: unfinished pipelines, the newest pipeline of each ref, and
the latest successful pipeline of each ref (GitLab locks its artifacts; deleting the pipeline would take
them, which the job_artifacts kind promises never to do) are never removed.

How collect lets the API filter (`updated_before`) and still knows the newest pipeline of each ref:
only pipelines older than the smallest `older_than` of the policy's rules can ever be removed, so those
are listed with `updated_before`. The newest pipeline of a ref is then either the newest of those, or a
recent one. Recent ones are listed with `updated_after` only as far as it pays: once that listing has
cost as many pages as there are refs still in question, the remaining refs are asked one by one
(`ref=X&order_by=id&sort=desc&per_page=1`). So the cost is about min(recent pages, refs) on top of the
old pipelines, instead of every pipeline ever run. Recent pipelines are not stored: `_newestPipelines`
records {ref: newest id} and `_newestSuccessfulPipelines` {ref: newest successful id} as far as the recent
listing was read; a ref whose recent successes were not read falls back to its newest old success, which is
then kept: the conservative side. A pipeline updated between the two listings is seen twice or in the later one
only, never lost; one created after collect is caught by the re-check before deleting.

`_pipelines` is shared with job_artifacts, which derives a slimmer list from jobs (id, ref, status).
This kind merges into it by id, full objects winning, so a project collected for both has one list that
is a superset of what either kind alone would have written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from janitor.model import Candidate, Json, PlanItem, format_time, parse_time
from janitor.resources.base import CollectContext, PerSpec, RecheckFailed, ResourceKind, require_unchanged
from janitor.resources.job_artifacts import removable_bytes
from janitor.resources.latest_success import (
    NEWEST_SUCCESS,
    is_latest_successful,
    latest_successful_now,
    latest_successful_per_ref,
    pipeline_ref,
)
from janitor.units import parse_duration

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI
    from janitor.policy.model import Policy

PIPELINES = "/projects/{project}/pipelines"
PIPELINE = "/projects/{project}/pipelines/{pipeline}"
# doc/api/pipelines.md statuses; only these are over for good
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
FIELDS = ("id", "iid", "project_id", "ref", "sha", "status", "source", "created_at", "updated_at", "web_url")
NEWEST = "_newestPipelines"


def fingerprint(pipeline: Json) -> dict[str, Any]:
    return {"status": pipeline.get("status"), "updated_at": pipeline.get("updated_at")}


def smallest_older_than(policy: Policy, kind: str) -> timedelta | None:
    """The smallest older_than any rule of `kind` may use anywhere (overrides included); None when a rule
    has none, since then any pipeline may be removed."""
    ages: list[timedelta] = []
    for rule in (r for r in policy.rules if r.resource == kind):
        values = [rule.match.get("older_than")] + [
            patches[rule.name].get("match", {}).get("older_than")
            for patches in policy.overrides.values() if rule.name in patches
        ]
        if values[0] is None:
            return None
        ages += [parse_duration(v) for v in values if v is not None]
    return min(ages) if ages else None


def newest_per_ref(project: Json) -> dict[str, int]:
    """The newest pipeline id of each ref, whatever its status, from what collect saw. (The newest
    successful one is latest_success.latest_successful_per_ref, shared with job_artifacts.)"""
    newest: dict[str, int] = {str(k): int(v) for k, v in (project.get(NEWEST) or {}).items()}
    for pipeline in project.get("_pipelines") or []:
        ref = pipeline_ref(pipeline)
        newest[ref] = max(newest.get(ref, 0), int(pipeline["id"]))
    return newest


class Pipelines(ResourceKind):
    name = "pipelines"
    summary = "finished pipelines, with their jobs, artifacts and logs"
    age_field = "the pipeline's updated_at"
    actions = ("delete",)
    delete_role = {"delete": "Owner"}  # doc/user/permissions.md "Delete pipelines"; doc/api/pipelines.md
    conditions = ("older_than", "ref", "status")
    per: ClassVar[dict[str, PerSpec]] = {
        "ref": PerSpec(("ref",), description="the newest N pipelines of each ref"),
        "project": PerSpec((), description="the newest N pipelines of the project"),
    }
    default_per = "ref"
    inventory_keys = ("_pipelines",)
    protections = ("pipelines that are not finished", "the newest pipeline of each ref",
                   "the latest successful pipeline of each ref (GitLab locks its artifacts)")

    def collect(self, api: GitLabAPI, project: Json, ctx: CollectContext) -> Json:
        pid = project["id"]
        merged: dict[int, Json] = {int(p["id"]): p for p in project.get("_pipelines") or []}
        min_age = smallest_older_than(ctx.policy, self.name) if ctx.policy else None
        if min_age is None:
            for row in api.list(PIPELINES, {"order_by": "id", "sort": "desc"}, project=pid):
                merged[int(row["id"])] = {k: row.get(k) for k in FIELDS}
            return {"_pipelines": sorted(merged.values(), key=lambda p: -int(p["id"]))}
        cutoff = format_time(ctx.now - min_age)
        for row in api.list(PIPELINES, {"updated_before": cutoff, "order_by": "id", "sort": "desc"}, project=pid):
            merged[int(row["id"])] = {k: row.get(k) for k in FIELDS}
        newest, successful = self._newest_recent(api, pid, cutoff, {str(p.get("ref")) for p in merged.values()})
        return {"_pipelines": sorted(merged.values(), key=lambda p: -int(p["id"])), NEWEST: newest,
                NEWEST_SUCCESS: successful}

    @staticmethod
    def _newest_recent(api: GitLabAPI, pid: int, cutoff: str, refs: set[str]) -> tuple[dict[str, int], dict[str, int]]:
        newest: dict[str, int] = {}
        successful: dict[str, int] = {}
        if not refs:
            return newest, successful  # nothing old enough to remove: no newest to protect
        budget = 100 * len(refs)  # rows of the recent listing worth reading before asking per ref
        rows = api.list(PIPELINES, {"updated_after": cutoff, "order_by": "id", "sort": "desc"}, project=pid)
        for read, row in enumerate(rows, start=1):
            newest.setdefault(str(row.get("ref")), int(row["id"]))  # id desc: a ref's first row is its newest
            if row.get("status") == "success":
                successful.setdefault(str(row.get("ref")), int(row["id"]))
            if read >= budget:
                break
        else:
            return newest, successful  # the whole recent listing was read
        for missing in sorted(refs - set(newest)):
            top = api.first_page(PIPELINES, {"ref": missing, "order_by": "id", "sort": "desc", "per_page": 1},
                                 project=pid)
            if top:
                newest[missing] = int(top[0]["id"])
        return newest, successful

    def candidates(self, project: Json, action: str) -> Iterator[Candidate]:
        newest = newest_per_ref(project)
        successful = latest_successful_per_ref(project)
        jobs_bytes: dict[int, int] = {}
        for job in project.get("_jobs") or []:
            pipeline_id = (job.get("pipeline") or {}).get("id")
            if pipeline_id is not None:
                jobs_bytes[int(pipeline_id)] = jobs_bytes.get(int(pipeline_id), 0) + removable_bytes(job, "erase")
        for pipeline in project.get("_pipelines") or []:
            if "updated_at" not in pipeline:
                continue  # a slim entry derived from jobs by job_artifacts: not a pipeline this kind listed
            ref = pipeline_ref(pipeline)
            yield Candidate(
                key=f"pipeline:{pipeline['id']}",
                title=f"pipeline {pipeline['id']} ({ref}, {pipeline.get('status')})",
                target={"pipeline_id": pipeline["id"], "ref": ref},
                fingerprint=fingerprint(pipeline),
                age_at=parse_time(pipeline.get("updated_at")),
                bytes=jobs_bytes.get(int(pipeline["id"]), 0),
                attrs={"ref": ref, "status": pipeline.get("status"), "name": ref},
                protected=self._protection(pipeline, newest, successful),
            )

    @staticmethod
    def _protection(pipeline: Json, newest: dict[str, int], successful: dict[str, int]) -> str | None:
        if pipeline.get("status") not in FINISHED:
            return f"pipeline is not finished ({pipeline.get('status')})"
        ref = pipeline_ref(pipeline)
        if newest.get(ref) == int(pipeline["id"]):
            return f"newest pipeline of {ref!r}"
        if is_latest_successful(pipeline, successful):
            return f"latest successful pipeline of {ref!r} (GitLab keeps its artifacts locked)"
        return None

    def recheck(self, api: GitLabAPI, item: PlanItem, cache: dict[Any, Any]) -> None:
        pipeline = api.get(PIPELINE, project=item.project_id, pipeline=item.target["pipeline_id"])
        require_unchanged(item, fingerprint(pipeline))
        ref = pipeline_ref(pipeline)
        key = ("newest-pipeline", item.project_id, ref)
        if key not in cache:
            top = api.first_page(PIPELINES, {"ref": ref, "order_by": "id", "sort": "desc", "per_page": 1},
                                 project=item.project_id)
            cache[key] = {ref: int(top[0]["id"])} if top else {}
        reason = self._protection(pipeline, cache[key], latest_successful_now(api, item.project_id, ref, cache))
        if reason:
            raise RecheckFailed(f"now protected: {reason}")

    def execute(self, api: GitLabAPI, item: PlanItem) -> None:
        api.delete(PIPELINE, project=item.project_id, pipeline=item.target["pipeline_id"])
