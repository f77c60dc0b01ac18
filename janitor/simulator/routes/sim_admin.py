"""Simulator-only admin endpoints under /api/v4/-/sim/ (GitLab has no such paths), for benchmarks and tests:
request counts, write counts per path, the minimum number of requests a job-artifacts collect needs, and
switches for latency and rate limits, so one simulator process can serve several measured runs.

Routes only see the instance, so whoever starts a `Simulator` calls `attach(simulator)` to enable them;
without it they answer 404 like any unknown path. Requests to these paths are left out of every count.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from janitor.simulator.routing import Context, Response, bad_request, not_found, route

if TYPE_CHECKING:
    from janitor.simulator.server import Simulator

ADMIN_PREFIX = "/-/sim/"
# The job statuses a job-artifacts collect asks for (`scope[]`): only finished jobs can be cleaned.
FINISHED_SCOPES = ("success", "failed", "canceled")
_JOBS_LIST = re.compile(r"^/projects/[^/]+/jobs$")
_JOBS_BUCKET = re.compile(r"^/projects/[^/]+/jobs")  # what the simulator's jobs rate limit counts
_ATTACHED: dict[int, Simulator] = {}


def attach(simulator: Simulator) -> Simulator:
    """Enable the admin routes for this simulator's instance."""
    _ATTACHED[id(simulator.instance)] = simulator
    return simulator


def _simulator(ctx: Context) -> Simulator:
    found = _ATTACHED.get(id(ctx.instance))
    if found is None:
        raise not_found()
    return found


def request_stats(simulator: Simulator) -> dict[str, Any]:
    """Counts over the request log, admin paths excluded."""
    with simulator._requests_lock:
        log = [r for r in simulator.requests if not r.path.startswith(ADMIN_PREFIX)]
    statuses = Counter(str(r.status) for r in log)
    pages = [r.bytes for r in log if r.method == "GET" and r.status == 200 and _JOBS_LIST.match(r.path)]
    return {
        "job_pages_served": len(pages),
        "job_page_bytes": sum(pages),
        "requests": len(log),
        "gets": sum(1 for r in log if r.method == "GET"),
        "writes": sum(1 for r in log if r.method != "GET"),
        "throttled": statuses.get("429", 0),
        "by_status": dict(sorted(statuses.items())),
        "jobs_list": sum(1 for r in log if r.method == "GET" and _JOBS_LIST.match(r.path)),
        "jobs_bucket": sum(1 for r in log if _JOBS_BUCKET.match(r.path)),
        "jobs_bucket_accepted": sum(1 for r in log if r.status != 429 and _JOBS_BUCKET.match(r.path)),
    }


def collect_minimum(ctx: Context, include_archived: bool) -> dict[str, int]:
    """The fewest requests a job-artifacts collect over every project can make, by the data itself:

    1 token check + 1 version read (GET /version, for the reports' header) + the pages of GET /projects
    (100 per page) + for each project in scope whose
    statistics show artifacts, the pages of its finished jobs (GET /projects/:id/jobs?scope[]=...,
    100 per page, at least 1). Projects with job_artifacts_size 0 need no request beyond the listing.
    """
    instance = ctx.instance
    filters: dict[str, Any] = {} if include_archived else {"archived": False}
    project_pages = instance.page_count("/projects", **filters)
    job_pages = with_artifacts = 0
    with instance.lock:
        projects = [p for p in instance.projects.values() if include_archived or not p.archived]
    for project in projects:
        if project.job_artifacts_size > 0:
            with_artifacts += 1
            job_pages += instance.page_count(f"/projects/{project.id}/jobs", scope=list(FINISHED_SCOPES))
    return {
        "token_check": 1,
        "project_pages": project_pages,
        "projects": len(projects),
        "projects_with_artifacts": with_artifacts,
        "job_pages": job_pages,
        "minimum": 2 + project_pages + job_pages,
    }


@route("GET", "/-/sim/stats")
def stats(ctx: Context) -> Response:
    simulator = _simulator(ctx)
    body = request_stats(simulator)
    body["latency"] = simulator.latency
    body["cpu_s"] = round(time.process_time(), 3)  # the simulator process's CPU time, to show what bounds a run
    limiter = simulator.limiter
    body["rate_limit"] = None if limiter is None else {"per_minute": limiter.per_minute,
                                                        "jobs_per_minute": limiter.jobs_per_minute}
    return Response(body=body)


@route("GET", "/-/sim/writes")
def writes(ctx: Context) -> Response:
    """How many write requests each `METHOD path` received: what shows, from another process, that no object
    got two DELETEs (two applies of one plan, a killed apply resumed)."""
    simulator = _simulator(ctx)
    with simulator._requests_lock:
        counts = Counter(f"{r.method} {r.path}" for r in simulator.requests
                         if r.method != "GET" and not r.path.startswith(ADMIN_PREFIX))
    return Response(body=dict(sorted(counts.items())))


@route("GET", "/-/sim/minimum")
def minimum(ctx: Context) -> Response:
    _simulator(ctx)
    return Response(body=collect_minimum(ctx, include_archived=bool(ctx.flag("archived"))))


@route("POST", "/-/sim/reset")
def reset(ctx: Context) -> Response:
    """Forget the request log (and the rate-limit windows), so the next run is counted on its own."""
    simulator = _simulator(ctx)
    simulator.reset_requests()
    if simulator.limiter is not None:
        simulator.rate_limit(simulator.limiter.per_minute, simulator.limiter.jobs_per_minute)
    return Response(body=request_stats(simulator))


@route("PUT", "/-/sim/settings")
def settings(ctx: Context) -> Response:
    """`latency` in seconds; `rate_limit` and `jobs_rate_limit` per minute ("off" or absent: none)."""
    simulator = _simulator(ctx)
    try:
        if ctx.arg("latency") is not None:
            simulator.latency = max(0.0, float(ctx.arg("latency") or 0))
        if ctx.arg("rate_limit") is not None:
            per_minute, jobs = _limit(ctx.arg("rate_limit")), _limit(ctx.arg("jobs_rate_limit"))
            simulator.rate_limit(per_minute, jobs)
    except ValueError:
        raise bad_request("latency, rate_limit and jobs_rate_limit are numbers (or 'off')") from None
    return Response(body={"latency": simulator.latency, "rate_limit": ctx.arg("rate_limit")})


def _limit(text: str | None) -> int | None:
    if text is None or text in ("", "off", "none"):
        return None
    return int(text)
