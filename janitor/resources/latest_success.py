"""The latest successful pipeline of each ref: one answer for job_artifacts and pipelines, at plan and at
re-check, so the two kinds can never disagree on which pipeline GitLab locks.

GitLab keeps the artifacts of the most recent successful pipeline of each ref locked ("Keep artifacts from
most recent successful jobs", doc/ci/jobs/job_artifacts.md): job_artifacts must not delete them, and
pipelines must not delete the pipeline that holds them. "Most recent" is the highest pipeline id among
those with status `success` on that ref (ids only grow, so a tie cannot happen between two pipelines).

What collect saw of a project's pipelines comes in two parts, and both count:
- `_pipelines`: full objects listed by the pipelines kind, and slim ones job_artifacts derives from jobs;
- `_newestSuccessfulPipelines`: {ref: id} that the pipelines kind read from its recent listing without
  storing those pipelines. Ignoring it (as job_artifacts once did) makes an older success look latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from janitor.model import Json

if TYPE_CHECKING:
    from janitor.gitlab_api import GitLabAPI

PIPELINES = "/projects/{project}/pipelines"
NEWEST_SUCCESS = "_newestSuccessfulPipelines"


def pipeline_ref(pipeline: Json, fallback: Any = None) -> str:
    """The ref a pipeline ran for, as both kinds key it (a job's own `ref` when its pipeline lacks one)."""
    ref = pipeline.get("ref")
    return str(ref if ref is not None else (fallback if fallback is not None else ""))


def latest_successful_per_ref(project: Json) -> dict[str, int]:
    """{ref: id of its newest successful pipeline} from everything collect recorded for the project."""
    latest: dict[str, int] = {}
    recorded = project.get(NEWEST_SUCCESS) or {}
    candidates: Iterable[tuple[str, int]] = [(str(ref), int(pid)) for ref, pid in recorded.items()] + [
        (pipeline_ref(p), int(p["id"])) for p in project.get("_pipelines") or []
        if p.get("status") == "success" and p.get("id") is not None]
    for ref, pid in candidates:
        latest[ref] = max(latest.get(ref, 0), pid)
    return latest


def latest_successful_now(api: GitLabAPI, project_id: int, ref: str, cache: dict[Any, Any]) -> dict[str, int]:
    """At re-check: {ref: id} of the ref's newest successful pipeline as GitLab answers now (empty when it
    has none). One request per project and ref per run, shared by both kinds through apply's cache."""
    key = ("latest-successful-pipeline", project_id, ref)
    if key not in cache:
        newest = api.first_page(PIPELINES, {"ref": ref, "status": "success", "order_by": "id", "sort": "desc",
                                            "per_page": 1}, project=project_id)
        cache[key] = {ref: int(newest[0]["id"])} if newest else {}
    found: dict[str, int] = cache[key]
    return found


def is_latest_successful(pipeline: Json, latest: dict[str, int], fallback_ref: Any = None) -> bool:
    pid = pipeline.get("id")
    return pid is not None and latest.get(pipeline_ref(pipeline, fallback_ref)) == int(pid)
